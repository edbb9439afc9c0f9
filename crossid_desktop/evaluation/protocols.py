"""The two publications' evaluation protocols: shared pieces and the entry point.

* :mod:`crossid_desktop.evaluation.skull2face` - X-ray queries against the face photos of the
  test subjects (Recall@k, mAP@k, MRR@k, triplet accuracy; optionally a mixed gallery).
* :mod:`crossid_desktop.evaluation.injured` - five subject-disjoint 70/30 splits, one
  non-injured gallery photo per test subject, injured probes (Rank-1/5/10, GAR at FAR 0.1).
* :mod:`crossid_desktop.evaluation.model_calibration` - score-to-LR calibration on validation
  subjects, written into a model card.
* :mod:`crossid_desktop.evaluation.outputs` - ``metrics.json``, plots, ``report.md``/``.json``.

This module holds what they share: the :class:`EvaluationResult` every protocol returns,
image loading and alignment with progress, distance matrices and rankings, and the reading
of an extra ("mixed" or "extended") gallery. Distances are Euclidean in the matcher's
embedding space; verification scores are ``-distance`` (higher = more similar).
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossid_desktop.datasets.gallery_sources import read_gallery_source
from crossid_desktop.datasets.injured_faces import read_injured_faces
from crossid_desktop.datasets.skull_faces import read_skull_faces
from crossid_desktop.datasets.summary import detect_layout
from crossid_desktop.errors import DatasetError
from crossid_desktop.evaluation.retrieval import Ranking
from crossid_desktop.imaging.faces import align_face
from crossid_desktop.imaging.io import LoadedImage, load_image
from crossid_desktop.matching.base import Matcher
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress

__all__ = [
    "EXTRA_PREFIX",
    "PROTOCOLS",
    "EmbeddingView",
    "EvaluationResult",
    "distance_matrix",
    "genuine_impostor",
    "injury_seed",
    "load_aligned_faces",
    "load_images",
    "model_info",
    "rank_by_distance",
    "read_extra_faces",
]

PROTOCOLS = ("skull2face", "injured")

#: prefix of the labels of extra-gallery subjects, so that they never equal a test subject's
EXTRA_PREFIX = "extra:"


@dataclass(frozen=True)
class EmbeddingView:
    """Embeddings to draw in the t-SNE picture: ``vectors`` ``(n, d)`` and a group name for
    each row (``"query"``, ``"true face"`` or ``"gallery"``)."""

    vectors: NDArray[np.float32]
    groups: tuple[str, ...]


@dataclass(frozen=True)
class EvaluationResult:
    """What a protocol measured.

    * ``metrics``: flat JSON-able figures (``recall@1``, ``rank1``, ``gar@far0.1`` ...; for
      the injured protocol means with ``*_std`` companions), plus ``protocol``, ``model``,
      ``data``, ``n_queries`` and ``gallery_size``.
    * ``curves``: named curves over k or rank (lists of floats, index 0 = k or rank 1).
    * ``genuine_distances`` / ``impostor_distances``: Euclidean distances of same-person and
      different-person query-gallery pairs on the test subjects.
    * ``lrs``: ``(genuine, impostor)`` likelihood ratios of the test pairs when a
      calibration was fitted (on validation subjects), else None.
    * ``per_split``: the injured protocol's figures per split (empty for skull-to-face).
    """

    protocol: str
    metrics: Mapping[str, Any]
    curves: Mapping[str, list[float]]
    genuine_distances: NDArray[np.float64]
    impostor_distances: NDArray[np.float64]
    embedding_view: EmbeddingView | None = None
    lrs: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
    calibration: Mapping[str, Any] | None = None
    per_split: tuple[Mapping[str, Any], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def model_info(matcher: Matcher) -> dict[str, Any]:
    """``{"name", "fingerprint", "task", "backbone"}`` of a matcher, for reports."""
    card = matcher.model_card()
    return {"name": matcher.name, "fingerprint": matcher.fingerprint, "task": card.get("task"), "backbone": card.get("backbone")}


def load_images(
    paths: Sequence[Path],
    *,
    what: str = "Loading images",
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[LoadedImage]:
    """Read and hash image files (:func:`~crossid_desktop.imaging.io.load_image`)."""

    report = progress or no_progress
    images = []
    for done, path in enumerate(paths):
        check_cancel(cancel, "The evaluation")
        report(done, len(paths), what)
        images.append(load_image(path))
    report(len(paths), len(paths), what)
    return images


def load_aligned_faces(
    paths: Sequence[Path],
    *,
    size: int = 256,
    what: str = "Aligning faces",
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[NDArray[np.uint8]]:
    """Face photos aligned to the canonical ``size`` crop (RGB uint8), as the gallery branch
    expects; a photo without a detected face gives its central square."""

    report = progress or no_progress
    faces = []
    for done, path in enumerate(paths):
        check_cancel(cancel, "The evaluation")
        report(done, len(paths), what)
        faces.append(align_face(load_image(path).rgb_uint8(), size=size, allow_centre_crop=True).image)
    report(len(paths), len(paths), what)
    return faces


def distance_matrix(queries: ArrayLike, gallery: ArrayLike) -> NDArray[np.float64]:
    """Euclidean distances ``(Q, G)`` between query ``(Q, d)`` and gallery ``(G, d)`` rows
    (float64, exact differences, no cancellation error)."""
    q = np.asarray(queries, dtype=np.float64)
    g = np.asarray(gallery, dtype=np.float64)
    if q.ndim != 2 or g.ndim != 2 or q.shape[1] != g.shape[1]:
        raise ValueError(f"queries and gallery must be (n, d) arrays of one d; got {q.shape} and {g.shape}.")
    return np.sqrt(((q[:, None, :] - g[None, :, :]) ** 2).sum(axis=-1))


def rank_by_distance(distances: ArrayLike) -> Ranking:
    """The full ranking of every row of a ``(Q, G)`` distance matrix, nearest first; equal
    distances keep gallery order (the convention of
    :func:`~crossid_desktop.evaluation.retrieval.exact_euclidean_search`)."""
    d = np.asarray(distances, dtype=np.float64)
    order = np.argsort(d, axis=1, kind="stable").astype(np.int64)
    return Ranking(indices=order, distances=np.take_along_axis(d, order, axis=1))


def genuine_impostor(distances: ArrayLike, query_labels: ArrayLike, gallery_labels: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Split every query-gallery distance into genuine (same label) and impostor ones."""
    d = np.asarray(distances, dtype=np.float64)
    same = np.asarray(query_labels)[:, None] == np.asarray(gallery_labels)[None, :]
    return d[same], d[~same]


