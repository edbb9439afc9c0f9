"""The automatic skull-face overlay of the compare view: the X-ray on the candidate's photo by the
fitted registration, the landmarks and depth vectors, the correspondence table and the verdict,
and the examiner's hand adjustment (recorded in the case when the examiner says so).

objectName ``skullFaceOverlay``; children ``skullFaceView`` (the picture), ``overlayTable``,
``overlayStatement``, ``adjustDx``/``adjustDy`` (pixels of the crop), ``adjustAngle`` (degrees),
``adjustScale`` (%), ``recordAdjustment``. ``adjustmentRecorded(dict)`` carries what to log.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crossid_desktop.gui.images import to_qimage
from crossid_desktop.gui.widgets.image_view import ImageView
from crossid_desktop.matching.craniofacial.geometry import IDENTITY, Similarity

COLUMNS = ("Landmark", "Predicted (x, y)", "Measured (x, y)", "Residual", "Tolerance", "Within")
LEGEND = ("<span style='color:#00dcff'>●</span> skull &nbsp; <span style='color:#ffdc00'>+</span> face predicted from the skull &nbsp; "
          "<span style='color:#ff00c8'>●</span> face measured on the photo &nbsp; <span style='color:#ff2828'>○</span> beyond its own allowance &nbsp; "
          "white lines: soft-tissue depth")


def _spin(name: str, low: float, high: float, value: float, step: float, suffix: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox(objectName=name)
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    box.setSuffix(suffix)
    return box


class SkullFaceOverlayPanel(QWidget):
    """Shows a :class:`~crossid_desktop.search.xray_overlay.CandidateOverlay` (:meth:`show_overlay`)."""

    adjustmentRecorded = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("skullFaceOverlay")
        self._overlay: Any = None
        self._person: Mapping[str, Any] | None = None  # the candidate's craniofacial record (show_overlay)
        self.view = ImageView(placeholder="The automatic overlay appears here for a skull X-ray and a candidate with measured landmarks")
        self.view.setObjectName("skullFaceView")
        self.opacity = QSlider(Qt.Orientation.Horizontal, objectName="skullFaceOpacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.marks = QCheckBox("Landmarks", objectName="skullFaceMarks", checked=True)
        self.dx, self.dy = _spin("adjustDx", -100, 100, 0, 0.5, " px"), _spin("adjustDy", -100, 100, 0, 0.5, " px")
        self.angle, self.scale = _spin("adjustAngle", -20, 20, 0, 0.5, "°"), _spin("adjustScale", 80, 120, 100, 0.5, " %")
        self.record_button = QPushButton("Record adjustment", objectName="recordAdjustment", enabled=False)
        self.reset_button = QPushButton("Fitted position", objectName="resetAdjustment")
        for control in (self.dx, self.dy, self.angle, self.scale):
            control.valueChanged.connect(self._adjusted)
        self.opacity.valueChanged.connect(lambda _v: self._render())
        self.marks.toggled.connect(lambda _on: self._render())
        self.record_button.clicked.connect(self._record)
        self.reset_button.clicked.connect(self.reset)
        self.table = QTableWidget(0, len(COLUMNS), objectName="overlayTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.statement = QLabel(objectName="overlayStatement", wordWrap=True)
        self.statement.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout()

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Opacity", self.opacity)
        form.addRow("", self.marks)
        form.addRow("Shift x", self.dx)
        form.addRow("Shift y", self.dy)
        form.addRow("Turn", self.angle)
        form.addRow("Size", self.scale)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.record_button)
        side = QVBoxLayout()
        side.addLayout(form)
        side.addLayout(buttons)
        side.addWidget(self.statement)
        side.addWidget(self.table, 1)
        holder = QWidget()
        holder.setLayout(side)
        holder.setMinimumWidth(380)
        left = QVBoxLayout()
        left.addWidget(self.view, 1)
        left.addWidget(QLabel(LEGEND, objectName="overlayLegend", wordWrap=True))
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addWidget(holder, 2)

    # -- public ------------------------------------------------------------------------------------
    def show_overlay(self, overlay: Any, person: Mapping[str, Any] | None = None) -> None:
        """Show a prepared overlay (fitted position; the adjustment controls reset). ``person``:
        the candidate's craniofacial record from the search, whose decision is said under this
        photo's when it excludes them and this photo's own verdict does not."""
        self._overlay = overlay
        self._person = person
        self._set_controls(IDENTITY)
        self._fill_table()
        picture = self.picture()
        self.view.set_image(to_qimage(picture) if picture is not None else None)

    def adjustment(self) -> Similarity:
        """The examiner's adjustment: turn and size about the crop's centre, then the shift."""
        if self._overlay is None:
            return IDENTITY
        side = self._overlay.face.shape[1]
        c = (side - 1) / 2.0
        s, a = self.scale.value() / 100.0, math.radians(self.angle.value())
        turn = Similarity(s * math.cos(a), s * math.sin(a), 0.0, 0.0)
        tx, ty = turn.apply([[c, c]])[0]
        return Similarity(turn.a, turn.b, c - tx + self.dx.value(), c - ty + self.dy.value())

    def reset(self) -> None:
        self._set_controls(IDENTITY)
        self._adjusted()

    def picture(self) -> Any:
        """The overlay picture as drawn now (RGB uint8), or None."""
        if self._overlay is None:
            return None
        return self._current().figure(opacity=self.opacity.value() / 100.0, landmarks=self.marks.isChecked())

    # -- private -----------------------------------------------------------------------------------
    def _current(self) -> Any:
        overlay = self._overlay
        return overlay.adjusted(self.adjustment()) if overlay is not None and overlay.overlay is not None else overlay

    def _set_controls(self, _: Similarity) -> None:
        for control, value in ((self.dx, 0.0), (self.dy, 0.0), (self.angle, 0.0), (self.scale, 100.0)):
            control.blockSignals(True)
            control.setValue(value)
            control.blockSignals(False)
        self.record_button.setEnabled(False)

    def _adjusted(self) -> None:
        moved = (self.dx.value(), self.dy.value(), self.angle.value(), self.scale.value()) != (0.0, 0.0, 0.0, 100.0)
        self.record_button.setEnabled(moved and self._overlay is not None and self._overlay.overlay is not None)
        self._render()

    def _render(self) -> None:
        picture = self.picture()
        if picture is not None and self.view.has_image():
            self.view.replace_image(to_qimage(picture))

    def _fill_table(self) -> None:
        overlay = self._overlay
        rows = overlay.table if overlay is not None else ()
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            cells = (row.landmark.replace("_", " "), f"{row.predicted[0]:.1f}, {row.predicted[1]:.1f}", f"{row.measured[0]:.1f}, {row.measured[1]:.1f}",
                     f"{row.residual:.1f} {row.unit}", f"{row.tolerance:.1f} {row.unit}", "yes" if row.within else "NO")
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.statement.setText(_statement(overlay, self._person))

    def _record(self) -> None:
        overlay = self._overlay
        if overlay is None or overlay.overlay is None:
            return
        adj = self.adjustment()
        self.adjustmentRecorded.emit({"subject_id": overlay.subject_id, "image_id": overlay.image_id, "view": overlay.view,
                                      "shift_px": [round(self.dx.value(), 2), round(self.dy.value(), 2)], "turn_deg": round(self.angle.value(), 2),
                                      "size_percent": round(self.scale.value(), 2), "matrix": [[round(v, 6) for v in r] for r in adj.matrix.tolist()]})
        self.record_button.setEnabled(False)


def _statement(overlay: Any, person: Mapping[str, Any] | None = None) -> str:
    """The verdict and the notes in plain words, and the person's decision when it excludes them
    and this photo's own verdict does not (the likelihood-ratio bound, or another X-ray's view)."""
    if overlay is None:
        return ""
    if overlay.problem:
        return f"<b>No automatic overlay:</b> {overlay.problem}."
    unit = overlay.table[0].unit if overlay.table else "mm"
    words = "millimetres of the skull" if unit == "mm" else "pixels of the X-ray (its pixel spacing is unknown)"
    notes = " ".join(overlay.notes)
    together = ""
    if person and person.get("status") == "inconsistent" and overlay.verdict.status != "inconsistent":
        together = f"<br><b>Overall decision for this candidate:</b> {html.escape(str(person.get('statement', '')))}"
    return f"<b>{overlay.verdict.sentence()}</b>{together}<br>Residuals and tolerances in {words}. {notes}"
