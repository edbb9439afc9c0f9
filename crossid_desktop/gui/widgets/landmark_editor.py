"""The landmarks of the query X-ray: shown on the original image (toggle), corrected by dragging.

``LandmarkEditor(window)`` is a row under the query panel's images: a "Landmarks" toggle and a
line of status. When on, the landmarks of the current X-ray are found in the worker
(:func:`~crossid_desktop.matching.landmarks.service.find_landmarks`, the service the CLI
calls) and drawn by a :class:`~crossid_desktop.gui.widgets.landmark_layer.LandmarkLayer`.
A point the examiner drags becomes a correction: while a case is open it is stored with the
case and logged in its audit trail at once (:class:`~crossid_desktop.cases.landmarks.CaseLandmarks`);
before that it is kept and written as soon as a case is opened. Each point can be reset to its
detected position. Landmarks found for an image of an open case come back with the case's
corrections applied, so every later step sees the examiner's points
(:meth:`LandmarkEditor.landmarks`). An image that does not look like a skull X-ray of its view
is reported in a dialog and its points are drawn flagged.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QWidget

from crossid_desktop.errors import Cancelled, UnsuitableImageError
from crossid_desktop.gui import errors
from crossid_desktop.gui.jobs import LandmarkChange, landmark_corrections_job, landmarks_job
from crossid_desktop.gui.widgets.landmark_layer import LandmarkLayer
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.landmarks.service import LandmarkResult

VIEWS = {QueryModality.XRAY_FRONT: "xray-front", QueryModality.XRAY_SIDE: "xray-side"}


class LandmarkEditor(QWidget):
    """See the module docstring. ``landmarksShown(result)`` fires when points reach the screen;
    ``correctionsRecorded(n)`` when ``n`` changes were stored in the open case."""

    landmarksShown = Signal(object)
    correctionsRecorded = Signal(int)

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("landmarkEditor")
        self._window, self._worker, self._panel = window, window.worker, window.query_panel
        self._results: dict[tuple[str, str], tuple[LandmarkResult, LandmarkResult]] = {}
        self._pending: list[LandmarkChange] = []
        self._jobs: dict[int, tuple[str, str]] = {}
        self._key: tuple[str, str] | None = None  # the image and view last refreshed
        self._record_jobs: dict[int, list[LandmarkChange]] = {}
        self.toggle = QCheckBox("Landmarks", objectName="landmarksToggle")
        self.toggle.setToolTip("Show the landmarks found on the X-ray; drag a point to correct it, right-click to reset it")
        self.status = QLabel(objectName="landmarkStatus", wordWrap=True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.toggle)
        row.addWidget(self.status, 1)
        self.layer = LandmarkLayer(self._panel.original_view)
        self.layer.pointMoved.connect(self._moved)
        self.layer.resetRequested.connect(self._reset)
        self.toggle.toggled.connect(self.refresh)
        self._panel.image_combo.currentIndexChanged.connect(lambda _index: self.refresh())
        self._panel.queryChanged.connect(self._query_changed)
        self._panel.queryLoaded.connect(self._query_loaded)
        self._worker.jobFinished.connect(self._job_finished)
        self._worker.jobFailed.connect(self._job_failed)
        case_panel = getattr(window, "case_panel", None)
        if case_panel is not None:
            case_panel.caseChanged.connect(lambda _case: self._flush())
        self.refresh()

    # -- public ---------------------------------------------------------------------------------
    def landmarks(self, sha256: str, view: str) -> LandmarkResult | None:
        """The landmarks of a query image as the examiner left them (None until found)."""
        found = self._results.get((sha256, view))
        return found[1] if found else None

    def pending(self) -> int:
        """Corrections kept until a case is opened."""
        return len(self._pending)

    def refresh(self) -> int | None:
        """Show (finding them first if needed) or hide the landmarks of the current image; returns a job id when one was started."""
        key = self._key = self._current()
        if key is None or not self.toggle.isChecked():
            self.layer.set_result(None)
            self.status.setText("" if key is not None or not self._panel.images() else "Landmarks are found on skull X-rays only.")
            return None
        if key in self._results:
            self._show(self._results[key][1])
            return None
        query = self._panel.images()[self._panel.current_index()]
        self.layer.set_result(None)
        self.status.setText("Finding the landmarks…")
        job = self._worker.submit("landmarks", landmarks_job(query.image, key[1], self._case_number()), supersede_kind=True)
        self._jobs[job] = key
        return job

    def _query_changed(self) -> None:
        if self._current() != self._key:  # another image or view (a corrected modality)
            self.refresh()

    def _query_loaded(self) -> None:
        """A query (re)opened: its landmarks are found again, with the open case's corrections."""
        self._results.clear()
        self.refresh()

    # -- corrections ----------------------------------------------------------------------------
    def _moved(self, name: str, x: float, y: float) -> None:
        key = self._current()
        if key is None or key not in self._results:
            return
        detected, shown = self._results[key]
        point = detected.point(name)
        self._results[key] = (detected, shown.with_correction(name, x, y))
        self._record((*key, name, x, y, None if point.missing else (point.x, point.y)))

    def _reset(self, name: str) -> None:
        key = self._current()
        if key is None or key not in self._results or not self._results[key][1].point(name).corrected:
            return
        detected, shown = self._results[key]
        self._results[key] = (detected, shown.with_correction(name, None, None, detected))
        self._record((*key, name, None, None, None))

    def _record(self, change: LandmarkChange) -> None:
        self._pending.append(change)
        self._show(self._results[(change[0], change[1])][1])
        self._flush()

    def _flush(self) -> None:
        number = self._case_number()
        if number is None or not self._pending:
            return
        changes, self._pending = self._pending, []
        job = self._worker.submit("case", landmark_corrections_job(number, changes, self._window.case_panel.actor()))
        self._record_jobs[job] = changes

    # -- helpers --------------------------------------------------------------------------------
    def _current(self) -> tuple[str, str] | None:
        images = self._panel.images()
        if not images:
            return None
        query = images[self._panel.current_index()]
        view = VIEWS.get(query.modality)
        return (query.image.sha256, view) if view else None

    def _case_number(self) -> str | None:
        case_panel = getattr(self._window, "case_panel", None)
        return case_panel.case_number() if case_panel is not None else None

    def _show(self, result: LandmarkResult) -> None:
        self.layer.set_result(result)
        found = sum(not p.missing for p in result.landmarks)
        corrected = sum(p.corrected for p in result.landmarks)
        parts = [f"{found} of {len(result.landmarks)} landmarks", f"{corrected} corrected" if corrected else ""]
        if self._pending:
            parts.append(f"{len(self._pending)} change(s) kept until a case is opened")
        self.status.setText("; ".join(p for p in parts if p) + (". " + " ".join(result.warnings) if result.warnings else "."))
        self.status.setStyleSheet("color: #c03030;" if result.warnings else "")
        self.landmarksShown.emit(result)

    def _job_finished(self, job_id: int, result: object) -> None:
        if job_id in self._jobs:
            key = self._jobs.pop(job_id)
            detected, shown = result  # type: ignore[misc]
            self._results[key] = (detected, shown)
            if key == self._current() and self.toggle.isChecked():
                self._show(shown)
            if detected.refused:
                errors.show_error(self, UnsuitableImageError(" ".join(detected.warnings)), title="Landmarks")
        elif job_id in self._record_jobs:
            del self._record_jobs[job_id]
            self.correctionsRecorded.emit(int(result))  # type: ignore[call-overload]

    def _job_failed(self, job_id: int, error: object) -> None:
        if job_id in self._jobs:
            self._jobs.pop(job_id)
            self.status.setText(errors.user_message(error))  # type: ignore[arg-type]
            if isinstance(error, BaseException) and not isinstance(error, Cancelled):
                errors.show_error(self, error, title="Landmarks")
        elif job_id in self._record_jobs:
            self._pending[:0] = self._record_jobs.pop(job_id)  # kept, to be written again
            if isinstance(error, BaseException):
                errors.show_error(self, error, title="Landmarks")
