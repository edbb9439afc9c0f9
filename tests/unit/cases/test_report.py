"""The PDF case report, read back with pypdf: what it says, in which order, on how many pages;
user text in any script and markup-looking text shown literally; refusal when the audit log is
broken; the CLI export paths."""

from __future__ import annotations

import math
import re
import sqlite3
from pathlib import Path

import pytest
from builders import write_photo
from pypdf import PdfReader

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.report import export_report
from crossid_desktop.cli import main
from crossid_desktop.errors import CaseError
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.matching.calibration import verbal_scale
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult
from crossid_desktop.workspace import Workspace

NAMES = {"P000": "Antonín Dvořák", "P001": "Łukasz <b>Bold</b> & Co", "P002": "Ñúñez </i>", "P003": "प्रिया Sharma", "P004": "Ἀλέξανδρος Иванов"}
NOTE = "Ear shape <para>similar</para> & chin </i> unbalanced; " + "X" * 180  # a 180-character word must wrap


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path, str]:
    """A gallery of 5 subjects (stored by hand, with their crops), a query photo, and a case
    holding a calibrated search result over them, with marks and notes."""
    import cv2

    from crossid_desktop.gallery.enrol import encode_png
    from crossid_desktop.imaging.io import sha256_of_file

    root = tmp_path_factory.mktemp("report")
    ws = Workspace.open(root / "ws")
    candidates = []
    with GalleryStore(ws.db_path) as store:
        for rank, (subject_id, name) in enumerate(NAMES.items(), start=1):
            photo = root / "gallery" / subject_id / "photo_0.png"
            write_photo(photo, seed=rank)
            store.upsert_subject(subject_id, name=name)
            crop = cv2.cvtColor(cv2.resize(cv2.imread(str(photo)), (256, 256)), cv2.COLOR_BGR2RGB)
            record = store.add_image(subject_id, path=photo, sha256=sha256_of_file(photo), view="front", width=160, height=160,
                                     thumbnail_png=encode_png(crop), alignment="centre-crop")
            distance = 0.2 * rank
            lr = 10.0 ** (3 - rank)  # 100, 10, 1, 0.1, 0.01
            candidates.append(Candidate(rank, subject_id, name, record.image_id, str(photo), distance, math.exp(-distance**2), lr, verbal_scale(lr)))
    query = root / "unknown.png"
    write_photo(query, seed=99)
    info = QueryInfo(str(query), sha256_of_file(query), "injured_face", {"format": "PNG", "width": 160, "height": 160, "bit_depth": 8, "dicom": {}})
    preprocessing = {"query": {"aligned_size": 256, "face_alignment": "canonical-5-point"}}
    result = SearchResult((info,), "test-matcher", "e" * 64, 5, 5, "d" * 64, "subject", tuple(candidates), preprocessing, {"total": 12.0})
    card = {"name": "test-matcher", "task": "injured", "backbone": "mobilenet_v3_small", "embedding_dim": 32, "training": {"data": "synthetic"},
            "metrics": {"validation": {"rank1": 0.5}}, "calibration": {"method": "logistic", "cllr": 0.4, "cllr_min": 0.3, "n_genuine": 10, "n_impostor": 90}}
    cases = CaseService(ws)
    number = cases.create_case(title="Unknown <b>female</b> & river", examiner="Łukasz Nowak", agency="Полиция").case_number
    cases.record_search(number, result, actor="Łukasz Nowak", matcher_card=card, environment={"python": "3.11", "torch": "2"})
    cases.mark(number, "P003", "of_interest", NOTE, actor="Łukasz Nowak")
    cases.mark(number, "P000", "excluded", "different nose", actor="Łukasz Nowak")
    cases.set_notes(number, "General: प्रिया seen <font name='x'>here</font>\nsecond line", actor="Łukasz Nowak")
    return ws, root, number


def _text(pdf: Path) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(pdf)
    return reader, [page.extract_text() for page in reader.pages]


