"""Metrics against hand-worked rankings and scores, and against scikit-learn."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from crossid_desktop.evaluation import metrics as M

# Hand-worked ranking. Gallery labels: a, a, b, c, d (five items). Each row is a query's
# ranking of the whole gallery; query labels a, b, d, e ("e" is in no gallery).
#
# query | ranked labels | relevant at | R | first | AP@1 | AP@3          | AP@5
# a     | a b a c d     | 1, 3        | 2 | 1     | 1    | (1+2/3)/2=5/6 | 5/6
# b     | a c b a d     | 3           | 1 | 3     | 0    | (1/3)/1 = 1/3 | 1/3
# d     | b a a c d     | 5           | 1 | 5     | 0    | 0             | (1/5)/1 = 1/5
# e     | c a b d a     | -           | 0 | none  | 0    | 0             | 0
#
# Recall@1 = 1/4, Recall@3 = 2/4, Recall@5 = 3/4 (and Recall@100 = 3/4: k beyond the gallery)
# mAP@1 = 1/4, mAP@3 = (5/6 + 1/3)/4 = 7/24, mAP@5 = (5/6 + 1/3 + 1/5)/4 = 41/120
# MRR@1 = 1/4, MRR@3 = (1 + 1/3)/4 = 1/3, MRR@5 = (1 + 1/3 + 1/5)/4 = 23/60
RANKED = np.array(
    [
        list("abacd"),
        list("acbad"),
        list("baacd"),
        list("cabda"),
    ]
)
QUERY = np.array(list("abde"))


def test_hand_worked_recall_map_mrr() -> None:
    assert M.recall_at_k(RANKED, QUERY, 1) == pytest.approx(1 / 4)
    assert M.recall_at_k(RANKED, QUERY, 3) == pytest.approx(2 / 4)
    assert M.recall_at_k(RANKED, QUERY, 5) == pytest.approx(3 / 4)
    assert M.recall_at_k(RANKED, QUERY, 100) == pytest.approx(3 / 4)
    assert M.rank_k_accuracy(RANKED, QUERY, 3) == pytest.approx(2 / 4)
    assert M.map_at_k(RANKED, QUERY, 1) == pytest.approx(1 / 4)
    assert M.map_at_k(RANKED, QUERY, 3) == pytest.approx(7 / 24)
    assert M.map_at_k(RANKED, QUERY, 5) == pytest.approx(41 / 120)
    assert M.map_at_k(RANKED, QUERY, 50) == pytest.approx(41 / 120)
    np.testing.assert_allclose(M.average_precision_at_k(RANKED, QUERY, 3), [5 / 6, 1 / 3, 0, 0])
    assert M.mrr_at_k(RANKED, QUERY, 1) == pytest.approx(1 / 4)
    assert M.mrr_at_k(RANKED, QUERY, 3) == pytest.approx(1 / 3)
    assert M.mrr_at_k(RANKED, QUERY, 5) == pytest.approx(23 / 60)
    assert M.first_relevant_rank(RANKED, QUERY).tolist() == [1, 3, 5, 0]


def test_hand_worked_cmc_beyond_the_gallery() -> None:
    np.testing.assert_allclose(M.cmc(RANKED, QUERY, 7), [1 / 4, 1 / 4, 2 / 4, 2 / 4, 3 / 4, 3 / 4, 3 / 4])


def test_truncated_ranking_needs_n_relevant() -> None:
    # the top 3 only; R from the table above (2, 1, 1, 0) gives the same AP@3
    top3 = RANKED[:, :3]
    ap = M.average_precision_at_k(top3, QUERY, 3, n_relevant=[2, 1, 1, 0])
    np.testing.assert_allclose(ap, [5 / 6, 1 / 3, 0, 0])
    # query "a" at k = 2: relevant at rank 1 only -> P@1 * 1 / min(2, R=2) = 1/2
    assert M.average_precision_at_k(top3, QUERY, 2, n_relevant=[2, 1, 1, 0])[0] == pytest.approx(1 / 2)


def test_retrieval_curves_follow_the_table() -> None:
    curves = M.retrieval_curves(RANKED, QUERY, 5)
    assert curves.ks.tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(curves.recall, [1 / 4, 1 / 4, 2 / 4, 2 / 4, 3 / 4])
    np.testing.assert_allclose(curves.mrr[[0, 2, 4]], [1 / 4, 1 / 3, 23 / 60])
    np.testing.assert_allclose(curves.map[[0, 2, 4]], [1 / 4, 7 / 24, 41 / 120])


def test_rank_gallery_breaks_ties_by_gallery_position_and_clips_k() -> None:
    gallery = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    query = np.array([[1.0, 0.0], [0.0, 0.0]])
    # query 0: distances 0, 1, 0, 1 -> stable order 0, 2, 1, 3
    # query 1: distances 0, 1, 1, 2 -> 1, 0, 2, 3
    ranking = M.rank_gallery(query, gallery, k=10)
    assert ranking.indices.tolist() == [[0, 2, 1, 3], [1, 0, 2, 3]]
    np.testing.assert_allclose(ranking.distances, [[0, 0, 1, 1], [0, 1, 1, 2]])
    assert ranking.labels(np.array(["x", "y", "z", "w"])).tolist() == [list("xzyw"), list("yxzw")]
    assert M.rank_gallery(query, gallery, k=2).indices.shape == (2, 2)


def test_rank_gallery_uses_the_injected_search() -> None:
    calls: list[int] = []

    def reverse_search(queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        calls.append(k)
        idx = np.tile(np.arange(k)[::-1], (queries.shape[0], 1))
        return idx, np.zeros(idx.shape)

    ranking = M.rank_gallery(np.zeros((2, 3)), np.zeros((4, 3)), search=reverse_search)
    assert calls == [4]
    assert ranking.indices.tolist() == [[3, 2, 1, 0]] * 2

    def wrong_shape(queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((1, 1), dtype=int), np.zeros((1, 1))

    with pytest.raises(ValueError, match="expected"):
        M.rank_gallery(np.zeros((2, 3)), np.zeros((4, 3)), search=wrong_shape)


def test_exact_search_matches_brute_force_loop() -> None:
    rng = np.random.default_rng(0)
    gallery, queries = rng.normal(size=(15, 4)), rng.normal(size=(5, 4))
    ranking = M.rank_gallery(queries, gallery, k=6)
    for q in range(5):
        d = [float(np.sqrt(((queries[q] - g) ** 2).sum())) for g in gallery]
        expected = sorted(range(15), key=lambda j: d[j])[:6]
        assert ranking.indices[q].tolist() == expected
        np.testing.assert_allclose(ranking.distances[q], [d[j] for j in expected], rtol=1e-10)


def test_average_precision_matches_sklearn_on_full_rankings() -> None:
    sklearn_metrics = importlib.import_module("sklearn.metrics")
    rng = np.random.default_rng(1)
    gallery, gallery_labels = rng.normal(size=(30, 3)), rng.integers(0, 6, 30)
    queries, query_labels = rng.normal(size=(10, 3)), rng.integers(0, 6, 10)
    ranked = M.rank_gallery(queries, gallery).labels(gallery_labels)
    ap = M.average_precision_at_k(ranked, query_labels, 30)
    for q in range(10):
        relevant = (ranked[q] == query_labels[q]).astype(int)
        if relevant.sum() == 0:
            assert ap[q] == 0.0
            continue
        expected = sklearn_metrics.average_precision_score(relevant, -np.arange(30))
        assert ap[q] == pytest.approx(expected, rel=1e-12)


def test_triplet_accuracy_counts_ties_as_failures() -> None:
    assert M.triplet_accuracy([1.0, 2.0, 3.0], [2.0, 2.0, 1.0]) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "call",
    [
        lambda: M.recall_at_k(np.empty((0, 3)), np.empty(0), 1),
        lambda: M.recall_at_k(np.empty((2, 0)), np.zeros(2), 1),
        lambda: M.recall_at_k(RANKED, QUERY, 0),
        lambda: M.recall_at_k(RANKED, QUERY[:2], 1),
        lambda: M.cmc(RANKED, QUERY, 0),
        lambda: M.triplet_accuracy([], []),
        lambda: M.rank_gallery(np.empty((0, 2)), np.zeros((3, 2))),
        lambda: M.roc_curve([], [1.0]),
        lambda: M.roc_curve([np.nan], [1.0]),
        lambda: M.gar_at_far([1.0], [0.0], far=1.5),
        lambda: M.mean_interclass_distance(np.zeros((3, 2)), [1, 1, 1]),
    ],
)
def test_empty_or_invalid_inputs_raise(call) -> None:
    with pytest.raises(ValueError):
        call()


# ---------------------------------------------------------------------------- verification

GENUINE = np.array([0.9, 0.8, 0.7, 0.6, 0.3])
IMPOSTOR = np.array([0.85, 0.5, 0.4, 0.2, 0.1, 0.05, 0.0, -0.1, -0.2, -0.3])
# threshold: inf   0.9  0.85 0.8  0.7  0.6  0.5  0.4  0.3 ...
# FAR:       0     0    0.1  0.1  0.1  0.1  0.2  0.3  0.3
# GAR:       0     0.2  0.2  0.4  0.6  0.8  0.8  0.8  1.0
# FRR:       1     0.8  0.8  0.6  0.4  0.2  0.2  0.2  0.0   -> FAR = FRR = 0.2 at 0.5


def test_roc_matches_sklearn() -> None:
    sklearn_metrics = importlib.import_module("sklearn.metrics")
    rng = np.random.default_rng(2)
    genuine = np.round(rng.normal(1.0, 1.0, 40), 1)  # rounding makes ties across classes
    impostor = np.round(rng.normal(0.0, 1.0, 60), 1)
    y = np.r_[np.ones(40), np.zeros(60)]
    fpr, tpr, thr = sklearn_metrics.roc_curve(y, np.r_[genuine, impostor], drop_intermediate=False)
    roc = M.roc_curve(genuine, impostor)
    np.testing.assert_allclose(roc.far, fpr)
    np.testing.assert_allclose(roc.gar, tpr)
    np.testing.assert_allclose(roc.thresholds[1:], thr[1:])
    assert np.isinf(roc.thresholds[0])
    det = M.det_curve(genuine, impostor)
    np.testing.assert_allclose(det.frr, 1 - tpr)


def test_gar_at_far_hand_worked() -> None:
    point = M.operating_point_at_far(GENUINE, IMPOSTOR, far=0.1)
    assert (point.threshold, point.far, point.gar) == pytest.approx((0.6, 0.1, 0.8))
    assert M.gar_at_far(GENUINE, IMPOSTOR, far=0.0) == pytest.approx(0.2)
    assert M.gar_at_far(GENUINE, IMPOSTOR, far=0.15) == pytest.approx(0.8)  # no interpolation
    assert M.gar_at_far(GENUINE, IMPOSTOR, far=1.0) == pytest.approx(1.0)


def test_gar_at_far_matches_sklearn_step_reading() -> None:
    sklearn_metrics = importlib.import_module("sklearn.metrics")
    rng = np.random.default_rng(3)
    genuine, impostor = rng.normal(1.5, 1.0, 50), rng.normal(0.0, 1.0, 50)
    fpr, tpr, _ = sklearn_metrics.roc_curve(np.r_[np.ones(50), np.zeros(50)], np.r_[genuine, impostor])
    for target in (0.02, 0.1, 0.33):
        assert M.gar_at_far(genuine, impostor, target) == pytest.approx(tpr[fpr <= target].max())


def test_eer_hand_worked() -> None:
    assert M.eer(GENUINE, IMPOSTOR) == pytest.approx(0.2)
    # genuine [1, 0], impostor [0.5]: (FAR, FRR) = (0, .5) at t=1 then (1, .5) at t=.5:
    # the crossing of the segment is at FAR = FRR = 0.5
    assert M.eer([1.0, 0.0], [0.5]) == pytest.approx(0.5)
    assert M.eer([2.0, 3.0], [0.0, 1.0]) == pytest.approx(0.0)  # perfectly separated


def test_score_distributions_hand_worked() -> None:
    hist = M.score_distributions([0.0, 1.0, 1.0], [0.5], bins=2)
    np.testing.assert_allclose(hist.edges, [0.0, 0.5, 1.0])
    assert hist.genuine_counts.tolist() == [1, 2]
    assert hist.impostor_counts.tolist() == [0, 1]
    np.testing.assert_allclose(hist.genuine_density, [2 / 3, 4 / 3])


def test_mean_interclass_distance_hand_worked() -> None:
    x = np.array([[0.0], [2.0], [5.0], [10.0]])
    labels = ["a", "a", "b", "c"]
    # different-subject pairs: 5, 3, 10, 8, 5 -> 31 / 5 ; centroids 1, 5, 10 -> (4 + 9 + 5) / 3
    assert M.mean_interclass_distance(x, labels) == pytest.approx(31 / 5)
    assert M.mean_interclass_distance(x, labels, method="centroids") == pytest.approx(6.0)
    x2 = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert M.mean_interclass_distance(x2, [0, 1]) == pytest.approx(5.0)
