"""The gallery database's schema and the records it returns (see :mod:`.store`)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Union

#: One schema step: SQL statements run in order, or a function given the connection.
#: Every step runs inside the transaction that also records the new version.
Migration = Union[Sequence[str], Callable[[sqlite3.Connection], None]]

#: The gallery's own schema; ``PRAGMA user_version`` holds how many of these were applied.
MIGRATIONS: tuple[Migration, ...] = (
    (
        """CREATE TABLE subjects (subject_id TEXT PRIMARY KEY NOT NULL CHECK (length(subject_id) > 0),
            name TEXT NOT NULL DEFAULT '', metadata TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL)""",
        # AUTOINCREMENT: an image id is never reused, so a case or an index that names a
        # removed image can never point at a different face later.
        """CREATE TABLE images (image_id INTEGER PRIMARY KEY AUTOINCREMENT,
            subject_id TEXT NOT NULL REFERENCES subjects(subject_id) ON DELETE CASCADE,
            path TEXT NOT NULL, sha256 TEXT NOT NULL UNIQUE, view TEXT NOT NULL,
            width INTEGER NOT NULL CHECK (width > 0), height INTEGER NOT NULL CHECK (height > 0),
            alignment TEXT NOT NULL, added TEXT NOT NULL)""",
        "CREATE INDEX images_by_subject ON images(subject_id)",
        """CREATE TABLE thumbnails (image_id INTEGER PRIMARY KEY REFERENCES images(image_id) ON DELETE CASCADE,
            png BLOB NOT NULL)""",
        """CREATE TABLE matchers (fingerprint TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
            card TEXT NOT NULL, added TEXT NOT NULL)""",
        """CREATE TABLE embeddings (image_id INTEGER NOT NULL REFERENCES images(image_id) ON DELETE CASCADE,
            fingerprint TEXT NOT NULL REFERENCES matchers(fingerprint) ON DELETE CASCADE,
            vector BLOB NOT NULL, PRIMARY KEY (image_id, fingerprint))""",
        "CREATE INDEX embeddings_by_matcher ON embeddings(fingerprint, image_id)",
        "CREATE TABLE schema_components (component TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL)",
    ),
    (
        # Counters kept by triggers on every write, so that a search learns in one row lookup
        # whether anything changed: `generation` counts changes to the images (it keys the
        # cached gallery digest), `subjects` and `images` count rows. `gallery_id` names this
        # gallery on a shared index server.
        """CREATE TABLE gallery_state (singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            gallery_id TEXT NOT NULL, generation INTEGER NOT NULL, subjects INTEGER NOT NULL,
            images INTEGER NOT NULL, digest TEXT, digest_generation INTEGER)""",
        """INSERT INTO gallery_state VALUES (1, lower(hex(randomblob(16))), 0,
            (SELECT COUNT(*) FROM subjects), (SELECT COUNT(*) FROM images), NULL, NULL)""",
        "CREATE TRIGGER subjects_added AFTER INSERT ON subjects BEGIN UPDATE gallery_state SET subjects = subjects + 1; END",
        "CREATE TRIGGER subjects_removed AFTER DELETE ON subjects BEGIN UPDATE gallery_state SET subjects = subjects - 1; END",
        "CREATE TRIGGER images_added AFTER INSERT ON images BEGIN UPDATE gallery_state SET images = images + 1, generation = generation + 1; END",
        "CREATE TRIGGER images_removed AFTER DELETE ON images BEGIN UPDATE gallery_state SET images = images - 1, generation = generation + 1; END",
        "CREATE TRIGGER images_changed AFTER UPDATE ON images BEGIN UPDATE gallery_state SET generation = generation + 1; END",
        "CREATE INDEX images_by_subject_and_sha256 ON images(subject_id, sha256)",
        # Every change of an embedding, in order: an index that saved its state at change
        # `seq` catches up by applying the changes after it. `matcher_state.generation` is the
        # matcher's last change; `pruned_through`, the last change forgotten (an index older
        # than that is rebuilt).
        """CREATE TABLE embedding_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, fingerprint TEXT NOT NULL,
            image_id INTEGER NOT NULL, removed INTEGER NOT NULL CHECK (removed IN (0, 1)))""",
        "CREATE INDEX embedding_log_by_matcher ON embedding_log(fingerprint, seq)",
        """CREATE TABLE matcher_state (fingerprint TEXT PRIMARY KEY NOT NULL REFERENCES matchers(fingerprint) ON DELETE CASCADE,
            embeddings INTEGER NOT NULL, generation INTEGER NOT NULL, pruned_through INTEGER NOT NULL)""",
        """INSERT INTO matcher_state SELECT fingerprint,
            (SELECT COUNT(*) FROM embeddings e WHERE e.fingerprint = m.fingerprint), 0, 0 FROM matchers m""",
        "CREATE TRIGGER matcher_added AFTER INSERT ON matchers BEGIN INSERT INTO matcher_state VALUES (NEW.fingerprint, 0, 0, 0); END",
        """CREATE TRIGGER embedding_added AFTER INSERT ON embeddings BEGIN
            INSERT INTO embedding_log (fingerprint, image_id, removed) VALUES (NEW.fingerprint, NEW.image_id, 0);
            UPDATE matcher_state SET embeddings = embeddings + 1, generation = last_insert_rowid() WHERE fingerprint = NEW.fingerprint; END""",
        """CREATE TRIGGER embedding_changed AFTER UPDATE ON embeddings BEGIN
            INSERT INTO embedding_log (fingerprint, image_id, removed) VALUES (NEW.fingerprint, NEW.image_id, 0);
            UPDATE matcher_state SET generation = last_insert_rowid() WHERE fingerprint = NEW.fingerprint; END""",
        """CREATE TRIGGER embedding_removed AFTER DELETE ON embeddings BEGIN
            INSERT INTO embedding_log (fingerprint, image_id, removed) VALUES (OLD.fingerprint, OLD.image_id, 1);
            UPDATE matcher_state SET embeddings = embeddings - 1, generation = last_insert_rowid() WHERE fingerprint = OLD.fingerprint; END""",
    ),
)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class SubjectRecord:
    """A known person in the gallery."""

    subject_id: str
    name: str
    metadata: dict[str, Any] = field(hash=False)
    n_images: int
    created: str  # ISO 8601, UTC


@dataclass(frozen=True)
class ImageRecord:
    """One enrolled face photo. ``path`` is where the user's file was when enrolled."""

    image_id: int
    subject_id: str
    path: Path
    sha256: str
    view: str
    width: int  # pixels of the original image
    height: int
    alignment: str  # how the canonical crop was made, e.g. "dlib-5pt"
    added: str  # ISO 8601, UTC


