"""The report's skull-face comparison: overlay figures, correspondence tables and plain statements
for the top and marked candidates of a craniofacial search, with the examiner's adjustment."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from craniofacial_world import craniofacial_workspace
from pypdf import PdfReader

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.events import log_event
from crossid_desktop.cases.marks import Mark
from crossid_desktop.cases.report import export_report
from crossid_desktop.cases.report_craniofacial import landmark_note
from crossid_desktop.imaging.io import load_image
from crossid_desktop.imaging.writing import save_image
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.search.service import SearchService


@pytest.mark.slow
def test_report_shows_the_overlays_tables_and_statements(tmp_path: Path) -> None:
    world, workspace, cache, people = craniofacial_workspace(tmp_path)
    xray_path = tmp_path / "xray.png"
    save_image(xray_path, (np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8))
    person = people[5]
    result = SearchService(workspace, matchers=cache).search([load_image(xray_path)], modality=QueryModality.XRAY_FRONT, top_k=10,
                                                            landmarks=[person.skulls[world.pair.skull_view]])
    service = CaseService(workspace)
    case = service.create_case(title="skull", examiner="E. Xam")
    service.record_search(case.case_number, result)
    marked = result.candidates[-1].subject_id
    service.mark(case.case_number, marked, Mark.EXCLUDED, "checked")
    log_event(service, case.case_number, "overlay_adjusted", {"subject_id": result.candidates[0].subject_id, "view": "front",
                                                             "query_sha256": result.queries[0].sha256, "matrix": [[1.0, 0.0, 3.0], [0.0, 1.0, -2.0]]})
    out = export_report(workspace, case.case_number, tmp_path / "case.pdf")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(str(out)).pages).split())
    assert text.count("Skull and face compared") >= 4  # the comparison pages of the three top candidates and the marked one
    assert "moved the overlay by hand" in text
    assert "Off by (mm)" in text and "Allowed (mm)" in text
    assert "Frontal X-ray: skull landmarks from" in text
    assert result.craniofacial["lr_limit"] is None and "This search also marked a candidate inconsistent" not in text  # no bound: none explained
    assert any(x.craniofacial["status"] == "inconsistent" for x in result.candidates)  # excluded by the tolerance: said in the views, no overall line
    assert "Overall decision for this candidate" not in text and "see the overall decision below" not in text
    assert service.verify(case.case_number).ok
    # the candidate table says each candidate's consistency with the skull, in rank order
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(str(out)).pages]
    listing = next(p for p in pages if "Candidates" in p and "Skull:" in p).split("could not be compared.", 1)[1]
    listing = listing.split("Scores", 1)[0]
    shown = re.findall(r"\b(inconsistent|consistent|not assessable)\b", listing)
    assert shown == [x.craniofacial["status"] for x in result.candidates]


def test_the_landmarks_source_and_a_failed_x_ray_are_said() -> None:
    record = {"queries": [
        {"view": "front", "problem": None, "landmarks": {"source": "xray-landmarks-front", "corrected": ["nasion", "gnathion"]}},
        {"view": "side", "problem": "The landmark model for xray-side X-rays is not installed", "landmarks": None},
    ]}
    note = landmark_note(record)
    assert "Frontal X-ray: skull landmarks from xray-landmarks-front, 2 of them placed by the examiner." in note
    assert "Lateral X-ray: skull landmarks from nowhere. THE SKULL COULD NOT BE ASSESSED FROM THIS X-RAY: The landmark model" in note
    assert landmark_note({"queries": []}) == ""
    aside = landmark_note({"queries": [{"view": "front", "problem": None, "set_aside": ["euryon_left"], "landmarks": {"source": "xray-landmarks-front"}}]})
    assert aside == "Frontal X-ray: skull landmarks from xray-landmarks-front; left out as not fitting the others and estimated from them: euryon left."


@pytest.mark.slow
def test_a_candidate_excluded_by_the_likelihood_ratio_bound_is_said_under_the_views(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A person within tolerance in every view but below the craniofacial likelihood-ratio bound:
    the report's comparison says so for the X-rays together, in the recorded statement's words,
    and the candidate table marks them inconsistent; the views keep their own statements."""
    from dataclasses import replace

    from crossid_desktop.matching.craniofacial.fusion import Fusion, FusionRule

    world, workspace, cache, people = craniofacial_workspace(tmp_path)
    matcher = cache.for_role(workspace.root, "xray")
    wide = replace(matcher.model.tolerance, factor=1e4, lr_limit=1e-3)  # nobody beyond tolerance; the bound at ln LR -6.9
    monkeypatch.setattr(matcher, "model", replace(matcher.model, tolerance=wide))
    monkeypatch.setattr(type(matcher), "fusion", property(lambda self: Fusion({"cf_front": FusionRule(("cf_front",), (0.05,), 0.0, (-1e3,), (1e3,), 10**9, 10**9)})))
    xray_path = tmp_path / "xray.png"
    save_image(xray_path, (np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8))
    result = SearchService(workspace, matchers=cache).search([load_image(xray_path)], modality=QueryModality.XRAY_FRONT, top_k=3,
                                                            landmarks=[people[5].skulls[world.pair.skull_view]])
    excluded = [x for x in result.candidates if x.craniofacial["status"] == "inconsistent"]
    assert excluded and all(x.craniofacial["basis"] == "likelihood ratio" for x in excluded)
    assert all(x.craniofacial["views"]["front"]["status"] == "consistent" for x in result.candidates)
    service = CaseService(workspace)
    case = service.create_case(title="skull", examiner="E. Xam")
    service.record_search(case.case_number, result)
    out = export_report(workspace, case.case_number, tmp_path / "case.pdf")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(str(out)).pages).split())
    assert text.count("Overall decision for this candidate: The face is not consistent with the skull") == len(excluded)
    assert "times as probable if the face is someone else's" in text
    assert text.count("Frontal X-ray: the face in this photograph is consistent with the skull") >= len(result.candidates)
    assert text.count("This view alone is within what the skull allows: see the overall decision below.") == len(excluded)
    assert "more than 1,000 times as probable if the face is someone else's as if it belongs to the skull (a likelihood ratio from the landmarks alone" in text
