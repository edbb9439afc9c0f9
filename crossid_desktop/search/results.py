"""What a search returns: the ranked candidates, the queries as searched, and the result with
its warnings (made by :class:`crossid_desktop.search.service.SearchService`, which also names
these classes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Candidate:
    """One ranked gallery subject (or photo, when ranking photos)."""

    rank: int
    subject_id: str
    name: str
    image_id: int  # the subject's photo nearest to the (first) query
    image_path: str
    distance: float  # Euclidean distance to that photo; with several queries, the mean over queries of each one's nearest photo
    confidence: float  # exp(-distance^2), the publication's score
    likelihood_ratio: float | None = None  # when the matcher carries a calibration
    verbal_scale: str | None = None
    #: the craniofacial matcher's record of this candidate (consistency status and statement,
    #: excluding landmarks, per-view evidence keyed by the X-ray's view;
    #: :func:`crossid_desktop.search.xray_ranking.evidence_json`, read by :mod:`crossid_desktop.cases.report_evidence`)
    craniofacial: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class QueryInfo:
    """One query image as searched: its file, hash, modality and image metadata; for a face
    photo ``face`` (which face of how many, how it was aligned), ``ignored`` (the parts left
    out of the search: who marked them, how much of the crop, the mask as a PNG and its hash)
    and ``warnings`` the examiner must read (a centre crop instead of a detected face)."""

    path: str | None
    sha256: str
    modality: str
    meta: dict[str, Any]
    #: the face searched in the photo (detector, box, alignment transform), or None
    face: dict[str, Any] | None = field(default=None, hash=False)
    #: the parts of an aligned face the search left out (a mask record), or None
    ignored: dict[str, Any] | None = field(default=None, hash=False)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    queries: tuple[QueryInfo, ...]
    matcher_name: str
    matcher_fingerprint: str
    gallery_subjects: int
    gallery_images: int
    gallery_digest: str
    rank_by: str  # "subject" | "image"
    candidates: tuple[Candidate, ...]
    preprocessing: dict[str, Any]
    timings_ms: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # one sentence each: what makes this result less reliable
    #: with the craniofacial matcher: each X-ray's landmarks, unit and problem, the people not
    #: assessed and why (:meth:`SearchService._search_xray`)
    craniofacial: dict[str, Any] | None = None

    def with_warnings(self, *texts: str) -> SearchResult:
        """A copy with ``texts`` added to :attr:`warnings` (each once, in order)."""
        return replace(self, warnings=tuple(dict.fromkeys((*self.warnings, *texts))))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (``crossid search --json``)."""
        data = asdict(self)
        data["warnings"] = list(self.warnings)
        data["query"] = data["queries"][0] if len(self.queries) == 1 else data["queries"]
        for candidate in data["candidates"]:
            candidate["image"] = candidate.pop("image_path")
        return data

    def rank_of(self, subject_id: str) -> int | None:
        """Rank of a subject among the returned candidates, or None."""
        return next((c.rank for c in self.candidates if c.subject_id == subject_id), None)
