"""Cases: the examiner's record of an unknown person, its hash-chained audit log, the PDF
report and batch searches (many unknowns at once).

The PDF code (reportlab) is imported only by :mod:`crossid_desktop.cases.report` and the
modules it uses, so opening or listing cases stays light.
"""

from __future__ import annotations

from crossid_desktop.cases.audit import AuditEntry, VerifyResult
from crossid_desktop.cases.case import CaseService
from crossid_desktop.cases.marks import CaseMarks, ExaminerMark, Mark
from crossid_desktop.cases.records import CandidateMark, Case, CaseSummary, KnownIdentity, RecordedSearch

__all__ = [
    "AuditEntry",
    "Case",
    "CandidateMark",
    "CaseMarks",
    "CaseService",
    "CaseSummary",
    "ExaminerMark",
    "KnownIdentity",
    "Mark",
    "RecordedSearch",
    "VerifyResult",
]
