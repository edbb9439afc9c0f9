"""The query panel: the skull X-ray(s) or injured-face photo being searched.

Opening reads the files in the worker (any format :func:`~crossid_desktop.imaging.io.load_image`
reads, DICOM included) and guesses each image's modality and view
(:func:`~crossid_desktop.search.query.initial_modalities`); the examiner can correct it. The
original and the preprocessed image are shown side by side, zoom and pan linked. The preview is
the query as the matcher prepares it (:func:`~crossid_desktop.matching.preprocess.prepare_query`):
for X-rays the soft-tissue suppression at the slider's strength; for photos the aligned face
crop, with the detected faces drawn on the original. Previews are computed in the worker
(:mod:`crossid_desktop.gui.jobs`): a newer request supersedes the older one, and a result that
is not the latest request is dropped. A DICOM disc or folder opens in the DICOM browser
(``openDicomRequested``); the ruler under the form measures on the original and calibrates an
image's pixel spacing (``spacingCalibrated``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from crossid_desktop.gui.job_results import Preview, QueryImage
from crossid_desktop.gui.jobs import load_query_job, preview_job
from crossid_desktop.gui.widgets.image_view import ImageView
from crossid_desktop.gui.widgets.ruler import Ruler, RulerCalibration
from crossid_desktop.matching.base import QueryModality

MODALITY_LABELS = {
    QueryModality.XRAY_FRONT: "X-ray, frontal",
    QueryModality.XRAY_SIDE: "X-ray, lateral",
    QueryModality.INJURED_FACE: "Injured face",
}


class QueryPanel(QWidget):
    """Shows and edits the query. Emits ``queryChanged`` when images or modalities change,
    ``previewReady(job_id)`` when a preview reaches the screen."""

    queryChanged = Signal()
    queryLoaded = Signal()
    previewReady = Signal(int)
    openRequested = Signal()
    openDicomRequested = Signal()
    spacingCalibrated = Signal(int, object)  # image index, RulerCalibration

    def __init__(self, worker: Any, *, strength_percent: int = 70, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queryPanel")
        self._worker = worker
        self._images: list[QueryImage] = []
        self._load_job: int | None = None
        self._preview_job: int | None = None

        self.open_button = QPushButton("Open query…", objectName="openQueryButton")
        self.open_button.clicked.connect(self.openRequested)
        self.open_dicom_button = QPushButton("Open DICOM disc or folder…", objectName="openDicomButton")
        self.open_dicom_button.setToolTip("Browse a DICOMDIR, a disc or a folder of DICOM files and pick the views")
        self.open_dicom_button.clicked.connect(self.openDicomRequested)
        self.image_combo = QComboBox(objectName="queryImageCombo")
        self.image_combo.currentIndexChanged.connect(self._show_current)
        self.modality_combo = QComboBox(objectName="modalityCombo")
        for modality, label in MODALITY_LABELS.items():
            self.modality_combo.addItem(label, modality.value)
        self.modality_combo.activated.connect(self._modality_chosen)
        self.strength_slider = QSlider(Qt.Orientation.Horizontal, objectName="strengthSlider")
        self.strength_slider.setRange(0, 100)
        self.strength_slider.setValue(strength_percent)
        self.strength_slider.setToolTip("Soft-tissue suppression strength of the preview (0 = none, 100 = strongest)")
        self.strength_label = QLabel(objectName="strengthLabel")
        self.strength_slider.valueChanged.connect(self._strength_changed)
        self.original_view = ImageView(placeholder="Open a skull X-ray or an injured-face photo\n(Ctrl+O, or drop files here)")
        self.original_view.setObjectName("originalView")
        self.processed_view = ImageView()
        self.processed_view.setObjectName("processedView")
        self.original_view.link(self.processed_view)
        self.note_label = QLabel(objectName="previewNote", wordWrap=True)
        self.ruler = Ruler(self.original_view)
        self.ruler.calibrated.connect(self._calibrated)

        form = self._form = QFormLayout()
        form.addRow("Image", self.image_combo)
        form.addRow("Modality", self.modality_combo)
        strength = self._strength_row = QHBoxLayout()
        strength.addWidget(self.strength_slider, 1)
        strength.addWidget(self.strength_label)
        form.addRow("Soft tissue", strength)
        form.addRow("Ruler", self.ruler)
        views = QHBoxLayout()
        for title, view in (("Original", self.original_view), ("Preprocessed", self.processed_view)):
            column = QVBoxLayout()
            column.addWidget(QLabel(f"<b>{title}</b>"))
            column.addWidget(view, 1)
            views.addLayout(column, 1)
        layout = QVBoxLayout(self)
        opening = QHBoxLayout()
        opening.addWidget(self.open_button, 1)
        opening.addWidget(self.open_dicom_button)
        layout.addLayout(opening)
        layout.addLayout(form)
        layout.addLayout(views, 1)
        layout.addWidget(self.note_label)
        worker.jobFinished.connect(self._job_finished)
        worker.jobFailed.connect(self._job_failed)
        self._strength_changed(strength_percent, request=False)
        self._update_controls()

    # -- public ---------------------------------------------------------------------------------
    def load(self, paths: Sequence[str | Path], modalities: Sequence[QueryModality] | None = None, frames: Sequence[int] | None = None) -> int:
        """Open one image, or a frontal and a lateral X-ray (``frames``: 0-based, of multi-frame
        DICOMs); returns the load job's id."""
        self._load_job = self._worker.submit("load", load_query_job([str(p) for p in paths], modalities, frames), supersede_kind=True)
        self.note_label.setText("Opening " + ", ".join(Path(p).name for p in paths) + "…")
        return self._load_job

    def images(self) -> list[QueryImage]:
        """The query images, in the order opened."""
        return list(self._images)

    def current_index(self) -> int:
        return max(0, self.image_combo.currentIndex())

    def strength(self) -> float:
        return self.strength_slider.value() / 100.0

    def set_modality(self, index: int, modality: QueryModality) -> None:
        """Correct the modality of image ``index``."""
        self._images[index] = replace(self._images[index], modality=modality)
        if index == self.current_index():
            self.modality_combo.setCurrentIndex(self.modality_combo.findData(modality.value))
        self._update_controls()
        self.request_preview()
        self.queryChanged.emit()

    def request_preview(self) -> int | None:
        """Compute the preview of the current image in the worker; returns the job id."""
        if not self._images:
            return None
        query = self._images[self.current_index()]
        self._preview_job = self._worker.submit("preview", preview_job(query.image, query.modality, self.strength()), supersede_kind=True)
        return self._preview_job

    # -- slots ----------------------------------------------------------------------------------
    def _job_finished(self, job_id: int, result: object) -> None:
        if job_id == self._load_job:
            self._load_job = None
            self._images = list(result)  # type: ignore[arg-type]
            self.image_combo.blockSignals(True)
            self.image_combo.clear()
            for query in self._images:
                self.image_combo.addItem(Path(query.path).name or "image")
            self.image_combo.blockSignals(False)
            self._show_current(0)
            self.queryChanged.emit()
            self.queryLoaded.emit()
        elif job_id == self._preview_job and isinstance(result, Preview):
            self._preview_job = None
            if self.processed_view.has_image():
                self.processed_view.replace_image(result.processed)
            else:
                self.processed_view.set_image(result.processed)
            self.original_view.show_faces(result.boxes, result.landmarks)
            self.note_label.setText(result.note)
            self.previewReady.emit(job_id)

    def _job_failed(self, job_id: int, error: object) -> None:
        if job_id == self._load_job:
            self._load_job = None
            self.note_label.setText("The query could not be opened.")
        elif job_id == self._preview_job:
            self._preview_job = None

    def _show_current(self, index: int) -> None:
        if not self._images:
            return
        query = self._images[max(0, index)]
        self.modality_combo.setCurrentIndex(self.modality_combo.findData(query.modality.value))
        self.original_view.set_image(query.original)
        self.processed_view.set_image(None)
        self.ruler.show_image(query.image.meta.spacing)
        self._update_controls()
        self.request_preview()

    def _calibrated(self, calibration: RulerCalibration) -> None:
        """The examiner's ruler gives the current image a pixel spacing (kept with the query)."""
        if not self._images:
            return
        index = self.current_index()
        query = self._images[index]
        meta = replace(query.image.meta, spacing=calibration.spacing)
        self._images[index] = replace(query, image=replace(query.image, meta=meta))
        self.spacingCalibrated.emit(index, calibration)
        self.queryChanged.emit()

    def _modality_chosen(self, combo_index: int) -> None:
        if self._images:
            self.set_modality(self.current_index(), QueryModality(self.modality_combo.itemData(combo_index)))

    def _strength_changed(self, value: int, request: bool = True) -> None:
        self.strength_label.setText(f"{value / 100:.2f}")
        if request and self._images and self._images[self.current_index()].modality.is_xray:
            self.request_preview()

    def _update_controls(self) -> None:
        has = bool(self._images)
        self._form.setRowVisible(self.image_combo, len(self._images) > 1)
        self.modality_combo.setEnabled(has)
        xray = has and self._images[self.current_index()].modality.is_xray
        self.strength_slider.setEnabled(xray)
        self._form.setRowVisible(self._strength_row, xray or not has)  # no soft tissue on a photo
        self.strength_slider.setToolTip(
            "Soft-tissue suppression strength of the preview. The search uses the matcher's own setting (see the query facts)."
        )
