"""The examiner's mark vocabulary: the values a case database holds (unchanged, so older
workspaces keep reading), the round trip through the database and the audit log, the window's
pending marks, and the labels shown."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.marks import CaseMarks, ExaminerMark, Mark
from crossid_desktop.errors import CaseError
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult
from crossid_desktop.workspace import Workspace


@pytest.fixture
def case(tmp_path: Path) -> tuple[CaseService, str]:
    service = CaseService(Workspace.open(tmp_path / "ws"))
    number = service.create_case(title="Unknown").case_number
    candidates = tuple(Candidate(r, s, "", r, f"/gallery/{s}.png", 0.1 * r, 0.9) for r, s in enumerate(("S1", "S2", "S3"), start=1))
    query = QueryInfo("/queries/unknown.png", "ab" * 32, "injured_face", {})
    service.record_search(number, SearchResult((query,), "matcher-x", "f" * 64, 3, 3, "d" * 64, "subject", candidates, {}), actor="Ana", environment={"python": "3"})
    return service, number


def test_the_stored_values_are_those_of_earlier_workspaces() -> None:
    # the strings case databases have always held; changing one would orphan stored marks
    assert [m.value for m in Mark] == ["of_interest", "excluded", "none"]
    assert str(Mark.EXCLUDED) == "excluded" and f"{Mark.OF_INTEREST}" == "of_interest"
    assert [m.label for m in Mark] == ["of interest", "excluded", ""]


def test_marks_round_trip_through_the_database_and_the_audit_log(case: tuple[CaseService, str]) -> None:
    service, number = case
    stored = service.mark(number, "S1", Mark.OF_INTEREST, "same ear shape", actor="Ana")
    service.mark(number, "S2", "excluded", actor="Bo")  # the stored value is taken too (CLI)
    assert stored.mark is Mark.OF_INTEREST
    with sqlite3.connect(service.workspace.db_path) as conn:
        rows = conn.execute("SELECT subject_id, mark, typeof(mark) FROM case_marks ORDER BY subject_id").fetchall()
        logged = [json.loads(r[0]) for r in conn.execute("SELECT details FROM audit_log WHERE action = 'candidate_marked' ORDER BY seq")]
    assert rows == [("S1", "of_interest", "text"), ("S2", "excluded", "text")]
    assert [d["mark"] for d in logged] == ["of_interest", "excluded"]
    read = service.get(number)
    assert read.marks["S1"].mark is Mark.OF_INTEREST and read.marks["S2"].mark is Mark.EXCLUDED
    assert read.of_interest() == ["S1"]
    assert service.verify(number).ok


def test_a_mark_written_as_plain_text_reads_as_the_enum(case: tuple[CaseService, str]) -> None:
    service, number = case
    with sqlite3.connect(service.workspace.db_path) as conn:  # a row as an older version wrote it
        conn.execute("INSERT INTO case_marks (case_number, subject_id, mark, note, updated, actor) VALUES (?, 'S3', 'none', 'looked twice', '2025-01-01T00:00:00Z', 'Ana')", (number,))
    mark = service.get(number).marks["S3"]
    assert mark.mark is Mark.NONE and mark.note == "looked twice"
    assert service.get(number).mark_of("S3") == mark  # a note without a mark is kept
    with pytest.raises(CaseError, match="not one of of_interest, excluded, none"):
        service.mark(number, "S1", "interest")


def test_case_marks_keep_what_the_examiner_set_and_forget_blank_ones() -> None:
    marks = CaseMarks()
    assert marks.get("S1") == ExaminerMark(Mark.NONE, "") and marks.get("S1").is_blank
    assert marks.set("S1", Mark.OF_INTEREST, "  similar nose ")
    assert marks.get("S1") == ExaminerMark(Mark.OF_INTEREST, "similar nose")
    assert not marks.set("S1", "of_interest", "similar nose")  # no change
    assert marks.set("S2", Mark.NONE, "note only")
    assert marks.set("S1", Mark.NONE)  # cleared: forgotten
    assert marks.items() == {"S2": ExaminerMark(Mark.NONE, "note only")}
    with pytest.raises(ValueError):
        marks.set("S3", "maybe")
    marks.clear()
    assert marks.items() == {}
