"""The reference set: which candidates a set may expect, how a result is compared with it,
and the bundled set itself."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import pytest

from crossid_desktop.search.service import Candidate, SearchResult
from crossid_desktop.selftest.reference import (
    ExpectedCandidate,
    ReferenceSearch,
    ReferenceSetError,
    compare,
    expected_top,
    read_reference,
    reference_folder,
)


def _result(ranked: list[tuple[str, float]], fingerprint: str = "f" * 64) -> SearchResult:
    candidates = tuple(Candidate(i, s, s.lower(), i, f"{s}.png", d, math.exp(-d * d)) for i, (s, d) in enumerate(ranked, start=1))
    return SearchResult((), "matcher", fingerprint, len(ranked), len(ranked), "digest", "subject", candidates, {})


def _search(top: tuple[ExpectedCandidate, ...], true_rank: int | None = 1) -> ReferenceSearch:
    return ReferenceSearch("s", ("q.png",), None, {"xray": "bundled:skull2face"}, "A", "f" * 64, top, true_rank)


def test_only_unambiguous_leaders_are_expected() -> None:
    # worked by hand: gaps 0.05 (> 0.02, keep A), 0.01 (<= 0.02, stop before B)
    top = expected_top([("A", 1.0), ("B", 1.05), ("C", 1.06), ("D", 1.2)], 0.01)
    assert top == (ExpectedCandidate("A", 0.99, 1.01),)
    # gaps of 0.1 each: the first three, at most three
    assert [c.subject_id for c in expected_top([("A", 0.1), ("B", 0.2), ("C", 0.3), ("D", 0.4), ("E", 0.5)], 0.02)] == ["A", "B", "C"]
    assert expected_top([("A", 0.5), ("B", 0.51)], 0.01) == ()
    assert expected_top([("A", 0.5)], 0.01) == (ExpectedCandidate("A", 0.49, 0.51),)


def test_a_result_as_expected_has_no_problems_and_each_departure_is_said() -> None:
    search = _search((ExpectedCandidate("A", 0.19, 0.21), ExpectedCandidate("B", 0.39, 0.41)))
    assert compare(search, _result([("A", 0.2), ("B", 0.4), ("C", 0.5)]), 1) == []
    assert compare(search, _result([("B", 0.2), ("A", 0.4)]), 2) == [
        "rank 1 is B where A was expected", "rank 2 is A where B was expected", "the true identity A ranks 2 where rank 1 was expected",
    ]
    (problem,) = compare(search, _result([("A", 0.25), ("B", 0.4)]), 1)
    # confidence exp(-0.25^2) = 0.9394, range exp(-0.21^2) .. exp(-0.19^2) = 0.9569 .. 0.9645
    assert problem == "rank 1 (A) scores confidence 0.9394, outside the expected 0.9569-0.9645"
    assert compare(search, _result([("A", 0.2), ("B", 0.4)], fingerprint="0" * 64), 1) == [
        "the matcher matcher is not the validated one (fingerprint 000000000000, expected ffffffffffff)"
    ]
    assert compare(search, _result([("A", 0.2)]), 1) == ["rank 2 is missing (expected B)"]


def test_the_bundled_set_is_complete_and_its_expectations_unambiguous() -> None:
    reference = read_reference()
    assert reference.folder == reference_folder()
    with open(reference.path(reference.gallery_manifest), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == reference.photos and len({r["subject_id"] for r in rows}) == reference.subjects
    assert all(reference.path(r["path"]).is_file() for r in rows)
    assert {s for s in reference.matcher_specs()} == {"bundled:skull2face", "dlib", "bundled:injured"}
    for search in reference.searches:
        assert search.top and len(search.fingerprint) == 64 and search.true_rank is not None
        assert all(reference.path(q).is_file() for q in search.queries)
        for c in search.top:
            assert math.isclose(c.distance_max - c.distance_min, 2 * reference.tolerance, abs_tol=1e-6)
        for first, second in zip(search.top, search.top[1:]):
            assert second.distance_min > first.distance_max  # ranges never overlap: the order is fixed
    assert any(q.endswith(".dcm") for s in reference.searches for q in s.queries)  # the DICOM decoders take part
    size = sum(p.stat().st_size for p in reference.folder.rglob("*") if p.is_file())
    assert size < 500_000


def test_a_damaged_set_is_refused_with_a_sentence(tmp_path: Path) -> None:
    copy = tmp_path / "set"
    shutil.copytree(reference_folder(), copy)
    data = json.loads((copy / "reference.json").read_text())
    del data["gallery"]
    (copy / "reference.json").write_text(json.dumps(data))
    with pytest.raises(ReferenceSetError, match="is damaged"):
        read_reference(copy)
    with pytest.raises(ReferenceSetError, match="cannot be read"):
        read_reference(tmp_path / "absent")
