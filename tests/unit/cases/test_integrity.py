"""Every stored column of every case table is sealed by the audit chain: an edit of any one of
them, made directly in SQLite, makes ``verify`` fail and name the table and column; rows added,
deleted or moved to another case are named too; a case that does not verify cannot be changed.
The columns are read from the database itself (``PRAGMA table_info``), so a column added later
is tested without anyone adding it here."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from crossid_desktop.cases import CaseService
from crossid_desktop.cli import main
from crossid_desktop.errors import CaseError
from crossid_desktop.search.service import Candidate, QueryInfo, SearchResult
from crossid_desktop.workspace import Workspace

TABLES = ("cases", "case_searches", "case_marks", "audit_log")


def make_result(subjects: tuple[str, ...] = ("S1", "S2", "S3")) -> SearchResult:
    candidates = tuple(Candidate(r, s, f"name {s}", r, f"/gallery/{s}.png", 0.1 * r, 0.9) for r, s in enumerate(subjects, start=1))
    query = QueryInfo("/queries/unknown.png", "ab" * 32, "injured_face", {"format": "PNG", "width": 10, "height": 10, "bit_depth": 8, "dicom": {}})
    return SearchResult((query,), "matcher-x", "f" * 64, 3, 6, "d" * 64, "subject", candidates, {"query": {"aligned_size": 256}})


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A workspace with case A (search, marks with notes, notes, known identity, an export)
    and case B (created only)."""
    root = tmp_path_factory.mktemp("integrity") / "ws"
    service = CaseService(Workspace.open(root))
    a = service.create_case(case_number="CASE-A", title="Unknown", examiner="Ana", agency="DVI").case_number
    service.record_search(a, make_result(), actor="Ana", environment={"python": "3"}, matcher_card={"name": "matcher-x"})
    service.mark(a, "S2", "of_interest", "same ear", actor="Ana")
    service.set_notes(a, "first look " * 40, actor="Ana")  # long enough to be sealed by its digest
    service.set_known_identity(a, "S2", name="Jane Roe", note="DNA", actor="Bo")
    service.record_export(a, path="/reports/a.pdf", sha256="c" * 64, pages=4, actor="Bo")
    b = service.create_case(case_number="CASE-B", title="Other").case_number
    assert service.verify(a).ok and service.verify(b).ok
    return root, a, b


def _copy(template: tuple[Path, str, str], tmp_path: Path) -> tuple[CaseService, sqlite3.Connection]:
    root = tmp_path / "ws"
    shutil.copytree(template[0], root)
    workspace = Workspace.open(root)
    return CaseService(workspace), sqlite3.connect(workspace.db_path)


def _schema(db: sqlite3.Connection, table: str) -> list[tuple]:
    return db.execute(f"PRAGMA table_info({table})").fetchall()


_WHERE = {"cases": "case_number = 'CASE-A'", "case_searches": "case_number = 'CASE-A'", "case_marks": "case_number = 'CASE-A' AND subject_id = 'S2'",
          "audit_log": "case_number = 'CASE-A' AND seq = 3"}


def _edit(db: sqlite3.Connection, table: str, column: str) -> str:
    """Change one column of one row to a different value of its kind; returns the case to verify."""
    value = db.execute(f"SELECT {column} FROM {table} WHERE {_WHERE[table]}").fetchone()[0]
    verify = "CASE-A"
    if column == "case_number":
        new: object = "CASE-RENAMED" if table == "cases" else "CASE-B"
        if table == "cases":
            verify = "CASE-RENAMED"
    elif isinstance(value, int):
        new = value + 100
    elif value is None:
        new = "x"
    else:
        new = value[:-1] + ("y" if value[-1:] != "y" else "z")
    db.execute(f"UPDATE {table} SET {column} = ? WHERE {_WHERE[table]}", (new,))
    db.commit()
    return verify


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "table_column" in metafunc.fixturenames:
        # the columns are read from a freshly made workspace: every column there is, now and later
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            service = CaseService(Workspace.open(Path(folder) / "ws"))
            service.list()  # makes the case tables
            db = sqlite3.connect(service.workspace.db_path)
            params = [(table, row[1]) for table in TABLES for row in _schema(db, table)]
            db.close()
        metafunc.parametrize("table_column", params, ids=[f"{t}.{c}" for t, c in params])


def test_every_column_of_every_case_table_is_sealed(template: tuple[Path, str, str], tmp_path: Path, table_column: tuple[str, str]) -> None:
    table, column = table_column
    service, db = _copy(template, tmp_path)
    verify = _edit(db, table, column)
    result = service.verify(verify)
    assert not result.ok, f"editing {table}.{column} was not detected"
    assert result.field == f"{table}.{column}", result
    assert result.first_broken_seq is not None and result.reason and "\n" not in result.reason


