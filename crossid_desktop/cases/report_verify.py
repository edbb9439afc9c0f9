"""Checking an exported report: its signatures, its attached case record, and the case.

:func:`verify_report` answers three questions about a PDF report, without the network:

1. **Signatures** (:func:`~crossid_desktop.cases.signing.read_signatures`): is each one intact
   and valid, was anything but a later signature added after it, and (when trust anchors are
   given) does the signer's certificate chain to one of them. A report without a signature is
   reported as unsigned.
2. **The attached record** (:mod:`~crossid_desktop.cases.report_record`): does it have the
   SHA-256 the PDF states for it, does it check on its own (its audit chain recomputed, every
   row as the chain sealed it), and is the copy written beside the report the same file.
3. **The case** (when the workspace holds it): does the case's audit log verify, is the
   record's chain the case's chain as far as it goes, and does the log record the export (or a
   later signature) of this very file, or of the revision a signature covers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crossid_desktop.cases.case import CaseService
from crossid_desktop.cases.report_embed import embedded_record, read_report
from crossid_desktop.cases.report_record import check_record, compare_with_log, record_path_for, record_sha256
from crossid_desktop.cases.signing import SignatureCheck, read_signatures
from crossid_desktop.workspace import Workspace

#: the audit-log actions that record a report file
REPORT_ACTIONS = ("report_exported", "report_signed")


@dataclass(frozen=True)
class ReportCheck:
    """What :func:`verify_report` found. ``beside``: "same", "differs" or "absent" (the record
    file beside the PDF); ``case``: "checked", "not in workspace" or "not checked" (no
    workspace given); ``logged_as``: the audit entry that records this file ("" when none)."""

    path: Path
    sha256: str
    case_number: str
    record_sha256: str
    record_problems: tuple[str, ...]
    record_caveats: tuple[str, ...]
    beside: str
    signatures: tuple[SignatureCheck, ...]
    case: str
    case_problems: tuple[str, ...]
    logged_as: str

    @property
    def signed(self) -> bool:
        return bool(self.signatures)

    @property
    def ok(self) -> bool:
        """Nothing found wrong (an unsigned report can be ok; see :attr:`signed`)."""
        return not self.record_problems and self.beside != "differs" and all(s.ok for s in self.signatures) and not self.case_problems


def verify_report(path: str | Path, *, workspace: Workspace | None = None, trust_anchors: Sequence[bytes] = ()) -> ReportCheck:
    """Check the report at ``path`` (see the module docstring); :class:`CaseError` when the file
    cannot be read or is not a CrossID report."""
    pdf_path, pdf = read_report(path)
    data, stated = embedded_record(pdf)
    actual = record_sha256(data)
    problems: list[str] = []
    if stated != actual:
        problems.append(f"the attached record's SHA-256 is {actual}, not the {stated or 'missing'} the report states")
    try:
        record = json.loads(data)
    except ValueError:
        record = {}
    found, caveats = check_record(record) if isinstance(record, dict) else (["the attached record is not a JSON object"], [])
    problems += found
    beside_path = record_path_for(pdf_path)
    beside = "absent" if not beside_path.is_file() else ("same" if beside_path.read_bytes() == data else "differs")
    signatures = tuple(read_signatures(pdf, trust_anchors))
    case_number = str(record.get("case_number", "")) if isinstance(record, dict) else ""
    digest = hashlib.sha256(pdf).hexdigest()
    case, case_problems, logged = _against_case(workspace, case_number, record, digest, actual, signatures)
    return ReportCheck(pdf_path, digest, case_number, actual, tuple(problems), tuple(caveats), beside, signatures, case, tuple(case_problems), logged)


def _against_case(workspace: Workspace | None, case_number: str, record: dict, digest: str, record_digest: str,
                  signatures: Sequence[SignatureCheck]) -> tuple[str, list[str], str]:
    if workspace is None:
        return "not checked", [], ""
    service = CaseService(workspace)
    if not case_number or not service.exists(case_number):
        return "not in workspace", [], ""
    problems: list[str] = []
    verification, rows, entries = service.snapshot(case_number)
    if not verification.ok:
        problems.append(f"the case's audit log does not verify (entry {verification.first_broken_seq}: {verification.reason})")
    problems += compare_with_log(record, entries, {int(r["search_id"]): r["result"] for r in rows.get("case_searches", [])})
    known = {**{s.revision_sha256: f"the revision signed by {s.signer}" for s in signatures}, digest: "this file"}
    logged = ""
    for entry in entries:
        details = entry.details_dict()
        if entry.action in REPORT_ACTIONS and details.get("sha256") in known:
            logged = f"entry {entry.seq} ({entry.action.replace('_', ' ')} {entry.timestamp[:19].replace('T', ' ')} UTC by {entry.actor}) records {known[details['sha256']]}"
            if details.get("record_sha256") and details["record_sha256"] != record_digest:
                problems.append(f"entry {entry.seq} records another case record (SHA-256 {details['record_sha256']})")
    if not logged:
        problems.append("the case's audit log records no export of this file nor of any revision a signature covers")
    return "checked", problems, logged
