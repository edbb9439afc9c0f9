from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.errors import GalleryError, MatcherMismatchError
from crossid_desktop.gallery import exact as exact_module
from crossid_desktop.gallery.exact import exact_search
from crossid_desktop.gallery.index import GalleryIndex, HnswParams
from crossid_desktop.gallery.store import GalleryStore

PNG = b"\x89PNG\r\n\x1a\n"
FP = "a" * 64
OTHER_FP = "b" * 64
# smaller graph settings keep the tests quick on a shared CPU; recall is still checked
PARAMS = HnswParams(M=16, ef_construction=100, ef=100)


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


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GalleryStore]:
    with GalleryStore(tmp_path / "gallery.db") as s:
        s.register_matcher(FP, name="matcher", card={})
        s.register_matcher(OTHER_FP, name="other matcher", card={})
        s.upsert_subject("s")
        yield s


def enrol(store: GalleryStore, vectors: np.ndarray, *, fingerprint: str = FP, start: int = 0) -> np.ndarray:
    with store.transaction():
        ids = [
            store.add_image(
                "s", path=Path(f"/p/{i}.jpg"), sha256=hashlib.sha256(str(i).encode()).hexdigest(), view="front",
                width=9, height=9, thumbnail_png=PNG, alignment="x",
            ).image_id
            for i in range(start, start + len(vectors))
        ]
        store.put_embeddings(fingerprint, ids, vectors)
    return np.array(ids)


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def test_index_recall_and_exact_mode(tmp_path: Path, store: GalleryStore) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((5000, 64)).astype(np.float32)
    ids = enrol(store, vectors)
    queries = rng.standard_normal((100, 64)).astype(np.float32)
    index = GalleryIndex.open(tmp_path / "indexes", store, FP)  # the default parameters
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


def test_small_gallery_is_exact_and_k_is_clipped(tmp_path: Path, store: GalleryStore) -> None:
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((20, 8)).astype(np.float32)
    ids = enrol(store, vectors)
    index = GalleryIndex.open(tmp_path, store, FP, params=PARAMS)
    query = rng.standard_normal(8).astype(np.float32)
    found, distances = index.search(query, 50)
    want_pos, want_d = loop_knn(query[None], vectors, 50)
    assert found.shape == (1, 20)
    assert found[0].tolist() == ids[want_pos[0]].tolist()
    np.testing.assert_allclose(distances[0], want_d[0], rtol=1e-6)
    with pytest.raises(MatcherMismatchError):
        index.search(np.zeros(9, np.float32), 3)


def test_empty_gallery(tmp_path: Path, store: GalleryStore) -> None:
    index = GalleryIndex.open(tmp_path, store, FP)
    assert index.count == 0 and not index.status().exists
    with pytest.raises(GalleryError, match="empty"):
        index.search(np.zeros((1, 4), np.float32), 5)


def test_persistence_round_trip(tmp_path: Path, store: GalleryStore) -> None:
    rng = np.random.default_rng(11)
    enrol(store, rng.standard_normal((600, 16)).astype(np.float32))
    queries = rng.standard_normal((20, 16)).astype(np.float32)
    first = GalleryIndex.open(tmp_path, store, FP, params=PARAMS)
    assert first.rebuilt and "no index file" in first.status().reason
    ids1, d1 = first.search(queries, 10)
    again = GalleryIndex.open(tmp_path, store, FP, params=PARAMS)
    assert not again.rebuilt
    status = again.status()
    assert status.exists and status.matches_db and status.count == 600 and "loaded" in status.reason
    ids2, d2 = again.search(queries, 10)
    assert np.array_equal(ids1, ids2) and np.array_equal(d1, d2)
    assert not list(tmp_path.glob("*.tmp"))


def test_incremental_add_remove_and_sync(tmp_path: Path, store: GalleryStore) -> None:
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((400, 16)).astype(np.float32)
    ids = enrol(store, vectors[:300])
    index = GalleryIndex.open(tmp_path, store, FP, params=PARAMS)
    new_ids = enrol(store, vectors[300:], start=300)
    assert not index.status().matches_db
    index.add(new_ids, vectors[300:])  # grows past the initial capacity
    all_ids = np.concatenate([ids, new_ids])
    assert index.count == 400 and index.status().matches_db
    # search for each added vector finds itself
    found, distances = index.search(vectors[300:], 1)
    assert np.array_equal(found[:, 0], new_ids) and np.allclose(distances, 0)

    gone = all_ids[::3]
    for image_id in gone:
        store.remove_image(int(image_id))
    index.remove(gone)
    kept = np.setdiff1d(all_ids, gone)
    for exact in (False, True):
        found, _ = index.search(vectors, 50, exact=exact)
        assert not np.isin(found, gone).any()
    found, _ = index.search(vectors[np.searchsorted(all_ids, kept)], 1)
    assert np.array_equal(found[:, 0], kept)
    index.save()
    reopened = GalleryIndex.open(tmp_path, store, FP, params=PARAMS)
    assert not reopened.rebuilt and reopened.count == len(kept)
    assert not np.isin(reopened.search(vectors, 50)[0], gone).any()
    rebuilt = GalleryIndex.open(tmp_path, store, FP, params=PARAMS, rebuild="always")
    assert rebuilt.rebuilt and not np.isin(rebuilt.search(vectors, 50)[0], gone).any()

    # another process removes a subject's images: sync catches up without a rebuild
    store.remove_image(int(kept[0]))
    assert rebuilt.sync() == (0, 1)
    assert rebuilt.status().matches_db and rebuilt.count == len(kept) - 1