@dataclass(frozen=True)
class MatcherRecord:
    """A matcher whose embeddings the gallery holds."""

    fingerprint: str
    name: str
    card: dict[str, Any] = field(hash=False)
    added: str


@dataclass(frozen=True)
class MatcherState:
    """Where a matcher's embeddings stand, kept by triggers on every write (one row lookup).

    ``generation`` is the number of the matcher's last change in the embedding log (0: none
    logged); an index that records the generation it reflects is current when the two are
    equal. Changes up to ``pruned_through`` are no longer in the log.
    """

    fingerprint: str
    embeddings: int
    generation: int
    pruned_through: int


@dataclass(frozen=True)
class EmbeddingChanges:
    """The net change of a matcher's embeddings after a generation: ids whose vector was put
    (added or replaced) and ids removed, each ascending; ``generation`` is the last change and
    ``embeddings`` the count of the matcher's embeddings, both as of the same moment."""

    put: tuple[int, ...]
    removed: tuple[int, ...]
    generation: int
    embeddings: int


@dataclass(frozen=True)
class GalleryCounts:
    """How much the gallery holds; ``embeddings`` maps every registered fingerprint to a count."""

    subjects: int
    images: int
    embeddings: dict[str, int] = field(hash=False)


_IMAGE_COLUMNS = "image_id, subject_id, path, sha256, view, width, height, alignment, added"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _image(row: sqlite3.Row) -> ImageRecord:
    return ImageRecord(**{**dict(zip(row.keys(), row)), "path": Path(row["path"])})
