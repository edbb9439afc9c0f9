"""Every gallery index backend (the embedded hnswlib index, Milvus Lite) against exact search
and against the database it is derived from."""

from __future__ import annotations

import numpy as np
import pytest
from gallery_vectors import FP, OTHER_FP, OpenIndex, enrol_vectors
from test_exact import loop_knn

from crossid_desktop.errors import GalleryError, MatcherMismatchError
from crossid_desktop.gallery.exact import exact_search
from crossid_desktop.gallery.index import HnswParams
from crossid_desktop.gallery.store import GalleryStore


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def test_index_recall_and_exact_mode(open_index: OpenIndex, store: GalleryStore) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((5000, 64)).astype(np.float32)
    ids = enrol_vectors(store, vectors)
    queries = rng.standard_normal((100, 64)).astype(np.float32)
    index = open_index(store, params=HnswParams())  # the default parameters
    assert (index.count, index.dim, index.fingerprint) == (5000, 64, FP)
    found, distances = index.search(queries, 10)
    truth_pos, truth_d = exact_search(queries, vectors, 10)
    assert recall_at(found, ids[truth_pos]) >= 0.99
    assert np.all(np.diff(distances, axis=1) >= 0)
    # the returned distances are Euclidean, not squared
    want = np.linalg.norm(queries[:, None, :] - vectors[np.searchsorted(ids, found)], axis=2)
    np.testing.assert_allclose(distances, want, rtol=1e-4)
    exact_ids, exact_d = index.search(queries, 10, exact=True)
    assert np.array_equal(exact_ids, ids[truth_pos])
    np.testing.assert_allclose(exact_d, truth_d, rtol=1e-6)


def test_small_gallery_is_exact_and_k_is_clipped(open_index: OpenIndex, store: GalleryStore) -> None:
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((20, 8)).astype(np.float32)
    ids = enrol_vectors(store, vectors)
    index = open_index(store)
    query = rng.standard_normal(8).astype(np.float32)
    found, distances = index.search(query, 50)
    want_pos, want_d = loop_knn(query[None], vectors, 50)
    assert found.shape == (1, 20)
    assert found[0].tolist() == ids[want_pos[0]].tolist()
    np.testing.assert_allclose(distances[0], want_d[0], rtol=1e-6)
    with pytest.raises(MatcherMismatchError):
        index.search(np.zeros(9, np.float32), 3)


def test_empty_gallery(open_index: OpenIndex, store: GalleryStore) -> None:
    index = open_index(store)
    assert index.count == 0 and not index.status().exists
    with pytest.raises(GalleryError, match="empty"):
        index.search(np.zeros((1, 4), np.float32), 5)


def test_persistence_round_trip(open_index: OpenIndex, store: GalleryStore) -> None:
    rng = np.random.default_rng(11)
    enrol_vectors(store, rng.standard_normal((600, 16)).astype(np.float32))
    queries = rng.standard_normal((20, 16)).astype(np.float32)
    first = open_index(store)
    assert first.rebuilt and first.status().matches_db
    ids1, d1 = first.search(queries, 10)
    first.close()
    again = open_index(store)
    assert not again.rebuilt
    status = again.status()
    assert status.exists and status.matches_db and status.count == 600 and "loaded" in status.reason
    ids2, d2 = again.search(queries, 10)
    assert np.array_equal(ids1, ids2) and np.allclose(d1, d2, rtol=1e-6)  # a server may sum in another order


def test_changes_of_the_database_are_caught_up(open_index: OpenIndex, store: GalleryStore) -> None:
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((400, 16)).astype(np.float32)
    ids = enrol_vectors(store, vectors[:300])
    index = open_index(store)
    new_ids = enrol_vectors(store, vectors[300:], start=300)  # e.g. another process enrols
    assert not index.status().matches_db
    assert index.sync() == (100, 0)  # grows past the initial capacity
    all_ids = np.concatenate([ids, new_ids])
    assert index.count == 400 and index.status().matches_db
    found, distances = index.search(vectors[300:], 1)
    assert np.array_equal(found[:, 0], new_ids) and np.allclose(distances, 0)

    gone = all_ids[::3]
    for image_id in gone:
        store.remove_image(int(image_id))
    assert index.catch_up() and index.count == 400 - len(gone)
    kept = np.setdiff1d(all_ids, gone)
    for exact in (False, True):
        found, _ = index.search(vectors, 50, exact=exact)
        assert not np.isin(found, gone).any()
    found, _ = index.search(vectors[np.searchsorted(all_ids, kept)], 1)
    assert np.array_equal(found[:, 0], kept)
    index.save()
    index.close()
    reopened = open_index(store)
    assert not reopened.rebuilt and reopened.count == len(kept)
    assert not np.isin(reopened.search(vectors, 50)[0], gone).any()
    rebuilt = open_index(store, rebuild="always")
    assert rebuilt.rebuilt and not np.isin(rebuilt.search(vectors, 50)[0], gone).any()


def test_a_replaced_vector_is_searched_as_replaced(open_index: OpenIndex, store: GalleryStore) -> None:
    rng = np.random.default_rng(4)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    ids = enrol_vectors(store, vectors)
    index = open_index(store)
    moved = vectors[7] + 50.0  # far from everything
    store.put_embeddings(FP, [int(ids[3])], moved[None])
    assert index.catch_up() and index.count == 300
    for exact in (False, True):
        found, distances = index.search(moved, 1, exact=exact)
        assert found[0, 0] == ids[3] and distances[0, 0] == pytest.approx(0.0, abs=1e-4)
        assert ids[3] not in index.search(vectors[3], 5, exact=exact)[0]


def test_an_index_behind_the_database_catches_up_on_open(open_index: OpenIndex, store: GalleryStore) -> None:
    rng = np.random.default_rng(8)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    ids = enrol_vectors(store, vectors[:290])
    open_index(store).close()  # saved
    new_ids = enrol_vectors(store, vectors[290:], start=290)  # e.g. an enrolment killed before its save
    with pytest.raises(GalleryError, match="out of date.*crossid gallery rebuild-index"):
        open_index(store, rebuild="never")
    index = open_index(store)
    assert not index.rebuilt and "caught up with 10" in index.status().reason and index.count == 300
    found, _ = index.search(vectors[290:], 1)
    assert np.array_equal(found[:, 0], new_ids)
    assert np.array_equal(index.search(vectors[:5], 1)[0][:, 0], ids[:5])


def test_an_index_older_than_the_log_is_rebuilt(open_index: OpenIndex, store: GalleryStore) -> None:
    rng = np.random.default_rng(12)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    enrol_vectors(store, vectors[:280])
    open_index(store).close()
    new_ids = enrol_vectors(store, vectors[280:], start=280)
    store.prune_embedding_log(FP, store.matcher_state(FP).generation)  # the changes since are forgotten
    index = open_index(store)
    assert index.rebuilt and "record of changes" in index.status().reason
    assert np.array_equal(index.search(vectors[280:], 1)[0][:, 0], new_ids)


def test_matchers_have_separate_indexes(open_index: OpenIndex, store: GalleryStore) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    ids = enrol_vectors(store, vectors)
    store.put_embeddings(OTHER_FP, ids, -vectors)
    mine, other = open_index(store), open_index(store, OTHER_FP)
    assert mine.search(vectors[0], 1)[0][0, 0] == ids[0]
    assert other.search(-vectors[0], 1)[0][0, 0] == ids[0]
    assert other.search(vectors[0], 1)[1][0, 0] > 1.0
