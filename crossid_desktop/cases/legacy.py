"""Cases written before every stored field was sealed (audit chain version 1): their check,
and their one-time upgrade (see :mod:`crossid_desktop.cases.integrity` for what it does and why).

A version-1 chain holds the case's title, examiner, agency, notes and known identity, each
search's result (its SHA-256) and each mark and note, but not who ran a search or set a mark
and when (only the entry's own actor and time), nor a search's matcher card and environment.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime
from typing import Any

from crossid_desktop import __version__
from crossid_desktop.cases import audit, integrity

#: who the upgrade entry names as its actor
UPGRADE_ACTOR = f"CrossID Desktop {__version__}"


def verify_version_1(conn: sqlite3.Connection, case_number: str, case_row: sqlite3.Row, entries: list[audit.AuditEntry]) -> audit.VerifyResult:
    """Recompute a version-1 chain, then compare the fields it holds with the stored case."""
    chained = audit.verify_chain(entries, head=(int(case_row["audit_seq"]), case_row["audit_head"]))
    if not chained.ok:
        return integrity.explain_missing(conn, case_number, case_row, entries, chained)
    results = {int(r[0]): r[1] for r in conn.execute("SELECT search_id, result FROM case_searches WHERE case_number = ?", (case_number,))}
    marks = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT subject_id, mark, note FROM case_marks WHERE case_number = ?", (case_number,))}
    return _replay(entries, case_row, results, marks, chained)


def _replay(entries: list[audit.AuditEntry], row: sqlite3.Row, results: dict[int, str], marks: dict[str, tuple[str, str]], chained: audit.VerifyResult) -> audit.VerifyResult:
    """Compare the stored case with the state the (intact) version-1 log describes."""
    last: dict[str, int] = {}
    state: dict[str, Any] = {"title": "", "examiner": "", "agency": "", "notes": "", "known_identity": None}
    logged_results: dict[int, tuple[str, int]] = {}
    logged_marks: dict[str, tuple[tuple[str, str], int]] = {}
    for entry in entries:
        d = entry.details_dict()
        if entry.action in ("case_created", "case_updated"):
            for key in ("title", "examiner", "agency"):
                if key in d:
                    state[key], last[key] = d[key], entry.seq
        elif entry.action == "notes_set":
            state["notes"], last["notes"] = d.get("notes", ""), entry.seq
        elif entry.action == "known_identity_set":
            state["known_identity"] = None if d.get("cleared") else (d.get("subject_id"), d.get("name"), d.get("note"))
            last["known_identity"] = entry.seq
        elif entry.action == "search_recorded":
            logged_results[int(d.get("search_id", -1))] = (d.get("result_sha256", ""), entry.seq)
        elif entry.action == "candidate_marked":
            logged_marks[d.get("subject_id", "")] = ((d.get("mark", ""), d.get("note", "")), entry.seq)
    n = len(entries)

    def broken(seq: int, reason: str, field: str) -> audit.VerifyResult:
        return audit.VerifyResult(False, n, seq, reason, chained.head_hash, field)

    known = json.loads(row["known_identity"]) if row["known_identity"] else None
    stored = {key: row[key] for key in ("title", "examiner", "agency", "notes")}
    stored["known_identity"] = (known.get("subject_id"), known.get("name"), known.get("note")) if known else None
    for key, value in stored.items():
        if value != state[key]:
            seq = last.get(key, 1)
            return broken(seq, f"the case's {key.replace('_', ' ')} differs from what entry {seq} recorded (changed outside the application)", f"cases.{key}")
    for search_id, text in sorted(results.items()):
        if search_id not in logged_results:
            return broken(n, f"search {search_id} is stored but was never logged", "case_searches")
        digest, seq = logged_results[search_id]
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
            return broken(seq, f"the stored result of search {search_id} differs from the one entry {seq} recorded", "case_searches.result")
    missing = sorted(set(logged_results) - set(results))
    if missing:
        seq = logged_results[missing[0]][1]
        return broken(seq, f"the result of search {missing[0]} logged by entry {seq} is missing", "case_searches")
    for subject, value in marks.items():
        logged = logged_marks.get(subject)
        if logged is None or logged[0] != value:
            field = "case_marks" if logged is None else ("case_marks.mark" if logged[0][0] != value[0] else "case_marks.note")
            return broken(logged[1] if logged else n, f"the mark on {subject} differs from what the audit log recorded", field)
    for subject in sorted(set(logged_marks) - set(marks)):
        seq = logged_marks[subject][1]
        return broken(seq, f"the mark on {subject} logged by entry {seq} is missing", "case_marks")
    return chained


# ---------------------------------------------------------------------------- the upgrade


def upgrade_chains(conn: sqlite3.Connection) -> None:
    """Schema step: seal every case whose version-1 chain verifies (run once, in the schema
    transaction); broken ones are left as they are."""
    for (case_number,) in conn.execute("SELECT case_number FROM cases ORDER BY case_number").fetchall():
        row = conn.execute("SELECT * FROM cases WHERE case_number = ?", (case_number,)).fetchone()
        entries = audit.read_entries(conn, case_number)
        if integrity.is_sealed(entries) or not verify_version_1(conn, case_number, row, entries).ok:
            continue
        upgrade_case(conn, case_number, entries)


def upgrade_case(conn: sqlite3.Connection, case_number: str, entries: list[audit.AuditEntry]) -> audit.AuditEntry:
    """Give an intact version-1 case's entries their field digests, set its who-and-when
    columns to the chain's values and seal every row with one ``chain_upgraded`` entry."""
    for e in entries:
        conn.execute("UPDATE audit_log SET field_digests = ? WHERE case_number = ? AND seq = ?",
                     (audit.digest_fields(e.case_number, e.seq, e.timestamp, e.actor, e.action, e.details, e.prev_hash), case_number, e.seq))
    replaced: list[dict[str, Any]] = []
    for table, key, column, value in _chain_values(entries):
        where = "case_number = ?" if table == "cases" else f"case_number = ? AND {integrity.ROW_KEYS[table]} = ?"
        params = (case_number,) if table == "cases" else (case_number, key)
        found = conn.execute(f"SELECT {column} FROM {table} WHERE {where}", params).fetchone()
        if found is None:
            continue
        if _differs(found[0], value):
            replaced.append({"field": f"{table}.{column}", "row": key, "stored": found[0], "chain": value})
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (value, *params))
    rows = [("case_searches", str(r[0])) for r in conn.execute("SELECT search_id FROM case_searches WHERE case_number = ?", (case_number,))]
    rows += [("case_marks", r[0]) for r in conn.execute("SELECT subject_id FROM case_marks WHERE case_number = ?", (case_number,))]
    details = {"from_version": 1, "to_version": 2, "replaced": replaced, "sealed_as_found": list(integrity.SEALED_AS_FOUND) if any(t == "case_searches" for t, _ in rows) else []}
    return integrity.append_sealed(conn, case_number, actor=UPGRADE_ACTOR, action=integrity.UPGRADE_ACTION, details=details, rows=rows,
                                   head=(entries[-1].seq, entries[-1].hash))


