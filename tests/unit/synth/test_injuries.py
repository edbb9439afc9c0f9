"""Injury simulation: determinism, severity 0, the mask covers every change, placement in the
requested region, colour direction of bruises and bandages, input validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from builders import dilate as _dilate
from builders import synthetic_face as _synthetic_face
from numpy.typing import NDArray

from crossid_desktop.imaging.canonical import CANONICAL, FaceRegion
from crossid_desktop.synth.injuries.simulate import InjuryKind, InjuryResult, blend_margin, simulate_injury

SIZE = 256


@pytest.fixture(scope="module")
def face() -> NDArray[np.uint8]:
    return _synthetic_face()


def _changed(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> NDArray[np.bool_]:
    return np.any(a != b, axis=2)


def _box_mask(region: FaceRegion, size: int, margin: int) -> NDArray[np.bool_]:
    x0, y0, x1, y1 = CANONICAL.region_box(region).scaled(size)
    m = np.zeros((size, size), bool)
    m[max(0, y0 - margin):y1 + margin, max(0, x0 - margin):x1 + margin] = True
    return m


def test_same_seed_same_bytes_and_different_seed_differs(face: NDArray[np.uint8]) -> None:
    a = simulate_injury(face, seed=5, severity=0.7)
    b = simulate_injury(face, seed=5, severity=0.7)
    c = simulate_injury(face, seed=6, severity=0.7)
    assert a.image.tobytes() == b.image.tobytes() and np.array_equal(a.mask, b.mask)
    assert (a.kinds, a.regions) == (b.kinds, b.regions)
    assert a.image.tobytes() != c.image.tobytes()


def test_severity_zero_returns_the_face_unchanged(face: NDArray[np.uint8]) -> None:
    for kind in InjuryKind:
        r = simulate_injury(face, seed=1, severity=0.0, kind=kind)
        assert r.image.tobytes() == face.tobytes()
        assert r.image is not face
        assert not r.mask.any()
        assert r.severity == 0.0


@pytest.mark.parametrize("kind", list(InjuryKind))
def test_every_change_lies_in_the_mask_plus_margin(face: NDArray[np.uint8], kind: InjuryKind) -> None:
    margin = blend_margin(SIZE)
    assert margin <= 3
    for seed in range(3):
        r = simulate_injury(face, seed=seed, severity=0.9, kind=kind)
        changed = _changed(r.image, face)
        assert changed.any(), f"{kind.value} seed {seed} changed nothing"
        outside = changed & ~_dilate(r.mask, margin)
        assert not outside.any(), f"{kind.value}: {outside.sum()} changed pixels outside the mask"
        # and the mask is the injured area, not the whole face: most of it really changed
        assert changed[r.mask].mean() > 0.5


@pytest.mark.parametrize("kind", list(InjuryKind))
@pytest.mark.parametrize("region", [FaceRegion.FOREHEAD, FaceRegion.LEFT_EYE, FaceRegion.RIGHT_CHEEK, FaceRegion.NOSE, FaceRegion.MOUTH])
def test_injury_lies_in_the_requested_region(face: NDArray[np.uint8], kind: InjuryKind, region: FaceRegion) -> None:
    r = simulate_injury(face, seed=3, severity=0.6, kind=kind, region=region)
    assert r.regions == (region.value,) and r.kinds == (kind.value,)
    box = _box_mask(region, SIZE, margin=6)
    changed = _changed(r.image, face)
    assert (changed & box).sum() > 30
    # blood runs down and tape reaches past a small box: most, not all, stays in the box
    assert (r.mask & box).sum() / r.mask.sum() > 0.7


def test_region_left_eye_is_the_subjects_left_on_the_image_right(face: NDArray[np.uint8]) -> None:
    r = simulate_injury(face, seed=2, severity=0.8, kind="bruise", region="left_eye")
    ys, xs = np.nonzero(r.mask)
    assert xs.mean() > SIZE / 2


def test_multiple_covers_two_or_three_regions_with_different_kinds(face: NDArray[np.uint8]) -> None:
    for seed in range(6):
        r = simulate_injury(face, seed=seed, severity=0.7, region="multiple")
        assert 2 <= len(r.regions) <= 3 and len(set(r.regions)) == len(r.regions)
        assert len(set(r.kinds)) == len(r.kinds)
        hit = [reg for reg in r.regions if (r.mask & _box_mask(FaceRegion(reg), SIZE, 4)).sum() > 20]
        assert len(hit) >= 2


def test_bruise_darkens_the_skin_inside_the_mask(face: NDArray[np.uint8]) -> None:
    for seed in range(4):
        r = simulate_injury(face, seed=seed, severity=0.8, kind=InjuryKind.BRUISE, region=FaceRegion.RIGHT_CHEEK)
        before = face[r.mask].astype(float).mean(axis=0)
        after = r.image[r.mask].astype(float).mean(axis=0)
        assert after.sum() < before.sum() - 10
        assert np.all(after <= before + 0.5)  # multiplied into the skin: no channel brightens


def test_bandage_brightens_toward_white(face: NDArray[np.uint8]) -> None:
    for seed in range(4):
        r = simulate_injury(face, seed=seed, severity=0.4, kind=InjuryKind.BANDAGE, region=FaceRegion.RIGHT_CHEEK)
        before = face[r.mask].astype(float)
        after = r.image[r.mask].astype(float)
        assert after.mean() > before.mean() + 10
        # whiter: the spread between the channels shrinks (skin is orange, gauze is grey-white)
        assert (after.max(axis=1) - after.min(axis=1)).mean() < (before.max(axis=1) - before.min(axis=1)).mean()


def test_swelling_around_an_eye_moves_pixels_and_masks_them(face: NDArray[np.uint8]) -> None:
    r = simulate_injury(face, seed=4, severity=1.0, kind="swelling", region="right_eye")
    ex, ey = (round(v * SIZE) for v in CANONICAL.right_eye)
    assert r.mask[ey, ex]
    # the eye narrows: fewer bright sclera pixels in the eye's box
    x0, y0, x1, y1 = CANONICAL.region_box(FaceRegion.RIGHT_EYE).scaled(SIZE)
    white = lambda im: (im[y0:y1, x0:x1].min(axis=2) > 220).sum()  # noqa: E731
    assert white(r.image) < 0.8 * white(face)


def test_other_sizes_scale_and_keep_the_contract() -> None:
    for size in (96, 400):
        f = _synthetic_face(size)
        r = simulate_injury(f, seed=9, severity=0.8, region="multiple")
        assert r.image.shape == f.shape and r.mask.shape == (size, size)
        assert not (_changed(r.image, f) & ~_dilate(r.mask, blend_margin(size))).any()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"face": np.zeros((256, 200, 3), np.uint8)}, "square"),
        ({"face": np.zeros((32, 32, 3), np.uint8)}, "at least"),
        ({"face": np.zeros((256, 256), np.uint8)}, "RGB uint8"),
        ({"face": np.zeros((256, 256, 3), np.float32)}, "RGB uint8"),
        ({"kind": "sunburn"}, "Unknown injury kind"),
        ({"region": "chin"}, "Unknown face region"),
        ({"severity": 1.5}, "[0, 1]"),
        ({"severity": -0.1}, "[0, 1]"),
        ({"severity": float("nan")}, "[0, 1]"),
        ({"seed": 1.5}, "integer"),
    ],
)
def test_invalid_inputs_raise_value_error(face: NDArray[np.uint8], kwargs: dict[str, object], words: str) -> None:
    args: dict[str, object] = {"face": face, "seed": 0, "severity": 0.5}
    args.update(kwargs)
    with pytest.raises(ValueError, match=None) as info:
        simulate_injury(**args)  # type: ignore[arg-type]
    assert words in str(info.value)


def test_names_are_accepted_as_strings_and_enums(face: NDArray[np.uint8]) -> None:
    a = simulate_injury(face, seed=8, kind="Burn", region="NOSE")
    b = simulate_injury(face, seed=8, kind=InjuryKind.BURN, region=FaceRegion.NOSE)
    assert isinstance(a, InjuryResult) and a.image.tobytes() == b.image.tobytes()


def test_real_face_from_lfw(shared_data: Path) -> None:
    import cv2

    files = sorted((shared_data / "faces" / "lfw_dev").glob("*/*.jpg"))
    if not files:
        pytest.skip("no LFW faces in ../shared/data")
    img = cv2.cvtColor(cv2.imread(str(files[0])), cv2.COLOR_BGR2RGB)
    face = cv2.resize(img[40:210, 40:210], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    for kind in InjuryKind:
        r = simulate_injury(face, seed=11, severity=0.8, kind=kind)
        changed = _changed(r.image, face)
        assert changed.sum() > 100
        assert not (changed & ~_dilate(r.mask, blend_margin(SIZE))).any()
