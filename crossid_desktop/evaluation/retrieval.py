"""Retrieval and identification metrics: pure numpy functions over ranked gallery labels.

The skull-to-face publication reports Recall@k, mAP@k and MRR@k; the injured-face
publication reports Rank-k accuracies (a CMC curve). Both start from a *ranking*: for each
query, the labels (subject ids) of gallery items in order of increasing distance, a
``(Q, K)`` array with ``K`` at most the gallery size. A gallery item is *relevant* to a
query when its label equals the query's label.

Conventions (each function says them again):

* **Ties** in distance are broken stably by gallery position (the lower gallery index
  ranks first), by :func:`rank_gallery` with the default exact search. An injected search
  (e.g. an hnswlib index) brings its own order.
* **k larger than the ranking** (``k > K``) is the same as ``k = K``: nothing lies beyond.
* A **query with no relevant item** in the ranking counts as a miss (0 for recall, AP, MRR
  and every CMC rank); it is kept in the denominator.
* **Empty inputs** (no query, an empty ranking) raise ``ValueError``; so does ``k < 1``.

The k-NN search is injected, as in pytorch-metric-learning's accuracy calculator: a
:data:`SearchFunction` ``search(queries, k) -> (indices, distances)`` over a fixed gallery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Ranking",
    "RetrievalCurves",
    "SearchFunction",
    "average_precision_at_k",
    "cmc",
    "exact_euclidean_search",
    "first_relevant_rank",
    "map_at_k",
    "mrr_at_k",
    "rank_gallery",
    "rank_k_accuracy",
    "recall_at_k",
    "relevance",
    "retrieval_curves",
    "triplet_accuracy",
]

#: ``search(queries (Q, d), k) -> (indices (Q, k) int, distances (Q, k) float)``: the k
#: nearest gallery items of each query, nearest first; distances Euclidean (not squared).
SearchFunction = Callable[[NDArray[np.floating], int], tuple[NDArray[np.integer], NDArray[np.floating]]]


@dataclass(frozen=True)
class Ranking:
    """The k nearest gallery items of each query, nearest first.

    ``indices``: ``(Q, k)`` int64 gallery positions; ``distances``: ``(Q, k)`` float64
    Euclidean distances (embedding units).
    """

    indices: NDArray[np.int64]
    distances: NDArray[np.float64]

    def labels(self, gallery_labels: ArrayLike) -> NDArray:
        """The ranked gallery labels ``(Q, k)`` that the metric functions take."""
        return np.asarray(gallery_labels)[self.indices]


@dataclass(frozen=True)
class RetrievalCurves:
    """Recall@k, mAP@k and MRR@k for ``k = 1 .. max_k``, each ``(max_k,)`` float64."""

    ks: NDArray[np.int64]
    recall: NDArray[np.float64]
    map: NDArray[np.float64]
    mrr: NDArray[np.float64]


def exact_euclidean_search(gallery_emb: ArrayLike) -> SearchFunction:
    """Exact (brute-force) Euclidean k-NN over ``gallery_emb`` ``(G, d)``, in float64.

    Equal distances keep gallery order (stable sort), so a tie ranks the lower gallery
    index first. Memory is ``Q * G`` float64.
    """
    gallery = _as_matrix(gallery_emb, "gallery_emb")
    gallery_sq = np.einsum("ij,ij->i", gallery, gallery)

    def search(queries: NDArray[np.floating], k: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        q = _as_matrix(queries, "queries")
        if q.shape[1] != gallery.shape[1]:
            raise ValueError(f"queries have d={q.shape[1]} but the gallery has d={gallery.shape[1]}.")
        squared = np.einsum("ij,ij->i", q, q)[:, None] + gallery_sq[None, :] - 2.0 * q @ gallery.T
        distances = np.sqrt(np.maximum(squared, 0.0))
        order = np.argsort(distances, axis=1, kind="stable")[:, : min(k, gallery.shape[0])]
        return order.astype(np.int64), np.take_along_axis(distances, order, axis=1)

    return search


def rank_gallery(
    query_emb: ArrayLike,
    gallery_emb: ArrayLike,
    *,
    k: int | None = None,
    search: SearchFunction | None = None,
) -> Ranking:
    """Rank the gallery for every query: the ``k`` nearest items (all of them by default).

    ``query_emb`` ``(Q, d)``, ``gallery_emb`` ``(G, d)``. ``search`` defaults to
    :func:`exact_euclidean_search` over ``gallery_emb`` (ties: lower gallery index first);
    an injected search must cover the same gallery in the same order. ``k`` is clipped to G.
    """
    queries = _as_matrix(query_emb, "query_emb")
    gallery = _as_matrix(gallery_emb, "gallery_emb")
    k = gallery.shape[0] if k is None else min(_check_k(k), gallery.shape[0])
    indices, distances = (search or exact_euclidean_search(gallery))(queries, k)
    indices, distances = np.asarray(indices, dtype=np.int64), np.asarray(distances, dtype=np.float64)
    if indices.shape != (queries.shape[0], k) or distances.shape != indices.shape:
        raise ValueError(
            f"The search returned shapes {indices.shape} and {distances.shape}; "
            f"expected ({queries.shape[0]}, {k})."
        )
    return Ranking(indices=indices, distances=distances)


def relevance(ranked_labels: ArrayLike, query_labels: ArrayLike) -> NDArray[np.bool_]:
    """``(Q, K)`` bool: is the ranked gallery item of the query's label?"""
    ranked = np.asarray(ranked_labels)
    queries = np.asarray(query_labels)
    if ranked.ndim != 2 or ranked.shape[0] == 0 or ranked.shape[1] == 0:
        raise ValueError(f"ranked_labels must be a non-empty (Q, K) array; got shape {ranked.shape}.")
    if queries.shape != (ranked.shape[0],):
        raise ValueError(f"query_labels must have shape ({ranked.shape[0]},); got {queries.shape}.")
    return ranked == queries[:, None]


