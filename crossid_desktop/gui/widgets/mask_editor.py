"""The mask of an injured face's unreliable parts, shown over the aligned face and edited with a
brush.

The injured-face matcher's segmenter detects the parts of the aligned face that show an injury,
a dressing, blood or another occluder (``matching/injury_segmenter.py``); the search leaves
them out. :class:`MaskEditor` draws that mask in translucent red over the preprocessed view
(a toggle hides it) and lets the examiner mark more of the face to ignore or clear parts with a
round brush (drag on the view). An edited mask replaces the detected one for this query: the
panel stores it with the query (``FaceChoice.ignore``), the search uses it and records it, and
the case's audit log hashes it. "Use detected" goes back to the segmenter's mask.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QButtonGroup, QCheckBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget

from crossid_desktop.gui.widgets.image_view import ImageView

#: the overlay colour (RGBA) of the parts left out
MASK_RGBA = (230, 40, 40, 110)


def mask_overlay(mask: NDArray[np.bool_]) -> QImage:
    """A translucent red ARGB image of ``mask`` ``(H, W)`` (transparent where False)."""
    h, w = mask.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[mask] = MASK_RGBA
    image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
    return image.copy()  # own the pixels: the array goes away


def stamp(mask: NDArray[np.bool_], x: float, y: float, radius: float, value: bool) -> None:
    """Set the pixels of ``mask`` whose centres lie within ``radius`` of ``(x, y)`` (pixel
    coordinates, pixel centres at +0.5) to ``value``, in place."""
    h, w = mask.shape
    x0, x1 = max(0, int(np.floor(x - radius))), min(w, int(np.ceil(x + radius)) + 1)
    y0, y1 = max(0, int(np.floor(y - radius))), min(h, int(np.ceil(y + radius)) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    inside = (xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2 <= radius * radius
    mask[y0:y1, x0:x1][inside] = value


class MaskEditor(QWidget):
    """Controls for the mask over ``view`` (the preprocessed view of the query panel).
    ``maskEdited`` fires when the examiner's brush changed the mask, ``resetRequested`` when the
    examiner asks for the detected mask again."""

    maskEdited = Signal()
    resetRequested = Signal()

    def __init__(self, view: ImageView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("maskEditor")
        self._view = view
        self._mask: NDArray[np.bool_] | None = None
        self._source: str | None = None
        self._painting = False
        self.show_box = QCheckBox("Show unreliable regions", objectName="showUnreliable", checked=True)
        self.show_box.setToolTip("The parts of the face the search leaves out: detected injuries, dressings, blood, occluders")
        self.show_box.toggled.connect(self._refresh)
        self.mark_button = QToolButton(objectName="markBrush", text="Mark", checkable=True)
        self.mark_button.setToolTip("Brush: drag on the aligned face to mark parts the search must ignore; the marked parts replace "
                                    "the detected ones and are copied into each of the nearest gallery faces before they are compared "
                                    "again, so that both show the same injury (docs/RESULTS.md section 3.1)")
        self.clear_button = QToolButton(objectName="clearBrush", text="Clear", checkable=True)
        self.clear_button.setToolTip("Brush: drag on the aligned face to give parts back to the search")
        self.tools = QButtonGroup(self)
        self.tools.setExclusive(False)
        for button in (self.mark_button, self.clear_button):
            self.tools.addButton(button)
            button.toggled.connect(self._tool_toggled)
        self.size_box = QSpinBox(objectName="brushSize", minimum=2, maximum=60, value=10, suffix=" px")
        self.size_box.setToolTip("Brush radius, in pixels of the aligned face")
        self.reset_button = QPushButton("Use detected", objectName="resetMask")
        self.reset_button.setToolTip("Forget the brush strokes: leave out what the injury segmenter detected")
        self.reset_button.clicked.connect(self.resetRequested)
        self.summary = QLabel(objectName="maskSummary", wordWrap=True)
        row = QHBoxLayout()
        for widget in (self.show_box, self.mark_button, self.clear_button, QLabel("Brush"), self.size_box, self.reset_button):
            row.addWidget(widget)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        self._viewport = view.viewport()
        self._viewport.installEventFilter(self)
        self.set_mask(None, None)

    # -- public ---------------------------------------------------------------------------------
    def set_mask(self, mask: NDArray[np.bool_] | None, source: str | None) -> None:
        """Show ``mask`` (``(S, S)`` bool on the aligned crop; None: no mask for this query) made
        by ``source`` (``"detected"`` or ``"examiner"``)."""
        self._mask = None if mask is None else np.array(mask, dtype=bool)
        self._source = source
        self.setEnabled(mask is not None)
        if mask is None:
            for button in (self.mark_button, self.clear_button):
                button.setChecked(False)
        self._refresh()

    def mask(self) -> NDArray[np.bool_] | None:
        """The mask as it stands (a copy), or None."""
        return None if self._mask is None else self._mask.copy()

    def source(self) -> str | None:
        return self._source

    def paint(self, x: float, y: float, *, mark: bool) -> None:
        """One brush stamp at ``(x, y)`` (pixels of the aligned crop): mark or clear."""
        if self._mask is None:
            return
        stamp(self._mask, x, y, float(self.size_box.value()), mark)
        self._source = "examiner"
        self._refresh()

    def finish_stroke(self) -> None:
        """End a brush stroke: the panel takes the mask."""
        self.maskEdited.emit()

    # -- internals ------------------------------------------------------------------------------
    def _tool_toggled(self, checked: bool) -> None:
        sender = self.sender()
        if checked:
            for button in (self.mark_button, self.clear_button):
                if button is not sender:
                    button.setChecked(False)
        painting = self.mark_button.isChecked() or self.clear_button.isChecked()
        self._view.setDragMode(ImageView.DragMode.NoDrag if painting else ImageView.DragMode.ScrollHandDrag)
        self._viewport.setCursor(Qt.CursorShape.CrossCursor if painting else Qt.CursorShape.OpenHandCursor)

    def _refresh(self) -> None:
        show = self._mask is not None and self.show_box.isChecked()
        self._view.set_mask_overlay(mask_overlay(self._mask) if show and self._mask is not None else None)
        if self._mask is None:
            self.summary.setText("")
            return
        if self._source != "examiner" and not self._mask.any():
            self.summary.setText("Nothing is left out of the search; mark with the brush what hides the face (a dressing, a bandage).")
            self.reset_button.setEnabled(False)
            return
        who = "the examiner's brush" if self._source == "examiner" else "the injury segmenter"
        self.summary.setText(f"{100 * self._mask.mean():.1f} % of the aligned face is left out of the search (marked by {who}).")
        self.reset_button.setEnabled(self._source == "examiner")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self._viewport or self._mask is None:  # (the view may be going away)
            return False
        mark, clear = self.mark_button.isChecked(), self.clear_button.isChecked()
        if not (mark or clear):
            return False
        kind = event.type()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove) and self._is_left(event):
            self._painting = True
            point = self._view.mapToScene(event.position().toPoint())
            self.paint(point.x(), point.y(), mark=mark)
            return True
        if kind == QEvent.Type.MouseButtonRelease and self._painting:
            self._painting = False
            self.finish_stroke()
            return True
        return False

    @staticmethod
    def _is_left(event: Any) -> bool:
        return bool(event.buttons() & Qt.MouseButton.LeftButton)