def injury_seed(subject_id: str, photo_name: str) -> int:
    """The deterministic injury seed of one photo (CRC-32 of ``subject/photo``), so a
    simulated probe is the same in every run and every split."""
    return zlib.crc32(f"{subject_id}/{photo_name}".encode())


def read_extra_faces(root: str | Path, *, one_per_subject: bool) -> list[tuple[str, Path]]:
    """``(label, path)`` of the faces of an extra gallery (distractors), labelled
    ``"extra:<subject_id>"``.

    ``root`` is a gallery folder or manifest, an S2F set (its face photos) or an IF set (its
    non-injured photos). ``one_per_subject`` keeps each subject's first photo (frontal first).
    """

    layout = detect_layout(root)
    by_subject: dict[str, list[Path]] = {}
    if layout == "s2f":
        for subject in read_skull_faces(root, strict=False).subjects:
            by_subject[subject.subject_id] = [*subject.faces["front"], *subject.faces["side"]]
    elif layout == "if":
        for subject in read_injured_faces(root, strict=False).subjects:
            by_subject[subject.subject_id] = list(subject.normal)
    else:
        entries = read_gallery_source(root)
        for entry in sorted(entries, key=lambda e: (e.subject_id, e.view != "front")):
            by_subject.setdefault(entry.subject_id, []).append(entry.path)
    faces = [(EXTRA_PREFIX + sid, p) for sid, paths in sorted(by_subject.items()) for p in (paths[:1] if one_per_subject else paths)]
    if not faces:
        raise DatasetError(f"The extra gallery {Path(root)} holds no face photo.")
    return faces


def encode_faces(
    matcher: Matcher,
    faces: Sequence[NDArray[np.uint8]],
    *,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> NDArray[np.float32]:
    """Gallery-branch embeddings ``(n, d)`` of aligned crops (an empty ``(0, d)`` for none)."""
    if not faces:
        return np.empty((0, matcher.embedding_dim), dtype=np.float32)
    return np.asarray(matcher.encode_gallery(list(faces), progress=progress, cancel=cancel), dtype=np.float32)
