"""The case panel in the real window: every edit reaches the case service and its audit log,
searches and marks are recorded, the known identity frames the card, the report is exported."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QLineEdit, QListWidget, QPlainTextEdit, QPushButton  # noqa: E402

from crossid_desktop.cases import CaseService  # noqa: E402
from crossid_desktop.cases.marks import Mark  # noqa: E402
from crossid_desktop.gui.widgets.case_panel import CasePanel  # noqa: E402
from crossid_desktop.matching.base import QueryModality  # noqa: E402


def _type(qtbot, edit: QLineEdit, text: str) -> None:
    edit.clear()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)  # editingFinished


def test_case_fields_marks_identity_and_report(qtbot, window, tiny, tmp_path: Path) -> None:
    panel = window.findChild(CasePanel, "casePanel")
    assert panel is not None
    with qtbot.waitSignal(window.searchFinished, timeout=60_000):
        window.load_query([str(tiny.photo(tiny.photo_subjects[5]))], modalities=[QueryModality.INJURED_FACE], search=True)
    subject = window.candidates.cards()[2].candidate.subject_id  # "established" later: a shown candidate

    panel.findChild(QLineEdit, "caseNumberEdit").setText("GUI-TEST-1")
    panel.findChild(QLineEdit, "caseExaminerEdit").setText("Dr A. Examiner")
    with qtbot.waitSignal(panel.caseChanged, timeout=20_000):
        panel.findChild(QPushButton, "newCaseButton").click()
    service = CaseService(tiny.workspace)
    case = service.get("GUI-TEST-1")
    assert case.examiner == "Dr A. Examiner" and len(case.searches) == 1
    entries = len(service.audit_log("GUI-TEST-1"))

    with qtbot.waitSignal(panel.caseChanged, timeout=20_000):
        _type(qtbot, panel.findChild(QLineEdit, "caseTitleEdit"), "Remains at the quarry")
    with qtbot.waitSignal(panel.caseChanged, timeout=20_000):
        _type(qtbot, panel.findChild(QLineEdit, "caseAgencyEdit"), "Unit 7")
    notes = panel.findChild(QPlainTextEdit, "caseNotesEdit")
    notes.setPlainText("Left orbit damaged.")
    with qtbot.waitSignal(panel.caseChanged, timeout=20_000):
        panel.commit_notes()
    card = window.candidates.cards()[1]
    with qtbot.waitSignal(panel.caseChanged, timeout=20_000):
        card.set_mark(Mark.OF_INTEREST, "similar nose")
    with qtbot.waitSignal(panel.caseChanged, timeout=20_000):
        _type(qtbot, panel.findChild(QLineEdit, "caseKnownIdentityEdit"), subject)

    case = service.get("GUI-TEST-1")
    assert (case.title, case.agency, case.notes) == ("Remains at the quarry", "Unit 7", "Left orbit damaged.")
    assert case.marks[card.candidate.subject_id].mark is Mark.OF_INTEREST
    assert case.marks[card.candidate.subject_id].note == "similar nose"
    assert case.known_identity is not None and case.known_identity.subject_id == subject
    log = service.audit_log("GUI-TEST-1")
    assert len(log) == entries + 5
    assert [e.action for e in log[-5:]] == ["case_updated", "case_updated", "notes_set", "candidate_marked", "known_identity_set"]
    assert all(e.actor == "Dr A. Examiner" for e in log[-5:])
    # the known identity reached the candidates panel: its card has the green frame
    assert window.candidates.identity_edit.text() == subject
    qtbot.waitUntil(lambda: any(c.is_true_identity and c.candidate.subject_id == subject for c in window.candidates.cards()), timeout=10_000)
    marks = panel.findChild(QListWidget, "caseMarksList")
    assert marks.count() == 1 and marks.item(0).text() == f"{card.candidate.subject_id} (of interest): similar nose"

    out = tmp_path / "report.pdf"
    with qtbot.waitSignal(panel.reportExported, timeout=60_000) as exported:
        panel.export_report(out)
    assert exported.args == [str(out)] and out.read_bytes()[:5] == b"%PDF-"
    assert service.audit_log("GUI-TEST-1")[-1].action == "report_exported"
    assert str(out) in panel.findChild(type(panel.report_label), "caseReportLabel").text()
