"""The work enrolment does per photo, in batches, in this process or in worker processes: load,
align to the canonical crop, encode the crop as PNG, and embed the crops with every matcher (a
matcher that compares face landmarks, the craniofacial one, measures them on the whole photo
instead, keeps them in the crop's pixels and embeds them).

Worker processes load the same matchers as the enrolling process (by their ``source``, see
:func:`~crossid_desktop.matching.matchers.load_matcher`) and refuse to start when one loads
with another fingerprint (the model file changed on disk).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import CrossIDError, ModelError
from crossid_desktop.gallery.face_landmarks import in_crop
from crossid_desktop.imaging.canonical import ALIGNED_SIZE
from crossid_desktop.imaging.faces import align_face
from crossid_desktop.imaging.io import load_image
from crossid_desktop.matching.base import Matcher
from crossid_desktop.matching.craniofacial.matcher import measures_faces
from crossid_desktop.matching.craniofacial.points import Landmarks
from crossid_desktop.matching.matchers import load_matcher


@dataclass(frozen=True)
class PhotoJob:
    """One photo to prepare: its place in the source, file, SHA-256 (hashed beforehand) and view
    (``front``, ``side`` or ``unknown``)."""

    position: int
    path: Path
    sha256: str
    view: str = "unknown"


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo ready to store: the crop as PNG, how it was aligned, ``vectors`` mapping each
    matcher's fingerprint to its ``(d,)`` float32 embedding of the crop, and ``landmarks`` the
    face landmarks a landmark matcher measured (by its fingerprint, in the crop's pixels)."""

    position: int
    sha256: str
    width: int
    height: int
    png: bytes
    alignment: str
    vectors: dict[str, NDArray[np.float32]]
    landmarks: dict[str, Landmarks] = field(default_factory=dict)


@dataclass(frozen=True)
class PhotoFailure:
    position: int
    reason: str


def encode_png(rgb: NDArray[np.uint8]) -> bytes:
    import cv2  # OpenCV loads on first use

    ok, buffer = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise CrossIDError("A face crop could not be encoded as PNG.")
    return buffer.tobytes()


def prepare_photos(jobs: Sequence[PhotoJob], matchers: Sequence[Matcher], *, allow_centre_crop: bool) -> list[PreparedPhoto | PhotoFailure]:
    """Load, align and PNG-encode each photo, then embed every crop with every matcher in one
    batch. The PNG is lossless: the crops embedded are exactly the stored thumbnails."""
    results: list[Any] = []
    crops = []
    marks: dict[str, list[Landmarks]] = {m.fingerprint: [] for m in matchers if measures_faces(m)}
    for job in jobs:
        try:
            image = load_image(job.path)
            if image.sha256 != job.sha256:
                raise CrossIDError(f"The file {job.path.name} changed while it was being enrolled; enrol it again.")
            aligned = align_face(image.rgb_uint8(), size=ALIGNED_SIZE, allow_centre_crop=allow_centre_crop)
            for m in matchers:  # on the whole photo, where the chin is more often in view than in the crop
                if measures_faces(m):
                    marks[m.fingerprint].append(in_crop(m.measure_face(image.rgb_uint8(), job.view), aligned.transform))  # type: ignore[attr-defined]
            results.append((job, image.meta.width, image.meta.height, encode_png(aligned.image), aligned.method))
            crops.append(aligned.image)
        except CrossIDError as error:
            results.append(PhotoFailure(job.position, str(error)))
    # a batch whose every photo failed has nothing to embed (an empty batch does not reshape)
    vectors = {m.fingerprint: np.asarray(m.encode_landmarks(marks[m.fingerprint]) if measures_faces(m) else m.encode_gallery(crops),  # type: ignore[attr-defined]
                                         dtype=np.float32).reshape(len(crops), m.embedding_dim) for m in matchers} if crops else {}
    prepared: list[PreparedPhoto | PhotoFailure] = []
    row = 0
    for item in results:
        if isinstance(item, PhotoFailure):
            prepared.append(item)
            continue
        job, width, height, png, method = item
        prepared.append(PreparedPhoto(job.position, job.sha256, width, height, png, method, {fp: v[row] for fp, v in vectors.items()},
                                      {fp: found[row] for fp, found in marks.items()}))
        row += 1
    return prepared


# -- worker processes --------------------------------------------------------------------------

_WORKER_MATCHERS: list[Matcher] = []


def init_worker(sources: Sequence[tuple[str, str]]) -> None:
    """Load the matchers ``(source, fingerprint)`` in a worker, one thread each (the workers
    share the cores among themselves)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    for source, fingerprint in sources:
        matcher = load_matcher(source)
        if matcher.fingerprint != fingerprint:
            raise ModelError(f"The model {source} changed on disk during the enrolment; enrol again.")
        _WORKER_MATCHERS.append(matcher)
    if "torch" in sys.modules:  # a torch matcher was loaded
        sys.modules["torch"].set_num_threads(1)


def worker_batch(jobs: Sequence[PhotoJob], allow_centre_crop: bool) -> list[PreparedPhoto | PhotoFailure]:
    """A batch prepared in a worker process (see :func:`init_worker`)."""
    return prepare_photos(jobs, _WORKER_MATCHERS, allow_centre_crop=allow_centre_crop)
