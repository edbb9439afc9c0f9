"""The case panel: the examiner's file on the unknown person being searched.

Case number, title, examiner, agency, the known identity and general notes, the candidates the
examiner marked (with their notes), and "Export report…". Every change goes through
:class:`~crossid_desktop.cases.CaseService` in the worker, so that the case's audit log records
it; while a case is open, every search that finishes is recorded in it, every mark set on a
card is stored with its note, and every ruler calibration of a query is logged (one made
before the case is opened is logged when it is). The report prints the patient's identifiers
a DICOM query names only when "Print the patient's identifiers" is ticked; with "Sign" ticked,
the export asks for the examiner's certificate (:class:`SignDialog`) and signs the report. The known identity
typed here is the one the candidates panel
frames in green (the two fields mirror each other).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from crossid_desktop.cases.marks import ExaminerMark
from crossid_desktop.cases.report import report_file_name
from crossid_desktop.cases.signing import SignerFile
from crossid_desktop.errors import Cancelled
from crossid_desktop.gui import errors
from crossid_desktop.gui.jobs import change_job, create_job, export_job
from crossid_desktop.gui.widgets.sign_dialog import SignDialog


class CasePanel(QWidget):
    """The case of the current query (objectName ``casePanel``), built by the main window as
    ``CasePanel(window)``; it reads ``worker``, ``settings``, ``marks`` (+ ``marksChanged``),
    ``searchFinished``, ``outcome()`` and ``candidates.identity_edit``.

    ``caseChanged(case)`` fires each time a change is stored (``case`` is the
    :class:`~crossid_desktop.cases.Case` as stored); ``reportExported(path)`` after an export.
    """

    caseChanged = Signal(object)
    reportExported = Signal(str)

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("casePanel")
        self._window = window
        self._worker = window.worker
        self._case: Any = None
        self._jobs: set[int] = set()
        self._export_job: int | None = None
        self._export_signed = False
        self._recorded_marks: dict[str, ExaminerMark] = {}
        self._pending_calibrations: list[tuple[str, Any]] = []  # (query SHA-256, RulerCalibration) before a case exists
        self.last_report: Path | None = None
        self._build()
        self._worker.jobFinished.connect(self._job_finished)
        self._worker.jobFailed.connect(self._job_failed)
        self._worker.jobProgress.connect(self._job_progress)
        window.marksChanged.connect(self._marks_changed)
        window.searchFinished.connect(self._search_finished)
        self._identity_source = window.candidates.identity_edit
        self._identity_source.textChanged.connect(self._identity_mirrored)
        self._update_state()

    def _build(self) -> None:
        self.number_edit = QLineEdit(objectName="caseNumberEdit", placeholderText="generated when left empty")
        self.title_edit = QLineEdit(objectName="caseTitleEdit", placeholderText="e.g. remains found at …")
        self.examiner_edit = QLineEdit(objectName="caseExaminerEdit")
        self.agency_edit = QLineEdit(objectName="caseAgencyEdit")
        self.identity_edit = QLineEdit(objectName="caseKnownIdentityEdit", placeholderText="gallery subject id, once established")
        self.identity_edit.setToolTip("The established identity; its candidate card gets a green frame")
        self.notes_edit = QPlainTextEdit(objectName="caseNotesEdit", placeholderText="General notes on the case (saved when you leave the field)")
        self.notes_edit.installEventFilter(self)
        self.new_button = QPushButton("New case", objectName="newCaseButton")
        self.new_button.setToolTip("Open a case with these details; the last search and the marks are recorded in it")
        self.new_button.clicked.connect(self.new_case)
        self.marks_list = QListWidget(objectName="caseMarksList")
        self.marks_list.setWordWrap(True)
        self.export_button = QPushButton("Export report…", objectName="exportReportButton")
        self.patient_check = QCheckBox("Print the patient's identifiers", objectName="reportPatientIdentifiersCheck")
        self.patient_check.setToolTip("Print the name, ID and birth date a DICOM query names (they are recorded with the case either way)")
        self.sign_check = QCheckBox("Sign", objectName="reportSignCheck")
        self.sign_check.setToolTip("Sign the exported report with your certificate (asked for when you export)")
        self.export_button.clicked.connect(lambda: self.export_report())
        self.progress = QProgressBar(objectName="caseExportProgress")
        self.progress.setVisible(False)
        self.report_label = QLabel(objectName="caseReportLabel", wordWrap=True, openExternalLinks=False)
        self.report_label.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.state_label = QLabel(objectName="caseStateLabel", wordWrap=True)

        for edit, field in ((self.title_edit, "title"), (self.examiner_edit, "examiner"), (self.agency_edit, "agency")):
            edit.editingFinished.connect(lambda e=edit, f=field: self._field_edited(f, e.text()))
        self.identity_edit.editingFinished.connect(self._identity_edited)

        form = QFormLayout()
        number_row = QHBoxLayout()
        number_row.addWidget(self.number_edit, 1)
        number_row.addWidget(self.new_button)
        form.addRow("Case number", number_row)
        form.addRow("Title", self.title_edit)
        form.addRow("Examiner", self.examiner_edit)
        form.addRow("Agency", self.agency_edit)
        form.addRow("Known identity", self.identity_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.state_label)
        layout.addWidget(QLabel("<b>Notes</b>"))
        layout.addWidget(self.notes_edit, 2)
        layout.addWidget(QLabel("<b>Marked candidates</b>"))
        layout.addWidget(self.marks_list, 2)
        export_row = QHBoxLayout()
        export_row.addWidget(self.progress, 1)
        export_row.addWidget(self.patient_check)
        export_row.addWidget(self.sign_check)
        export_row.addWidget(self.export_button)
        layout.addLayout(export_row)
        layout.addWidget(self.report_label)

    # -- public ---------------------------------------------------------------------------------
    def case_number(self) -> str | None:
        return self._case.case_number if self._case is not None else None

    def case(self) -> Any:
        """The case as last stored (a :class:`~crossid_desktop.cases.Case`), or None."""
        return self._case

    def actor(self) -> str | None:
        return self.examiner_edit.text().strip() or None

    def new_case(self) -> int:
        """Create the case from the fields; the last search and the marks go into it."""
        fields = {"title": self.title_edit.text().strip(), "examiner": self.examiner_edit.text().strip(), "agency": self.agency_edit.text().strip()}
        outcome = self._window.outcome()
        marks = self._window.marks.items()
        self._recorded_marks = dict(marks)
        calibrations, self._pending_calibrations = tuple(self._pending_calibrations), []
        return self._submit(create_job(self.number_edit.text().strip(), fields, outcome.result if outcome else None, marks, self.actor(), calibrations))

    def record_calibration(self, index: int, calibration: Any) -> int | None:
        """Log the examiner's ruler calibration of query image ``index`` (kept until a case is open)."""
        images = self._window.query_images()
        if not 0 <= index < len(images):
            return None
        sha256 = images[index].image.sha256
        if self._case is None:
            self._pending_calibrations.append((sha256, calibration))
            return None
        return self._change("record_calibration", sha256=sha256, calibration=calibration)

    def record_overlay_adjustment(self, details: dict) -> int | None:
        """Log the examiner's hand adjustment of an automatic skull-face overlay (needs an open case)."""
        if self._case is None:
            self.state_label.setText("Open a case first (New case) to record the overlay's adjustment.")
            return None
        return self._change("log_event", action="overlay_adjusted", details=dict(details))

    def commit_notes(self) -> int | None:
        """Store the notes if they changed."""
        if self._case is None or self.notes_edit.toPlainText() == self._case.notes:
            return None
        return self._change("set_notes", notes=self.notes_edit.toPlainText())

    def export_report(self, path: str | Path | None = None, signer: SignerFile | None = None) -> int | None:
        """Write the case's PDF report (asks where when ``path`` is None and, with "Sign"
        ticked, who signs when ``signer`` is None); returns the job id."""
        if self._case is None:
            self.state_label.setText("Open a case first (New case), then export its report.")
            return None
        if path is None:
            folder = self.last_report.parent if self.last_report else Path(self._window.settings.last_folder)
            chosen, _ = QFileDialog.getSaveFileName(self, "Export the case report", str(folder / report_file_name(self._case.case_number)), "PDF (*.pdf)")
            if not chosen:
                return None
            path = chosen
        if self.sign_check.isChecked() and signer is None:
            dialog = SignDialog(self._window.settings, self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            signer = dialog.signer()
        self.commit_notes()
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self._export_signed = signer is not None
        self._export_job = self._worker.submit("report", export_job(self._case.case_number, Path(path), self.actor(), self.patient_check.isChecked(), signer))
        self._update_state()
        return self._export_job

    # -- changes --------------------------------------------------------------------------------
    def _submit(self, fn: Any) -> int:
        job_id = self._worker.submit("case", fn)
        self._jobs.add(job_id)
        return job_id

    def _change(self, change: str, **values: Any) -> int | None:
        if self._case is None:
            return None
        return self._submit(change_job(self._case.case_number, change, self.actor(), **values))

    def _field_edited(self, field: str, text: str) -> None:
        if self._case is not None and getattr(self._case, field) != text.strip():
            self._change("update", **{field: text.strip()})

    def _identity_edited(self) -> None:
        subject = self.identity_edit.text().strip()
        if self._identity_source.text().strip() != subject:  # the candidates panel frames it
            self._identity_source.setText(subject)
            self._identity_source.editingFinished.emit()
        known = self._case.known_identity.subject_id if self._case is not None and self._case.known_identity else None
        if self._case is not None and (subject or None) != known:
            self._change("set_known_identity", subject_id=subject or None)

    def _identity_mirrored(self, text: str) -> None:
        if self.identity_edit.text() != text:
            self.identity_edit.setText(text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.notes_edit and event.type() == QEvent.Type.FocusOut:
            self.commit_notes()
        return super().eventFilter(watched, event)

    def _marks_changed(self) -> None:
        marks = self._window.marks.items()
        self._show_marks()
        if self._case is None:
            return
        for subject_id in sorted(set(marks) | set(self._recorded_marks)):
            value = marks.get(subject_id, ExaminerMark())
            if self._recorded_marks.get(subject_id, ExaminerMark()) != value:
                self._change("mark", subject_id=subject_id, mark=value.mark, note=value.note)
        self._recorded_marks = marks

    def _search_finished(self, outcome: Any) -> None:
        if self._case is not None:
            self._change("record_search", result=outcome.result)

    # -- results --------------------------------------------------------------------------------
    def _job_finished(self, job_id: int, result: object) -> None:
        if job_id == self._export_job:
            self._export_job = None
            self.progress.setVisible(False)
            self.last_report = Path(str(result))
            self._window.settings.last_folder = str(self.last_report.parent)
            url = QUrl.fromLocalFile(str(self.last_report)).toString()
            signed = "signed" if self._export_signed else "not signed"
            self.report_label.setText(f'Report written ({signed}): <a href="{url}">{self.last_report}</a>')
            self._update_state()
            self.reportExported.emit(str(self.last_report))
        elif job_id in self._jobs:
            self._jobs.discard(job_id)
            self._show_case(result)
            self.caseChanged.emit(result)

    def _job_failed(self, job_id: int, error: object) -> None:
        if job_id == self._export_job:
            self._export_job = None
            self.progress.setVisible(False)
            self._update_state()
        elif job_id in self._jobs:
            self._jobs.discard(job_id)
        else:
            return
        self.state_label.setText(errors.user_message(error))  # type: ignore[arg-type]
        if isinstance(error, BaseException) and not isinstance(error, Cancelled):
            errors.show_error(self, error)

    def _job_progress(self, job_id: int, done: int, total: int, message: str) -> None:
        if job_id == self._export_job:
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(done)
            self.progress.setFormat(f"{message} (%p%)")

    def _show_case(self, case: Any) -> None:
        self._case = case
        for edit, value in ((self.number_edit, case.case_number), (self.title_edit, case.title), (self.examiner_edit, case.examiner), (self.agency_edit, case.agency)):
            if not edit.hasFocus() and edit.text() != value:
                edit.setText(value)
        if not self.notes_edit.hasFocus() and self.notes_edit.toPlainText() != case.notes:
            self.notes_edit.setPlainText(case.notes)
        known = case.known_identity.subject_id if case.known_identity else None
        if known and not self.identity_edit.hasFocus() and self.identity_edit.text() != known:
            self.identity_edit.setText(known)
        self._update_state()

    def _show_marks(self) -> None:
        self.marks_list.clear()
        for subject_id, mark in sorted(self._window.marks.items().items()):
            label = mark.mark.label or "note only"
            self.marks_list.addItem(f"{subject_id} ({label})" + (f": {mark.note}" if mark.note else ""))

    def _update_state(self) -> None:
        case = self._case
        self.number_edit.setReadOnly(case is not None)
        self.new_button.setVisible(case is None)
        self.export_button.setEnabled(case is not None and self._export_job is None)
        if case is None:
            self.state_label.setText("No case is open. Fill in the details and press New case to record the searches and marks.")
        else:
            searches = len(case.searches)
            self.state_label.setText(
                f"Case {case.case_number}: {searches} search{'es' * (searches != 1)} recorded, "
                f"{case.audit_entries} audit entr{'ies' if case.audit_entries != 1 else 'y'}."
            )