def _chain_values(entries: list[audit.AuditEntry]) -> list[tuple[str, str, str, Any]]:
    """``(table, key, column, value)``: what the version-1 chain says of the columns it did not
    check (creation time; who ran each search and when; who set each mark and when; the known
    identity as the entry that set it)."""
    values: dict[tuple[str, str, str], Any] = {("cases", "", "created"): entries[0].timestamp}
    for e in entries:
        d = e.details_dict()
        if e.action == "search_recorded" and "search_id" in d:
            values[("case_searches", str(d["search_id"]), "actor")] = e.actor
            values[("case_searches", str(d["search_id"]), "performed")] = e.timestamp
        elif e.action == "candidate_marked" and "subject_id" in d:
            values[("case_marks", d["subject_id"], "actor")] = e.actor
            values[("case_marks", d["subject_id"], "updated")] = e.timestamp
        elif e.action == "known_identity_set":
            known = None if d.get("cleared") else {k: d.get(k) for k in ("subject_id", "name", "note", "recorded")}
            values[("cases", "", "known_identity")] = json.dumps(known, ensure_ascii=False) if known else None
    return [(table, key, column, value) for (table, key, column), value in values.items()]


def _differs(stored: Any, chain: Any) -> bool:
    """A real difference: times more than a second apart (version 1 took the row's time a few
    microseconds before the entry's), any other value not equal."""
    if isinstance(stored, str) and isinstance(chain, str):
        try:
            return abs((datetime.fromisoformat(stored) - datetime.fromisoformat(chain)).total_seconds()) > 1.0
        except ValueError:
            pass
    if isinstance(stored, str) and isinstance(chain, str) and stored.startswith("{") and chain.startswith("{"):
        try:
            return json.loads(stored) != json.loads(chain)
        except ValueError:
            return True
    return stored != chain