def test_report_content_order_pages_and_metadata(built: tuple[Workspace, Path, str]) -> None:
    ws, root, number = built
    out = export_report(ws, number, root / "case.pdf")
    assert out == root / "case.pdf" and not [p for p in root.iterdir() if p.name.endswith(".tmp")]
    reader, pages = _text(out)
    text = "\n".join(pages)
    assert len(pages) >= 3
    for n, page in enumerate(pages, start=1):
        assert re.findall(r"Page (\d+) of (\d+)", page) == [(str(n), str(len(pages)))]
        assert number in page
    case = CaseService(ws).get(number)
    search = case.latest_search.result
    assert search.queries[0].sha256 in text
    table = text[text.index("4. Candidates"): text.index("Scores")]
    positions = [table.index(c.subject_id) for c in search.candidates]
    assert positions == sorted(positions) and len(search.candidates) == 5
    assert reader.metadata.title == f"CrossID case report {number}"
    assert reader.metadata.author == "Łukasz Nowak"
    assert "investigative lead" in reader.metadata.subject
    assert "not an identification" in text and "Sign-off" in text and "Reviewer" in text


def test_user_text_in_any_script_survives_and_markup_stays_literal(built: tuple[Workspace, Path, str]) -> None:
    ws, root, number = built
    _, pages = _text(export_report(ws, number, root / "scripts.pdf"))
    text = "\n".join(pages)
    flat = re.sub(r"\s+", "", text)  # wrapped lines joined
    for name in ("Dvořák", "Łukasz", "Ñúñez", "Ἀλέξανδρος", "Иванов", "Полиция"):
        assert name in text
    # reportlab does not shape Devanagari, but each character is embedded with its Unicode
    # value, so extraction gives back the typed string in logical order
    assert "प्रिया" in text
    for literal in ("<b>Bold</b>", "& Co", "</i>", "<para>similar</para>", "<font name='x'>here</font>", "Unknown <b>female</b> & river"):
        assert re.sub(r"\s+", "", literal) in flat, literal
    assert "X" * 180 in flat  # the long word is wrapped, not cut


def test_broken_audit_log_refuses_the_report(built: tuple[Workspace, Path, str], tmp_path: Path) -> None:
    ws, _, _ = built
    cases = CaseService(ws)
    number = cases.create_case(title="to tamper").case_number
    cases.set_notes(number, "a", actor="x")
    cases.set_notes(number, "b", actor="x")
    db = sqlite3.connect(ws.db_path)
    db.execute("UPDATE audit_log SET actor = 'y' WHERE case_number = ? AND seq = 2", (number,))
    db.commit()
    with pytest.raises(CaseError, match="does not verify"):
        export_report(ws, number, tmp_path / "no.pdf")
    assert not (tmp_path / "no.pdf").exists()


def test_calibrated_scores_and_comparison_are_shown(built: tuple[Workspace, Path, str]) -> None:
    ws, root, number = built
    _, pages = _text(export_report(ws, number, root / "lr.pdf"))
    text = "\n".join(pages)
    table = re.sub(r"\s+", " ", text[text.index("4. Candidates"): text.index("Scores")])
    assert "LR" in table and "Verbal scale" in table
    for lr in (100.0, 10.0, 1.0, 0.1, 0.01):  # the table's 3-significant-digit form, in rank order
        assert f"{lr:.3g}" in table
    assert "moderately strong support" in table or "moderate support" in table
    comparison = text[text.index("5. Candidate comparisons"): text.index("6. Examiner")]
    pages = re.findall(r"Rank (\d): (P\d+)", comparison)
    assert pages == [("1", "P000"), ("2", "P001"), ("3", "P002"), ("4", "P003")]  # the first three and the marked one, P004 not
    assert "प्रिया" in comparison and "10: moderate support for 'same person'" in re.sub(r"\s+", " ", comparison)
    assert "Cllr 0.400 (minimum 0.300)" in text and "logistic" in text
    assert "aligned to the canonical face crop" in text  # the preprocessed query was recomputed


def test_report_command_and_missing_case(built: tuple[Workspace, Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    ws, root, number = built
    args = ["--workspace", str(ws.root)]
    assert main([*args, "report", number, "-o", str(root / "cli.pdf")]) == 0
    assert (root / "cli.pdf").is_file() and "report written" in capsys.readouterr().out
    assert CaseService(ws).audit_log(number)[-1].action == "report_exported"
    assert main([*args, "report", "missing-case", "-o", str(root / "x.pdf")]) != 0
    assert "no case" in capsys.readouterr().err
    assert main([*args, "report", number, "-o", str(root / "no_folder" / "x.pdf")]) != 0