def _saved_index(tmp_path: Path, store: GalleryStore, n: int = 300, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.random.default_rng(9).standard_normal((n, dim)).astype(np.float32)
    ids = enrol(store, vectors)
    GalleryIndex.open(tmp_path, store, FP, params=PARAMS)
    return ids, vectors


def _check_rebuilt(tmp_path: Path, store: GalleryStore, ids: np.ndarray, vectors: np.ndarray, reason: str) -> None:
    with pytest.raises(GalleryError, match="out of date"):
        GalleryIndex.open(tmp_path, store, FP, params=PARAMS, rebuild="never")
    index = GalleryIndex.open(tmp_path, store, FP, params=PARAMS)
    assert index.rebuilt and reason in index.status().reason
    found, distances = index.search(vectors[:50], 1)
    assert np.array_equal(found[:, 0], ids[:50]) and np.allclose(distances, 0)
    assert not GalleryIndex.open(tmp_path, store, FP, params=PARAMS).rebuilt  # repaired on disk


def test_stale_count_is_rebuilt(tmp_path: Path, store: GalleryStore) -> None:
    ids, vectors = _saved_index(tmp_path, store)
    extra = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    new_ids = enrol(store, extra, start=1000)
    _check_rebuilt(tmp_path, store, np.concatenate([ids, new_ids]), np.vstack([vectors, extra]), "faces")


def test_another_matchers_file_is_rebuilt(tmp_path: Path, store: GalleryStore) -> None:
    ids, vectors = _saved_index(tmp_path, store)
    store.put_embeddings(OTHER_FP, ids, -vectors)  # same images and size, other vectors
    GalleryIndex.open(tmp_path, store, OTHER_FP, params=PARAMS)
    shutil.copy(tmp_path / f"{OTHER_FP}.hnsw", tmp_path / f"{FP}.hnsw")  # only the graph copied over
    _check_rebuilt(tmp_path, store, ids, vectors, "other vectors")
    shutil.copy(tmp_path / f"{OTHER_FP}.hnsw", tmp_path / f"{FP}.hnsw")  # the graph and its meta
    shutil.copy(tmp_path / f"{OTHER_FP}.json", tmp_path / f"{FP}.json")
    _check_rebuilt(tmp_path, store, ids, vectors, "another matcher")


def test_truncated_file_is_rebuilt(tmp_path: Path, store: GalleryStore) -> None:
    ids, vectors = _saved_index(tmp_path, store)
    graph = tmp_path / f"{FP}.hnsw"
    graph.write_bytes(graph.read_bytes()[:-100])
    _check_rebuilt(tmp_path, store, ids, vectors, "does not match its description")
    graph.write_bytes(b"")
    _check_rebuilt(tmp_path, store, ids, vectors, "unreadable")


def test_other_dimension_is_rebuilt(tmp_path: Path, store: GalleryStore) -> None:
    ids, vectors = _saved_index(tmp_path, store)
    meta_path = tmp_path / f"{FP}.json"
    meta = json.loads(meta_path.read_text())
    meta["dim"] = 32  # an index of another dimension described truthfully
    meta_path.write_text(json.dumps(meta))
    _check_rebuilt(tmp_path, store, ids, vectors, "does not match its description")
    # a consistent 32-d graph and meta for the same images, relabelled as this matcher's
    store.put_embeddings(OTHER_FP, ids, np.tile(vectors, 2))
    GalleryIndex.open(tmp_path, store, OTHER_FP, params=PARAMS)
    shutil.copy(tmp_path / f"{OTHER_FP}.hnsw", tmp_path / f"{FP}.hnsw")
    meta = json.loads((tmp_path / f"{OTHER_FP}.json").read_text())
    meta_path.write_text(json.dumps({**meta, "fingerprint": FP}))
    _check_rebuilt(tmp_path, store, ids, vectors, "other vectors")


def test_older_format_is_rebuilt(tmp_path: Path, store: GalleryStore) -> None:
    ids, vectors = _saved_index(tmp_path, store)
    meta_path = tmp_path / f"{FP}.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] -= 1
    meta_path.write_text(json.dumps(meta))
    _check_rebuilt(tmp_path, store, ids, vectors, "format version")
    (tmp_path / f"{FP}.json").write_text("{broken")
    _check_rebuilt(tmp_path, store, ids, vectors, "unreadable")
