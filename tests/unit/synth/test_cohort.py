"""The synthetic cohort: determinism, layouts, and a real identity signal shared by X-ray and photo.

The identity test measures the images themselves, never the parameters: the face width at
cheek level from the frontal photo's skin pixels (in units of the eye distance, which the
canonical framing fixes), and the bizygomatic width over the distance between the orbit
centres from the bone of the clean frontal X-ray.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from crossid_desktop.anatomy.landmarks import landmark_names
from crossid_desktop.errors import Cancelled, DatasetError
from crossid_desktop.imaging.canonical import CANONICAL
from crossid_desktop.synth.cohort import CohortConfig, generate_cohort
from crossid_desktop.synth.face import render_face_front
from crossid_desktop.synth.params import draw_nuisance, draw_subject
from crossid_desktop.synth.skull import FIELD_OF_VIEW_MM, render_xray_front

SIZE = 96


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cohort")
    generate_cohort(root, CohortConfig(n_subjects=4, seed=5, image_size=SIZE))
    return root


def test_same_seed_gives_same_bytes_and_another_seed_differs(cohort: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    other = tmp_path / "other"
    generate_cohort(again, CohortConfig(n_subjects=4, seed=5, image_size=SIZE))
    generate_cohort(other, CohortConfig(n_subjects=4, seed=6, image_size=SIZE))
    first, second, third = _digests(cohort), _digests(again), _digests(other)
    assert first == second
    assert not any(name.endswith(".tmp") for name in first)
    shared = set(first) & set(third)
    images = [name for name in shared if name.startswith("s2f/") and name.endswith(".png")]
    assert images and all(first[name] != third[name] for name in images)


def test_a_person_does_not_depend_on_the_cohort_size(cohort: Path, tmp_path: Path) -> None:
    generate_cohort(tmp_path, CohortConfig(n_subjects=2, seed=5, image_size=SIZE))
    for name in ("xray_side.png", "face_front_3.png"):
        assert (tmp_path / "s2f" / "S0002" / name).read_bytes() == (cohort / "s2f" / "S0002" / name).read_bytes()


def test_layout_has_every_expected_file(cohort: Path) -> None:
    with (cohort / "s2f" / "subjects.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["subject_id"] for row in rows] == ["S0001", "S0002", "S0003", "S0004"]
    assert all(row["sex"] in {"F", "M"} and 18 <= int(row["age"]) <= 80 and row["name"] for row in rows)
    assert (cohort / "if" / "subjects.csv").read_bytes() == (cohort / "s2f" / "subjects.csv").read_bytes()
    expected = {"xray_front", "xray_side", "xray_front_clean", "xray_side_clean", "face_front", "face_side", "face_front_2", "face_front_3"}
    for row in rows:
        folder = cohort / "s2f" / row["subject_id"]
        assert {p.stem for p in folder.glob("*.png")} == expected
        xray = cv2.imread(str(folder / "xray_side.png"), cv2.IMREAD_UNCHANGED)
        photo = cv2.imread(str(folder / "face_front.png"), cv2.IMREAD_UNCHANGED)
        assert xray.shape == (SIZE, SIZE) and xray.dtype == np.uint8
        assert photo.shape == (SIZE, SIZE, 3)
        normal = sorted(p.name for p in (cohort / "if" / row["subject_id"] / "normal").glob("*.png"))
        assert normal == ["face_front.png", "face_front_2.png", "face_front_3.png"]
        injured = sorted((cohort / "if" / row["subject_id"] / "injured").glob("*.png"))
        assert len(injured) == 3
        assert all(p.name.startswith(f"injured_{k + 1:02d}_") for k, p in enumerate(injured))


def test_params_json_records_parameters_landmarks_and_injuries(cohort: Path) -> None:
    params = json.loads((cohort / "params.json").read_text())
    assert params["seed"] == 5 and params["generator_version"]
    subject = params["subjects"][0]
    assert {"skull", "tissue", "appearance", "images", "injuries"} <= set(subject)
    assert 100 < subject["skull"]["bizygomatic_width"] < 160
    assert all(0.5 < v < 30 for v in subject["tissue"].values())
    # the recorded eye centres lie at the canonical template, up to the small pose nuisance
    marks = subject["images"]["face_front"]["landmarks"]
    template = CANONICAL.points(SIZE)
    assert np.allclose(marks["pupil_right"], template[0], atol=0.06 * SIZE)
    assert np.allclose(marks["pupil_left"], template[1], atol=0.06 * SIZE)
    injured_files = {p.name for p in (cohort / "if" / subject["subject_id"] / "injured").glob("*.png")}
    for injury in subject["injuries"]:
        assert injury["file"] in injured_files
        assert all(kind in injury["file"] and region in injury["file"] for kind, region in zip(injury["kinds"], injury["regions"]))


def test_params_json_names_every_landmark_of_every_image(cohort: Path) -> None:
    params = json.loads((cohort / "params.json").read_text())
    assert params["landmark_table"] == "crossid_desktop.anatomy.landmarks"
    for subject in params["subjects"]:
        assert set(subject["landmarks_mm"]) == {"xray-front", "xray-side", "face-side"}
        for view, marks in subject["landmarks_mm"].items():
            assert set(marks) == set(landmark_names(view))
        for name, image in subject["images"].items():
            assert set(image["landmarks"]) == set(landmark_names(image["view"])), name
            assert all(len(xy) == 2 and all(np.isfinite(xy)) for xy in image["landmarks"].values())
        assert subject["images"]["xray_side_clean"]["landmarks"] == subject["images"]["xray_side"]["landmarks"]
        # the points lie on or near the image (a tightly framed photo may cut the chin)
        inside = [0 <= x < SIZE and 0 <= y < SIZE for image in subject["images"].values() for x, y in image["landmarks"].values()]
        assert np.mean(inside) > 0.9


def test_dataset_readers_accept_the_cohort(cohort: Path) -> None:
    skull_faces = importlib.import_module("crossid_desktop.datasets.skull_faces")
    injured_faces = importlib.import_module("crossid_desktop.datasets.injured_faces")
    s2f = skull_faces.read_skull_faces(cohort / "s2f")
    assert [s.subject_id for s in s2f.subjects] == ["S0001", "S0002", "S0003", "S0004"]
    assert all(s.xray_front_clean is not None and len(s.faces["front"]) == 3 for s in s2f.subjects)
    injured = injured_faces.read_injured_faces(cohort / "if")
    assert all(len(s.normal) == 3 and len(s.injured) == 3 for s in injured.subjects)


def test_clean_and_hazy_xrays_differ_only_where_soft_tissue_lies(cohort: Path) -> None:
    for view in ("front", "side"):
        hazy = cv2.imread(str(cohort / "s2f" / "S0001" / f"xray_{view}.png"), cv2.IMREAD_GRAYSCALE).astype(int)
        clean = cv2.imread(str(cohort / "s2f" / "S0001" / f"xray_{view}_clean.png"), cv2.IMREAD_GRAYSCALE).astype(int)
        changed = np.abs(hazy - clean) > 2
        # soft tissue only adds attenuation: never darker anywhere
        assert (hazy >= clean - 1).all()
        # nothing changes in the air around the head (dark in the hazy view, away from its edge)
        air = cv2.GaussianBlur(hazy.astype(np.float32), (0, 0), 2.0) < 20
        air = cv2.erode(air.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        assert air.mean() > 0.05
        assert not changed[air].any()
        assert 0.15 < changed.mean() < 0.9
        # what changed is one connected silhouette, not scattered noise
        count, labels, stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8))
        assert stats[1:, cv2.CC_STAT_AREA].max() > 0.9 * changed.sum()


def test_cancel_and_bad_configs(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        generate_cohort(tmp_path, CohortConfig(n_subjects=2, seed=1, image_size=SIZE), cancel=stop)
    with pytest.raises(DatasetError):
        generate_cohort(tmp_path, CohortConfig(n_subjects=0, seed=1))
    with pytest.raises(DatasetError):
        generate_cohort(tmp_path, CohortConfig(n_subjects=1, seed=1, image_size=16))
    target = tmp_path / "a_file"
    target.write_text("x")
    with pytest.raises(DatasetError):
        generate_cohort(target, CohortConfig(n_subjects=1, seed=1, image_size=SIZE))


# --- the identity signal ------------------------------------------------------------------


def _face_width_in_eye_distances(photo: np.ndarray) -> tuple[float, np.ndarray]:
    """Width of the run of skin-coloured pixels through the face centre at cheek level, over
    the canonical eye distance; and the median cheek colour (RGB)."""
    size = photo.shape[0]
    rgb = photo.astype(np.float32)
    total = rgb.sum(axis=2) + 1e-3
    eye_y = (CANONICAL.right_eye[1] + CANONICAL.left_eye[1]) / 2 * size
    d = CANONICAL.eye_distance * size
    cx = size / 2
    cheeks = [(int(cx - 0.55 * d), int(eye_y + 0.45 * d)), (int(cx + 0.55 * d), int(eye_y + 0.45 * d))]
    reference = np.median(np.concatenate([rgb[y - 3:y + 4, x - 3:x + 4].reshape(-1, 3) for x, y in cheeks]), axis=0)
    chroma_distance = np.abs(rgb[..., :2] / total[..., None] - reference[:2] / reference.sum()).max(axis=2)
    brightness = total / reference.sum()
    skin = (chroma_distance < 0.025) & (brightness > 0.3) & (brightness < 1.6)
    widths = []
    for row in range(int(eye_y + 0.18 * d), int(eye_y + 0.26 * d) + 1):
        line = skin[row]
        left = right = int(cx)
        while left > 3 and line[left - 3:left].any():  # gaps under 3 px (noise) do not end the run
            left -= 1
        while right < size - 4 and line[right + 1:right + 4].any():
            right += 1
        widths.append(right - left)
    return float(np.median(widths)) / d, reference


def _bizygomatic_over_orbit_distance(xray: np.ndarray) -> float:
    """From a clean frontal radiograph (pixel spacing known: FIELD_OF_VIEW_MM across):
    the widest bone row near the zygomatic arches over the distance between the orbit
    centres (centroids of the dark orbit interiors)."""
    size = xray.shape[0]
    mm = size / FIELD_OF_VIEW_MM
    image = cv2.GaussianBlur(xray.astype(np.float32), (0, 0), 1.0)
    bone = cv2.morphologyEx((image > 40).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    top = int(np.flatnonzero(bone.any(axis=1))[0])  # the vertex
    widths = []
    for row in range(int(top + 115 * mm), int(top + 140 * mm)):
        columns = np.flatnonzero(bone[row])
        widths.append(columns[-1] - columns[0] + 1)
    r0, r1 = int(top + 88 * mm), int(top + 135 * mm)
    columns = np.flatnonzero(bone[r0:r1].any(axis=0))
    midline = (columns[0] + columns[-1]) / 2
    smooth = cv2.GaussianBlur(image, (0, 0), 2 * mm)
    centres = []
    for side in (-1, 1):
        lo, hi = sorted((int(midline + side * 14 * mm), int(midline + side * 55 * mm)))
        window = smooth[r0:r1, lo:hi]
        dark = (window < np.percentile(window, 50)).astype(np.uint8)
        _, _, stats, centroids = cv2.connectedComponentsWithStats(dark)
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        centres.append(lo + centroids[largest][0])
    return max(widths) / (centres[1] - centres[0])


@pytest.fixture(scope="module")
def measurements() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    faces, skulls, skins = [], [], []
    for index in range(40):
        subject = draw_subject(21, index)
        rng = np.random.default_rng(index)
        photo = render_face_front(subject, draw_nuisance(rng), 256)
        _, clean = render_xray_front(subject, draw_nuisance(rng, max_angle=3.0, max_shift=0.015, max_scale=0.02), 256)
        width, skin = _face_width_in_eye_distances(photo)
        faces.append(width)
        skins.append(skin.mean())
        skulls.append(_bizygomatic_over_orbit_distance(clean))
    return np.asarray(faces), np.asarray(skulls), np.asarray(skins)


def test_face_width_in_the_photo_follows_the_skull_in_the_xray(measurements: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    faces, skulls, _ = measurements
    assert np.corrcoef(faces, skulls)[0, 1] > 0.6
    rng = np.random.default_rng(0)
    shuffled = [abs(np.corrcoef(faces, skulls[rng.permutation(len(skulls))])[0, 1]) for _ in range(50)]
    assert np.mean(shuffled) < 0.2


def test_skin_colour_does_not_follow_the_skull(measurements: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    _, skulls, skins = measurements
    assert np.std(skins) > 10  # skin tones do vary
    assert abs(np.corrcoef(skins, skulls)[0, 1]) < 0.35


def test_cli_writes_a_cohort_and_reports_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from crossid_desktop.cli import main

    assert main(["synth", "--subjects", "2", "--seed", "3", "--out", str(tmp_path), "--image-size", "64", "--injured", "1"]) == 0
    assert (tmp_path / "s2f" / "S0002" / "xray_front_clean.png").exists()
    assert len(list((tmp_path / "if" / "S0001" / "injured").glob("injured_01_*.png"))) == 1
    assert main(["synth", "--subjects", "0", "--out", str(tmp_path)]) == 2
    assert "at least one subject" in capsys.readouterr().err
