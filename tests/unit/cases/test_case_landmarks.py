"""Landmark corrections stored with a case and logged in its audit trail (cases/landmarks.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.landmarks import CaseLandmarks
from crossid_desktop.errors import CaseError
from crossid_desktop.matching.landmarks.service import Landmark, LandmarkResult
from crossid_desktop.workspace import Workspace

SHA = "ab" * 32


def _detected() -> LandmarkResult:
    points = (Landmark("sella", "l1", 100.0, 200.0, 3.0, 0.9), Landmark("nasion", "l2", 400.0, 180.0, 2.0, 0.8),
              Landmark("menton", "l8", None, None, None, 0.0))
    return LandmarkResult(image="/q.png", sha256=SHA, view="xray-side", landmarks=points)


@pytest.fixture
def cases(tmp_path: Path) -> CaseService:
    return CaseService(Workspace.open(tmp_path / "ws"))


def test_a_correction_is_stored_logged_applied_and_reset(cases: CaseService) -> None:
    number = cases.create_case(title="unknown").case_number
    store = CaseLandmarks(cases)
    store.correct(number, SHA, "xray-side", "nasion", 410.5, 185.25, detected=(400.0, 180.0), actor="Ana")
    store.correct(number, SHA, "xray-side", "menton", 300.0, 900.0, detected=None, actor="Ana")
    applied = store.apply(number, _detected())
    assert (applied.point("nasion").x, applied.point("nasion").y, applied.point("nasion").corrected) == (410.5, 185.25, True)
    assert applied.point("menton").x == 300.0 and not applied.point("menton").missing
    assert applied.point("sella") == _detected().point("sella")
    assert store.apply(number, LandmarkResult(None, "cd" * 32, "xray-side", _detected().landmarks)).point("nasion").x == 400.0
    log = cases.audit_log(number)
    assert [e.action for e in log[-2:]] == ["landmark_corrected", "landmark_corrected"]
    assert log[-2].details_dict()["detected"] == [400.0, 180.0] and log[-2].actor == "Ana"
    assert cases.verify(number).ok
    store.reset(number, SHA, "xray-side", "nasion", actor="Bo")
    assert store.apply(number, _detected()).point("nasion").x == 400.0
    assert cases.audit_log(number)[-1].action == "landmark_reset"
    assert cases.verify(number).ok
    with pytest.raises(CaseError):
        store.reset(number, SHA, "xray-side", "nasion")


def test_a_correction_changed_outside_the_application_fails_verification(cases: CaseService) -> None:
    number = cases.create_case().case_number
    CaseLandmarks(cases).correct(number, SHA, "xray-side", "sella", 10.0, 20.0)
    seq = cases.audit_log(number)[-1].seq
    with sqlite3.connect(cases.workspace.db_path) as conn:
        conn.execute("UPDATE case_landmarks SET x = 11.0")
    result = cases.verify(number)
    assert not result.ok and result.first_broken_seq == seq and "sella" in result.reason
    with sqlite3.connect(cases.workspace.db_path) as conn:
        conn.execute("UPDATE case_landmarks SET x = 10.0")
        conn.execute("INSERT INTO case_landmarks VALUES (?, ?, 'xray-side', 'porion', 1, 2, NULL, NULL, 'now', 'x')", (number, SHA))
    result = cases.verify(number)
    assert not result.ok and "porion" in result.reason and "never logged" in result.reason


def test_unknown_cases_and_impossible_positions_are_refused(cases: CaseService) -> None:
    with pytest.raises(CaseError):
        CaseLandmarks(cases).correct("NOPE", SHA, "xray-side", "sella", 1.0, 2.0)
    number = cases.create_case().case_number
    with pytest.raises(CaseError):
        CaseLandmarks(cases).correct(number, SHA, "xray-side", "sella", float("nan"), 2.0)
