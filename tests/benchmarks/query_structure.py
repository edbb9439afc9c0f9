"""How much structure X-rays and structureless pictures show (``search.query.xray_structure``),
the measure behind ``MIN_XRAY_STRUCTURE`` and ``MIN_GREY_SPAN``: the threshold must lie well
below every X-ray and above every flat, shaded or gradient picture.

Prints, per group, the number of images and the range of the grey-level span and of the
structure measure: synthetic X-rays (frontal and lateral, 24 people of seed 3), the real
lateral cephalograms of ``../shared/data/xray/ceph_dev`` when present, and generated
structureless pictures (flat, gradients, blob, vignette, a JPEG-compressed gradient, a step
edge, gradients and flats with Gaussian noise of several strengths).

    PYTHONPATH=. python tests/benchmarks/query_structure.py
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from crossid_desktop.imaging.io import ImageMeta, LoadedImage, load_image
from crossid_desktop.search.query import MIN_GREY_SPAN, MIN_XRAY_STRUCTURE, xray_structure
from crossid_desktop.synth.cohort import CohortConfig, generate_cohort

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "xray" / "ceph_dev"


def _in_memory(grey: np.ndarray) -> LoadedImage:
    pixels = (np.clip(grey, 0, 1) * 255).astype(np.uint8)
    return LoadedImage(pixels, "0" * 64, None, ImageMeta("PNG", pixels.shape[1], pixels.shape[0], 1, 8))


def structureless() -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:300, 0:300] / 299.0
    rng = np.random.default_rng(0)
    pictures = {
        "flat": np.full((300, 300), 0.5), "linear gradient": xx, "diagonal gradient": (xx + yy) / 2, "radial gradient": np.hypot(xx - 0.5, yy - 0.5),
        "blob": np.exp(-((xx - 0.5) ** 2 + (yy - 0.5) ** 2) / 0.05), "vignette": 1 - np.hypot(xx - 0.5, yy - 0.5) ** 2,
        "two sine periods": 0.5 + 0.5 * np.sin(xx * 2 * np.pi * 2), "step edge": (xx > 0.5).astype(float),
        "JPEG gradient": cv2.imdecode(cv2.imencode(".jpg", (xx * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 30])[1], 0) / 255.0,
    }
    for sigma in (0.002, 0.01, 0.03):
        pictures[f"gradient + noise {sigma}"] = xx + sigma * rng.standard_normal(xx.shape)
        pictures[f"flat + noise {sigma}"] = 0.5 + sigma * rng.standard_normal(xx.shape)
    return pictures


def main() -> None:
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as folder:
        cohort = generate_cohort(Path(folder), CohortConfig(n_subjects=24, seed=3, extra_gallery_photos=0, injured_per_subject=0))
        for subject in cohort.subject_ids:
            for view in ("front", "side"):
                groups[f"synthetic {view}"].append(xray_structure(load_image(cohort.s2f_root / subject / f"xray_{view}.png")))
    for path in sorted(SHARED.glob("*.png")) if SHARED.is_dir() else []:
        groups["real cephalograms"].append(xray_structure(load_image(path)))
    for name, grey in structureless().items():
        groups[name].append(xray_structure(_in_memory(grey)))
    print(f"thresholds: grey span >= {MIN_GREY_SPAN}, structure >= {MIN_XRAY_STRUCTURE}")
    print(f"{'group':<26} {'n':>3}  {'span min-max':>13}  {'structure min-max':>17}  refused")
    for name, values in groups.items():
        spans, structures = zip(*values)
        refused = sum(1 for span, structure in values if span < MIN_GREY_SPAN or structure < MIN_XRAY_STRUCTURE)
        print(f"{name:<26} {len(values):>3}  {min(spans):.3f}-{max(spans):.3f}  {min(structures):>8.4f}-{max(structures):.4f}  {refused}/{len(values)}")


if __name__ == "__main__":
    main()