def test_cli_verify_names_the_entry_and_the_field(template: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    service, db = _copy(template, tmp_path)
    db.execute("UPDATE case_searches SET actor = 'Mallory' WHERE case_number = 'CASE-A'")
    db.commit()
    assert main(["--workspace", str(service.workspace.root), "case", "verify", "CASE-A"]) != 0
    err = capsys.readouterr().err
    assert "broken at entry 2" in err and "case_searches.actor" in err


@pytest.mark.parametrize(
    ("tamper", "field", "seq"),
    [
        ("DELETE FROM case_marks WHERE subject_id = 'S2'", "case_marks", 3),
        ("DELETE FROM case_searches", "case_searches", 2),
        ("INSERT INTO case_marks VALUES ('CASE-A', 'S3', 'excluded', '', '2026-01-01T00:00:00+00:00', 'Mallory')", "case_marks", 6),
        ("UPDATE case_marks SET updated = '2020-01-01T00:00:00+00:00', actor = 'Mallory' WHERE subject_id = 'S2'", "case_marks.actor", 3),
        ("UPDATE cases SET created = '2020-01-01T00:00:00+00:00' WHERE case_number = 'CASE-A'", "cases.created", 1),
    ],
)
def test_rows_added_deleted_or_forged_are_named(template: tuple[Path, str, str], tmp_path: Path, tamper: str, field: str, seq: int) -> None:
    service, db = _copy(template, tmp_path)
    db.executescript(tamper)
    db.commit()
    result = service.verify("CASE-A")
    assert not result.ok and result.field == field and result.first_broken_seq == seq, result


def test_a_case_that_does_not_verify_cannot_be_changed(template: tuple[Path, str, str], tmp_path: Path) -> None:
    service, db = _copy(template, tmp_path)
    db.execute("UPDATE cases SET created = '2020-01-01T00:00:00+00:00' WHERE case_number = 'CASE-A'")
    db.commit()
    entries = len(service.audit_log("CASE-A"))
    with pytest.raises(CaseError, match="does not verify"):
        service.set_notes("CASE-A", "new notes", actor="Ana")  # would otherwise seal the forged creation time
    with pytest.raises(CaseError, match="does not verify"):
        service.mark("CASE-A", "S1", "excluded", actor="Ana")
    assert len(service.audit_log("CASE-A")) == entries
    assert service.verify("CASE-B").ok  # the other case is untouched


def test_the_stored_who_and_when_are_the_entry_s(template: tuple[Path, str, str], tmp_path: Path) -> None:
    """One time and one actor per change: the row and its entry agree exactly."""
    service, _ = _copy(template, tmp_path)
    case = service.get("CASE-A")
    entries = {e.action: e for e in service.audit_log("CASE-A")}
    search = case.searches[0]
    assert (search.performed, search.actor) == (entries["search_recorded"].timestamp, entries["search_recorded"].actor)
    mark = case.marks["S2"]
    assert (mark.updated, mark.actor) == (entries["candidate_marked"].timestamp, entries["candidate_marked"].actor)
    assert case.created == entries["case_created"].timestamp and case.updated == service.audit_log("CASE-A")[-1].timestamp
    assert case.known_identity.recorded == entries["known_identity_set"].timestamp


def test_case_show_warns_first_and_a_damaged_value_is_one_sentence(template: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    service, db = _copy(template, tmp_path)
    ws = ["--workspace", str(service.workspace.root)]
    assert main([*ws, "case", "show", "CASE-A"]) == 0
    shown = capsys.readouterr()
    assert "WARNING" not in shown.err and "every stored field checked" in shown.out
    db.execute("UPDATE case_marks SET actor = 'Mallory' WHERE subject_id = 'S2'")
    db.commit()
    assert main([*ws, "case", "show", "CASE-A"]) == 0
    shown = capsys.readouterr()
    assert shown.err.startswith("WARNING: the audit log of case CASE-A does not verify") and "case_marks.actor" in shown.err
    db.execute("UPDATE case_searches SET result = '{not json' WHERE case_number = 'CASE-A'")
    db.commit()
    assert main([*ws, "case", "show", "CASE-A"]) != 0  # unreadable: one sentence, no traceback
    err = capsys.readouterr().err
    assert "cannot be read" in err and "Traceback" not in err


def test_a_wiped_log_with_its_head_reset_does_not_verify(template: tuple[Path, str, str], tmp_path: Path) -> None:
    """A blank case (no title, no search) whose whole log is deleted and head reset to the start
    would otherwise look like a case with nothing to check."""
    service, db = _copy(template, tmp_path)
    service.create_case(case_number="BLANK")
    db.executescript("DELETE FROM audit_log WHERE case_number = 'BLANK'; "
                     f"UPDATE cases SET audit_seq = 0, audit_head = '{'0' * 64}' WHERE case_number = 'BLANK'")
    result = service.verify("BLANK")
    assert not result.ok and result.first_broken_seq == 1 and result.field == "audit_log", result
