"""The craniofacial search end to end on a simulated world: landmarks stored with the gallery's
photos, first-stage vectors in the index, the exact stage, verdicts and the people not assessed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from craniofacial_world import craniofacial_workspace

from crossid_desktop.errors import MatcherMismatchError
from crossid_desktop.gallery.face_landmarks import face_landmarks
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.imaging.io import ImageMeta, LoadedImage
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.craniofacial import matcher as matcher_module
from crossid_desktop.matching.craniofacial.assess import QueryContext
from crossid_desktop.matching.craniofacial.points import Landmarks
from crossid_desktop.matching.landmarks.service import LandmarkResult
from crossid_desktop.search.service import SearchService, ratio_score
from crossid_desktop.search.xray_overlay import candidate_overlay


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory):
    return craniofacial_workspace(tmp_path_factory.mktemp("cf"))


def _xray() -> LoadedImage:
    """Grey blocks: structure enough to pass the X-ray checks (the landmarks are given or stubbed)."""
    pixels = np.kron(np.random.default_rng(0).integers(0, 256, (20, 20)), np.ones((8, 8))).astype(np.uint8)
    return LoadedImage(pixels, "0" * 64, None, ImageMeta("PNG", 160, 160, 1, 8))


def test_the_true_person_ranks_first_and_is_consistent(scene) -> None:
    world, workspace, cache, people = scene
    service = SearchService(workspace, matchers=cache)
    found = 0
    for person in people[:10]:
        if person.subject_id == "P03":
            continue
        result = service.search([_xray()], modality=QueryModality.XRAY_FRONT, top_k=5, landmarks=[person.skulls[world.pair.skull_view]])
        top = result.candidates[0]
        found += top.subject_id == person.subject_id
        own = next(c for c in result.candidates if c.subject_id == person.subject_id)
        assert own.craniofacial["status"] == "consistent"
        front = own.craniofacial["views"]["front"]  # the record is keyed by the X-ray's view (the report reads it so)
        assert front["status"] == "consistent" and front["unit"] == "mm" and front["photos_compared"] >= 1
        assert own.likelihood_ratio > 1.0 and own.verbal_scale
        assert [c.rank for c in result.candidates] == list(range(1, len(result.candidates) + 1))
        lrs = [c.likelihood_ratio for c in result.candidates]
        assert lrs == sorted(lrs, reverse=True)
    assert found >= 8
    assert result.craniofacial["queries"][0]["unit"] == "mm"


def test_unmeasured_people_are_set_apart_with_the_reason(scene) -> None:
    world, workspace, cache, people = scene
    result = SearchService(workspace, matchers=cache).search([_xray()], modality=QueryModality.XRAY_FRONT, top_k=30,
                                                            landmarks=[people[3].skulls[world.pair.skull_view]])
    assert "P03" not in {c.subject_id for c in result.candidates}
    apart = {entry["subject_id"]: entry["reasons"] for entry in result.craniofacial["not_assessed"]}
    assert any("No frontal face" in reason for reason in apart["P03"])
    assert len(result.candidates) == 29


def test_a_query_with_too_few_landmarks_is_refused(scene) -> None:
    world, workspace, cache, people = scene
    skull = people[0].skulls[world.pair.skull_view]
    xy = skull.xy.copy()
    xy[:16] = np.nan
    sparse = Landmarks(skull.view, skull.names, xy, skull.sd, "test")
    with pytest.raises(MatcherMismatchError, match="could not be assessed"):
        SearchService(workspace, matchers=cache).search([_xray()], modality=QueryModality.XRAY_FRONT, landmarks=[sparse])


def test_stored_landmarks_round_trip(scene) -> None:
    _, workspace, cache, _ = scene
    matcher = cache.for_role(workspace.root, "xray")
    with GalleryStore(workspace.db_path) as store:
        marks = face_landmarks(store, matcher.fingerprint)
    assert len(marks) == 60
    assert sum(1 for m in marks.values() if m.failure) == 2


def test_candidate_overlay_and_its_refusal(scene) -> None:
    world, workspace, cache, people = scene
    matcher = cache.for_role(workspace.root, "xray")
    skull = people[1].skulls[world.pair.skull_view]
    made = candidate_overlay(workspace, matcher, _xray(), QueryModality.XRAY_FRONT, "P01", landmarks=skull)
    assert made.problem is None and made.verdict.status == "consistent"
    assert len(made.table) == len(world.pair.face_names) and all(row.unit == "mm" for row in made.table)
    picture = made.figure(scale=2)
    assert picture.shape == (16, 16, 3) and picture.dtype == np.uint8
    refused = candidate_overlay(workspace, matcher, _xray(), QueryModality.XRAY_FRONT, "P03", landmarks=skull)
    assert refused.overlay is None and "No frontal face" in refused.problem


def test_an_x_ray_the_detector_refuses_is_said(scene, monkeypatch: pytest.MonkeyPatch) -> None:
    _, workspace, cache, _ = scene
    refused = LandmarkResult(None, "0" * 64, "xray-front", (), warnings=("The image does not look like a frontal skull X-ray.",), refused=True,
                             model={"name": "xray-landmarks-front"})
    monkeypatch.setattr(matcher_module, "find_landmarks", lambda image, view: refused)
    with pytest.raises(MatcherMismatchError, match="could not be assessed: The image does not look like a frontal skull X-ray"):
        SearchService(workspace, matchers=cache).search([_xray()], modality=QueryModality.XRAY_FRONT)


def test_the_search_reads_only_the_photos_it_ranks(scene, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole gallery's records are never read by a search (it scales with the shortlist)."""
    world, workspace, cache, people = scene

    def whole_gallery(*args, **kwargs):
        raise AssertionError("the search read every record of the gallery")

    monkeypatch.setattr(GalleryStore, "images", whole_gallery)
    monkeypatch.setattr(GalleryStore, "subjects", whole_gallery)
    result = SearchService(workspace, matchers=cache).search([_xray()], modality=QueryModality.XRAY_FRONT, top_k=5,
                                                            landmarks=[people[5].skulls[world.pair.skull_view]])
    assert result.candidates[0].subject_id == "P05" and result.candidates[0].name == "Person 5"
    assert result.candidates[0].image_path.startswith("/photos/P05_")


