"""The audit log of a case: an append-only, hash-chained list of everything done to it.

Every entry holds its position (``seq``, 1, 2, ...), the UTC time, who acted, what was done,
the details as canonical JSON, the hash of the entry before it (``prev_hash``; 64 zeros for
the first) and its own ``hash``: the SHA-256 of the canonical serialisation of all the other
fields (:func:`entry_hash`). Changing any stored field of an entry breaks its own hash;
deleting or reordering entries breaks the sequence and the ``prev_hash`` links; deleting the
last entries is caught because the case row keeps the head of the chain (last ``seq`` and
``hash``), written in the same transaction as each entry. Each entry also keeps a short digest
of each of its fields (``field_digests``, not part of the hash), so that a check can say which
field of an altered entry was changed.

What the chain proves and what it does not: it detects any change made to the database with
ordinary tools. Someone who recomputes every hash after an edit and also rewrites the head
is caught only by comparison with a copy of the head kept elsewhere; every exported report
prints the head hash for that purpose.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

#: ``prev_hash`` of the first entry of every chain
GENESIS_HASH = "0" * 64

#: schema steps of the audit table, applied with ``GalleryStore.ensure_schema("audit", ...)``
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE audit_log (case_number TEXT NOT NULL, seq INTEGER NOT NULL CHECK (seq > 0),
            timestamp TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, details TEXT NOT NULL,
            prev_hash TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (case_number, seq))""",
    ),
    # per-field digests, to name the field of an altered entry (NULL in entries written before)
    ("ALTER TABLE audit_log ADD COLUMN field_digests TEXT",),
)

#: the hashed fields of an entry, in hashing order
HASHED_FIELDS = ("case_number", "seq", "timestamp", "actor", "action", "details", "prev_hash")


@dataclass(frozen=True)
class AuditEntry:
    """One logged action. ``details`` is the canonical JSON text exactly as stored and hashed."""

    case_number: str
    seq: int
    timestamp: str  # ISO 8601, UTC, microseconds
    actor: str
    action: str
    details: str
    prev_hash: str
    hash: str
    field_digests: str | None = None  # canonical JSON {field: 16 hex digits}; None in entries written before

    def details_dict(self) -> dict[str, Any]:
        """The details parsed back (an empty dict when the stored text is not a JSON object)."""
        try:
            value = json.loads(self.details)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a check: ``ok``, or the first broken ``seq``, the ``field`` found changed
    (``table.column``, e.g. ``case_marks.actor``; empty when it cannot be told) and why.
    ``caveat`` says what the check could not cover (e.g. fields sealed by an upgrade)."""

    ok: bool
    entries: int
    first_broken_seq: int | None = None
    reason: str = ""
    head_hash: str = GENESIS_HASH
    field: str = ""
    caveat: str = ""


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text kept (not \\u-escaped)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False)


def entry_hash(case_number: str, seq: int, timestamp: str, actor: str, action: str, details: str, prev_hash: str) -> str:
    """Hex SHA-256 of the canonical JSON array of an entry's fields (``details`` as stored text)."""
    payload = canonical_json([case_number, int(seq), timestamp, actor, action, details, prev_hash])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def digest_fields(case_number: str, seq: int, timestamp: str, actor: str, action: str, details: str, prev_hash: str) -> str:
    """Canonical JSON of ``{field: first 16 hex digits of the SHA-256 of its canonical JSON}``."""
    values = (case_number, int(seq), timestamp, actor, action, details, prev_hash)
    return canonical_json({name: hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:16] for name, value in zip(HASHED_FIELDS, values)})


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def append(
    conn: sqlite3.Connection, case_number: str, *, actor: str, action: str, details: Mapping[str, Any] | None = None,
    head: tuple[int, str] | None = None, timestamp: str | None = None,
) -> AuditEntry:
    """Append one entry to a case's chain; call inside the transaction that makes the change.

    ``head`` is the case's recorded (last seq, last hash); by default it is read from the log.
    ``timestamp`` (ISO 8601 UTC) defaults to now. Returns the new entry; the caller stores the
    new head with the case.
    """
    if head is None:
        row = conn.execute(
            "SELECT seq, hash FROM audit_log WHERE case_number = ? ORDER BY seq DESC LIMIT 1", (case_number,)
        ).fetchone()
        head = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
    seq, prev_hash = head[0] + 1, head[1]
    text = canonical_json(dict(details or {}))
    timestamp = timestamp or now_utc()
    digest = entry_hash(case_number, seq, timestamp, actor, action, text, prev_hash)
    fields = digest_fields(case_number, seq, timestamp, actor, action, text, prev_hash)
    conn.execute(
        "INSERT INTO audit_log (case_number, seq, timestamp, actor, action, details, prev_hash, hash, field_digests) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (case_number, seq, timestamp, actor, action, text, prev_hash, digest, fields),
    )
    return AuditEntry(case_number, seq, timestamp, actor, action, text, prev_hash, digest, fields)


def read_entries(conn: sqlite3.Connection, case_number: str) -> list[AuditEntry]:
    """A case's entries in stored ``seq`` order."""
    rows = conn.execute(
        "SELECT case_number, seq, timestamp, actor, action, details, prev_hash, hash, field_digests FROM audit_log "
        "WHERE case_number = ? ORDER BY seq, rowid",
        (case_number,),
    ).fetchall()
    return [AuditEntry(*(tuple(row))) for row in rows]


