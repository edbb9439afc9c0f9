"""The main window: composes the query panel (left), the candidates (centre), the case panel
and the query facts (right dock), the menus, the status bar and the worker.

The compare view (``CompareView(window)``) and the gallery manager (``GalleryManager(window)``)
open as windows of their own. The panels read the window's public state: ``worker``,
``settings``, ``marks`` (+ ``marksChanged``), ``searchFinished``, ``query_images()``,
``outcome()`` and ``selected_rank``. Every job the window and its panels submit is in
:mod:`crossid_desktop.gui.jobs`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QProgressDialog, QSplitter, QTabWidget, QWidget

from crossid_desktop import __version__
from crossid_desktop.about import describe_device
from crossid_desktop.cases.marks import CaseMarks
from crossid_desktop.errors import Cancelled
from crossid_desktop.gui import errors
from crossid_desktop.gui.actions import build_actions, fill_demo, fill_recent
from crossid_desktop.gui.icon import application_icon
from crossid_desktop.gui.job_results import QueryImage, SearchOutcome, StartupFacts
from crossid_desktop.gui.jobs import demo_job, search_job, startup_job
from crossid_desktop.gui.settings import Settings, SettingsDialog
from crossid_desktop.gui.widgets.candidates_panel import CandidatesPanel
from crossid_desktop.gui.widgets.case_panel import CasePanel
from crossid_desktop.gui.widgets.compare_view import CompareView
from crossid_desktop.gui.widgets.dicom_browser import DicomBrowser, is_dicom_media
from crossid_desktop.gui.widgets.gallery_manager import GalleryManager
from crossid_desktop.gui.widgets.landmark_editor import LandmarkEditor
from crossid_desktop.gui.widgets.query_panel import QueryPanel
from crossid_desktop.gui.widgets.selftest_dialog import SelfTestDialog
from crossid_desktop.gui.widgets.status import QueryFacts, StatusBar
from crossid_desktop.gui.worker import JobContext, Worker
from crossid_desktop.imaging.formats import file_dialog_filter
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.craniofacial.points import Landmarks, corrected_landmarks
from crossid_desktop.matching.preprocess import FaceChoice

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The application window. ``marksChanged`` fires when the examiner marks a candidate."""

    marksChanged = Signal()
    searchFinished = Signal(object)  # SearchOutcome, once its cards are shown

    def __init__(self, *, workspace: Path | None = None, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("CrossID Desktop")
        self.setWindowIcon(application_icon())
        self.setAcceptDrops(True)
        self.settings = settings or Settings()
        self.workspace_root = workspace
        self.worker = Worker(lambda: JobContext(workspace))
        self.marks = CaseMarks()
        self.selected_rank: int | None = None
        self._search_job: int | None = None
        self._demo: Any = None
        self._demo_job: int | None = None
        self._info: dict[str, Any] = {}
        self._demo_dialog: QProgressDialog | None = None
        self._search_after_load = False
        self._extra_windows: list[QWidget] = []

        self.query_panel = QueryPanel(self.worker, strength_percent=self.settings.strength_percent)
        self.candidates = CandidatesPanel(self.worker, self.marks, top_k=self.settings.top_k)
        splitter = QSplitter(Qt.Orientation.Horizontal, objectName="mainSplitter")
        splitter.addWidget(self.query_panel)
        splitter.addWidget(self.candidates)
        splitter.setSizes([560, 640])
        self.setCentralWidget(splitter)
        self.facts = QueryFacts()
        self.case_tabs = QTabWidget(objectName="caseTabs")
        self.case_tabs.addTab(self.facts, "Query facts")
        self.case_panel = CasePanel(self)
        self.case_tabs.insertTab(0, self.case_panel, "Case")
        self.case_tabs.setCurrentIndex(0)
        self.landmark_editor = LandmarkEditor(self)  # a row under the query images
        self.query_panel.layout().insertWidget(self.query_panel.layout().count() - 1, self.landmark_editor)
        self.case_dock = QDockWidget("Case", self, objectName="caseDock")
        self.case_dock.setWidget(self.case_tabs)
        self.case_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.case_dock)
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.actions_ = build_actions(self)
        self._refresh_recent()

        self.worker.jobFailed.connect(self._job_failed)
        self.worker.jobFinished.connect(self._job_finished)
        self.worker.jobProgress.connect(lambda _id, done, total, message: self.status.show_progress(done, total, message))
        self.worker.busyChanged.connect(self.status.show_busy)
        self.status.cancelRequested.connect(self.stop_jobs)
        self.query_panel.openRequested.connect(self.open_query_dialog)
        self.query_panel.openDicomRequested.connect(self.open_dicom_dialog)
        self.query_panel.spacingCalibrated.connect(self.case_panel.record_calibration)
        self.query_panel.queryChanged.connect(self._query_changed)
        self.query_panel.queryLoaded.connect(self._query_loaded)
        self.query_panel.strength_slider.valueChanged.connect(lambda value: setattr(self.settings, "strength_percent", value))
        self.candidates.searchRequested.connect(self.run_search)
        self.candidates.top_k_spin.valueChanged.connect(lambda value: setattr(self.settings, "top_k", value))
        self.candidates.markChanged.connect(self._mark_changed)
        self.candidates.compareRequested.connect(self._candidate_chosen)
        self.candidates.resultShown.connect(lambda: self.searchFinished.emit(self.candidates.outcome()))

        self.resize(1500, 900)
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self._startup_job = self.worker.submit("startup", startup_job())

    # -- state the panels read ----------------------------------------------------------------
    def query_images(self) -> list[QueryImage]:
        return self.query_panel.images()

    def outcome(self) -> SearchOutcome | None:
        return self.candidates.outcome()

    # -- query and search -----------------------------------------------------------------------
    def open_query_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open a skull X-ray (one or two views) or an injured-face photo", self.settings.last_folder, file_dialog_filter())
        if paths and is_dicom_media(paths[0]):
            self.open_dicom_media(paths[0])
        elif paths:
            self.load_query(paths)

    def open_dicom_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a DICOM disc or folder", self.settings.last_folder)
        if folder:
            self.open_dicom_media(folder)

    def open_dicom_media(self, path: str | Path) -> DicomBrowser:
        """Browse a DICOMDIR or folder; the views picked there become the query."""
        browser = DicomBrowser(self.worker, path, self)
        browser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        browser.chosen.connect(
            lambda choices: self.load_query([c.path for c in choices], modalities=[c.modality for c in choices], frames=[c.frame for c in choices])
        )
        browser.open()
        return browser

    def load_query(
        self, paths: list[str], *, modalities: list[QueryModality] | None = None, frames: list[int] | None = None,
        true_subject_id: str | None = None, search: bool = False, choices: list[FaceChoice | None] | None = None,
    ) -> int:
        """Open query files (one image, or two X-ray views; ``frames`` of multi-frame DICOMs,
        0-based; ``choices`` for face photos, decided beforehand); optionally search once they
        are read."""
        paths = [str(p) for p in paths][:2]
        self.settings.last_folder = str(Path(paths[0]).parent)
        self.settings.add_recent(paths)
        self._refresh_recent()
        self.candidates.clear()
        self.candidates.set_known_identity(true_subject_id)
        self._search_after_load = search
        return self.query_panel.load(paths, modalities, frames, choices)

    def run_search(self) -> int | None:
        """Search the gallery with the open query (in the worker); returns the job id."""
        queries = self.query_panel.images()
        if not queries:
            self.status.showMessage("Open a query first (Ctrl+O).", 4000)
            return None
        landmarks = [self._corrected_skull(q) for q in queries]
        job = search_job(queries, top_k=self.candidates.top_k(), true_subject_id=self.candidates.known_identity(), landmarks=landmarks if any(landmarks) else None)
        self._search_job = self.worker.submit("search", job, supersede_kind=True)
        return self._search_job

    def _corrected_skull(self, query: QueryImage) -> Landmarks | None:
        """An X-ray's skull landmarks as the examiner corrected them in the landmark editor (None when uncorrected)."""
        view = {QueryModality.XRAY_FRONT: "xray-front", QueryModality.XRAY_SIDE: "xray-side"}.get(query.modality)
        return corrected_landmarks(self.landmark_editor.landmarks(query.image.sha256, view), query.image) if view else None

    def stop_jobs(self) -> None:
        self.worker.cancel()

    # -- demo -----------------------------------------------------------------------------------
    def start_demo(self, root: Path | None = None) -> int:
        """Open the demo workspace (built in the worker on first run), then search its first query."""

        job = self.worker.submit("demo", demo_job(root))
        dialog = self._demo_dialog = QProgressDialog("Preparing the demo…", "Cancel", 0, 0, self)
        dialog.setObjectName("demoProgress")
        dialog.setWindowTitle("CrossID Desktop demo")
        dialog.setMinimumDuration(300)
        dialog.canceled.connect(lambda: self.worker.cancel(job))
        self.worker.jobProgress.connect(self._demo_progress)
        self._demo_job = job
        return job

    def open_demo_query(self, index: int) -> int:
        query = self._demo.queries[index]
        modality = query.query_modality()
        return self.load_query(list(query.paths), modalities=[modality] if modality else None, true_subject_id=query.true_subject_id, search=True)

    def _demo_progress(self, job_id: int, done: int, total: int, message: str) -> None:
        if self._demo_dialog is not None and job_id == self._demo_job:
            self._demo_dialog.setMaximum(total)
            self._demo_dialog.setValue(min(done, total))
            self._demo_dialog.setLabelText(message)

    def _close_demo_dialog(self) -> None:
        if self._demo_dialog is not None:
            self._demo_dialog.reset()
            self._demo_dialog.deleteLater()
            self._demo_dialog = None

    # -- windows of their own ------------------------------------------------------------------
    def _open_window(self, widget: QWidget) -> None:
        self._extra_windows = [w for w in self._extra_windows if w.isVisible()] + [widget]
        widget.show()

    def open_compare(self) -> None:
        view = CompareView(self)
        view.overlayAdjusted.connect(self.case_panel.record_overlay_adjustment)
        self._open_window(view)

    def open_gallery_manager(self) -> None:
        self._open_window(GalleryManager(self))

    def open_selftest(self, *, parts: Sequence[str] | None = None) -> Any:
        """Help > Self-test: the dialog, its run started at once (``parts``: all by default)."""
        dialog = SelfTestDialog(self.worker, parent=self, **({"parts": parts} if parts else {}))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        dialog.start()
        return dialog

    def export_report(self) -> None:
        self.case_panel.export_report()

    # -- dialogs --------------------------------------------------------------------------------
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, str(self.workspace_root or "default workspace"), self)
        dialog.dialog.accepted.connect(self._apply_settings)
        dialog.dialog.open()

    def show_about(self) -> None:
        info = self._info
        device = describe_device(info)
        text = (
            f"<h3>CrossID Desktop {__version__}</h3><p>Ranks a gallery of face photos against a skull X-ray or an injured-face "
            f"photo. The ranked list is an investigative lead for an examiner to compare, never an identification.</p>"
            f"<p>Python {info.get('python', '?')}, torch {info.get('torch', '?')}, Qt {info.get('qt', '?')}, "
            f"OpenCV {info.get('opencv', '?')}, dlib {info.get('dlib', '?')}<br>Compute device: {device}</p>"
        )
        box = QMessageBox(QMessageBox.Icon.Information, "About CrossID Desktop", text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("aboutBox")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- slots ----------------------------------------------------------------------------------
    def _job_finished(self, job_id: int, result: object) -> None:
        if job_id == self._search_job and isinstance(result, SearchOutcome):
            self._search_job = None
            self.candidates.show_outcome(result)
            self.status.show_search(result.result)
            self.facts.show_facts(self.query_panel.images(), result.result)
        elif job_id == self._startup_job and isinstance(result, StartupFacts):
            self._info = result.info
            self.status.show_device(self._info)
            self.status.show_gallery(result.counts.subjects, result.counts.images)
        elif job_id == self._demo_job:
            self._close_demo_dialog()
            self._demo, counts = result  # type: ignore[misc]
            self.workspace_root = self._demo.workspace().root
            self.status.show_gallery(counts.subjects, counts.images)
            fill_demo(self.actions_.demo_menu, [q.label for q in self._demo.queries], self.open_demo_query)
            self.open_demo_query(0)

    def _job_failed(self, job_id: int, error: object) -> None:
        if job_id == self._demo_job:
            self._close_demo_dialog()
        if job_id == self._search_job:
            self._search_job = None
        if isinstance(error, Cancelled):
            self.status.showMessage(str(error), 4000)
        elif isinstance(error, BaseException):
            errors.show_error(self, error)

    def _query_changed(self) -> None:
        self.facts.show_facts(self.query_panel.images(), None)

    def _query_loaded(self) -> None:
        if self._search_after_load:
            self._search_after_load = False
            self.run_search()

    def _mark_changed(self, subject_id: str, mark: str, note: str) -> None:
        if self.marks.set(subject_id, mark, note):
            self.marksChanged.emit()

    def _candidate_chosen(self, rank: int) -> None:
        self.selected_rank = rank
        self.open_compare()

    def _apply_settings(self) -> None:
        self.candidates.top_k_spin.setValue(self.settings.top_k)
        self.query_panel.strength_slider.setValue(self.settings.strength_percent)
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        fill_recent(self.actions_.recent_menu, self.settings.recent_files, self.load_query)

    # -- window events --------------------------------------------------------------------------
    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            if is_dicom_media(paths[0]):
                self.open_dicom_media(paths[0])
            else:
                self.load_query(paths[:2])

    def closeEvent(self, event: Any) -> None:
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self._close_demo_dialog()
        self.worker.shutdown()
        super().closeEvent(event)
