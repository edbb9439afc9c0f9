"""The PDF case report: exporting it, and signing it later.

:func:`export_report` reads the case in one consistent snapshot (refusing a case whose audit
log does not verify), builds the case record (:mod:`~crossid_desktop.cases.report_record`),
redoes the query's preprocessing from the original file for display, lays the report out
(:mod:`~crossid_desktop.cases.report_layout`), attaches the record and the signature fields
(:mod:`~crossid_desktop.cases.report_embed`), signs it when asked
(:mod:`~crossid_desktop.cases.signing`), writes the PDF and the record beside it atomically,
and logs the export (path, SHA-256, pages, the record's SHA-256, who signed) in the case's
audit log. :func:`sign_report` adds a signature (a reviewer's) to a report exported before.

Every page carries the case number and "Page X of Y".
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crossid_desktop.cases import report_strings as text
from crossid_desktop.cases.audit import now_utc
from crossid_desktop.cases.case import CaseService
from crossid_desktop.cases.fonts import needs_shaping
from crossid_desktop.cases.records import RecordedSearch
from crossid_desktop.cases.report_craniofacial import craniofacial_figures
from crossid_desktop.cases.report_embed import embedded_record, finish_pdf, read_report
from crossid_desktop.cases.report_figures import as_jpeg, query_pictures
from crossid_desktop.cases.report_layout import render, write_atomically
from crossid_desktop.cases.report_record import EMBEDDED_NAME, build_record, check_record, record_bytes, record_path_for, record_sha256
from crossid_desktop.cases.report_sections import ReportContent
from crossid_desktop.cases.signing import SigningRequest, sign
from crossid_desktop.errors import CaseError, GalleryError
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress
from crossid_desktop.workspace import Workspace

STEPS = 6


def export_report(
    workspace: Workspace,
    case_number: str,
    out_path: str | Path,
    *,
    actor: str | None = None,
    patient_identifiers: bool = False,
    signature: SigningRequest | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write the PDF report of a case to ``out_path`` and its case record beside it; returns
    the PDF's absolute path.

    ``patient_identifiers``: print the name, ID and birth date a DICOM query names (the
    examiner's choice; off by default, and logged with the export either way; withheld ones
    are left out of the attached record too). ``signature``: sign the report as it is written
    (None: unsigned, and the report says so).
    """
    progress = progress or no_progress
    out = _report_path(out_path)
    service = CaseService(workspace)
    progress(0, STEPS, "checking the audit log")
    verification, rows, entries = service.snapshot(case_number)
    if not verification.ok:
        raise CaseError(f"The audit log of case {case_number} does not verify ({verification.reason}); no report is written.")
    case = service.get(case_number)
    if case.audit_entries != len(entries):
        raise CaseError(f"Case {case_number} changed while its report was being written; export it again.")
    search = case.latest_search
    model_card = _model_card(workspace, search)
    record = build_record(case_number, rows, entries, generated=now_utc(), model_card=model_card, patient_identifiers=patient_identifiers)
    data = record_bytes(record)
    problems, _ = check_record(record)
    if problems:
        raise CaseError(f"The case record of {case_number} does not agree with its audit log ({problems[0]}); no report is written.")
    check_cancel(cancel, "The report")
    progress(1, STEPS, "reading the query images")
    pictures = tuple(query_pictures(q, search.result.preprocessing) for q in search.result.queries) if search else ()
    check_cancel(cancel, "The report")
    progress(2, STEPS, "reading the gallery photos")
    thumbnails = _thumbnails(workspace, [c.image_id for c in search.result.candidates] if search else [])
    beside = record_path_for(out)
    figures, figures_note = craniofacial_figures(workspace, case, search, entries)  # the skull-face overlays made again, and where the landmarks came from
    content = ReportContent(
        case, search, tuple(entries), verification, record["generated"], pictures, thumbnails, patient_identifiers=patient_identifiers,
        craniofacial=figures, craniofacial_note=figures_note,
        file_name=out.name, signature=signature.plan() if signature else None, model_card=model_card,
        record_file={"name": EMBEDDED_NAME, "size": f"{len(data):,}", "sha256": record_sha256(data), "beside": beside.name},
        unshaped_text=needs_shaping(data.decode("utf-8") + (signature.credentials.name if signature else "")),
    )
    progress(3, STEPS, "laying out the pages")
    laid_out, pages = render(content, cancel=cancel)
    pdf = finish_pdf(laid_out, case_number=case_number, record=data, boxes=content.signature_boxes)
    if signature is not None:
        progress(4, STEPS, "signing")
        pdf = sign(pdf, signature, reason=text.SIGNATURE_REASON[signature.role].format(case=case_number))
    check_cancel(cancel, "The report")
    progress(5, STEPS, "writing and logging the export")
    write_atomically(beside, data)
    write_atomically(out, pdf)
    service.record_export(
        case_number, path=str(out), sha256=hashlib.sha256(pdf).hexdigest(), pages=pages, patient_identifiers=patient_identifiers,
        actor=actor or case.examiner or None, record_sha256=record_sha256(data), signatures=_signed_by(signature),
    )
    progress(STEPS, STEPS, "done")
    return out


