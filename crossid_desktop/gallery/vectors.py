"""A matcher's gallery vectors as one contiguous float32 matrix on disk, memory-mapped: the exact
search path and the source of index builds, without copies out of the graph.

The files are written whole by :meth:`VectorMatrix.write` (live rows only) and never changed
afterwards: ``<name>.f32`` holds the rows ``(rows, d)`` little-endian float32, ``<name>.ids``
their image ids ``(rows,)`` int64. Between saves, added vectors sit in memory after the mapped
rows, and removed ones are masked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.gallery.exact import exact_search64

_WRITE_CHUNK = 1 << 16


class VectorMatrix:
    """Mapped rows from files, rows added since in memory, and which rows are dead."""

    def __init__(self, dim: int) -> None:
        self.dim = int(dim)
        self._base = np.zeros((0, self.dim), np.float32)  # memory-mapped when loaded
        self._base_ids = np.zeros(0, np.int64)
        self._extra: list[NDArray[np.float32]] = []
        self._extra_ids: list[NDArray[np.int64]] = []
        self._joined: tuple[NDArray[np.float32], NDArray[np.int64]] | None = None
        self._dead = np.zeros(0, bool)  # over base rows then extra rows

    @classmethod
    def load(cls, vectors_path: Path, ids_path: Path, dim: int, rows: int) -> VectorMatrix | None:
        """The matrix of existing files; None when they are missing or their sizes do not fit."""
        matrix = cls(dim)
        try:
            sizes = vectors_path.stat().st_size, ids_path.stat().st_size
        except OSError:
            return None
        if sizes != (rows * dim * 4, rows * 8):
            return None
        if rows:
            matrix._base = np.memmap(vectors_path, dtype="<f4", mode="r", shape=(rows, dim))
            matrix._base_ids = np.fromfile(ids_path, dtype="<i8").astype(np.int64)
        matrix._dead = np.zeros(rows, bool)
        return matrix

    @property
    def rows(self) -> int:
        """Rows held, dead ones included."""
        return len(self._dead)

    def ids(self) -> NDArray[np.int64]:
        """Image id of every row, dead ones included."""
        return np.concatenate([self._base_ids, *self._extra_ids]) if self._extra_ids else self._base_ids

    def append(self, image_ids: NDArray[np.int64], vectors: NDArray[np.float32], *, replacing: bool) -> None:
        """Add rows; with ``replacing``, earlier rows of the same ids become dead first."""
        if replacing:
            self.kill(image_ids)
        self._extra.append(np.array(vectors, dtype=np.float32, copy=True))
        self._extra_ids.append(np.array(image_ids, dtype=np.int64, copy=True))
        self._dead = np.concatenate([self._dead, np.zeros(len(image_ids), bool)])
        self._joined = None

    def kill(self, image_ids: NDArray[np.int64]) -> None:
        """Mark every row of these ids dead."""
        if len(image_ids) and self.rows:
            self._dead |= np.isin(self.ids(), np.asarray(image_ids, np.int64))

    def vectors_of(self, image_ids: NDArray[np.int64]) -> NDArray[np.float32] | None:
        """The live vectors of these ids, in order; None when one has no live row."""
        ids, wanted = self.ids(), np.asarray(image_ids, np.int64)
        rows = []
        for image_id in wanted:
            found = np.flatnonzero((ids == image_id) & ~self._dead)
            if len(found) != 1:
                return None
            rows.append(int(found[0]))
        return np.stack([self._row(r) for r in rows]) if rows else np.zeros((0, self.dim), np.float32)

    def exact(self, queries: NDArray[np.float32], k: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Exact k nearest live rows of each query: image ids and float64 distances ``(m, k)``,
        ascending by distance, ties by image id (k must not exceed the live rows)."""
        found_ids, found_d = [], []
        base_dead = self._dead[: len(self._base)]
        for vectors, ids, dead in ((self._base, self._base_ids, base_dead), (*self._extra_joined(), self._dead[len(self._base) :])):
            if len(vectors) == 0:
                continue
            positions, distances = exact_search64(queries, vectors, min(k + int(dead.sum()), len(vectors)))
            keep = ~dead[positions]
            width = int(keep.sum(axis=1).min())
            found_ids.append(np.stack([ids[p][m][:width] for p, m in zip(positions, keep)]))
            found_d.append(np.stack([d[m][:width] for d, m in zip(distances, keep)]))
        ids, distances = np.concatenate(found_ids, axis=1), np.concatenate(found_d, axis=1)
        order = np.lexsort((ids, distances), axis=-1)[:, :k]
        return np.take_along_axis(ids, order, -1), np.take_along_axis(distances, order, -1)

    def chunks(self, size: int = _WRITE_CHUNK):
        """The live rows as ``(ids, vectors)`` chunks of at most ``size`` rows."""
        offset = 0
        for vectors, ids in ((self._base, self._base_ids), self._extra_joined()):
            for start in range(0, len(vectors), size):
                alive = ~self._dead[offset + start : offset + min(start + size, len(vectors))]
                yield ids[start : start + size][alive], np.asarray(vectors[start : start + size])[alive]
            offset += len(vectors)

    def write(self, vectors_path: Path, ids_path: Path) -> int:
        """Write the live rows to new files; returns how many."""
        rows = 0
        with vectors_path.open("wb") as vf, ids_path.open("wb") as idf:
            for ids, vectors in self.chunks():
                vf.write(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
                idf.write(np.ascontiguousarray(ids, dtype="<i8").tobytes())
                rows += len(ids)
        return rows

    def _extra_joined(self) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        if self._joined is None:
            if self._extra:
                self._joined = np.concatenate(self._extra), np.concatenate(self._extra_ids)
                self._extra, self._extra_ids = [self._joined[0]], [self._joined[1]]
            else:
                self._joined = np.zeros((0, self.dim), np.float32), np.zeros(0, np.int64)
        return self._joined

    def _row(self, row: int) -> NDArray[np.float32]:
        if row < len(self._base):
            return np.asarray(self._base[row], dtype=np.float32)
        return self._extra_joined()[0][row - len(self._base)]
