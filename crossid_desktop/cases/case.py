"""Cases: an examiner's file on one unknown person, kept in the workspace database.

A case records who works on it, every search made for it (exactly as returned), the
examiner's marks and notes on candidates, general notes and, once known, the identity. Every
change and every result (searches, exported reports) is appended to the case's hash-chained
audit log (:mod:`crossid_desktop.cases.audit`) in the same transaction as the change, so the
stored case and its log cannot drift apart; each entry seals every column of the rows it wrote
(:mod:`crossid_desktop.cases.integrity`). :meth:`CaseService.verify` recomputes the chain and
compares every stored field with what it sealed. A case that does not verify is not changed.

Cases are never deleted by the application: they are evidence.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crossid_desktop.about import collect_info
from crossid_desktop.cases import audit, integrity, landmark_log, legacy
from crossid_desktop.cases.marks import Mark
from crossid_desktop.cases.records import (
    CandidateMark,
    Case,
    CaseSummary,
    KnownIdentity,
    RecordedSearch,
    card_summary,
    result_from_json,
    result_to_json,
)
from crossid_desktop.errors import CaseError
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.imaging.spacing import PixelSpacing
from crossid_desktop.search.service import SearchResult
from crossid_desktop.workspace import Workspace

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE cases (case_number TEXT PRIMARY KEY NOT NULL, title TEXT NOT NULL DEFAULT '',
            examiner TEXT NOT NULL DEFAULT '', agency TEXT NOT NULL DEFAULT '', created TEXT NOT NULL, updated TEXT NOT NULL,
            notes TEXT NOT NULL DEFAULT '', known_identity TEXT, audit_seq INTEGER NOT NULL DEFAULT 0, audit_head TEXT NOT NULL)""",
        """CREATE TABLE case_searches (search_id INTEGER PRIMARY KEY AUTOINCREMENT,
            case_number TEXT NOT NULL REFERENCES cases(case_number), performed TEXT NOT NULL, actor TEXT NOT NULL,
            result TEXT NOT NULL, matcher_card TEXT NOT NULL, environment TEXT NOT NULL)""",
        "CREATE INDEX case_searches_by_case ON case_searches(case_number, search_id)",
        """CREATE TABLE case_marks (case_number TEXT NOT NULL REFERENCES cases(case_number), subject_id TEXT NOT NULL,
            mark TEXT NOT NULL, note TEXT NOT NULL, updated TEXT NOT NULL, actor TEXT NOT NULL,
            PRIMARY KEY (case_number, subject_id))""",
    ),
    legacy.upgrade_chains,  # version-1 chains: seal every row of each intact case
)

#: case numbers: letters, digits and . _ / -, starting with a letter or digit, at most 64
CASE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
GENERATED_PREFIX = "CID"
MAX_TEXT = 100_000  # characters of a note
MAX_FIELD = 500  # characters of a title, name, examiner or agency


def default_actor() -> str:
    """The operating-system user, used when no examiner name is given."""

    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError, ImportError):
        return "unknown"


def _mark(value: Mark | str) -> Mark:
    """A mark given by the examiner or read from the database; :class:`CaseError` for any other value."""
    try:
        return Mark(value)
    except ValueError:
        raise CaseError(f"The mark {value!r} is not one of {', '.join(m.value for m in Mark)}.") from None


