"""Find the landmarks of a skull X-ray: global heatmaps, then local refinement (torch).

1. **Global stage.** The whole normalised image on a square canvas (192 px in the bundled
   models, :class:`~.frames.Frames`); one heatmap per
   landmark (plus its "not in the image" bin) at half that resolution. A lateral view is read
   both as it is and mirrored, and the reading with the higher image score is kept: the network
   was trained on heads facing right, and an image facing left is mirrored first.
2. **Local stage.** Around each point the global stage found, a 96 px crop at five times
   the global detail; a second network places the point within it. A point that moved more
   than a quarter of the crop is looked at again from its new place. Where the card gives the
   global stage's error (``anchor_sd``), the local heatmap is read weighted by a Gaussian of
   that spread around the global stage's point (:meth:`XrayLandmarkDetector._anchor_weights`):
   the local network sees only its crop, and on real cephalograms it often prefers a
   look-alike structure 5-19 mm from the point (orbitale, articulare, porion, subspinale,
   nasion, sella), where the global stage, which sees the whole head, was within a few mm (on
   the 10 tune cephalograms: global points 1.94 mm mean radial error, unweighted local ones
   2.50 mm). Both stages' evidence counts: a local peak far from the global point must be much
   stronger to win, and near it the local network's detail decides.
3. **Shape.** The points the model's shape prior knows are checked against the shape of the
   others (:mod:`.shape_prior`); a point that does not fit is placed again from the others,
   with that placement's spread as its ``sd``, and flagged. Where the card gives
   ``shape_anchor``, each other bony point the prior knows is then read again from its local
   heatmap weighted also by a Gaussian around where the shape of the others puts it (the
   prior's spread times ``shape_anchor``; :meth:`XrayLandmarkDetector._reread`): of two
   candidates the local network sees, the one the skull's shape agrees with wins, while a lone
   clear peak keeps its place. On the 10 tune cephalograms (lateral): 1.55 -> 1.50 mm with the
   anchor of 1.25; with ``anchor_sd`` 1.5 and ``shape_anchor`` 0.7 (both chosen there, grid
   0.5/0.7/1.0): 1.48 mm (train images 1.17 -> 1.11 mm; synthetic lateral X-rays of seed 41
   0.47 -> 0.46 % of the skull's height; same speed). The networks retrained on 2026-12-03 need
   neither the second reading nor the prior: their assembly left both out (1.08 mm on the tune
   cephalograms, 1.17 mm with the prior).
4. **Mirrored reading** (a frontal model whose card sets ``mirror_average``). The image is read
   again mirrored left to right, each side's points exchanged, and each point found by both
   readings is placed at their mean (its ``sd``, presence and confidence the mean of the two;
   where the two lie more than three combined sds apart, about 1 % of the points of synthetic
   X-rays, its confidence is 0: it is flagged low-confidence for the examiner. Widening its sd to
   half the distance instead made one frontal X-ray of a test cohort too uncertain to assess as
   a whole and was not kept); a point found by one reading only keeps the first reading's place,
   or stays missing, and a side's point without its other side in the model is not averaged. A
   frontal skull is nearly symmetric, and the two readings err partly independently: on the
   frontal X-rays of synthetic seed 4343 (40 people, a seed used for nothing else) 0.37 -> 0.32 %
   of the skull's height (95th percentile 1.23 -> 1.07 %; weighting by the stated sd: 0.32 %).
5. **Reading.** Position: the probability-weighted mean near the local peak. Uncertainty
   (``sd``, image pixels, per axis): the local heatmap's spread times a factor fitted on tuning
   images. A point whose null bin wins (``presence`` < threshold) or that falls outside the
   image is **missing**, never clipped to the border. A point with little probability near its
   peak is flagged low-confidence; the image as a whole is flagged when its mean confidence is
   low or the points are not arranged like a skull (:mod:`.shape`). In a model without a shape
   prior (the frontal one), when leaving out one point brings the others back into a skull's
   arrangement, that point is reported **missing** with a warning saying where the others put it
   (:meth:`~.shape.ShapeModel.odd_one`): a vertex just above the image's edge was otherwise read
   60-120 px inside it (two frontal X-rays of a synthetic cohort with doubled pose variation).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from crossid_desktop.imaging.xray import normalise_xray
from crossid_desktop.matching.landmarks.frames import Frames, apply, compose, invert, warp
from crossid_desktop.matching.landmarks.heatmap_net import HeatmapNet, HeatmapNetConfig
from crossid_desktop.matching.landmarks.heatmaps import Readout, read_heatmaps
from crossid_desktop.matching.landmarks.model_file import LandmarkModelCard, read_landmark_model
from crossid_desktop.matching.landmarks.notes import low_confidence_warning
from crossid_desktop.matching.landmarks.shape import ShapeModel
from crossid_desktop.matching.landmarks.shape_prior import ShapePrior
from crossid_desktop.matching.landmarks.training_data import network_input

#: two readings of a point (the image's and its mirror image's) this many combined sds apart disagree
MIRROR_DISAGREEMENT = 3.0
#: one reading of an image: positions ``(K, 2)`` and sd ``(K,)`` (image pixels), presence and
#: confidence ``(K,)``, which points were found, whether it was read mirrored (a lateral view
#: facing left), which points were placed from the shape of the others
Reading = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_], bool, NDArray[np.bool_]]
#: one landmark's last local reading: its heatmap grid ``(1, h, w)`` and null bin, the map from
#: the resized image into its crop, the map from the image to the resized image, and the global
#: stage's point in the resized image (what :meth:`XrayLandmarkDetector._reread` reads again)
LocalReading = tuple[torch.Tensor, torch.Tensor, NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


@dataclass(frozen=True)
class DetectedPoint:
    """One landmark as found: ``x``, ``y`` and ``sd`` in image pixels (None when missing);
    ``from_shape``: placed from the other points because where the networks put it did not fit
    them (:mod:`.shape_prior`); ``left_out``: found but reported missing because it kept the
    others from a skull's arrangement (step 5)."""

    name: str
    label: str | None
    x: float | None
    y: float | None
    sd: float | None
    presence: float
    confidence: float
    low_confidence: bool
    from_shape: bool = False
    left_out: bool = False

    @property
    def missing(self) -> bool:
        return self.x is None


