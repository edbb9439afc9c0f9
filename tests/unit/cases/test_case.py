"""Cases and their hash-chained audit log: creation, changes, and detection of tampering done
directly in the SQLite database (edited, deleted, reordered, appended entries; edited case
rows and stored results)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.audit import GENESIS_HASH
from crossid_desktop.cli import main
from crossid_desktop.errors import CaseError
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult
from crossid_desktop.workspace import Workspace


def make_result(subjects: tuple[str, ...] = ("S1", "S2", "S3")) -> SearchResult:
    candidates = tuple(Candidate(r, s, f"name {s}", r, f"/gallery/{s}.png", 0.1 * r, float(2.718281828 ** -((0.1 * r) ** 2))) for r, s in enumerate(subjects, start=1))
    query = QueryInfo("/queries/unknown.png", "ab" * 32, "injured_face", {"format": "PNG", "width": 10, "height": 10, "bit_depth": 8, "dicom": {}})
    return SearchResult((query,), "matcher-x", "f" * 64, 3, 6, "d" * 64, "subject", candidates, {"query": {"aligned_size": 256}})


@pytest.fixture
def service(tmp_path: Path) -> CaseService:
    return CaseService(Workspace.open(tmp_path / "ws"))


@pytest.fixture
def case_with_five_entries(service: CaseService) -> str:
    """Entries: 1 case_created, 2 search_recorded, 3 candidate_marked, 4 notes_set, 5 candidate_marked."""
    number = service.create_case(title="Unknown", examiner="Ana", agency="DVI team").case_number
    service.record_search(number, make_result(), actor="Ana", environment={"python": "3"})
    service.mark(number, "S2", "of_interest", "same ear shape", actor="Ana")
    service.set_notes(number, "first look", actor="Ana")
    service.mark(number, "S3", "excluded", "", actor="Bo")
    return number


def _db(service: CaseService) -> sqlite3.Connection:
    return sqlite3.connect(service.workspace.db_path)


def test_generated_numbers_count_up_and_user_numbers_are_checked(service: CaseService) -> None:
    first = service.create_case(title="a").case_number
    second = service.create_case(title="b").case_number
    assert first.startswith("CID-") and first.endswith("-0001") and second.endswith("-0002")
    assert service.create_case(case_number="2026/0042").case_number == "2026/0042"
    with pytest.raises(CaseError, match="already exists"):
        service.create_case(case_number="2026/0042")
    for bad in ("", " x", "a" * 65, "<b>", "../x\n"):
        with pytest.raises(CaseError):
            service.create_case(case_number=bad)
    assert {c.case_number for c in service.list()} == {first, second, "2026/0042"}
    with pytest.raises(CaseError, match="no case"):
        service.get("nope")


def test_case_keeps_search_marks_notes_and_identity(service: CaseService, case_with_five_entries: str) -> None:
    number = case_with_five_entries
    service.set_known_identity(number, "S2", name="Łukasz", note="DNA match", actor="Ana")
    case = service.get(number)
    assert (case.title, case.examiner, case.agency, case.notes) == ("Unknown", "Ana", "DVI team", "first look")
    assert case.latest_search.result == make_result()  # stored and read back unchanged
    assert case.of_interest() == ["S2"] and case.marks["S3"].mark == "excluded" and case.marks["S3"].actor == "Bo"
    assert case.known_identity.subject_id == "S2" and case.known_identity.note == "DNA match"
    with pytest.raises(CaseError, match="not among the candidates"):
        service.mark(number, "S9", "of_interest")
    with pytest.raises(CaseError, match="not one of"):
        service.mark(number, "S1", "maybe")
    assert [e.action for e in service.audit_log(number)] == [
        "case_created", "search_recorded", "candidate_marked", "notes_set", "candidate_marked", "known_identity_set"
    ]
    assert service.verify(number).ok


def test_chain_hashes_match_an_independent_computation(service: CaseService, case_with_five_entries: str) -> None:
    rows = _db(service).execute(
        "SELECT case_number, seq, timestamp, actor, action, details, prev_hash, hash FROM audit_log WHERE case_number = ? ORDER BY seq",
        (case_with_five_entries,),
    ).fetchall()
    previous = GENESIS_HASH
    for case_number, seq, timestamp, actor, action, details, prev_hash, digest in rows:
        fields = [case_number, seq, timestamp, actor, action, details, prev_hash]
        expected = hashlib.sha256(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()
        assert prev_hash == previous and digest == expected
        previous = digest
    details = json.loads(rows[2][5])
    sealed = details.pop("rows")
    assert details == {"subject_id": "S2", "mark": "of_interest", "note": "same ear shape"}
    db = _db(service)
    db.row_factory = sqlite3.Row
    mark_row = dict(db.execute("SELECT * FROM case_marks WHERE subject_id = 'S2'").fetchone())
    assert sealed["case_marks"] == {"S2": mark_row}  # every column of the row the entry wrote, as stored
    assert set(sealed["cases"][case_with_five_entries]) == {r[1] for r in db.execute("PRAGMA table_info(cases)")} - {"audit_seq", "audit_head"}
    result = service.verify(case_with_five_entries)
    assert result.ok and result.entries == 5 and result.head_hash == previous


@pytest.mark.parametrize(
    ("tamper", "broken"),
    [
        ("UPDATE audit_log SET details = '{\"mark\":\"excluded\",\"note\":\"same ear shape\",\"subject_id\":\"S2\"}' WHERE seq = 3", 3),
        ("UPDATE audit_log SET actor = 'Mallory' WHERE seq = 4", 4),
        ("DELETE FROM audit_log WHERE seq = 3", 3),
        ("DELETE FROM audit_log WHERE seq = 5", 5),  # the last entry: caught by the head the case keeps
        ("UPDATE audit_log SET seq = 99 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 99", 3),  # reordered
        ("UPDATE cases SET notes = 'rewritten'", 4),  # the case row against the entry that set it
        ("UPDATE case_marks SET mark = 'excluded' WHERE subject_id = 'S2'", 3),
        ("UPDATE case_searches SET result = replace(result, '\"S1\"', '\"S7\"')", 2),
    ],
)
def test_tampering_is_detected_at_the_right_entry(service: CaseService, case_with_five_entries: str, tamper: str, broken: int) -> None:
    db = _db(service)  # the workspace holds this one case only
    db.executescript(tamper)
    db.commit()
    result = service.verify(case_with_five_entries)
    assert not result.ok and result.first_broken_seq == broken, result
    assert result.reason


def test_appended_forged_entry_is_detected(service: CaseService, case_with_five_entries: str) -> None:
    db = _db(service)
    last = db.execute("SELECT hash FROM audit_log WHERE seq = 5").fetchone()[0]
    from crossid_desktop.cases.audit import entry_hash

    digest = entry_hash(case_with_five_entries, 6, "2026-01-01T00:00:00+00:00", "x", "notes_set", "{}", last)
    db.execute("INSERT INTO audit_log (case_number, seq, timestamp, actor, action, details, prev_hash, hash) VALUES (?, 6, '2026-01-01T00:00:00+00:00', 'x', 'notes_set', '{}', ?, ?)",
               (case_with_five_entries, last, digest))
    db.commit()
    result = service.verify(case_with_five_entries)
    assert not result.ok and result.first_broken_seq == 6 and "added outside" in result.reason


def test_cli_verify_exits_non_zero_naming_the_entry(service: CaseService, case_with_five_entries: str, capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workspace", str(service.workspace.root)]
    assert main([*ws, "case", "verify", case_with_five_entries]) == 0
    assert "intact (5 entries)" in capsys.readouterr().out
    assert main([*ws, "case", "list"]) == 0 and case_with_five_entries in capsys.readouterr().out
    assert main([*ws, "case", "show", case_with_five_entries, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["verification"]["ok"] and len(shown["audit_log"]) == 5
    db = _db(service)
    db.execute("UPDATE audit_log SET details = '{}' WHERE seq = 3")
    db.commit()
    assert main([*ws, "case", "verify", case_with_five_entries]) != 0
    assert "broken at entry 3" in capsys.readouterr().err


def test_a_fused_x_ray_search_is_recorded_with_its_own_model_card(service: CaseService) -> None:
    """The default X-ray matcher keeps no vectors of its own in the gallery, so its card is not
    there: the loaded matcher's card is recorded (what the report's method page reads), not an
    empty one."""
    from crossid_desktop.matching.selection import MatcherCache

    cache = MatcherCache()
    fused = cache.get("default-xray")
    assert cache.card_of("f" * 64) is None
    result = SearchResult((QueryInfo("/q.png", "0" * 64, "xray_front", {}),), fused.name, fused.fingerprint, 1, 1, "d" * 64, "subject",
                          (Candidate(1, "S1", "", 1, "/g/1.png", 0.5, 0.8, 4.0, "weak support"),), {})
    number = service.create_case(title="t").case_number
    unknown = service.record_search(number, result)  # the gallery knows no card of this fingerprint
    assert unknown.matcher_card == {}
    recorded = service.record_search(number, result, matcher_card=cache.card_of(fused.fingerprint))
    assert recorded.matcher_card["method"] == "craniofacial-fused" and recorded.matcher_card["metrics"]
    assert service.get(number).latest_search.matcher_card == recorded.matcher_card
