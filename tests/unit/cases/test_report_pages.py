"""The report a reader outside engineering gets, read back with pypdf: every section in order,
the method in words drawn from the model card, one comparison page per compared candidate
with the skull-face comparison (X-ray queries) or the parts of the face left out (injured
faces), the technical appendix instead of raw model-card keys, and the case record attached
to the PDF equal to the case as stored."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from report_builders import injured_case, xray_case

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.landmarks import CaseLandmarks
from crossid_desktop.cases.report import export_report
from crossid_desktop.cases.report_record import EMBEDDED_NAME, check_record, record_path_for, stored_rows
from crossid_desktop.cases.report_strings import SECTIONS


def _pages(pdf: Path) -> list[str]:
    return [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(pdf).pages]


@pytest.fixture(scope="module")
def xray(tmp_path_factory: pytest.TempPathFactory) -> tuple[CaseService, str, Path, list[str]]:
    root = tmp_path_factory.mktemp("xray_report")
    ws, number = xray_case(root)
    cases = CaseService(ws)
    cases.mark(number, "S0004", "of_interest", "Marked although ranked last.", actor="Łukasz Nowak")
    front = cases.get(number).latest_search.result.queries[0].sha256
    CaseLandmarks(cases).correct(number, front, "xray-front", "nasion", 96.0, 40.5, detected=(95.0, 44.0), actor="Łukasz Nowak")
    pdf = export_report(ws, number, root / "xray.pdf")
    return cases, number, pdf, _pages(pdf)


@pytest.fixture(scope="module")
def injured(tmp_path_factory: pytest.TempPathFactory) -> tuple[CaseService, str, Path, list[str]]:
    root = tmp_path_factory.mktemp("injured_report")
    ws, number = injured_case(root)
    pdf = export_report(ws, number, root / "injured.pdf")
    return CaseService(ws), number, pdf, _pages(pdf)


@pytest.mark.parametrize("which", ["xray", "injured"])
def test_every_section_in_order_and_no_raw_keys(which: str, request: pytest.FixtureRequest) -> None:
    _, _, _, pages = request.getfixturevalue(which)
    text = " ".join(pages)
    positions = [text.find(f"{n}. {title}") for n, title in enumerate(SECTIONS.values(), start=1)]
    assert -1 not in positions and positions == sorted(positions)
    for raw in ("config.amp", "test_fresh_cohort.figures", "soft_tissue.knee", "fused/map@20", "val_recall_at_1", "bit_depth", "bit depth"):
        assert raw not in text
    assert "without conjuncts or joined letters" in text  # a candidate's name is in Devanagari
    assert "File format PNG" in text and "Width 192 pixels" in text and "Bits per sample 8" in text  # the query image's properties, labelled
    assert "not digitally signed" in text


def test_landmarks_the_examiner_placed_are_named_with_their_query(xray: tuple) -> None:
    cases, number, _, pages = xray
    seq = next(e.seq for e in cases.audit_log(number) if e.action == "landmark_corrected")
    query_pages = " ".join(p for p in pages if "2. Query" in p or "Query 2" in p)
    assert query_pages.count(f"Landmarks corrected nasion (placed by the examiner; audit entries {seq})") == 1  # the frontal X-ray's only


def test_method_page_in_words_from_the_model_card(xray: tuple, injured: tuple) -> None:
    method = next(p for p in xray[3] if "3. How the search works" in p)
    assert "It was tested in 100 searches of 100 people it never saw in training (computer-generated people)" in method
    assert "first in 1 % of these searches and among the first 10 in 18 %" in method  # fused/recall@1, @10 of the card
    assert "random order would put the right person first in 1 % and among the first 10 in 9.7 %" in method
    assert "this matcher" in method and "random order" in method  # the chart's legend
    assert "What these figures do not cover" in method
    method = next(p for p in injured[3] if "3. How the search works" in p)
    assert "90 searches of 30 people" in method and "first in 84 %" in method and "Cllr" in method


def test_one_page_per_compared_candidate_with_its_scores(xray: tuple) -> None:
    _, _, _, pages = xray
    compared = [(n, re.search(r"Rank (\d): (S\d+)", p).groups()) for n, p in enumerate(pages) if re.match(r".{0,120}?Rank \d: S\d+", p)]
    assert [who for _, who in compared] == [("1", "S0001"), ("2", "S0002"), ("3", "S0003"), ("4", "S0004")]  # first three + the marked one
    assert len({n for n, _ in compared}) == 4  # each on a page of its own
    page = {who[1]: pages[n] for n, who in compared}
    assert "2 of 4 candidates listed, from a gallery of 4 people" in page["S0002"]
    assert "excluded, by Łukasz Nowak" in page["S0002"] and "Nose too long for the skull." in page["S0002"]
    assert "not given: several images were searched together" in page["S0001"]
    assert "Marked although ranked last." in page["S0004"]


def test_skull_face_comparison_shown_or_said_missing(xray: tuple) -> None:
    _, _, _, pages = xray
    page = {m.group(1): p for p in pages if (m := re.match(r".{0,120}?Rank \d: (S\d+)", p))}
    assert "Frontal X-ray: the face in this photograph is consistent with the skull" in page["S0001"]
    assert "Lateral X-ray: the face in this photograph is consistent" in page["S0001"]
    assert "pronasale: tip of the nose" in page["S0001"]  # the landmark table's words for it
    assert "not consistent with the skull: taken together, its landmarks lie further" in page["S0002"]
    assert "(the farthest: pronasale and stomion)" in page["S0002"]
    assert re.search(r"pronasale.{0,60}9\.8 6\.0 NO", page["S0002"])
    assert "could not be compared with the skull: the chin is hidden in the photo" in page["S0003"]
    assert "No skull-face overlay or landmark comparison was recorded with this search" in page["S0004"]


def test_parts_of_the_injured_face_left_out(injured: tuple) -> None:
    _, _, _, pages = injured
    compared = [p for p in pages if re.match(r".{0,120}?Rank \d: S\d+", p)]
    assert len(compared) == 3
    for page in compared:
        assert "were judged unreliable (found by the injury detector) and left out of the comparison" in page
        assert re.search(r"\(9\.\d % of the face\)", page)
    assert "Same scar on the chin; ears alike." in compared[2] and "of interest" in compared[2]


@pytest.mark.parametrize("which", ["xray", "injured"])
def test_attached_record_equals_the_case_record(which: str, request: pytest.FixtureRequest) -> None:
    cases, number, pdf, pages = request.getfixturevalue(which)
    (data,) = PdfReader(pdf).attachments[EMBEDDED_NAME]
    assert data == record_path_for(pdf).read_bytes()  # the copy beside the report is the same file
    record = json.loads(data)
    assert check_record(record) == ([], [])
    _, rows, entries = cases.snapshot(number)
    held = stored_rows(record)
    for table in ("case_searches", "case_marks"):
        assert held[table] == json.loads(json.dumps(rows[table]))
    exported = entries[-1]
    assert exported.action == "report_exported" and len(record["audit_log"]) == exported.seq - 1
    assert [e["hash"] for e in record["audit_log"]] == [e.hash for e in entries[:-1]]
    assert exported.details_dict()["record_sha256"] in " ".join(pages).replace(" ", "") or exported.details_dict()["record_sha256"][:40] in " ".join(pages)
    assert record["model_card"]["name"] == record["searches"][0]["matcher_card"]["name"] and "network" in record["model_card"]


def test_technical_appendix_is_a_labelled_table(xray: tuple) -> None:
    _, _, _, pages = xray
    appendix = next(p for p in pages if "10. Technical appendix" in p)
    for label in ("Matcher", "Version", "Fingerprint", "Weights SHA-256", "Training data", "Training command", "Test", "Calibration",
                  "Query preprocessing", "Gallery preprocessing", "Gallery and index", "Software", "Platform", "Attached case record"):
        assert label in appendix, label
    assert "skull2face-compact64-run700: task skull2face, backbone compact64, 64-number embedding" in appendix
    assert "700 people (synthetic, generator 1.0, seed 11); 595 for training, 105 for validation" in appendix
    assert "soft tissue (algorithm sts-1" in appendix and EMBEDDED_NAME in appendix


@pytest.mark.parametrize("name", ["Dr. Maria Keller", "李小龍 " * 12, "Ana-Maria Wolfeschlegelsteinhausenbergerdorff-Ødegård"])
def test_signature_box_name_is_one_line(name: str) -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from crossid_desktop.cases.fonts import SANS, register_fonts
    from crossid_desktop.cases.report_signoff import NAME_FILL, NAME_SIZE, _one_line

    register_fonts()
    line = _one_line(name, 230.0)
    assert stringWidth(f"Name: {line}", SANS, NAME_SIZE) <= NAME_FILL * 230.0
    assert line == name or line.endswith("…")
    assert _one_line("", 230.0) == "_" * 24  # a line to sign on paper


def test_a_landmark_table_longer_than_a_page_runs_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import report_builders

    # 70 landmarks per view: the 68-point face scheme and more, as the craniofacial matcher reports them
    names = tuple(f"jaw_{k:02d}" for k in range(1, 71))
    monkeypatch.setattr(report_builders, "LANDMARKS", names)
    ws, number = xray_case(tmp_path)
    pages = _pages(export_report(ws, number, tmp_path / "long.pdf"))
    text = " ".join(pages)
    assert all(f"jaw {k:02d}" in text or f"jaw_{k:02d}" in text for k in (1, 35, 70))


def test_the_candidates_table_says_what_orders_it(xray: tuple, injured: tuple) -> None:
    """A skull X-ray's list is ordered by the likelihood ratio of the skull-face comparison, a
    face's by the similarity: the table's introduction says which, and the score's scale."""
    listing = next(p for p in xray[3] if "strongest support first" in p)
    assert "LR / (1 + LR)" in listing and "most similar first" not in listing
    assert any("most similar first" in p and "exp(-d²)" in p for p in injured[3])
    assert not any("strongest support first" in p for p in injured[3])