def _text(value: str | None, what: str, limit: int = MAX_FIELD) -> str:
    text = "" if value is None else str(value)
    if len(text) > limit:
        raise CaseError(f"The {what} is {len(text)} characters long; at most {limit} are allowed.")
    if "\x00" in text:
        raise CaseError(f"The {what} contains a NUL character, which cannot be stored.")
    return text


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CaseService:
    """Creates, reads and changes the cases of one workspace.

    Each call opens the workspace database and closes it again, unless a ``store`` is given
    (the GUI's worker passes the one it owns). Every change is one transaction together with
    its audit entry.
    """

    def __init__(self, workspace: Workspace, *, store: GalleryStore | None = None) -> None:
        self.workspace = workspace
        self._shared_store = store

    @contextmanager
    def _store(self) -> Iterator[GalleryStore]:
        store = self._shared_store or GalleryStore(self.workspace.db_path)
        try:
            store.ensure_schema("audit", audit.MIGRATIONS)
            store.ensure_schema("cases", MIGRATIONS)
            yield store
        finally:
            if store is not self._shared_store:
                store.close()

    @contextmanager
    def _change(self, case_number: str, *, actor: str | None, action: str) -> Iterator[_Change]:
        """A transaction on an existing case that verifies: yields a :class:`_Change` (which
        also unpacks as ``conn, details``); appends the audit entry with the details the caller
        filled in, sealing the case row and the rows the caller touched, and moves the case's
        head, all or nothing."""
        with self._store() as store, store.transaction() as conn:
            row = conn.execute("SELECT * FROM cases WHERE case_number = ?", (case_number,)).fetchone()
            if row is None:
                raise CaseError(f"There is no case {case_number!r} in the workspace {self.workspace.root}.")
            check = _verify(conn, case_number, row)
            if not check.ok:
                raise CaseError(f"The audit log of case {case_number} does not verify ({check.reason}); the case is kept as it is and cannot be changed.")
            change = _Change(conn, {}, audit.now_utc(), actor or default_actor())
            yield change
            integrity.append_sealed(conn, case_number, actor=change.actor, action=action, details=change.details, rows=change.rows,
                                    head=(int(row["audit_seq"]), str(row["audit_head"])), timestamp=change.timestamp)

    # ------------------------------------------------------------------ creating and reading

    def create_case(
        self, *, case_number: str | None = None, title: str = "", examiner: str = "", agency: str = "", actor: str | None = None
    ) -> Case:
        """Open a new case; without ``case_number`` one is generated (``CID-<year>-<nnnn>``)."""
        values = {"title": _text(title, "title"), "examiner": _text(examiner, "examiner name"), "agency": _text(agency, "agency")}
        actor = actor or examiner or default_actor()
        with self._store() as store, store.transaction() as conn:
            if case_number is None:
                case_number = _next_case_number(conn)
            elif not CASE_NUMBER.match(case_number):
                raise CaseError(
                    f"The case number {case_number!r} is not valid; use up to 64 letters, digits, '.', '_', '/' or '-', starting with a letter or digit."
                )
            elif conn.execute("SELECT 1 FROM cases WHERE case_number = ?", (case_number,)).fetchone():
                raise CaseError(f"The case {case_number} already exists.")
            now = audit.now_utc()
            conn.execute(
                "INSERT INTO cases (case_number, title, examiner, agency, created, updated, audit_seq, audit_head) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
                (case_number, values["title"], values["examiner"], values["agency"], now, now, audit.GENESIS_HASH),
            )
            integrity.append_sealed(conn, case_number, actor=actor, action="case_created", details=values, rows=(), head=(0, audit.GENESIS_HASH), timestamp=now)
        return self.get(case_number)

    def exists(self, case_number: str) -> bool:
        with self._store() as store:
            return store.connection.execute("SELECT 1 FROM cases WHERE case_number = ?", (case_number,)).fetchone() is not None

    def get(self, case_number: str) -> Case:
        """The case with its searches and marks; :class:`CaseError` when there is none, or when
        a stored value cannot be read (changed outside the application: ``verify`` names it)."""
        with self._store() as store:
            conn = store.connection
            row = conn.execute("SELECT * FROM cases WHERE case_number = ?", (case_number,)).fetchone()
            if row is None:
                raise CaseError(f"There is no case {case_number!r} in the workspace {self.workspace.root}.")
            searches = conn.execute("SELECT * FROM case_searches WHERE case_number = ? ORDER BY search_id", (case_number,)).fetchall()
            marks = conn.execute("SELECT * FROM case_marks WHERE case_number = ? ORDER BY subject_id", (case_number,)).fetchall()
        try:
            recorded = tuple(
                RecordedSearch(r["search_id"], r["performed"], r["actor"], result_from_json(r["result"]), json.loads(r["matcher_card"]), json.loads(r["environment"]))
                for r in searches
            )
            known = json.loads(row["known_identity"]) if row["known_identity"] else None
            return Case(
                row["case_number"], row["title"], row["examiner"], row["agency"], row["created"], row["updated"], row["notes"],
                KnownIdentity(**known) if known else None, recorded,
                {r["subject_id"]: CandidateMark(r["subject_id"], _mark(r["mark"]), r["note"], r["updated"], r["actor"]) for r in marks},
                int(row["audit_seq"]), row["audit_head"],
            )
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise CaseError(f"The stored data of case {case_number} cannot be read ({type(error).__name__}); it was changed outside the application (crossid case verify {case_number} names where).") from error

    def list(self) -> list[CaseSummary]:
        """Every case, the most recently changed first."""
        with self._store() as store:
            rows = store.connection.execute(
                "SELECT c.case_number, c.title, c.examiner, c.created, c.updated, "
                "(SELECT COUNT(*) FROM case_searches s WHERE s.case_number = c.case_number) AS n FROM cases c ORDER BY c.updated DESC, c.case_number"
            ).fetchall()
        return [CaseSummary(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in rows]

    def audit_log(self, case_number: str) -> list[audit.AuditEntry]:
        with self._store() as store:
            self._require(store, case_number)
            return audit.read_entries(store.connection, case_number)

    # ------------------------------------------------------------------ changes

    def update(self, case_number: str, *, title: str | None = None, examiner: str | None = None, agency: str | None = None, actor: str | None = None) -> Case:
        """Change the title, examiner or agency (the fields given)."""
        changes = {k: _text(v, k) for k, v in (("title", title), ("examiner", examiner), ("agency", agency)) if v is not None}
        if changes:
            with self._change(case_number, actor=actor, action="case_updated") as (conn, details):
                for key, value in changes.items():
                    conn.execute(f"UPDATE cases SET {key} = ? WHERE case_number = ?", (value, case_number))
                details.update(changes)
        return self.get(case_number)

    def record_search(
        self, case_number: str, result: SearchResult, *, actor: str | None = None,
        matcher_card: Mapping[str, Any] | None = None, environment: Mapping[str, Any] | None = None,
    ) -> RecordedSearch:
        """Keep a search result in the case. The matcher's model card is taken from the gallery
        unless given (a fused matcher's is not there: ``MatcherCache.card_of`` gives it); the
        environment (software versions, compute device) is collected now unless given. A relative
        query path is recorded as absolute so that the report can find the file later."""

        queries = tuple(replace(q, path=str(Path(q.path).absolute())) if q.path and not Path(q.path).is_absolute() else q for q in result.queries)
        result = replace(result, queries=queries)
        if environment is None:
            environment = collect_info(str(self.workspace.root))
        text = result_to_json(result)
        with self._store() as store:
            if matcher_card is None:
                matcher_card = next((m.card for m in store.matchers() if m.fingerprint == result.matcher_fingerprint), {})
        summary = card_summary(matcher_card)
        actor = actor or default_actor()
        with self._change(case_number, actor=actor, action="search_recorded") as change:
            conn, details, performed = change.conn, change.details, change.timestamp
            cursor = conn.execute(
                "INSERT INTO case_searches (case_number, performed, actor, result, matcher_card, environment) VALUES (?, ?, ?, ?, ?, ?)",
                (case_number, performed, actor, text, json.dumps(summary, ensure_ascii=False, default=str), json.dumps(dict(environment), ensure_ascii=False, default=str)),
            )
            search_id = int(cursor.lastrowid)
            change.touch("case_searches", search_id)
            details.update(
                search_id=search_id,
                result_sha256=_sha256(text),
                queries=[{"path": q.path, "sha256": q.sha256, "modality": q.modality} for q in result.queries],
                matcher={"name": result.matcher_name, "fingerprint": result.matcher_fingerprint},
                gallery={"subjects": result.gallery_subjects, "images": result.gallery_images, "digest": result.gallery_digest},
                candidates=[[c.subject_id, round(c.distance, 6)] for c in result.candidates],
            )
        return RecordedSearch(search_id, performed, actor, result, summary, dict(environment))

    def mark(self, case_number: str, subject_id: str, mark: Mark | str, note: str = "", *, actor: str | None = None) -> CandidateMark:
        """Mark a candidate of the case's searches as of interest or excluded (``Mark.NONE``
        clears the mark), with the examiner's note on that candidate; ``mark`` is a
        :class:`Mark` or its stored value."""
        mark = _mark(mark)
        note = _text(note, "note", MAX_TEXT)
        actor = actor or default_actor()
        with self._change(case_number, actor=actor, action="candidate_marked") as change:
            conn, details, now = change.conn, change.details, change.timestamp
            found = any(
                subject_id in {c.subject_id for c in result_from_json(r[0]).candidates}
                for r in conn.execute("SELECT result FROM case_searches WHERE case_number = ?", (case_number,))
            )
            if not found:
                raise CaseError(f"The subject {subject_id!r} is not among the candidates of case {case_number}.")
            conn.execute(
                "INSERT INTO case_marks (case_number, subject_id, mark, note, updated, actor) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(case_number, subject_id) DO UPDATE SET mark = excluded.mark, note = excluded.note, updated = excluded.updated, actor = excluded.actor",
                (case_number, subject_id, mark.value, note, now, actor),
            )
            change.touch("case_marks", subject_id)
            details.update(subject_id=subject_id, mark=mark.value, note=note)
        return CandidateMark(subject_id, mark, note, now, actor)

    def set_notes(self, case_number: str, notes: str, *, actor: str | None = None) -> None:
        """Replace the case's general notes."""
        notes = _text(notes, "notes", MAX_TEXT)
        with self._change(case_number, actor=actor, action="notes_set") as (conn, details):
            conn.execute("UPDATE cases SET notes = ? WHERE case_number = ?", (notes, case_number))
            details["notes"] = notes

    def set_known_identity(self, case_number: str, subject_id: str | None, *, name: str = "", note: str = "", actor: str | None = None) -> None:
        """Record the established identity (a gallery subject and/or a name, and how it was
        established); ``subject_id=None`` with no name clears it."""
        subject_id = _text(subject_id, "subject id") or None
        name, note = _text(name, "name"), _text(note, "note", MAX_TEXT)
        with self._change(case_number, actor=actor, action="known_identity_set") as change:
            conn, details = change
            value = None if subject_id is None and not name else {"subject_id": subject_id, "name": name, "note": note, "recorded": change.timestamp}
            conn.execute("UPDATE cases SET known_identity = ? WHERE case_number = ?", (json.dumps(value, ensure_ascii=False) if value else None, case_number))
            details.update(value or {"cleared": True})

    def record_export(
        self, case_number: str, *, path: str, sha256: str, pages: int, patient_identifiers: bool = False, actor: str | None = None,
        record_sha256: str = "", signatures: tuple[str, ...] = (), action: str = "report_exported",
    ) -> audit.AuditEntry:
        """Log an exported report (its path, SHA-256, page count, whether it prints the
        patient's identifiers, the SHA-256 of the case record it carries and who signed it);
        ``action="report_signed"`` logs a signature added to a report exported before."""
        if action not in ("report_exported", "report_signed"):
            raise ValueError(f"action must be report_exported or report_signed, not {action!r}")
        with self._change(case_number, actor=actor, action=action) as (conn, details):
            details.update(path=path, sha256=sha256, pages=pages, patient_identifiers=bool(patient_identifiers))
            details.update({"record_sha256": record_sha256} if record_sha256 else {}, **({"signatures": list(signatures)} if signatures else {}))
        return self.audit_log(case_number)[-1]

    def record_calibration(
        self, case_number: str, *, query_sha256: str, points: tuple[tuple[float, float], tuple[float, float]], known_mm: float,
        spacing: PixelSpacing, actor: str | None = None,
    ) -> audit.AuditEntry:
        """Log the examiner's ruler calibration of a query image: the two points ``(x, y)``
        (pixels), the known distance between them (mm) and the spacing that follows."""
        with self._change(case_number, actor=actor, action="pixel_spacing_calibrated") as (conn, details):
            details.update(
                query_sha256=query_sha256, points=[[round(float(v), 2) for v in point] for point in points], known_mm=float(known_mm),
                mm_per_pixel=round(spacing.row_mm, 6), spacing=spacing.to_dict(),
            )
        return self.audit_log(case_number)[-1]

    def snapshot(self, case_number: str) -> tuple[audit.VerifyResult, dict[str, list[dict[str, Any]]], list[audit.AuditEntry]]:
        """One consistent reading of a case, as a report embeds it: the check of its audit log,
        every stored row (``cases``, ``case_searches``, ``case_marks`` and, where the case has
        any, ``case_landmarks``: column -> value as stored) and the audit log's entries."""
        with self._store() as store, store.transaction() as conn:
            row = self._require(store, case_number)
            verification = _verify(conn, case_number, row)
            rows = {
                table: [dict(r) for r in conn.execute(f"SELECT * FROM {table} WHERE case_number = ? ORDER BY {key}", (case_number,))]
                for table, key in integrity.ROW_KEYS.items()
            }
            if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'case_landmarks'").fetchone():
                rows["case_landmarks"] = [dict(r) for r in conn.execute(landmark_log.SELECT_ROWS, (case_number,))]
            return verification, rows, audit.read_entries(conn, case_number)

    # ------------------------------------------------------------------ verification

    def verify(self, case_number: str) -> audit.VerifyResult:
        """Recompute the audit chain, then compare every stored field of the case, its searches
        and its marks with what the chain sealed; names the first broken entry and the field."""
        with self._store() as store:
            row = self._require(store, case_number)
            return _verify(store.connection, case_number, row)

    @staticmethod
    def _require(store: GalleryStore, case_number: str) -> sqlite3.Row:
        row = store.connection.execute("SELECT * FROM cases WHERE case_number = ?", (case_number,)).fetchone()
        if row is None:
            raise CaseError(f"There is no case {case_number!r} in the workspace.")
        return row


@dataclass(frozen=True)
class _Change:
    """One change to a case inside its transaction: the connection, the details the entry
    logs, the entry's time, who acts, and the rows (other than the case's own) it wrote."""

    conn: sqlite3.Connection
    details: dict[str, Any]
    timestamp: str
    actor: str
    rows: list[tuple[str, str]] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        """``conn, details = change``."""
        return iter((self.conn, self.details))

    def touch(self, table: str, key: object) -> None:
        """Seal this row (``case_searches`` by search id, ``case_marks`` by subject id) with the entry."""
        self.rows.append((table, str(key)))


def _verify(conn: sqlite3.Connection, case_number: str, row: sqlite3.Row) -> audit.VerifyResult:
    entries = audit.read_entries(conn, case_number)
    if not entries:  # every case has at least the entry that created it
        gone = audit.VerifyResult(False, 0, 1, "entry 1 and later are missing: the case has no audit log left", audit.GENESIS_HASH, "audit_log")
        return integrity.explain_missing(conn, case_number, row, entries, gone)
    result = integrity.verify_case(conn, case_number, row, entries) if integrity.is_sealed(entries) \
        else legacy.verify_version_1(conn, case_number, row, entries)
    landmarks = landmark_log.check_against_log(conn, case_number, entries) if result.ok else None
    if landmarks is not None:
        return audit.VerifyResult(False, len(entries), landmarks[0], landmarks[1], result.head_hash, "case_landmarks", result.caveat)
    return result


def _next_case_number(conn: sqlite3.Connection) -> str:
    year = datetime.now(timezone.utc).year
    prefix = f"{GENERATED_PREFIX}-{year}-"
    numbers = [0]
    for (number,) in conn.execute("SELECT case_number FROM cases WHERE substr(case_number, 1, ?) = ?", (len(prefix), prefix)):
        tail = number[len(prefix):]
        if tail.isdigit():
            numbers.append(int(tail))
    return f"{prefix}{max(numbers) + 1:04d}"
