"""Is a set of detected points shaped like a skull? A Procrustes check against the mean shape.

Each landmark is found on its own; if the image is no skull of this view, the points still land
somewhere, but not in the arrangement of a skull. After the best similarity transform
(translation, rotation, scale) of the mean training shape onto the detected points, the
root-mean-square residual divided by the shape's size (root-mean-square distance of the points
from their centroid) is the **shape residual**: about 0.03-0.06 for skulls, far more for
nonsense. No torch here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.typing import NDArray


def similarity(source: NDArray[np.float64], target: NDArray[np.float64]) -> tuple[Callable[[NDArray[np.float64]], NDArray[np.float64]], float]:
    """The least-squares similarity (Umeyama 1991, no reflection) taking ``source`` ``(N, 2)``
    onto ``target``, as a function of ``(M, 2)`` points, and its scale."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    s, t = source - mu_s, target - mu_t
    u, sing, vt = np.linalg.svd(t.T @ s)
    d = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, d]) @ vt
    scale = float((sing * np.array([1.0, d])).sum() / max((s ** 2).sum(), 1e-12))
    return (lambda points: (scale * (rotation @ (np.asarray(points) - mu_s).T)).T + mu_t), scale


def similarity_fit(source: NDArray[np.float64], target: NDArray[np.float64]) -> NDArray[np.float64]:
    """``source`` ``(N, 2)`` moved onto ``target`` by the least-squares similarity (no reflection)."""
    move, _ = similarity(source, target)
    return move(source)


def shape_residual(mean_shape: NDArray[np.float64], points: NDArray[np.float64]) -> float:
    """RMS residual of the fitted mean shape over the size of ``points`` (both ``(N, 2)``, same order; N >= 3)."""
    fitted = similarity_fit(mean_shape, points)
    size = np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean())
    return float(np.sqrt(((fitted - points) ** 2).sum(axis=1).mean()) / max(size, 1e-9))


@dataclass(frozen=True)
class ShapeModel:
    """The mean shape of the training images (``(K, 2)``, NaN where unknown) and the residual
    above which a detection is flagged (set on the tuning images)."""

    mean: NDArray[np.float64]
    threshold: float

    @classmethod
    def fit(cls, shapes: list[NDArray[np.float64]], iterations: int = 5) -> NDArray[np.float64]:
        """Generalised Procrustes mean of ``(K, 2)`` shapes (NaN rows ignored per shape; a
        landmark known in no shape stays NaN)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the mean of a landmark known nowhere is NaN
            return cls._procrustes_mean(shapes, iterations)

    @staticmethod
    def _procrustes_mean(shapes: list[NDArray[np.float64]], iterations: int) -> NDArray[np.float64]:
        mean = np.nanmean(np.stack(shapes), axis=0)
        for _ in range(iterations):
            aligned = []
            for shape in shapes:
                ok = ~np.isnan(shape).any(axis=1) & ~np.isnan(mean).any(axis=1)
                moved = np.full_like(shape, np.nan)
                # the inverse direction: the shape onto the mean
                moved[ok] = similarity_fit(shape[ok], mean[ok])
                aligned.append(moved)
            mean = np.nanmean(np.stack(aligned), axis=0)
            mean = mean - np.nanmean(mean, axis=0)
            mean = mean / np.sqrt(np.nanmean((mean ** 2).sum(axis=1)))
        return mean

    def odd_one(self, points: NDArray[np.float64]) -> tuple[int, NDArray[np.float64]] | None:
        """The one point that keeps ``points`` ``(K, 2)`` (NaN rows skipped) from the skull's
        arrangement: when their residual exceeds the threshold and leaving out one point brings
        the rest within it, the point whose absence fits best and where the mean shape fitted to
        the others puts it (``(2,)``, the points' coordinates); None otherwise (a shape that fits,
        or one that no single point explains). Needs five usable points."""
        ok = ~np.isnan(points).any(axis=1) & ~np.isnan(self.mean).any(axis=1)
        if ok.sum() < 5 or not self.residual(points) > self.threshold:
            return None
        rest = {}
        for i in np.flatnonzero(ok):
            trial = points.copy()
            trial[i] = np.nan
            rest[int(i)] = self.residual(trial)
        best = min(rest, key=rest.__getitem__)
        if not rest[best] <= self.threshold:
            return None
        others = ok.copy()
        others[best] = False
        move, _ = similarity(self.mean[others], points[others])
        return best, move(self.mean[best][None])[0]

    def residual(self, points: NDArray[np.float64]) -> float:
        """Shape residual of ``(K, 2)`` points (NaN rows skipped); NaN with fewer than 4 usable points."""
        ok = ~np.isnan(points).any(axis=1) & ~np.isnan(self.mean).any(axis=1)
        if ok.sum() < 4:
            return float("nan")
        return shape_residual(self.mean[ok], points[ok])
