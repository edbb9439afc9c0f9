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
