"""The gallery manager: who is in the gallery, importing photos, removing people, and the state
of every matcher's search index.

Every database and index operation runs as a worker job calling the same services as
``crossid enroll`` and ``crossid gallery list|remove|rebuild-index``; the dialog only shows
their results. An import can be cancelled: what was stored before the cancel stays stored, and
the table shows what the database holds once the job has stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from crossid_desktop.errors import Cancelled
from crossid_desktop.gallery.enrol import EnrolmentReport
from crossid_desktop.gui import errors
from crossid_desktop.gui.gallery_model import GalleryTableModel
from crossid_desktop.gui.job_results import GallerySnapshot
from crossid_desktop.gui.jobs import import_job, read_gallery_job, rebuild_job, remove_job
from crossid_desktop.gui.settings import Settings
from crossid_desktop.gui.worker import Worker


def describe_import(report: EnrolmentReport) -> str:
    """One line summing up an import."""
    parts = [f"Imported {report.added} photo{'s' * (report.added != 1)} of {len(report.subjects)} subject{'s' * (len(report.subjects) != 1)}"]
    if report.skipped_duplicates:
        parts.append(f"{report.skipped_duplicates} already enrolled")
    if report.failures:
        parts.append(f"{len(report.failures)} failed (first: {report.failures[0].path.name}: {report.failures[0].reason})")
    return "; ".join(parts) + "."


# -- the dialog ---------------------------------------------------------------------------------
class GalleryManager(QDialog):
    """Subjects and photo counts, import with progress and Cancel, removal, index states.

    Signals: ``galleryChanged()`` after an import, a removal or a rebuild changed the gallery
    (the window refreshes its status bar); ``refreshed()`` each time the table and the index
    states have been read again.
    """

    galleryChanged = Signal()
    refreshed = Signal()

    _KINDS = {"gallery-import": "Importing", "gallery-remove": "Removing", "gallery-rebuild": "Rebuilding indexes"}

    def __init__(self, window: Any = None, *, worker: Worker | None = None, settings: Settings | None = None) -> None:
        """Opened from the main window (``GalleryManager(window)``: its ``worker``, ``settings``
        and status bar), or with a worker alone."""
        super().__init__(window)
        self.setObjectName("galleryManager")
        self.setWindowTitle("Gallery")
        self.resize(780, 600)
        self._window = window
        self._worker = worker if worker is not None else window.worker
        self._settings = settings if settings is not None else getattr(window, "settings", None)
        self._jobs: dict[int, str] = {}  # job id -> kind, for this dialog's jobs only
        self._active: int | None = None  # the job the progress bar follows

        self.model = GalleryTableModel(self)
        self._build()
        self._worker.jobProgress.connect(self._on_progress)
        self._worker.jobFinished.connect(self._on_finished)
        self._worker.jobFailed.connect(self._on_failed)
        self._update_buttons()
        self.refresh()

    def _build(self) -> None:
        self.summary = QLabel("Reading the gallery…", objectName="gallerySummary")
        self.table = QTableView(objectName="galleryTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())

        self.import_folder_button = QPushButton("Import folder…", objectName="importFolderButton")
        self.import_folder_button.setToolTip("Enrol a folder holding one sub-folder of face photos per person (ROOT/<subject id>/*).")
        self.import_folder_button.clicked.connect(self._choose_folder)
        self.import_manifest_button = QPushButton("Import CSV manifest…", objectName="importManifestButton")
        self.import_manifest_button.setToolTip("Enrol the photos listed in a CSV file with the columns path, subject_id, name, view.")
        self.import_manifest_button.clicked.connect(self._choose_manifest)
        self.remove_button = QPushButton("Remove selected…", objectName="removeSubjectsButton")
        self.remove_button.clicked.connect(self.remove_selected)
        self.centre_crop = QCheckBox("Centre-crop photos without a detectable face", objectName="allowCentreCrop")
        self.centre_crop.setToolTip("Otherwise such photos are reported as failures and left out.")

        self.progress_bar = QProgressBar(objectName="galleryProgress")
        self.progress_bar.setTextVisible(True)
        self.progress_label = QLabel("", objectName="galleryProgressLabel")
        self.progress_label.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel", objectName="cancelGalleryJob")
        self.cancel_button.clicked.connect(self.cancel_job)

        self.index_table = QTableWidget(0, 4, objectName="indexStatusTable")
        self.index_table.setHorizontalHeaderLabels(["Matcher", "Fingerprint", "Vectors", "State"])
        self.index_table.verticalHeader().setVisible(False)
        self.index_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.index_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.index_table.horizontalHeader().setStretchLastSection(True)
        self.index_table.setWordWrap(True)
        self.index_table.setMaximumHeight(130)
        self.rebuild_button = QPushButton("Rebuild indexes", objectName="rebuildIndexButton")
        self.rebuild_button.setToolTip("Embed photos that lack an embedding and rebuild every matcher's index from the database.")
        self.rebuild_button.clicked.connect(self.rebuild_indexes)

        buttons = QHBoxLayout()
        for widget in (self.import_folder_button, self.import_manifest_button, self.remove_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.cancel_button)

        index_box = QGroupBox("Search indexes")
        index_layout = QVBoxLayout(index_box)
        index_layout.addWidget(self.index_table)
        rebuild_row = QHBoxLayout()
        rebuild_row.addStretch(1)
        rebuild_row.addWidget(self.rebuild_button)
        index_layout.addLayout(rebuild_row)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.centre_crop)
        layout.addLayout(progress_row)
        layout.addWidget(self.progress_label)
        layout.addWidget(index_box)
        layout.addWidget(close)

    # -- public actions -------------------------------------------------------------------------
    def refresh(self) -> int:
        """Read the subjects and index states again (a worker job); ``refreshed`` follows."""
        return self._submit("gallery-read", read_gallery_job())

    def import_source(self, source: Path | str) -> int:
        """Enrol a gallery folder or CSV manifest; returns the job id."""
        source = Path(source)
        self.progress_label.setText(f"Importing {source}…")
        return self._submit("gallery-import", import_job(source, allow_centre_crop=self.centre_crop.isChecked()))

    def remove_subjects(self, subject_ids: Sequence[str]) -> int | None:
        """Remove subjects after the examiner confirmed; returns the job id, or None when declined."""
        ids = list(subject_ids)
        if not ids:
            return None
        listed = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        answer = QMessageBox.question(
            self,
            "Remove from the gallery",
            f"Remove {listed} from the gallery, with their photos and embeddings?\n"
            "The photo files themselves are not touched.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
        self.progress_label.setText(f"Removing {listed}…")
        return self._submit("gallery-remove", remove_job(ids))

    def remove_selected(self) -> int | None:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return self.remove_subjects([self.model.subject_at(row).subject_id for row in rows])

    def rebuild_indexes(self) -> int:
        self.progress_label.setText("Rebuilding the search indexes…")
        return self._submit("gallery-rebuild", rebuild_job())

    def cancel_job(self) -> None:
        """Cancel this dialog's running import, removal or rebuild."""
        for job_id in self._jobs:
            self._worker.cancel(job_id)

    def busy(self) -> bool:
        return any(kind != "gallery-read" for kind in self._jobs.values())

    # -- file choosers --------------------------------------------------------------------------
    def _start_folder(self) -> str:
        return self._settings.last_folder if self._settings is not None else str(Path.home())

    def _remember(self, path: Path) -> None:
        if self._settings is not None:
            self._settings.last_folder = str(path)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a gallery folder", self._start_folder())
        if folder:
            self._remember(Path(folder))
            self.import_source(folder)

    def _choose_manifest(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a CSV manifest", self._start_folder(), "CSV manifest (*.csv)")
        if path:
            self._remember(Path(path).parent)
            self.import_source(path)

    # -- jobs -----------------------------------------------------------------------------------
    def _submit(self, kind: str, fn: Any) -> int:
        job_id = self._worker.submit(kind, fn, supersede_kind=(kind == "gallery-read"))
        self._jobs[job_id] = kind
        if kind != "gallery-read":
            self._active = job_id
            self.progress_bar.setRange(0, 0)  # busy until the first report
        self._update_buttons()
        return job_id

    def _on_progress(self, job_id: int, done: int, total: int, message: str) -> None:
        if job_id != self._active:
            return
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(min(done, max(total, 1)))
        if message:
            self.progress_label.setText(f"{self._KINDS[self._jobs[job_id]]}: {message}")

    def _on_finished(self, job_id: int, result: object) -> None:
        kind = self._jobs.pop(job_id, None)
        if kind is None:
            return
        if kind == "gallery-read":
            self._show(result)  # type: ignore[arg-type]
        else:
            self._settle(job_id)
            if kind == "gallery-import":
                self.progress_label.setText(describe_import(result))  # type: ignore[arg-type]
            elif kind == "gallery-remove":
                self.progress_label.setText(f"Removed {result} photo{'s' * (result != 1)} from the gallery.")
            else:
                self.progress_label.setText(f"Rebuilt {result} search index{'es' * (result != 1)}.")
            self.galleryChanged.emit()
            self.refresh()
        self._update_buttons()

    def _on_failed(self, job_id: int, error: object) -> None:
        kind = self._jobs.pop(job_id, None)
        if kind is None:
            return
        if kind != "gallery-read":
            self._settle(job_id)
            if isinstance(error, Cancelled):
                kept = " Photos stored before the cancel stay in the gallery." if kind == "gallery-import" else ""
                self.progress_label.setText(f"{self._KINDS[kind]} was cancelled.{kept}")
            else:
                self.progress_label.setText(errors.user_message(error))  # type: ignore[arg-type]
                errors.show_error(self, error)  # type: ignore[arg-type]
            self.galleryChanged.emit()
            self.refresh()
        elif not isinstance(error, Cancelled):
            self.summary.setText(errors.user_message(error))  # type: ignore[arg-type]
            errors.show_error(self, error)  # type: ignore[arg-type]
        self._update_buttons()

    def _settle(self, job_id: int) -> None:
        if job_id == self._active:
            self._active = None
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)

    def _show(self, snapshot: GallerySnapshot) -> None:
        self.model.set_subjects(snapshot.subjects)
        n = len(snapshot.subjects)
        self.summary.setText(f"{n} subject{'s' * (n != 1)}, {self.model.total_photos()} photos in {snapshot.workspace}")
        self.index_table.setRowCount(len(snapshot.indexes))
        for row, state in enumerate(snapshot.indexes):
            status = state.status
            text = "up to date" if status.matches_db else f"stale: {status.reason}"
            cells = (state.name, state.fingerprint[:12], f"{status.count} / {state.embeddings}", text)
            for column, value in enumerate(cells):
                item = QTableWidgetItem(value)
                item.setToolTip(state.fingerprint if column == 1 else value)
                if column == 3:
                    item.setForeground(Qt.GlobalColor.darkGreen if status.matches_db else Qt.GlobalColor.darkRed)
                self.index_table.setItem(row, column, item)
        if not snapshot.indexes:
            self.index_table.setRowCount(1)
            self.index_table.setItem(0, 0, QTableWidgetItem("no matcher has embedded the gallery yet"))
        self.index_table.resizeRowsToContents()
        if self._window is not None:  # opened with a worker alone, there is no status bar
            self._window.status.show_gallery(n, self.model.total_photos())
        self.refreshed.emit()

    def index_states(self) -> list[tuple[str, str]]:
        """(matcher name, state text) of every row of the index table, as shown."""
        rows = []
        for row in range(self.index_table.rowCount()):
            name, state = self.index_table.item(row, 0), self.index_table.item(row, 3)
            if name is not None and state is not None:
                rows.append((name.text(), state.text()))
        return rows

    def _update_buttons(self) -> None:
        busy = self.busy()
        for button in (self.import_folder_button, self.import_manifest_button, self.rebuild_button):
            button.setEnabled(not busy)
        self.remove_button.setEnabled(not busy and self.table.selectionModel().hasSelection())
        self.cancel_button.setEnabled(busy)
