"""Put a run's best global and local weights into one landmark model, fitted on tuning images.

What is fitted here, on the run's **tuning** images only (never the test images):

* ``anchor_sd``: the width of the Gaussian around the global stage's point that weighs the
  local heatmap (:class:`~.detector.XrayLandmarkDetector`), and, for a model with a shape
  prior, ``shape_anchor`` (the second reading of each bony point around where the shape of the
  others puts it): the pair of :data:`ANCHOR_GRID` x :data:`SHAPE_ANCHOR_GRID` with the lowest
  mean radial error (0, no weighting, is one of each; and the prior left out, which drops it
  from the model when that places the points best), and for a frontal model whether its
  points are the mean of the image's reading and of its mirror image's (``mirror_average``);
* ``sd_scale``: the reported per-axis standard deviation is the local heatmap's spread times
  this factor, chosen so that on the tuning images the mean squared radial error equals
  ``2 sd^2`` (what a two-dimensional Gaussian error of that spread gives);
* ``thresholds.peak_mass``: a point whose local peak holds less probability than half of the
  5th percentile on tuning images is flagged low-confidence;
* ``thresholds.image_score``: an image whose mean score is below half of the lowest tuning
  image's is flagged as not looking like this view of a skull;
* the mean shape (from the training images) and ``shape_threshold``: 1.5 times the largest
  shape residual of a tuning image;
* the shape prior (:mod:`.shape_prior`) over the cephalometric points, one component for the
  real training images' annotations and one for the synthetic training X-rays' generator
  points (:func:`fit_shape_prior`; :func:`add_shape_prior` gives an existing model one), and
  its ``sd_scale`` from the points it placed on the tuning images (which the networks' own
  ``sd_scale`` and confidence threshold leave out).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from crossid_desktop.anatomy.landmarks import find_landmark
from crossid_desktop.errors import DatasetError
from crossid_desktop.matching.landmarks.cephalograms import read_cephalograms
from crossid_desktop.matching.landmarks.detector import XrayLandmarkDetector
from crossid_desktop.matching.landmarks.frames import apply, invert
from crossid_desktop.matching.landmarks.heatmaps import PRESENT
from crossid_desktop.matching.landmarks.model_file import LandmarkModelCard, read_landmark_model, save_landmark_model
from crossid_desktop.matching.landmarks.points import label_of, name_of_label
from crossid_desktop.matching.landmarks.shape import ShapeModel
from crossid_desktop.matching.landmarks.shape_prior import ShapePrior
from crossid_desktop.matching.landmarks.synthetic_points import cohort_points
from crossid_desktop.matching.landmarks.train_config import LandmarkTrainConfig, TrainingSets
from crossid_desktop.matching.landmarks.training import build_net
from crossid_desktop.matching.landmarks.training_data import LandmarkSample


def assemble(config: LandmarkTrainConfig, sets: TrainingSets, run_dir: Path, prior_cohorts: Sequence[Path] = ()) -> Path:
    """Write ``run_dir/model.pt`` and its card from ``global_best.pt`` and ``local_best.pt``.

    The shape prior's synthetic component is fitted on the generator points of the training
    X-rays, or, with ``prior_cohorts``, on those cohorts' X-rays instead (more shapes than the
    networks were trained on); either way before the anchor widths are chosen, so that they are
    chosen with the prior the model carries."""
    state: dict[str, torch.Tensor] = {}
    steps = {}
    for stage in ("global", "local"):
        saved = torch.load(run_dir / f"{stage}_best.pt", map_location="cpu", weights_only=True)
        build_net(config, stage, len(sets.names)).load_state_dict(saved["model"])  # shape check
        state.update({f"{stage}.{k}": v for k, v in saved["model"].items()})
        steps[stage] = int(saved["step"])
    shapes = [_original_points(s) for s in sets.real + sets.synthetic]
    mean = ShapeModel.fit(shapes) if shapes else np.zeros((0, 2))
    if prior_cohorts:
        synthetic, source = _cohort_shapes(sets.names, config.view, prior_cohorts)
    else:
        synthetic, source = [_original_points(s) for s in sets.synthetic], "the synthetic training X-rays' generator points"
    prior = fit_shape_prior(config.view, sets.names, {"real": ([_original_points(s) for s in sets.real], "the real training cephalograms' reference points"),
                                                      "synthetic": (synthetic, source)})
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
        shape_prior=prior.to_dict() if prior is not None else {},
        training={"config": json_safe(dataclasses.asdict(config)), "best_steps": steps,
                  "images": {"real_train": [s.name for s in sets.real], "tune": [s.name for s in sets.tune], "synthetic_train": len(sets.synthetic)},
                  **({"shape_prior": {"groups": {c.name: c.source for c in prior.components}, "prior_cohorts": [str(c) for c in prior_cohorts]}}
                     if prior is not None and prior_cohorts else {})},
    )
    card = _fit_anchor(state, card, sets.tune)
    detector = XrayLandmarkDetector(state, card)
    card = _fit(detector, sets.tune, card)
    save_landmark_model(run_dir / "model.pt", state, card)
    return run_dir / "model.pt"


#: the anchor widths (global-canvas pixels) tried on the tuning images; on the previous lateral
#: model's 10 tuning cephalograms 1.0-1.5 gave 1.55-1.57 mm against 1.79 mm unweighted
ANCHOR_GRID = (0.0, 1.0, 1.25, 1.5, 2.0, 3.0)
#: the second reading's factors on the shape prior's spread tried with each width (models with a
#: shape prior only); on the previous lateral model's tuning cephalograms 0.7 with the width 1.5
#: gave 1.48 mm against 1.55 mm without
SHAPE_ANCHOR_GRID = (0.0, 0.5, 0.7, 1.0)


def _fit_anchor(state: dict[str, torch.Tensor], card: LandmarkModelCard, tune: list[LandmarkSample]) -> LandmarkModelCard:
    """The card with the ``anchor_sd`` of :data:`ANCHOR_GRID` (and, with a shape prior, the
    ``shape_anchor`` of :data:`SHAPE_ANCHOR_GRID`, or the prior left out; for a frontal model,
    ``mirror_average`` or not) that places the tuning samples' points best (lowest mean radial
    error, the smaller settings on a tie, and on a tie no prior; unchanged without tuning
    samples), and what each gave in ``training.anchor_sd``.

    The prior is left out when the best setting is one without it: a network that rarely strays
    gains nothing from the shape check, and a point the check moves is then more often moved
    away from where it lies than onto it (the lateral model of 2026-12-03 on its tuning
    cephalograms: 1.17 mm with its prior, 1.08 mm without)."""
    if not tune:
        return card
    images = [(_original_image(sample), _original_points(sample)) for sample in tune]
    readings = [(True, f) for f in SHAPE_ANCHOR_GRID] + [(False, 0.0)] if card.shape_prior else [(False, 0.0)]
    mirrors = (False, True) if card.view == "xray-front" else (False,)
    tried = {}
    for width in ANCHOR_GRID:
        for prior, factor in readings:
            for mirror in mirrors:
                settings = dataclasses.replace(card, anchor_sd=width, shape_anchor=factor, mirror_average=mirror,
                                               shape_prior=card.shape_prior if prior else {})
                detector = XrayLandmarkDetector(state, settings)
                errors = [float(np.hypot(p.x - truth[k, 0], p.y - truth[k, 1])) for image, truth in images
                          for k, p in enumerate(detector.detect(image).points) if not p.missing and not np.isnan(truth[k]).any()]
                tried[(width, factor, mirror, prior)] = float(np.mean(errors)) if errors else float("inf")
    width, factor, mirror, prior = min(tried, key=lambda key: (tried[key], key))

    def label(key: tuple[float, float, bool, bool]) -> str:
        reading = ([f"{key[1]}" if key[3] else "no prior"] if card.shape_prior else [])
        return "/".join([f"{key[0]}"] + reading + (["mirrored" if key[2] else "single"] if len(mirrors) > 1 else []))

    chosen = {"chosen": width, "shape_anchor": factor, "mirror_average": mirror, "tune_mre_px": {label(key): e for key, e in tried.items()}}
    if card.shape_prior:
        chosen["shape_prior"] = prior
    training = {**card.training, "anchor_sd": chosen}
    if card.shape_prior and not prior:
        training["shape_prior_left_out"] = ("fitted, then left out: the tuning points were placed best without it "
                                            "(training.anchor_sd)")
    return dataclasses.replace(card, anchor_sd=width, shape_anchor=factor, mirror_average=mirror,
                               shape_prior=card.shape_prior if prior else {}, training=training)


def prior_points(view: str, names: Sequence[str]) -> tuple[str, ...]:
    """The points a shape prior covers: the cephalometric ones (real annotations constrain
    them); none for a frontal model, which has no real images to learn real shapes from."""
    return tuple(n for n in names if label_of(n, view))


def fit_shape_prior(view: str, names: Sequence[str], groups: dict[str, tuple[list[np.ndarray], str]]) -> ShapePrior | None:
    """A :class:`~.shape_prior.ShapePrior` from ``{group: ((K, 2) shapes in the order of
    ``names``, NaN where unknown), source)}``; None where the view has no prior points or no
    group has 5 complete shapes. The soft-tissue points are kept as found (they inform the
    others): they lie on the skin's edge against air, which the networks find well, and where
    they lie relative to the bone varies with the lips' posture (chosen on the tuning images)."""
    points = prior_points(view, names)
    if not points:
        return None
    rows = [list(names).index(p) for p in points]
    usable = {}
    for group, (shapes, source) in groups.items():
        cut = [np.asarray(s, np.float64)[rows] for s in shapes]
        if sum(not np.isnan(s).any() for s in cut) >= 5:
            usable[group] = (cut, source)
    kept = tuple(n for n in points if find_landmark(view, n).tissue == "skin")
    return ShapePrior.fit(points, usable, kept=kept) if usable else None


