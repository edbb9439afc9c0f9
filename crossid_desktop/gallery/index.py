"""Nearest-neighbour search over a gallery's embeddings: an hnswlib index per matcher, and exact search.

An index is derived data: ``indexes/<fingerprint>.hnsw`` (the hnswlib graph, labels = image
ids) and ``indexes/<fingerprint>.json`` (its meta: format version, fingerprint, dimension,
count, a SHA-256 of the live image ids, hnswlib parameters, file size). :meth:`GalleryIndex.open`
checks the pair against the database (and spot-checks a few vectors) and rebuilds from
:meth:`GalleryStore.embeddings` when anything differs: a stale index is never searched.

Distances are Euclidean (hnswlib's ``"l2"`` space gives squared distances; they are converted).
Results are ordered by ascending distance, ties by image id.

**Determinism.** The graph is built with a fixed ``random_seed`` and, by default, one thread
(:class:`HnswParams`): the same database gives the same index file and the same answers.
More build threads build faster, but the graph then depends on thread scheduling, so an
approximate search may return slightly different neighbours between builds.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import GalleryError, MatcherMismatchError
from crossid_desktop.gallery.exact import exact_search64
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress

#: Bumped whenever the files' layout or meaning changes; older files are rebuilt.
INDEX_FORMAT_VERSION = 1
#: Galleries with fewer live faces than this are searched exactly (as fast, and exact).
EXACT_BELOW = 256
_EXACT_CHUNK = 1 << 16  # gallery vectors fetched from the graph at a time for exact search
_ADD_BATCH = 10_000
_SPOT_CHECKS = 16
_FINGERPRINT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$")
# hnswlib's saveIndex header: offsetLevel0, max_elements, cur_element_count,
# size_data_per_element, label_offset, offsetData, maxlevel, enterpoint_node, maxM, maxM0, M,
# mult, ef_construction.
_HEADER = struct.Struct("<QQQQQQiIQQQdQ")


@dataclass(frozen=True)
class HnswParams:
    """hnswlib settings, chosen for recall first: an examiner runs one query at a time, and a
    missed candidate costs more than milliseconds.

    On uniformly random unit vectors (the hardest case; tests/benchmarks/index_search.py),
    recall@10 with ``ef=800`` was 1.000 at 10k x 128, 0.999 at 10k x 512 and 0.985 at
    100k x 128 (``ef=300``: 0.996, 0.960, 0.859). Real face embeddings, of much lower intrinsic
    dimension, do better. For a verification, search with ``exact=True``.
    """

    M: int = 32  # graph links per node (layer 0 has 2M)
    ef_construction: int = 200
    ef: int = 800  # search breadth; raised to k when k is larger
    random_seed: int = 100
    num_threads: int = 1  # for building and searching; 1 builds deterministically


@dataclass(frozen=True)
class IndexStatus:
    """What the gallery manager shows about a matcher's index."""

    exists: bool  # an index file is on disk
    count: int  # faces the index holds (0 when none)
    matches_db: bool  # same matcher, format, dimension and image ids as the database
    reason: str  # one sentence, e.g. why it was rebuilt


def _ids_digest(ids: NDArray[np.int64]) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.sort(ids), dtype="<i8").tobytes()).hexdigest()


def _files(indexes_dir: Path, fingerprint: str) -> tuple[Path, Path]:
    if not _FINGERPRINT.match(fingerprint):
        raise ValueError(f"not a usable matcher fingerprint: {fingerprint!r}")
    return Path(indexes_dir) / f"{fingerprint}.hnsw", Path(indexes_dir) / f"{fingerprint}.json"


