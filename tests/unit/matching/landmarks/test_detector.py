"""The bundled X-ray landmark models on images they never saw: a freshly generated synthetic
person (frontal and lateral, ground truth from the generator), a mirrored and a cropped copy,
things that are not skull X-rays, and one real cephalogram of the tuning part."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.errors import ModelError, NoFaceFoundError, UnsuitableImageError
from crossid_desktop.imaging.io import load_image
from crossid_desktop.matching.landmarks.service import bundled_model, find_landmarks, xray_detector

pytestmark = pytest.mark.skipif(not bundled_model("xray-side").is_file(), reason="the bundled landmark model is absent")


@pytest.fixture(scope="module")
def person(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One person of a cohort seed no model was trained on: (s2f folder, params record)."""
    import json

    from crossid_desktop.synth.cohort import CohortConfig, generate_cohort

    root = tmp_path_factory.mktemp("cohort")
    manifest = generate_cohort(root, CohortConfig(n_subjects=1, seed=424242, image_size=512, extra_gallery_photos=0, injured_per_subject=0))
    record = json.loads(manifest.params_path.read_text())["subjects"][0]
    return manifest.s2f_root / record["subject_id"], record


def _errors(result, truth: dict[str, list[float]], shape: tuple[int, int]) -> list[float]:
    out = []
    for point in result.landmarks:
        x, y = truth[point.name]
        if 0 <= x < shape[1] and 0 <= y < shape[0]:
            assert not point.missing, f"{point.name} is in the image but was reported missing"
            out.append(float(np.hypot(point.x - x, point.y - y)))
    return out


@pytest.mark.parametrize("view", ["xray-side", "xray-front"])
def test_synthetic_xray_landmarks_lie_near_the_generators_points(person, view: str) -> None:
    folder, record = person
    stem = view.replace("-", "_")
    image = load_image(folder / f"{stem}.png")
    result = find_landmarks(image, view)
    errors = _errors(result, record["images"][stem]["landmarks"], image.pixels.shape)
    # 512 px images: the skull is about 400 px high; 3 % of it is 12 px
    assert np.mean(errors) < 12.0
    assert not result.refused and result.sha256 == image.sha256


def test_a_lateral_xray_facing_left_is_read_mirrored(person) -> None:
    folder, record = person
    image = load_image(folder / "xray_side.png")
    pixels = np.ascontiguousarray(image.pixels[:, ::-1])
    result = xray_detector("xray-side").detect(pixels)
    assert result.mirrored
    truth = {n: (pixels.shape[1] - 1 - x, y) for n, (x, y) in record["images"]["xray_side"]["landmarks"].items()}
    errors = [np.hypot(p.x - truth[p.name][0], p.y - truth[p.name][1]) for p in result.points if not p.missing and 0 <= truth[p.name][0] < 512 and 0 <= truth[p.name][1] < 512]
    assert np.mean(errors) < 12.0


def test_points_cut_off_the_image_are_missing_not_clipped(person, tmp_path: Path) -> None:
    import cv2

    folder, record = person
    pixels = cv2.imread(str(folder / "xray_side.png"), cv2.IMREAD_GRAYSCALE)
    cut = pixels[:330]  # the chin and the lower teeth are gone
    cv2.imwrite(str(tmp_path / "cut.png"), cut)
    result = find_landmarks(load_image(tmp_path / "cut.png"), "xray-side")
    truth = record["images"]["xray_side"]["landmarks"]
    below = [n for n, (_, y) in truth.items() if y > 345]
    assert below, "the cut should remove some landmarks"
    for name in below:
        point = result.point(name)
        assert point.missing, f"{name} lies below the cut but was reported at ({point.x}, {point.y})"
    assert all(p.y <= cut.shape[0] - 0.5 for p in result.landmarks if not p.missing)