def add_shape_prior(model: Path, out: Path, *, ceph_dir: Path | None, cohort_dirs: Sequence[Path], command: Sequence[str]) -> LandmarkModelCard:
    """Copy ``model`` to ``out`` with a shape prior fitted on the ``train`` cephalograms of
    ``ceph_dir`` (their reference points) and the generator points of ``cohort_dirs``' X-rays."""

    state, card = read_landmark_model(model)
    groups: dict[str, tuple[list[np.ndarray], str]] = {}
    if ceph_dir is not None:
        real = [{name_of_label(label): xy for label, xy in c.reference.items()} for c in read_cephalograms(ceph_dir, ("train",))]
        groups["real"] = ([_ordered(card.landmarks, r) for r in real], f"the reference points of the {len(real)} train cephalograms of {Path(ceph_dir).name}")
    synthetic, source = _cohort_shapes(card.landmarks, card.view, cohort_dirs)
    if synthetic:
        groups["synthetic"] = (synthetic, source)
    prior = fit_shape_prior(card.view, card.landmarks, groups)
    if prior is None:
        raise DatasetError(f"No shape prior can be fitted for a {card.view} model from these data (it needs cephalometric points in 5 complete shapes).")
    tune = [(cv2.imread(str(c.path), cv2.IMREAD_UNCHANGED), _ordered(card.landmarks, {name_of_label(label): xy for label, xy in c.reference.items()}))
            for c in read_cephalograms(ceph_dir, ("tune",))] if ceph_dir is not None else []
    card = dataclasses.replace(card, shape_prior=prior.to_dict())
    if tune:
        card = _with_prior_scale(card, _prior_sd_scale(XrayLandmarkDetector(state, card), tune))
    training = {**card.training, "shape_prior": {"command": list(command), "groups": {c.name: c.source for c in prior.components},
                                                 "sd_scale_from": f"{len(tune)} tune cephalograms" if tune else "nothing (1.0)"}}
    return save_landmark_model(out, state, dataclasses.replace(card, training=training))


