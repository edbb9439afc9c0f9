"""Landmarks drawn over an :class:`~crossid_desktop.gui.widgets.image_view.ImageView`, each one
draggable so that the examiner can correct it.

A marker is a dot of constant screen size with its label (``l1`` ... or the name), green when
found with confidence, orange when found with low confidence, blue once the examiner moved it;
a dashed circle of radius ``2 sd`` shows the detector's uncertainty. Dragging a marker and
releasing it emits ``pointMoved(name, x, y)`` in image pixels; its context menu offers "Reset to
the detected position" (``resetRequested(name)``). A point the detector reported missing has no
marker; the image's context menu offers to place it where the examiner clicked.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsSimpleTextItem, QMenu

from crossid_desktop.gui.widgets.image_view import ImageView
from crossid_desktop.matching.landmarks.service import Landmark, LandmarkResult

FOUND, DOUBTFUL, CORRECTED = QColor(60, 200, 60), QColor(255, 150, 0), QColor(70, 140, 255)
RADIUS = 5.0  # screen pixels


class LandmarkMarker(QGraphicsEllipseItem):
    """One draggable point; its scene position is the image position of the landmark."""

    def __init__(self, layer: LandmarkLayer, point: Landmark) -> None:
        super().__init__(QRectF(-RADIUS, -RADIUS, 2 * RADIUS, 2 * RADIUS))
        self.layer, self.name = layer, point.name
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setZValue(10)
        self.text = QGraphicsSimpleTextItem(point.label or point.name, self)
        self.text.setPos(RADIUS + 2, -RADIUS - 12)
        self._pressed_at: QPointF | None = None
        self.show_point(point)

    def show_point(self, point: Landmark) -> None:
        colour = CORRECTED if point.corrected else DOUBTFUL if point.low_confidence else FOUND
        self.setPen(QPen(QColor(0, 0, 0), 1))
        self.setBrush(QBrush(colour))
        self.text.setBrush(QBrush(colour))
        self.setPos(_scene(point.x, point.y))
        sd = f", sd {point.sd:.1f} px" if point.sd else ""
        state = "corrected by the examiner" if point.corrected else "placed from the shape of the other points; check it" if point.from_shape \
            else "low confidence" if point.low_confidence else f"confidence {point.confidence:.2f}" if point.confidence is not None else "found"
        self.setToolTip(f"{point.name} ({point.label})" if point.label else point.name)
        self.setToolTip(f"{self.toolTip()}: x {point.x:.1f}, y {point.y:.1f}{sd}; {state}. Drag to correct; right-click to reset.")

    def image_position(self) -> tuple[float, float]:
        return self.pos().x() - 0.5, self.pos().y() - 0.5

    def mousePressEvent(self, event: Any) -> None:
        self._pressed_at = self.pos()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: Any) -> None:
        super().mouseReleaseEvent(event)
        if self._pressed_at is not None and self.pos() != self._pressed_at:
            self.layer.pointMoved.emit(self.name, *self.image_position())
        self._pressed_at = None

    def contextMenuEvent(self, event: Any) -> None:
        menu = QMenu()
        menu.addAction(f"Reset {self.name} to the detected position", lambda: self.layer.resetRequested.emit(self.name))
        menu.exec(event.screenPos())


class LandmarkLayer(QObject):
    """The markers of one :class:`LandmarkResult` over ``view`` (see the module docstring)."""

    pointMoved = Signal(str, float, float)
    resetRequested = Signal(str)

    def __init__(self, view: ImageView) -> None:
        super().__init__(view)
        self.view = view
        self._markers: dict[str, LandmarkMarker] = {}
        self._uncertainty: list[QGraphicsEllipseItem] = []
        self._result: LandmarkResult | None = None
        self._visible = True
        view.viewport().installEventFilter(self)

    def result(self) -> LandmarkResult | None:
        return self._result

    def marker(self, name: str) -> LandmarkMarker | None:
        return self._markers.get(name)

    def set_result(self, result: LandmarkResult | None) -> None:
        """Show ``result`` (None removes every marker)."""
        self.clear()
        self._result = result
        if result is None:
            return
        scene = self.view.scene()
        for point in result.landmarks:
            if point.missing:
                continue
            if point.sd:
                r = 2.0 * point.sd
                ring = QGraphicsEllipseItem(QRectF(-r, -r, 2 * r, 2 * r))
                ring.setPos(_scene(point.x, point.y))
                ring.setPen(QPen(DOUBTFUL if point.low_confidence else FOUND, 0, Qt.PenStyle.DashLine))
                scene.addItem(ring)
                self._uncertainty.append(ring)
            marker = LandmarkMarker(self, point)
            scene.addItem(marker)
            self._markers[point.name] = marker
        self.set_visible(self._visible)

    def set_visible(self, visible: bool) -> None:
        self._visible = visible
        for item in [*self._markers.values(), *self._uncertainty]:
            item.setVisible(visible)

    def clear(self) -> None:
        scene = self.view.scene()
        for item in [*self._markers.values(), *self._uncertainty]:
            scene.removeItem(item)
        self._markers, self._uncertainty, self._result = {}, [], None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """The image's context menu: place a missing landmark where the examiner clicked."""
        if event.type() == QEvent.Type.ContextMenu and self._result is not None and self._visible:
            missing = [p for p in self._result.landmarks if p.missing]
            scene_point = self.view.mapToScene(event.pos())
            if missing and not isinstance(self.view.itemAt(event.pos()), LandmarkMarker):
                menu = QMenu(self.view)
                for point in missing:
                    menu.addAction(f"Place {point.name}{f' ({point.label})' if point.label else ''} here",
                                   lambda p=point: self.pointMoved.emit(p.name, scene_point.x() - 0.5, scene_point.y() - 0.5))
                menu.exec(event.globalPos())
                return True
        return super().eventFilter(watched, event)


def _scene(x: float | None, y: float | None) -> QPointF:
    """Image pixel coordinates (pixel centres at integers) to the view's scene (pixel corners at integers)."""
    return QPointF(float(x or 0.0) + 0.5, float(y or 0.0) + 0.5)
