"""Help > Self-test: qualifies the installation from the window.

The dialog runs the self-test (:func:`crossid_desktop.gui.jobs.selftest_job`) in the window's worker
(so the window stays responsive and the job can be stopped), lists every check with its outcome
as the record has it, and opens the PDF record. ``selfTestFinished`` carries the
:class:`~crossid_desktop.selftest.SelfTestOutcome`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crossid_desktop.errors import Cancelled
from crossid_desktop.gui.errors import user_message
from crossid_desktop.gui.jobs import selftest_job
from crossid_desktop.gui.worker import Worker
from crossid_desktop.selftest import PARTS, SelfTestOutcome, default_record_dir

INTRO = (
    "The self-test checks every bundled model, font and resource file against the installation's manifest "
    "of SHA-256 digests, then enrols a reference set of simulated people into a temporary workspace, runs "
    "reference searches, records a case, verifies its audit log and exports its report. The record (PDF "
    "and JSON) names this machine, the software version and the outcome of every check."
)
PASS_COLOUR, FAIL_COLOUR = QColor("#1d6b2f"), QColor("#b03030")


class SelfTestDialog(QDialog):
    """Runs the self-test and shows its checks; ``parts`` limits it (the tests run the
    installation part alone)."""

    selfTestFinished = Signal(object)  # SelfTestOutcome

    def __init__(self, worker: Worker, *, out_dir: Path | None = None, parts: Sequence[str] = PARTS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("selfTestDialog")
        self.setWindowTitle("CrossID Desktop self-test")
        self.worker = worker
        self.out_dir = Path(out_dir) if out_dir is not None else default_record_dir()
        self.parts = tuple(parts)
        self.outcome: SelfTestOutcome | None = None
        self._job: int | None = None

        intro = QLabel(INTRO, wordWrap=True)
        self.folder_label = QLabel(objectName="selfTestFolder", textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        choose = QPushButton("Choose…", objectName="selfTestFolderButton")
        choose.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Record folder:"))
        folder_row.addWidget(self.folder_label, 1)
        folder_row.addWidget(choose)
        self.progress = QProgressBar(objectName="selfTestProgress")
        self.status = QLabel(objectName="selfTestStatus", wordWrap=True)
        self.table = QTableWidget(0, 3, objectName="selfTestChecks")
        self.table.setHorizontalHeaderLabels(["Check", "Result", "Outcome"])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.verdict = QLabel(objectName="selfTestVerdict")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.run_button = buttons.addButton("Run", QDialogButtonBox.ButtonRole.ActionRole)
        self.run_button.setObjectName("selfTestRunButton")
        self.stop_button = buttons.addButton("Stop", QDialogButtonBox.ButtonRole.ActionRole)
        self.stop_button.setObjectName("selfTestStopButton")
        self.open_button = buttons.addButton("Open record", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setObjectName("selfTestOpenRecordButton")
        self.run_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.open_button.clicked.connect(self.open_record)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        for widget in (intro, self.progress, self.status, self.table, self.verdict):
            if widget is self.progress:
                layout.addLayout(folder_row)
            layout.addWidget(widget, 1 if widget is self.table else 0)
        layout.addWidget(buttons)
        self.resize(900, 560)
        self.worker.jobProgress.connect(self._progressed)
        self.worker.jobFinished.connect(self._finished)
        self.worker.jobFailed.connect(self._failed)
        self._show_idle()

    def start(self) -> int:
        """Queue the self-test in the worker; returns the job id."""
        self.outcome = None
        self.table.setRowCount(0)
        self.verdict.clear()
        self.status.setText("Running…")
        self.progress.setRange(0, 0)
        self._job = self.worker.submit("selftest", selftest_job(self.out_dir, self.parts))
        self._set_running(True)
        return self._job

    def stop(self) -> None:
        if self._job is not None:
            self.worker.cancel(self._job)

    def open_record(self) -> None:
        if self.outcome is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.outcome.pdf_path)))

    # -- slots ----------------------------------------------------------------------------------
    def _progressed(self, job_id: int, done: int, total: int, message: str) -> None:
        if job_id == self._job:
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(min(done, total))
            self.status.setText(message)

    def _finished(self, job_id: int, result: object) -> None:
        if job_id != self._job or not isinstance(result, SelfTestOutcome):
            return
        self._job, self.outcome = None, result
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        for check in result.record.checks:
            row = self.table.rowCount()
            self.table.insertRow(row)
            verdict = QTableWidgetItem("PASS" if check.passed else "FAIL")
            verdict.setForeground(QBrush(PASS_COLOUR if check.passed else FAIL_COLOUR))
            for column, item in enumerate((QTableWidgetItem(check.name), verdict, QTableWidgetItem(check.summary))):
                item.setToolTip(check.summary)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        colour = PASS_COLOUR if result.passed else FAIL_COLOUR
        self.verdict.setText(f'<b style="color:{colour.name()}">{result.record.verdict()}</b>')
        self.status.setText(f"Record written: {result.pdf_path} and {result.json_path.name}")
        self.selfTestFinished.emit(result)

    def _failed(self, job_id: int, error: object) -> None:
        if job_id != self._job:
            return
        self._job = None
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        stopped = "stopped" if isinstance(error, Cancelled) else "could not run"
        reason = user_message(error) if isinstance(error, BaseException) else str(error)
        self.status.setText(f"The self-test {stopped}: {reason}")

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the self-test record", str(self.out_dir))
        if folder:
            self.out_dir = Path(folder)
            self._show_idle()

    def _show_idle(self) -> None:
        self.folder_label.setText(str(self.out_dir))
        self._set_running(self._job is not None)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.open_button.setEnabled(not running and self.outcome is not None)

    def closeEvent(self, event: Any) -> None:
        self.stop()  # a self-test left running would hold the worker for nothing
        super().closeEvent(event)
