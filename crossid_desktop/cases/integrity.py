"""Every stored field of a case, sealed by its audit log, and the check that finds what changed.

Each audit entry records, under ``details["rows"]``, the state after the change of every case
row it wrote (the case's own row always; the search or the mark it added or changed): all the
row's columns, short text as it is and longer text as its SHA-256 (:func:`column_record`).
:func:`verify_case` recomputes the hash chain (:mod:`crossid_desktop.cases.audit`), then
compares every column of every stored row of the case (``cases``, ``case_searches``,
``case_marks``) with the latest entry that sealed it, and names the first broken entry, the
table and the column. Columns of the chain's own bookkeeping (``cases.audit_seq``,
``cases.audit_head``) are checked against the chain itself.

Workspaces written before rows were sealed (chain version 1) are upgraded once, when this
version first opens them (:func:`upgrade_chains`): a case whose version-1 chain verifies gets
its who-and-when columns set to the values its chain holds (the actor and time of the entry
that made each row; a differing stored value is listed in the upgrade entry), its entries get
their field digests, and one ``chain_upgraded`` entry seals every row. Columns the version-1
chain did not hold at all (a search's matcher card and environment) are sealed as found, and
the check says so (:attr:`~crossid_desktop.cases.audit.VerifyResult.caveat`). A case whose
version-1 chain is already broken is left as it is: it keeps failing the check and cannot be
changed.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from crossid_desktop.cases import audit

#: audited tables: the column that names a row within its case
ROW_KEYS: Mapping[str, str] = {"cases": "case_number", "case_searches": "search_id", "case_marks": "subject_id"}
#: columns checked against the chain itself, never sealed in a row record
CHAIN_COLUMNS: Mapping[str, frozenset[str]] = {"cases": frozenset({"audit_seq", "audit_head"})}
#: text longer than this is sealed by its SHA-256
INLINE_TEXT = 200
ROWS_KEY = "rows"
UPGRADE_ACTION = "chain_upgraded"
SEALED_AS_FOUND = ("case_searches.matcher_card", "case_searches.environment")

Row = tuple[str, str]  # (table, key)


def column_record(value: Any) -> Any:
    """How a column value is sealed: numbers, NULL and short text as they are; longer text
    and bytes by their SHA-256 (``{"sha256": ...}``)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes_sha256": hashlib.sha256(bytes(value)).hexdigest()}
    if isinstance(value, str) and len(value) > INLINE_TEXT:
        return {"sha256": hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()}
    return value


def row_record(row: sqlite3.Row, table: str) -> dict[str, Any]:
    """Every column of a stored row as sealed (the chain's own columns left out)."""
    skip = CHAIN_COLUMNS.get(table, frozenset())
    return {name: column_record(row[name]) for name in row.keys() if name not in skip}  # noqa: SIM118 (sqlite3.Row)


def _select(table: str, by_key: bool) -> str:
    key = ROW_KEYS[table]
    where = "case_number = ?" if table == "cases" else ("case_number = ? AND " + key + " = ?" if by_key else "case_number = ?")
    return f"SELECT * FROM {table} WHERE {where}"


def seal_rows(conn: sqlite3.Connection, case_number: str, rows: Iterable[Row]) -> dict[str, dict[str, Any]]:
    """The ``details["rows"]`` of an entry: ``{table: {key: {column: record}}}`` for the case
    row and the ``rows`` given, read as they are now (inside the change's transaction)."""
    sealed: dict[str, dict[str, Any]] = {}
    for table, key in [("cases", case_number), *rows]:
        params = (case_number,) if table == "cases" else (case_number, key)
        row = conn.execute(_select(table, True), params).fetchone()
        if row is not None:
            sealed.setdefault(table, {})[str(key)] = row_record(row, table)
    return sealed


def stored_rows(conn: sqlite3.Connection, case_number: str) -> dict[Row, dict[str, Any]]:
    """Every stored row of a case, as sealed."""
    found: dict[Row, dict[str, Any]] = {}
    for table, key in ROW_KEYS.items():
        for row in conn.execute(_select(table, False), (case_number,)):
            found[(table, str(row[key]))] = row_record(row, table)
    return found


