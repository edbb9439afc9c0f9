"""Exact k-nearest-neighbour search by Euclidean distance, in bounded memory: the reference the
approximate index is checked against, and the search of small galleries."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_BLOCK_ELEMENTS = 1 << 24  # one float32 distance block in exact search: 64 MB


def exact_search(
    queries: NDArray[np.float32], vectors: NDArray[np.float32], k: int
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Exact k nearest neighbours by Euclidean distance.

    ``queries`` (m, d) and ``vectors`` (n, d) float32. Returns positions into ``vectors`` and
    distances, both (m, min(k, n)), ascending by distance, ties by position. Distance blocks
    are bounded to 64 MB, so a 1M x 512 gallery is searched in its own memory.
    """
    positions, distances = exact_search64(queries, vectors, k)
    return positions, distances.astype(np.float32)


def exact_search64(
    queries: NDArray[np.float32], vectors: NDArray[np.float32], k: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """:func:`exact_search` with the distances in float64."""
    q = np.ascontiguousarray(queries, dtype=np.float32)
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    if q.ndim != 2 or v.ndim != 2 or (len(v) and q.shape[1] != v.shape[1]):
        raise ValueError(f"queries {q.shape} and vectors {v.shape} must be (m, d) and (n, d)")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    m, n = len(q), len(v)
    k = min(k, n)
    positions = np.zeros((m, k), np.int64)
    distances = np.zeros((m, k), np.float64)
    if k == 0 or m == 0:
        return positions, distances
    v_norms = np.einsum("ij,ij->i", v, v)
    q_norms = np.einsum("ij,ij->i", q, q)
    # |q - v|^2 = |q|^2 + |v|^2 - 2 q.v in float32 picks the candidates; its rounding error is
    # below `slack`, so every vector that can be in the top k (ties included) is a candidate,
    # and the candidates are ranked by distances recomputed in float64.
    slack = 4 * q.shape[1] * np.finfo(np.float32).eps * (q_norms + v_norms.max()) + 1e-30
    rows = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, m, rows):
        block = q[start : start + rows] @ v.T
        block *= -2
        block += v_norms
        block += q_norms[start : start + rows, None]
        for r, approx in enumerate(block):
            i = start + r
            if k < n:
                kth = np.partition(approx, k - 1)[k - 1]
                candidates = np.flatnonzero(approx <= kth + slack[i])
            else:
                candidates = np.arange(n)
            diff = v[candidates].astype(np.float64) - q[i].astype(np.float64)
            exact = np.einsum("ij,ij->i", diff, diff)
            order = np.lexsort((candidates, exact))[:k]
            positions[i] = candidates[order]
            distances[i] = np.sqrt(exact[order])
    return positions, distances
