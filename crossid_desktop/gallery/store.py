"""The gallery database: subjects, their face images, matchers and embeddings, in SQLite.

``gallery.db`` is the source of truth; search indexes are derived from it. It runs in WAL mode
with foreign keys on, and every write is one transaction: a failure half-way leaves what was
stored before. Thumbnails (the aligned crops, PNG) have their own table, so that listing images
never reads picture data.

**Threads.** A :class:`GalleryStore` owns one SQLite connection. Use a store from one thread
at a time (the GUI's worker thread owns one); an internal lock makes accidental concurrent use
safe but serialised. For parallel work, open a second store on the same file (WAL lets readers
and one writer proceed together).

**Counters.** Triggers keep the number of subjects, images and embeddings per matcher, a
generation number of the images and one of each matcher's embeddings (the embedding log,
:mod:`.embedding_tables`), so that a search checks in one row lookup whether its open index
still matches the database, and fetches the records of its top hits only.

**Other tables.** Modules keeping their own data here (cases, the audit log) call
:meth:`GalleryStore.ensure_schema` with a component name and their migrations, and write with
``with store.transaction() as conn: ...``. The gallery's own schema is versioned with
``PRAGMA user_version`` and :data:`MIGRATIONS`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery.embedding_tables import EmbeddingTables, _checked_vectors
from crossid_desktop.gallery.schema import _IMAGE_COLUMNS, _PNG_SIGNATURE, _SHA256, MIGRATIONS, GalleryCounts, ImageRecord, SubjectRecord, _image, _now

__all__ = ["MIGRATIONS", "GalleryStore"]


class GalleryStore(EmbeddingTables):
    """The gallery database at ``db_path`` (created when missing)."""

    def upsert_subject(self, subject_id: str, *, name: str = "", metadata: Mapping[str, Any] | None = None) -> None:
        """Add a subject, or update the name and metadata of an existing one."""
        _check_subject_id(subject_id)
        meta = json.dumps(dict(metadata or {}), sort_keys=True, ensure_ascii=False, default=str)
        with self._guard("write"), self.transaction() as conn:
            conn.execute(
                "INSERT INTO subjects (subject_id, name, metadata, created) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(subject_id) DO UPDATE SET name = excluded.name, metadata = excluded.metadata",
                (subject_id, name, meta, _now()),
            )

    def ensure_subject(self, subject_id: str, *, name: str = "") -> None:
        """Add a subject if it is new; an existing one keeps its metadata, and its name unless
        ``name`` is a real name (not empty, not the id itself). Enrolment uses this, so that a
        folder without names never wipes the names of an earlier import."""
        _check_subject_id(subject_id)
        with self._guard("write"), self.transaction() as conn:
            conn.execute(
                "INSERT INTO subjects (subject_id, name, metadata, created) VALUES (?, ?, '{}', ?) "
                "ON CONFLICT(subject_id) DO UPDATE SET name = CASE WHEN excluded.name IN ('', subject_id) "
                "THEN subjects.name ELSE excluded.name END",
                (subject_id, name, _now()),
            )

    def subjects(self) -> list[SubjectRecord]:
        """Every subject, ordered by subject id."""
        return [self._subject(r) for r in self._query(_SUBJECTS_SQL + " GROUP BY s.subject_id ORDER BY s.subject_id")]

    def subject(self, subject_id: str) -> SubjectRecord:
        return self._subject(self._one(_SUBJECTS_SQL + " WHERE s.subject_id = ? GROUP BY s.subject_id", subject_id))

    def remove_subject(self, subject_id: str) -> int:
        """Remove a subject with its images, thumbnails and embeddings; returns how many images went."""
        with self._guard("write"), self.transaction() as conn:
            self._one("SELECT 1 FROM subjects WHERE subject_id = ?", subject_id)
            n = conn.execute("SELECT COUNT(*) FROM images WHERE subject_id = ?", (subject_id,)).fetchone()[0]
            conn.execute("DELETE FROM subjects WHERE subject_id = ?", (subject_id,))
        return int(n)

    @staticmethod
    def _subject(row: sqlite3.Row) -> SubjectRecord:
        return SubjectRecord(row["subject_id"], row["name"], json.loads(row["metadata"]), row["n"], row["created"])

    def add_image(
        self, subject_id: str, *, path: Path, sha256: str, view: str, width: int, height: int,
        thumbnail_png: bytes, alignment: str, embeddings: Mapping[str, NDArray[np.float32]] | None = None,
    ) -> ImageRecord | None:
        """Enrol one face photo of an existing subject, with its embeddings, in one transaction.

        ``thumbnail_png`` is the aligned canonical crop (256 px) as PNG bytes; ``embeddings``
        maps the fingerprint of each (registered) matcher to the photo's ``(d,)`` float32
        vector: the photo and its vectors are stored together or not at all. Returns None,
        changing nothing, when an image with this SHA-256 is already enrolled (under any
        subject): re-importing a folder is a no-op.
        """
        sha256 = sha256.lower()
        if not _SHA256.match(sha256):
            raise ValueError(f"not a hex SHA-256: {sha256!r}")
        if not bytes(thumbnail_png[:8]) == _PNG_SIGNATURE:
            raise ValueError("thumbnail_png must be PNG-encoded bytes")
        vectors = {fp: _checked_vectors(np.reshape(v, (1, -1)), 1) for fp, v in (embeddings or {}).items()}
        with self._guard("write"), self.transaction() as conn:
            if conn.execute("SELECT 1 FROM subjects WHERE subject_id = ?", (subject_id,)).fetchone() is None:
                raise GalleryError(f"The gallery has no subject {subject_id!r}; add the subject before its images.")
            cur = conn.execute(
                "INSERT INTO images (subject_id, path, sha256, view, width, height, alignment, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO NOTHING",
                (subject_id, str(path), sha256, view, int(width), int(height), alignment, _now()),
            )
            if cur.rowcount == 0:
                return None
            image_id = int(cur.lastrowid)
            conn.execute("INSERT INTO thumbnails (image_id, png) VALUES (?, ?)", (image_id, bytes(thumbnail_png)))
            for fingerprint, vector in vectors.items():
                self._insert_embeddings(conn, fingerprint, [image_id], vector)
            return _image(conn.execute(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE image_id = ?", (image_id,)).fetchone())

    def remove_image(self, image_id: int) -> None:
        """Remove one image with its thumbnail and embeddings (its subject stays)."""
        with self._guard("write"), self.transaction() as conn:
            if conn.execute("DELETE FROM images WHERE image_id = ?", (int(image_id),)).rowcount == 0:
                raise GalleryError(f"The gallery has no image number {image_id}.")

    def images(self, subject_id: str | None = None) -> list[ImageRecord]:
        """Images of one subject, or of all, ordered by image id."""
        where, params = ("", ()) if subject_id is None else ("WHERE subject_id = ?", (subject_id,))
        return [_image(r) for r in self._query(f"SELECT {_IMAGE_COLUMNS} FROM images {where} ORDER BY image_id", params)]

    def image(self, image_id: int) -> ImageRecord:
        return _image(self._one(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE image_id = ?", int(image_id)))

    def images_by_id(self, image_ids: Iterable[int]) -> dict[int, ImageRecord]:
        """The records of these images by id (ids not in the gallery are left out)."""
        wanted = sorted({int(i) for i in image_ids})
        return {r["image_id"]: _image(r) for r in self._query_ids(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE image_id IN ({{marks}})", wanted)}

    def images_of_subjects(self, subject_ids: Iterable[str]) -> list[ImageRecord]:
        """Every image of these subjects, ordered by image id."""
        rows = self._query_ids(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE subject_id IN ({{marks}})", sorted(set(subject_ids)))
        return sorted((_image(r) for r in rows), key=lambda record: record.image_id)

    def subjects_of_images(self, image_ids: Iterable[int]) -> dict[int, str]:
        """The subject of each of these images, by image id (unknown ids are left out)."""
        wanted = sorted({int(i) for i in image_ids})
        return {r[0]: r[1] for r in self._query_ids("SELECT image_id, subject_id FROM images WHERE image_id IN ({marks})", wanted)}

    def images_of_subjects_ids(self, subject_ids: Iterable[str]) -> dict[int, str]:
        """Every image of these subjects: subject by image id, in ascending image id."""
        rows = self._query_ids("SELECT image_id, subject_id FROM images WHERE subject_id IN ({marks})", sorted(set(subject_ids)))
        return dict(sorted((r[0], r[1]) for r in rows))

    def subject_names(self, subject_ids: Iterable[str]) -> dict[str, str]:
        """The names of these subjects by id (unknown ids are left out)."""
        rows = self._query_ids("SELECT subject_id, name FROM subjects WHERE subject_id IN ({marks})", sorted(set(subject_ids)))
        return {r[0]: r[1] for r in rows}

    def has_subject(self, subject_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM subjects WHERE subject_id = ?", (subject_id,)))

    def image_by_sha256(self, sha256: str) -> ImageRecord | None:
        rows = self._query(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE sha256 = ?", (sha256.lower(),))
        return _image(rows[0]) if rows else None

    def thumbnail(self, image_id: int) -> bytes:
        """The aligned canonical crop of an image, PNG-encoded."""
        return bytes(self._one("SELECT png FROM thumbnails WHERE image_id = ?", int(image_id))[0])

    def counts(self) -> GalleryCounts:
        """Subjects, images and embeddings per matcher, from the counters (no table scan)."""
        with self.snapshot() as conn:
            subjects, images = conn.execute("SELECT subjects, images FROM gallery_state").fetchone()
            rows = conn.execute("SELECT fingerprint, embeddings FROM matcher_state").fetchall()
        return GalleryCounts(int(subjects), int(images), {r[0]: int(r[1]) for r in rows})

    @property
    def gallery_id(self) -> str:
        """A random hex name of this gallery, fixed at creation (names its collections on an index server)."""
        return str(self._query("SELECT gallery_id FROM gallery_state")[0][0])

    def gallery_digest(self) -> str:
        """Hex SHA-256 identifying the gallery's content, recorded by a case.

        It hashes the UTF-8 text ``subject_id + "\\t" + sha256 + "\\n"`` of every image, in
        order of (subject_id, sha256): it changes when an image is added, removed or moved to
        another subject, and not with the order of enrolment, paths or names. Computed once per
        change of the images (kept with the generation it was computed at), so that repeated
        searches of a large gallery do not re-read it.
        """
        with self.snapshot() as conn:
            generation, digest, digest_generation = conn.execute("SELECT generation, digest, digest_generation FROM gallery_state").fetchone()
            if digest is not None and digest_generation == generation:
                return str(digest)
            hasher = hashlib.sha256()
            for row in conn.execute("SELECT subject_id, sha256 FROM images ORDER BY subject_id, sha256"):
                hasher.update(f"{row[0]}\t{row[1]}\n".encode())
        digest = hasher.hexdigest()
        try:  # remembered for the next search; a busy database only costs the next one a recount
            with self.transaction() as conn:
                conn.execute("UPDATE gallery_state SET digest = ?, digest_generation = ? WHERE generation = ?", (digest, generation, generation))
        except (GalleryError, sqlite3.OperationalError):
            pass
        return digest


_SUBJECTS_SQL = (
    "SELECT s.subject_id, s.name, s.metadata, s.created, COUNT(i.image_id) AS n "
    "FROM subjects s LEFT JOIN images i ON i.subject_id = s.subject_id"
)


def _check_subject_id(subject_id: str) -> None:
    if not subject_id or subject_id != subject_id.strip() or any(ord(c) < 32 for c in subject_id):
        raise GalleryError(f"The subject id {subject_id!r} must be non-empty, without control characters or outer spaces.")
