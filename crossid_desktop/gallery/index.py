"""The embedded gallery index (the default backend): an hnswlib graph per matcher, with the
vectors in a memory-mapped float32 matrix beside it for exact search.

Files in ``indexes/`` per matcher fingerprint: ``<fp>.json`` (the meta: format, fingerprint,
dimension, count, the embedding generation it reflects, hnswlib parameters and the names and
sizes of the data files) and the data files it names, ``<fp>.<tag>.hnsw`` (the graph, labels =
image ids), ``<fp>.<tag>.f32`` and ``<fp>.<tag>.ids`` (:mod:`.vectors`). A save writes new data
files under a new tag, then replaces the meta (the one atomic commit), then deletes the old
files: a reader sees the old set or the new one, never a mixture, and a crash leaves the last
complete save. Opening catches up with the database and checks it (:mod:`.index_base`).

**Threads.** Builds and incremental adds use every core (``num_threads``); the graph then
depends on thread scheduling, so an approximate search may return slightly different
neighbours between two builds of the same gallery (exact search and galleries under
:data:`~crossid_desktop.gallery.index_base.EXACT_BELOW` faces are unaffected).
"""

from __future__ import annotations

import json
import os
import re
import struct
import threading
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery.faults import fault_point
from crossid_desktop.gallery.index_base import EXACT_BELOW, FETCH_CHUNK, GalleryIndexBase, IndexStatus, Rebuild, sorted_hits
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.gallery.vectors import VectorMatrix
from crossid_desktop.progress import ProgressCallback, check_cancel

__all__ = ["EXACT_BELOW", "INDEX_FORMAT_VERSION", "GalleryIndex", "HnswParams", "IndexStatus", "index_files"]

#: Bumped whenever the files' layout or meaning changes; older files are rebuilt.
INDEX_FORMAT_VERSION = 2
_FINGERPRINT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$")
# hnswlib's saveIndex header: offsetLevel0, max_elements, cur_element_count,
# size_data_per_element, label_offset, offsetData, maxlevel, enterpoint_node, maxM, maxM0, M,
# mult, ef_construction.
_HEADER = struct.Struct("<QQQQQQiIQQQdQ")
_SUFFIXES = (".hnsw", ".f32", ".ids")


@dataclass(frozen=True)
class HnswParams:
    """hnswlib settings, chosen for recall first: an examiner runs one query at a time, and a
    missed candidate costs more than milliseconds. ``basis`` says how they were chosen; it is
    recorded in every index's meta.
    """

    M: int = 16  # graph links per node (layer 0 has 2M)
    ef_construction: int = 100
    ef: int = 800  # search breadth; raised to k when k is larger
    random_seed: int = 100
    num_threads: int = field(default_factory=lambda: os.cpu_count() or 1)  # builds and adds
    basis: str = (
        "M and ef_construction for a 1M x 128 build within 15 minutes on 2 cores; ef for recall: on "
        "synthetic face-like 128-d vectors (tests/benchmarks/gallery_scale.py) the ranking step's "
        "recall@10 was 0.98 at 20k with ef=200; ef=800 is being measured at 1M (docs/RESULTS.md)"
    )


def index_files(indexes_dir: Path, fingerprint: str) -> list[Path]:
    """Every file of a matcher's index in ``indexes_dir`` (meta first), existing or not."""
    if not _FINGERPRINT.match(fingerprint):
        raise ValueError(f"not a usable matcher fingerprint: {fingerprint!r}")
    meta = Path(indexes_dir) / f"{fingerprint}.json"
    return [meta, *sorted(p for p in Path(indexes_dir).glob(f"{fingerprint}.*") if p.suffix in _SUFFIXES)]


