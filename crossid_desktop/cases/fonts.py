"""Fonts for PDF reports, and user text made safe for reportlab paragraphs.

Reports embed TrueType fonts shipped in ``resources/fonts``: DejaVu Sans (Latin, Greek,
Cyrillic) and Noto Sans Devanagari. :func:`markup` escapes user text (names and notes are
never read as reportlab markup) and puts every run of characters in the first font that has
glyphs for them, so a name like "Dvořák प्रिया" draws each part in a font that covers it.

Characters no bundled font can draw (emoji, CJK ideographs, other scripts) would come out as
empty boxes; :func:`markup` writes each run of them as their Unicode names in brackets instead,
a multi-person emoji (a ZWJ sequence) as one bracket: 👨‍👩‍👧 becomes "[man + woman + girl]",
🇫🇷 "[flag FR]", 中文 "[U+4E2D U+6587]". The PDF then holds those names, not the characters
(the case database keeps the text as typed).

Limitation: reportlab does not shape complex scripts. Devanagari is drawn one glyph per
character in logical order (no conjuncts, the vowel sign ि after its consonant instead of
before it), and Arabic and Hebrew letter by letter from left to right in the order typed
(Arabic letters unjoined); the characters themselves are embedded with their Unicode values,
so text extracted or copied from the PDF is the original text. A report holding such text
says so among its limitations (:func:`needs_shaping`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
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


#: the bundled fonts of scripts that need shaping, which reportlab does not do (see the module docstring)
_UNSHAPED_FONTS = frozenset({DEVANAGARI})


def needs_shaping(text: str) -> bool:
    """Whether ``text`` holds characters of a script the report draws without shaping (such as
    Devanagari) or that runs right to left (Arabic, Hebrew: drawn letter by letter, left to
    right, in the order typed)."""
    return any(unicodedata.bidirectional(char) in ("R", "AL") or font_for(char) in _UNSHAPED_FONTS for char in set(text) if ord(char) > 0x2FF)


def clean(text: object) -> str:
    """``text`` as a string without control characters (tab becomes a space)."""
    return _UNSAFE.sub("", str(text if text is not None else "")).replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n")


#: characters that only join or modify their neighbours: part of a run no font covers, never named
_JOINERS = frozenset({0x200D, 0xFE0E, 0xFE0F, 0x20E3}) | frozenset(range(0xE0020, 0xE0080))


def _drawable(code: int) -> bool:
    return any(code in covered for covered in _coverage())


def _names(run: str) -> str:
    """A run of characters no font covers, as ``[name + name]`` (flags as ``flag XX``, CJK
    ideographs and unnamed characters by their code point)."""
    codes = [ord(c) for c in run if ord(c) not in _JOINERS]
    words: list[str] = []
    while codes:
        code = codes.pop(0)
        if 0x1F1E6 <= code <= 0x1F1FF and codes and 0x1F1E6 <= codes[0] <= 0x1F1FF:  # two regional indicators: a flag
            words.append("flag " + chr(code - 0x1F1E6 + 65) + chr(codes.pop(0) - 0x1F1E6 + 65))
            continue
        name = unicodedata.name(chr(code), "")
        words.append(name.lower() if name and not name.startswith("CJK") else f"U+{code:04X}")
    joined = " + " if any(not w.startswith("U+") for w in words) else " "
    return "[" + joined.join(words) + "]" if words else ""


def spell_undrawable(text: str, drawable: Callable[[int], bool] | None = None) -> str:
    """``text`` with every run of characters no bundled font covers replaced by their names in
    brackets (see the module docstring); joiners and variation selectors outside such a run
    are left out when no font has them (they draw nothing). ``drawable``: which code points
    the target font draws (default: the bundled fonts'; e.g. ``lambda code: code < 256`` for a
    PDF standard font)."""
    drawable = drawable or _drawable
    out: list[str] = []
    run = ""
    for char in text:
        code = ord(char)
        undrawable = not (char in " \n" or drawable(code))
        if run and (code in _JOINERS or (undrawable and not _starts_new_emoji(run[-1], char))):
            run += char
            continue
        if run:
            out.append(_names(run))
            run = ""
        if undrawable and code not in _JOINERS:
            run = char
        elif not undrawable:
            out.append(char)
    if run:
        out.append(_names(run))
    return "".join(out)


def _starts_new_emoji(previous: str, char: str) -> bool:
    """Two pictographs side by side without a joiner are two emoji (a skin tone or the second
    letter of a flag belongs to the one before)."""
    pictographs = unicodedata.category(previous) == "So" and unicodedata.category(char) == "So"
    flag_letters = 0x1F1E6 <= ord(previous) <= 0x1F1FF and 0x1F1E6 <= ord(char) <= 0x1F1FF
    skin_tone = 0x1F3FB <= ord(char) <= 0x1F3FF
    return pictographs and not flag_letters and not skin_tone


#: a word this long is given line breaks every :data:`WORD_PIECE` characters (reportlab's own
#: splitting of a long word takes time growing with the square of its length)
_LONG_WORD = re.compile(r"\S{200,}")
WORD_PIECE = 80


def _broken_word(match: re.Match[str]) -> str:
    word = match.group(0)
    return "\n".join(word[i: i + WORD_PIECE] for i in range(0, len(word), WORD_PIECE))


def markup(text: object, *, max_chars: int | None = None) -> str:
    """Paragraph markup showing ``text`` literally: escaped, one font per script run,
    newlines as line breaks, characters no font has spelled out by name; cut to ``max_chars``
    with an ellipsis when given."""
    value = clean(text)
    if max_chars is not None and len(value) > max_chars:
        value = value[: max_chars - 1] + "…"
    value = _LONG_WORD.sub(_broken_word, spell_undrawable(value))
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