def sign_report(path: str | Path, signature: SigningRequest, *, workspace: Workspace | None = None, actor: str | None = None) -> Path:
    """Add ``signature`` (e.g. a reviewer's) to a report exported before, in place; when
    ``workspace`` holds the report's case, log the signed file in its audit log."""
    pdf_path, pdf = read_report(path)
    record, _ = embedded_record(pdf)
    case_number = _case_number_of(record)
    signed = sign(pdf, signature, reason=text.SIGNATURE_REASON[signature.role].format(case=case_number))
    write_atomically(pdf_path, signed)
    if workspace is not None and CaseService(workspace).exists(case_number):
        CaseService(workspace).record_export(
            case_number, path=str(pdf_path), sha256=hashlib.sha256(signed).hexdigest(), pages=_page_count(signed), actor=actor or signature.credentials.name,
            record_sha256=record_sha256(record), signatures=_signed_by(signature), action="report_signed",
        )
    return pdf_path


def report_file_name(case_number: str) -> str:
    """A file name for a case's report: ``<case number>.pdf`` with ``/`` made ``_``."""
    return case_number.replace("/", "_") + ".pdf"


def _report_path(out_path: str | Path) -> Path:
    out = Path(out_path).expanduser().absolute()
    if out.suffix.lower() != ".pdf":
        raise CaseError(f"The report file {out} should end in .pdf.")
    if not out.parent.is_dir():
        raise CaseError(f"The folder {out.parent} for the report does not exist.")
    return out


def _signed_by(signature: SigningRequest | None) -> tuple[str, ...]:
    return (f"{signature.role}: {signature.credentials.name} (certificate {signature.credentials.serial})",) if signature else ()


def _case_number_of(record: bytes) -> str:
    try:
        return str(json.loads(record)["case_number"])
    except (ValueError, KeyError, TypeError) as error:
        raise CaseError("The report's attached case record cannot be read.") from error


def _page_count(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader  # pyHanko loads only when a report is signed

    return int(PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Count"])


def _model_card(workspace: Workspace, search: RecordedSearch | None) -> Mapping[str, Any] | None:
    """The complete model card of the search's matcher as the gallery holds it, or None."""
    if search is None:
        return None
    with GalleryStore(workspace.db_path) as store:
        return next((dict(m.card) for m in store.matchers() if m.fingerprint == search.result.matcher_fingerprint), None)


def _thumbnails(workspace: Workspace, image_ids: Sequence[int]) -> dict[int, bytes | None]:
    found: dict[int, bytes | None] = {}
    with GalleryStore(workspace.db_path) as store:
        for image_id in image_ids:
            try:
                found[image_id] = as_jpeg(store.thumbnail(image_id))
            except GalleryError:  # removed from the gallery since the search
                found[image_id] = None
    return found
