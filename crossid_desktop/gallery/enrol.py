"""Enrolment: face photos in, subjects, aligned crops and embeddings out.

Each photo is hashed (a file already enrolled is skipped), loaded, aligned to the canonical
crop, and stored with its crop as a PNG thumbnail. Embeddings are then computed from the
stored crops for every matcher of the workspace, so that a gallery can be re-embedded with a
new matcher without the original files. The user's files are only read.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.datasets.gallery_sources import read_gallery_source
from crossid_desktop.errors import CrossIDError, GalleryError
from crossid_desktop.gallery.face_landmarks import face_landmarks, in_crop, put_face_landmarks
from crossid_desktop.gallery.index import GalleryIndex
from crossid_desktop.gallery.schema import ImageRecord
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.imaging.canonical import ALIGNED_SIZE
from crossid_desktop.imaging.faces import align_face
from crossid_desktop.imaging.io import load_image, sha256_of_file
from crossid_desktop.matching.base import Matcher
from crossid_desktop.matching.craniofacial.matcher import measures_faces
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress
from crossid_desktop.workspace import Workspace

#: embeddings are computed and written in chunks of this many images
EMBED_CHUNK = 64


@dataclass(frozen=True)
class EnrolmentFailure:
    path: Path
    reason: str


@dataclass(frozen=True)
class EnrolmentReport:
    """What an enrolment did: counts, and every file that failed with its reason."""

    added: int
    skipped_duplicates: int
    failures: tuple[EnrolmentFailure, ...]
    subjects: tuple[str, ...] = field(default=())
    embedded: dict[str, int] = field(default_factory=dict)  # matcher name -> images embedded


def encode_png(rgb: NDArray[np.uint8]) -> bytes:
    import cv2  # OpenCV loads on first use

    ok, buffer = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise CrossIDError("A face crop could not be encoded as PNG.")
    return buffer.tobytes()


def decode_png(data: bytes) -> NDArray[np.uint8]:
    import cv2  # OpenCV loads on first use

    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise CrossIDError("A stored face crop is corrupt; remove the subject and enrol the photo again.")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def enrol(
    workspace: Workspace,
    source: Path,
    *,
    matchers: Sequence[Matcher],
    allow_centre_crop: bool = False,
    rename: bool = False,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> EnrolmentReport:
    """Enrol a gallery folder (``ROOT/<subject_id>/*``) or a CSV manifest.

    A photo without a detectable face is a failure unless ``allow_centre_crop`` (then its
    centred crop is enrolled and the alignment method says so). A photo that names an enrolled
    subject by another name is a failure unless ``rename`` (then the new name replaces the old).
    One bad file never stops the enrolment; what was stored before a cancel stays stored.
    """

    progress = progress or no_progress
    entries = read_gallery_source(Path(source))
    added = skipped = 0
    failures: list[EnrolmentFailure] = []
    subjects: dict[str, None] = {}
    store = GalleryStore(workspace.db_path)
    try:
        for done, entry in enumerate(entries):
            check_cancel(cancel, "The enrolment")
            progress(done, len(entries), entry.path.name)
            try:
                if store.image_by_sha256(sha256_of_file(entry.path)) is not None:
                    skipped += 1
                    continue
                _check_name(store, entry.subject_id, entry.name, rename=rename)
                image = load_image(entry.path)
                aligned = align_face(image.rgb_uint8(), size=ALIGNED_SIZE, allow_centre_crop=allow_centre_crop)
                store.ensure_subject(entry.subject_id, name=entry.name)
                record = store.add_image(
                    entry.subject_id,
                    path=entry.path.resolve(),
                    sha256=image.sha256,
                    view=entry.view,
                    width=image.meta.width,
                    height=image.meta.height,
                    thumbnail_png=encode_png(aligned.image),
                    alignment=aligned.method,
                )
            except CrossIDError as error:
                failures.append(EnrolmentFailure(entry.path, str(error)))
                continue
            if record is None:  # the same bytes appeared twice in this source
                skipped += 1
                continue
            _measure_landmarks(store, matchers, record.image_id, image.rgb_uint8(), entry.view, aligned.transform)
            added += 1
            subjects[entry.subject_id] = None
        progress(len(entries), len(entries), "photos stored")
        embedded = {matcher.name: sync_embeddings(workspace, store, matcher, progress=progress, cancel=cancel) for matcher in matchers}
    finally:
        store.close()
    return EnrolmentReport(added, skipped, tuple(failures), tuple(subjects), embedded)


def _measure_landmarks(store: GalleryStore, matchers: Sequence[Matcher], image_id: int, rgb: NDArray[np.uint8], view: str,
                       transform: NDArray[np.float64]) -> None:
    """Measure and store a new photo's face landmarks for every matcher that compares landmarks
    (on the whole photo, where the chin is more often in view than in the crop; kept in crop pixels)."""
    for matcher in matchers:
        if measures_faces(matcher):
            marks = in_crop(matcher.measure_face(rgb, view), transform)  # type: ignore[attr-defined]
            put_face_landmarks(store, matcher.fingerprint, [(image_id, marks)])


def _landmark_vectors(store: GalleryStore, matcher: Matcher, chunk: Sequence[ImageRecord]) -> NDArray[np.float32]:
    """First-stage vectors of a landmark matcher from the stored landmarks; photos enrolled
    before the matcher was chosen are measured now on their stored crop."""
    ids = [record.image_id for record in chunk]
    stored = face_landmarks(store, matcher.fingerprint, ids)
    new = [(r.image_id, matcher.measure_face(decode_png(store.thumbnail(r.image_id)), r.view)) for r in chunk if r.image_id not in stored]  # type: ignore[attr-defined]
    if new:
        put_face_landmarks(store, matcher.fingerprint, new)
        stored.update(new)
    return matcher.encode_landmarks([stored[i] for i in ids])  # type: ignore[attr-defined]


def _check_name(store: GalleryStore, subject_id: str, name: str, *, rename: bool) -> None:
    """Refuse a photo whose subject is enrolled under another name, unless ``rename``."""
    if rename or name in ("", subject_id):
        return
    try:
        current = store.subject(subject_id).name
    except GalleryError:
        return  # a new subject
    if current not in ("", subject_id, name):
        raise GalleryError(f"Subject {subject_id} is enrolled as \"{current}\", not \"{name}\"; enrol with --rename to change the name.")


def sync_embeddings(
    workspace: Workspace,
    store: GalleryStore,
    matcher: Matcher,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Embed every stored face crop that has no embedding for ``matcher`` yet, store the
    vectors and add them to the matcher's index; returns how many were embedded."""

    progress = progress or no_progress
    store.register_matcher(matcher.fingerprint, name=matcher.name, card=matcher.model_card())
    missing = store.images_without_embeddings(matcher.fingerprint)
    index = GalleryIndex.open(workspace.indexes_dir, store, matcher.fingerprint, progress=progress, cancel=cancel)
    try:
        for start in range(0, len(missing), EMBED_CHUNK):
            check_cancel(cancel, "The enrolment")
            chunk = missing[start : start + EMBED_CHUNK]
            progress(start, len(missing), f"embedding with {matcher.name}")
            if measures_faces(matcher):
                vectors = np.asarray(_landmark_vectors(store, matcher, chunk), dtype=np.float32)
            else:
                crops = [decode_png(store.thumbnail(record.image_id)) for record in chunk]
                vectors = np.asarray(matcher.encode_gallery(crops, cancel=cancel), dtype=np.float32)
            ids = [record.image_id for record in chunk]
            store.put_embeddings(matcher.fingerprint, ids, vectors)
            index.add(ids, vectors)
    finally:
        if missing:
            index.save()  # once, also after a cancel: what was embedded stays searchable
    progress(len(missing), len(missing), f"embedded with {matcher.name}")
    return len(missing)
