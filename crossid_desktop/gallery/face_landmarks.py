"""Face landmarks of the gallery's photos, measured once at enrolment and kept in ``gallery.db``.

The craniofacial matcher compares a skull with a photo's landmarks, not its pixels; measuring
them is slow (a face detector and a shape model per photo), so they are measured when the
photo is enrolled and stored here, per photo and per *measurer* (the detectors and their error
profile, named by the matcher's fingerprint), in the aligned crop's pixels (the crop the
gallery shows). A photo whose landmarks could not be measured is stored too, with the reason,
so that every search can say why that photo was not compared. Removing a photo removes its
landmarks (foreign key, cascade).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np

from crossid_desktop.gallery.schema import _now
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.matching.craniofacial.points import Landmarks

COMPONENT = "face_landmarks"
MIGRATIONS = (
    (
        """CREATE TABLE face_landmarks (image_id INTEGER NOT NULL REFERENCES images(image_id) ON DELETE CASCADE,
            measurer TEXT NOT NULL, landmarks TEXT NOT NULL, added TEXT NOT NULL, PRIMARY KEY (image_id, measurer))""",
    ),
)


def ensure_schema(store: GalleryStore) -> None:
    store.ensure_schema(COMPONENT, MIGRATIONS)


def in_crop(landmarks: Landmarks, transform: np.ndarray) -> Landmarks:
    """Landmarks measured on a photo moved into its aligned crop by the crop's (2, 3) similarity
    (the deviations scaled with it)."""
    matrix = np.asarray(transform, dtype=np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    xy = landmarks.xy @ matrix[:, :2].T + matrix[:, 2]
    mirrored = landmarks.mirrored
    return Landmarks(landmarks.view, landmarks.names, xy, landmarks.sd * scale, landmarks.source, None, None, landmarks.corrected,
                     mirrored, landmarks.warnings, landmarks.failure)


def put_face_landmarks(store: GalleryStore, measurer: str, items: Iterable[tuple[int, Landmarks]]) -> None:
    """Store (or replace) the landmarks of photos, in one transaction."""
    ensure_schema(store)
    rows = [(int(image_id), measurer, json.dumps(marks.to_dict(), sort_keys=True), _now()) for image_id, marks in items]
    with store.transaction() as conn:
        conn.executemany("INSERT OR REPLACE INTO face_landmarks (image_id, measurer, landmarks, added) VALUES (?, ?, ?, ?)", rows)


def face_landmarks(store: GalleryStore, measurer: str, image_ids: Sequence[int] | None = None) -> dict[int, Landmarks]:
    """The stored landmarks of photos (all, or ``image_ids``) for a measurer, by image id."""
    ensure_schema(store)
    sql = "SELECT image_id, landmarks FROM face_landmarks WHERE measurer = ?"
    conn = store.connection
    if image_ids is None:
        rows = conn.execute(sql, (measurer,)).fetchall()
    else:
        rows, wanted = [], sorted({int(i) for i in image_ids})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows += conn.execute(f"{sql} AND image_id IN ({','.join('?' * len(chunk))})", (measurer, *chunk)).fetchall()
    return {int(r[0]): Landmarks.from_dict(json.loads(r[1])) for r in rows}


def unmeasured(store: GalleryStore, measurer: str) -> list[int]:
    """Ids of photos without landmarks for a measurer, ascending."""
    ensure_schema(store)
    rows = store.connection.execute(
        "SELECT image_id FROM images i WHERE NOT EXISTS (SELECT 1 FROM face_landmarks f WHERE f.image_id = i.image_id AND f.measurer = ?) "
        "ORDER BY image_id", (measurer,)).fetchall()
    return [int(r[0]) for r in rows]
