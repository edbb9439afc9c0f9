"""The matchers and embeddings of the gallery database, and the log of every embedding change
that lets a search index catch up with the database (part of
:class:`~crossid_desktop.gallery.store.GalleryStore`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery.database import GalleryDatabase
from crossid_desktop.gallery.schema import _IMAGE_COLUMNS, EmbeddingChanges, ImageRecord, MatcherRecord, MatcherState, _image, _now

#: an existing vector of the same image and matcher is replaced (an UPDATE, which the log records)
_PUT_EMBEDDING = (
    "INSERT INTO embeddings (image_id, fingerprint, vector) VALUES (?, ?, ?) "
    "ON CONFLICT(image_id, fingerprint) DO UPDATE SET vector = excluded.vector"
)


class EmbeddingTables(GalleryDatabase):
    """Matchers, their embeddings and the embedding log."""

    def register_matcher(self, fingerprint: str, *, name: str, card: Mapping[str, Any]) -> None:
        """Record a matcher (idempotent; the name and card of a known fingerprint are updated)."""
        text = json.dumps(dict(card), sort_keys=True, ensure_ascii=False, default=str)
        with self._guard("write"), self.transaction() as conn:
            conn.execute(
                "INSERT INTO matchers (fingerprint, name, card, added) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(fingerprint) DO UPDATE SET name = excluded.name, card = excluded.card",
                (fingerprint, name, text, _now()),
            )

    def matchers(self) -> list[MatcherRecord]:
        rows = self._query("SELECT fingerprint, name, card, added FROM matchers ORDER BY added, fingerprint")
        return [MatcherRecord(r["fingerprint"], r["name"], json.loads(r["card"]), r["added"]) for r in rows]

    def put_embeddings(self, fingerprint: str, image_ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        """Store ``vectors`` ((n, d) float32) of ``image_ids`` for a registered matcher, in one transaction.

        An existing vector of the same image and matcher is replaced. All vectors of one
        matcher have the same length ``d``.
        """
        ids = [int(i) for i in image_ids]
        vecs = _checked_vectors(vectors, len(ids))
        with self._guard("write"), self.transaction() as conn:
            self._insert_embeddings(conn, fingerprint, ids, vecs)

    def _insert_embeddings(self, conn: sqlite3.Connection, fingerprint: str, ids: Sequence[int], vecs: NDArray[np.float32]) -> None:
        """Insert inside the caller's transaction (the matcher must be registered)."""
        if conn.execute("SELECT 1 FROM matchers WHERE fingerprint = ?", (fingerprint,)).fetchone() is None:
            raise GalleryError(f"The matcher {fingerprint[:12]} is not registered in the gallery.")
        row = conn.execute("SELECT length(vector) FROM embeddings WHERE fingerprint = ? LIMIT 1", (fingerprint,)).fetchone()
        if row is not None and row[0] != 4 * vecs.shape[1]:
            raise GalleryError(f"The matcher {fingerprint[:12]} has {row[0] // 4}-d embeddings, not {vecs.shape[1]}-d.")
        try:
            conn.executemany(_PUT_EMBEDDING, ((image_id, fingerprint, vector.tobytes()) for image_id, vector in zip(ids, vecs)))
        except sqlite3.IntegrityError as exc:
            missing = [i for i in ids if conn.execute("SELECT 1 FROM images WHERE image_id = ?", (i,)).fetchone() is None]
            raise GalleryError(f"The gallery has no image number {missing[0] if missing else ids[0]}.") from exc

    def embeddings(
        self, fingerprint: str, image_ids: Sequence[int] | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Image ids ``(n,)`` int64, ascending, and their vectors ``(n, d)`` float32 for a matcher.

        With ``image_ids``, only those (ids without an embedding are left out). None stored
        gives shapes ``(0,)`` and ``(0, 0)``.
        """
        sql = "SELECT image_id, vector FROM embeddings WHERE fingerprint = ?"
        if image_ids is None:
            rows = self._query(sql + " ORDER BY image_id", (fingerprint,))
        else:
            wanted = sorted({int(i) for i in image_ids})
            rows = sorted(self._query_ids(sql + " AND image_id IN ({marks})", wanted, (fingerprint,)), key=lambda r: r[0])
        return _as_arrays(rows)

    def iter_embeddings(self, fingerprint: str, *, chunk: int = 65_536) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32]]]:
        """The matcher's embeddings a chunk at a time, by ascending image id: ``(ids, vectors)``
        per chunk, so that a million vectors never sit in memory twice."""
        last = -1
        while True:
            rows = self._query(
                "SELECT image_id, vector FROM embeddings WHERE fingerprint = ? AND image_id > ? ORDER BY image_id LIMIT ?",
                (fingerprint, last, chunk),
            )
            if not rows:
                return
            ids, vectors = _as_arrays(rows)
            last = int(ids[-1])
            yield ids, vectors

    def embedding_ids(self, fingerprint: str) -> NDArray[np.int64]:
        """Ids ``(n,)`` int64, ascending, of the images that have an embedding for a matcher."""
        with self._guard("read"):
            cursor = self._conn.execute("SELECT image_id FROM embeddings WHERE fingerprint = ? ORDER BY image_id", (fingerprint,))
            return np.fromiter((r[0] for r in cursor), dtype=np.int64)

    def embedding_id_sample(self, fingerprint: str, n: int) -> NDArray[np.int64]:
        """Up to ``n`` distinct ids with an embedding for a matcher, spread evenly from the
        smallest to the largest id (one index probe each, however large the gallery)."""
        bounds = self._query("SELECT MIN(image_id), MAX(image_id) FROM embeddings WHERE fingerprint = ?", (fingerprint,))[0]
        if bounds[0] is None:
            return np.zeros(0, np.int64)
        found: set[int] = set()
        for target in np.linspace(bounds[0], bounds[1], n).astype(np.int64):
            row = self._query("SELECT image_id FROM embeddings WHERE fingerprint = ? AND image_id >= ? ORDER BY image_id LIMIT 1", (fingerprint, int(target)))
            found.add(int(row[0][0]))
        return np.asarray(sorted(found), np.int64)

    def images_without_embeddings(self, fingerprint: str) -> list[ImageRecord]:
        """Images that still need embedding by a matcher, ordered by image id."""
        rows = self._query(
            f"SELECT {_IMAGE_COLUMNS} FROM images i WHERE NOT EXISTS (SELECT 1 FROM embeddings e "
            "WHERE e.image_id = i.image_id AND e.fingerprint = ?) ORDER BY image_id",
            (fingerprint,),
        )
        return [_image(r) for r in rows]

    def matcher_state(self, fingerprint: str) -> MatcherState:
        """Count and generation of a matcher's embeddings (all zero for an unknown matcher)."""
        rows = self._query("SELECT embeddings, generation, pruned_through FROM matcher_state WHERE fingerprint = ?", (fingerprint,))
        return MatcherState(fingerprint, *(tuple(rows[0]) if rows else (0, 0, 0)))

    def embedding_changes(self, fingerprint: str, after: int) -> EmbeddingChanges | None:
        """The net changes of a matcher's embeddings after generation ``after`` (the last change
        of each image wins); None when the log no longer reaches back that far."""
        with self.snapshot() as conn:
            state = self.matcher_state(fingerprint)
            if after < state.pruned_through:
                return None
            last: dict[int, int] = {}
            for image_id, removed in conn.execute(
                "SELECT image_id, removed FROM embedding_log WHERE fingerprint = ? AND seq > ? ORDER BY seq", (fingerprint, after)
            ):
                last[int(image_id)] = int(removed)
        put = tuple(sorted(i for i, removed in last.items() if not removed))
        gone = tuple(sorted(i for i, removed in last.items() if removed))
        return EmbeddingChanges(put, gone, max(state.generation, after), state.embeddings)

    def prune_embedding_log(self, fingerprint: str, through: int) -> None:
        """Forget a matcher's changes up to generation ``through`` (an index saved that state)."""
        with self._guard("write"), self.transaction() as conn:
            conn.execute("DELETE FROM embedding_log WHERE fingerprint = ? AND seq <= ?", (fingerprint, int(through)))
            conn.execute(
                "UPDATE matcher_state SET pruned_through = max(pruned_through, ?) WHERE fingerprint = ?", (int(through), fingerprint)
            )


def _checked_vectors(vectors: NDArray[np.float32], n: int) -> NDArray[np.float32]:
    vecs = np.ascontiguousarray(vectors, dtype=np.float32)
    if vecs.ndim != 2 or vecs.shape[0] != n or vecs.shape[1] == 0:
        raise ValueError(f"vectors of shape {vecs.shape} do not fit {n} image ids")
    if not np.isfinite(vecs).all():
        raise ValueError("embeddings must be finite")
    return vecs


def _as_arrays(rows: Sequence[sqlite3.Row]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    return ids, vectors.copy()
