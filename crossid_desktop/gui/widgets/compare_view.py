"""The compare view: the query as the matcher saw it beside a candidate's aligned face, and the
two superimposed.

Side by side, the preprocessed query (a skull X-ray with its soft tissue suppressed, or an
injured face aligned to the canonical crop) and the candidate's aligned face crop share zoom
and pan. The overlay blends the query over the face with an opacity slider. A skull X-ray is
first placed by rough proportions (skull breadth about 70 % of the canonical crop, the lowest
bone at the chin); the examiner then adjusts scale and offset by hand, because automatic
registration of an X-ray to a photograph is not reliable across the two domains. The overlay
is a visual aid for the examiner, not a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QTabWidget, QVBoxLayout, QWidget

from crossid_desktop.errors import Cancelled
from crossid_desktop.gui import errors
from crossid_desktop.gui.images import to_qimage
from crossid_desktop.gui.job_results import ComparePair
from crossid_desktop.gui.jobs import compare_job, overlay_job
from crossid_desktop.gui.widgets.image_view import ImageView
from crossid_desktop.gui.widgets.skull_face_overlay import SkullFaceOverlayPanel
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.craniofacial.points import Landmarks

#: skull breadth as a fraction of the canonical crop's side (eye distance 0.31 of the side,
#: about 6.3 cm, puts the side near 20 cm; a skull is about 14 cm broad)
SKULL_BREADTH = 0.70
#: the lowest bone (the chin) at this fraction of the crop's height
CHIN_LEVEL = 0.98
#: grey level (after soft-tissue suppression, in [0, 1]) above which a pixel counts as bone
BONE_LEVEL = 0.12
#: rows holding at least this share of the broadest row's bone belong to the skull (the neck
#: below the mandible holds about half, the mandible 70-80 %, measured on the synthetic X-rays)
SKULL_ROW_SHARE = 0.6

REGISTRATION_TIP = (
    "The skull is placed by rough proportions only. Automatic registration of an X-ray to a "
    "photograph is not reliable across the two image domains, so adjust scale and offset by "
    "hand. The overlay is a visual aid, not a measurement."
)


# -- superimposition (plain numpy; OpenCV for the warp) -----------------------------------------
@dataclass(frozen=True)
class Placement:
    """Where the query lies on the face crop: ``scale`` times the automatic fit, shifted by
    (``dx``, ``dy``) fractions of the crop's side."""

    scale: float = 1.0
    dx: float = 0.0
    dy: float = 0.0


def skull_box(grey: NDArray[np.float32]) -> tuple[float, float, float, float] | None:
    """``(x0, y0, x1, y1)`` (pixels, end exclusive) of the skull in a preprocessed X-ray: its
    width from the rows broad in bone (the neck's vertebrae below the mandible are narrower),
    its bottom at the lowest such row, its top at the first row holding bone; None when the
    image holds too little bone to tell."""
    bone = grey > BONE_LEVEL
    per_row = bone.sum(axis=1)
    if per_row.max() < 4:
        return None
    skull_rows = np.nonzero(per_row >= SKULL_ROW_SHARE * per_row.max())[0]
    per_column = bone[skull_rows].sum(axis=0)
    columns = np.nonzero(per_column >= 0.1 * len(skull_rows))[0]  # ignores scattered noise
    any_rows = np.nonzero(per_row >= 0.1 * per_row.max())[0]
    if len(skull_rows) < 4 or len(columns) < 4:
        return None
    return float(columns.min()), float(any_rows.min()), float(columns.max() + 1), float(skull_rows.max() + 1)


def _grey(query: NDArray[Any]) -> NDArray[np.float32]:
    grey = query.astype(np.float32) if query.dtype.kind == "f" else query.astype(np.float32) / 255.0
    return grey.mean(axis=2) if grey.ndim == 3 else grey


def initial_fit(query: NDArray[Any], face_side: int, *, is_xray: bool) -> tuple[float, float, float]:
    """The automatic placement ``(s, tx, ty)`` mapping query pixels to face-crop pixels
    (``x' = s x + tx``). A face query fills the crop; an X-ray's skull (:func:`skull_box`) is
    scaled to :data:`SKULL_BREADTH` of the crop, centred, its lowest row at :data:`CHIN_LEVEL`."""
    height, width = query.shape[:2]
    box = skull_box(_grey(query)) if is_xray else None
    if box is None:
        s = face_side / max(height, width)
        return s, (face_side - s * width) / 2.0, (face_side - s * height) / 2.0
    x0, _, x1, y1 = box
    s = SKULL_BREADTH * face_side / max(1.0, x1 - x0)
    return s, face_side / 2.0 - s * (x0 + x1) / 2.0, CHIN_LEVEL * face_side - s * y1


