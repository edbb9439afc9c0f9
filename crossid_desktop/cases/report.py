"""The PDF case report (reportlab platypus).

:func:`export_report` gathers a case (its latest search, marks, notes, audit trail), redoes the
query's preprocessing from the original file for display, lays the report out, writes it
atomically (temporary file, then rename) and logs the export (path, SHA-256, pages) in the
case's audit log. A case whose audit log does not verify is not reported.

Every page carries the case number and "Page X of Y" (a canvas that remembers its pages and
numbers them when the document is saved).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from crossid_desktop.cases import report_sections as sections
from crossid_desktop.cases.audit import now_utc
from crossid_desktop.cases.case import CaseService
from crossid_desktop.cases.fonts import SANS, SANS_BOLD, clean, register_fonts
from crossid_desktop.cases.report_appendix import appendix_section
from crossid_desktop.cases.report_craniofacial import craniofacial_figures, craniofacial_section
from crossid_desktop.cases.report_figures import as_jpeg, query_pictures
from crossid_desktop.cases.report_sections import ReportContent
from crossid_desktop.errors import CaseError, GalleryError
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.paths import atomic_path
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress
from crossid_desktop.workspace import Workspace

MARGIN_MM = 18.0


def export_report(
    workspace: Workspace,
    case_number: str,
    out_path: str | Path,
    *,
    actor: str | None = None,
    patient_identifiers: bool = False,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write the PDF report of a case to ``out_path``; returns its absolute path.

    ``patient_identifiers``: print the name, ID and birth date a DICOM query names (the
    examiner's choice; off by default, and logged with the export either way).
    """

    progress = progress or no_progress
    out = Path(out_path).expanduser().absolute()
    if out.suffix.lower() != ".pdf":
        raise CaseError(f"The report file {out} should end in .pdf.")
    if not out.parent.is_dir():
        raise CaseError(f"The folder {out.parent} for the report does not exist.")
    service = CaseService(workspace)
    progress(0, 5, "checking the audit log")
    verification = service.verify(case_number)
    if not verification.ok:
        raise CaseError(f"The audit log of case {case_number} does not verify ({verification.reason}); no report is written.")
    case = service.get(case_number)
    entries = tuple(service.audit_log(case_number))
    check_cancel(cancel, "The report")
    progress(1, 5, "reading the query images")
    search = case.latest_search
    pictures = tuple(query_pictures(q, search.result.preprocessing) for q in search.result.queries) if search else ()
    check_cancel(cancel, "The report")
    progress(2, 5, "reading the gallery photos")
    thumbnails = _thumbnails(workspace, [c.image_id for c in search.result.candidates] if search else [])
    figures, figures_note = craniofacial_figures(workspace, case, search, entries)
    content = ReportContent(case, search, entries, verification, now_utc(), pictures, thumbnails, patient_identifiers=patient_identifiers,
                            craniofacial=figures, craniofacial_note=figures_note)
    check_cancel(cancel, "The report")
    progress(3, 5, "laying out the pages")
    pages = write_pdf(content, out, cancel=cancel)
    progress(4, 5, "logging the export")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    service.record_export(case_number, path=str(out), sha256=digest, pages=pages, patient_identifiers=patient_identifiers, actor=actor or case.examiner or None)
    progress(5, 5, "done")
    return out


def report_file_name(case_number: str) -> str:
    """A file name for a case's report: ``<case number>.pdf`` with ``/`` made ``_``."""
    return case_number.replace("/", "_") + ".pdf"


def _thumbnails(workspace: Workspace, image_ids: Sequence[int]) -> dict[int, bytes | None]:
    found: dict[int, bytes | None] = {}
    with GalleryStore(workspace.db_path) as store:
        for image_id in image_ids:
            try:
                found[image_id] = as_jpeg(store.thumbnail(image_id))
            except GalleryError:  # removed from the gallery since the search
                found[image_id] = None
    return found