@dataclass(frozen=True)
class Detection:
    """All landmarks of one image, and what the detector thinks of the image as a whole.

    Attributes:
        points: one per landmark of the model, in the model's order.
        mirrored: the image faced left and was read mirrored (lateral view).
        image_score: mean over landmarks of presence x confidence, in [0, 1].
        shape_residual: :func:`~.shape.shape_residual` of the found points (NaN: too few).
        warnings: sentences for the examiner; empty when nothing is doubtful.
    """

    points: tuple[DetectedPoint, ...]
    mirrored: bool
    image_score: float
    shape_residual: float
    warnings: tuple[str, ...]

    @property
    def low_confidence(self) -> bool:
        return bool(self.warnings)


class XrayLandmarkDetector:
    """A loaded landmark model for one X-ray view. Build with :meth:`load` or from weights."""

    def __init__(self, state: dict[str, torch.Tensor], card: LandmarkModelCard) -> None:
        self.card = card
        self.frames = Frames(**card.frames)
        self.global_net = _net(state, "global.", card.global_net)
        self.local_net = _net(state, "local.", card.local_net)
        mean = np.array([[np.nan if v is None else v for v in row] for row in card.shape_mean], float).reshape(-1, 2)
        self.shape = ShapeModel(mean, card.shape_threshold) if mean.size else None
        self.prior = ShapePrior.from_dict(card.shape_prior) if card.shape_prior else None
        self._prior_rows = np.array([card.landmarks.index(n) for n in self.prior.points]) if self.prior is not None else np.zeros(0, int)

    @classmethod
    def load(cls, path: str | Path) -> XrayLandmarkDetector:
        state, card = read_landmark_model(path)
        return cls(state, card)

    @torch.no_grad()
    def detect(self, image: NDArray[Any]) -> Detection:
        """Landmarks of ``image`` (``(H, W)`` grey or ``(H, W, 3)``, any dtype
        :func:`~crossid_desktop.imaging.xray.normalise_xray` takes), in its own pixel coordinates."""
        grey = normalise_xray(image)
        reading = self._read(grey)
        if self.card.mirror_average and self.card.view == "xray-front":
            reading = _averaged(reading, self._read(grey[:, ::-1].copy()), self._partners, grey.shape[1])
        xy, sd, presence, confidence, found, mirrored, placed = reading
        return self._result(xy, sd, presence, confidence, found, mirrored, grey.shape, placed)

    @functools.cached_property
    def _partners(self) -> NDArray[np.intp]:
        """For each landmark, the row of its mirror image (the other side's point; itself on the
        midline); -1 for a side's point whose other side the model does not have (not averaged)."""
        names = self.card.landmarks
        swapped = [n[: -len("_right")] + "_left" if n.endswith("_right") else n[: -len("_left")] + "_right" if n.endswith("_left") else n
                   for n in names]
        return np.array([names.index(n) if n in names else -1 for n in swapped], dtype=np.intp)

    def _read(self, grey: NDArray[np.float32]) -> Reading:
        """One reading of the normalised image (:data:`Reading`), in its pixel coordinates."""
        width = grey.shape[1]
        readings = [self._global(grey, False)]
        if self.card.view == "xray-side":
            readings.append(self._global(grey[:, ::-1].copy(), True))
        score, mirrored, reading, to_canvas = max(readings, key=lambda r: r[0])
        work = grey[:, ::-1].copy() if mirrored else grey
        global_xy = apply(invert(to_canvas), reading.xy)
        present = reading.presence >= self.card.thresholds["presence"]
        inside = _inside(global_xy, grey.shape)
        found = np.flatnonzero(present & inside)
        xy, sd, confidence = global_xy.copy(), np.full(len(global_xy), np.nan), reading.peak_mass.copy()
        maps: dict[int, LocalReading] = {}
        if found.size:
            xy[found], sd[found], confidence[found] = self._local(work, global_xy[found], found, maps)
        placed = self._reshaped(xy, sd, present & inside, maps)
        if mirrored:
            xy[:, 0] = width - 1 - xy[:, 0]
        return xy, sd, reading.presence, confidence, present & inside, mirrored, placed

    def _reshaped(self, xy: NDArray[np.float64], sd: NDArray[np.float64], found: NDArray[np.bool_],
                  maps: Mapping[int, LocalReading] | None = None) -> NDArray[np.bool_]:
        """Place again (in place) the found points that do not fit the shape of the others; which
        were. With the card's ``shape_anchor`` and the local stage's heatmaps (``maps``, by row:
        :meth:`_local`), the other bony points are read again (:meth:`_reread`)."""
        placed = np.zeros(len(xy), bool)
        if self.prior is None:
            return placed
        rows = self._prior_rows
        known = np.where(found[rows, None], xy[rows], np.nan)
        correction = self.prior.correct(known)
        for index in correction.replaced:
            row = rows[index]
            xy[row], sd[row], placed[row] = correction.xy[index], correction.sd[index], True
        if self.card.shape_anchor > 0 and maps:
            for index, (centre, cov) in self.prior.expected(known, correction).items():
                row = int(rows[index])
                if row in maps:
                    xy[row], sd[row] = self._reread(maps[row], centre, cov * self.card.shape_anchor**2)
        return placed

    def _reread(self, reading: LocalReading, centre: NDArray[np.float64], cov: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        """One point read again from its local heatmap (``reading``, :data:`LocalReading`),
        weighted by the global anchor and by a Gaussian of ``cov`` (image pixels) around
        ``centre`` (image pixels), where the shape of the others puts it: its position (image
        pixels) and sd. A point the local network sees two candidates for then takes the one the
        shape agrees with, and a lone strong peak far from where the shape expects it still wins
        when the shape's spread allows it (module docstring, step 3)."""
        grid, null, to_crop, to_resized, anchor_resized = reading
        to_crop_image = compose(to_crop, to_resized)
        linear = to_crop_image[:, :2]
        shape = grid.shape[-2:]
        weights = self._gaussian_map(apply(to_crop_image, centre[None])[0], np.linalg.inv(linear @ cov @ linear.T), shape)[None]
        anchor = self._anchor_weights(apply(to_crop, anchor_resized[None])[0], shape)
        if anchor is not None:
            weights = weights * anchor
        window = max(2, round(3 * self.card.sigma_local))
        found = read_heatmaps(grid, null, self.local_net.config.output_stride, window, weights)
        scale = float(np.sqrt(abs(np.linalg.det(to_resized[:, :2]))))
        return apply(invert(to_resized), apply(invert(to_crop), found.xy))[0], float(found.sd[0]) / scale * self.card.sd_scale

    def _global(self, grey: NDArray[np.float32], mirrored: bool) -> tuple[float, bool, Readout, NDArray[np.float64]]:
        canvas, to_canvas = self.frames.global_canvas(grey)
        grid, null = self.global_net(torch.from_numpy(network_input([canvas])))
        reading = read_heatmaps(grid[0], null[0], self.global_net.config.output_stride, window=max(2, round(3 * self.card.sigma_global)))
        score = float(np.mean(reading.presence * reading.peak_mass))
        return score, mirrored, reading, to_canvas

    def _local(self, grey: NDArray[np.float32], start: NDArray[np.float64], channels: NDArray[np.intp],
               maps_out: dict[int, LocalReading] | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Refine ``start`` (image coordinates) of landmarks ``channels``: positions, sd (image px),
        confidence; ``maps_out`` receives each landmark's last heatmap reading (by landmark row)."""
        resized, to_resized = self.frames.local_image(grey)
        scale = float(np.sqrt(abs(np.linalg.det(to_resized[:, :2]))))
        centres = apply(to_resized, start)
        anchors = centres.copy()
        xy, sd, confidence = np.zeros((len(channels), 2)), np.zeros(len(channels)), np.zeros(len(channels))
        todo = np.arange(len(channels))
        for _round in range(2):
            maps = [self.frames.crop_map(c) for c in centres[todo]]
            crops = [warp(resized, m, self.frames.crop) for m in maps]
            grid, null = self.local_net(torch.from_numpy(network_input(crops)))
            window = max(2, round(3 * self.card.sigma_local))
            again = []
            for row, (index, to_crop) in enumerate(zip(todo, maps)):
                k = int(channels[index])
                weights = self._anchor_weights(apply(to_crop, anchors[index][None])[0], grid.shape[-2:])
                reading = read_heatmaps(grid[row, k: k + 1], null[row, k: k + 1], self.local_net.config.output_stride, window, weights)
                point = apply(invert(to_crop), reading.xy)[0]
                xy[index], sd[index], confidence[index] = point, reading.sd[0], reading.peak_mass[0]
                if maps_out is not None:
                    maps_out[k] = (grid[row, k: k + 1], null[row, k: k + 1], to_crop, to_resized, anchors[index])
                if np.hypot(*(point - centres[index])) > self.frames.crop / 4.0 and _round == 0:
                    again.append(index)
                centres[index] = point
            if not again:
                break
            todo = np.array(again)
        return apply(invert(to_resized), xy), sd / scale * self.card.sd_scale, confidence

    def _anchor_weights(self, anchor: NDArray[np.float64], shape: tuple[int, int]) -> NDArray[np.float64] | None:
        """The prior the global stage gives the local heatmap ``(1, h, w)``: a Gaussian around
        ``anchor`` (crop coordinates; the global stage's point) of sd ``card.anchor_sd`` global-canvas
        pixels (``zoom`` times that in the crop), 1 at its centre; None where the card gives none.

        ``anchor_sd`` stands for the global stage's error per axis. 1.25 canvas pixels (1.4 mm
        on the 1340x1671 cephalograms; their global points' mean radial error, 1.94 mm, is that of
        a Gaussian of 1.4 canvas pixels) was chosen on the 10 tune cephalograms of the fixed
        split: mean radial error 1.79 -> 1.55 mm (1.0: 1.57, 1.5: 1.56, 2: 1.61, 3: 1.65 mm);
        porion 3.93 -> 1.99, articulare 3.57 -> 2.27, orbitale 2.47 -> 1.12 mm, but gonion,
        whose global point is itself off and which the shape prior no longer replaces,
        3.17 -> 4.44 mm. Synthetic lateral X-rays (seed 41): 0.81 -> 0.47 % of the skull's
        height. The reported sd is read from the weighted heatmap (97 % of the tune errors within
        2 sd, 95 % before: still cautious). The frontal model's 1.0 was chosen on the frontal
        X-rays of synthetic seed 41 (0.43 -> 0.33 % of the skull's height; it has no real
        images); a training run's assembly chooses the width on its tuning images
        (:data:`~.assemble.ANCHOR_GRID`)."""
        if self.card.anchor_sd <= 0:
            return None
        sd = self.card.anchor_sd * self.frames.zoom
        return self._gaussian_map(anchor, np.eye(2) / sd**2, shape)[None]

    def _gaussian_map(self, centre: NDArray[np.float64], precision: NDArray[np.float64], shape: tuple[int, int]) -> NDArray[np.float64]:
        """``exp(-d^T precision d / 2)`` with ``d`` from ``centre`` (crop coordinates) to the
        centre of each output bin of a local heatmap of ``shape`` ``(h, w)``: 1 at ``centre``."""
        stride = self.local_net.config.output_stride
        bins = np.arange(max(shape)) * stride + (stride - 1) / 2.0
        dx, dy = bins[None, : shape[1]] - centre[0], bins[: shape[0], None] - centre[1]
        return np.exp(-0.5 * (precision[0, 0] * dx * dx + 2.0 * precision[0, 1] * dx * dy + precision[1, 1] * dy * dy))

    def _result(self, xy: NDArray[np.float64], sd: NDArray[np.float64], presence: NDArray[np.float64], confidence: NDArray[np.float64],
                found: NDArray[np.bool_], mirrored: bool, shape: tuple[int, int], placed: NDArray[np.bool_]) -> Detection:
        width = shape[1]
        found = found & _inside(xy, shape)
        image_score = float(np.mean(np.where(found, presence * confidence, 0.0)))  # the image's look, before a point is left out
        facing = np.column_stack([width - 1 - xy[:, 0], xy[:, 1]]) if mirrored else xy  # the shape faces right, as the mean shape
        odd = None
        if self.shape is not None and self.prior is None and image_score >= self.card.thresholds["image_score"]:
            odd = self.shape.odd_one(np.where(found[:, None], facing, np.nan))  # step 5: reported missing, said
            if odd is not None:
                found = found.copy()
                found[odd[0]] = False
        low = confidence < self.card.thresholds["peak_mass"]
        points = tuple(
            DetectedPoint(name, self.card.labels.get(name), float(xy[i, 0]) if found[i] else None, float(xy[i, 1]) if found[i] else None,
                          float(sd[i]) if found[i] else None, float(presence[i]), float(confidence[i]) if found[i] else 0.0,
                          bool(found[i] and (low[i] or placed[i])), bool(found[i] and placed[i]), odd is not None and i == odd[0])
            for i, name in enumerate(self.card.landmarks)
        )
        residual = self.shape.residual(np.where(found[:, None], facing, np.nan)) if self.shape is not None else float("nan")
        warnings = _warnings(self.card, points, image_score, residual)
        if odd is not None:
            x, y = (width - 1 - odd[1][0], odd[1][1]) if mirrored else odd[1]
            outside = not _inside(np.array([[x, y]]), shape)[0]
            warnings = (f"The {self.card.landmarks[odd[0]].replace('_', ' ')} found does not fit the arrangement of the other points, which put it "
                        f"near ({x:.0f}, {y:.0f}){', outside the image' if outside else ''}: it is reported as missing; place it by hand if the X-ray shows it.",
                        *warnings)
        return Detection(points, mirrored, image_score, residual, warnings)


def _inside(xy: NDArray[np.float64], shape: tuple[int, ...]) -> NDArray[np.bool_]:
    """Which points ``(K, 2)`` lie on an image of ``shape`` (rows, columns): within its pixels' outer edges."""
    height, width = shape[:2]
    return (xy[:, 0] >= -0.5) & (xy[:, 0] <= width - 0.5) & (xy[:, 1] >= -0.5) & (xy[:, 1] <= height - 0.5)


def _averaged(first: Reading, mirrored: Reading, partners: NDArray[np.intp], width: int) -> Reading:
    """``first`` with each point that both it and ``mirrored`` (the reading of the image mirrored
    left to right) found placed at the mean of the two (module docstring, step 4); where the two
    lie more than :data:`MIRROR_DISAGREEMENT` of their combined sd apart, the point's confidence
    is 0, so that it is flagged low-confidence for the examiner (its stated sd, the mean of two
    small ones, understates how far it may be off)."""
    xy, sd, presence, confidence, found, flipped, placed = (np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in first)
    paired = partners >= 0
    rows = np.where(paired, partners, 0)
    other_xy, other_sd, other_presence, other_confidence, other_found, _, other_placed = (a[rows] if isinstance(a, np.ndarray) else a
                                                                                        for a in mirrored)
    other_xy = np.column_stack([width - 1 - other_xy[:, 0], other_xy[:, 1]])
    both = found & other_found & paired
    gap = np.hypot(*(xy - other_xy).T)
    apart = both & (gap > MIRROR_DISAGREEMENT * np.hypot(np.nan_to_num(sd), np.nan_to_num(other_sd)))
    xy[both] = (xy[both] + other_xy[both]) / 2.0
    sd[both] = (sd[both] + other_sd[both]) / 2.0
    presence = np.where(both, (presence + other_presence) / 2.0, presence)
    confidence = np.where(apart, 0.0, np.where(both, (confidence + other_confidence) / 2.0, confidence))
    placed = placed | (both & other_placed)
    return xy, sd, presence, confidence, found, flipped, placed


def _warnings(card: LandmarkModelCard, points: tuple[DetectedPoint, ...], image_score: float, residual: float) -> tuple[str, ...]:
    view = "lateral" if card.view == "xray-side" else "frontal"
    out = []
    missing = [p.name for p in points if p.missing]
    if image_score < card.thresholds["image_score"]:
        out.append(f"The image does not look like a {view} skull X-ray to the landmark model (score {image_score:.2f}); the points are unreliable.")
    elif np.isfinite(residual) and residual > card.shape_threshold:
        out.append(f"The points found are not arranged like a {view} skull (shape residual {residual:.3f}); check them.")
    if len(missing) > len(points) // 2:
        out.append(f"{len(missing)} of {len(points)} landmarks were not found in the image.")
    serious = bool(out)
    reshaped = [p.name for p in points if p.from_shape]
    if reshaped:
        out.append(f"{len(reshaped)} landmark(s) did not fit the shape of the others and were placed from it: {', '.join(reshaped)}; check them.")
    doubtful = [p.name for p in points if p.low_confidence and not p.from_shape]
    if doubtful and not serious:
        out.append(low_confidence_warning(doubtful))
    return tuple(out)


def _net(state: dict[str, torch.Tensor], prefix: str, config: dict[str, Any]) -> HeatmapNet:
    net = HeatmapNet(HeatmapNetConfig.from_dict(config))
    net.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    return net.eval()
