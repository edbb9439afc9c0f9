"""The gallery index on a Milvus server (an agency's shared index) or in a Milvus Lite file.

Only vectors and image ids leave the workspace: one collection per gallery and matcher,
``crossid_<gallery id>_<fingerprint[:16]>`` (fields ``image_id`` INT64 primary key and
``vector`` FLOAT_VECTOR, an HNSW index with the L2 metric), and one row per such collection in
``crossid_index_meta`` (the generation of the embeddings it reflects, its count, dimension and
parameters). Subjects, photos, cases and the audit log stay in the workspace database, which
remains the truth: the collection catches up with it on every open, like the embedded index
(:mod:`.index_base`), and exact search reads the vectors from the database.

``uri`` is what pymilvus takes: ``http://host:19530`` for a server, a file path ending in
``.db`` for Milvus Lite (:mod:`.backends` turns the workspace setting into it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery.exact import exact_search64
from crossid_desktop.gallery.index import HnswParams, stored_params
from crossid_desktop.gallery.index_base import EXACT_BELOW, FETCH_CHUNK, GalleryIndexBase, Rebuild, sorted_hits
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.progress import ProgressCallback, check_cancel

META_COLLECTION = "crossid_index_meta"
_UPLOAD_CHUNK = 10_000


class MilvusGalleryIndex(GalleryIndexBase):
    """One matcher's embeddings in a Milvus collection."""

    backend = "milvus"

    def __init__(self, uri: str, store: GalleryStore, fingerprint: str, params: HnswParams) -> None:
        super().__init__(store, fingerprint)
        self._uri = uri
        self._params = params
        self._client: Any = None
        self._collection = f"crossid_{store.gallery_id}_{fingerprint[:16]}"
        self._count = 0
        self._dim = 0
        self._adopt_stored_params = False  # search with the parameters the collection was built with

    @classmethod
    def open(
        cls,
        uri: str,
        store: GalleryStore,
        fingerprint: str,
        *,
        rebuild: Rebuild = "auto",
        params: HnswParams | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> MilvusGalleryIndex:
        """Connect, catch up with the database and check; rebuild the collection when it cannot
        serve (``rebuild`` as for :meth:`GalleryIndex.open`)."""
        index = cls(uri, store, fingerprint, params or HnswParams())
        index._adopt_stored_params = params is None
        index._open(rebuild, progress, cancel)
        return index

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                from pymilvus import MilvusClient  # pymilvus loads only for a Milvus gallery (seconds)
            except ImportError as exc:
                raise GalleryError("This workspace keeps its index on Milvus, but pymilvus is not installed (pip install pymilvus milvus-lite).") from exc
            try:
                self._client = MilvusClient(self._uri)
            except Exception as exc:  # pymilvus raises its own and grpc's exception types
                raise GalleryError(f"The Milvus index server {self._uri} cannot be reached ({type(exc).__name__}: {exc}).") from exc
            self._ensure_meta_collection()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- state ----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return self._count

    @property
    def dim(self) -> int:
        return self._dim

    def exists(self) -> bool:
        return bool(self._call("check", self.client.has_collection, self._collection))

    def vectors_of(self, image_ids: NDArray[np.int64]) -> NDArray[np.float32] | None:
        ids = [int(i) for i in image_ids]
        if not ids:
            return np.zeros((0, self._dim), np.float32)
        rows = self._call("read", self.client.get, self._collection, ids=ids, output_fields=["image_id", "vector"])
        found = {int(r["image_id"]): r["vector"] for r in rows}
        if set(found) != set(ids):
            return None
        return np.asarray([found[i] for i in ids], dtype=np.float32)

    # -- changes --------------------------------------------------------------------------

    def add(self, image_ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        ids, vecs = self.check_new(image_ids, vectors)
        if len(ids) == 0:
            return
        if self._dim == 0:
            self._create(vecs.shape[1])
        for start in range(0, len(ids), _UPLOAD_CHUNK):
            chunk_ids, chunk = ids[start : start + _UPLOAD_CHUNK], vecs[start : start + _UPLOAD_CHUNK]
            known = self._existing(chunk_ids) if self._count else 0
            rows = [{"image_id": int(i), "vector": v} for i, v in zip(chunk_ids, chunk)]
            self._call("write", self.client.upsert, self._collection, rows)
            self._count += len(chunk_ids) - known
            self._dirty = True

    def remove(self, image_ids: Sequence[int]) -> None:
        ids = np.unique(np.asarray(image_ids, dtype=np.int64).reshape(-1))
        if len(ids) == 0 or self._count == 0:
            return
        known = self._existing(ids)
        self._call("write", self.client.delete, self._collection, ids=[int(i) for i in ids])
        self._count -= known
        self._dirty = True

    def _existing(self, ids: NDArray[np.int64]) -> int:
        rows = self._call("read", self.client.get, self._collection, ids=[int(i) for i in ids], output_fields=["image_id"])
        return len(rows)

    # -- search ---------------------------------------------------------------------------

    def search(self, queries: NDArray[np.float32], k: int, *, exact: bool = False, ef: int | None = None) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """As :meth:`GalleryIndex.search`; exact search reads the vectors from the database."""
        q, k = self.check_queries(queries, k)
        if exact or self._count < EXACT_BELOW:
            return self._exact(q, k)
        params = {"metric_type": "L2", "params": {"ef": max(ef or self._params.ef, k)}}
        hits = self._call("search", self.client.search, self._collection, data=list(q), limit=k, search_params=params)
        if any(len(row) < k for row in hits):  # fewer than k reachable: be exact, as the embedded index is
            return self._exact(q, k)
        ids = np.asarray([[hit.id for hit in row] for row in hits], dtype=np.int64)
        squared = np.asarray([[hit.distance for hit in row] for row in hits], dtype=np.float64)
        return sorted_hits(ids, np.sqrt(np.maximum(squared, 0)))

    def _exact(self, q: NDArray[np.float32], k: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        found_ids, found_d = [], []
        for ids, vectors in self._store.iter_embeddings(self._fingerprint, chunk=FETCH_CHUNK):
            positions, distances = exact_search64(q, vectors, k)
            found_ids.append(ids[positions])
            found_d.append(distances)
        ids, distances = np.concatenate(found_ids, axis=1), np.concatenate(found_d, axis=1)
        ids, distances = sorted_hits(ids, distances)
        return ids[:, :k], distances[:, :k]

    # -- the server's copy ----------------------------------------------------------------

    def save(self) -> None:
        """Flush the collection, then record the generation it reflects (when it changed)."""
        if self._dim == 0 or not self._dirty:
            return
        self._dirty = False
        self._call("write", self.client.flush, self._collection)
        meta = {"fingerprint": self._fingerprint, "dim": self._dim, "count": self._count, "generation": self._generation, "params": asdict(self._params)}
        row = {"name": self._collection, "meta": json.dumps(meta), "unused": [0.0, 0.0]}
        self._call("write", self.client.upsert, META_COLLECTION, [row])
        self._store.prune_embedding_log(self._fingerprint, self._generation)

    def _load(self) -> str | None:
        if not self.exists():
            return "there is no index collection on the server"
        rows = self._call("read", self.client.get, META_COLLECTION, ids=[self._collection], output_fields=["meta"])
        try:
            meta = json.loads(rows[0]["meta"]) if rows else {}
        except (ValueError, TypeError):
            meta = {}
        if meta.get("fingerprint") != self._fingerprint or not isinstance(meta.get("generation"), int) or not isinstance(meta.get("dim"), int):
            return "the collection on the server has no description of what it holds"
        if self._adopt_stored_params:
            self._params = stored_params(meta, self._params)
        self._call("load", self.client.load_collection, self._collection)
        counted = self._call("read", self.client.query, self._collection, filter="", output_fields=["count(*)"])
        self._count, self._dim, self._generation = int(counted[0]["count(*)"]), int(meta["dim"]), int(meta["generation"])
        return None

    def _clear(self) -> None:
        if self._client is not None or self.exists():
            if self.exists():
                self._call("write", self.client.drop_collection, self._collection)
            self._call("write", self.client.delete, META_COLLECTION, ids=[self._collection])
        self._count = self._dim = 0

    def _create(self, dim: int) -> None:
        from pymilvus import DataType, MilvusClient  # pymilvus loads only for a Milvus gallery

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("image_id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        index_params = self.client.prepare_index_params()
        index_params.add_index(field_name="vector", index_type="HNSW", metric_type="L2", params={"M": self._params.M, "efConstruction": self._params.ef_construction})
        self._call("write", self.client.create_collection, self._collection, schema=schema, index_params=index_params)
        self._dim, self._count = dim, 0

    def _rebuild(self, progress: ProgressCallback, cancel: threading.Event | None) -> None:
        self._clear()
        start = self._store.matcher_state(self._fingerprint)
        done = 0
        for ids, vectors in self._store.iter_embeddings(self._fingerprint, chunk=FETCH_CHUNK):
            check_cancel(cancel, "Building the search index")
            if self._dim == 0:
                self._create(vectors.shape[1])
            for at in range(0, len(ids), _UPLOAD_CHUNK):
                rows = [{"image_id": int(i), "vector": v} for i, v in zip(ids[at : at + _UPLOAD_CHUNK], vectors[at : at + _UPLOAD_CHUNK])]
                self._call("write", self.client.insert, self._collection, rows)
            self._count += len(ids)
            self._dirty = True
            done += len(ids)
            progress(done, max(start.embeddings, done), "Building the search index")
        self._generation = start.generation
        self.sync(cancel=cancel)

    def _ensure_meta_collection(self) -> None:
        from pymilvus import DataType, MilvusClient  # pymilvus loads only for a Milvus gallery

        if self._call("check", self._client.has_collection, META_COLLECTION):
            return
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("name", DataType.VARCHAR, is_primary=True, max_length=256)
        schema.add_field("meta", DataType.VARCHAR, max_length=8192)
        schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus requires a vector field
        index_params = self._client.prepare_index_params()
        index_params.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
        self._call("write", self._client.create_collection, META_COLLECTION, schema=schema, index_params=index_params)

    def _call(self, action: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the server; its failures become one GalleryError naming the server."""
        try:
            return method(*args, **kwargs)
        except GalleryError:
            raise
        except Exception as exc:  # pymilvus raises MilvusException, grpc errors, ValueError...
            raise GalleryError(f"The Milvus index server {self._uri} failed to {action} the gallery index ({type(exc).__name__}: {exc}).") from exc
