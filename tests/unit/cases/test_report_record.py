"""The case record a report carries: built from the stored case, checked on its own against its
audit chain (any changed value or entry is found), compared with the case's own log, and with
withheld patient identifiers left out."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.report_record import (
    RESULT_IN_SEARCHES,
    build_record,
    check_record,
    compare_with_log,
    record_bytes,
    stored_rows,
)
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult
from crossid_desktop.workspace import Workspace

PATIENT = {"name": "Doe, Jane", "patient_id": "PID-7", "birth_date": "1970-01-01"}


def _case(tmp_path: Path) -> tuple[CaseService, str]:
    ws = Workspace.open(tmp_path / "ws")
    query = QueryInfo("/x/q.dcm", "ab" * 32, "xray_front", {"format": "DICOM", "patient": PATIENT, "dicom": {"Modality": "DX"}})
    candidates = tuple(Candidate(r, f"S{r}", f"Name {r}", r, f"/g/{r}.png", 0.2 * r, math.exp(-((0.2 * r) ** 2))) for r in (1, 2, 3))
    result = SearchResult((query,), "m", "f" * 64, 3, 3, "d" * 64, "subject", candidates, {"query": {"input_size": 64}})
    cases = CaseService(ws)
    number = cases.create_case(title="record", examiner="Ana").case_number
    cases.record_search(number, result, actor="Ana", matcher_card={"name": "m", "task": "skull2face"}, environment={"python": "3.11"})
    cases.mark(number, "S2", "of_interest", "ears alike", actor="Ana")
    return cases, number


def _record(cases: CaseService, number: str, *, patient: bool = True, card: dict | None = None) -> dict:
    verification, rows, entries = cases.snapshot(number)
    assert verification.ok
    built = build_record(number, rows, entries, generated="2026-01-01T00:00:00+00:00", model_card=card, patient_identifiers=patient)
    return json.loads(record_bytes(built))  # as a reader of the file gets it


def test_record_holds_the_case_as_stored(tmp_path: Path) -> None:
    cases, number = _case(tmp_path)
    record = _record(cases, number)
    _, rows, entries = cases.snapshot(number)
    assert stored_rows(record) == json.loads(json.dumps(rows))  # every column of every row, as stored
    assert [e["hash"] for e in record["audit_log"]] == [e.hash for e in entries] and record["head"]["seq"] == len(entries)
    assert record["rows"]["case_searches"][0]["result"] == RESULT_IN_SEARCHES  # kept once, readable
    search = record["searches"][0]["result"]
    assert search["queries"][0]["meta"]["patient"] == PATIENT and [c["subject_id"] for c in search["candidates"]] == ["S1", "S2", "S3"]
    assert check_record(record) == ([], [])
    assert compare_with_log(record, cases.audit_log(number)) == []


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("mark note", lambda r: r["rows"]["case_marks"][0].update(note="ears differ")),
        ("search actor", lambda r: r["rows"]["case_searches"][0].update(actor="Eve")),
        ("candidate distance", lambda r: r["searches"][0]["result"]["candidates"][0].update(distance=0.01)),
        ("case title", lambda r: r["rows"]["cases"][0].update(title="other")),
        ("entry actor", lambda r: r["audit_log"][1].update(actor="Eve")),
        ("last entry dropped", lambda r: r["audit_log"].pop()),
        ("a mark removed", lambda r: r["rows"]["case_marks"].clear()),
    ],
)
def test_any_change_to_the_record_is_found(tmp_path: Path, where: str, change) -> None:
    cases, number = _case(tmp_path)
    record = _record(cases, number)
    changed = copy.deepcopy(record)
    change(changed)
    problems, _ = check_record(changed)
    assert problems, where


def test_withheld_patient_identifiers_are_not_in_the_record(tmp_path: Path) -> None:
    cases, number = _case(tmp_path)
    record = _record(cases, number, patient=False)
    data = json.dumps(record, ensure_ascii=False)
    assert "Doe, Jane" not in data and "PID-7" not in data and "1970-01-01" not in data
    problems, caveats = check_record(record)
    assert problems == [] and any("withheld" in c for c in caveats)
    _, rows, entries = cases.snapshot(number)
    stored = {r["search_id"]: r["result"] for r in rows["case_searches"]}
    assert compare_with_log(record, entries, stored) == []
    record["searches"][0]["result"]["candidates"][0]["distance"] = 0.01
    assert check_record(record)[0] == []  # on its own the record cannot tell (the caveat says so) ...
    assert compare_with_log(record, entries, stored) == ["the record's copy of search 1 differs from the case's stored result"]  # ... the case can


def test_record_compared_with_the_case_log(tmp_path: Path) -> None:
    cases, number = _case(tmp_path)
    record = _record(cases, number)
    cases.set_notes(number, "later", actor="Ana")  # later entries are fine: the record holds the log as far as it went
    assert compare_with_log(record, cases.audit_log(number)) == []
    other_cases, other = _case(tmp_path / "other")
    assert compare_with_log(record, other_cases.audit_log(other))  # another case's chain: different hashes


def test_full_model_card_agrees_with_the_stored_summary(tmp_path: Path) -> None:
    cases, number = _case(tmp_path)
    assert check_record(_record(cases, number, card={"name": "m", "task": "skull2face", "network": {"x": 1}})) == ([], [])
    _, caveats = check_record(_record(cases, number, card={"name": "m", "task": "injured"}))
    assert any("differs from the summary" in c for c in caveats)
    assert check_record({"format": "other"})[0] == ["the file is not a CrossID case record"]


def test_landmark_corrections_are_in_the_record_and_checked(tmp_path: Path) -> None:
    from crossid_desktop.cases.landmarks import CaseLandmarks

    cases, number = _case(tmp_path)
    landmarks = CaseLandmarks(cases)
    landmarks.correct(number, "ab" * 32, "xray-side", "sella", 101.5, 80.25, detected=(99.0, 82.0), actor="Ana")
    landmarks.correct(number, "ab" * 32, "xray-side", "nasion", 150.0, 60.0, actor="Ana")
    landmarks.reset(number, "ab" * 32, "xray-side", "nasion", actor="Ana")
    record = _record(cases, number)
    (row,) = record["rows"]["case_landmarks"]
    assert (row["name"], row["x"], row["y"], row["detected_x"]) == ("sella", 101.5, 80.25, 99.0)
    assert check_record(record) == ([], [])
    moved = copy.deepcopy(record)
    moved["rows"]["case_landmarks"][0]["x"] = 111.5
    assert check_record(moved)[0] == ["the correction of landmark sella differs from what entry 4 recorded"]
    added = copy.deepcopy(record)
    added["rows"]["case_landmarks"].append({**row, "name": "nasion"})
    assert check_record(added)[0] == ["the correction of landmark nasion differs from what entry 6 recorded"]  # reset since
    assert "case_landmarks" not in _record(*_case(tmp_path / "none"))["rows"]  # a case without corrections: no such rows
