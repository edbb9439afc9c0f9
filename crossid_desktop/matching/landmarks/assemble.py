"""Put a run's best global and local weights into one landmark model, fitted on tuning images.

What is fitted here, on the run's **tuning** images only (never the test images):

* ``sd_scale``: the reported per-axis standard deviation is the local heatmap's spread times
  this factor, chosen so that on the tuning images the mean squared radial error equals
  ``2 sd^2`` (what a two-dimensional Gaussian error of that spread gives);
* ``thresholds.peak_mass``: a point whose local peak holds less probability than half of the
  5th percentile on tuning images is flagged low-confidence;
* ``thresholds.image_score``: an image whose mean score is below half of the lowest tuning
  image's is flagged as not looking like this view of a skull;
* the mean shape (from the training images) and ``shape_threshold``: 1.5 times the largest
  shape residual of a tuning image.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from crossid_desktop.matching.landmarks.detector import XrayLandmarkDetector
from crossid_desktop.matching.landmarks.frames import apply, invert
from crossid_desktop.matching.landmarks.heatmaps import PRESENT
from crossid_desktop.matching.landmarks.model_file import LandmarkModelCard, save_landmark_model
from crossid_desktop.matching.landmarks.points import label_of
from crossid_desktop.matching.landmarks.shape import ShapeModel
from crossid_desktop.matching.landmarks.train_config import LandmarkTrainConfig, TrainingSets
from crossid_desktop.matching.landmarks.training import build_net
from crossid_desktop.matching.landmarks.training_data import LandmarkSample


def assemble(config: LandmarkTrainConfig, sets: TrainingSets, run_dir: Path) -> Path:
    """Write ``run_dir/model.pt`` and its card from ``global_best.pt`` and ``local_best.pt``."""
    state: dict[str, torch.Tensor] = {}
    steps = {}
    for stage in ("global", "local"):
        saved = torch.load(run_dir / f"{stage}_best.pt", map_location="cpu", weights_only=True)
        build_net(config, stage, len(sets.names)).load_state_dict(saved["model"])  # shape check
        state.update({f"{stage}.{k}": v for k, v in saved["model"].items()})
        steps[stage] = int(saved["step"])
    shapes = [_original_points(s) for s in sets.real + sets.synthetic]
    mean = ShapeModel.fit(shapes) if shapes else np.zeros((0, 2))
    card = LandmarkModelCard(
        name=f"xray-landmarks-{config.view.removeprefix('xray-')}",
        view=config.view,
        landmarks=sets.names,
        labels={n: label_of(n, config.view) for n in sets.names if label_of(n, config.view)},
        frames=config.frames.to_dict(),
        global_net=build_net(config, "global", len(sets.names)).config.to_dict(),
        local_net=build_net(config, "local", len(sets.names)).config.to_dict(),
        sigma_global=config.sigma_global,
        sigma_local=config.sigma_local,
        shape_mean=[[None if np.isnan(v) else float(v) for v in row] for row in mean],
        training={"config": json_safe(dataclasses.asdict(config)), "best_steps": steps,
                  "images": {"real_train": [s.name for s in sets.real], "tune": [s.name for s in sets.tune], "synthetic_train": len(sets.synthetic)}},
    )
    detector = XrayLandmarkDetector(state, card)
    card = _fit(detector, sets.tune, card)
    save_landmark_model(run_dir / "model.pt", state, card)
    return run_dir / "model.pt"


def _fit(detector: XrayLandmarkDetector, tune: list[LandmarkSample], card: LandmarkModelCard) -> LandmarkModelCard:
    errors, sds, masses, scores, residuals = [], [], [], [], []
    per_landmark: dict[str, list[float]] = {n: [] for n in card.landmarks}
    for sample in tune:
        image = _original_image(sample)
        found = detector.detect(image)
        truth = _original_points(sample)
        for k, point in enumerate(found.points):
            if sample.state[k] == PRESENT and not point.missing:
                error = float(np.hypot(point.x - truth[k, 0], point.y - truth[k, 1]))
                errors.append(error)
                per_landmark[point.name].append(error)
                sds.append(point.sd)
                masses.append(point.confidence)
        scores.append(found.image_score)
        residuals.append(found.shape_residual)
    sd_scale = float(np.sqrt(np.mean(np.square(errors)) / (2.0 * np.mean(np.square(sds))))) if errors else 1.0
    thresholds = {"presence": 0.5, "peak_mass": float(0.5 * np.percentile(masses, 5)) if masses else 0.0,
                  "image_score": float(0.5 * min(scores)) if scores else 0.0}
    finite = [r for r in residuals if np.isfinite(r)]
    metrics = {"tune": {"images": len(tune), "mre_px": float(np.mean(errors)) if errors else None,
                        "per_landmark_mre_px": {n: float(np.mean(v)) for n, v in per_landmark.items() if v},
                        "image_scores": [float(s) for s in scores], "shape_residuals": [float(r) for r in residuals]}}
    return dataclasses.replace(card, sd_scale=sd_scale * card.sd_scale, thresholds=thresholds,
                               shape_threshold=float(1.5 * max(finite)) if finite else float("inf"), metrics=metrics)


def _original_points(sample: LandmarkSample) -> np.ndarray:
    """A sample's points in its original image's pixels, NaN where not PRESENT."""
    return np.where((sample.state == PRESENT)[:, None], sample.points, np.nan)


def _original_image(sample: LandmarkSample) -> np.ndarray:
    """The sample's local-scale copy brought back to the original size (the original is not
    kept in memory; at the local scale it has the detail the detector uses)."""
    back = invert(sample.local_map)
    height = int(round(apply(back, np.array([[0.0, sample.local_image.shape[0] - 0.5]]))[0, 1] + 0.5))
    width = int(round(apply(back, np.array([[sample.local_image.shape[1] - 0.5, 0.0]]))[0, 0] + 0.5))
    return cv2.resize(sample.local_image, (width, height), interpolation=cv2.INTER_LINEAR)


def json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