def test_each_persons_evidence_is_their_photos_assessed_one_by_one(scene) -> None:
    """The batched exact stage gives each person the log of the mean likelihood ratio of their
    photos, each photo registered on its own (QueryContext.assess), and shows the best of them."""
    world, workspace, cache, people = scene
    matcher = cache.for_role(workspace.root, "xray")
    skull = people[7].skulls[world.pair.skull_view]
    result = SearchService(workspace, matchers=cache).search([_xray()], modality=QueryModality.XRAY_FRONT, top_k=8, landmarks=[skull])
    model = matcher.model.views["front"]
    context = QueryContext(model, matcher.predict(skull))
    with GalleryStore(workspace.db_path) as store:
        marks = face_landmarks(store, matcher.fingerprint)
        for candidate in result.candidates:
            photos = {r.image_id: marks[r.image_id] for r in store.images(candidate.subject_id)}
            fits = {i: context.assess(m) for i, m in photos.items()}
            front = candidate.craniofacial["views"]["front"]
            llrs = np.array([f.llr for f in fits.values()])
            assert front["llr"] == pytest.approx(llrs.max() + math.log(np.mean(np.exp(llrs - llrs.max()))), rel=1e-6, abs=1e-6)
            assert front["photo"] == max(fits, key=lambda i: fits[i].llr) == candidate.image_id


def test_an_x_ray_candidates_score_is_its_ratio_on_a_0_to_1_scale(scene) -> None:
    """The score shown on the cards falls with the rank, as the likelihood ratio that orders the list."""
    world, workspace, cache, people = scene
    result = SearchService(workspace, matchers=cache).search([_xray()], modality=QueryModality.XRAY_FRONT, top_k=12,
                                                            landmarks=[people[9].skulls[world.pair.skull_view]])
    scores = [c.confidence for c in result.candidates]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    for c in result.candidates:
        assert c.confidence == pytest.approx(c.likelihood_ratio / (1.0 + c.likelihood_ratio), rel=1e-9)
    assert ratio_score(800.0) == 1.0 and ratio_score(-800.0) == pytest.approx(0.0, abs=1e-300) and ratio_score(0.0) == 0.5


def test_a_misplaced_skull_point_is_set_aside_and_said(scene) -> None:
    world, workspace, cache, people = scene
    skull = people[1].skulls[world.pair.skull_view]
    xy = skull.xy.copy()
    width = float(np.nanmax(xy[:, 0]) - np.nanmin(xy[:, 0]))
    xy[0] += (0.3 * width, 0.3 * width)
    wrong = Landmarks(skull.view, skull.names, xy, skull.sd, "test")
    result = SearchService(workspace, matchers=cache).search([_xray()], modality=QueryModality.XRAY_FRONT, top_k=5, landmarks=[wrong])
    assert result.candidates[0].subject_id == "P01"  # the rest of the skull still finds its person
    query = result.to_dict()["craniofacial"]["queries"][0]
    assert query["problem"] is None and query["set_aside"] == [skull.names[0]] and query["imputed"] == []
    point = skull.names[0].replace("_", " ")
    assert any(f"frontal X-ray the detector's skull point {point} did not fit" in w for w in result.to_dict()["warnings"])
    made = candidate_overlay(workspace, cache.for_role(workspace.root, "xray"), _xray(), QueryModality.XRAY_FRONT, "P01", landmarks=wrong)
    assert made.overlay is not None and not made.overlay.reliable
    assert f"the detected skull landmark {point} did not fit the others and was estimated from them" in made.overlay.note