def write_pdf(content: ReportContent, out: Path, *, cancel: threading.Event | None = None) -> int:
    """Lay out and write the report atomically; returns the number of pages."""

    from reportlab.lib.pagesizes import A4  # reportlab loads only when a PDF is written
    from reportlab.lib.units import mm  # reportlab loads only when a PDF is written


    width = A4[0] - 2 * MARGIN_MM * mm
    content = replace(content, width=width)
    s = sections.styles()
    story: list[Any] = []
    for make in (
        sections.title_block, sections.summary, sections.query_section, sections.method_section, sections.results_section,
        sections.comparison_section, _craniofacial, sections.notes_section, sections.limitations_section, sections.audit_section,
        sections.signature_section,
        appendix_section,  # last: the texts the sections above shortened
    ):
        check_cancel(cancel, "The report")
        story += make(content, s)
    case = content.case
    metadata = {
        "title": f"CrossID case report {case.case_number}",
        "author": case.examiner or "CrossID Desktop",
        "subject": f"Candidate list (investigative lead, not an identification) for case {case.case_number}" + (f": {case.title}" if case.title else ""),
        "keywords": "CrossID; case report; investigative lead",
    }
    return build_atomically(story, out, header_left="CrossID Desktop case report", header_right=case.case_number,
                            footer="Investigative lead, not an identification. Generated " + content.generated[:19].replace("T", " ") + " UTC", metadata=metadata)


def _craniofacial(content: ReportContent, s: dict[str, Any]) -> list[Any]:
    return craniofacial_section(content.craniofacial, content.craniofacial_note, s, content.width)


def build_atomically(story: list[Any], out: Path, *, header_left: str, header_right: str, footer: str, metadata: dict[str, str]) -> int:
    """Build ``story`` into ``out`` via a temporary file in the same folder; returns the page count."""
    from reportlab.lib.pagesizes import A4  # reportlab loads only when a PDF is written
    from reportlab.lib.units import mm  # reportlab loads only when a PDF is written
    from reportlab.platypus import SimpleDocTemplate  # reportlab loads only when a PDF is written


    register_fonts()

    counter: dict[str, int] = {}
    canvas_class = _numbered_canvas(header_left, header_right, footer, counter)
    try:
        with atomic_path(out) as tmp:
            doc = SimpleDocTemplate(
                str(tmp), pagesize=A4, leftMargin=MARGIN_MM * mm, rightMargin=MARGIN_MM * mm, topMargin=(MARGIN_MM + 6) * mm,
                bottomMargin=(MARGIN_MM + 2) * mm, creator="CrossID Desktop", producer="CrossID Desktop (reportlab)", initialFontName=SANS, **metadata,
            )
            doc.build(story, canvasmaker=canvas_class)
    except OSError as error:
        raise CaseError(f"The report {out} cannot be written ({error.strerror or error}).") from error
    return counter.get("pages", 0)


def _numbered_canvas(header_left: str, header_right: str, footer: str, counter: dict[str, int]):
    """A canvas class that draws the header and footer with "Page X of Y" once all pages are known."""
    from reportlab.lib import colors  # reportlab loads only when a PDF is written
    from reportlab.lib.pagesizes import A4  # reportlab loads only when a PDF is written
    from reportlab.lib.units import mm  # reportlab loads only when a PDF is written
    from reportlab.pdfgen.canvas import Canvas  # reportlab loads only when a PDF is written


    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            counter["pages"] = total
            for state in self._pages:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            width, height = A4
            left, right = MARGIN_MM * mm, width - MARGIN_MM * mm
            top = height - MARGIN_MM * mm
            self.saveState()
            self.setFont(SANS_BOLD, 8.5)
            self.drawString(left, top, clean(header_left))
            self.drawRightString(right, top, clean(header_right))
            self.setFont(SANS, 8)
            self.drawCentredString(width / 2, top, f"Page {self._pageNumber} of {total}")
            self.setStrokeColor(colors.HexColor("#1f3b63"))
            self.setLineWidth(0.6)
            self.line(left, top - 3, right, top - 3)
            self.setFont(SANS, 7)
            self.setFillColor(colors.HexColor("#555555"))
            self.line(left, MARGIN_MM * mm + 2, right, MARGIN_MM * mm + 2)
            self.drawCentredString(width / 2, MARGIN_MM * mm - 8, clean(footer))
            self.restoreState()

    return NumberedCanvas