def superimpose(face: NDArray[np.uint8], query: NDArray[Any], *, opacity: float, placement: Placement = Placement(), is_xray: bool) -> NDArray[np.uint8]:
    """The query blended over the face: ``(H, W, 3)`` uint8, each covered pixel
    ``round((1 - a) face + a query)`` with ``a = opacity``; pixels the query does not cover stay
    the face's. ``face`` is the square aligned crop (RGB uint8); ``query`` is greyscale
    (``(H, W)`` float in [0, 1] or uint8) or RGB uint8. Of an X-ray only the skull's box (with a
    margin of a tenth of its breadth) covers the face."""
    side = face.shape[0]
    s, tx, ty = initial_fit(query, side, is_xray=is_xray)
    box = skull_box(_grey(query)) if is_xray else None
    if box is not None:  # crop to the skull, so the air around it does not veil the face
        margin = 0.1 * (box[2] - box[0])
        left, top = max(0, int(box[0] - margin)), max(0, int(box[1] - margin))
        right, bottom = min(query.shape[1], int(np.ceil(box[2] + margin))), min(query.shape[0], int(np.ceil(box[3] + margin)))
        query = query[top:bottom, left:right]
        tx, ty = tx + s * left, ty + s * top
    s *= placement.scale
    centre = side / 2.0  # scale about the crop's centre, then shift
    matrix = np.array([[s, 0.0, placement.scale * (tx - centre) + centre + placement.dx * side],
                       [0.0, s, placement.scale * (ty - centre) + centre + placement.dy * side]], dtype=np.float64)
    q = query.astype(np.float32) / (255.0 if query.dtype == np.uint8 else 1.0)
    if q.ndim == 2:
        q = np.repeat(q[:, :, None], 3, axis=2)
    import cv2  # OpenCV loads on the first overlay, not with the window

    size = (face.shape[1], face.shape[0])
    warped = cv2.warpAffine(np.ascontiguousarray(q), matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    cover = cv2.warpAffine(np.ones(q.shape[:2], np.float32), matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    alpha = float(np.clip(opacity, 0.0, 1.0)) * cover[:, :, None]
    blended = (1.0 - alpha) * face.astype(np.float32) + alpha * (warped * 255.0)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


# -- the widget ---------------------------------------------------------------------------------
def _slider(name: str, low: int, high: int, value: int, tip: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal, objectName=name)
    slider.setRange(low, high)
    slider.setValue(value)
    slider.setToolTip(tip)
    return slider


class CompareView(QWidget):
    """A window comparing the query with one candidate (objectName ``compareView``).

    Built from the main window (``CompareView(window)``: it reads ``worker``,
    ``query_images()``, ``outcome()`` and ``selected_rank``), or with a worker alone and
    :meth:`show_pair`. ``pairShown`` fires when a pair reaches the screen, ``overlayUpdated``
    each time the overlay is composed again.
    """

    pairShown = Signal()
    overlayUpdated = Signal()
    #: the examiner's recorded hand adjustment of the automatic overlay (audit details)
    overlayAdjusted = Signal(dict)

    def __init__(self, window: Any = None, *, worker: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent if parent is not None else window, Qt.WindowType.Window)
        self.setObjectName("compareView")
        self.setWindowTitle("Compare")
        self.resize(1100, 640)
        self._window = window
        self._worker = worker if worker is not None else window.worker
        self._job: int | None = None
        self._overlay_job: int | None = None
        self._overlay_person: dict | None = None  # the craniofacial record of the candidate whose overlay is being prepared
        self._pair: ComparePair | None = None
        self._candidates: list[Any] = []
        self._queries: list[Any] = []
        self._build()
        self._worker.jobFinished.connect(self._job_finished)
        self._worker.jobFailed.connect(self._job_failed)
        if window is not None:
            self.reload()

    def _build(self) -> None:
        self.query_combo = QComboBox(objectName="compareQuery")
        self.candidate_combo = QComboBox(objectName="compareCandidate")
        self.query_combo.activated.connect(lambda _i: self._request())
        self.candidate_combo.activated.connect(lambda _i: self._request())
        chooser = QHBoxLayout()
        chooser.addWidget(QLabel("Query"))
        chooser.addWidget(self.query_combo, 1)
        chooser.addWidget(QLabel("Candidate"))
        chooser.addWidget(self.candidate_combo, 2)

        self.query_view = ImageView(placeholder="Search, then double-click a candidate (or Ctrl+M)")
        self.query_view.setObjectName("compareQueryView")
        self.face_view = ImageView()
        self.face_view.setObjectName("compareFaceView")
        self.overlay_view = ImageView()
        self.overlay_view.setObjectName("compareOverlayView")
        self.overlay_view.setToolTip(REGISTRATION_TIP)
        self.query_view.link(self.face_view)
        self.query_view.link(self.overlay_view)
        self.face_view.link(self.overlay_view)
        self.query_caption = QLabel(objectName="compareQueryCaption", wordWrap=True)
        self.face_caption = QLabel(objectName="compareFaceCaption", wordWrap=True)

        side = QWidget(objectName="compareSideBySide")
        side_layout = QHBoxLayout(side)
        for caption, view in ((self.query_caption, self.query_view), (self.face_caption, self.face_view)):
            column = QVBoxLayout()
            column.addWidget(caption)
            column.addWidget(view, 1)
            side_layout.addLayout(column, 1)

        self.opacity = _slider("overlayOpacity", 0, 100, 50, "Opacity of the query over the face (0 = face only, 100 = query only)")
        self.scale = _slider("overlayScale", 50, 200, 100, "Size of the query over the face, in % of the automatic fit. " + REGISTRATION_TIP)
        self.offset_x = _slider("overlayOffsetX", -50, 50, 0, "Shift left or right, in % of the face crop. " + REGISTRATION_TIP)
        self.offset_y = _slider("overlayOffsetY", -50, 50, 0, "Shift up or down, in % of the face crop. " + REGISTRATION_TIP)
        self.reset_button = QPushButton("Reset placement", objectName="overlayReset")
        self.reset_button.clicked.connect(self.reset_placement)
        controls = QFormLayout()
        self._value_labels: dict[QSlider, QLabel] = {}
        for label, slider, unit in (("Opacity", self.opacity, "%"), ("Scale", self.scale, "%"), ("Offset x", self.offset_x, "%"), ("Offset y", self.offset_y, "%")):
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            value = QLabel(f"{slider.value()}{unit}")
            value.setMinimumWidth(40)
            self._value_labels[slider] = value
            row.addWidget(value)
            controls.addRow(label, row)
            slider.valueChanged.connect(lambda v, lab=value, u=unit: (lab.setText(f"{v}{u}"), self._compose()))
        note = QLabel(
            "<i>Manual placement:</i> the skull is fitted by rough proportions only. Use this as a visual aid, not a "
            "measurement; with a craniofacial X-ray matcher the <i>Skull-face overlay</i> tab registers the skull to the "
            "face by their landmarks.",
            objectName="overlayNote", wordWrap=True,
        )
        note.setToolTip(REGISTRATION_TIP)
        panel = QVBoxLayout()
        panel.addLayout(controls)
        panel.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignRight)
        panel.addWidget(note)
        panel.addStretch(1)
        overlay = QWidget(objectName="compareOverlay")
        overlay_layout = QHBoxLayout(overlay)
        overlay_layout.addWidget(self.overlay_view, 3)
        holder = QWidget()
        holder.setLayout(panel)
        holder.setMinimumWidth(280)
        overlay_layout.addWidget(holder, 1)

        self.modes = self._modes(side, overlay)
        self.status_label = QLabel(objectName="compareStatus", wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addLayout(chooser)
        layout.addWidget(self.modes, 1)
        layout.addWidget(self.status_label)

    def _modes(self, side: QWidget, overlay: QWidget) -> QTabWidget:
        """The tabs: side by side, the overlay placed by hand, the automatic skull-face overlay."""
        self.skull_face = SkullFaceOverlayPanel()
        self.skull_face.adjustmentRecorded.connect(self._adjustment_recorded)
        modes = QTabWidget(objectName="compareModes")
        modes.addTab(side, "Side by side")
        modes.addTab(overlay, "Overlay by hand")
        modes.addTab(self.skull_face, "Skull-face overlay")
        modes.setTabToolTip(1, REGISTRATION_TIP)
        modes.setTabToolTip(2, "The skull registered to the face by their landmarks (craniofacial X-ray matchers).")
        modes.setTabEnabled(2, False)
        return modes

    # -- public ---------------------------------------------------------------------------------
    def reload(self) -> int | None:
        """Read the window's query and last search again and compare its selected candidate."""
        window = self._window
        outcome = window.outcome()
        self._queries = [q for q in window.query_images()]
        self._candidates = list(outcome.result.candidates) if outcome is not None else []
        self.query_combo.clear()
        for query in self._queries:
            self.query_combo.addItem(f"{query.modality.value.replace('_', ' ')}: {Path(query.path).name}")
        frontal = next((i for i, q in enumerate(self._queries) if q.modality in (QueryModality.XRAY_FRONT, QueryModality.INJURED_FACE)), 0)
        self.query_combo.setCurrentIndex(frontal if self._queries else -1)
        self.candidate_combo.clear()
        for candidate in self._candidates:
            name = f" ({candidate.name})" if candidate.name else ""
            self.candidate_combo.addItem(f"{candidate.rank}. {candidate.subject_id}{name}: {candidate.confidence:.2f}")
        rank = getattr(window, "selected_rank", None) or 1
        self.candidate_combo.setCurrentIndex(min(rank, len(self._candidates)) - 1 if self._candidates else -1)
        if not self._candidates or not self._queries:
            self.status_label.setText("Nothing to compare yet: search, then double-click a candidate.")
            return None
        return self._request()

    def compare(self, query: Any, candidate: Any) -> int:
        """Compare a QueryImage with a Candidate (prepared in the worker); returns the job id.
        An X-ray and a candidate of a craniofacial search also get the automatic overlay."""
        self._job = self._worker.submit("compare", compare_job(query, candidate), supersede_kind=True)
        automatic = query.modality.is_xray and getattr(candidate, "craniofacial", None) is not None
        self.modes.setTabEnabled(2, automatic)
        self._overlay_job = self._worker.submit("overlay", overlay_job(query, candidate, self._landmarks_of(query)), supersede_kind=True) if automatic else None
        self._overlay_person = getattr(candidate, "craniofacial", None) if automatic else None
        self.status_label.setText(f"Preparing the comparison with {candidate.subject_id}…")
        return self._job

    def _landmarks_of(self, query: Any) -> Landmarks | None:
        """The skull landmarks the last search used for ``query`` (None: the detector finds them)."""
        outcome = self._window.outcome() if self._window is not None else None
        record = getattr(outcome.result, "craniofacial", None) if outcome is not None else None
        for info, used in zip(outcome.result.queries if record else (), (record or {}).get("queries", [])):
            if info.sha256 == query.image.sha256 and used.get("landmarks"):
                return Landmarks.from_dict(used["landmarks"])
        return None

    def show_pair(self, pair: ComparePair) -> None:
        """Show a prepared pair side by side and superimposed."""
        self._pair = pair
        self.query_view.set_image(to_qimage(pair.query))
        self.face_view.set_image(to_qimage(pair.face))
        self.query_caption.setText(f"<b>{pair.query_label}</b>")
        self.face_caption.setText(f"<b>{pair.face_label}</b>")
        self.status_label.setText(
            "Zoom with the mouse wheel and drag to pan: both sides follow. "
            + ("A frontal skull over a frontal face is the meaningful overlay." if pair.is_xray else "")
        )
        self.overlay_view.set_image(to_qimage(self.overlay_pixels()))
        self.pairShown.emit()

    def placement(self) -> Placement:
        return Placement(self.scale.value() / 100.0, self.offset_x.value() / 100.0, self.offset_y.value() / 100.0)

    def reset_placement(self) -> None:
        for slider, value in ((self.scale, 100), (self.offset_x, 0), (self.offset_y, 0)):
            slider.blockSignals(True)
            slider.setValue(value)
            self._value_labels[slider].setText(f"{value}%")
            slider.blockSignals(False)
        self._compose()

    def overlay_pixels(self) -> NDArray[np.uint8]:
        """The overlay as composed from the current sliders: ``(256, 256, 3)`` RGB uint8."""
        if self._pair is None:
            raise ValueError("No pair is shown.")
        return superimpose(self._pair.face, self._pair.query, opacity=self.opacity.value() / 100.0, placement=self.placement(), is_xray=self._pair.is_xray)

    # -- slots ----------------------------------------------------------------------------------
    def _request(self) -> int | None:
        qi, ci = self.query_combo.currentIndex(), self.candidate_combo.currentIndex()
        if not (0 <= qi < len(self._queries) and 0 <= ci < len(self._candidates)):
            return None
        return self.compare(self._queries[qi], self._candidates[ci])

    def _compose(self) -> None:
        if self._pair is None:
            return
        view = self.overlay_view
        view.replace_image(to_qimage(self.overlay_pixels()))
        view.viewChanged.emit(view.zoom, *view.relative_centre())  # keep the linked views where they were
        self.overlayUpdated.emit()

    def _job_finished(self, job_id: int, result: object) -> None:
        if job_id == self._job and isinstance(result, ComparePair):
            self._job = None
            self.show_pair(result)
        elif job_id == self._overlay_job:
            self._overlay_job = None
            self.skull_face.show_overlay(result, self._overlay_person)

    def _adjustment_recorded(self, details: dict) -> None:
        queries = self._queries
        index = self.query_combo.currentIndex()
        sha = queries[index].image.sha256 if 0 <= index < len(queries) else None
        self.overlayAdjusted.emit({**details, "query_sha256": sha})

    def _job_failed(self, job_id: int, error: object) -> None:
        if job_id == self._overlay_job:
            self._overlay_job = None
            self.skull_face.statement.setText(errors.user_message(error))  # type: ignore[arg-type]
            return
        if job_id == self._job:
            self._job = None
            self.status_label.setText(errors.user_message(error))  # type: ignore[arg-type]
            if isinstance(error, BaseException) and not isinstance(error, Cancelled):
                errors.show_error(self, error)
