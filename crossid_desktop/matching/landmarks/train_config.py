"""What a landmark-model training run uses: its settings and its images.

:class:`LandmarkTrainConfig` is written to ``RUN_DIR/config.json`` and read back on resume.
:func:`training_sets` turns it into training samples, tuning samples and negative images:

* real lateral cephalograms (``ceph_dir``): the ``train`` part of
  :data:`~crossid_desktop.matching.landmarks.cephalograms.SPLIT` trains, the ``tune`` part
  chooses checkpoints and fits the uncertainty scale and thresholds; ``test`` is never read;
* synthetic cohorts (``cohort_dirs``, written by ``crossid synth``): the X-rays of this view
  with the generator's landmarks; the last ``synthetic_tune_fraction`` of the people tune;
* negatives: the X-rays of the *other* view and the face photos of these cohorts and of
  ``negative_dirs`` (any cohort, landmarks or not), and random textures.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from crossid_desktop.errors import DatasetError
from crossid_desktop.matching.landmarks.cephalograms import read_cephalograms
from crossid_desktop.matching.landmarks.frames import Frames
from crossid_desktop.matching.landmarks.heatmaps import ABSENT, PRESENT, UNKNOWN
from crossid_desktop.matching.landmarks.points import name_of_label, view_landmarks
from crossid_desktop.matching.landmarks.synthetic_points import cohort_points
from crossid_desktop.matching.landmarks.training_data import LandmarkSample, make_sample, negative_sample


@dataclass(frozen=True)
class LandmarkTrainConfig:
    """Settings of one training run (see ``crossid train-landmarks --help`` for each)."""

    view: str
    ceph_dir: str | None = None
    cohort_dirs: tuple[str, ...] = ()
    negative_dirs: tuple[str, ...] = ()
    global_steps: int = 700
    local_steps: int = 1500
    batch_global: int = 8
    batch_local: int = 16
    lr: float = 2e-3
    seed: int = 0
    size: int = 192
    zoom: float = 5.0
    crop: int = 96
    sigma_global: float = 1.5
    sigma_local: float = 2.0
    global_widths: tuple[int, ...] = (12, 16, 24, 32, 48, 64)
    local_widths: tuple[int, ...] = (16, 24, 32, 48, 64)
    negative_fraction: float = 0.15
    real_fraction: float = 0.5
    synthetic_tune_fraction: float = 0.1
    eval_every: int = 100
    command: tuple[str, ...] = field(default=(), compare=False)
    #: later commands that changed the run (a new number of steps on resume), with the step each stage had reached
    changes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def frames(self) -> Frames:
        return Frames(self.size, self.zoom, self.crop)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LandmarkTrainConfig:
        data: dict[str, Any] = json.loads(text)
        for key in ("cohort_dirs", "negative_dirs", "global_widths", "local_widths", "command", "changes"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


@dataclass(frozen=True)
class TrainingSets:
    """Samples of a run: ``real`` and ``synthetic`` train, ``tune`` (real first), ``negatives``."""

    names: tuple[str, ...]
    real: list[LandmarkSample]
    synthetic: list[LandmarkSample]
    tune: list[LandmarkSample]
    negatives: list[LandmarkSample]


def training_sets(config: LandmarkTrainConfig) -> TrainingSets:
    """Read every image the run trains and tunes on (module docstring)."""
    names = view_landmarks(config.view)
    frames = config.frames
    real, tune, synthetic, negatives = [], [], [], []
    if config.ceph_dir:
        if config.view != "xray-side":
            raise DatasetError("The real cephalograms are lateral views; use them with --view xray-side only.")
        for ceph in read_cephalograms(Path(config.ceph_dir), ("train", "tune")):
            points, state = _arrays(names, {name_of_label(label): xy for label, xy in ceph.reference.items()})
            sample = make_sample(ceph.name, cv2.imread(str(ceph.path), cv2.IMREAD_UNCHANGED), points, state, frames)
            (tune if ceph.part == "tune" else real).append(sample)
    for cohort in config.cohort_dirs:
        people = cohort_points(Path(cohort), config.view)
        n_tune = int(round(len(people) * config.synthetic_tune_fraction))
        for index, (path, points_by_name, height, width) in enumerate(people):
            points, state = _arrays(names, points_by_name, absent_outside=(height, width))
            sample = make_sample(f"{Path(cohort).name}/{path.parent.name}/{path.name}", cv2.imread(str(path), cv2.IMREAD_UNCHANGED), points, state, frames)
            (tune if index >= len(people) - n_tune else synthetic).append(sample)
    for cohort in dict.fromkeys((*config.cohort_dirs, *config.negative_dirs)):
        negatives.extend(_cohort_negatives(Path(cohort), config.view, len(names), frames))
    if not real and not synthetic:
        raise DatasetError("A landmark training run needs --ceph-dir (lateral) or --cohort with landmarks in its params.json.")
    return TrainingSets(names, real, synthetic, tune, negatives)


def _arrays(names: tuple[str, ...], points: dict[str, tuple[float, float] | None], absent_outside: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(K, 2)`` positions and ``(K,)`` states for the model's landmark order. A point given
    as None is ABSENT; a point not given is UNKNOWN; with ``absent_outside = (H, W)`` a point
    outside the image is ABSENT."""
    xy = np.full((len(names), 2), np.nan)
    state = np.full(len(names), UNKNOWN, np.int8)
    for i, name in enumerate(names):
        if name not in points:
            continue
        value = points[name]
        if value is None:
            state[i] = ABSENT
            continue
        xy[i] = value
        state[i] = PRESENT
        if absent_outside is not None:
            height, width = absent_outside
            if not (-0.5 <= value[0] <= width - 0.5 and -0.5 <= value[1] <= height - 0.5):
                state[i] = ABSENT
    return xy, state


def _cohort_negatives(root: Path, view: str, n_landmarks: int, frames: Frames, limit: int = 40) -> list[LandmarkSample]:
    """X-rays of the other view and face photos of a cohort, as negatives (at most ``limit`` of each)."""
    other = "xray_front.png" if view == "xray-side" else "xray_side.png"
    s2f = root / "s2f" if (root / "s2f").is_dir() else root
    out = []
    for pattern in (other, "face_front.png", "face_side.png"):
        for path in sorted(s2f.glob(f"*/{pattern}"))[:limit]:
            out.append(negative_sample(str(path), cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), n_landmarks, frames))
    return out
