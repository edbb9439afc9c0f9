"""What a case holds, as frozen records, and their JSON form in the database.

A case keeps every search it ran as it was returned (queries with SHA-256 and acquisition
metadata, preprocessing, matcher, gallery state, every candidate with its scores), together
with a summary of the matcher's model card and the software that ran it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from crossid_desktop.cases.marks import Mark
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult

#: model card fields a case keeps (the network configuration is left out)
CARD_FIELDS = ("name", "task", "method", "backbone", "embedding_dim", "training", "metrics", "calibration", "software", "created", "weights_sha256", "format_version")


@dataclass(frozen=True)
class CandidateMark:
    """The examiner's judgement on one candidate subject."""

    subject_id: str
    mark: Mark
    note: str
    updated: str  # ISO 8601, UTC
    actor: str


@dataclass(frozen=True)
class KnownIdentity:
    """The identity of the unknown person once established by other means (DNA, dental, ...)."""

    subject_id: str | None
    name: str
    note: str
    recorded: str


@dataclass(frozen=True)
class RecordedSearch:
    """One search as recorded in a case."""

    search_id: int
    performed: str  # ISO 8601, UTC
    actor: str
    result: SearchResult
    matcher_card: dict[str, Any] = field(hash=False)  # summary of the model card (CARD_FIELDS)
    environment: dict[str, Any] = field(hash=False)  # software versions and compute device


@dataclass(frozen=True)
class CaseSummary:
    """One line of the case list."""

    case_number: str
    title: str
    examiner: str
    created: str
    updated: str
    searches: int


@dataclass(frozen=True)
class Case:
    """A case with everything recorded in it; read with ``CaseService.get``."""

    case_number: str
    title: str
    examiner: str
    agency: str
    created: str
    updated: str
    notes: str
    known_identity: KnownIdentity | None
    searches: tuple[RecordedSearch, ...]
    marks: Mapping[str, CandidateMark] = field(hash=False)
    audit_entries: int = 0
    audit_head: str = ""

    @property
    def latest_search(self) -> RecordedSearch | None:
        return self.searches[-1] if self.searches else None

    def mark_of(self, subject_id: str) -> CandidateMark | None:
        mark = self.marks.get(subject_id)
        return mark if mark is not None and (mark.mark is not Mark.NONE or mark.note) else None

    def of_interest(self) -> list[str]:
        """Subjects marked as of interest, in the order of the latest search's ranking."""
        marked = {s for s, m in self.marks.items() if m.mark is Mark.OF_INTEREST}
        ranked = [c.subject_id for c in self.latest_search.result.candidates] if self.latest_search else []
        return [s for s in ranked if s in marked] + sorted(marked - set(ranked))


def result_to_json(result: SearchResult) -> str:
    """The stored form of a search result (JSON text; hashed into the audit log)."""
    return json.dumps(asdict(result), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def result_from_json(text: str) -> SearchResult:
    data = json.loads(text)
    return SearchResult(
        queries=tuple(QueryInfo(**{**q, "warnings": tuple(q.get("warnings") or ())}) for q in data["queries"]),
        matcher_name=data["matcher_name"],
        matcher_fingerprint=data["matcher_fingerprint"],
        gallery_subjects=int(data["gallery_subjects"]),
        gallery_images=int(data["gallery_images"]),
        gallery_digest=data["gallery_digest"],
        rank_by=data["rank_by"],
        candidates=tuple(Candidate(**c) for c in data["candidates"]),
        preprocessing=data.get("preprocessing") or {},
        timings_ms=data.get("timings_ms") or {},
        craniofacial=data.get("craniofacial"),
        warnings=tuple(data.get("warnings") or ()),
    )


def card_summary(card: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parts of a model card a report names, long lists shortened to their length."""
    return {key: _shorten(card[key]) for key in CARD_FIELDS if card and key in card}


def _shorten(value: Any, limit: int = 40) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _shorten(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shorten(v, limit) for v in value] if len(value) <= limit else f"[{len(value)} values]"
    return value
