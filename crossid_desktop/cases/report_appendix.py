"""Long user text in the report: shortened in table cells, printed whole in an appendix.

A table row cannot be taller than a page, so a 10,000-character name or a 20,000-character
note in a cell would stop the report from being laid out at all. Every piece of user text a
table shows goes through :meth:`Appendix.cell`: text up to :data:`CELL_LIMIT` characters is shown
as it is; longer text is cut there, marked, and printed whole at the end of the report
(:func:`appendix_section`), in paragraphs that wrap (long words included) and run across pages.
"""

from __future__ import annotations

from typing import Any

from crossid_desktop.cases import report_strings as strings
from crossid_desktop.cases.fonts import clean, markup

#: characters of user text a table cell shows before the text moves to the appendix
CELL_LIMIT = 600
#: characters per paragraph of an appendix item (paragraphs of this size lay out quickly)
CHUNK = 2_000


class Appendix:
    """The full texts shortened in the report's tables, in order of first appearance."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []  # (what the text is, the text)

    def cell(self, text: object, what: str, limit: int = CELL_LIMIT) -> str:
        """Paragraph markup for a table cell: ``text`` itself, or its first ``limit``
        characters and a pointer to the appendix item holding all of it."""
        value = clean(text)
        if len(value) <= limit:
            return markup(value)
        number = next((n for n, (_, seen) in enumerate(self.items, start=1) if seen == value), 0)
        if not number:
            self.items.append((what, value))
            number = len(self.items)
        return markup(value[: limit - 1] + "…") + " <i>" + strings.APPENDIX_POINTER.format(chars=len(value), number=number) + "</i>"


def appendix_section(c: Any, s: dict[str, Any]) -> list[Any]:
    """"Appendix: texts shortened above", each item whole (``c`` a ``ReportContent``)."""
    from reportlab.platypus import Paragraph  # reportlab loads only when a PDF is written

    if not c.appendix.items:
        return []
    out: list[Any] = [Paragraph(strings.APPENDIX_HEADING, s["h2"]),
                      Paragraph(strings.APPENDIX_INTRO, s["intro"])]
    for number, (what, text) in enumerate(c.appendix.items, start=1):
        out.append(Paragraph(markup(strings.APPENDIX_ITEM.format(number=number, what=what, chars=len(text))), s["h3"]))
        out += [Paragraph(markup(chunk), s["body"]) for chunk in chunks(text)]
    return out


def chunks(text: str, size: int = CHUNK) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, cut after a line break or a space
    near the end of each piece where there is one (a word longer than that is cut anywhere)."""
    pieces: list[str] = []
    while len(text) > size:
        cut = max(text.rfind("\n", size // 2, size), text.rfind(" ", size // 2, size))
        cut = cut + 1 if cut > 0 else size
        pieces.append(text[:cut].rstrip("\n"))
        text = text[cut:]
    return [*pieces, text] if text else pieces