def test_a_blank_image_is_refused_and_a_photo_without_a_face_too(tmp_path: Path) -> None:
    import cv2

    cv2.imwrite(str(tmp_path / "blank.png"), np.full((400, 300), 120, np.uint8))
    with pytest.raises(UnsuitableImageError, match="blank"):
        find_landmarks(load_image(tmp_path / "blank.png"), "xray-side")
    cv2.imwrite(str(tmp_path / "noise.png"), np.random.default_rng(0).integers(0, 255, (400, 300), dtype=np.uint8))
    with pytest.raises(NoFaceFoundError):
        find_landmarks(load_image(tmp_path / "noise.png"), "face-front")
    with pytest.raises(ModelError, match="not installed"):
        find_landmarks(load_image(tmp_path / "noise.png"), "xray-side", model=tmp_path / "absent.pt")


def test_face_photos_go_to_the_face_landmark_modules(person) -> None:
    folder, record = person
    image = load_image(folder / "face_front.png")
    result = find_landmarks(image, "face-front")
    truth = record["images"]["face_front"]["landmarks"]
    labels = [p.label for p in result.landmarks if p.label]
    assert labels[:68] == [f"p{k}" for k in range(1, 69)]
    errors = [np.hypot(p.x - truth[p.name][0], p.y - truth[p.name][1]) for p in result.landmarks if not p.missing]
    face_height = np.hypot(*np.subtract(truth["nose_bridge_1"], truth["menton_soft"]))
    assert np.mean(errors) < 0.08 * face_height
    assert all(p.sd is None and p.confidence is None for p in result.landmarks)


def test_images_that_are_not_skull_xrays_are_flagged(person, tmp_path: Path) -> None:
    import cv2

    folder, _ = person
    rng = np.random.default_rng(5)
    smooth = cv2.resize(rng.random((6, 5)).astype(np.float32), (500, 600), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(tmp_path / "blobs.png"), (smooth * 255).clip(0, 255).astype(np.uint8))
    for path, view in ((tmp_path / "blobs.png", "xray-side"), (folder / "face_front.png", "xray-side"), (folder / "xray_front.png", "xray-side")):
        result = find_landmarks(load_image(path), view)
        assert result.warnings, f"{path.name} as {view} was not flagged"


@pytest.mark.shared_data
def test_a_real_cephalogram_the_model_did_not_train_on(shared_data: Path) -> None:
    from crossid_desktop.matching.landmarks.cephalograms import read_cephalograms
    from crossid_desktop.matching.landmarks.points import name_of_label

    # a tuning image (it chose checkpoints, it was never trained on); test images are for the benchmark only
    ceph = next(c for c in read_cephalograms(shared_data / "xray" / "ceph_dev", ("tune",)) if c.name == "003.png")
    result = find_landmarks(load_image(ceph.path), "xray-side")
    errors = [np.hypot(result.point(name_of_label(l)).x - x, result.point(name_of_label(l)).y - y) for l, (x, y) in ceph.reference.items()]
    assert not result.refused and np.mean(errors) < 30.0  # px of a 1340x1671 image; the annotators differ by about 11


def test_the_local_heatmap_is_weighted_around_the_global_point_and_old_cards_are_not() -> None:
    import dataclasses
    import json

    from crossid_desktop.matching.landmarks.detector import XrayLandmarkDetector
    from crossid_desktop.matching.landmarks.model_file import LandmarkModelCard, card_path

    detector = XrayLandmarkDetector.load(bundled_model("xray-side"))
    assert detector.card.anchor_sd == 1.0 and detector.card.shape_anchor == 0.0  # chosen by its assembly on the tuning images
    # a Gaussian of anchor_sd global-canvas pixels is zoom times that in the crop (stride 1), 1 at the anchor
    weights = detector._anchor_weights(np.array([40.3, 50.7]), (96, 96))
    sd = 1.0 * detector.frames.zoom
    assert weights is not None and weights.shape == (1, 96, 96)
    for row, col in ((50, 40), (51, 41), (10, 80), (95, 0)):
        assert weights[0, row, col] == pytest.approx(np.exp(-((col - 40.3) ** 2 + (row - 50.7) ** 2) / (2 * sd**2)), rel=1e-9, abs=1e-300)
    # a card written before the setting existed reads the local heatmap as it is
    data = json.loads(card_path(bundled_model("xray-side")).read_text())
    del data["anchor_sd"], data["shape_anchor"]
    old = LandmarkModelCard.from_dict(data)
    assert old.anchor_sd == 0.0 and old.shape_anchor == 0.0  # nor are its points read again after the shape check
    detector.card = dataclasses.replace(detector.card, anchor_sd=old.anchor_sd)
    assert detector._anchor_weights(np.array([40.3, 50.7]), (96, 96)) is None


