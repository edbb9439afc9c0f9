"""Enrolment: face photos in, subjects, aligned crops and embeddings out.

Photos go in batches of :data:`ENROL_BATCH`: each is hashed (a file already enrolled is
skipped), loaded, aligned to the canonical crop and embedded by every matcher the workspace
uses (:mod:`.enrol_work`), on every core when the batch count makes worker processes pay.

**Atomic per photo.** A photo's row, its thumbnail and its embeddings by every matcher are
stored in one transaction (one savepoint per photo inside the batch's transaction): a photo is
in the gallery with all its vectors, or not at all. The indexes follow each committed batch and
are saved at the end (also after a cancel or an error); a process killed in between leaves
indexes behind the database, and the next open of an index catches up from the database's
embedding log (:mod:`.index_base`): what the gallery lists, search finds. The user's files are
only read.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.datasets.gallery_sources import GalleryEntry, read_gallery_source
from crossid_desktop.errors import CrossIDError, GalleryError
from crossid_desktop.gallery.backends import open_index
from crossid_desktop.gallery.enrol_work import PhotoFailure, PhotoJob, PreparedPhoto, encode_png, init_worker, prepare_photos, worker_batch
from crossid_desktop.gallery.face_landmarks import ensure_schema, face_landmarks, put_face_landmarks
from crossid_desktop.gallery.faults import fault_point
from crossid_desktop.gallery.index_base import GalleryIndexBase
from crossid_desktop.gallery.schema import ImageRecord
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.imaging.io import sha256_of_file
from crossid_desktop.matching.base import Matcher
from crossid_desktop.matching.craniofacial.matcher import measures_faces
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress
from crossid_desktop.workspace import Workspace

__all__ = ["EMBED_CHUNK", "ENROL_BATCH", "EnrolmentFailure", "EnrolmentReport", "decode_png", "encode_png", "enrol", "sync_embeddings"]

#: photos prepared, embedded and stored together
ENROL_BATCH = 16
#: photos per batch when they are prepared in this process: small, so that progress and cancel stay prompt
LOCAL_BATCH = 4
#: stored crops re-embedded at a time when a matcher lacks embeddings
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


@dataclass
class _Tally:
    added: int = 0
    skipped: int = 0
    failures: list[EnrolmentFailure] = field(default_factory=list)
    subjects: dict[str, None] = field(default_factory=dict)
    embedded: dict[str, int] = field(default_factory=dict)


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
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> EnrolmentReport:
    """Enrol a gallery folder (``ROOT/<subject_id>/*``) or a CSV manifest.

    A photo without a detectable face is a failure unless ``allow_centre_crop`` (then its
    centred crop is enrolled and the alignment method says so). A photo that names an enrolled
    subject by another name is a failure unless ``rename`` (then the new name replaces the old).
    One bad file never stops the enrolment; what was stored before a cancel stays stored.
    ``workers``: processes preparing and embedding photos (default: one per core).
    """
    progress = progress or no_progress
    entries = read_gallery_source(Path(source))
    matchers = list({m.fingerprint: m for m in matchers}.values())
    tally = _Tally(embedded={m.name: 0 for m in matchers})
    with GalleryStore(workspace.db_path) as store:
        for matcher in matchers:
            store.register_matcher(matcher.fingerprint, name=matcher.name, card=matcher.model_card())
        ensure_schema(store)  # the face-landmark table, before the photos' transactions
        indexes: list[GalleryIndexBase] = []
        try:
            for matcher in matchers:
                indexes.append(open_index(workspace, store, matcher.fingerprint, progress=progress, cancel=cancel))
            pooled = _use_pool(matchers, workers, len(entries))
            batches = _job_batches(store, entries, tally, cancel, size=ENROL_BATCH if pooled else LOCAL_BATCH)
            for results in _prepared(batches, matchers, workers if pooled else 1, allow_centre_crop, cancel):
                _store_batch(store, entries, results, matchers, tally, rename=rename)
                for index in indexes:
                    index.sync(cancel=cancel)
                fault_point("indexes updated")
                done = max(r.position for r in results) + 1
                progress(done, len(entries), entries[done - 1].path.name)
            progress(len(entries), len(entries), "photos stored")
            for matcher, index in zip(matchers, indexes):
                tally.embedded[matcher.name] += sync_embeddings(workspace, store, matcher, index=index, progress=progress, cancel=cancel)
        finally:
            for index in indexes:
                index.save()  # once, also after a cancel: what was stored stays searchable
                index.close()
    return EnrolmentReport(tally.added, tally.skipped, tuple(tally.failures), tuple(tally.subjects), tally.embedded)


def _job_batches(store: GalleryStore, entries: Sequence[GalleryEntry], tally: _Tally, cancel: threading.Event | None, *, size: int) -> Iterator[list[PhotoJob]]:
    """Batches of ``size`` photos not yet enrolled (hashed here; known files are counted as skipped)."""
    batch: list[PhotoJob] = []
    for position, entry in enumerate(entries):
        check_cancel(cancel, "The enrolment")
        try:
            sha256 = sha256_of_file(entry.path)
        except CrossIDError as error:
            tally.failures.append(EnrolmentFailure(entry.path, str(error)))
            continue
        if store.image_by_sha256(sha256) is not None:
            tally.skipped += 1
            continue
        batch.append(PhotoJob(position, entry.path, sha256, entry.view))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _use_pool(matchers: Sequence[Matcher], workers: int | None, n_photos: int) -> bool:
    """Worker processes pay off when there are at least two batches per worker and every
    matcher can be loaded again by its source."""
    workers = workers or os.cpu_count() or 1
    return workers >= 2 and n_photos >= 2 * workers * ENROL_BATCH and all(getattr(m, "source", None) is not None for m in matchers)


def _prepared(
    batches: Iterator[list[PhotoJob]], matchers: Sequence[Matcher], workers: int | None, allow_centre_crop: bool, cancel: threading.Event | None
) -> Iterator[list[PreparedPhoto | PhotoFailure]]:
    """Each batch prepared and embedded, in order: in worker processes when ``workers`` > 1
    (see :func:`_use_pool`), else here."""
    workers = workers or os.cpu_count() or 1
    sources = [(getattr(m, "source", None), m.fingerprint) for m in matchers]
    if workers < 2:
        for jobs in batches:
            check_cancel(cancel, "The enrolment")
            yield prepare_photos(jobs, matchers, allow_centre_crop=allow_centre_crop)
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process holding torch's threads
    with ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker, initargs=(sources,)) as pool:
        pending: list[Future] = []
        try:
            for jobs in batches:
                pending.append(pool.submit(worker_batch, jobs, allow_centre_crop))
                while len(pending) > 2 * workers:
                    check_cancel(cancel, "The enrolment")
                    yield pending.pop(0).result()
            while pending:
                check_cancel(cancel, "The enrolment")
                yield pending.pop(0).result()
        finally:
            for future in pending:
                future.cancel()


def _store_batch(
    store: GalleryStore, entries: Sequence[GalleryEntry], results: Sequence[PreparedPhoto | PhotoFailure], matchers: Sequence[Matcher], tally: _Tally, *, rename: bool
) -> None:
    """Store a batch in one transaction, each photo in its own savepoint (all of it or nothing)."""
    with store.transaction():
        for result in results:
            entry = entries[result.position]
            if isinstance(result, PhotoFailure):
                tally.failures.append(EnrolmentFailure(entry.path, result.reason))
                continue
            try:
                with store.transaction():
                    _check_name(store, entry.subject_id, entry.name, rename=rename)
                    store.ensure_subject(entry.subject_id, name=entry.name)
                    record = store.add_image(
                        entry.subject_id, path=entry.path.resolve(), sha256=result.sha256, view=entry.view, width=result.width,
                        height=result.height, thumbnail_png=result.png, alignment=result.alignment, embeddings=result.vectors,
                    )
                    for measurer, marks in result.landmarks.items():  # the face landmarks of a landmark matcher, with the photo
                        if record is not None:
                            put_face_landmarks(store, measurer, [(record.image_id, marks)])
            except CrossIDError as error:
                tally.failures.append(EnrolmentFailure(entry.path, str(error)))
                continue
            if record is None:  # the same bytes appeared twice in this source
                tally.skipped += 1
                continue
            tally.added += 1
            tally.subjects[entry.subject_id] = None
            for matcher in matchers:
                tally.embedded[matcher.name] += 1
            fault_point("photo stored")
    fault_point("batch committed")


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
    index: GalleryIndexBase | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Embed every stored face crop that has no embedding for ``matcher`` yet (a matcher added
    to the workspace later), store the vectors and bring the matcher's index up to date;
    returns how many were embedded. ``index``: the matcher's open index (saved by the caller)."""
    progress = progress or no_progress
    store.register_matcher(matcher.fingerprint, name=matcher.name, card=matcher.model_card())
    missing = store.images_without_embeddings(matcher.fingerprint)
    own = index is None
    if index is None:
        index = open_index(workspace, store, matcher.fingerprint, progress=progress, cancel=cancel)
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
            store.put_embeddings(matcher.fingerprint, [record.image_id for record in chunk], vectors)
            index.sync(cancel=cancel)
    finally:
        if own:
            if missing:
                index.save()  # once, also after a cancel: what was embedded stays searchable
            index.close()
    progress(len(missing), len(missing), f"embedded with {matcher.name}")
    return len(missing)
