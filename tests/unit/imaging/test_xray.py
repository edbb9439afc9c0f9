"""Soft-tissue suppression (imaging/xray.py) on constructed images and on real cephalograms."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from crossid_desktop.imaging.xray import ALGORITHM_VERSION, SoftTissueParams, suppress_soft_tissue

CEPH = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "xray" / "ceph_dev"

AIR, BONE = 0.05, 0.8
SHAPE = (300, 240)
# regions of the phantom (rows, columns)
RING = dict(cy=150, cx=95, outer=(70, 55), inner=(58, 43))
SOFT_BOX = (slice(40, 260), slice(170, 225))  # soft tissue only, away from the bone
AIR_BOX = (slice(0, 30), slice(0, 240))


def phantom() -> NDArray[np.float32]:
    """Air at 0.05; a soft-tissue body from column 20 to 230 whose intensity ramps from 0.2
    (left) to 0.45 (right), with a soft edge; an elliptic bone ring at 0.8 inside it, plus a
    little deterministic noise."""
    rows, cols = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]].astype(np.float32)
    image = np.full(SHAPE, AIR, dtype=np.float32)
    body = (rows >= 35) & (rows < 265) & (cols >= 20) & (cols < 230)
    ramp = 0.2 + 0.25 * (cols - 20) / 210.0
    image[body] = ramp[body]
    ey, ex = (rows - RING["cy"]) / RING["outer"][0], (cols - RING["cx"]) / RING["outer"][1]
    iy, ix = (rows - RING["cy"]) / RING["inner"][0], (cols - RING["cx"]) / RING["inner"][1]
    ring = (ey**2 + ex**2 <= 1.0) & (iy**2 + ix**2 > 1.0)
    image[ring] = BONE
    noise = np.random.default_rng(0).normal(0.0, 0.005, SHAPE).astype(np.float32)
    return np.clip(image + noise, 0.0, 1.0)


def ring_mask() -> NDArray[np.bool_]:
    rows, cols = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]].astype(np.float32)
    ey, ex = (rows - RING["cy"]) / (RING["outer"][0] - 3), (cols - RING["cx"]) / (RING["outer"][1] - 3)
    iy, ix = (rows - RING["cy"]) / (RING["inner"][0] + 3), (cols - RING["cx"]) / (RING["inner"][1] + 3)
    return (ey**2 + ex**2 <= 1.0) & (iy**2 + ix**2 > 1.0)


def contrasts(image: NDArray[np.floating]) -> tuple[float, float]:
    """(soft tissue - air, bone - air), medians over the regions, in the image's own units
    after a plain 1st-99th percentile normalisation computed here with numpy."""
    lo, hi = np.percentile(image, [1, 99])
    norm = np.clip((image - lo) / (hi - lo), 0, 1)
    air = float(np.median(norm[AIR_BOX]))
    return float(np.median(norm[SOFT_BOX])) - air, float(np.median(norm[ring_mask()])) - air


@pytest.mark.parametrize("strength", [0.7, 0.85, 1.0])
def test_soft_tissue_fades_and_bone_stays(strength: float) -> None:
    image = phantom()
    soft_before, bone_before = contrasts(image)
    soft_after, bone_after = contrasts(suppress_soft_tissue(image, SoftTissueParams(strength=strength)))
    assert soft_before > 0.3 and bone_before > 0.9  # the phantom is what it claims to be
    assert soft_after < 0.4 * soft_before
    assert bone_after > 0.5


def test_strength_zero_is_only_the_normalisation() -> None:
    image = phantom()
    out = suppress_soft_tissue(image, SoftTissueParams(strength=0.0))
    lo, hi = np.percentile(image, [1, 99])
    expected = np.clip((image - lo) / (hi - lo), 0, 1)
    # percentiles from a subsample may differ from numpy's full ones by a noise step
    assert np.abs(out - expected).max() < 0.02
    assert np.corrcoef(out.ravel(), image.ravel())[0, 1] > 0.999


def test_output_type_range_and_determinism() -> None:
    image = phantom()
    first = suppress_soft_tissue(image)
    second = suppress_soft_tissue(image.copy())
    assert first.dtype == np.float32 and first.shape == image.shape
    assert first.min() >= 0.0 and first.max() <= 1.0
    assert first.tobytes() == second.tobytes()


def test_input_dtypes_agree_up_to_quantisation() -> None:
    image = phantom()
    reference = suppress_soft_tissue(image)
    as_uint8 = np.round(image * 255).astype(np.uint8)
    as_uint16 = np.round(image * 65535).astype(np.uint16)
    as_rgb = np.dstack([as_uint8] * 3)
    assert np.abs(suppress_soft_tissue(as_uint16) - reference).mean() < 0.002
    assert np.abs(suppress_soft_tissue(as_uint8) - reference).mean() < 0.01
    assert np.abs(suppress_soft_tissue(as_rgb) - suppress_soft_tissue(as_uint8)).max() < 1e-4
    assert np.array_equal(suppress_soft_tissue(image.astype(np.float64)), reference)


@pytest.mark.parametrize("strength", [-0.1, 1.5, float("nan"), "0.5"])
def test_invalid_strength_raises(strength: object) -> None:
    with pytest.raises(ValueError, match="strength"):
        SoftTissueParams(strength=strength)  # type: ignore[arg-type]


def test_invalid_images_raise() -> None:
    with pytest.raises(ValueError):
        suppress_soft_tissue(np.zeros((4, 4, 2), dtype=np.uint8))
    with pytest.raises(ValueError):
        suppress_soft_tissue(np.zeros((0, 5), dtype=np.uint8))


def test_parameters_for_the_report() -> None:
    values = SoftTissueParams(strength=0.5).to_dict()
    assert values["algorithm"] == ALGORITHM_VERSION
    assert values["strength"] == 0.5
    # every strength-derived parameter is resolved to a number
    for key in ("amount", "soft_ceiling", "knee", "lift"):
        assert isinstance(values[key], float)
    assert SoftTissueParams(strength=0.5, knee=0.02).to_dict()["knee"] == 0.02


# --- real cephalograms: the landmark protocol of tests/benchmarks/soft_tissue.py --------------

PAIRS = (("l13", "l12"), ("l14", "l11"), ("l15", "l18"), ("l16", "l7"))


def _disc_median(image: NDArray[np.floating], x: float, y: float, radius: int = 5) -> float:
    values = [
        image[row, col]
        for row in range(int(round(y)) - radius, int(round(y)) + radius + 1)
        for col in range(int(round(x)) - radius, int(round(x)) + radius + 1)
        if (row - round(y)) ** 2 + (col - round(x)) ** 2 <= radius * radius
    ]
    return float(np.median(values))


def _soft_and_bone(image: NDArray[np.floating], points: dict[str, tuple[float, float]]) -> tuple[float, float]:
    lo, hi = np.percentile(image, [1, 99])
    norm = np.clip((image.astype(np.float64) - lo) / (hi - lo), 0, 1)
    soft, bone = [], []
    for soft_label, bone_label in PAIRS:
        (sx, sy), (bx, by) = points[soft_label], points[bone_label]
        mx, my = (sx + bx) / 2, (sy + by) / 2
        air = _disc_median(norm, 2 * sx - mx, 2 * sy - my)
        soft.append(_disc_median(norm, mx, my) - air)
        bone.append(_disc_median(norm, bx, by) - air)
    return float(np.mean(soft)), float(np.mean(bone))


def test_real_cephalograms_lose_soft_tissue_keep_bone() -> None:
    if not (CEPH / "landmarks.csv").is_file():
        pytest.skip("../shared/data/xray/ceph_dev is absent")
    import cv2

    # the first four images; the benchmark reports all 24 (median bone contrast there is only
    # a little above 0.3, so some other four-image subsets fall below it)
    names = ["001.png", "002.png", "003.png", "004.png"]
    found: dict[str, dict[str, list[tuple[float, float]]]] = {name: {} for name in names}
    with (CEPH / "landmarks.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["image"] in found and row["annotator"] == "farhadifar":
                found[row["image"]].setdefault(row["label"], []).append((float(row["x"]), float(row["y"])))
    points: dict[str, dict[str, tuple[float, float]]] = {}
    for name, labels in found.items():
        points[name] = {label: spots[0] for label, spots in labels.items()}
        if "l18" not in labels:  # 002.png: l18 entered as a second l17; the one nearer l15
            sx, sy = labels["l15"][0]
            points[name]["l18"] = min(labels["l17"], key=lambda spot: (spot[0] - sx) ** 2 + (spot[1] - sy) ** 2)
    reductions, bones = [], []
    for name in names:
        image = cv2.imread(str(CEPH / name), cv2.IMREAD_GRAYSCALE)
        soft_before, bone_before = _soft_and_bone(image, points[name])
        soft_after, bone_after = _soft_and_bone(suppress_soft_tissue(image), points[name])
        reductions.append((soft_after / bone_after) / (soft_before / bone_before))
        bones.append(bone_after)
    assert float(np.median(reductions)) <= 0.25
    assert float(np.median(bones)) >= 0.3
