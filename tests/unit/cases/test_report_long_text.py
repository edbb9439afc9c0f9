"""A report always exports, whatever the text: a 10,000-character candidate name, a 5,000-character
note without a space, ~21,000 characters of prose, the longest notes a case accepts, an empty
environment; text too long for a table is shortened there and printed whole in the appendix;
characters no bundled font can draw (multi-person emoji, CJK) are spelled out by name instead
of drawn as empty boxes."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.case import MAX_TEXT
from crossid_desktop.cases.fonts import needs_shaping, spell_undrawable
from crossid_desktop.cases.report import export_report
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult
from crossid_desktop.workspace import Workspace

LONG_NAME = ("Maximiliana " * 900)[:10_000]
NO_SPACE = "W" * 5_000
PROSE = " ".join(f"word{n % 97}" for n in range(3_500))[:21_000]


def _case(tmp_path: Path, names: dict[str, str], environment: dict[str, str] | None = None) -> tuple[Workspace, CaseService, str]:
    ws = Workspace.open(tmp_path / "ws")
    candidates = tuple(Candidate(r, s, n, r, f"/g/{r}.png", 0.1 * r, math.exp(-((0.1 * r) ** 2))) for r, (s, n) in enumerate(names.items(), start=1))
    query = QueryInfo(str(tmp_path / "missing-query.png"), "ab" * 32, "injured_face", {"format": "PNG", "width": 10, "height": 10, "bit_depth": 8, "dicom": {}})
    result = SearchResult((query,), "m", "f" * 64, len(names), len(names), "d" * 64, "subject", candidates, {})
    cases = CaseService(ws)
    number = cases.create_case(title="long text").case_number
    cases.record_search(number, result, actor="Ana", environment={"python": "3.11"} if environment is None else environment)
    return ws, cases, number


def _flat(pdf: Path) -> tuple[int, str]:
    """Page count and the text without white space and without the pages' header and footer
    (so a text running across pages reads as one)."""
    reader = PdfReader(pdf)
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))
    text = re.sub(r"CrossIDDesktopcasereport[\w-]+Page\d+of\d+", "", text)
    return len(reader.pages), re.sub(r"Investigativelead,notanidentification\.Generated[\d-]+[\d:]+UTC", "", text)


@pytest.mark.parametrize(
    "what",
    ["a 10,000-character candidate name", "a 5,000-character note without a space", "21,000 characters of prose in a mark's note", "no environment recorded"],
)
def test_the_issue_s_texts_export(tmp_path: Path, what: str) -> None:
    names = {"S1": "Ana", "S2": LONG_NAME if "name" in what else "Bo", "S3": "Cy"}
    ws, cases, number = _case(tmp_path, names, environment={} if "environment" in what else None)
    note = {"a 5,000-character note without a space": NO_SPACE, "21,000 characters of prose in a mark's note": PROSE}.get(what, "")
    if note:
        cases.mark(number, "S2", "of_interest", note, actor="Ana")
    pages, text = _flat(export_report(ws, number, tmp_path / "r.pdf"))
    full = LONG_NAME if "name" in what else note
    if full:
        assert "AppendixA1" in text.replace(":", "").replace(" ", "") or "appendixitemA1" in text
        assert re.sub(r"\s+", "", full) in text  # the whole text, once in the appendix
    assert pages < 40


@pytest.mark.slow  # ~150 pages laid out and read back
def test_the_longest_texts_a_case_accepts_export(tmp_path: Path) -> None:
    """Every text at its limit at once: notes, known identity, marks' notes; names and ids
    far longer than any table cell."""
    names = {f"S{n}-" + "x" * 300: LONG_NAME[: 2_000 + n] for n in range(3)}
    ws, cases, number = _case(tmp_path, names)
    cases.update(number, title="T" * 500, examiner="E" * 500, agency="A " * 250)
    cases.set_notes(number, ("Notes. " * 20_000)[:MAX_TEXT], actor="Ana")
    cases.set_known_identity(number, next(iter(names)), name="N" * 500, note=PROSE, actor="Ana")
    for subject in names:
        cases.mark(number, subject, "of_interest", NO_SPACE * 20, actor="a" * 300)
    pages, text = _flat(export_report(ws, number, tmp_path / "max.pdf"))
    assert pages > 10 and NO_SPACE * 20 in text and re.sub(r"\s+", "", PROSE) in text


def test_multi_person_emoji_and_cjk_are_named_not_boxed(tmp_path: Path) -> None:
    ws, cases, number = _case(tmp_path, {"S1": "Family 👨\u200d👩\u200d👧 Li 中文", "S2": "Bo"})
    cases.set_notes(number, "Seen with 👍🏽 and 🇫🇷", actor="Ana")
    _, text = _flat(export_report(ws, number, tmp_path / "emoji.pdf"))
    assert "[man+woman+girl]" in text and "[U+4E2DU+6587]" in text
    assert "[thumbsupsign+emojimodifierfitzpatricktype-4]" in text and "[flagFR]" in text
    assert "👨" not in text and "\u25a1" not in text


def test_spelling_keeps_what_a_font_draws() -> None:
    for text in ("Dvořák", "प्रिया", "Ἀλέξανδρος Иванов", "★ € ₹", "a\u200db", "line\nbreak"):
        assert spell_undrawable(text) == text
    assert spell_undrawable("👨\u200d👩\u200d👧👍") == "[man + woman + girl][thumbs up sign]"  # two emoji, two brackets
    assert spell_undrawable("Zoë 李", drawable=lambda code: code < 256) == "Zoë [U+674E]"  # for a PDF standard font


def test_scripts_drawn_without_shaping_are_recognised() -> None:
    assert needs_shaping("Chandra प्रिया") and needs_shaping("\u0915")
    assert needs_shaping("عربي") and needs_shaping("שלום")  # right to left, drawn left to right
    assert not any(needs_shaping(t) for t in ("Dvořák", "Ἀλέξανδρος Иванов", "李小龍 👍", ""))


def test_search_warnings_are_stored_and_on_the_first_page(tmp_path: Path) -> None:
    ws, cases, number = _case(tmp_path, {"S1": "Ana", "S2": "Bo"})
    result = cases.get(number).latest_search.result.with_warnings("The view of q.png (lateral) was guessed from its left-right symmetry; check it.")
    cases.record_search(number, result, actor="Ana", environment={"python": "3"})
    assert cases.get(number).latest_search.result.warnings == result.warnings  # stored with the result
    reader = PdfReader(export_report(ws, number, tmp_path / "warned.pdf"))
    first = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    assert "Warnings about this search: The view of q.png (lateral) was guessed" in first
