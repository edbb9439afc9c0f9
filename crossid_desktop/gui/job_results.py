"""What the worker's jobs (:mod:`crossid_desktop.gui.jobs`) return to the window: small frozen
records, built in the worker thread and read by the panels in the GUI thread. Images the window
shows are already ``QImage`` (made in the worker, so the GUI thread only paints them)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtGui import QImage

from crossid_desktop.gallery.index import IndexStatus
from crossid_desktop.gallery.schema import GalleryCounts, SubjectRecord
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.search.service import SearchResult


@dataclass(frozen=True)
class StartupFacts:
    """What the status bar and the About box show once the worker has started."""

    info: dict[str, Any] = field(hash=False)  # crossid_desktop.about.collect_info()
    counts: GalleryCounts


@dataclass(frozen=True)
class QueryImage:
    """One opened query image: the loaded file, its modality (as corrected) and the guess."""

    image: LoadedImage
    modality: QueryModality
    guessed: QueryModality
    original: QImage

    @property
    def path(self) -> str:
        return str(self.image.path) if self.image.path else ""


@dataclass(frozen=True)
class Preview:
    """A preview computed in the worker: the preprocessed image and, for photos, the faces
    (boxes ``(x0, y0, x1, y1)`` and landmarks ``(x, y)``, pixels of the original)."""

    processed: QImage
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    landmarks: tuple[tuple[tuple[float, float], ...], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class SearchOutcome:
    """A search result with what the candidates panel shows beside it."""

    result: SearchResult
    thumbnails: dict[int, QImage] = field(default_factory=dict, hash=False)  # image id -> aligned face
    true_subject_id: str | None = None
    true_rank: int | None = None  # over the whole gallery
    true_in_gallery: bool = False
    query_images: tuple[LoadedImage, ...] = ()
    modality: tuple[QueryModality, ...] = ()  # per query image

    def with_identity(self, subject_id: str | None, rank: int | None, in_gallery: bool) -> SearchOutcome:
        """The same search with another known identity placed in it."""
        return replace(self, true_subject_id=subject_id, true_rank=rank, true_in_gallery=in_gallery)


@dataclass(frozen=True)
class ComparePair:
    """What the compare view compares: the preprocessed query and the candidate's aligned face."""

    query: NDArray[Any]  # (H, W) float32 in [0, 1] for an X-ray, (256, 256, 3) uint8 for a face
    face: NDArray[np.uint8]  # (256, 256, 3) RGB, the gallery's aligned crop
    is_xray: bool
    query_label: str
    face_label: str


@dataclass(frozen=True)
class MatcherIndexState:
    """One matcher's search index as the gallery manager shows it."""

    name: str
    fingerprint: str
    embeddings: int  # vectors the database holds for this matcher
    status: IndexStatus


@dataclass(frozen=True)
class GallerySnapshot:
    """What the gallery holds, read in one job."""

    workspace: str
    subjects: tuple[SubjectRecord, ...]
    indexes: tuple[MatcherIndexState, ...]
