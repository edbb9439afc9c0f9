"""The self-test's reference set: a small gallery of simulated people, reference queries, and
the results a validated installation gives for them.

The set lives in ``resources/selftest/`` (made by ``packaging/make_selftest_set.py`` from
``crossid synth``; no real person). ``reference.json`` names the gallery manifest, each
reference search (query files, modality, which matcher serves it, the true identity) and its
expected outcome: the matcher's fingerprint (the validated weights), the leading candidates in
order with a distance range each, and the rank of the true identity. Only candidates whose
order is unambiguous are listed: the gap between two listed neighbours is wider than both their
ranges, so another processor's rounding cannot swap them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossid_desktop.errors import CrossIDError
from crossid_desktop.paths import resource_path

if TYPE_CHECKING:
    from crossid_desktop.search.service import SearchResult

FORMAT = "crossid-selftest-reference"
FORMAT_VERSION = 1
REFERENCE_NAME = "reference.json"


class ReferenceSetError(CrossIDError):
    """A reference set that is missing or damaged."""


@dataclass(frozen=True)
class ExpectedCandidate:
    """A candidate expected at a rank, with the range its distance must fall in."""

    subject_id: str
    distance_min: float
    distance_max: float

    @property
    def confidence_range(self) -> tuple[float, float]:
        """The matching range of confidence exp(-d^2)."""
        return math.exp(-self.distance_max**2), math.exp(-self.distance_min**2)


@dataclass(frozen=True)
class ReferenceSearch:
    name: str
    queries: tuple[str, ...]  # paths relative to the set's folder
    modalities: tuple[str, ...] | None  # QueryModality values, or None to let the search guess
    matchers: Mapping[str, str]  # workspace role -> matcher spec for this search
    true_subject_id: str
    fingerprint: str  # expected matcher fingerprint ("" before the expectations are recorded)
    top: tuple[ExpectedCandidate, ...]
    true_rank: int | None  # expected rank of the true identity among all gallery subjects


@dataclass(frozen=True)
class ReferenceSet:
    folder: Path
    gallery_manifest: str  # relative to ``folder``
    subjects: int
    photos: int
    tolerance: float  # half-width of every distance range
    searches: tuple[ReferenceSearch, ...]
    made_by: str

    def path(self, relative: str) -> Path:
        return self.folder / relative

    def matcher_specs(self) -> list[str]:
        """Every matcher any search uses, each once (the gallery is embedded with all)."""
        return list(dict.fromkeys(spec for search in self.searches for spec in search.matchers.values()))


def reference_folder() -> Path:
    return resource_path("selftest")


def read_reference(folder: Path | None = None) -> ReferenceSet:
    """The reference set in ``folder`` (default: the bundled one)."""
    folder = Path(folder) if folder is not None else reference_folder()
    path = folder / REFERENCE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or int(data.get("format_version", 0)) > FORMAT_VERSION:
            raise ReferenceSetError(f"The reference set {path} is not one this version can read.")
        searches = tuple(_search_from_dict(s) for s in data["searches"])
        gallery = data["gallery"]
        return ReferenceSet(folder, str(gallery["manifest"]), int(gallery["subjects"]), int(gallery["photos"]), float(data["tolerance"]), searches, str(data.get("made_by", "")))
    except OSError as error:
        raise ReferenceSetError(f"The self-test reference set {path} cannot be read ({error.strerror or error}); reinstall CrossID Desktop.") from error
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ReferenceSetError(f"The self-test reference set {path} is damaged ({error}).") from error


def _search_from_dict(data: Mapping[str, Any]) -> ReferenceSearch:
    expected = data.get("expected") or {}
    top = tuple(ExpectedCandidate(str(c["subject_id"]), float(c["distance"][0]), float(c["distance"][1])) for c in expected.get("top", ()))
    modalities = tuple(str(m) for m in data["modalities"]) if data.get("modalities") else None
    rank = expected.get("true_rank")
    return ReferenceSearch(
        str(data["name"]), tuple(str(q) for q in data["queries"]), modalities, {str(k): str(v) for k, v in data["matchers"].items()},
        str(data["true_subject_id"]), str(expected.get("fingerprint", "")), top, int(rank) if rank is not None else None,
    )


def search_to_dict(search: ReferenceSearch) -> dict[str, Any]:
    """The JSON form of a reference search (``reference.json``)."""
    return {
        "name": search.name,
        "queries": list(search.queries),
        "modalities": list(search.modalities) if search.modalities else None,
        "matchers": dict(search.matchers),
        "true_subject_id": search.true_subject_id,
        "expected": {
            "fingerprint": search.fingerprint,
            "top": [{"subject_id": c.subject_id, "distance": [round(c.distance_min, 6), round(c.distance_max, 6)],
                     "confidence": [round(v, 6) for v in c.confidence_range]} for c in search.top],
            "true_rank": search.true_rank,
        },
    }


def expected_top(distances: list[tuple[str, float]], tolerance: float, *, at_most: int = 3) -> tuple[ExpectedCandidate, ...]:
    """The leading candidates whose order is unambiguous: each listed neighbour's distance is
    more than ``2 * tolerance`` above the previous one. ``distances``: (subject, distance) in
    rank order. Empty when even the first two are too close to tell apart."""
    top: list[ExpectedCandidate] = []
    for rank, (subject, distance) in enumerate(distances[:at_most]):
        following = distances[rank + 1][1] if rank + 1 < len(distances) else math.inf
        if following - distance <= 2 * tolerance:
            break
        top.append(ExpectedCandidate(subject, distance - tolerance, distance + tolerance))
    return tuple(top)


def compare(search: ReferenceSearch, result: SearchResult, true_rank: int | None) -> list[str]:
    """How a search result departs from the expectation, one sentence part each (empty: as
    expected). ``true_rank`` is the rank of the true identity in the full ranking."""
    problems = []
    if result.matcher_fingerprint != search.fingerprint:
        problems.append(f"the matcher {result.matcher_name} is not the validated one (fingerprint {result.matcher_fingerprint[:12]}, expected {search.fingerprint[:12]})")
    for rank, expected in enumerate(search.top, start=1):
        if rank > len(result.candidates):
            problems.append(f"rank {rank} is missing (expected {expected.subject_id})")
            continue
        got = result.candidates[rank - 1]
        if got.subject_id != expected.subject_id:
            problems.append(f"rank {rank} is {got.subject_id} where {expected.subject_id} was expected")
        elif not expected.distance_min <= got.distance <= expected.distance_max:
            low, high = expected.confidence_range
            problems.append(f"rank {rank} ({got.subject_id}) scores confidence {got.confidence:.4f}, outside the expected {low:.4f}-{high:.4f}")
    if true_rank != search.true_rank:
        problems.append(f"the true identity {search.true_subject_id} ranks {true_rank} where rank {search.true_rank} was expected")
    return problems
