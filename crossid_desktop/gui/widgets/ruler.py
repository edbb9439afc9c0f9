"""The ruler of the query view: two points on the image, and the distance between them.

With "Ruler" pressed, two clicks on the image place the ends of a segment (a third click
starts again). The segment's length is shown in millimetres where the image's pixel spacing
is known (and said where it holds) and in pixels otherwise. Typing the real length of what
the segment spans (a ruler on the cephalostat's nasal support, a scale bar) and pressing
"Calibrate" gives the image a spacing (:func:`~crossid_desktop.imaging.spacing.calibrate_with_ruler`);
``calibrated`` carries it, with the points and the length, to be kept with the query and
recorded in the case's audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QDoubleSpinBox, QGraphicsEllipseItem, QGraphicsLineItem, QHBoxLayout, QLabel, QPushButton, QWidget

from crossid_desktop.errors import CalibrationError
from crossid_desktop.gui import errors
from crossid_desktop.gui.widgets.image_view import ImageView
from crossid_desktop.imaging.spacing import PixelSpacing, calibrate_with_ruler, measure

RULER_COLOUR = QColor(255, 80, 80)


@dataclass(frozen=True)
class RulerCalibration:
    """A calibration the examiner made: ``points`` ``(x, y)`` in image pixels, the known
    length between them (mm) and the spacing that follows."""

    points: tuple[tuple[float, float], tuple[float, float]]
    known_mm: float
    spacing: PixelSpacing


class Ruler(QWidget):
    """Ruler controls for one :class:`ImageView` (objectName ``ruler``).

    ``pointsChanged`` fires when an end is placed; ``calibrated(RulerCalibration)`` when the
    examiner calibrates.
    """

    pointsChanged = Signal()
    calibrated = Signal(object)

    def __init__(self, view: ImageView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ruler")
        self._view = view
        self._points: list[tuple[float, float]] = []
        self._items: list[Any] = []
        self._spacing: PixelSpacing | None = None
        self.place_button = QPushButton("Ruler", objectName="rulerPlaceButton", checkable=True)
        self.place_button.setToolTip("Click two points on the original image to measure between them")
        self.place_button.toggled.connect(self._placing)
        self.distance_label = QLabel(objectName="rulerDistance")
        self.known_spin = QDoubleSpinBox(objectName="rulerKnownLength", minimum=0.1, maximum=2000.0, decimals=1, value=10.0, suffix=" mm")
        self.known_spin.setToolTip("The real length between the two points (e.g. the ruler's marks)")
        self.calibrate_button = QPushButton("Calibrate", objectName="rulerCalibrateButton")
        self.calibrate_button.setToolTip("Set the image's pixel spacing from the two points and the known length")
        self.calibrate_button.clicked.connect(self.calibrate)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.place_button)
        layout.addWidget(self.distance_label, 1)
        layout.addWidget(self.known_spin)
        layout.addWidget(self.calibrate_button)
        self._viewport = view.viewport()
        self._viewport.installEventFilter(self)
        self._update()

    # -- public ---------------------------------------------------------------------------------
    def points(self) -> tuple[tuple[float, float], ...]:
        return tuple(self._points)

    def show_image(self, spacing: PixelSpacing | None) -> None:
        """A new image is shown: forget the points; ``spacing`` is its pixel spacing, if known."""
        self._spacing = spacing
        self._points = []
        self._draw()
        self._update()

    def set_spacing(self, spacing: PixelSpacing | None) -> None:
        self._spacing = spacing
        self._update()

    def place(self, x: float, y: float) -> None:
        """Place the next end at image pixel ``(x, y)`` (what a click does)."""
        if len(self._points) == 2:
            self._points = []
        self._points.append((float(x), float(y)))
        self._draw()
        self._update()
        self.pointsChanged.emit()

    def calibrate(self) -> RulerCalibration | None:
        """Calibrate from the two points and the known length; a refusal is shown in a dialog."""
        if len(self._points) != 2:
            return None
        a, b = self._points
        try:
            spacing = calibrate_with_ruler(a, b, self.known_spin.value())
        except CalibrationError as error:
            self.distance_label.setText(str(error))
            errors.show_error(self, error)
            return None
        calibration = RulerCalibration((a, b), float(self.known_spin.value()), spacing)
        self._spacing = spacing
        self._update()
        self.calibrated.emit(calibration)
        return calibration

    # -- events ---------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (
            event.type() == QEvent.Type.MouseButtonPress and watched is self._viewport and self.place_button.isChecked()
            and event.button() == Qt.MouseButton.LeftButton and self._view.has_image()
        ):
            point = self._view.mapToScene(event.position().toPoint())
            width, height = self._view.image_size()
            if 0 <= point.x() <= width and 0 <= point.y() <= height:
                self.place(point.x(), point.y())
            return True  # no panning while the ruler is placed
        return super().eventFilter(watched, event)

    def _placing(self, on: bool) -> None:
        self._view.setDragMode(ImageView.DragMode.NoDrag if on else ImageView.DragMode.ScrollHandDrag)
        self._view.viewport().setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.OpenHandCursor)
        self._update()

    def _draw(self) -> None:
        scene = self._view.scene()
        for item in self._items:
            scene.removeItem(item)
        self._items = []
        width = max(1.0, max(self._view.image_size()) / 300.0)
        pen = QPen(RULER_COLOUR, width)
        for x, y in self._points:
            radius = 2.5 * width
            end = QGraphicsEllipseItem(QRectF(x - radius, y - radius, 2 * radius, 2 * radius))
            end.setPen(pen)
            end.setBrush(QBrush(RULER_COLOUR))
            self._items.append(end)
        if len(self._points) == 2:
            (x0, y0), (x1, y1) = self._points
            line = QGraphicsLineItem(x0, y0, x1, y1)
            line.setPen(pen)
            self._items.append(line)
        for item in self._items:
            scene.addItem(item)

    def _update(self) -> None:
        if len(self._points) == 2:
            self.distance_label.setText(str(measure(*self._points, self._spacing)))
        elif self.place_button.isChecked():
            self.distance_label.setText("Click the two ends on the original image.")
        else:
            self.distance_label.setText(self._spacing.describe() if self._spacing else "No pixel spacing known: distances in pixels.")
        self.calibrate_button.setEnabled(len(self._points) == 2)
