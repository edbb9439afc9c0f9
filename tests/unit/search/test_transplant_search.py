"""The search re-ranks an injured face's nearest photos by the occlusion transplant when the
matcher's card asks for it: with the examiner's brush mask the nearest photos' distances
change and the others keep theirs; without a mask, or with a card that asks for no
transplant, the search is the plain one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.gallery.enrol import enrol
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.dlib_matcher import default_card
from crossid_desktop.matching.preprocess import FaceChoice
from crossid_desktop.matching.selection import MatcherCache, write_config
from crossid_desktop.search.service import SearchService
from crossid_desktop.workspace import Workspace


def _card(path: Path, k: int) -> Path:
    card = default_card().to_dict()
    card["name"] = f"dlib-transplant-{k}"
    card["preprocessing"]["gallery"]["flip"] = True
    card["preprocessing"]["query"]["injury_aware"] = {"segmenter": "none", "completion": "none", "robust_alignment": False, "flip": True, "transplant_k": k}
    path.write_text(json.dumps(card), encoding="utf-8")
    return path


def _distances(tmp_path: Path, shared_data: Path, k: int, brush: np.ndarray | None) -> dict[str, float]:
    people = sorted(p for p in (shared_data / "faces" / "lfw_dev").iterdir() if len(list(p.glob("*.jpg"))) >= 2)[:6]
    gallery = tmp_path / f"gallery{k}"
    for person in people:
        first = sorted(person.glob("*.jpg"))[0]
        (gallery / person.name).mkdir(parents=True, exist_ok=True)
        (gallery / person.name / first.name).write_bytes(first.read_bytes())
    ws = Workspace.open(tmp_path / f"ws{k}")
    write_config(ws.root, "injured", str(_card(tmp_path / f"card{k}.json", k)))
    cache = MatcherCache()
    enrol(ws, gallery, matchers=[cache.for_role(ws.root, "injured")])
    query = sorted(people[0].glob("*.jpg"))[1]
    with SearchService(ws, matchers=cache) as service:
        result = service.search([query], modality=QueryModality.INJURED_FACE, top_k=6, choices=[FaceChoice(face=1, ignore=brush)])
    return {c.subject_id: c.distance for c in result.candidates}


@pytest.mark.slow
def test_the_brush_mask_rescores_only_the_nearest_photos(tmp_path: Path, shared_data: Path) -> None:
    brush = np.zeros((256, 256), bool)
    brush[70:130, 60:130] = True  # over one eye of the aligned face
    plain = _distances(tmp_path / "a", shared_data, 0, brush)
    unmasked = _distances(tmp_path / "b", shared_data, 2, None)
    transplanted = _distances(tmp_path / "c", shared_data, 2, brush)
    assert unmasked == pytest.approx(plain)  # no mask: nothing to transplant
    nearest = sorted(plain, key=plain.get)[:2]
    assert all(abs(transplanted[s] - plain[s]) > 1e-4 for s in nearest)  # re-scored with their composites
    rest = [s for s in plain if s not in nearest]
    shifted = {s: transplanted[s] - plain[s] for s in rest}
    assert len(set(np.round(list(shifted.values()), 9))) == 1  # the others keep their order (at most one common shift)
    assert max(transplanted[s] for s in nearest) < min(transplanted[s] for s in rest)


@pytest.mark.slow
def test_a_person_of_two_photos_is_scored_by_the_fusion_formula(tmp_path: Path, shared_data: Path) -> None:
    """``min+centroid``: a person's distance is the mean of their best re-scored photo and
    their centroid distance, computed here from the matcher's descriptors of the composites made
    by hand; a person of one photo keeps that photo's score."""
    from crossid_desktop.gallery.enrol import decode_png
    from crossid_desktop.imaging.io import load_image
    from crossid_desktop.matching.transplant import composite

    people = sorted(p for p in (shared_data / "faces" / "lfw_dev").iterdir() if len(list(p.glob("*.jpg"))) >= 3)[:4]
    gallery = tmp_path / "gallery"
    for n, person in enumerate(people):
        (gallery / person.name).mkdir(parents=True)
        for photo in sorted(person.glob("*.jpg"))[:2 if n == 0 else 1]:
            (gallery / person.name / photo.name).write_bytes(photo.read_bytes())
    card = json.loads(_card(tmp_path / "card.json", 10).read_text())
    card["preprocessing"]["query"]["injury_aware"].update(transplant_fusion="min+centroid")
    (tmp_path / "card.json").write_text(json.dumps(card))
    ws = Workspace.open(tmp_path / "ws")
    write_config(ws.root, "injured", str(tmp_path / "card.json"))
    cache = MatcherCache()
    matcher = cache.for_role(ws.root, "injured")
    enrol(ws, gallery, matchers=[matcher])
    brush = np.zeros((256, 256), bool)
    brush[150:220, 70:190] = True  # over the mouth and jaw of the aligned face
    query, choice = sorted(people[0].glob("*.jpg"))[2], FaceChoice(face=1, ignore=brush)
    with SearchService(ws, matchers=cache) as service:
        result = service.search([query], modality=QueryModality.INJURED_FACE, top_k=4, choices=[choice])
        records = {s.name: service.store.images(s.name) for s in people}
        crops = {s: [decode_png(service.store.thumbnail(r.image_id)) for r in records[s]] for s in records}
    prepared = matcher.prepare(load_image(query), QueryModality.INJURED_FACE, choice)
    q = matcher.encode_prepared([prepared], QueryModality.INJURED_FACE)[0].astype(np.float64)
    expected = {}
    for subject, faces in crops.items():
        plain = matcher._embed(faces, flip=True).astype(np.float64)
        made = matcher._embed([composite(f, prepared.pixels, prepared.ignored, 2.0) for f in faces], flip=True).astype(np.float64)
        scores = [(np.linalg.norm(m - q) + np.linalg.norm(g - q)) / 2 for m, g in zip(made, plain)]
        centroid = (np.linalg.norm(made.mean(axis=0) - q) + np.linalg.norm(plain.mean(axis=0) - q)) / 2
        expected[subject] = (min(scores) + centroid) / 2 if len(faces) > 1 else scores[0]
    got = {c.subject_id: c.distance for c in result.candidates}
    assert set(got) == set(expected) and len(crops[people[0].name]) == 2
    for subject in expected:
        assert got[subject] == pytest.approx(expected[subject], rel=1e-4)
