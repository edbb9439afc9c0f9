"""Points that do not fit the skull's shape, placed again from the others (no torch here).

The heatmap networks find each landmark on its own. On real cephalograms most points land
within a millimetre or two, but a few per image (porion, articulare, gonion, orbitale,
subspinale: faint or doubled structures) land on a neighbouring structure, 5-20 mm away,
further than the local stage's crop can bring them back. The other points say where such a
point must lie: skull shapes vary, but not freely.

**The prior.** For a group of training shapes (the real cephalograms' annotations; the
synthetic cohort's generator points), each aligned to the group's Procrustes mean by a
similarity (no reflection): their mean and covariance, the covariance shrunk toward its
diagonal (``shrinkage``; 50 real shapes do not determine 38x38 covariances). One component
per group, over the points every group knows (the 19 cephalometric points of a lateral view).

**The correction** (:meth:`ShapePrior.correct`). The found points are aligned to a
component's mean; for each point, its position given all the other inliers (the Gaussian
conditional) and the Mahalanobis distance of the found position from it. The worst point
above ``threshold`` leaves the inliers and the fit repeats, at most ``max_replaced`` times.
Each point that left is placed at its conditional position given the inliers, with that
position's spread times ``sd_scale`` as its standard deviation (the shape's spread alone leaves
out the other points' own errors; the factor makes the placed points' errors on the tuning
cephalograms what a two-dimensional Gaussian of that sd gives), and is marked as placed from
the shape. Each
component is tried; the one that needs the fewest replacements (then: that fits the inliers
best) is kept, so a synthetic X-ray is judged by the shapes of synthetic skulls and a real
one by real skulls. Missing points stay missing: a point outside the image is never
invented.

Points listed as ``kept`` (the soft-tissue points of a lateral view) inform the fit and are never
placed again. (Letting a kept point that does not fit leave the inliers was tried on the tuning
images and is worse, 1.79 -> 1.85 mm: the lips' points vary with their posture but still say
much about the jaws. The price: a grossly misplaced soft-tissue point is not caught and can
make well-found neighbours look out of shape; at most ``max_replaced`` points move, each said.)

``threshold`` 3 (a two-dimensional Gaussian exceeds it in about 1 % of points), ``shrinkage``
0.2, ``max_replaced`` 4 and keeping the soft-tissue points were chosen on the 10 tuning
cephalograms of the fixed split and on synthetic X-rays of validation people (seed 1202), never
on the test images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.landmarks.shape import ShapeModel, similarity, similarity_fit

THRESHOLD = 3.0
SHRINKAGE = 0.2
MAX_REPLACED = 4


@dataclass(frozen=True)
class ShapeComponent:
    """One group's aligned shapes: ``mean`` ``(2K,)`` (x0, y0, x1, y1, ...; unit size) and
    ``cov`` ``(2K, 2K)``; ``shapes``: how many shapes it was fitted on; ``source``: which."""

    name: str
    mean: NDArray[np.float64]
    cov: NDArray[np.float64]
    shapes: int
    source: str

    @classmethod
    def fit(cls, name: str, shapes: Sequence[NDArray[np.float64]], shrinkage: float, source: str) -> ShapeComponent:
        """From ``(K, 2)`` shapes (a shape with any NaN row is left out)."""
        complete = [np.asarray(s, np.float64) for s in shapes if not np.isnan(s).any()]
        if len(complete) < 5:
            raise ModelError(f"A shape prior needs at least 5 complete shapes of {name}; there are {len(complete)}.")
        mean = ShapeModel.fit(complete)
        aligned = np.array([similarity_fit(s, mean).ravel() for s in complete])
        sample = np.cov(aligned.T)
        cov = (1.0 - shrinkage) * sample + shrinkage * np.diag(np.diag(sample))
        return cls(name, aligned.mean(axis=0), cov, len(complete), source)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shapes": self.shapes, "source": self.source, "mean": [_short(v) for v in self.mean],
                "cov": [[_short(v) for v in row] for row in self.cov]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShapeComponent:
        mean, cov = np.asarray(data["mean"], np.float64), np.asarray(data["cov"], np.float64)
        if mean.ndim != 1 or mean.size % 2 or cov.shape != (mean.size, mean.size):
            raise ModelError(f"The shape prior component {data.get('name')!r} has inconsistent sizes.")
        return cls(str(data["name"]), mean, cov, int(data["shapes"]), str(data["source"]))


@dataclass(frozen=True)
class Correction:
    """What :meth:`ShapePrior.correct` did: ``xy`` ``(K, 2)`` (the prior's points), the indices
    ``replaced`` (placed from the shape), their per-axis ``sd`` (pixels; NaN for the others),
    the ``component`` that judged the shape and each replaced point's ``distance`` (Mahalanobis)."""

    xy: NDArray[np.float64]
    replaced: tuple[int, ...]
    sd: NDArray[np.float64]
    component: str
    distances: tuple[float, ...]


@dataclass(frozen=True)
class ShapePrior:
    """The prior over the landmarks ``points`` (module docstring)."""

    points: tuple[str, ...]
    components: tuple[ShapeComponent, ...]
    threshold: float = THRESHOLD
    max_replaced: int = MAX_REPLACED
    shrinkage: float = SHRINKAGE
    kept: tuple[str, ...] = ()
    sd_scale: float = 1.0

    @classmethod
    def fit(cls, points: Sequence[str], groups: Mapping[str, tuple[Sequence[NDArray[np.float64]], str]], *, kept: Sequence[str] = (),
            threshold: float = THRESHOLD, max_replaced: int = MAX_REPLACED, shrinkage: float = SHRINKAGE) -> ShapePrior:
        """``groups``: ``{name: ((K, 2) shapes in the order of ``points``, where they come from)}``;
        ``kept``: points that inform the others but are never placed again."""
        components = tuple(ShapeComponent.fit(name, shapes, shrinkage, source) for name, (shapes, source) in groups.items())
        return cls(tuple(points), components, threshold, max_replaced, shrinkage, tuple(kept))

    def to_dict(self) -> dict[str, Any]:
        return {"points": list(self.points), "threshold": self.threshold, "max_replaced": self.max_replaced, "shrinkage": self.shrinkage,
                "kept": list(self.kept), "sd_scale": self.sd_scale, "components": [c.to_dict() for c in self.components]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShapePrior:
        try:
            prior = cls(tuple(data["points"]), tuple(ShapeComponent.from_dict(c) for c in data["components"]), float(data["threshold"]),
                        int(data["max_replaced"]), float(data["shrinkage"]), tuple(data.get("kept", ())), float(data.get("sd_scale", 1.0)))
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"The landmark model's shape prior is incomplete ({error}).") from error
        if any(c.mean.size != 2 * len(prior.points) for c in prior.components) or not set(prior.kept) <= set(prior.points):
            raise ModelError("The landmark model's shape prior does not match its list of points.")
        return prior

    def correct(self, xy: NDArray[np.float64]) -> Correction:
        """The prior's points ``(K, 2)`` (NaN: missing) with those that do not fit placed again."""
        xy = np.asarray(xy, np.float64)
        best: Correction | None = None
        best_key: tuple[int, float] = (len(self.points) + 1, float("inf"))
        kept = {self.points.index(name) for name in self.kept}
        for component in self.components:
            result, fit = _correct(component, xy, self.threshold, self.max_replaced, kept)
            result = replace(result, sd=result.sd * self.sd_scale)
            key = (len(result.replaced), fit)
            if key < best_key:
                best, best_key = result, key
        if best is None:
            return Correction(xy.copy(), (), np.full(len(xy), np.nan), "", ())
        return best


    def expected(self, xy: NDArray[np.float64], correction: Correction) -> dict[int, tuple[NDArray[np.float64], NDArray[np.float64]]]:
        """Where the shape puts each inlier of ``correction`` (found, not placed again, not
        ``kept``) given all the other inliers, under the component that judged the shape: ``{index:
        (position (2,) in the pixels of ``xy``, covariance (2, 2) there, times ``sd_scale``^2)}``
        (empty where fewer than 5 inliers or no component judged)."""
        component = next((c for c in self.components if c.name == correction.component), None)
        kept = {self.points.index(name) for name in self.kept}
        inliers = [i for i in range(len(xy)) if not np.isnan(xy[i]).any() and i not in correction.replaced]
        if component is None or len(inliers) < 5:
            return {}
        mean = component.mean.reshape(-1, 2)
        to_model, _ = similarity(xy[inliers], mean[inliers])
        _, centres, covs = _leave_one_out(component, to_model(np.nan_to_num(xy)).ravel(), inliers)
        to_image, _ = similarity(mean[inliers], xy[inliers])
        origin = to_image(np.zeros((1, 2)))[0]
        linear = (to_image(np.eye(2)) - origin).T  # columns: the images of the model's unit vectors
        return {i: (to_image(centres[row][None])[0], linear @ covs[row] @ linear.T * self.sd_scale**2)
                for row, i in enumerate(inliers) if i not in kept}


def _correct(component: ShapeComponent, xy: NDArray[np.float64], threshold: float, max_replaced: int, kept: set[int]) -> tuple[Correction, float]:
    """One component's correction, and how well the inliers fit it (Mahalanobis per coordinate)."""
    mean = component.mean.reshape(-1, 2)
    inliers = [i for i in range(len(xy)) if not np.isnan(xy[i]).any()]
    if len(inliers) < 4:
        return Correction(xy.copy(), (), np.full(len(xy), np.nan), component.name, ()), float("inf")
    replaced: list[int] = []
    distances: list[float] = []
    while True:
        to_model, scale = similarity(xy[inliers], mean[inliers])
        model_xy = to_model(np.nan_to_num(xy)).ravel()
        d = np.where([i in kept for i in inliers], -np.inf, _leave_one_out(component, model_xy, inliers)[0])
        worst = int(np.argmax(d))
        if d[worst] <= threshold or len(replaced) >= max_replaced or len(inliers) <= 4:
            break
        replaced.append(inliers.pop(worst))
        distances.append(float(d[worst]))
    coords = _coords(inliers)
    residual = model_xy[coords] - component.mean[coords]
    fit = float(residual @ np.linalg.solve(component.cov[np.ix_(coords, coords)], residual)) / len(coords)
    out, sd = xy.copy(), np.full(len(xy), np.nan)
    if replaced:
        to_image, _ = similarity(mean[inliers], xy[inliers])
        for index in replaced:
            centre, cov = _conditional(component, model_xy, inliers, index)
            out[index] = to_image(centre[None])[0]
            sd[index] = float(np.sqrt(np.trace(cov) / 2.0)) / scale
    return Correction(out, tuple(replaced), sd, component.name, tuple(distances)), fit


def _coords(points: Sequence[int]) -> NDArray[np.intp]:
    return np.ravel([[2 * p, 2 * p + 1] for p in points]).astype(np.intp)


def _leave_one_out(component: ShapeComponent, model_xy: NDArray[np.float64],
                   inliers: list[int]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """For each inlier given the other inliers (model frame): the Mahalanobis distance of its
    position from where they put it ``(n,)``, that position ``(n, 2)`` and its covariance ``(n, 2, 2)``."""
    coords = _coords(inliers)
    precision = np.linalg.inv(component.cov[np.ix_(coords, coords)])
    residual = model_xy[coords] - component.mean[coords]
    distances, centres, covs = np.empty(len(inliers)), np.empty((len(inliers), 2)), np.empty((len(inliers), 2, 2))
    for row in range(len(inliers)):
        block = slice(2 * row, 2 * row + 2)
        covs[row] = np.linalg.inv(precision[block, block])  # the conditional covariance
        shift = covs[row] @ (precision[block] @ residual)  # found minus conditional mean
        distances[row] = float(np.sqrt(shift @ precision[block, block] @ shift))
        centres[row] = model_xy[coords[block]] - shift
    return distances, centres, covs


def _conditional(component: ShapeComponent, model_xy: NDArray[np.float64], given: list[int], index: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean ``(2,)`` and covariance ``(2, 2)`` of point ``index`` given the points ``given``."""
    known, target = _coords(given), _coords([index])
    cov = component.cov
    gain = cov[np.ix_(target, known)] @ np.linalg.inv(cov[np.ix_(known, known)])
    centre = component.mean[target] + gain @ (model_xy[known] - component.mean[known])
    return centre, cov[np.ix_(target, target)] - gain @ cov[np.ix_(known, target)]


def _short(value: float) -> float:
    """Nine significant digits: the card stays readable, the prior unchanged for any purpose."""
    return float(f"{value:.9g}")