def sealed_rows(entries: Iterable[audit.AuditEntry]) -> dict[Row, tuple[dict[str, Any], int, dict[str, int]]]:
    """The state of every row the entries sealed: ``(record, seq of the latest entry, {column:
    seq of the entry that gave the column its present value})``."""
    state: dict[Row, tuple[dict[str, Any], int, dict[str, int]]] = {}
    for entry in entries:
        for table, rows in (entry.details_dict().get(ROWS_KEY) or {}).items():
            for key, record in rows.items():
                before, _, since = state.get((table, key), ({}, 0, {}))
                since = {column: (since[column] if column in before and before[column] == value else entry.seq) for column, value in record.items()}
                state[(table, key)] = (record, entry.seq, since)
    return state


def is_sealed(entries: Iterable[audit.AuditEntry]) -> bool:
    """Whether the chain seals rows (version 2: written or upgraded by this version)."""
    return any(ROWS_KEY in entry.details_dict() for entry in entries)


def verify_case(conn: sqlite3.Connection, case_number: str, case_row: sqlite3.Row, entries: list[audit.AuditEntry]) -> audit.VerifyResult:
    """Recompute a sealed case's chain (``entries``, as stored) and compare every stored
    field with what it sealed; version-1 chains are checked by
    :func:`crossid_desktop.cases.legacy.verify_version_1`."""
    chained = audit.verify_chain(entries, head=(int(case_row["audit_seq"]), case_row["audit_head"]), require_field_digests=True)
    caveat = _caveat(entries)
    if not chained.ok:
        return replace(explain_missing(conn, case_number, case_row, entries, chained), caveat=caveat)
    problems = compare_rows(conn, case_number, stored_rows(conn, case_number), sealed_rows(entries), len(entries), chained.head_hash)
    if problems:
        return replace(problems[0], caveat=caveat)
    return audit.VerifyResult(True, chained.entries, None, "", chained.head_hash, caveat=caveat)


def compare_rows(
    conn: sqlite3.Connection, case_number: str, stored: Mapping[Row, dict[str, Any]], sealed: Mapping[Row, tuple[dict[str, Any], int, dict[str, int]]],
    n_entries: int, head: str,
) -> list[audit.VerifyResult]:
    """Every difference between the stored rows and the sealed ones, the earliest entry first."""
    problems: list[audit.VerifyResult] = []

    def problem(seq: int, reason: str, field: str) -> None:
        problems.append(audit.VerifyResult(False, n_entries, seq, reason + " (changed outside the application)", head, field))

    missing = [row for row in sealed if row not in stored]
    for row in (row for row in stored if row not in sealed):
        table, key = row
        old = next((m for m in missing if m[0] == table and _same_but(stored[row], sealed[m][0], ROW_KEYS[table])), None)
        if old is not None:
            missing.remove(old)
            seq = sealed[old][1]
            problem(seq, f"the {_what(*old)} sealed by entry {seq} now has {ROW_KEYS[table]} {key!r}", f"{table}.{ROW_KEYS[table]}")
        else:
            problem(n_entries, f"the {_what(table, key)} is stored but no entry of the audit log made it", table)
    for row in (row for row in stored if row in sealed):
        record, (logged, seq, since) = stored[row], sealed[row]
        column = next((c for c in sorted(set(record) | set(logged)) if c not in logged or c not in record or record[c] != logged[c]), None)
        if column is not None:
            seq = since.get(column, seq)
            problem(seq, f"the {column} of the {_what(*row)} differs from what entry {seq} sealed", f"{row[0]}.{column}")
    for table, key in missing:
        record, seq, _ = sealed[(table, key)]
        elsewhere = _in_other_case(conn, table, key, case_number, record)
        if elsewhere:
            problem(seq, f"the {_what(table, key)} sealed by entry {seq} was moved to case {elsewhere!r}", f"{table}.case_number")
        else:
            problem(seq, f"the {_what(table, key)} sealed by entry {seq} is missing (deleted)", table)
    return sorted(problems, key=lambda p: p.first_broken_seq or 0)


