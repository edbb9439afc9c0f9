"""Similarity transforms between point sets: ordinary, weighted and generalised least squares.

A similarity ``T(p) = [[a, -b], [b, a]] p + t`` (uniform scale ``s = hypot(a, b)``, rotation,
translation; no reflection) is written as the parameter vector ``theta = (a, b, tx, ty)``, in
which ``T(p)`` is linear. Every fit here minimises a quadratic form of the residual
``T(source) - target`` and so has a closed form; points with a NaN in ``source`` or ``target``
take no part. Flattened point vectors are ``(x1, y1, x2, y2, ...)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Similarity:
    """``T(p) = [[a, -b], [b, a]] p + (tx, ty)``."""

    a: float
    b: float
    tx: float
    ty: float

    @property
    def scale(self) -> float:
        return float(np.hypot(self.a, self.b))

    @property
    def angle_deg(self) -> float:
        return float(np.degrees(np.arctan2(self.b, self.a)))

    @property
    def matrix(self) -> NDArray[np.float64]:
        """The (2, 3) affine matrix (OpenCV's ``warpAffine`` convention)."""
        return np.array([[self.a, -self.b, self.tx], [self.b, self.a, self.ty]], dtype=np.float64)

    def apply(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(n, 2)`` points mapped (NaN rows stay NaN)."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return p @ self.matrix[:, :2].T + self.matrix[:, 2]

    def inverse(self) -> Similarity:
        s2 = self.a**2 + self.b**2
        a, b = self.a / s2, -self.b / s2
        return Similarity(a, b, -(a * self.tx - b * self.ty), -(b * self.tx + a * self.ty))

    def then(self, other: Similarity) -> Similarity:
        """``other(self(p))``."""
        a = other.a * self.a - other.b * self.b
        b = other.b * self.a + other.a * self.b
        tx, ty = other.apply(np.array([[self.tx, self.ty]]))[0]
        return Similarity(a, b, float(tx), float(ty))


IDENTITY = Similarity(1.0, 0.0, 0.0, 0.0)


def design(source: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(2n, 4)`` matrix M with ``M @ theta`` = the flattened transformed points."""
    p = np.asarray(source, dtype=np.float64).reshape(-1, 2)
    m = np.zeros((2 * len(p), 4))
    m[0::2, 0], m[0::2, 1], m[0::2, 2] = p[:, 0], -p[:, 1], 1.0
    m[1::2, 0], m[1::2, 1], m[1::2, 3] = p[:, 1], p[:, 0], 1.0
    return m


def fit_similarity(source: NDArray[np.float64], target: NDArray[np.float64], weights: NDArray[np.float64] | None = None) -> Similarity:
    """The similarity taking ``source`` onto ``target`` (both ``(n, 2)``) in weighted least squares.

    ``weights`` ``(n,)`` (default 1) weigh each point's squared distance; rows with a NaN are
    left out. Needs two usable points; ValueError otherwise.
    """
    src = np.asarray(source, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(target, dtype=np.float64).reshape(-1, 2)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    ok = ~(np.isnan(src).any(axis=1) | np.isnan(dst).any(axis=1) | np.isnan(w)) & (w > 0)
    if ok.sum() < 2:
        raise ValueError("A similarity needs at least two corresponding points.")
    src, dst, w = src[ok], dst[ok], w[ok]
    m = design(src)
    ww = np.repeat(w, 2)
    theta = np.linalg.solve(m.T @ (m * ww[:, None]), m.T @ (ww * dst.reshape(-1)))
    return Similarity(*map(float, theta))


def fit_similarity_gls(source: NDArray[np.float64], target: NDArray[np.float64], precision: NDArray[np.float64]) -> tuple[Similarity, float]:
    """The similarity minimising ``r^T W r`` for ``r = T(source) - target`` (flattened, all points
    present), ``W`` = ``precision`` ``(2n, 2n)``; returns it and the minimum ``r^T W r``."""
    m = design(source)
    y = np.asarray(target, dtype=np.float64).reshape(-1)
    wm = precision @ m
    theta = np.linalg.solve(m.T @ wm, wm.T @ y)
    r = m @ theta - y
    return Similarity(*map(float, theta)), float(r @ precision @ r)


def centroid_size(points: NDArray[np.float64]) -> float:
    """Root of the summed squared distances of the (present) points from their centroid."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    p = p[~np.isnan(p).any(axis=1)]
    return float(np.sqrt(((p - p.mean(axis=0)) ** 2).sum()))


def procrustes_mean(shapes: NDArray[np.float64], iterations: int = 5) -> NDArray[np.float64]:
    """Generalised Procrustes mean ``(k, 2)`` of ``shapes`` ``(n, k, 2)`` (complete shapes):
    each aligned to the running mean by a similarity, the mean kept at unit centroid size."""
    shapes = np.asarray(shapes, dtype=np.float64)
    mean = shapes[0] - shapes[0].mean(axis=0)
    mean /= centroid_size(mean)
    for _ in range(iterations):
        aligned = np.stack([fit_similarity(s, mean).apply(s) for s in shapes])
        mean = aligned.mean(axis=0)
        mean -= mean.mean(axis=0)
        mean /= centroid_size(mean)
    return mean