def _file_problem(graph: Path, meta_path: Path, fingerprint: str, db_ids: NDArray[np.int64]) -> tuple[str | None, dict]:
    """Why the files on disk cannot serve the database's embeddings (None: they can), and the meta."""
    if not meta_path.exists() or not graph.exists():
        return "there is no index file", {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        size = graph.stat().st_size
        with graph.open("rb") as f:
            header = _HEADER.unpack(f.read(_HEADER.size))
    except (OSError, ValueError, struct.error):
        return "the index files are unreadable", {}
    if not isinstance(meta, dict) or meta.get("format_version") != INDEX_FORMAT_VERSION or meta.get("space") != "l2":
        return "the index was written in another format version", {}
    if meta.get("fingerprint") != fingerprint:
        return "the index belongs to another matcher", {}
    if meta.get("count") != len(db_ids) or meta.get("ids_sha256") != _ids_digest(db_ids):
        return f"the index holds {meta.get('count')} faces and the database {len(db_ids)} (or other ones)", {}
    dim, params = meta.get("dim"), meta.get("params", {})
    _, _, elements, per_element, _, _, _, _, _, max_m0, m_links, _, _ = header
    if (
        size != meta.get("index_bytes")
        or elements != meta.get("elements")
        or m_links != params.get("M")
        or not isinstance(dim, int)
        or not isinstance(meta.get("capacity"), int)
        or meta["capacity"] < elements
        or per_element != max_m0 * 4 + 4 + dim * 4 + 8
    ):
        return "the index file does not match its description (truncated, replaced or another dimension)", {}
    return None, meta


class GalleryIndex:
    """The searchable embeddings of one matcher. Open with :meth:`open`; use from one thread at a time."""

    def __init__(self, indexes_dir: Path, store: GalleryStore, fingerprint: str, params: HnswParams) -> None:
        self._graph_path, self._meta_path = _files(indexes_dir, fingerprint)
        self._store = store
        self._fingerprint = fingerprint
        self._params = params
        self._hnsw: Any = None  # hnswlib.Index, created on the first add
        self._dim = 0
        self._live = np.zeros(0, np.int64)  # sorted ids that search may return
        self._labels = np.zeros(0, np.int64)  # sorted ids in the graph, deleted ones too
        self._reason = "the index is new"
        self._rebuilt = False

    @classmethod
    def open(
        cls,
        indexes_dir: Path,
        store: GalleryStore,
        fingerprint: str,
        *,
        rebuild: Literal["auto", "always", "never"] = "auto",
        params: HnswParams | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GalleryIndex:
        """Load the matcher's index, rebuilding (and saving) it when missing or stale.

        ``rebuild="always"`` rebuilds regardless; ``"never"`` raises :class:`GalleryError`
        instead of rebuilding. A matcher with no embeddings gives an empty index.
        """
        index = cls(indexes_dir, store, fingerprint, params or HnswParams())
        db_ids = store.embedding_ids(fingerprint)
        if len(db_ids) == 0:
            index._reason = "no faces are enrolled for this matcher"
            if index._graph_path.exists() or index._meta_path.exists():
                index.save()  # removes the stale files
            return index
        problem, meta = _file_problem(index._graph_path, index._meta_path, fingerprint, db_ids)
        if problem is None and rebuild != "always":
            problem = index._load(meta, db_ids)
            if problem is None:
                index._reason = "the index was loaded and matches the database"
                return index
        if rebuild == "never":
            raise GalleryError(f"The search index in {index._graph_path.parent} is out of date: {problem}.")
        index._rebuild(progress=progress, cancel=cancel)
        index._reason = f"the index was rebuilt from the database because {problem or 'a rebuild was asked for'}"
        index._rebuilt = True
        index.save()
        return index

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def count(self) -> int:
        """Faces that search can return."""
        return len(self._live)

    @property
    def dim(self) -> int:
        """Embedding length (0 while empty and never filled)."""
        return self._dim

    @property
    def rebuilt(self) -> bool:
        """Whether :meth:`open` had to rebuild the index."""
        return self._rebuilt

    def status(self) -> IndexStatus:
        """How the index stands against the database now."""
        db_ids = self._store.embedding_ids(self._fingerprint)
        matches = len(db_ids) == len(self._live) and bool(np.array_equal(db_ids, self._live))
        reason = self._reason if matches else (
            f"the index holds {len(self._live)} faces and the database {len(db_ids)} (or other ones); reopen to rebuild"
        )
        return IndexStatus(self._meta_path.exists(), len(self._live), matches, reason)

    def add(self, image_ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        """Add (or replace) faces: ``vectors`` (n, d) float32 of ``image_ids``; capacity grows as needed."""
        ids = np.asarray(image_ids, dtype=np.int64).reshape(-1)
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.ndim != 2 or len(vecs) != len(ids):
            raise ValueError(f"vectors of shape {vecs.shape} do not fit {len(ids)} image ids")
        if len(np.unique(ids)) != len(ids) or (len(ids) and ids.min() < 0):
            raise ValueError("image ids must be distinct and non-negative")
        if len(ids) == 0:
            return
        if self._hnsw is None:
            self._create(vecs.shape[1], capacity=len(ids))
        if vecs.shape[1] != self._dim:
            raise MatcherMismatchError(
                f"Embeddings of length {vecs.shape[1]} cannot join the index of matcher {self._fingerprint[:12]}, "
                f"whose embeddings have length {self._dim}."
            )
        needed = len(np.union1d(self._labels, ids))
        if needed > self._hnsw.get_max_elements():
            self._hnsw.resize_index(max(needed, int(self._hnsw.get_max_elements() * 1.5)))
        self._hnsw.add_items(vecs, ids.astype(np.uint64), num_threads=self._params.num_threads)
        self._labels = np.union1d(self._labels, ids)
        self._live = np.union1d(self._live, ids)

    def remove(self, image_ids: Sequence[int]) -> None:
        """Stop returning these faces from search; ids not in the index are ignored."""
        gone = np.intersect1d(self._live, np.asarray(image_ids, dtype=np.int64).reshape(-1))
        for image_id in gone:
            self._hnsw.mark_deleted(int(image_id))
        self._live = np.setdiff1d(self._live, gone)

    def sync(self, *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> tuple[int, int]:
        """Bring the index up to the database incrementally; returns (faces added, faces removed)."""
        db_ids = self._store.embedding_ids(self._fingerprint)
        removed = np.setdiff1d(self._live, db_ids)
        self.remove(removed)
        missing = np.setdiff1d(db_ids, self._live)
        report = progress or no_progress
        for start in range(0, len(missing), _ADD_BATCH):
            check_cancel(cancel, "Updating the search index")
            ids, vecs = self._store.embeddings(self._fingerprint, missing[start : start + _ADD_BATCH].tolist())
            self.add(ids, vecs)
            report(min(start + _ADD_BATCH, len(missing)), len(missing), "Updating the search index")
        return len(missing), len(removed)

    def search(
        self, queries: NDArray[np.float32], k: int, *, exact: bool = False, ef: int | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The k nearest faces of each query: image ids and Euclidean distances, (m, min(k, count)).

        ``queries`` (m, d) or (d,) float32. ``exact=True``, or a gallery under
        :data:`EXACT_BELOW` faces, compares against every face. ``ef`` overrides the search
        breadth of :class:`HnswParams` for this call (larger: slower, higher recall).
        """
        q = np.asarray(queries, dtype=np.float32)
        q = q[None, :] if q.ndim == 1 else q
        if len(self._live) == 0:
            raise GalleryError("The gallery is empty for this matcher: enrol face photos before searching.")
        if q.ndim != 2 or q.shape[1] != self._dim:
            raise MatcherMismatchError(
                f"A query embedding of shape {q.shape[1:]} does not fit the gallery index, whose embeddings have length {self._dim}."
            )
        if not np.isfinite(q).all():
            raise ValueError("query embeddings must be finite")
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        k = min(k, len(self._live))
        if exact or len(self._live) < EXACT_BELOW:
            return self._exact(q, k)
        self._hnsw.set_ef(max(ef or self._params.ef, k))
        try:
            labels, squared = self._hnsw.knn_query(q, k=k, num_threads=self._params.num_threads)
        except RuntimeError:  # the graph could not reach k live faces (many deletions): be exact
            return self._exact(q, k)
        ids = labels.astype(np.int64)
        distances = np.sqrt(np.maximum(squared, 0)).astype(np.float32)
        order = np.lexsort((ids, distances), axis=-1)
        return np.take_along_axis(ids, order, -1), np.take_along_axis(distances, order, -1)

    def save(self) -> None:
        """Write the index atomically: old meta removed, graph then meta written to temp files and renamed."""
        try:
            self._graph_path.parent.mkdir(parents=True, exist_ok=True)
            self._meta_path.unlink(missing_ok=True)  # until the new meta lands, the pair reads as stale
            if self._hnsw is None:
                self._graph_path.unlink(missing_ok=True)
                return
            tmp_graph = self._graph_path.with_name(f"{self._graph_path.name}.{os.getpid()}.tmp")
            self._hnsw.save_index(str(tmp_graph))
            os.replace(tmp_graph, self._graph_path)
            meta = {
                "format_version": INDEX_FORMAT_VERSION,
                "fingerprint": self._fingerprint,
                "space": "l2",
                "dim": self._dim,
                "count": len(self._live),
                "ids_sha256": _ids_digest(self._live),
                "elements": int(self._hnsw.element_count),
                "capacity": int(self._hnsw.get_max_elements()),
                "index_bytes": self._graph_path.stat().st_size,
                "params": asdict(self._params),
            }
            tmp_meta = self._meta_path.with_name(f"{self._meta_path.name}.{os.getpid()}.tmp")
            tmp_meta.write_text(json.dumps(meta, indent=1), encoding="utf-8")
            os.replace(tmp_meta, self._meta_path)
        except OSError as exc:
            raise GalleryError(f"The search index could not be saved in {self._graph_path.parent} ({exc.strerror}).") from exc

    # -- internals ---------------------------------------------------------------------------

    def _create(self, dim: int, *, capacity: int) -> None:
        import hnswlib  # hnswlib loads on first search

        self._hnsw = hnswlib.Index(space="l2", dim=dim)
        self._hnsw.init_index(
            max_elements=max(capacity, 16), M=self._params.M, ef_construction=self._params.ef_construction,
            random_seed=self._params.random_seed,
        )
        self._hnsw.set_num_threads(self._params.num_threads)
        self._dim = dim

    def _load(self, meta: dict, db_ids: NDArray[np.int64]) -> str | None:
        """Load the graph described by ``meta``; a reason when it must be rebuilt instead."""
        import hnswlib  # hnswlib loads on first search

        hnsw = hnswlib.Index(space="l2", dim=meta["dim"])
        try:
            hnsw.load_index(str(self._graph_path), max_elements=meta["capacity"])
        except (RuntimeError, MemoryError, ValueError):
            return "the index file is damaged"
        labels = np.sort(np.asarray(hnsw.get_ids_list(), dtype=np.int64))
        sample = db_ids[np.linspace(0, len(db_ids) - 1, min(_SPOT_CHECKS, len(db_ids))).astype(int)]
        ids, stored = self._store.embeddings(self._fingerprint, sample.tolist())
        try:
            indexed = np.asarray(hnsw.get_items(ids.astype(np.uint64).tolist()), dtype=np.float32)
        except RuntimeError:
            return "the index file lacks faces of the database"
        if stored.shape != indexed.shape or not np.array_equal(stored, indexed):
            return "the index holds other vectors than the database (another matcher's file?)"
        self._hnsw, self._dim, self._labels, self._live = hnsw, int(meta["dim"]), labels, db_ids
        self._hnsw.set_num_threads(self._params.num_threads)
        return None

    def _rebuild(self, *, progress: ProgressCallback | None, cancel: threading.Event | None) -> None:
        report = progress or no_progress
        self._hnsw, self._dim = None, 0
        self._live = self._labels = np.zeros(0, np.int64)
        ids, vectors = self._store.embeddings(self._fingerprint)
        if len(ids):
            self._create(vectors.shape[1], capacity=len(ids))
        for start in range(0, len(ids), _ADD_BATCH):
            check_cancel(cancel, "Building the search index")
            self.add(ids[start : start + _ADD_BATCH], vectors[start : start + _ADD_BATCH])
            report(min(start + _ADD_BATCH, len(ids)), len(ids), "Building the search index")

    def _exact(self, q: NDArray[np.float32], k: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Exact search over the live faces, fetched from the graph a chunk at a time."""
        found_ids, found_d = [], []
        for start in range(0, len(self._live), _EXACT_CHUNK):
            chunk = self._live[start : start + _EXACT_CHUNK]
            vectors = np.asarray(self._hnsw.get_items(chunk.astype(np.uint64).tolist()), dtype=np.float32)
            positions, distances = exact_search64(q, vectors, k)
            found_ids.append(chunk[positions])
            found_d.append(distances)
        ids, distances = np.concatenate(found_ids, axis=1), np.concatenate(found_d, axis=1)
        order = np.lexsort((ids, distances), axis=-1)[:, :k]
        return np.take_along_axis(ids, order, -1), np.take_along_axis(distances, order, -1).astype(np.float32)
