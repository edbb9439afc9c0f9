"""An image view with zoom (mouse wheel) and pan (drag), optional face overlays, and a link
that keeps two views on the same part of their images.

Views are synchronised in relative terms: the zoom factor over "fit to view" and the centre as
a fraction of the image, so an original X-ray and its preprocessed copy of another size stay
aligned. A double click fits the image to the view again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene, QGraphicsSimpleTextItem, QGraphicsView, QWidget

ZOOM_STEP = 1.25
MAX_ZOOM = 40.0
BOX_COLOUR = QColor(0, 200, 255)
LANDMARK_COLOUR = QColor(255, 200, 0)


class ImageView(QGraphicsView):
    """Shows one image; ``viewChanged(zoom, centre_x, centre_y)`` reports the relative view."""

    viewChanged = Signal(float, float, float)

    def __init__(self, parent: QWidget | None = None, *, placeholder: str = "") -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setBackgroundBrush(QBrush(QColor(40, 40, 40)))
        self.setMinimumSize(160, 160)
        self._pixmap = QGraphicsPixmapItem()
        self._pixmap.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._pixmap)
        self._overlays: list[Any] = []
        self._mask_item: QGraphicsPixmapItem | None = None  # made when a mask is first shown
        self._zoom = 1.0  # over "fit to view"
        self._applying = False
        self._placeholder = placeholder
        self.horizontalScrollBar().valueChanged.connect(self._report)
        self.verticalScrollBar().valueChanged.connect(self._report)

    # -- content --------------------------------------------------------------------------------
    def set_image(self, image: QImage | None) -> None:
        """Show ``image`` fitted to the view (None clears it); overlays and the mask overlay are removed."""
        self.clear_overlays()
        self.set_mask_overlay(None)
        if image is None or image.isNull():
            self._pixmap.setPixmap(QPixmap())
            self.scene().setSceneRect(QRectF())
        else:
            self._pixmap.setPixmap(QPixmap.fromImage(image))
            self.scene().setSceneRect(self._pixmap.boundingRect())
        self.fit()

    def replace_image(self, image: QImage) -> None:
        """Swap the pixels keeping zoom and centre (a new preview of the same image)."""
        zoom, centre = self._zoom, self.relative_centre()
        overlays = self._overlays
        mask = self._mask_item.pixmap() if self._mask_item is not None else None
        self._overlays = []
        self._applying = True  # the interim fit must not pull linked views back to fit
        try:
            self.set_image(image)
        finally:
            self._applying = False
        self._overlays = overlays
        if mask is not None:
            self.set_mask_overlay(mask.toImage())
        self.set_view(zoom, *centre)

    def image(self) -> QImage:
        """The shown image (a null QImage when none)."""
        return self._pixmap.pixmap().toImage()

    def has_image(self) -> bool:
        return not self._pixmap.pixmap().isNull()

    def image_size(self) -> tuple[int, int]:
        """(width, height) of the shown image in pixels."""
        pixmap = self._pixmap.pixmap()
        return pixmap.width(), pixmap.height()

    def clear_overlays(self) -> None:
        for item in self._overlays:
            self.scene().removeItem(item)
        self._overlays = []

    def set_mask_overlay(self, image: QImage | None) -> None:
        """Lay a translucent image of the image's size over it (None removes it); it stays when
        the pixels are replaced by a new preview of the same image."""
        if image is None or image.isNull():
            if self._mask_item is not None:
                self.scene().removeItem(self._mask_item)
                self._mask_item = None
            return
        if self._mask_item is None:
            self._mask_item = QGraphicsPixmapItem()
            self._mask_item.setZValue(1.0)
            self.scene().addItem(self._mask_item)
        self._mask_item.setPixmap(QPixmap.fromImage(image))

    def has_mask_overlay(self) -> bool:
        return self._mask_item is not None

    def show_faces(self, boxes: Sequence[tuple[float, float, float, float]], landmarks: Sequence[Sequence[tuple[float, float]]] = (), *,
                   numbered: bool = False) -> None:
        """Draw face boxes ``(x0, y0, x1, y1)`` and landmark points (image pixels) over the image;
        ``numbered`` writes each box's number (1 = the first box) above it."""
        self.clear_overlays()
        width = max(1.0, max(self.image_size()) / 300.0)
        for number, (x0, y0, x1, y1) in enumerate(boxes, start=1):
            rect = QGraphicsRectItem(QRectF(x0, y0, x1 - x0, y1 - y0))
            rect.setPen(QPen(BOX_COLOUR, width))
            self.scene().addItem(rect)
            self._overlays.append(rect)
            if numbered:
                label = QGraphicsSimpleTextItem(str(number))
                label.setBrush(QBrush(BOX_COLOUR))
                label.setScale(max(1.0, 0.15 * (y1 - y0) / max(1.0, label.boundingRect().height())))
                label.setPos(x0, max(0.0, y0 - label.boundingRect().height() * label.scale()))
                self.scene().addItem(label)
                self._overlays.append(label)
        radius = 1.5 * width
        for points in landmarks:
            for x, y in points:
                dot = QGraphicsEllipseItem(QRectF(x - radius, y - radius, 2 * radius, 2 * radius))
                dot.setPen(QPen(Qt.PenStyle.NoPen))
                dot.setBrush(QBrush(LANDMARK_COLOUR))
                self.scene().addItem(dot)
                self._overlays.append(dot)

    def overlay_count(self) -> int:
        return len(self._overlays)

    # -- view -----------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self._zoom

    def fit(self) -> None:
        self._set_zoom(1.0)

    def relative_centre(self) -> tuple[float, float]:
        rect = self.sceneRect()
        if rect.isEmpty():
            return 0.5, 0.5
        centre = self.mapToScene(self.viewport().rect().center())
        return (centre.x() - rect.left()) / rect.width(), (centre.y() - rect.top()) / rect.height()

    def set_view(self, zoom: float, centre_x: float, centre_y: float) -> None:
        """Zoom (over fit) and centre the view on a fraction of the image, without re-reporting."""
        self._applying = True
        try:
            self._set_zoom(zoom)
            rect = self.sceneRect()
            if not rect.isEmpty():
                self.centerOn(QPointF(rect.left() + centre_x * rect.width(), rect.top() + centre_y * rect.height()))
        finally:
            self._applying = False

    def link(self, other: ImageView) -> None:
        """Keep ``other`` and this view on the same relative zoom and centre, both ways."""
        self.viewChanged.connect(other.set_view)
        other.viewChanged.connect(self.set_view)

    def _set_zoom(self, zoom: float) -> None:
        self._zoom = min(MAX_ZOOM, max(1.0, zoom))
        self.resetTransform()
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        view = self.viewport().rect()
        fit = min(view.width() / rect.width(), view.height() / rect.height())
        self.scale(fit * self._zoom, fit * self._zoom)
        self._report()

    def _report(self) -> None:
        if not self._applying and self.has_image():
            self.viewChanged.emit(self._zoom, *self.relative_centre())

    # -- events ---------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        if not self.has_image():
            return
        step = ZOOM_STEP if event.angleDelta().y() > 0 else 1.0 / ZOOM_STEP
        new_zoom = min(MAX_ZOOM, max(1.0, self._zoom * step))
        factor = new_zoom / self._zoom
        if factor != 1.0:
            self._zoom = new_zoom
            self.scale(factor, factor)  # anchored under the mouse
            self._report()
        event.accept()

    def mouseDoubleClickEvent(self, event: Any) -> None:
        self.fit()
        super().mouseDoubleClickEvent(event)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        zoom, centre = self._zoom, self.relative_centre()
        self._applying = True
        try:
            self.set_view(zoom, *centre)
        finally:
            self._applying = False

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if not self.has_image() and self._placeholder:
            painter.save()
            painter.resetTransform()
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
            painter.restore()
