"""Verification metrics (one-to-one comparisons): ROC, DET, EER, GAR at a FAR, score
histograms, and the spread of embeddings between subjects. Pure numpy.

Scores: **higher = more similar**; a comparison is accepted as "same person" when
``score >= threshold``. Use ``-distance`` or the confidence ``exp(-d^2)`` as the score,
never the distance itself. *Genuine* scores come from pairs of the same person, *impostor*
scores from pairs of different people.

* FAR (false accept rate) = fraction of impostor scores >= threshold;
* GAR (genuine accept rate) = fraction of genuine scores >= threshold; FRR = 1 - GAR.

Empty or non-finite score arrays raise ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DetCurve",
    "OperatingPoint",
    "RocCurve",
    "ScoreHistograms",
    "det_curve",
    "eer",
    "gar_at_far",
    "mean_interclass_distance",
    "operating_point_at_far",
    "roc_curve",
    "score_distributions",
]


@dataclass(frozen=True)
class RocCurve:
    """``far``, ``gar`` and ``thresholds``, each ``(T,)``, by decreasing threshold.

    ``thresholds[0] = +inf`` (nothing accepted: FAR = GAR = 0), then every distinct score,
    the last being the lowest (everything accepted: FAR = GAR = 1). The same points as
    ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``.
    """

    far: NDArray[np.float64]
    gar: NDArray[np.float64]
    thresholds: NDArray[np.float64]


@dataclass(frozen=True)
class DetCurve:
    """``far`` and ``frr = 1 - gar`` against ``thresholds``, each ``(T,)`` (see :class:`RocCurve`)."""

    far: NDArray[np.float64]
    frr: NDArray[np.float64]
    thresholds: NDArray[np.float64]


@dataclass(frozen=True)
class OperatingPoint:
    """A decision threshold (score units) with the FAR and GAR it gives on the data."""

    threshold: float
    far: float
    gar: float


@dataclass(frozen=True)
class ScoreHistograms:
    """Genuine and impostor score counts over common bin ``edges`` ``(bins + 1,)``."""

    edges: NDArray[np.float64]
    genuine_counts: NDArray[np.int64]
    impostor_counts: NDArray[np.int64]

    @property
    def genuine_density(self) -> NDArray[np.float64]:
        """Counts / (n * bin width): integrates to 1 over the edges."""
        return _density(self.genuine_counts, self.edges)

    @property
    def impostor_density(self) -> NDArray[np.float64]:
        return _density(self.impostor_counts, self.edges)


def roc_curve(genuine_scores: ArrayLike, impostor_scores: ArrayLike) -> RocCurve:
    """The ROC: FAR and GAR at every distinct score used as threshold (accept ``score >= t``)."""
    genuine = np.sort(check_scores(genuine_scores, "genuine_scores"))
    impostor = np.sort(check_scores(impostor_scores, "impostor_scores"))
    distinct = np.unique(np.concatenate([genuine, impostor]))[::-1]
    thresholds = np.concatenate([[np.inf], distinct])
    gar = (genuine.size - np.searchsorted(genuine, thresholds, side="left")) / genuine.size
    far = (impostor.size - np.searchsorted(impostor, thresholds, side="left")) / impostor.size
    return RocCurve(far=far.astype(np.float64), gar=gar.astype(np.float64), thresholds=thresholds)


def det_curve(genuine_scores: ArrayLike, impostor_scores: ArrayLike) -> DetCurve:
    """The DET: FAR against FRR over the thresholds of :func:`roc_curve`."""
    roc = roc_curve(genuine_scores, impostor_scores)
    return DetCurve(far=roc.far, frr=1.0 - roc.gar, thresholds=roc.thresholds)


def operating_point_at_far(
    genuine_scores: ArrayLike, impostor_scores: ArrayLike, far: float = 0.1
) -> OperatingPoint:
    """The lowest threshold whose FAR on the data is <= ``far``, with its FAR and GAR.

    No interpolation between ROC points: the returned point is an actual threshold whose
    measured FAR does not exceed the target (so the GAR is the highest GAR with FAR <= target,
    a conservative step reading of the ROC).
    """
    if not 0.0 <= far <= 1.0:
        raise ValueError(f"The target FAR must lie in [0, 1]; got {far}.")
    roc = roc_curve(genuine_scores, impostor_scores)
    index = int(np.searchsorted(roc.far, far, side="right")) - 1  # far is non-decreasing
    return OperatingPoint(threshold=float(roc.thresholds[index]), far=float(roc.far[index]), gar=float(roc.gar[index]))


def gar_at_far(genuine_scores: ArrayLike, impostor_scores: ArrayLike, far: float = 0.1) -> float:
    """GAR at the threshold of :func:`operating_point_at_far` (FAR <= target, no interpolation)."""
    return operating_point_at_far(genuine_scores, impostor_scores, far).gar


def eer(genuine_scores: ArrayLike, impostor_scores: ArrayLike) -> float:
    """Equal error rate: where FAR = FRR, by linear interpolation between the two ROC points
    on either side of the crossing (exact when a threshold gives FAR = FRR)."""
    det = det_curve(genuine_scores, impostor_scores)
    gap = det.far - det.frr  # from -1 (threshold +inf) up to +1 (lowest threshold): non-decreasing
    i = int(np.argmax(gap >= 0))
    if gap[i] == 0 or i == 0:
        return float(det.far[i])
    t = -gap[i - 1] / (gap[i] - gap[i - 1])
    return float(det.far[i - 1] + t * (det.far[i] - det.far[i - 1]))


def score_distributions(genuine_scores: ArrayLike, impostor_scores: ArrayLike, bins: int = 30) -> ScoreHistograms:
    """Histograms of genuine and impostor scores over ``bins`` equal bins spanning both."""
    genuine = check_scores(genuine_scores, "genuine_scores")
    impostor = check_scores(impostor_scores, "impostor_scores")
    if int(bins) != bins or bins < 1:
        raise ValueError(f"bins must be a positive integer; got {bins}.")
    low = float(min(genuine.min(), impostor.min()))
    high = float(max(genuine.max(), impostor.max()))
    if high == low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, int(bins) + 1)
    genuine_counts, _ = np.histogram(genuine, bins=edges)
    impostor_counts, _ = np.histogram(impostor, bins=edges)
    return ScoreHistograms(edges=edges, genuine_counts=genuine_counts.astype(np.int64), impostor_counts=impostor_counts.astype(np.int64))


def mean_interclass_distance(embeddings: ArrayLike, labels: ArrayLike, *, method: str = "pairs") -> float:
    """How far apart different subjects lie in the embedding space (embedding units).

    * ``method="pairs"`` (default): the mean Euclidean distance over all unordered pairs of
      embeddings whose labels differ (the injured-face publication's "mean inter-class
      distance", read as a pairwise mean).
    * ``method="centroids"``: the mean Euclidean distance over all pairs of distinct subject
      centroids (the mean embedding of each label).

    ``embeddings`` ``(n, d)``, ``labels`` ``(n,)``; at least two distinct labels needed.
    Computed row block by row block, so memory stays ``O(block * n)``.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or x.shape[0] == 0 or y.shape != (x.shape[0],):
        raise ValueError(f"embeddings must be (n, d) with labels (n,); got {x.shape} and {y.shape}.")
    classes, inverse = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError("The mean inter-class distance needs embeddings of at least two subjects.")
    if method == "centroids":
        centroids = np.zeros((classes.size, x.shape[1]))
        np.add.at(centroids, inverse, x)
        centroids /= np.bincount(inverse)[:, None]
        x, inverse = centroids, np.arange(classes.size)
    elif method != "pairs":
        raise ValueError(f"method must be 'pairs' or 'centroids', not {method!r}.")
    total, count = 0.0, 0
    squared_norms = np.einsum("ij,ij->i", x, x)
    block = max(1, 4_000_000 // max(1, x.shape[0]))
    for start in range(0, x.shape[0], block):
        stop = min(start + block, x.shape[0])
        squared = squared_norms[start:stop, None] + squared_norms[None, :] - 2.0 * x[start:stop] @ x.T
        different = inverse[start:stop, None] != inverse[None, :]
        total += float(np.sqrt(np.maximum(squared, 0.0))[different].sum())
        count += int(different.sum())
    return total / count  # each unordered pair counted twice in both sums


def check_scores(scores: ArrayLike, name: str) -> NDArray[np.float64]:
    """``scores`` as a float64 1-D array; ValueError when empty, not 1-D, or not finite."""
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values.")
    return array


def _density(counts: NDArray[np.int64], edges: NDArray[np.float64]) -> NDArray[np.float64]:
    return counts / (counts.sum() * np.diff(edges))
