"""The DICOM browser: a hospital's disc, a USB stick or a folder of DICOM files as patients >
studies > series with thumbnails, from which the examiner picks the frontal and the lateral
view (and the frame of a multi-frame image).

The listing (:func:`~crossid_desktop.imaging.dicom_media.open_media`) and the thumbnails are
read in the worker (:func:`~crossid_desktop.gui.jobs.list_media_job`, ``thumbnails_job``); the dialog shows them as they arrive. The views are pre-filled from the
headers (:func:`~crossid_desktop.search.guess_from_dicom`: ViewPosition, view code, Patient
Orientation, Image Laterality); the examiner can change them. Files a DICOMDIR references
that are missing, and files that cannot be read, are listed under the tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crossid_desktop.errors import Cancelled
from crossid_desktop.gui import errors
from crossid_desktop.gui.jobs import DICOM_THUMBNAIL_PX, list_media_job, thumbnails_job
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.search.query import guess_from_dicom

SERIES_ROLE = Qt.ItemDataRole.UserRole
VIEW_LABELS = {QueryModality.XRAY_FRONT: "frontal", QueryModality.XRAY_SIDE: "lateral", QueryModality.INJURED_FACE: "photo"}


@dataclass(frozen=True)
class DicomChoice:
    """An image the examiner picked: the file, its frame (0-based) and the view it is."""

    path: str
    frame: int
    modality: QueryModality


class DicomBrowser(QDialog):
    """Lists ``path`` and lets the examiner pick views (objectName ``dicomBrowser``).

    ``listed`` fires when the tree is filled, ``thumbnailsShown`` when the thumbnails are in it,
    ``chosen(list[DicomChoice])`` when the examiner opens the picked views.
    """

    listed = Signal()
    thumbnailsShown = Signal()
    chosen = Signal(object)

    def __init__(self, worker: Any, path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dicomBrowser")
        self.setWindowTitle(f"DICOM: {path}")
        self.resize(980, 620)
        self._worker = worker
        self._media: Any = None
        self._series: list[Any] = []
        self._slots: dict[QueryModality, DicomChoice] = {}
        self._jobs: dict[int, str] = {}
        self._build()
        worker.jobFinished.connect(self._job_finished)
        worker.jobFailed.connect(self._job_failed)
        self.finished.connect(self._stop)
        self.state_label.setText(f"Reading {path}…")
        self._jobs[worker.submit("dicom-list", list_media_job(str(path)), supersede_kind=True)] = "list"

    def _build(self) -> None:
        self.tree = QTreeWidget(objectName="dicomTree")
        self.tree.setHeaderLabels(["Patient / study / series", "Modality", "Body part", "View", "Date", "Images", "Pre-filled as"])
        self.tree.setIconSize(QSize(DICOM_THUMBNAIL_PX, DICOM_THUMBNAIL_PX))
        self.tree.currentItemChanged.connect(self._series_selected)
        self.images_list = QListWidget(objectName="dicomImages")
        self.images_list.currentRowChanged.connect(self._image_selected)
        self.frame_spin = QSpinBox(objectName="dicomFrame", minimum=1, maximum=1)
        self.frame_spin.setToolTip("The frame of a multi-frame image to search")
        self.front_button = QPushButton("Use as frontal", objectName="dicomFrontButton")
        self.side_button = QPushButton("Use as lateral", objectName="dicomSideButton")
        self.front_button.clicked.connect(lambda: self._assign(QueryModality.XRAY_FRONT))
        self.side_button.clicked.connect(lambda: self._assign(QueryModality.XRAY_SIDE))
        self.front_label = QLabel("not chosen", objectName="dicomFrontLabel", wordWrap=True)
        self.side_label = QLabel("not chosen", objectName="dicomSideLabel", wordWrap=True)
        self.state_label = QLabel(objectName="dicomStateLabel", wordWrap=True)
        self.problems_label = QLabel(objectName="dicomProblemsLabel", wordWrap=True)
        self.problems_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        self.open_button = self.buttons.button(QDialogButtonBox.StandardButton.Open)
        self.open_button.setObjectName("dicomOpenButton")
        self.buttons.accepted.connect(self._open_chosen)
        self.buttons.rejected.connect(self.reject)

        side = QWidget()
        form = QFormLayout(side)
        form.addRow(QLabel("<b>Images of the series</b>"))
        form.addRow(self.images_list)
        form.addRow("Frame", self.frame_spin)
        assign = QHBoxLayout()
        assign.addWidget(self.front_button)
        assign.addWidget(self.side_button)
        form.addRow(assign)
        form.addRow("Frontal view", self.front_label)
        form.addRow("Lateral view", self.side_label)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tree)
        splitter.addWidget(side)
        splitter.setSizes([640, 340])
        layout = QVBoxLayout(self)
        layout.addWidget(self.state_label)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.buttons)
        self._update_buttons()

    # -- public ---------------------------------------------------------------------------------
    def choices(self) -> list[DicomChoice]:
        """The picked views, frontal first."""
        return [self._slots[m] for m in (QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE) if m in self._slots]

    def series_items(self) -> list[QTreeWidgetItem]:
        """The tree's series rows, in listing order (their data is the series index)."""
        found = []
        for p in range(self.tree.topLevelItemCount()):
            patient = self.tree.topLevelItem(p)
            for s in range(patient.childCount()):
                study = patient.child(s)
                found += [study.child(i) for i in range(study.childCount())]
        return found

    # -- listing --------------------------------------------------------------------------------
    def _show_media(self, media: Any) -> None:
        self._media = media
        self.tree.clear()
        self._series = []
        for patient in media.patients:
            who = patient.identity.describe() if patient.identity else "patient not named in the files"
            patient_item = QTreeWidgetItem(self.tree, [who])
            for study in patient.studies:
                study_item = QTreeWidgetItem(patient_item, [study.description or "study", "", "", "", study.date])
                for series in study.series:
                    self._series.append(series)
                    self._add_series(study_item, series, study.date, len(self._series) - 1)
        self.tree.expandAll()
        for column in range(1, self.tree.columnCount()):
            self.tree.resizeColumnToContents(column)
        total = sum(series.image_count for series in self._series)
        self.state_label.setText(f"{media.kind} {media.root}: {len(media.patients)} patient(s), {len(self._series)} series, {total} image(s).")
        self._show_problems(media)
        self._prefill()
        if self._series:
            self._jobs[self._worker.submit("dicom-thumbnails", thumbnails_job(self._series), supersede_kind=True)] = "thumbnails"
        self.listed.emit()

    def _add_series(self, parent: QTreeWidgetItem, series: Any, date: str, index: int) -> None:
        first = series.first_image()
        guess = guess_from_dicom(first.tags) if first is not None else None
        prefill = f"{VIEW_LABELS[guess.modality]} ({guess.basis})" if guess else ""
        label = f"Series {series.number if series.number is not None else '?'}" + (f": {series.description}" if series.description else "")
        item = QTreeWidgetItem(parent, [label, series.modality, series.body_part, series.view_positions, date, str(series.image_count), prefill])
        item.setData(0, SERIES_ROLE, index)
        if first is None:
            item.setToolTip(0, series.images[0].note if series.images else "no image")

    def _show_problems(self, media: Any) -> None:
        lines = []
        if media.missing:
            lines.append(f"{len(media.missing)} file(s) the DICOMDIR references are missing (the rest opens):")
            lines += [f"    {path}" for path in media.missing[:20]] + (["    …"] if len(media.missing) > 20 else [])
        lines += [f"Unreadable: {reason}" for _, reason in media.unreadable[:20]]
        self.problems_label.setText("\n".join(lines))
        self.problems_label.setVisible(bool(lines))

    def _prefill(self) -> None:
        """The first series each header states frontal or lateral fills that view."""
        for series in self._series:
            first = series.first_image()
            guess = guess_from_dicom(first.tags) if first is not None else None
            if guess is not None and guess.modality.is_xray and guess.modality not in self._slots:
                self._set_slot(guess.modality, DicomChoice(str(first.path), 0, guess.modality), f"pre-filled from {guess.basis}")

    def _show_thumbnails(self, pictures: dict[int, QImage]) -> None:
        for item in self.series_items():
            picture = pictures.get(int(item.data(0, SERIES_ROLE)))
            if picture is not None:
                item.setIcon(0, QIcon(QPixmap.fromImage(picture)))
        self.thumbnailsShown.emit()

    # -- picking --------------------------------------------------------------------------------
    def _current_series(self) -> Any:
        item = self.tree.currentItem()
        index = item.data(0, SERIES_ROLE) if item is not None else None
        return self._series[int(index)] if index is not None else None

    def _series_selected(self, *_: Any) -> None:
        series = self._current_series()
        self.images_list.clear()
        for image in series.images if series is not None else ():
            detail = f"{image.frames} frames" if image.frames > 1 else (f"{image.columns} × {image.rows}" if image.has_pixels else image.note)
            entry = QListWidgetItem(f"{image.path.name}: {detail}")
            entry.setData(SERIES_ROLE, image)
            if not image.has_pixels:
                entry.setFlags(entry.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.images_list.addItem(entry)
        usable = [row for row in range(self.images_list.count()) if self.images_list.item(row).flags() & Qt.ItemFlag.ItemIsEnabled]
        self.images_list.setCurrentRow(usable[0] if usable else -1)
        self._update_buttons()

    def _image_selected(self, row: int) -> None:
        image = self._current_image()
        self.frame_spin.setMaximum(max(1, image.frames) if image is not None else 1)
        self.frame_spin.setValue(1)
        self._update_buttons()

    def _current_image(self) -> Any:
        entry = self.images_list.currentItem()
        return entry.data(SERIES_ROLE) if entry is not None and entry.flags() & Qt.ItemFlag.ItemIsEnabled else None

    def _assign(self, modality: QueryModality) -> None:
        image = self._current_image()
        if image is not None:
            self._set_slot(modality, DicomChoice(str(image.path), self.frame_spin.value() - 1, modality), "chosen")

    def _set_slot(self, modality: QueryModality, choice: DicomChoice, how: str) -> None:
        self._slots[modality] = choice
        label = self.front_label if modality is QueryModality.XRAY_FRONT else self.side_label
        frame = f", frame {choice.frame + 1}" if choice.frame else ""
        label.setText(f"{Path(choice.path).name}{frame} ({how})")
        label.setToolTip(choice.path)
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_image = self._current_image() is not None
        self.front_button.setEnabled(has_image)
        self.side_button.setEnabled(has_image)
        self.frame_spin.setEnabled(has_image and self.frame_spin.maximum() > 1)
        self.open_button.setEnabled(bool(self._slots))

    def _open_chosen(self) -> None:
        if self._slots:
            self.chosen.emit(self.choices())
            self.accept()

    # -- worker ---------------------------------------------------------------------------------
    def _job_finished(self, job_id: int, result: object) -> None:
        kind = self._jobs.pop(job_id, None)
        if kind == "list":
            self._show_media(result)
        elif kind == "thumbnails":
            self._show_thumbnails(result)  # type: ignore[arg-type]

    def _job_failed(self, job_id: int, error: object) -> None:
        kind = self._jobs.pop(job_id, None)
        if kind is None or isinstance(error, Cancelled):
            return
        self.state_label.setText(errors.user_message(error))  # type: ignore[arg-type]
        if kind == "list" and isinstance(error, BaseException):
            errors.show_error(self, error)

    def _stop(self) -> None:
        """On close: cancel what is still running for this dialog and stop listening."""
        for job_id in list(self._jobs):
            self._worker.cancel(job_id)
        self._jobs.clear()
        self._worker.jobFinished.disconnect(self._job_finished)
        self._worker.jobFailed.disconnect(self._job_failed)


def is_dicom_media(path: str | Path) -> bool:
    """True for a folder or a file named DICOMDIR: the browser opens these, not the query."""
    path = Path(path)
    return path.is_dir() or path.name.upper() == "DICOMDIR"