@pytest.mark.shared_data
def test_on_a_real_cephalogram_the_local_stage_no_longer_strays_from_the_global_point(shared_data: Path) -> None:
    import dataclasses

    from crossid_desktop.matching.landmarks.cephalograms import read_cephalograms
    from crossid_desktop.matching.landmarks.detector import XrayLandmarkDetector
    from crossid_desktop.matching.landmarks.points import name_of_label

    # a tuning image (it chose anchor_sd; no network trained on it); test images are for the benchmark only.
    # Unweighted, the local stage moves a point of this image more than 5 mm from the reference,
    # onto a look-alike structure; read near the global stage's point it does not.
    ceph = next(c for c in read_cephalograms(shared_data / "xray" / "ceph_dev", ("tune",)) if c.name == "042.png")
    image = load_image(ceph.path).pixels
    errors = {}
    for anchor_sd in (0.0, 1.0):
        detector = XrayLandmarkDetector.load(bundled_model("xray-side"))
        detector.card, detector.prior = dataclasses.replace(detector.card, anchor_sd=anchor_sd), None  # the networks alone
        points = {p.name: p for p in detector.detect(image).points}
        errors[anchor_sd] = np.array([np.hypot(points[name_of_label(l)].x - x, points[name_of_label(l)].y - y) for l, (x, y) in ceph.reference.items()])
    # pixels of a 1340x1671 image, 0.1265 mm each: 40 px is 5 mm
    assert np.sum(errors[0.0] > 40) >= 1 and np.sum(errors[1.0] > 40) == 0
    assert errors[1.0].mean() < 0.75 * errors[0.0].mean()


