"""Enrolment and 1:N search through the service the CLI and the GUI share, with real
(untrained) torch matchers and, on the real faces, dlib's pretrained face matcher."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from builders import save_untrained_matcher, write_photo

from crossid_desktop.cli import main
from crossid_desktop.errors import GalleryError, MatcherMismatchError, NoFaceFoundError
from crossid_desktop.gallery.enrol import enrol
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.preprocess import CENTRE_CROP_WARNING, FaceChoice
from crossid_desktop.matching.selection import MatcherCache, write_config
from crossid_desktop.search.query import guess_modality
from crossid_desktop.search.service import SearchService
from crossid_desktop.workspace import Workspace

#: the random pictures these tests search hold no face: their central square is searched
CENTRE = [FaceChoice(allow_centre_crop=True)]


@pytest.fixture
def gallery_folder(tmp_path: Path) -> Path:
    root = tmp_path / "gallery"
    for subject in range(12):
        for photo in range(2):
            write_photo(root / f"P{subject:03d}" / f"photo_{photo}.png", seed=subject * 10 + photo)
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.open(tmp_path / "ws")
    write_config(ws.root, "injured", str(save_untrained_matcher(tmp_path / "injured.pt", "injured")))
    write_config(ws.root, "xray", str(save_untrained_matcher(tmp_path / "skull.pt", "skull2face")))
    return ws


def test_enrol_then_search_ranks_the_identical_photo_first(workspace: Workspace, gallery_folder: Path) -> None:
    cache = MatcherCache()
    report = enrol(workspace, gallery_folder, matchers=cache.configured(workspace.root), allow_centre_crop=True)
    assert (report.added, report.skipped_duplicates, report.failures) == (24, 0, ())
    assert set(report.embedded.values()) == {24}
    service = SearchService(workspace, matchers=cache)
    query = gallery_folder / "P007" / "photo_1.png"
    result = service.search([query], modality=QueryModality.INJURED_FACE, top_k=5, choices=CENTRE)
    assert [c.rank for c in result.candidates] == [1, 2, 3, 4, 5]
    best = result.candidates[0]
    assert best.subject_id == "P007" and Path(best.image_path).name == "photo_1.png"
    assert best.distance == pytest.approx(0.0, abs=1e-3) and best.confidence == pytest.approx(1.0, abs=1e-3)
    distances = [c.distance for c in result.candidates]
    assert distances == sorted(distances)
    assert len({c.subject_id for c in result.candidates}) == 5  # subjects, not photos
    assert result.gallery_subjects == 12 and result.gallery_images == 24
    # ranking photos returns both photos of a subject when they are nearest
    photos = service.search([query], modality=QueryModality.INJURED_FACE, top_k=24, rank_by="image", choices=CENTRE)
    assert len(photos.candidates) == 24 and photos.candidates[0].image_id == best.image_id


def test_subject_distance_is_the_best_photo_against_brute_force(workspace: Workspace, gallery_folder: Path) -> None:
    cache = MatcherCache()
    enrol(workspace, gallery_folder, matchers=cache.configured(workspace.root), allow_centre_crop=True)
    matcher = cache.for_role(workspace.root, "injured")
    from crossid_desktop.imaging.io import load_image

    query = load_image(gallery_folder / "P003" / "photo_0.png")
    q = matcher.encode_query([query], QueryModality.INJURED_FACE, choices=CENTRE)[0]
    store = GalleryStore(workspace.db_path)
    ids, vectors = store.embeddings(matcher.fingerprint)
    subject_of = {r.image_id: r.subject_id for r in store.images()}
    store.close()
    expected: dict[str, float] = {}
    for image_id, vector in zip(ids, vectors):  # plain loop: min distance per subject
        d = float(np.sqrt(((q.astype(np.float64) - vector) ** 2).sum()))
        expected[subject_of[int(image_id)]] = min(d, expected.get(subject_of[int(image_id)], np.inf))
    ranking = sorted(expected.items(), key=lambda kv: kv[1])[:10]
    result = SearchService(workspace, matchers=cache).search([query], modality=QueryModality.INJURED_FACE, top_k=10, exact=True, choices=CENTRE)
    assert [c.subject_id for c in result.candidates] == [s for s, _ in ranking]
    assert [c.distance for c in result.candidates] == pytest.approx([d for _, d in ranking], abs=1e-5)
    assert [c.confidence for c in result.candidates] == pytest.approx([np.exp(-d * d) for _, d in ranking], abs=1e-6)


def test_reimport_is_a_no_op_and_removal_removes_from_search(workspace: Workspace, gallery_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workspace", str(workspace.root)]
    assert main([*ws, "enroll", str(gallery_folder), "--centre-crop"]) == 0
    assert main([*ws, "enroll", str(gallery_folder), "--centre-crop"]) == 0
    out = capsys.readouterr().out
    assert "added 0 photos" in out and "skipped 24 already enrolled" in out
    assert main([*ws, "gallery", "remove", "P007"]) == 0
    capsys.readouterr()
    assert main([*ws, "search", str(gallery_folder / "P007" / "photo_1.png"), "--modality", "injured", "--top-k", "11", "--centre-crop", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    subjects = [c["subject_id"] for c in result["candidates"]]
    assert "P007" not in subjects and len(subjects) == 11
    assert result["query"]["sha256"] and result["matcher_fingerprint"]
    assert [c["rank"] for c in result["candidates"]] == list(range(1, 12))
    assert main([*ws, "gallery", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert len(listing["subjects"]) == 11 and all(i["matches_db"] for i in listing["indexes"])


def test_csv_manifest_and_failures_are_reported(workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "flat"
    write_photo(folder / "a.png", 1)
    write_photo(folder / "b.png", 2)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with open(folder / "manifest.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "subject_id", "name", "view"])
        writer.writerows([["a.png", "A1", "Łukasz Dvořák", "front"], ["b.png", "B2", "Ñúñez", "front"], ["broken.jpg", "C3", "C", "front"]])
    assert main(["--workspace", str(workspace.root), "enroll", str(folder / "manifest.csv"), "--centre-crop"]) == 0
    out = capsys.readouterr().out
    assert "added 2 photos" in out and "1 failed" in out and "broken.jpg" in out
    store = GalleryStore(workspace.db_path)
    assert {s.name for s in store.subjects()} == {"Łukasz Dvořák", "Ñúñez"}
    store.close()


def test_user_errors(workspace: Workspace, gallery_folder: Path, tmp_path: Path) -> None:
    service = SearchService(workspace)
    query = gallery_folder / "P001" / "photo_0.png"
    with pytest.raises(GalleryError, match="empty"):
        service.search([query], modality=QueryModality.INJURED_FACE)
    cache = MatcherCache()
    enrol(workspace, gallery_folder, matchers=[cache.for_role(workspace.root, "injured")], allow_centre_crop=True)
    # the X-ray matcher has embedded nothing: a clear sentence, never a silent empty result
    import cv2

    xray = tmp_path / "xray.png"  # grey blocks: edges enough to pass as an X-ray
    cv2.imwrite(str(xray), cv2.resize(np.random.default_rng(1).integers(0, 256, (20, 20), dtype=np.uint8), (160, 160), interpolation=cv2.INTER_NEAREST))
    with pytest.raises(MatcherMismatchError, match="no embeddings"):
        SearchService(workspace, matchers=cache).search([xray], modality=QueryModality.XRAY_FRONT)
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    result = subprocess.run(
        [sys.executable, "-m", "crossid_desktop", "--workspace", str(workspace.root), "search", str(bad)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr and "bad.png" in result.stderr
    store = GalleryStore(workspace.db_path)
    assert store.counts().images == 24  # nothing lost
    store.close()


def test_guess_modality() -> None:
    from crossid_desktop.imaging.io import ImageMeta, LoadedImage

    def loaded(pixels: np.ndarray) -> LoadedImage:
        h, w = pixels.shape[:2]
        meta = ImageMeta("PNG", w, h, 1 if pixels.ndim == 2 else 3, 8)
        return LoadedImage(pixels, "0" * 64, None, meta)

    yy, xx = np.mgrid[0:128, 0:128]
    symmetric = (255 * np.exp(-((xx - 64) ** 2 + (yy - 60) ** 2) / 900)).astype(np.uint8)
    assert guess_modality(loaded(symmetric)) is QueryModality.XRAY_FRONT
    lateral = (255 * np.exp(-((xx - 30) ** 2 + (yy - 60) ** 2) / 400)).astype(np.uint8)
    assert guess_modality(loaded(lateral)) is QueryModality.XRAY_SIDE
    colour = np.zeros((64, 64, 3), np.uint8)
    colour[..., 0], colour[..., 1], colour[..., 2] = 200, 150, 120
    assert guess_modality(loaded(colour)) is QueryModality.INJURED_FACE


@pytest.mark.slow
def test_dlib_matcher_finds_real_people(tmp_path: Path, shared_data: Path) -> None:
    """Rank-1 on real LFW faces: the first photo of each person enrolled, a later one searched."""
    people = sorted(p for p in (shared_data / "faces" / "lfw_dev").iterdir() if len(list(p.glob("*.jpg"))) >= 3)[:25]
    gallery = tmp_path / "lfw_gallery"
    probes = []
    for person in people:
        photos = sorted(person.glob("*.jpg"))
        (gallery / person.name).mkdir(parents=True)
        (gallery / person.name / photos[0].name).write_bytes(photos[0].read_bytes())
        probes.append((person.name, photos[2]))
    ws = Workspace.open(tmp_path / "ws")
    write_config(ws.root, "injured", "dlib")
    cache = MatcherCache()
    report = enrol(ws, gallery, matchers=[cache.for_role(ws.root, "injured")])
    assert report.added == len(people)
    service = SearchService(ws, matchers=cache)
    largest = [FaceChoice(face=1)]  # some LFW photos show several people: the largest face is the one named
    hits = sum(service.search([probe], modality=QueryModality.INJURED_FACE, top_k=5, choices=largest).candidates[0].subject_id == name for name, probe in probes)
    assert hits / len(probes) >= 0.9  # measured 25/25 on this subset


@pytest.fixture
def xray_workspace(tmp_path: Path) -> tuple[Workspace, Path]:
    """A tiny synthetic cohort: faces enrolled, X-rays kept as queries, an untrained skull matcher."""
    from crossid_desktop.synth.cohort import CohortConfig, generate_cohort

    cohort = generate_cohort(tmp_path / "cohort", CohortConfig(n_subjects=6, seed=5, image_size=96, extra_gallery_photos=1, injured_per_subject=0))
    gallery = tmp_path / "faces"
    for subject in cohort.subject_ids:
        for photo in (cohort.s2f_root / subject).glob("face_*.png"):
            (gallery / subject).mkdir(parents=True, exist_ok=True)
            (gallery / subject / photo.name).write_bytes(photo.read_bytes())
    ws = Workspace.open(tmp_path / "ws")
    write_config(ws.root, "xray", str(save_untrained_matcher(tmp_path / "skull.pt", "skull2face")))
    write_config(ws.root, "injured", str(save_untrained_matcher(tmp_path / "injured.pt", "injured")))
    enrol(ws, gallery, matchers=MatcherCache().configured(ws.root), allow_centre_crop=True)
    return ws, cohort.s2f_root


def test_frontal_and_lateral_pair_is_fused_whatever_the_order(xray_workspace: tuple[Workspace, Path]) -> None:
    workspace, s2f = xray_workspace
    front, side = s2f / "S0003" / "xray_front.png", s2f / "S0003" / "xray_side.png"
    cache = MatcherCache()
    service = SearchService(workspace, matchers=cache)
    one = service.search([front, side], top_k=6, exact=True)
    other = service.search([side, front], top_k=6, exact=True)
    assert [q.modality for q in one.queries] == ["xray_front", "xray_side"]
    assert [q.modality for q in other.queries] == ["xray_side", "xray_front"]
    assert [c.subject_id for c in one.candidates] == [c.subject_id for c in other.candidates]
    assert [c.distance for c in one.candidates] == pytest.approx([c.distance for c in other.candidates], abs=1e-6)
    # fused distance = mean over the two views of each view's nearest photo (plain loop)
    from crossid_desktop.imaging.io import load_image

    matcher = cache.for_role(workspace.root, "xray")
    q_front = matcher.encode_query([load_image(front)], QueryModality.XRAY_FRONT)[0].astype(np.float64)
    q_side = matcher.encode_query([load_image(side)], QueryModality.XRAY_SIDE)[0].astype(np.float64)
    store = GalleryStore(workspace.db_path)
    ids, vectors = store.embeddings(matcher.fingerprint)
    subject_of = {r.image_id: r.subject_id for r in store.images()}
    store.close()
    best: dict[str, list[float]] = {}
    for image_id, vector in zip(ids, vectors):
        d = [float(np.linalg.norm(q - vector)) for q in (q_front, q_side)]
        current = best.setdefault(subject_of[int(image_id)], [np.inf, np.inf])
        best[subject_of[int(image_id)]] = [min(current[0], d[0]), min(current[1], d[1])]
    expected = sorted(((s, (a + b) / 2) for s, (a, b) in best.items()), key=lambda kv: kv[1])
    assert [c.subject_id for c in one.candidates] == [s for s, _ in expected]
    assert [c.distance for c in one.candidates] == pytest.approx([d for _, d in expected], abs=1e-5)
    assert all(c.likelihood_ratio is None for c in one.candidates)  # no LR for a fused statistic
    # the examiner's per-image views win over the guess
    corrected = service.search([front, side], modality=[QueryModality.XRAY_SIDE, QueryModality.XRAY_FRONT], top_k=6, exact=True)
    assert [q.modality for q in corrected.queries] == ["xray_side", "xray_front"]


def test_calibrated_matcher_shows_likelihood_ratios(workspace: Workspace, gallery_folder: Path, tmp_path: Path) -> None:
    from crossid_desktop.evaluation.calibration import fit_calibration, write_calibration
    from crossid_desktop.matching.calibration import score_from_distance, verbal_scale

    rng = np.random.default_rng(0)
    calibration = fit_calibration(score_from_distance(rng.normal(0.3, 0.1, 200)), score_from_distance(rng.normal(0.9, 0.15, 2000)))
    write_calibration(tmp_path / "injured.pt", calibration)
    cache = MatcherCache()
    enrol(workspace, gallery_folder, matchers=cache.configured(workspace.root), allow_centre_crop=True)
    result = SearchService(workspace, matchers=cache).search([gallery_folder / "P002" / "photo_0.png"], modality=QueryModality.INJURED_FACE, top_k=6, choices=CENTRE)
    lrs = [c.likelihood_ratio for c in result.candidates]
    assert all(lr is not None and lr > 0 for lr in lrs)
    assert lrs == sorted(lrs, reverse=True)  # nearer faces, larger likelihood ratios
    for c in result.candidates:  # independent: the calibration applied to the shown distance
        assert c.likelihood_ratio == pytest.approx(float(calibration.likelihood_ratio(score_from_distance(np.array([c.distance])))[0]), rel=1e-9)
        assert c.verbal_scale == verbal_scale(c.likelihood_ratio)


def test_reenrolment_without_names_keeps_names(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "named"
    write_photo(folder / "a.png", 1)
    with open(folder / "manifest.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["path", "subject_id", "name", "view"], ["a.png", "X1", "Ana Núñez", "front"]])
    enrol(workspace, folder / "manifest.csv", matchers=[], allow_centre_crop=True)
    write_photo(tmp_path / "plain" / "X1" / "b.png", 2)
    report = enrol(workspace, tmp_path / "plain", matchers=[], allow_centre_crop=True)
    assert report.added == 1
    store = GalleryStore(workspace.db_path)
    assert store.subject("X1").name == "Ana Núñez" and store.subject("X1").n_images == 2
    store.close()


def test_demo_never_clears_a_folder_it_did_not_make(tmp_path: Path) -> None:
    from crossid_desktop.demo import DemoFolderError, build_demo

    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "letter.txt").write_text("keep me")
    with pytest.raises(DemoFolderError, match="not made by the demo"):
        build_demo(folder)
    assert (folder / "letter.txt").read_text() == "keep me"


def test_default_matchers_of_a_new_workspace(tmp_path: Path) -> None:
    from crossid_desktop.matching.selection import read_config
    from crossid_desktop.paths import resource_path

    config = read_config(Workspace.open(tmp_path / "fresh").root)
    # real photos: dlib's pretrained network as the real-photo benchmark chose to prepare it (the
    # bundled head was trained on synthetic faces); a card alone, loaded as dlib with its recipe:
    # flips, the bundled segmenter (the very weights measured) and the occlusion transplant
    assert config["injured"] == "bundled:injured_real"
    matcher = MatcherCache().get(config["injured"])
    recipe = matcher.recipe
    assert matcher.name == "dlib-injured-real" and recipe is not None and recipe.flip and recipe.segmenter == "bundled" and recipe.completion == "none"
    assert recipe.transplant_k == 20 and recipe.transplant_score == "mean" and matcher.unreliable_regions().sha256 == recipe.segmenter_sha256
    assert recipe.transplant_scope == "photos" and recipe.transplant_fusion == "min+centroid"
    assert matcher.calibration is not None and matcher.model_card()["metrics"]["held_out_calibration"]["cllr"] < 0.5
    assert ("xray" in config) == resource_path("models", "skull2face.pt").is_file()
    if resource_path("models", "craniofacial.npz").is_file() and resource_path("models", "skull2face.pt").is_file():
        assert config["xray"] == "default-xray"  # the craniofacial matcher fused with the Siamese network


def test_gallery_list_reports_a_missing_index_and_rebuild_repairs_it(workspace: Workspace, gallery_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workspace", str(workspace.root)]
    assert main([*ws, "enroll", str(gallery_folder), "--centre-crop"]) == 0
    for path in workspace.indexes_dir.iterdir():
        path.unlink()
    capsys.readouterr()
    assert main([*ws, "gallery", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert len(listing["indexes"]) == 2
    assert all(not i["matches_db"] and not i["exists"] for i in listing["indexes"])
    assert not any(workspace.indexes_dir.iterdir())  # listing repairs nothing
    assert main([*ws, "gallery", "rebuild-index"]) == 0
    assert "24 vectors" in capsys.readouterr().out
    assert main([*ws, "gallery", "list", "--json"]) == 0
    assert all(i["matches_db"] and i["exists"] and i["count"] == 24 for i in json.loads(capsys.readouterr().out)["indexes"])


def test_a_photo_without_a_face_is_refused_unless_a_centre_crop_is_asked_for(workspace: Workspace, gallery_folder: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cache = MatcherCache()
    enrol(workspace, gallery_folder, matchers=cache.configured(workspace.root), allow_centre_crop=True)
    service = SearchService(workspace, matchers=cache)
    query = gallery_folder / "P004" / "photo_0.png"
    with pytest.raises(NoFaceFoundError, match="centre crop"):
        service.search([query], modality=QueryModality.INJURED_FACE)
    result = service.search([query], modality=QueryModality.INJURED_FACE, choices=CENTRE)
    assert result.warnings == (CENTRE_CROP_WARNING,) and result.queries[0].face["alignment"] == "centre-crop"
    assert result.queries[0].face["number"] is None and result.queries[0].face["found"] == 0
    ws = ["--workspace", str(workspace.root)]
    assert main([*ws, "search", str(query), "--modality", "injured"]) != 0
    assert "No face was found" in capsys.readouterr().err
    assert main([*ws, "search", str(query), "--modality", "injured", "--centre-crop", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == [CENTRE_CROP_WARNING]
    assert main([*ws, "search", str(query), "--modality", "injured", "--centre-crop"]) == 0
    assert capsys.readouterr().out.count("WARNING: No face was found") == 2  # above and below the list


def test_refusals_and_warnings_reach_the_command_line(xray_workspace: tuple[Workspace, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Guessed views and small X-rays are warned about on screen and in --json; the same file
    twice, two laterals of two people, a 1x1 image and a gradient are refused in one sentence."""
    import cv2

    workspace, s2f = xray_workspace
    ws = ["--workspace", str(workspace.root)]
    front, side = s2f / "S0003" / "xray_front.png", s2f / "S0003" / "xray_side.png"
    assert main([*ws, "search", str(front), str(side), "--json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert any("(frontal) was guessed" in w for w in warnings) and any("(lateral) was guessed" in w for w in warnings)
    assert any("96x96 pixels" in w for w in warnings)  # the cohort's X-rays are small
    assert main([*ws, "search", str(front), str(side), "--modality", "xray-front", "--modality", "xray-side"]) == 0
    out = capsys.readouterr().out
    assert "WARNING:" in out and "was guessed" not in out  # the views were stated; the size still warned
    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((1, 1), np.uint8))
    cv2.imwrite(str(tmp_path / "gradient.png"), np.tile(np.arange(256, dtype=np.uint8), (256, 1)))
    (tmp_path / "copy.png").write_bytes(front.read_bytes())
    refusals = {
        "same image": [str(front), str(tmp_path / "copy.png")],
        "2 lateral": [str(side), str(s2f / "S0004" / "xray_side.png")],
        "only 1x1 pixels": [str(tmp_path / "one.png"), "--modality", "xray"],
        "no edges or structure": [str(tmp_path / "gradient.png"), "--modality", "xray-side"],
    }
    for expected, args in refusals.items():
        assert main([*ws, "search", *args]) == 2, expected
        err = capsys.readouterr().err.strip()
        assert expected in err and "Traceback" not in err and len(err.splitlines()) == 1, err
