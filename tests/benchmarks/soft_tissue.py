"""Soft-tissue suppression measured on real lateral cephalograms and on synthetic X-rays.

**Real cephalograms** (``../shared/data/xray/ceph_dev``, landmarks of annotator
``farhadifar``, read by :mod:`crossid_desktop.matching.landmarks.cephalograms`). For each
image and each pair (soft-tissue landmark, bony neighbour)

    (l13 upper lip, l12 upper incisor tip), (l14 lower lip, l11 lower incisor tip),
    (l15 subnasale, l18 anterior nasal spine), (l16 soft-tissue pogonion, l7 pogonion)

soft tissue is sampled midway between the two landmarks, air just outside the skin (the
soft-tissue landmark mirrored away from that midpoint, ``2 * soft - mid``) and bone at the
bony landmark, each as the median of a disc of radius 5 px. After a 1st-99th percentile
normalisation of the image (before: the original; after: the suppressed output):

    soft contrast = norm(soft) - norm(air),  bone contrast = norm(bone) - norm(air)

averaged over the four pairs of an image; ratio = soft contrast / bone contrast; reduction =
ratio after / ratio before. A reduction may only come from soft tissue moving toward air, so
the script also prints ``soft kept`` = soft contrast after / soft contrast before (per image,
median) and counts **overshoot**: pairs whose soft tissue ends more than 0.02 *below* the air
beside it (a dark halo instead of a faded lip).

The images are reported by their part of the fixed split
(:data:`~crossid_desktop.matching.landmarks.cephalograms.SPLIT`): the suppression's parameters
were tuned on ``train`` + ``tune`` images; ``test`` images (15, all from 025-075) were never
used to tune it. Images 001-024 tuned the first version of the algorithm.

**Synthetic X-rays** (``--cohort DIR``, a cohort of ``crossid synth``): each X-ray has a copy
without soft tissue (``xray_*_clean.png``) with the same exposure and noise. Both are brought
to the output's scale (air level 0, 99th percentile 1; the air level is the mode of the dim
half of the histogram, as in the algorithm). Printed for the unsuppressed input and the output:
the mean absolute difference to the clean copy where the input and the clean copy differ by
more than 0.02 ("soft tissue") and where the clean copy is bone ("bone"); the mean level of
soft tissue with no bone behind it (0 = air: what suppression should reach, whatever its tone
curve); and the correlation with the clean copy inside the bone (tone-curve free).

Targets at the default strength, on the test images: median reduction <= 0.25, median bone
contrast after >= 0.30, soft tissue moving toward air (median soft kept well below 1) with
no overshoot.

Run: ``.venv/bin/python tests/benchmarks/soft_tissue.py [--strength S] [--parts test] [--cohort DIR] [--pictures DIR]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.xray import ALGORITHM_VERSION, SoftTissueParams, suppress_soft_tissue
from crossid_desktop.matching.landmarks.cephalograms import read_cephalograms

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "xray" / "ceph_dev"
PAIRS: tuple[tuple[str, str], ...] = (("l13", "l12"), ("l14", "l11"), ("l15", "l18"), ("l16", "l7"))
DISC_RADIUS = 5
OVERSHOOT = 0.02


@dataclass(frozen=True)
class Contrast:
    """Contrasts of one image against air, averaged over the landmark pairs (normalised
    units), and the lowest single-pair soft contrast."""

    soft: float
    bone: float
    lowest_soft: float

    @property
    def ratio(self) -> float:
        return self.soft / self.bone if abs(self.bone) > 1e-6 else float("nan")


def disc_median(image: NDArray[np.float32], point: NDArray[np.float64], radius: int = DISC_RADIUS) -> float:
    """Median of the pixels within ``radius`` px of ``point`` (x, y)."""
    x, y = int(round(point[0])), int(round(point[1]))
    height, width = image.shape
    y0, y1, x0, x1 = max(0, y - radius), min(height, y + radius + 1), max(0, x - radius), min(width, x + radius + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    inside = (yy - y) ** 2 + (xx - x) ** 2 <= radius * radius
    return float(np.median(image[y0:y1, x0:x1][inside]))


def percentile_normalise(image: NDArray[np.floating]) -> NDArray[np.float32]:
    lo, hi = np.percentile(image, [1.0, 99.0])
    return np.clip((image.astype(np.float32) - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def measure(image: NDArray[np.floating], landmarks: dict[str, tuple[float, float]]) -> Contrast:
    """Soft and bone contrast against air of one image, by the landmark protocol."""
    norm = percentile_normalise(image)
    soft, bone = [], []
    for soft_label, bone_label in PAIRS:
        if soft_label not in landmarks or bone_label not in landmarks:
            continue
        s, b = np.array(landmarks[soft_label]), np.array(landmarks[bone_label])
        mid = (s + b) / 2.0
        air = disc_median(norm, 2.0 * s - mid)
        soft.append(disc_median(norm, mid) - air)
        bone.append(disc_median(norm, b) - air)
    return Contrast(soft=float(np.mean(soft)), bone=float(np.mean(bone)), lowest_soft=float(np.min(soft)))


@dataclass(frozen=True)
class Row:
    name: str
    part: str
    before: Contrast
    after: Contrast
    seconds: float

    @property
    def reduction(self) -> float:
        return self.after.ratio / self.before.ratio

    @property
    def soft_kept(self) -> float:
        return self.after.soft / self.before.soft


def measure_cephalograms(params: SoftTissueParams, parts: tuple[str, ...], *, verbose: bool = True) -> list[Row]:
    """Before/after contrasts of every cephalogram of ``parts`` (printed per image when ``verbose``)."""
    import cv2

    rows = []
    for ceph in read_cephalograms(DATA, parts):  # type: ignore[arg-type]
        landmarks = ceph.annotators["farhadifar"]
        image = cv2.imread(str(ceph.path), cv2.IMREAD_GRAYSCALE)
        start = time.perf_counter()
        out = suppress_soft_tissue(image, params)
        elapsed = time.perf_counter() - start
        row = Row(ceph.name, str(ceph.part), measure(image, landmarks), measure(out, landmarks), elapsed)
        rows.append(row)
        if verbose:
            b, a = row.before, row.after
            print(f"{row.name:>8} {row.part:>5} {b.soft:6.3f} {b.bone:6.3f} {b.ratio:6.3f} | {a.soft:6.3f} {a.bone:6.3f} {a.ratio:6.3f} | "
                  f"{row.reduction:6.3f} {row.soft_kept:6.3f} {a.lowest_soft:6.3f} {elapsed * 1000:6.0f}")
    return rows


def summary(rows: list[Row], label: str) -> dict[str, float]:
    """Medians of a group of images and the overshoot count; printed."""
    med = statistics.median
    figures = {
        "images": len(rows),
        "reduction": med(r.reduction for r in rows),
        "bone_after": med(r.after.bone for r in rows),
        "soft_kept": med(r.soft_kept for r in rows),
        "soft_after": med(r.after.soft for r in rows),
        "overshoot_images": sum(r.after.lowest_soft < -OVERSHOOT for r in rows),
    }
    met = figures["reduction"] <= 0.25 and figures["bone_after"] >= 0.30 and figures["overshoot_images"] == 0
    print(f"{label}: {len(rows)} images, median reduction {figures['reduction']:.3f}, median bone contrast after {figures['bone_after']:.3f}, "
          f"median soft contrast after {figures['soft_after']:.3f} (soft kept {figures['soft_kept']:.3f} of before), "
          f"images with a pair more than {OVERSHOOT} below air: {figures['overshoot_images']} -> target {'met' if met else 'NOT met'}")
    return figures


def synthetic_errors(cohort: Path, params: SoftTissueParams, limit: int = 40) -> None:
    """Errors against the clean copies of a synthetic cohort (module docstring)."""
    import cv2

    from crossid_desktop.imaging.xray import air_level

    s2f = cohort / "s2f" if (cohort / "s2f").is_dir() else cohort
    to_output_scale = lambda a: np.clip((a - air_level(a)) / max(np.percentile(a, 99) - air_level(a), 1e-6), 0, 1)  # noqa: E731
    for view in ("front", "side"):
        figures: dict[str, list[float]] = defaultdict(list)
        for path in sorted(s2f.glob(f"*/xray_{view}.png"))[:limit]:
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
            clean = cv2.imread(str(path.with_name(f"xray_{view}_clean.png")), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
            reference, given = to_output_scale(clean), to_output_scale(image)
            out = suppress_soft_tissue(image, params)
            tissue = np.abs(cv2.GaussianBlur(image - clean, (0, 0), 2)) > 0.02
            bone = cv2.GaussianBlur(reference, (0, 0), 2) > 0.25
            tissue_only = tissue & (cv2.GaussianBlur(reference, (0, 0), 2) < 0.05)
            for label, result in (("input", given), ("output", out)):
                figures[f"{label} tissue mae"].append(float(np.abs(result - reference)[tissue & ~bone].mean()))
                figures[f"{label} bone mae"].append(float(np.abs(result - reference)[bone].mean()))
                figures[f"{label} tissue level"].append(float(result[tissue_only].mean()))
                figures[f"{label} bone corr"].append(float(np.corrcoef(result[bone], reference[bone])[0, 1]))
        if figures:
            m = {k: float(np.mean(v)) for k, v in figures.items()}
            print(f"synthetic {view} ({len(figures['input bone mae'])} X-rays of {cohort}), input -> output: "
                  f"mean absolute error to the clean copy in soft tissue {m['input tissue mae']:.3f} -> {m['output tissue mae']:.3f}, in bone "
                  f"{m['input bone mae']:.3f} -> {m['output bone mae']:.3f}; level of soft tissue with no bone behind it (air 0) "
                  f"{m['input tissue level']:.3f} -> {m['output tissue level']:.3f}; correlation with the clean bone {m['input bone corr']:.3f} -> {m['output bone corr']:.3f}")


def pictures(folder: Path, params: SoftTissueParams) -> None:
    """The pictures of docs/soft_tissue: input (strength 0) beside the output, for 001, 005, 012
    (training images) and 027, 061 (held-out test images); 006's face region at four strengths."""
    import cv2

    from crossid_desktop.imaging.xray import normalise_xray

    folder.mkdir(parents=True, exist_ok=True)
    to8 = lambda a: (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)  # noqa: E731
    for name in ("001", "005", "012", "027", "061"):
        image = cv2.imread(str(DATA / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        pair = np.hstack([normalise_xray(image), np.full((image.shape[0], 8), 1.0, np.float32), suppress_soft_tissue(image, params)])
        cv2.imwrite(str(folder / f"before_after_{name}.png"), cv2.resize(to8(pair), None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA))
    image = cv2.imread(str(DATA / "006.png"), cv2.IMREAD_GRAYSCALE)
    crops = [suppress_soft_tissue(image, SoftTissueParams(strength=s))[500:1400, 600:1340] for s in (0.0, 0.35, 0.7, 1.0)]
    cv2.imwrite(str(folder / "strengths_006.png"), cv2.resize(to8(np.hstack(crops)), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
    print(f"pictures written to {folder}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strength", type=float, default=SoftTissueParams().strength)
    parser.add_argument("--parts", default="train,tune,test", help="comma-separated parts of the split to measure (default all, reported per part)")
    parser.add_argument("--cohort", type=Path, help="a synthetic cohort (crossid synth) to measure against its clean X-rays")
    parser.add_argument("--pictures", type=Path, metavar="DIR", help="write the before/after pictures of docs/soft_tissue to DIR and stop")
    args = parser.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)
    params = SoftTissueParams(strength=args.strength)
    if args.cohort is not None:
        synthetic_errors(args.cohort, params)
    if not (DATA / "landmarks.csv").is_file():
        print(f"skipped: no cephalograms at {DATA}")
        return 0
    if args.pictures is not None:
        pictures(args.pictures, params)
        return 0
    parts = tuple(p.strip() for p in args.parts.split(","))
    print(f"{ALGORITHM_VERSION}, strength {params.strength:g}, cephalograms of parts {', '.join(parts)}, OpenCV threads 1")
    print(f"{'image':>8} {'part':>5} {'soft':>6} {'bone':>6} {'ratio':>6} | {'soft':>6} {'bone':>6} {'ratio':>6} | {'reduct':>6} {'kept':>6} {'lowest':>6} {'ms':>6}")
    rows = measure_cephalograms(params, parts)
    seen = [r for r in rows if r.part in ("train", "tune")]
    unseen = [r for r in rows if r.part == "test"]
    if seen:
        summary(seen, "tuning images (train + tune, used to choose the parameters)")
    if unseen:
        summary(unseen, "HELD-OUT test images (never used to tune)")
    image = cv2.imread(str(DATA / "001.png"), cv2.IMREAD_GRAYSCALE)
    big = cv2.resize(image, (2000, 2500), interpolation=cv2.INTER_CUBIC)
    suppress_soft_tissue(big, params)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        suppress_soft_tissue(big, params)
        times.append(time.perf_counter() - start)
    print(f"2000x2500 image: {min(times) * 1000:.0f} ms (best of 3, one thread; median {statistics.median(times) * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