def first_relevant_rank(ranked_labels: ArrayLike, query_labels: ArrayLike) -> NDArray[np.int64]:
    """``(Q,)`` 1-based rank of each query's first relevant item; **0 when there is none**
    in the ranking."""
    rel = relevance(ranked_labels, query_labels)
    found = rel.any(axis=1)
    return np.where(found, rel.argmax(axis=1) + 1, 0).astype(np.int64)


def recall_at_k(ranked_labels: ArrayLike, query_labels: ArrayLike, k: int) -> float:
    """Fraction of queries with at least one relevant item in the top ``k`` (k > K: all K)."""
    rel = relevance(ranked_labels, query_labels)
    return float(rel[:, : _check_k(k)].any(axis=1).mean())


def rank_k_accuracy(ranked_labels: ArrayLike, query_labels: ArrayLike, k: int) -> float:
    """Rank-k identification accuracy (the injured-face publication's name): the fraction of
    probes whose true subject is among the top ``k``; the same number as :func:`recall_at_k`."""
    return recall_at_k(ranked_labels, query_labels, k)


def cmc(ranked_labels: ArrayLike, query_labels: ArrayLike, max_rank: int) -> NDArray[np.float64]:
    """Cumulative match characteristic ``(max_rank,)``: entry ``r - 1`` is the Rank-r accuracy.

    Non-decreasing; constant beyond the ranking's length K.
    """
    max_rank = _check_k(max_rank)
    ranks = first_relevant_rank(ranked_labels, query_labels)
    hits = np.zeros(max_rank + 1, dtype=np.float64)
    found = ranks[(ranks > 0) & (ranks <= max_rank)]
    np.add.at(hits, found, 1.0)
    return np.cumsum(hits)[1:] / ranks.shape[0]


def mrr_at_k(ranked_labels: ArrayLike, query_labels: ArrayLike, k: int) -> float:
    """Mean reciprocal rank at k: mean over queries of ``1 / rank`` of the first relevant item
    when that rank is <= k, else 0."""
    k = _check_k(k)
    ranks = first_relevant_rank(ranked_labels, query_labels)
    reciprocal = np.where((ranks > 0) & (ranks <= k), 1.0 / np.maximum(ranks, 1), 0.0)
    return float(reciprocal.mean())


def average_precision_at_k(
    ranked_labels: ArrayLike,
    query_labels: ArrayLike,
    k: int,
    *,
    n_relevant: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """``(Q,)`` AP@k per query: ``sum_{i<=k} P@i * rel_i / min(k, R)``.

    ``P@i`` is the precision of the top i and ``rel_i`` 1 when item i is relevant. ``R`` is the
    number of relevant items in the whole gallery for that query: by default counted in
    ``ranked_labels``, which must then hold the full ranking; with a truncated (top-k)
    ranking pass ``n_relevant`` ``(Q,)``. A query with ``R = 0`` has AP 0.
    """
    k = _check_k(k)
    rel = relevance(ranked_labels, query_labels)
    total = rel.sum(axis=1) if n_relevant is None else np.asarray(n_relevant, dtype=np.int64)
    if total.shape != (rel.shape[0],):
        raise ValueError(f"n_relevant must have shape ({rel.shape[0]},); got {total.shape}.")
    top = rel[:, :k].astype(np.float64)
    precision = np.cumsum(top, axis=1) / np.arange(1, top.shape[1] + 1)
    denominator = np.minimum(k, total)
    summed = (precision * top).sum(axis=1)
    return np.where(denominator > 0, summed / np.maximum(denominator, 1), 0.0)


def map_at_k(
    ranked_labels: ArrayLike,
    query_labels: ArrayLike,
    k: int,
    *,
    n_relevant: ArrayLike | None = None,
) -> float:
    """Mean over queries of :func:`average_precision_at_k`."""
    return float(average_precision_at_k(ranked_labels, query_labels, k, n_relevant=n_relevant).mean())


def retrieval_curves(
    ranked_labels: ArrayLike,
    query_labels: ArrayLike,
    max_k: int,
    *,
    n_relevant: ArrayLike | None = None,
) -> RetrievalCurves:
    """Recall@k, mAP@k and MRR@k for every ``k = 1 .. max_k`` (the publication's curves)."""
    max_k = _check_k(max_k)
    ks = np.arange(1, max_k + 1, dtype=np.int64)
    return RetrievalCurves(
        ks=ks,
        recall=np.array([recall_at_k(ranked_labels, query_labels, int(k)) for k in ks]),
        map=np.array([map_at_k(ranked_labels, query_labels, int(k), n_relevant=n_relevant) for k in ks]),
        mrr=np.array([mrr_at_k(ranked_labels, query_labels, int(k)) for k in ks]),
    )


def triplet_accuracy(d_ap: ArrayLike, d_an: ArrayLike) -> float:
    """Fraction of triplets with ``d(a, p) < d(a, n)`` (strict: a tie counts as a failure)."""
    ap = np.asarray(d_ap, dtype=np.float64)
    an = np.asarray(d_an, dtype=np.float64)
    if ap.ndim != 1 or ap.shape != an.shape or ap.size == 0:
        raise ValueError(f"d_ap and d_an must be non-empty 1-D arrays of one length; got {ap.shape}, {an.shape}.")
    return float((ap < an).mean())


def _as_matrix(values: ArrayLike, name: str) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty (n, d) array; got shape {array.shape}.")
    return array


def _check_k(k: int) -> int:
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer; got {k}.")
    return int(k)
