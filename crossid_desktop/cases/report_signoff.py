"""The report's sign-off section: the declaration, what the digital signature covers (or that
the report is unsigned), and one box per role where the signature is drawn.

Each box is a flowable that records where it lands (page and rectangle) while the document is
laid out; :func:`~crossid_desktop.cases.report_embed.finish_pdf` puts a signature field there,
so a digital signature appears in the box, and a printed copy can be signed on paper in it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from crossid_desktop.cases import report_strings as text
from crossid_desktop.cases.fonts import SANS, SANS_BOLD, clean, markup, spell_undrawable
from crossid_desktop.cases.report_sections import para
from crossid_desktop.cases.signing import ROLES, SignaturePlan

BOX_HEIGHT = 84.0
#: heights (points) of the box's label band at the top and name band at the bottom
LABEL_BAND = 15.0
NAME_BAND = 16.0
#: characters of a signer's name the box's name line holds, at most
NAME_CHARS = 48
#: the name line's font size (points, the report's table cells') and the share of the box's
#: width it may fill (other scripts' glyphs are measured with the body font's widths)
NAME_SIZE = 8.0
NAME_FILL = 0.9


def statement(plan: SignaturePlan | None, file_name: str) -> list[str]:
    """The sentences about the digital signature: signed at export, or unsigned; then how to check."""
    if plan is None:
        first = text.UNSIGNED.format(audit=list(text.SECTIONS).index("audit") + 1)
    else:
        stamp = text.SIGNED_STAMP.format(tsa=plan.tsa) if plan.tsa else text.SIGNED_NO_STAMP
        first = text.SIGNED_AT_EXPORT.format(name=plan.name, role=text.SIGNATURE_BOX[plan.role].lower(), subject=plan.subject, issuer=plan.issuer, stamp=stamp)
    return [first, text.VERIFY_HINT.format(file=file_name)]


def signoff_section(c: Any, s: dict[str, Any]) -> list[Any]:
    """The sign-off section (``c`` a ``ReportContent``; its ``signature_boxes`` receive the boxes)."""
    from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle  # reportlab loads only when a PDF is written

    names = {"examiner": c.case.examiner, "reviewer": ""}
    if c.signature is not None:
        names[c.signature.role] = c.signature.name
    half = (c.width - 12) / 2
    boxes = [SignatureBox(role, para(markup(text.SIGNATURE_NAME.format(name=_one_line(names[role], half - 8))), s["cell"]), half, BOX_HEIGHT, c.signature_boxes)
             for role in ROLES]
    row = Table([boxes], colWidths=[half + 6] * 2)
    row.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 6)]))
    words = [para(markup(sentence), s["body"]) for sentence in statement(c.signature, c.file_name)]
    return [KeepTogether([para(text.heading("signoff"), s["h2"]), para(text.SIGNOFF_DECLARATION, s["body"]), *words, Spacer(1, 6), row])]


def _one_line(name: str, width: float) -> str:
    """A signer's name as the box's one line of ``width`` points holds it (the sign-off text
    has it whole), or a line to write on."""
    from reportlab.pdfbase.pdfmetrics import stringWidth  # reportlab loads only when a PDF is written

    value = " ".join(spell_undrawable(clean(name)).split())  # spelled first, so that the limit counts what is drawn
    if not value:
        return "_" * 24
    value = value if len(value) <= NAME_CHARS else value[: NAME_CHARS - 1] + "…"
    while stringWidth(text.SIGNATURE_NAME.format(name=value), SANS, NAME_SIZE) > NAME_FILL * width and len(value) > 1:
        value = value[:-2] + "…"
    return value


@lru_cache(maxsize=1)
def _box_class():
    from reportlab.lib import colors  # reportlab loads only when a PDF is written
    from reportlab.platypus import Flowable  # reportlab loads only when a PDF is written

    class _SignatureBox(Flowable):
        """A framed box for one role's signature that records where its signature goes: the
        area between the role's label and the signer's name."""

        def __init__(self, role: str, name: Any, width: float, height: float, found: dict[str, Any]) -> None:
            super().__init__()
            self.role, self.name, self.width, self.height, self.found = role, name, width, height, found

        def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
            return self.width, self.height

        def drawOn(self, canvas: Any, x: float, y: float, _sW: float = 0) -> None:  # noqa: N802 (reportlab's name)
            # a table draws its cells in its own coordinates: map the corners to the page's
            a, b, c, d, e, f = canvas._currentMatrix  # reportlab keeps the transformation here
            corners = [(a * px + c * py + e, b * px + d * py + f) for px, py in ((x + 3, y + NAME_BAND), (x + self.width - 3, y + self.height - LABEL_BAND))]
            self.found[self.role] = (canvas.getPageNumber() - 1, (*corners[0], *corners[1]))
            super().drawOn(canvas, x, y, _sW)

        def draw(self) -> None:
            canvas = self.canv
            canvas.saveState()
            canvas.setStrokeColor(colors.HexColor("#9aa5b1"))
            canvas.setLineWidth(0.6)
            canvas.rect(0, 0, self.width, self.height)
            canvas.setFont(SANS_BOLD, 8)
            canvas.drawString(4, self.height - 11, text.SIGNATURE_BOX[self.role])
            canvas.setFont(SANS, 6.5)
            canvas.setFillColor(colors.HexColor("#666666"))
            canvas.drawRightString(self.width - 4, self.height - 11, text.SIGNATURE_BOX_HINT)
            canvas.restoreState()
            _, height = self.name.wrap(self.width - 8, NAME_BAND)
            self.name.drawOn(canvas, 4, max(2.0, (NAME_BAND - height) / 2))

    return _SignatureBox


def SignatureBox(role: str, name: Any, width: float, height: float, found: dict[str, Any]) -> Any:  # noqa: N802 (a flowable's constructor)
    """A signature box flowable (the class is built on first use, so reportlab loads only then)."""
    return _box_class()(role, name, width, height, found)
