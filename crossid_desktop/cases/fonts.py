"""Fonts for PDF reports, and user text made safe for reportlab paragraphs.

Reports embed TrueType fonts shipped in ``resources/fonts``: DejaVu Sans (Latin, Greek,
Cyrillic) and Noto Sans Devanagari. :func:`markup` escapes user text (names and notes are
never read as reportlab markup) and puts every run of characters in the first font that has
glyphs for them, so a name like "Dvořák प्रिया" draws each part in a font that covers it.

Limitation: reportlab does not shape complex scripts. Devanagari is drawn one glyph per
character in logical order (no conjuncts, the vowel sign ि after its consonant instead of
before it); the characters themselves are embedded with their Unicode values, so text
extracted or copied from the PDF is the original text.
"""

from __future__ import annotations

import re
from functools import lru_cache
from xml.sax.saxutils import escape

from crossid_desktop.errors import CaseError
from crossid_desktop.paths import resource_path

SANS = "CrossID-Sans"
SANS_BOLD = "CrossID-Sans-Bold"
DEVANAGARI = "CrossID-Devanagari"
DEVANAGARI_BOLD = "CrossID-Devanagari-Bold"

#: (regular name, bold name, regular file, bold file), in order of preference
_FAMILIES = (
    (SANS, SANS_BOLD, "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    (DEVANAGARI, DEVANAGARI_BOLD, "NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf"),
)

#: characters that would break a PDF text string or a paragraph (C0/C1 controls but tab and
#: newline, lone surrogates, non-characters)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@lru_cache(maxsize=1)
def register_fonts() -> str:
    """Register the report fonts with reportlab once; returns the body font's name."""
    from reportlab.lib.fonts import addMapping  # reportlab loads only when a PDF is written
    from reportlab.pdfbase import pdfmetrics  # reportlab loads only when a PDF is written
    from reportlab.pdfbase.ttfonts import TTFError, TTFont  # reportlab loads only when a PDF is written


    for regular, bold, regular_file, bold_file in _FAMILIES:
        for name, file in ((regular, regular_file), (bold, bold_file)):
            path = resource_path("fonts", file)
            try:
                pdfmetrics.registerFont(TTFont(name, str(path)))
            except (OSError, TTFError) as error:
                raise CaseError(f"The report font {path} cannot be read ({error}); reinstall the application.") from error
        addMapping(regular, 0, 0, regular)
        addMapping(regular, 1, 0, bold)
        addMapping(regular, 0, 1, regular)
        addMapping(regular, 1, 1, bold)
    return SANS


@lru_cache(maxsize=1)
def _coverage() -> tuple[frozenset[int], ...]:
    """The code points each family's regular font has a glyph for."""
    from reportlab.pdfbase import pdfmetrics  # reportlab loads only when a PDF is written

    register_fonts()
    return tuple(frozenset(pdfmetrics.getFont(regular).face.charToGlyph) for regular, *_ in _FAMILIES)


def font_for(char: str) -> str:
    """Name of the first regular font covering ``char`` (the body font when none does)."""
    code = ord(char)
    for (regular, *_), covered in zip(_FAMILIES, _coverage()):
        if code in covered:
            return regular
    return SANS


def clean(text: object) -> str:
    """``text`` as a string without control characters (tab becomes a space)."""
    return _UNSAFE.sub("", str(text if text is not None else "")).replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n")


def markup(text: object, *, max_chars: int | None = None) -> str:
    """Paragraph markup showing ``text`` literally: escaped, one font per script run,
    newlines as line breaks; cut to ``max_chars`` with an ellipsis when given."""
    value = clean(text)
    if max_chars is not None and len(value) > max_chars:
        value = value[: max_chars - 1] + "…"
    parts: list[str] = []
    run, run_font = "", SANS
    for char in value:
        # spaces and joiners stay in the current run so a run of one script is not split
        font = run_font if char in " \u200c\u200d\n" else font_for(char)
        if font != run_font and run:
            parts.append(_wrap(run, run_font))
            run = ""
        run_font = font
        run += char
    if run:
        parts.append(_wrap(run, run_font))
    return "".join(parts)


def _wrap(run: str, font: str) -> str:
    body = escape(run).replace("\n", "<br/>")
    return body if font == SANS else f'<font name="{font}">{body}</font>'
