"""The gallery database: subjects, their face images, matchers and embeddings, in SQLite.

``gallery.db`` is the source of truth; search indexes are derived from it. It runs in WAL mode
with foreign keys on, and every write is one transaction: a failure half-way leaves what was
stored before. Thumbnails (the aligned crops, PNG) have their own table, so that listing images
never reads picture data.

**Threads.** A :class:`GalleryStore` owns one SQLite connection. Use a store from one thread
at a time (the GUI's worker thread owns one); an internal lock makes accidental concurrent use
safe but serialised. For parallel work, open a second store on the same file (WAL lets readers
and one writer proceed together).

**Other tables.** Modules keeping their own data here (cases, the audit log) call
:meth:`GalleryStore.ensure_schema` with a component name and their migrations, and write with
``with store.transaction() as conn: ...``. The gallery's own schema is versioned with
``PRAGMA user_version`` and :data:`MIGRATIONS`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery.schema import _IMAGE_COLUMNS, _PNG_SIGNATURE, _SHA256, MIGRATIONS, GalleryCounts, ImageRecord, MatcherRecord, Migration, SubjectRecord, _image, _now


class GalleryStore:
    """The gallery database at ``db_path`` (created when missing)."""

    def __init__(self, db_path: Path) -> None:
        self._path = Path(db_path)
        self._lock = threading.RLock()
        self._savepoints = 0
        if not self._path.parent.is_dir():
            raise GalleryError(f"The folder {self._path.parent} of the gallery database does not exist.")
        try:
            # isolation_level=None: no implicit transactions; transaction() issues BEGIN itself.
            self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise GalleryError(f"The gallery database {self._path} cannot be opened ({exc}).") from exc
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA busy_timeout = 10000")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise GalleryError(
                f"The gallery database {self._path} cannot be read ({exc}); it may be damaged or not a CrossID gallery."
            ) from exc
        except BaseException:
            self._conn.close()
            raise

    @property
    def connection(self) -> sqlite3.Connection:
        """The store's connection, for reading other modules' tables; write via :meth:`transaction`."""
        return self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> GalleryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``with store.transaction() as conn:``: everything inside commits together or not at all.

        Nested use makes a savepoint, so a store method called inside a caller's transaction
        joins it. An exception inside rolls back and propagates unchanged.
        """
        with self._lock:
            nested = self._conn.in_transaction
            name = f"sp{self._savepoints + 1}"
            with self._guard("start a change to"):
                self._conn.execute(f"SAVEPOINT {name}" if nested else "BEGIN IMMEDIATE")
            self._savepoints += nested
            try:
                yield self._conn
                with self._guard("save a change to"):
                    self._conn.execute(f"RELEASE {name}" if nested else "COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute(f"ROLLBACK TO {name}" if nested else "ROLLBACK")
                    if nested:
                        self._conn.execute(f"RELEASE {name}")
                raise
            finally:
                self._savepoints -= nested

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn SQLite's operational failures (locked, damaged, disk full) into GalleryError."""
        with self._lock:
            try:
                yield
            except sqlite3.IntegrityError:
                raise
            except sqlite3.DatabaseError as exc:
                raise GalleryError(f"Could not {action} the gallery database {self._path} ({exc}).") from exc

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise GalleryError(f"The gallery database {self._path} is from a newer CrossID Desktop; update the application.")
        if version == 0:
            tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables - {"sqlite_sequence"}:
                raise GalleryError(f"The database {self._path} is not a CrossID gallery (it holds other tables).")
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as conn:
                _apply(conn, migration)
                conn.execute(f"PRAGMA user_version = {number}")

    def ensure_schema(self, component: str, migrations: Sequence[Migration]) -> None:
        """Apply the not yet applied ``migrations`` of another module (e.g. ``"cases"``).

        The component's version (how many of its migrations ran) is kept in the table
        ``schema_components``; a database with more than ``len(migrations)`` is refused.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT version FROM schema_components WHERE component = ?", (component,)).fetchone()
            version = row[0] if row else 0
            if version > len(migrations):
                raise GalleryError(f"The {component} data in {self._path} is from a newer CrossID Desktop; update the application.")
            for migration in migrations[version:]:
                _apply(conn, migration)
            conn.execute(
                "INSERT INTO schema_components (component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                (component, len(migrations)),
            )

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
        thumbnail_png: bytes, alignment: str,
    ) -> ImageRecord | None:
        """Enrol one face photo of an existing subject.

        ``thumbnail_png`` is the aligned canonical crop (256 px) as PNG bytes. Returns None,
        changing nothing, when an image with this SHA-256 is already enrolled (under any
        subject): re-importing a folder is a no-op.
        """
        sha256 = sha256.lower()
        if not _SHA256.match(sha256):
            raise ValueError(f"not a hex SHA-256: {sha256!r}")
        if not bytes(thumbnail_png[:8]) == _PNG_SIGNATURE:
            raise ValueError("thumbnail_png must be PNG-encoded bytes")
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
            image_id = cur.lastrowid
            conn.execute("INSERT INTO thumbnails (image_id, png) VALUES (?, ?)", (image_id, bytes(thumbnail_png)))
        return self.image(int(image_id))

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

    def image_by_sha256(self, sha256: str) -> ImageRecord | None:
        rows = self._query(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE sha256 = ?", (sha256.lower(),))
        return _image(rows[0]) if rows else None

    def thumbnail(self, image_id: int) -> bytes:
        """The aligned canonical crop of an image, PNG-encoded."""
        return bytes(self._one("SELECT png FROM thumbnails WHERE image_id = ?", int(image_id))[0])

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
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[0] != len(ids) or vecs.shape[1] == 0:
            raise ValueError(f"vectors of shape {vecs.shape} do not fit {len(ids)} image ids")
        if not np.isfinite(vecs).all():
            raise ValueError("embeddings must be finite")
        with self._guard("write"), self.transaction() as conn:
            if conn.execute("SELECT 1 FROM matchers WHERE fingerprint = ?", (fingerprint,)).fetchone() is None:
                raise GalleryError(f"The matcher {fingerprint[:12]} is not registered in the gallery.")
            row = conn.execute("SELECT length(vector) FROM embeddings WHERE fingerprint = ? LIMIT 1", (fingerprint,)).fetchone()
            if row is not None and row[0] != 4 * vecs.shape[1]:
                raise GalleryError(f"The matcher {fingerprint[:12]} has {row[0] // 4}-d embeddings, not {vecs.shape[1]}-d.")
            for image_id, vector in zip(ids, vecs):
                try:
                    conn.execute(_PUT_EMBEDDING, (image_id, fingerprint, vector.tobytes()))
                except sqlite3.IntegrityError as exc:
                    raise GalleryError(f"The gallery has no image number {image_id}.") from exc

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
            wanted, rows = sorted({int(i) for i in image_ids}), []
            for chunk in (wanted[i : i + 500] for i in range(0, len(wanted), 500)):
                marks = ",".join("?" * len(chunk))
                rows += self._query(f"{sql} AND image_id IN ({marks}) ORDER BY image_id", (fingerprint, *chunk))
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return ids, vectors.copy()

    def embedding_ids(self, fingerprint: str) -> NDArray[np.int64]:
        """Ids ``(n,)`` int64, ascending, of the images that have an embedding for a matcher."""
        rows = self._query("SELECT image_id FROM embeddings WHERE fingerprint = ? ORDER BY image_id", (fingerprint,))
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def images_without_embeddings(self, fingerprint: str) -> list[ImageRecord]:
        """Images that still need embedding by a matcher, ordered by image id."""
        rows = self._query(
            f"SELECT {_IMAGE_COLUMNS} FROM images i WHERE NOT EXISTS (SELECT 1 FROM embeddings e "
            "WHERE e.image_id = i.image_id AND e.fingerprint = ?) ORDER BY image_id",
            (fingerprint,),
        )
        return [_image(r) for r in rows]

    def counts(self) -> GalleryCounts:
        subjects, images = self._query("SELECT (SELECT COUNT(*) FROM subjects), (SELECT COUNT(*) FROM images)")[0]
        rows = self._query("SELECT fingerprint, (SELECT COUNT(*) FROM embeddings e WHERE e.fingerprint = m.fingerprint) FROM matchers m")
        return GalleryCounts(int(subjects), int(images), {r[0]: int(r[1]) for r in rows})

    def gallery_digest(self) -> str:
        """Hex SHA-256 identifying the gallery's content, recorded by a case.

        It hashes the UTF-8 text ``subject_id + "\\t" + sha256 + "\\n"`` of every image, in
        order of (subject_id, sha256): it changes when an image is added, removed or moved to
        another subject, and not with the order of enrolment, paths or names.
        """
        digest = hashlib.sha256()
        for row in self._query("SELECT subject_id, sha256 FROM images ORDER BY subject_id, sha256"):
            digest.update(f"{row[0]}\t{row[1]}\n".encode())
        return digest.hexdigest()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._guard("read"):
            return self._conn.execute(sql, tuple(params)).fetchall()

    def _one(self, sql: str, key: str | int) -> sqlite3.Row:
        """The row of the subject or image ``key``; GalleryError when there is none."""
        rows = self._query(sql, (key,))
        if not rows:
            what = f"image number {key}" if isinstance(key, int) else f"subject {key!r}"
            raise GalleryError(f"The gallery has no {what}.")
        return rows[0]


_PUT_EMBEDDING = "INSERT OR REPLACE INTO embeddings (image_id, fingerprint, vector) VALUES (?, ?, ?)"
_SUBJECTS_SQL = (
    "SELECT s.subject_id, s.name, s.metadata, s.created, COUNT(i.image_id) AS n "
    "FROM subjects s LEFT JOIN images i ON i.subject_id = s.subject_id"
)


def _apply(conn: sqlite3.Connection, migration: Migration) -> None:
    if callable(migration):
        migration(conn)
    else:
        for statement in migration:
            conn.execute(statement)


def _check_subject_id(subject_id: str) -> None:
    if not subject_id or subject_id != subject_id.strip() or any(ord(c) < 32 for c in subject_id):
        raise GalleryError(f"The subject id {subject_id!r} must be non-empty, without control characters or outer spaces.")
