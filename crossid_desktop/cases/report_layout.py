"""Laying out the case report: the order of its sections, the page frame (header, footer,
"Page X of Y") and building the PDF with reportlab.

:func:`render` lays a :class:`~crossid_desktop.cases.report_sections.ReportContent` out into
PDF bytes; :func:`build_atomically` builds any story into a file (the batch summary uses it).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from crossid_desktop.cases import report_sections as sections
from crossid_desktop.cases import report_strings as text
from crossid_desktop.cases.fonts import SANS, SANS_BOLD, clean, register_fonts
from crossid_desktop.cases.report_appendix import appendix_section
from crossid_desktop.cases.report_candidates import comparison_pages
from crossid_desktop.cases.report_method import method_page
from crossid_desktop.cases.report_sections import ReportContent
from crossid_desktop.cases.report_signoff import signoff_section
from crossid_desktop.cases.report_technical import technical_appendix
from crossid_desktop.errors import CaseError
from crossid_desktop.paths import write_bytes_atomic
from crossid_desktop.progress import check_cancel

MARGIN_MM = 18.0

#: the report's sections in order; each makes a list of flowables from the content and styles
SECTIONS: tuple[Callable[[ReportContent, dict[str, Any]], list[Any]], ...] = (
    sections.title_block, sections.summary, sections.query_section, method_page, sections.results_section, comparison_pages,
    sections.notes_section, sections.limitations_section, sections.audit_section, signoff_section, technical_appendix,
    appendix_section,  # last: the texts the sections above shortened
)


def render(content: ReportContent, *, cancel: threading.Event | None = None) -> tuple[bytes, int]:
    """Lay the report out: ``(PDF bytes, number of pages)``. The content's ``signature_boxes``
    receive where the sign-off section drew its boxes."""
    from reportlab.lib.pagesizes import A4  # reportlab loads only when a PDF is written
    from reportlab.lib.units import mm  # reportlab loads only when a PDF is written

    content = replace(content, width=A4[0] - 2 * MARGIN_MM * mm)
    s = sections.styles()
    story: list[Any] = []
    for make in SECTIONS:
        check_cancel(cancel, "The report")
        story += make(content, s)
    case = content.case
    metadata = {
        "title": text.DOCUMENT_TITLE.format(case=case.case_number),
        "author": case.examiner or text.APPLICATION,
        "subject": text.METADATA_SUBJECT.format(case=case.case_number) + (f": {case.title}" if case.title else ""),
        "keywords": text.METADATA_KEYWORDS,
    }
    footer = text.FOOTER.format(generated=content.generated[:19].replace("T", " "))
    return build_pdf(story, header_left=text.HEADER_LEFT, header_right=case.case_number, footer=footer, metadata=metadata)


def build_pdf(story: list[Any], *, header_left: str, header_right: str, footer: str, metadata: dict[str, str]) -> tuple[bytes, int]:
    """Build ``story`` on A4 pages with the header and footer: ``(PDF bytes, page count)``."""
    from reportlab.lib.pagesizes import A4  # reportlab loads only when a PDF is written
    from reportlab.lib.units import mm  # reportlab loads only when a PDF is written
    from reportlab.platypus import SimpleDocTemplate  # reportlab loads only when a PDF is written

    register_fonts()
    counter: dict[str, int] = {}
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN_MM * mm, rightMargin=MARGIN_MM * mm, topMargin=(MARGIN_MM + 6) * mm,
        bottomMargin=(MARGIN_MM + 2) * mm, creator="CrossID Desktop", producer="CrossID Desktop (reportlab)", initialFontName=SANS, **metadata,
    )
    doc.build(story, canvasmaker=_numbered_canvas(header_left, header_right, footer, counter))
    return buffer.getvalue(), counter.get("pages", 0)


def build_atomically(story: list[Any], out: Path, *, header_left: str, header_right: str, footer: str, metadata: dict[str, str]) -> int:
    """Build ``story`` into ``out`` via a temporary file in the same folder; returns the page count."""
    data, pages = build_pdf(story, header_left=header_left, header_right=header_right, footer=footer, metadata=metadata)
    write_atomically(out, data)
    return pages


def write_atomically(out: Path, data: bytes) -> None:
    """Write ``data`` to ``out`` through a temporary file in the same folder; :class:`CaseError` when it cannot be written."""
    try:
        write_bytes_atomic(out, data)
    except OSError as error:
        raise CaseError(f"The file {out} cannot be written ({error.strerror or error}).") from error


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
            self.drawCentredString(width / 2, top, text.PAGE_OF.format(page=self._pageNumber, pages=total))
            self.setStrokeColor(colors.HexColor("#1f3b63"))
            self.setLineWidth(0.6)
            self.line(left, top - 3, right, top - 3)
            self.setFont(SANS, 7)
            self.setFillColor(colors.HexColor("#555555"))
            self.line(left, MARGIN_MM * mm + 2, right, MARGIN_MM * mm + 2)
            self.drawCentredString(width / 2, MARGIN_MM * mm - 8, clean(footer))
            self.restoreState()

    return NumberedCanvas
