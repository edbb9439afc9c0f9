"""What every gallery index backend shares: opening against the database, catching up with it,
checking it, and the form of search results.

An index is derived data: the database (:class:`~crossid_desktop.gallery.store.GalleryStore`)
is the truth. Every index records the *generation* of the matcher's embeddings it reflects
(the number of the last change in the database's embedding log). Opening one compares that
with the database in one row lookup; when the database moved on, the index applies the changes
logged since (vectors put, vectors removed), then checks its count against the database and a
few of its vectors byte for byte. An index that cannot catch up (its files are damaged, or the
log no longer reaches back to it) is rebuilt, or, with ``rebuild="never"``, refused with the
repair command: a stale index is never searched.

Distances are Euclidean; results are ordered by ascending distance, ties by image id.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import GalleryError, MatcherMismatchError
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress

#: Galleries with fewer live faces than this are searched exactly (as fast, and exact).
EXACT_BELOW = 256
#: vectors fetched from the database per step of a rebuild or a catch-up
FETCH_CHUNK = 65_536
#: vectors of the database compared byte for byte with the index's on every open
SPOT_CHECKS = 16
#: the command that repairs an index, named when one is refused
REPAIR_COMMAND = "crossid gallery rebuild-index"

Rebuild = Literal["auto", "always", "never"]


@dataclass(frozen=True)
class IndexStatus:
    """What the gallery manager shows about a matcher's index."""

    exists: bool  # an index is stored (a file on disk, a collection on the server)
    count: int  # faces the index holds (0 when none)
    matches_db: bool  # same matcher, dimension and faces as the database
    reason: str  # one sentence, e.g. why it was rebuilt


