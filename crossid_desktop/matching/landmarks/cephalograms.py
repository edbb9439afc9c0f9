"""The real lateral cephalograms of the development data and their fixed split.

The folder (``../shared/data/xray/ceph_dev``) holds ``NNN.png`` (greyscale, 1340x1671) and
``landmarks.csv`` with columns ``image, annotator, label, x, y`` (pixels): 19 cephalometric
points (``l1`` ... ``l19``, ISBI-2015 order) placed by two annotators, ``mollabashi`` and
``farhadifar``. The reader repairs what is known to be wrong in the source and never guesses:

* an annotator who gave a label twice on an image is ambiguous for that label and does not
  count for it (``mollabashi``: 002 l11, 009 l15, 010 l12, 064 l7);
* ``farhadifar`` on 002 gave ``l17`` twice and no ``l18``: the one nearer the subnasale
  (``l15``) is the anterior nasal spine ``l18`` (it lies just behind the subnasale).

The **reference position** of a point is the mean of both annotators where both gave it once,
else the one annotator who did.

:data:`SPLIT` assigns every image, once and before any experiment, to ``train`` (50), ``tune``
(10) or ``test`` (15). It was drawn with ``numpy.random.default_rng(20261111)``: 15 test images
from 025-075 (images 001-024 had been used to tune the first soft-tissue suppression, so they
cannot serve as unseen images), then 10 tuning images from the 60 others; the rest train.
Figures reported as held-out are measured on ``test`` only; ``tune`` chooses settings.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from crossid_desktop.errors import DatasetError

ANNOTATORS = ("mollabashi", "farhadifar")
#: the 19 cephalometric labels, ISBI-2015 order
CEPH_LABELS = tuple(f"l{i}" for i in range(1, 20))

Part = Literal["train", "tune", "test"]

_TEST = ("027", "028", "033", "043", "044", "051", "054", "055", "060", "061", "062", "064", "066", "068", "070")
_TUNE = ("003", "011", "017", "018", "026", "042", "048", "052", "059", "069")
#: image file name -> part of the split (see the module docstring)
SPLIT: dict[str, Part] = {
    f"{i:03d}.png": ("test" if f"{i:03d}" in _TEST else "tune" if f"{i:03d}" in _TUNE else "train") for i in range(1, 76)
}


@dataclass(frozen=True)
class AnnotatedCephalogram:
    """One cephalogram with its points.

    Attributes:
        path: the image file.
        annotators: ``{annotator: {label: (x, y)}}`` in pixels, unambiguous points only.
        reference: ``{label: (x, y)}``: the mean of both annotators, or the one who gave it.
    """

    path: Path
    annotators: dict[str, dict[str, tuple[float, float]]]
    reference: dict[str, tuple[float, float]]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def part(self) -> Part | None:
        return SPLIT.get(self.name)


def read_cephalograms(root: Path, parts: tuple[Part, ...] = ("train", "tune", "test")) -> list[AnnotatedCephalogram]:
    """The annotated cephalograms under ``root`` whose split part is in ``parts``, sorted by name.

    Raises :class:`DatasetError` when ``root`` has no ``landmarks.csv`` or names an image
    that is not there.
    """
    table = Path(root) / "landmarks.csv"
    if not table.is_file():
        raise DatasetError(f"The cephalogram folder {root} has no landmarks.csv.")
    raw: dict[str, dict[str, dict[str, list[tuple[float, float]]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    with table.open(newline="") as handle:
        for row in csv.DictReader(handle):
            raw[row["image"]][row["annotator"]][row["label"]].append((float(row["x"]), float(row["y"])))
    result = []
    for name in sorted(raw):
        if SPLIT.get(name) not in parts:
            continue
        path = Path(root) / name
        if not path.is_file():
            raise DatasetError(f"landmarks.csv names {name}, which is not in {root}.")
        annotators = {who: _unambiguous(points) for who, points in raw[name].items() if who in ANNOTATORS}
        result.append(AnnotatedCephalogram(path, annotators, _reference(annotators)))
    return result


def _unambiguous(points: dict[str, list[tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    """One annotator's points of one image with the known slips repaired (module docstring)."""
    chosen = {label: spots[0] for label, spots in points.items() if len(spots) == 1}
    if "l18" not in points and len(points.get("l17", [])) == 2 and "l15" in chosen:
        subnasale = np.array(chosen["l15"])
        near, far = sorted(points["l17"], key=lambda spot: float(np.hypot(*(np.array(spot) - subnasale))))
        chosen["l18"], chosen["l17"] = near, far
    return chosen


def _reference(annotators: dict[str, dict[str, tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    reference = {}
    for label in CEPH_LABELS:
        spots = [points[label] for points in annotators.values() if label in points]
        if spots:
            reference[label] = (float(np.mean([s[0] for s in spots])), float(np.mean([s[1] for s in spots])))
    return reference
