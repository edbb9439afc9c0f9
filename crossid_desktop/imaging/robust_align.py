"""Alignment that survives injured landmarks.

The standard alignment (``imaging/faces.py``) levels the two eye centres found by dlib's
68-point predictor. On an injured face some of those points are wrong: the predictor puts the
eye of a face under an eye pad somewhere on the pad, a swollen cheek drags the jaw line, blood
over the mouth moves the mouth corners. :func:`robust_transform` fits all 68 points to the
average face shape in the canonical crop (:data:`FACE_SHAPE_68`) instead, by a weighted
similarity whose weights

* start from how stable each point is across people and expressions (:data:`POINT_WEIGHTS`:
  eyes and nose high, brows and mouth lower, the jaw line lowest),
* are multiplied by the reliability of the point's place (0 where the injury segmenter or the
  examiner marked the face unreliable, so the fit rests on the intact side),
* add each reliable point's **mirror partner** (the left eye's outer corner for the right
  one's, and so on) reflected across the face's midline, so a face with one side covered is
  held by the intact side's symmetric image,
* and are re-weighted by Tukey's biweight of the residuals (iteratively), so that points the
  predictor misplaced stop pulling. The iterations start from the best of the fits that leave
  out one or two parts of the face (an eye with its brow, the nose, the mouth, one side of the
  jaw): the one with the smallest weighted median residual (least median of squares), since
  an injury corrupts the landmarks of a part, not single points at random.

Pure numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.canonical import ALIGNED_SIZE
from crossid_desktop.imaging.face_shape import FACE_SHAPE_68, MIRROR_68, POINT_WEIGHTS
from crossid_desktop.imaging.faces import similarity_transform

#: Tukey biweight constant, in robust standard deviations of the residuals
TUKEY_C = 4.685
#: the smallest residual scale, as a fraction of the crop side (the predictor's own precision)
MIN_SCALE = 0.006


def _apply(matrix: NDArray[np.float64], points: NDArray[np.float64]) -> NDArray[np.float64]:
    return points @ matrix[:2, :2].T + matrix[:, 2]


def robust_transform(landmarks68: NDArray[Any], *, reliability: NDArray[Any] | None = None, size: int = ALIGNED_SIZE,
                     iterations: int = 8, use_mirror: bool = True) -> NDArray[np.float64]:
    """The (2, 3) affine from photo pixels to a ``size`` px canonical crop fitted to the 68
    landmarks ``(68, 2)`` (photo pixels) as the module docstring describes. ``reliability``
    ``(68,)`` in [0, 1] says how far each point's place can be trusted (None: all)."""
    src = np.asarray(landmarks68, dtype=np.float64)
    if src.shape != (68, 2) or not np.isfinite(src).all():
        raise ValueError(f"robust_transform needs 68 finite landmarks, got an array of shape {src.shape}.")
    dst = FACE_SHAPE_68 * size
    trust = np.ones(68) if reliability is None else np.clip(np.asarray(reliability, dtype=np.float64), 0.0, 1.0)
    prior = POINT_WEIGHTS * np.maximum(trust, 1e-3)
    matrix = similarity_transform(src, dst, prior)
    if iterations == 0:
        return matrix
    matrix = _least_median_start(src, dst, prior)
    robust = _tukey(np.linalg.norm(_apply(matrix, src) - dst, axis=1), prior, size)
    for _ in range(iterations):
        pts_src, pts_dst, w = src, dst, prior * robust
        if use_mirror:
            # a reliable point's partner across the midline, reflected in the current crop frame:
            # where the partner should be, were the face symmetric
            in_crop = _apply(matrix, src)
            midline = float(np.average(in_crop[[27, 28, 29, 30, 33, 51, 57, 8], 0], weights=prior[[27, 28, 29, 30, 33, 51, 57, 8]]))
            reflected = np.stack([2 * midline - in_crop[:, 0], in_crop[:, 1]], axis=1)
            inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
            partner_src = _apply(inverse, reflected)[MIRROR_68]  # where point i's partner sits, from point i
            partner_w = POINT_WEIGHTS * trust[MIRROR_68] * (1.0 - trust) * robust[MIRROR_68]
            pts_src, pts_dst, w = np.concatenate([src, partner_src]), np.concatenate([dst, dst]), np.concatenate([w, partner_w])
        matrix = similarity_transform(pts_src, pts_dst, w)
        robust = _tukey(np.linalg.norm(_apply(matrix, src) - dst, axis=1), prior, size)
    return matrix


#: the parts of the face an injury corrupts together (iBUG 300-W indices)
PARTS = (tuple(range(17, 22)) + tuple(range(36, 42)), tuple(range(22, 27)) + tuple(range(42, 48)), tuple(range(27, 36)),
         tuple(range(48, 68)), tuple(range(0, 8)), tuple(range(9, 17)))


def _least_median_start(src: NDArray[np.float64], dst: NDArray[np.float64], prior: NDArray[np.float64]) -> NDArray[np.float64]:
    """The fit, among all points and those leaving out one or two :data:`PARTS`, whose weighted
    median residual over all points is smallest."""
    best, best_cost = similarity_transform(src, dst, prior), np.inf
    drops = [()] + [(i,) for i in range(len(PARTS))] + [(i, j) for i in range(len(PARTS)) for j in range(i + 1, len(PARTS))]
    for drop in drops:
        w = prior.copy()
        for part in drop:
            w[list(PARTS[part])] = 0.0
        matrix = similarity_transform(src, dst, w)
        cost = _weighted_median(np.linalg.norm(_apply(matrix, src) - dst, axis=1), prior)
        if cost < best_cost:
            best, best_cost = matrix, cost
    return best


def _tukey(residual: NDArray[np.float64], prior: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """Tukey biweights of residuals (crop px), scaled by their weighted median."""
    scale = max(1.4826 * _weighted_median(residual, prior), MIN_SCALE * size)
    u = residual / (TUKEY_C * scale)
    return np.where(u < 1.0, (1.0 - u * u) ** 2, 0.0)


def _weighted_median(values: NDArray[np.float64], weights: NDArray[np.float64]) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def landmark_reliability(landmarks68: NDArray[Any], transform: NDArray[Any], unreliable: NDArray[Any]) -> NDArray[np.float64]:
    """How far each landmark's place can be trusted, ``(68,)`` in [0, 1]: one minus the
    unreliable-probability map ``(S, S)`` of the crop the ``transform`` (photo to crop) made,
    read at the landmark (points outside the crop keep 1)."""
    pts = _apply(np.asarray(transform, dtype=np.float64), np.asarray(landmarks68, dtype=np.float64))
    prob = np.asarray(unreliable, dtype=np.float64)
    h, w = prob.shape
    x = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
    y = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    return np.where(inside, 1.0 - prob[y, x], 1.0)