class GalleryIndexBase:
    """The searchable embeddings of one matcher. Open with :meth:`open`; use from one thread at a time.

    Subclasses store the vectors (:class:`~crossid_desktop.gallery.index.GalleryIndex` in files
    beside the database, :class:`~crossid_desktop.gallery.milvus_index.MilvusGalleryIndex` on a
    Milvus server) and implement the hooks below.
    """

    backend = "base"

    def __init__(self, store: GalleryStore, fingerprint: str) -> None:
        self._store = store
        self._fingerprint = fingerprint
        self._generation = 0
        self._reason = "the index is new"
        self._rebuilt = False
        self._dirty = False  # changed since it was loaded or saved: save() writes only then

    # -- opening --------------------------------------------------------------------------

    def _open(self, rebuild: Rebuild, progress: ProgressCallback | None, cancel: threading.Event | None) -> None:
        """Load, catch up and check; rebuild when that fails (see the module docstring)."""
        if self._store.matcher_state(self._fingerprint).embeddings == 0:
            self._reason = "no faces are enrolled for this matcher"
            self._clear()
            return
        problem = "a rebuild was asked for" if rebuild == "always" else self._load()
        if problem is None:
            problem = self._check_against_store(rebuild, cancel)
            if problem is None:
                return
        if rebuild == "never":
            raise GalleryError(f"The search index of this matcher is out of date: {problem}; repair it with '{REPAIR_COMMAND}' (a search also repairs it).")
        self._rebuild(progress or no_progress, cancel)
        self._reason = f"the index was rebuilt from the database because {problem}"
        self._rebuilt = self._dirty = True
        self.save()

    def _check_against_store(self, rebuild: Rebuild, cancel: threading.Event | None) -> str | None:
        """Catch up with the database's changes and check count and content; a problem, or None."""
        changes = self._store.embedding_changes(self._fingerprint, self._generation)
        if changes is None:
            return "the index is older than the database's record of changes"
        behind = len(changes.put) + len(changes.removed)
        if behind and rebuild == "never":
            return f"{behind} change(s) of the database are not in it yet ({self.count} faces indexed, {changes.embeddings} in the database)"
        if behind:
            self._apply(changes.put, changes.removed, cancel)
        self._generation = changes.generation
        if self.count != changes.embeddings:
            return f"it holds {self.count} faces and the database {changes.embeddings}"
        problem = self._spot_check()
        if problem is None:
            self._reason = "the index was loaded and matches the database" + (f" (caught up with {behind} change(s))" if behind else "")
            if behind > self._save_after_catch_up():
                self.save()
        return problem

    def catch_up(self, cancel: threading.Event | None = None) -> bool:
        """Apply the database's changes since this index was opened or last caught up (a search
        calls this before every query: one row lookup when nothing changed); False when it
        cannot, and the index must be reopened."""
        state = self._store.matcher_state(self._fingerprint)
        if state.generation == self._generation and state.embeddings == self.count:
            return True
        return self._check_against_store("auto", cancel) is None

    def sync(self, *, cancel: threading.Event | None = None) -> tuple[int, int]:
        """Apply the database's changes since this index's generation (the writers, enrolment
        and removal, call this after each transaction); returns (faces put, faces removed)."""
        changes = self._store.embedding_changes(self._fingerprint, self._generation)
        if changes is None:
            raise GalleryError(f"The search index is older than the database's record of changes; repair it with '{REPAIR_COMMAND}'.")
        self._apply(changes.put, changes.removed, cancel)
        self._generation = changes.generation
        return len(changes.put), len(changes.removed)

    def _apply(self, put: Sequence[int], removed: Sequence[int], cancel: threading.Event | None) -> None:
        self._dirty = self._dirty or bool(len(put) or len(removed))
        self.remove(removed)
        for start in range(0, len(put), FETCH_CHUNK):
            check_cancel(cancel, "Updating the search index")
            ids, vectors = self._store.embeddings(self._fingerprint, put[start : start + FETCH_CHUNK])
            self.add(ids, vectors)

    def _spot_check(self) -> str | None:
        """Compare up to :data:`SPOT_CHECKS` of the database's vectors, spread over the image
        ids, byte for byte with the index's."""
        ids = self._store.embedding_id_sample(self._fingerprint, SPOT_CHECKS)
        ids, stored = self._store.embeddings(self._fingerprint, ids.tolist())
        if len(ids) == 0:
            return None
        indexed = self.vectors_of(ids)
        if indexed is None:
            return "it lacks faces of the database"
        if indexed.shape != stored.shape or not np.array_equal(indexed, stored):
            return "it holds other vectors than the database (another matcher's index?)"
        return None

    # -- what callers use -----------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def generation(self) -> int:
        """The database generation of the matcher's embeddings this index reflects."""
        return self._generation

    @property
    def rebuilt(self) -> bool:
        """Whether :meth:`open` had to rebuild the index."""
        return self._rebuilt

    def status(self) -> IndexStatus:
        """How the index stands against the database now (one row lookup)."""
        state = self._store.matcher_state(self._fingerprint)
        matches = state.generation == self._generation and state.embeddings == self.count
        reason = self._reason if matches else (
            f"the index holds {self.count} faces and the database {state.embeddings}, with changes not in the index; a search or '{REPAIR_COMMAND}' brings it up to date"
        )
        return IndexStatus(self.exists(), self.count, matches, reason)

    def check_queries(self, queries: NDArray[np.float32], k: int) -> tuple[NDArray[np.float32], int]:
        """Validated ``(m, d)`` float32 queries and k clipped to the gallery."""
        q = np.asarray(queries, dtype=np.float32)
        q = q[None, :] if q.ndim == 1 else q
        if self.count == 0:
            raise GalleryError("The gallery is empty for this matcher: enrol face photos before searching.")
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise MatcherMismatchError(
                f"A query embedding of shape {q.shape[1:]} does not fit the gallery index, whose embeddings have length {self.dim}."
            )
        if not np.isfinite(q).all():
            raise ValueError("query embeddings must be finite")
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        return q, min(k, self.count)

    def check_new(self, image_ids: Sequence[int], vectors: NDArray[np.float32]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Validated ids ``(n,)`` and vectors ``(n, d)`` for :meth:`add`."""
        ids = np.asarray(image_ids, dtype=np.int64).reshape(-1)
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.ndim != 2 or len(vecs) != len(ids):
            raise ValueError(f"vectors of shape {vecs.shape} do not fit {len(ids)} image ids")
        if len(np.unique(ids)) != len(ids) or (len(ids) and ids.min() < 0):
            raise ValueError("image ids must be distinct and non-negative")
        if len(ids) and self.dim and vecs.shape[1] != self.dim:
            raise MatcherMismatchError(
                f"Embeddings of length {vecs.shape[1]} cannot join the index of matcher {self._fingerprint[:12]}, "
                f"whose embeddings have length {self.dim}."
            )
        return ids, vecs

    def ranking_vectors(self, image_ids: Sequence[int]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Ids (ascending) and vectors of those of ``image_ids`` the index holds, for the exact
        re-ranking of a shortlist: read from the database by id (backends that hold the vectors
        in memory answer from there)."""
        return self._store.embeddings(self._fingerprint, image_ids)

    def close(self) -> None:
        """Release what the index holds (files, connections)."""

    # -- hooks ----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Faces that search can return."""
        raise NotImplementedError

    @property
    def dim(self) -> int:
        """Embedding length (0 while empty and never filled)."""
        raise NotImplementedError

    def exists(self) -> bool:
        raise NotImplementedError

    def vectors_of(self, image_ids: NDArray[np.int64]) -> NDArray[np.float32] | None:
        """The indexed vectors of these (live) ids, in order; None when some are missing."""
        raise NotImplementedError

    def add(self, image_ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        """Add (or replace) faces: ``vectors`` (n, d) float32 of ``image_ids``."""
        raise NotImplementedError

    def remove(self, image_ids: Sequence[int]) -> None:
        """Stop returning these faces from search; ids not in the index are ignored."""
        raise NotImplementedError

    def search(self, queries: NDArray[np.float32], k: int, *, exact: bool = False, ef: int | None = None) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The k nearest faces of each query: image ids and Euclidean distances, (m, min(k, count))."""
        raise NotImplementedError

    def save(self) -> None:
        """Store the index with the generation it reflects."""
        raise NotImplementedError

    def _load(self) -> str | None:
        """Load the stored index and its generation; a problem when it cannot serve."""
        raise NotImplementedError

    def _clear(self) -> None:
        """Empty the index and remove what is stored of it."""
        raise NotImplementedError

    def _rebuild(self, progress: ProgressCallback, cancel: threading.Event | None) -> None:
        """Fill the index anew from every embedding of the database."""
        raise NotImplementedError

    def _save_after_catch_up(self) -> int:
        """Changes applied on open above which the index is saved at once."""
        return 0


def sorted_hits(ids: NDArray[Any], distances: NDArray[Any]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Rows ordered by ascending distance, ties by image id: ``(m, k)`` int64 and float32."""
    ids = np.asarray(ids).astype(np.int64)
    distances = np.asarray(distances)
    order = np.lexsort((ids, distances), axis=-1)
    return np.take_along_axis(ids, order, -1), np.take_along_axis(distances, order, -1).astype(np.float32)