def test_the_report_says_how_the_unreliable_parts_were_used() -> None:
    """The default injured matcher pastes the unreliable parts into its nearest photos (the
    occlusion transplant) rather than leaving them out: the report's words follow the recorded recipe."""
    import json

    from crossid_desktop.cases import report_strings as text
    from crossid_desktop.cases.report_candidates import transplant_k, transplant_words
    from crossid_desktop.paths import resource_path

    def card(name: str) -> dict:
        return json.loads(resource_path("models", f"{name}.json").read_text(encoding="utf-8"))

    real = card("injured_real")["preprocessing"]
    assert transplant_k(real) == 20
    assert transplant_k(card("injured")["preprocessing"]) == 0 and transplant_k({}) == 0
    words = text.INJURY_RECORDED_TRANSPLANT.format(share="9 %", source="found by the injury detector", targets=transplant_words(real))
    assert "20 nearest gallery photographs" in words and "left out" not in words
    assert "mean of their best such photograph's score and the distance to the average" in words  # the card's fusion, min+centroid
    subjects = {"query": {"injury_aware": {"transplant_k": 5, "transplant_scope": "subjects"}}}
    assert transplant_words(subjects).startswith("every gallery photograph of its 5 nearest people") and "A person's score" not in transplant_words(subjects)