def verify_chain(entries: Sequence[AuditEntry], head: tuple[int, str] | None = None, *, require_field_digests: bool = False) -> VerifyResult:
    """Recompute the chain of ``entries`` (in stored order) and name the first broken entry.

    ``head`` is the (last seq, last hash) the case recorded; a chain that ends before it lost
    its last entries. The first failure found walking from entry 1 is reported: a missing or
    repeated position, an entry whose fields no longer give its hash (the field named from its
    field digests), or a ``prev_hash`` that does not match the entry before.
    ``require_field_digests``: every entry must carry its field digests (chains written or
    upgraded by this version); a missing one is then a change of ``audit_log.field_digests``.
    """
    altered = {}
    for entry in entries:
        problem = _altered(entry, entries, require_field_digests)
        if problem is not None and (head is None or problem[0] <= head[0]):  # beyond the head: added (reported below)
            altered.setdefault(problem[0], problem[1:])
    prev_hash = GENESIS_HASH
    for position, entry in enumerate(entries, start=1):
        if position in altered:
            seq, reason, field = altered[position]
            return VerifyResult(False, len(entries), seq, reason, prev_hash, field)
        if entry.seq != position:
            if entry.seq > position:
                missing = position if entry.seq == position + 1 else f"{position} to {entry.seq - 1}"
                reason = f"entry {missing} is missing (the log jumps from {position - 1} to {entry.seq})"
            else:
                reason = f"entry {entry.seq} appears again or out of order at position {position}"
            return VerifyResult(False, len(entries), position, reason, prev_hash, "audit_log.seq")
        if entry.prev_hash != prev_hash:
            return VerifyResult(
                False, len(entries), entry.seq,
                f"entry {entry.seq} ({entry.action}) does not follow entry {entry.seq - 1}: the link to the previous hash is broken", prev_hash,
                "audit_log.prev_hash",
            )
        prev_hash = entry.hash
    if altered:  # an altered entry whose position lies beyond the chain
        seq, reason, field = altered[min(altered)]
        return VerifyResult(False, len(entries), seq, reason, prev_hash, field)
    return _check_head(entries, head, prev_hash)


def _altered(entry: AuditEntry, entries: Sequence[AuditEntry], require_field_digests: bool) -> tuple[int, int, str, str] | None:
    """``(position, seq, reason, field)`` when an entry's own fields no longer agree with its
    hash or its field digests, else None. ``position`` is where the entry belongs: after the
    entry its ``prev_hash`` names (which differs from ``seq`` when ``seq`` itself was changed)."""
    values = (entry.case_number, entry.seq, entry.timestamp, entry.actor, entry.action, entry.details, entry.prev_hash)
    hash_ok = entry_hash(*values) == entry.hash
    if entry.field_digests is None:
        if require_field_digests:
            return entry.seq, entry.seq, f"entry {entry.seq} ({entry.action}) lost its field digests", "audit_log.field_digests"
        if hash_ok:
            return None
        return entry.seq, entry.seq, f"entry {entry.seq} ({entry.action}) was altered: its content no longer gives its hash", "audit_log"
    try:
        recorded = json.loads(entry.field_digests)
        recomputed = json.loads(digest_fields(*values))
        changed = [name for name in HASHED_FIELDS if recorded.get(name) != recomputed[name]]
    except (ValueError, TypeError, AttributeError):
        recorded, changed = None, []
    if hash_ok and recorded is not None and not changed:
        return None
    position = entry.seq
    if "seq" in changed:  # where it belongs: after the entry its prev_hash names
        position = next((e.seq + 1 for e in entries if e.hash == entry.prev_hash), 1 if entry.prev_hash == GENESIS_HASH else entry.seq)
    if hash_ok:
        return position, entry.seq, f"entry {entry.seq} ({entry.action}): its field digests were changed", "audit_log.field_digests"
    if changed:
        names = " and ".join(changed)
        if position != entry.seq:  # named by where it belongs
            return position, position, f"entry {position} ({entry.action}), stored as entry {entry.seq}, was altered: its {names} changed", f"audit_log.{changed[0]}"
        return position, entry.seq, f"entry {entry.seq} ({entry.action}) was altered: its {names} changed", f"audit_log.{changed[0]}"
    if recorded is None:
        return position, entry.seq, f"entry {entry.seq} ({entry.action}) was altered and its field digests are unreadable", "audit_log.field_digests"
    return position, entry.seq, f"entry {entry.seq} ({entry.action}): its hash was changed (its fields are as written)", "audit_log.hash"


def _check_head(entries: Sequence[AuditEntry], head: tuple[int, str] | None, prev_hash: str) -> VerifyResult:
    """The intact chain against the head the case recorded (its ``audit_seq`` and ``audit_head``)."""
    if head is not None:
        last_seq, last_hash = head
        intact_end = prev_hash == last_hash  # the entries end where the case says they do: the count was changed
        if last_seq > len(entries):
            first = len(entries) + 1
            if intact_end:
                return VerifyResult(False, len(entries), first, f"the case records {last_seq} entries but its last entry is {len(entries)}", prev_hash, "cases.audit_seq")
            return VerifyResult(False, len(entries), first, f"entry {first} and later are missing (the case records {last_seq} entries)", prev_hash, "audit_log")
        if last_seq < len(entries):
            first = last_seq + 1
            if intact_end:
                return VerifyResult(False, len(entries), first, f"the case records {last_seq} entries but its last entry is {len(entries)}", prev_hash, "cases.audit_seq")
            return VerifyResult(False, len(entries), first, f"entry {first} was added outside the application (the case records {last_seq} entries)", prev_hash, "audit_log")
        if last_hash != prev_hash:
            return VerifyResult(False, len(entries), last_seq, f"the hash of entry {last_seq} does not match the one the case recorded", prev_hash, "cases.audit_head")
    return VerifyResult(True, len(entries), None, "", prev_hash)


def short_hash(value: str, length: int = 12) -> str:
    """The first ``length`` hex digits, for display."""
    return value[:length]