def _what(table: str, key: str) -> str:
    return {"cases": "case row", "case_searches": f"search {key}", "case_marks": f"mark on {key}"}[table]


def _same_but(a: Mapping[str, Any], b: Mapping[str, Any], column: str) -> bool:
    """Whether two row records agree in every column but ``column``."""
    return {k: v for k, v in a.items() if k != column} == {k: v for k, v in b.items() if k != column}


def _in_other_case(conn: sqlite3.Connection, table: str, key: str, case_number: str, record: Mapping[str, Any]) -> str | None:
    """The case a sealed row now sits in, when only its ``case_number`` was changed."""
    if table == "cases":
        return None
    for row in conn.execute(f"SELECT * FROM {table} WHERE {ROW_KEYS[table]} = ? AND case_number != ?", (key, case_number)):
        if _same_but(row_record(row, table), record, "case_number"):
            return str(row["case_number"])
    return None


def explain_missing(conn: sqlite3.Connection, case_number: str, case_row: sqlite3.Row, entries: list[audit.AuditEntry], chained: audit.VerifyResult) -> audit.VerifyResult:
    """Missing entries found under another case number: the entry's (or the case's own)
    ``case_number`` was changed."""
    if "missing" not in chained.reason or chained.first_broken_seq is None:
        return chained
    if not entries:  # the whole log is elsewhere: the case row was renamed
        row = conn.execute("SELECT case_number FROM audit_log WHERE hash = ? AND case_number != ?", (case_row["audit_head"], case_number)).fetchone()
        if row is not None:
            return replace(chained, reason=f"the case's audit log is kept under the case number {row[0]!r}: the case number was changed outside the application", field="cases.case_number")
        return chained
    gap = chained.first_broken_seq
    after = next((e for e in entries if e.seq > gap), None)
    wanted = after.prev_hash if after is not None and after.seq == gap + 1 else (case_row["audit_head"] if after is None else None)
    if wanted is None:
        return chained
    row = conn.execute("SELECT case_number, seq FROM audit_log WHERE hash = ? AND case_number != ?", (wanted, case_number)).fetchone()
    if row is None:
        return chained
    return replace(chained, reason=f"entry {row[1]} is kept under case {row[0]!r}: its case_number was changed outside the application", field="audit_log.case_number")


def _caveat(entries: Iterable[audit.AuditEntry]) -> str:
    upgrade = next((e for e in entries if e.action == UPGRADE_ACTION), None)
    if upgrade is None:
        return ""
    sealed = upgrade.details_dict().get("sealed_as_found") or []
    if not sealed:
        return ""
    return (f"Entries 1 to {upgrade.seq - 1} were written by an earlier version whose chain did not hold {', '.join(sealed)}; "
            f"entry {upgrade.seq} ({upgrade.timestamp[:19].replace('T', ' ')} UTC) sealed them as found.")


def append_sealed(
    conn: sqlite3.Connection, case_number: str, *, actor: str, action: str, details: Mapping[str, Any], rows: Iterable[Row],
    head: tuple[int, str], timestamp: str | None = None,
) -> audit.AuditEntry:
    """Append an entry that seals the case row and ``rows`` as they are now, and move the
    case's head; call inside the change's transaction. The case's ``updated`` becomes the
    entry's time."""
    timestamp = timestamp or audit.now_utc()
    conn.execute("UPDATE cases SET updated = ? WHERE case_number = ?", (timestamp, case_number))
    sealed = {**details, ROWS_KEY: seal_rows(conn, case_number, rows)}
    entry = audit.append(conn, case_number, actor=actor, action=action, details=sealed, head=head, timestamp=timestamp)
    conn.execute("UPDATE cases SET audit_seq = ?, audit_head = ? WHERE case_number = ?", (entry.seq, entry.hash, case_number))
    return entry