def test_a_point_read_again_takes_the_peak_the_shape_agrees_with() -> None:
    """Two candidates in one local heatmap, the stronger one where the shape of the other points
    does not put the landmark: read again with the shape's Gaussian (``shape_anchor``), the
    point takes the other; with a shape spread too wide to tell, the stronger one."""
    import torch

    from crossid_desktop.matching.landmarks.detector import XrayLandmarkDetector

    detector = XrayLandmarkDetector.load(bundled_model("xray-side"))
    crop = detector.frames.crop
    stride = detector.local_net.config.output_stride
    bins = np.arange(crop // stride) * stride + (stride - 1) / 2.0
    yy, xx = np.meshgrid(bins, bins, indexing="ij")
    strong, weak = np.array([30.0, 62.0]), np.array([62.0, 30.0])  # crop pixels (x, y), both 22.6 px from the anchor
    logits = np.log(np.exp(-((xx - strong[0]) ** 2 + (yy - strong[1]) ** 2) / 8.0) + 0.5 * np.exp(-((xx - weak[0]) ** 2 + (yy - weak[1]) ** 2) / 8.0) + 1e-12)
    grid, null = torch.from_numpy(logits[None].astype(np.float32)), torch.tensor([-30.0])
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    shift = np.array([[1.0, 0.0, -10.0], [0.0, 1.0, 20.0]])  # crop = resized shifted; the image is the resized image here
    anchor = np.array([46.0 + 10.0, 46.0 - 20.0])  # the global point, in the resized image: between the two candidates
    reading = (grid, null, shift, identity, anchor)
    to_image = np.array([10.0, -20.0])
    anchor_var = (detector.card.anchor_sd * detector.frames.zoom) ** 2

    def product(*gaussians: tuple[np.ndarray, float]) -> np.ndarray:
        """The mean of a product of isotropic Gaussians (centre, variance): precision-weighted."""
        return sum(c / v for c, v in gaussians) / sum(1.0 / v for _, v in gaussians)

    middle = np.array([46.0, 46.0])  # the anchor in the crop
    agreed, sd = detector._reread(reading, weak + to_image, np.eye(2) * 16.0)
    np.testing.assert_allclose(agreed, product((weak, 4.0), (middle, anchor_var), (weak, 16.0)) + to_image, atol=0.05)
    assert 0.0 < sd < 2.0 * detector.card.sd_scale
    undecided, _ = detector._reread(reading, weak + to_image, np.eye(2) * 1e8)
    np.testing.assert_allclose(undecided, product((strong, 4.0), (middle, anchor_var)) + to_image, atol=0.05)


def test_a_frontal_xray_is_read_as_it_is_and_mirrored_and_the_two_averaged(person) -> None:
    """With ``mirror_average`` each point found by both readings lies at the mean of the image's
    reading and of the mirrored image's (its other-side point, mirrored back); without, the single reading."""
    import dataclasses

    from crossid_desktop.matching.landmarks.detector import XrayLandmarkDetector
    from crossid_desktop.matching.landmarks.model_file import read_landmark_model

    state, card = read_landmark_model(bundled_model("xray-front"))
    assert card.mirror_average  # the bundled frontal model reads both
    image = load_image(person[0] / "xray_front.png").pixels
    single = XrayLandmarkDetector(state, dataclasses.replace(card, mirror_average=False))
    one = {p.name: p for p in single.detect(image).points}
    mirrored = {p.name: p for p in single.detect(np.ascontiguousarray(image[:, ::-1])).points}
    both = {p.name: p for p in XrayLandmarkDetector(state, card).detect(image).points}
    width, checked = image.shape[1], 0
    for name, point in both.items():
        other = name.replace("_right", "_LEFT").replace("_left", "_right").replace("_LEFT", "_left")
        a, b = one[name], mirrored[other]
        if a.missing:
            assert point.missing
            continue
        if b.missing:
            assert (point.x, point.y) == (a.x, a.y)
            continue
        assert point.x == pytest.approx((a.x + width - 1 - b.x) / 2, abs=1e-6) and point.y == pytest.approx((a.y + b.y) / 2, abs=1e-6)
        assert point.sd == pytest.approx((a.sd + b.sd) / 2, abs=1e-9)
        checked += 1
    assert checked >= 20


def test_the_mirrored_readings_are_averaged_only_for_paired_points_and_disagreement_widens_the_sd() -> None:
    from crossid_desktop.matching.landmarks.detector import MIRROR_DISAGREEMENT, _averaged

    width = 101
    # landmarks: nasion (midline), zygion_right, zygion_left, porion_right (its other side absent)
    partners = np.array([0, 2, 1, -1])
    first = (np.array([[50.0, 10.0], [20.0, 40.0], [80.0, 40.0], [15.0, 30.0]]), np.array([1.0, 1.0, 1.0, 1.0]), np.ones(4), np.ones(4),
             np.array([True, True, True, True]), False, np.zeros(4, bool))
    # the mirrored image's reading, in its own coordinates: x -> width - 1 - x and sides exchanged
    mirrored_xy = np.array([[52.0, 12.0], [100 - 82.0, 40.0], [100 - 20.0, 44.0], [85.0, 30.0]])
    mirrored = (mirrored_xy, np.array([1.0, 1.0, 1.0, 1.0]), np.ones(4), np.ones(4), np.array([True, True, True, True]), False, np.zeros(4, bool))
    xy, sd, *_ = _averaged(first, mirrored, partners, width)
    np.testing.assert_allclose(xy[0], [(50 + 100 - 52) / 2, 11.0])  # midline: its own mirror image
    np.testing.assert_allclose(xy[1], [20.0, 42.0])  # zygion_right with the mirrored reading's left point, mirrored back
    np.testing.assert_allclose(xy[2], [81.0, 40.0])
    np.testing.assert_allclose(xy[3], [15.0, 30.0])  # no other side: the first reading
    assert sd[0] == 1.0 and sd[3] == 1.0
    assert sd[1] == pytest.approx(1.0) and 4.0 < MIRROR_DISAGREEMENT * np.sqrt(2.0)  # 4 px apart: within three combined sds
    far_xy = mirrored_xy.copy()
    far_xy[1] = [100 - 82.0 - 20.0, 40.0]  # zygion_left's mirrored reading 20 px further out: the two lie 22 px apart
    xy, sd, _, confidence, *_ = _averaged(first, (far_xy, *mirrored[1:]), partners, width)
    np.testing.assert_allclose(xy[2], [91.0, 40.0])  # still the mean, with the mean sd
    assert sd[2] == pytest.approx(1.0)
    assert confidence[2] == 0.0 and confidence[1] == 1.0  # but flagged: the two readings disagree


def test_a_frontal_point_out_of_the_others_arrangement_is_reported_missing_with_where_they_put_it() -> None:
    """The frontal model has no shape prior: a point read far from where the others put it (a
    vertex just above the image read inside it) is reported missing, and said, not kept."""
    from crossid_desktop.matching.landmarks.detector import XrayLandmarkDetector
    from crossid_desktop.matching.landmarks.shape import similarity

    detector = XrayLandmarkDetector.load(bundled_model("xray-front"))
    names = detector.card.landmarks
    mean = detector.shape.mean
    v = names.index("vertex")
    # the mean skull 200 px high in a 256 px image, its vertex 6 px above the top edge
    top, bottom = mean[:, 1].min(), mean[:, 1].max()
    scale = 200.0 / (bottom - top)
    truth = (mean - mean[v]) * scale + np.array([128.0, -6.0])
    k = len(names)
    args = (np.ones(k), np.full(k, 0.9), np.ones(k, bool), False, (256, 256), np.zeros(k, bool))
    read = truth.copy()
    read[v] = (128.0, 70.0)  # read inside, where no vertex is
    result = detector._result(read, np.full(k, 1.0), *args)
    vertex = next(p for p in result.points if p.name == "vertex")
    assert vertex.missing
    move, _ = similarity(mean[np.arange(k) != v], truth[np.arange(k) != v])
    expected = move(mean[v][None])[0]
    assert f"near ({expected[0]:.0f}, {expected[1]:.0f}), outside the image" in result.warnings[0] and "vertex" in result.warnings[0]
    assert sum(p.missing for p in result.points) == 1 and not any("not arranged like" in w for w in result.warnings)
    assert vertex.left_out and sum(p.left_out for p in result.points) == 1
    inside = truth.copy()
    inside[v, 1] = 4.0  # in the image, where the others put it: kept
    kept = detector._result(inside, np.full(k, 1.0), *args)
    assert not next(p for p in kept.points if p.name == "vertex").missing and not kept.warnings
    # the others put it inside the image: left out all the same, without "outside the image"
    lower = (mean - mean[v]) * scale + np.array([128.0, 20.0])
    off = lower.copy()
    off[v] = (128.0, 90.0)
    said = detector._result(off, np.full(k, 1.0), *args).warnings[0]
    assert "near (128, 20): it is reported as missing" in said
    # a borderline image keeps its score: leaving out one point does not get the image refused
    dim = np.full(k, 1.02 * detector.card.thresholds["image_score"])
    borderline = detector._result(read, np.full(k, 1.0), args[0], dim, *args[2:])
    assert next(p for p in borderline.points if p.name == "vertex").missing and not any("does not look like" in w for w in borderline.warnings)
    # a lateral view facing left is judged facing right, as the shape is: the same point, its place mirrored back
    flipped = read.copy()
    flipped[:, 0] = 255 - flipped[:, 0]
    left = detector._result(flipped, np.full(k, 1.0), args[0], args[1], args[2], True, *args[4:])
    assert next(p for p in left.points if p.name == "vertex").missing
    assert f"near ({255 - expected[0]:.0f}, {expected[1]:.0f}), outside the image" in left.warnings[0]
    facing_left = truth.copy()
    facing_left[v, 1] = 4.0
    facing_left[:, 0] = 255 - facing_left[:, 0]
    assert not detector._result(facing_left, np.full(k, 1.0), args[0], args[1], args[2], True, *args[4:]).warnings