class GalleryIndex(GalleryIndexBase):
    """The hnswlib index of one matcher's embeddings, in ``indexes_dir``."""

    backend = "hnswlib"

    def __init__(self, indexes_dir: Path, store: GalleryStore, fingerprint: str, params: HnswParams) -> None:
        super().__init__(store, fingerprint)
        self._dir = Path(indexes_dir)
        self._meta_path = index_files(self._dir, fingerprint)[0]
        self._params = params
        self._hnsw: Any = None  # hnswlib.Index, created on the first add
        self._matrix = VectorMatrix(0)
        self._live = np.zeros(0, bool)  # by image id: whether search may return it
        self._count = 0
        self._tag = ""
        self._adopt_stored_params = False  # search with the parameters the index was built with

    @classmethod
    def open(
        cls,
        indexes_dir: Path,
        store: GalleryStore,
        fingerprint: str,
        *,
        rebuild: Rebuild = "auto",
        params: HnswParams | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GalleryIndex:
        """Load the matcher's index, catching up with the database; rebuild (and save) it when
        it cannot. ``rebuild="always"`` rebuilds regardless; ``"never"`` raises
        :class:`GalleryError` naming the repair command instead of changing anything."""
        index = cls(indexes_dir, store, fingerprint, params or HnswParams())
        index._adopt_stored_params = params is None
        index._open(rebuild, progress, cancel)
        return index

    # -- state ----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return self._count

    @property
    def dim(self) -> int:
        return self._matrix.dim

    def exists(self) -> bool:
        return self._meta_path.exists()

    def live_ids(self) -> NDArray[np.int64]:
        return np.flatnonzero(self._live).astype(np.int64)

    def vectors_of(self, image_ids: NDArray[np.int64]) -> NDArray[np.float32] | None:
        ids = np.asarray(image_ids, np.int64)
        if len(ids) and (ids.max() >= len(self._live) or not self._live[ids].all()):
            return None
        from_matrix = self._matrix.vectors_of(ids)
        from_graph = np.asarray(self._hnsw.get_items(ids.astype(np.uint64), return_type="numpy"), np.float32) if len(ids) else from_matrix
        if from_matrix is None or not np.array_equal(from_matrix, from_graph):
            return None  # the graph and the matrix disagree: neither is trusted
        return from_matrix

    def ranking_vectors(self, image_ids: Sequence[int]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """From the graph in memory (the same bytes as the database's, checked on open)."""
        ids = np.unique(np.asarray(image_ids, np.int64))
        ids = ids[(ids >= 0) & (ids < len(self._live))]
        ids = ids[self._live[ids]]
        if len(ids) == 0:
            return ids, np.zeros((0, self.dim), np.float32)
        return ids, np.asarray(self._hnsw.get_items(ids.astype(np.uint64), return_type="numpy"), dtype=np.float32)

    # -- changes --------------------------------------------------------------------------

    def add(self, image_ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        ids, vecs = self.check_new(image_ids, vectors)
        if len(ids) == 0:
            return
        if self._hnsw is None:
            self._create(vecs.shape[1], capacity=len(ids))
        needed = self._hnsw.element_count + len(ids)
        if needed > self._hnsw.get_max_elements():
            self._hnsw.resize_index(max(needed, int(self._hnsw.get_max_elements() * 1.5)))
        self._hnsw.add_items(vecs, ids.astype(np.uint64), num_threads=self._params.num_threads, replace_deleted=False)
        if ids.max() >= len(self._live):
            self._live = np.concatenate([self._live, np.zeros(int(ids.max()) + 1 - len(self._live) + len(self._live) // 2, bool)])
        replacing = bool(self._live[ids].any())
        self._matrix.append(ids, vecs, replacing=replacing)
        self._count += int((~self._live[ids]).sum())
        self._live[ids] = True
        self._dirty = True

    def remove(self, image_ids: Sequence[int]) -> None:
        ids = np.asarray(image_ids, dtype=np.int64).reshape(-1)
        gone = ids[(ids >= 0) & (ids < len(self._live))]
        gone = np.unique(gone[self._live[gone]])
        for image_id in gone:
            self._hnsw.mark_deleted(int(image_id))
        self._matrix.kill(gone)
        self._live[gone] = False
        self._count -= len(gone)
        self._dirty = self._dirty or bool(len(gone))

    # -- search ---------------------------------------------------------------------------

    def search(self, queries: NDArray[np.float32], k: int, *, exact: bool = False, ef: int | None = None) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """``queries`` (m, d) or (d,) float32. ``exact=True``, or a gallery under
        :data:`EXACT_BELOW` faces, compares against every face (on the memory-mapped matrix).
        ``ef`` overrides the search breadth of :class:`HnswParams` for this call."""
        q, k = self.check_queries(queries, k)
        if exact or self._count < EXACT_BELOW:
            return sorted_hits(*self._matrix.exact(q, k))
        self._hnsw.set_ef(max(ef or self._params.ef, k))
        try:
            labels, squared = self._hnsw.knn_query(q, k=k, num_threads=1)
        except RuntimeError:  # the graph could not reach k live faces (many deletions): be exact
            return sorted_hits(*self._matrix.exact(q, k))
        return sorted_hits(labels, np.sqrt(np.maximum(squared, 0)))

    # -- files ----------------------------------------------------------------------------

    def save(self) -> None:
        """Write new data files, then the meta (the commit), then delete the old files; nothing
        when the index has not changed since it was loaded or saved."""
        if not self._dirty and (self.exists() or self._count == 0):
            return
        self._dirty = False
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            if self._hnsw is None or self._count == 0:
                self._remove_files(keep="")
                return
            tag = uuid.uuid4().hex[:12]
            graph, vectors, ids = (self._dir / f"{self._fingerprint}.{tag}{suffix}" for suffix in _SUFFIXES)
            self._hnsw.save_index(str(graph))
            fault_point("index graph written")
            rows = self._matrix.write(vectors, ids)
            fault_point("index vectors written")
            meta = self._meta(graph, rows, tag)
            on_disk = _read_meta(self._meta_path)
            if on_disk.get("generation", -1) > self._generation and on_disk.get("format_version") == INDEX_FORMAT_VERSION:
                self._remove_files(keep=str(on_disk.get("tag")))  # another process saved a newer state
                return
            tmp_meta = self._meta_path.with_name(f"{self._meta_path.name}.{os.getpid()}.tmp")
            tmp_meta.write_text(json.dumps(meta, indent=1), encoding="utf-8")
            os.replace(tmp_meta, self._meta_path)
            fault_point("index meta replaced")
            self._tag = tag
            self._remove_files(keep=tag)
        except OSError as exc:
            raise GalleryError(f"The search index could not be saved in {self._dir} ({exc.strerror}).") from exc
        self._store.prune_embedding_log(self._fingerprint, self._generation)

    def _meta(self, graph: Path, rows: int, tag: str) -> dict[str, Any]:
        return {
            "format_version": INDEX_FORMAT_VERSION,
            "backend": self.backend,
            "fingerprint": self._fingerprint,
            "space": "l2",
            "dim": self.dim,
            "count": self._count,
            "generation": self._generation,
            "elements": int(self._hnsw.element_count),
            "capacity": int(self._hnsw.get_max_elements()),
            "rows": rows,
            "tag": tag,
            "index_bytes": graph.stat().st_size,
            "params": asdict(self._params),
        }

    def _remove_files(self, *, keep: str) -> None:
        for path in index_files(self._dir, self._fingerprint)[1:]:
            if not keep or path.name.split(".")[1] != keep:
                path.unlink(missing_ok=True)
        if not keep:
            self._meta_path.unlink(missing_ok=True)

    def _clear(self) -> None:
        self._hnsw, self._matrix, self._live, self._count = None, VectorMatrix(0), np.zeros(0, bool), 0
        if self.exists():
            self._remove_files(keep="")

    def _create(self, dim: int, *, capacity: int) -> None:
        import hnswlib  # hnswlib loads on first search

        self._hnsw = hnswlib.Index(space="l2", dim=dim)
        self._hnsw.init_index(
            max_elements=max(capacity, 16), M=self._params.M, ef_construction=self._params.ef_construction,
            random_seed=self._params.random_seed, allow_replace_deleted=False,
        )
        self._hnsw.set_num_threads(self._params.num_threads)
        self._matrix = VectorMatrix(dim)

    def _load(self) -> str | None:
        import hnswlib  # hnswlib loads on first search

        meta = _read_meta(self._meta_path)
        problem = _meta_problem(meta, self._dir, self._fingerprint)
        if problem:
            return problem
        graph, vectors, ids = (self._dir / f"{self._fingerprint}.{meta['tag']}{suffix}" for suffix in _SUFFIXES)
        matrix = VectorMatrix.load(vectors, ids, meta["dim"], meta["rows"])
        if matrix is None or meta["rows"] != meta["count"]:
            return "the index's vector file does not match its description"
        hnsw = hnswlib.Index(space="l2", dim=meta["dim"])
        try:
            hnsw.load_index(str(graph), max_elements=meta["capacity"])
        except (RuntimeError, MemoryError, ValueError):
            return "the index file is damaged"
        if self._adopt_stored_params:
            self._params = stored_params(meta, self._params)
        hnsw.set_num_threads(self._params.num_threads)
        live_ids = matrix.ids()
        if len(np.unique(live_ids)) != len(live_ids) or (len(live_ids) and live_ids.min() < 0):
            return "the index's vector file is damaged"
        self._hnsw, self._matrix, self._count, self._tag = hnsw, matrix, len(live_ids), meta["tag"]
        self._live = np.zeros(int(live_ids.max(initial=-1)) + 1, bool)
        self._live[live_ids] = True
        self._generation = int(meta["generation"])
        return None

    def _rebuild(self, progress: ProgressCallback, cancel: threading.Event | None) -> None:
        self._clear()
        start = self._store.matcher_state(self._fingerprint)  # changes after it are replayed below
        done = 0
        for ids, vectors in self._store.iter_embeddings(self._fingerprint, chunk=FETCH_CHUNK):
            check_cancel(cancel, "Building the search index")
            if self._hnsw is None:
                self._create(vectors.shape[1], capacity=max(start.embeddings, len(ids)))
            self.add(ids, vectors)
            done += len(ids)
            progress(done, max(start.embeddings, done), "Building the search index")
        self._generation = start.generation
        self.sync(cancel=cancel)

    def _save_after_catch_up(self) -> int:
        return max(1000, self._count // 100)  # replaying a few changes is cheaper than rewriting the files


def stored_params(meta: dict[str, Any], default: HnswParams) -> HnswParams:
    """The parameters an index's meta records (this machine's thread count)."""
    stored = meta.get("params") if isinstance(meta.get("params"), dict) else {}
    known = {k: stored[k] for k in ("M", "ef_construction", "ef", "random_seed", "basis") if k in stored}
    try:
        return replace(default, **known)
    except TypeError:
        return default


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _meta_problem(meta: dict[str, Any], indexes_dir: Path, fingerprint: str) -> str | None:
    """Why the files described by ``meta`` cannot serve this matcher (None: they may)."""
    if not meta:
        return "there is no index file"
    if meta.get("format_version") != INDEX_FORMAT_VERSION or meta.get("space") != "l2" or meta.get("backend") != GalleryIndex.backend:
        return "the index was written in another format version"
    if meta.get("fingerprint") != fingerprint:
        return "the index belongs to another matcher"
    graph = indexes_dir / f"{fingerprint}.{meta.get('tag')}.hnsw"
    try:
        size = graph.stat().st_size
        with graph.open("rb") as f:
            header = _HEADER.unpack(f.read(_HEADER.size))
    except (OSError, struct.error):
        return "the index files are unreadable"
    dim, params = meta.get("dim"), meta.get("params", {})
    _, _, elements, per_element, _, _, _, _, _, max_m0, m_links, _, _ = header
    if (
        size != meta.get("index_bytes")
        or elements != meta.get("elements")
        or m_links != params.get("M")
        or not isinstance(dim, int)
        or not isinstance(meta.get("capacity"), int)
        or not isinstance(meta.get("generation"), int)
        or not isinstance(meta.get("rows"), int)
        or meta["capacity"] < elements
        or per_element != max_m0 * 4 + 4 + dim * 4 + 8
    ):
        return "the index file does not match its description (truncated, replaced or another dimension)"
    return None