def test_the_landmark_detectors_warnings_reach_the_result_but_its_low_confidence_list(scene) -> None:
    world, workspace, cache, people = scene
    skull = people[2].skulls[world.pair.skull_view]
    said = ("The vertex found does not fit the arrangement of the other points, which put it near (120, -3), outside the image: it is reported as missing.",
            "2 landmark(s) found with low confidence: nasion, menton.")
    service = SearchService(workspace, matchers=cache)
    detected = Landmarks(skull.view, skull.names, skull.xy, skull.sd, "test", warnings=said)
    warnings = service.search([_xray()], modality=QueryModality.XRAY_FRONT, top_k=3, landmarks=[detected]).warnings
    assert f"Frontal X-ray landmarks: {said[0]}" in warnings
    assert not any("low confidence" in w for w in warnings)
    moved = Landmarks(skull.view, skull.names, skull.xy, skull.sd, "test", warnings=said, corrected=frozenset({skull.names[0]}))
    after = service.search([_xray()], modality=QueryModality.XRAY_FRONT, top_k=3, landmarks=[moved]).warnings
    assert f"Frontal X-ray landmarks, as detected before the examiner's corrections: {said[0]}" in after


def test_a_candidate_within_tolerance_is_excluded_by_the_likelihood_ratio_bound(scene, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a calibrated fusion and a likelihood-ratio bound, a person whose views are within
    tolerance but whose craniofacial ratio lies below the bound is marked inconsistent on that
    ground (its record says so, and names the least fitting landmarks); the others keep their decision."""
    from dataclasses import replace

    from crossid_desktop.matching.craniofacial.fusion import Fusion, FusionRule

    world, workspace, cache, people = scene
    matcher = cache.for_role(workspace.root, "xray")
    skull = people[4].skulls[world.pair.skull_view]
    service = SearchService(workspace, matchers=cache)
    wide = replace(matcher.model.tolerance, factor=1e4)  # every face of this world within tolerance: only the bound can exclude
    monkeypatch.setattr(matcher, "model", replace(matcher.model, tolerance=wide))
    before = service.search([_xray()], modality=QueryModality.XRAY_FRONT, top_k=12, landmarks=[skull]).candidates
    within = [c for c in before if c.craniofacial["status"] == "consistent"]
    llrs = sorted(c.craniofacial["views"]["front"]["llr"] for c in within)
    assert len(llrs) >= 3
    weight = 10.0 / abs(llrs[0])  # a calibration that maps the least fitting person to ln LR -10
    limit = math.exp(weight * (llrs[0] + llrs[1]) / 2.0)  # between the two least fitting people within tolerance
    rule = FusionRule(("cf_front",), (weight,), 0.0, (-1e3,), (1e3,), 10**9, 10**9)
    monkeypatch.setattr(type(matcher), "fusion", property(lambda self: Fusion({"cf_front": rule})))
    monkeypatch.setattr(matcher, "model", replace(matcher.model, tolerance=replace(wide, lr_limit=limit)))
    searched = service.search([_xray()], modality=QueryModality.XRAY_FRONT, top_k=12, landmarks=[skull])
    assert searched.craniofacial["lr_limit"] == pytest.approx(limit)  # the bound the search applied is recorded with it
    after = {c.subject_id: c for c in searched.candidates}
    lowest = min(within, key=lambda c: c.craniofacial["views"]["front"]["llr"])
    record = after[lowest.subject_id].craniofacial
    assert record["status"] == "inconsistent" and record["basis"] == "likelihood ratio"
    assert record["views"]["front"]["status"] == "consistent" and len(record["excluding"]) == 3
    assert "times as probable if the face is someone else's" in record["statement"]
    assert "the farthest (frontal X-ray and frontal photo): " in record["statement"]
    with GalleryStore(workspace.db_path) as store:  # the landmarks named: the three farthest of the view's best photo
        best = face_landmarks(store, matcher.fingerprint)[record["views"]["front"]["photo"]]
    fit = QueryContext(matcher.model.views["front"], matcher.predict(skull)).assess(best)
    assert record["excluding"] == [fit.names[i] for i in np.argsort(-fit.point_misfit, kind="stable")[:3]]
    for c in before:
        if c.subject_id != lowest.subject_id:
            assert after[c.subject_id].craniofacial["status"] == c.craniofacial["status"]
    assert after[people[4].subject_id].craniofacial["status"] == "consistent" and after[people[4].subject_id].craniofacial["basis"] is None
