"""Workspaces written before every field was sealed (audit chain version 1): an intact case is
upgraded once when the workspace is opened (who-and-when columns set to the chain's values, a
forged one listed, every row sealed, a caveat for what the old chain never held); a case whose
old chain is already broken is left as it is, still fails, and cannot be changed.

The version-1 database is written here as the earlier version wrote it: its first schema step
for each table, entries hashed over the same fields, details without row records, no field
digests, the row's own time taken just before the entry's."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

import pytest

from crossid_desktop.cases import CaseService, audit
from crossid_desktop.cases import case as case_module
from crossid_desktop.cases.records import result_to_json
from crossid_desktop.errors import CaseError
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult
from crossid_desktop.workspace import Workspace


def _result() -> SearchResult:
    candidates = tuple(Candidate(r, s, f"name {s}", r, f"/g/{s}.png", 0.1 * r, 0.9) for r, s in enumerate(("S1", "S2"), start=1))
    query = QueryInfo("/q.png", "ab" * 32, "injured_face", {"format": "PNG", "width": 10, "height": 10, "bit_depth": 8, "dicom": {}})
    return SearchResult((query,), "m", "f" * 64, 2, 2, "d" * 64, "subject", candidates, {})


def _t(second: int, micro: int = 0) -> str:
    return f"2025-03-01T10:00:{second:02d}.{micro:06d}+00:00"


def write_version_1(db_path: Path, case_number: str, *, search_id: int, search_actor: str = "Ana") -> None:
    """One version-1 case: created, a search (row actor ``search_actor``), a mark, notes."""
    GalleryStore(db_path).close()  # the gallery's own tables
    db = sqlite3.connect(db_path)
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit_log'").fetchone():
        for statement in (*audit.MIGRATIONS[0], *case_module.MIGRATIONS[0]):
            db.execute(statement)
    db.execute("INSERT OR REPLACE INTO schema_components VALUES ('audit', 1), ('cases', 1)")
    text = result_to_json(_result())

    entries = [
        (_t(0, 10), "Ana", "case_created", {"title": "Old case", "examiner": "Ana", "agency": ""}),
        (_t(5, 10), "Ana", "search_recorded", {"search_id": search_id, "result_sha256": hashlib.sha256(text.encode()).hexdigest()}),
        (_t(9, 10), "Ana", "candidate_marked", {"subject_id": "S2", "mark": "of_interest", "note": "ears"}),
        (_t(12, 10), "Bo", "notes_set", {"notes": "old notes"}),
    ]
    prev = audit.GENESIS_HASH
    for seq, (when, actor, action, details) in enumerate(entries, start=1):
        body = audit.canonical_json(details)
        digest = audit.entry_hash(case_number, seq, when, actor, action, body, prev)
        db.execute("INSERT INTO audit_log (case_number, seq, timestamp, actor, action, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (case_number, seq, when, actor, action, body, prev, digest))
        prev = digest
    db.execute("INSERT INTO cases VALUES (?, 'Old case', 'Ana', '', ?, ?, 'old notes', NULL, 4, ?)", (case_number, _t(0), _t(12, 10), prev))
    db.execute("INSERT INTO case_searches (search_id, case_number, performed, actor, result, matcher_card, environment) VALUES (?, ?, ?, ?, ?, '{}', '{}')",
               (search_id, case_number, _t(5), search_actor, text))
    db.execute("INSERT INTO case_marks VALUES (?, 'S2', 'of_interest', 'ears', ?, 'Ana')", (case_number, _t(9)))
    db.commit()
    db.close()


@pytest.fixture
def old_workspace(tmp_path: Path) -> Workspace:
    workspace = Workspace.open(tmp_path / "ws")
    write_version_1(workspace.db_path, "OLD-1", search_id=1)
    write_version_1(workspace.db_path, "OLD-FORGED", search_id=2, search_actor="Mallory")  # a forgery the old check could not see
    write_version_1(workspace.db_path, "OLD-BROKEN", search_id=3)
    db = sqlite3.connect(workspace.db_path)
    db.execute("UPDATE cases SET notes = 'rewritten' WHERE case_number = 'OLD-BROKEN'")  # one the old check does see
    db.commit()
    return workspace


def test_an_intact_old_case_is_sealed_once_with_the_chain_s_values(old_workspace: Workspace) -> None:
    service = CaseService(old_workspace)
    result = service.verify("OLD-1")
    assert result.ok and result.entries == 5
    assert "matcher_card" in result.caveat and "entry 5" in result.caveat
    last = service.audit_log("OLD-1")[-1]
    assert last.action == "chain_upgraded" and last.actor.startswith("CrossID Desktop")
    details = last.details_dict()
    assert details["replaced"] == [] and set(details["rows"]) == {"cases", "case_searches", "case_marks"}
    case = service.get("OLD-1")
    assert case.searches[0].performed == _t(5, 10) and case.created == _t(0, 10)  # the entries' own times
    assert (case.marks["S2"].updated, case.marks["S2"].actor) == (_t(9, 10), "Ana")
    assert CaseService(old_workspace).verify("OLD-1").entries == 5  # opening again upgrades nothing more
    service.set_notes("OLD-1", "continued", actor="Ana")  # the case goes on as a sealed one
    assert service.verify("OLD-1").ok


def test_a_forged_actor_is_replaced_by_the_chain_s_and_listed(old_workspace: Workspace) -> None:
    service = CaseService(old_workspace)
    assert service.verify("OLD-FORGED").ok
    assert service.get("OLD-FORGED").searches[0].actor == "Ana"
    replaced = service.audit_log("OLD-FORGED")[-1].details_dict()["replaced"]
    assert replaced == [{"field": "case_searches.actor", "row": "2", "stored": "Mallory", "chain": "Ana"}]
    db = sqlite3.connect(old_workspace.db_path)  # and from now on an edit there is caught
    db.execute("UPDATE case_searches SET actor = 'Mallory' WHERE case_number = 'OLD-FORGED'")
    db.commit()
    assert service.verify("OLD-FORGED").field == "case_searches.actor"


def test_a_broken_old_case_stays_broken_and_read_only(old_workspace: Workspace) -> None:
    service = CaseService(old_workspace)
    result = service.verify("OLD-BROKEN")
    assert not result.ok and result.field == "cases.notes" and result.first_broken_seq == 4
    assert len(service.audit_log("OLD-BROKEN")) == 4  # not upgraded
    with pytest.raises(CaseError, match="does not verify"):
        service.set_notes("OLD-BROKEN", "x")
    assert json.loads(json.dumps(asdict(result)))["ok"] is False
