"""Exact k-nearest-neighbour search against a plain loop."""

from __future__ import annotations

import numpy as np
import pytest

from crossid_desktop.gallery import exact as exact_module
from crossid_desktop.gallery.exact import exact_search


def loop_knn(queries: np.ndarray, vectors: np.ndarray, k: int) -> tuple[list[list[int]], list[list[float]]]:
    """Reference: every distance in float64, one pair at a time, sorted by (distance, position)."""
    positions, distances = [], []
    for q in queries.astype(np.float64):
        pairs = []
        for j, v in enumerate(vectors.astype(np.float64)):
            pairs.append((float(np.sqrt(sum((a - b) ** 2 for a, b in zip(q, v)))), j))
        pairs.sort()
        positions.append([j for _, j in pairs[:k]])
        distances.append([d for d, _ in pairs[:k]])
    return positions, distances


def test_exact_search_matches_a_plain_loop() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((60, 7)).astype(np.float32)
    queries = rng.standard_normal((5, 7)).astype(np.float32)
    positions, distances = exact_search(queries, vectors, 6)
    want_pos, want_d = loop_knn(queries, vectors, 6)
    assert positions.dtype == np.int64 and distances.dtype == np.float32
    assert positions.tolist() == want_pos
    np.testing.assert_allclose(distances, want_d, rtol=1e-6)


def test_exact_search_ties_and_k_beyond_n() -> None:
    # integer vectors: distances are exact, so ties are real ties
    vectors = np.array([[2, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 0], [3, 3]], np.float32)
    queries = np.array([[0, 0], [1, 1], [0.5, 0.5]], np.float32)
    positions, distances = exact_search(queries, vectors, 10)
    want_pos, want_d = loop_knn(queries, vectors, 10)
    assert positions.shape == (3, 7)
    assert positions.tolist() == want_pos
    np.testing.assert_allclose(distances, want_d, rtol=1e-6)
    # the hand-worked first row: 0 at pos 5, then four at distance 1 (positions 1, 2, 3, 4)
    assert positions[0, :5].tolist() == [5, 1, 2, 3, 4]


def test_exact_search_over_many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exact_module, "_BLOCK_ELEMENTS", 50)  # forces one query row per block
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((40, 3)).astype(np.float32)
    vectors[10] = vectors[30]  # duplicate vector: a tie broken by position
    queries = np.vstack([vectors[30] + 1e-3, rng.standard_normal((3, 3))]).astype(np.float32)
    positions, _ = exact_search(queries, vectors, 5)
    assert positions.tolist() == loop_knn(queries, vectors, 5)[0]