def _with_prior_scale(card: LandmarkModelCard, scale: float) -> LandmarkModelCard:
    """The card with its shape prior's ``sd_scale`` set to ``scale`` and ``shape_anchor``
    rescaled so that the second reading's width (``shape_anchor`` times the prior's spread times
    its ``sd_scale``) stays the one the scale was measured with."""
    before = float(card.shape_prior.get("sd_scale", 1.0))
    return dataclasses.replace(card, shape_prior={**card.shape_prior, "sd_scale": scale},
                               shape_anchor=card.shape_anchor * before / scale if scale > 0 else card.shape_anchor)


def _prior_sd_scale(detector: XrayLandmarkDetector, tune: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """The factor that makes the placed points' reported sd honest on tuning images ``(image,
    (K, 2) true points)``: mean squared radial error = ``2 sd^2``; 1.0 where none was placed."""
    errors, sds = [], []
    for image, truth in tune:
        for k, point in enumerate(detector.detect(image).points):
            if point.from_shape and not np.isnan(truth[k]).any():
                errors.append(float(np.hypot(point.x - truth[k, 0], point.y - truth[k, 1])))
                sds.append(float(point.sd))
    return _honest_scale(errors, sds)


def _honest_scale(errors: Sequence[float], sds: Sequence[float]) -> float:
    """The factor on ``sds`` that makes the mean squared radial error ``2 sd^2`` (what a
    two-dimensional Gaussian error of that per-axis spread gives); 1.0 without errors."""
    return float(np.sqrt(np.mean(np.square(errors)) / (2.0 * np.mean(np.square(sds))))) if errors else 1.0


def _ordered(names: Sequence[str], points: Mapping[str, tuple[float, float] | None]) -> np.ndarray:
    return np.array([points.get(n) or (np.nan, np.nan) for n in names], np.float64)


def _cohort_shapes(names: Sequence[str], view: str, cohorts: Sequence[Path]) -> tuple[list[np.ndarray], str]:
    """The generator points of the ``view`` X-rays of synthetic ``cohorts`` (each ``(K, 2)`` in the
    order of ``names``, NaN where unknown) for a shape prior's synthetic component, and their source in words."""
    shapes = [_ordered(names, points) for cohort in cohorts for _, points, _, _ in cohort_points(Path(cohort), view)]
    return shapes, f"the generator points of {len(shapes)} synthetic X-rays ({', '.join(Path(c).name for c in cohorts)})"


def _fit(detector: XrayLandmarkDetector, tune: list[LandmarkSample], card: LandmarkModelCard) -> LandmarkModelCard:
    """The card with what the tuning samples set (module docstring). The networks' own points
    set ``sd_scale`` and the confidence threshold; the points the shape prior placed, whose sd and
    confidence are not the networks', set the prior's ``sd_scale`` alone."""
    errors, sds, masses, scores, residuals, placed_errors, placed_sds = [], [], [], [], [], [], []
    per_landmark: dict[str, list[float]] = {n: [] for n in card.landmarks}
    for sample in tune:
        image = _original_image(sample)
        found = detector.detect(image)
        truth = _original_points(sample)
        for k, point in enumerate(found.points):
            if sample.state[k] == PRESENT and not point.missing:
                error = float(np.hypot(point.x - truth[k, 0], point.y - truth[k, 1]))
                per_landmark[point.name].append(error)
                if point.from_shape:
                    placed_errors.append(error)
                    placed_sds.append(point.sd)
                    continue
                errors.append(error)
                sds.append(point.sd)
                masses.append(point.confidence)
        scores.append(found.image_score)
        residuals.append(found.shape_residual)
    sd_scale = _honest_scale(errors, sds)
    if card.shape_prior:
        card = _with_prior_scale(card, _honest_scale(placed_errors, placed_sds))
    all_errors = errors + placed_errors
    thresholds = {"presence": 0.5, "peak_mass": float(0.5 * np.percentile(masses, 5)) if masses else 0.0,
                  "image_score": float(0.5 * min(scores)) if scores else 0.0}
    finite = [r for r in residuals if np.isfinite(r)]
    metrics = {"tune": {"images": len(tune), "mre_px": float(np.mean(all_errors)) if all_errors else None,
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
