"""The table of landmark corrections and its check against a case's audit log.

Kept apart from :mod:`crossid_desktop.cases.landmarks` so that
:meth:`~crossid_desktop.cases.CaseService.verify` can replay the corrections without importing
the service that writes them.
"""

from __future__ import annotations

import sqlite3

from crossid_desktop.cases import audit

#: the corrections: one row per case, query image, view and landmark
TABLE = """CREATE TABLE IF NOT EXISTS case_landmarks (case_number TEXT NOT NULL REFERENCES cases(case_number),
    image_sha256 TEXT NOT NULL, view TEXT NOT NULL, name TEXT NOT NULL, x REAL NOT NULL, y REAL NOT NULL,
    detected_x REAL, detected_y REAL, updated TEXT NOT NULL, actor TEXT NOT NULL,
    PRIMARY KEY (case_number, image_sha256, view, name))"""


def ensure_table(conn: sqlite3.Connection) -> None:
    """Create the corrections table where it is missing (call inside the writing transaction)."""
    conn.execute(TABLE)


def check_against_log(conn: sqlite3.Connection, case_number: str, entries: list[audit.AuditEntry]) -> tuple[int, str] | None:
    """Replay the corrections the audit log describes and compare them with the stored ones:
    None when they agree, else ``(entry seq, reason)``. Reads only."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'case_landmarks'").fetchone()
    rows = [dict(r) for r in conn.execute(SELECT_ROWS, (case_number,))] if exists else []
    return compare_with_log(rows, entries)


#: a case's stored corrections, in a fixed order (a report's case record holds them so)
SELECT_ROWS = "SELECT * FROM case_landmarks WHERE case_number = ? ORDER BY image_sha256, view, name"


def logged_corrections(entries: list[audit.AuditEntry]) -> dict[tuple[str, str, str], tuple[tuple[float, float] | None, int]]:
    """The corrections the audit log describes, replayed: (image SHA-256, view, landmark) ->
    (the position (x, y) in the image's pixels, or None when reset to the detector's; the seq
    of the entry that made it so)."""
    logged: dict[tuple[str, str, str], tuple[tuple[float, float] | None, int]] = {}
    for entry in entries:
        if entry.action not in ("landmark_corrected", "landmark_reset"):
            continue
        d = entry.details_dict()
        key = (d.get("image_sha256", ""), d.get("view", ""), d.get("name", ""))
        logged[key] = ((float(d["x"]), float(d["y"])) if entry.action == "landmark_corrected" else None, entry.seq)
    return logged


def compare_with_log(rows: list[dict], entries: list[audit.AuditEntry]) -> tuple[int, str] | None:
    """:func:`check_against_log` on rows already read (``rows``: the ``case_landmarks`` rows as
    column -> value), e.g. those a report's case record holds."""
    logged = logged_corrections(entries)
    stored = {(r["image_sha256"], r["view"], r["name"]): (float(r["x"]), float(r["y"])) for r in rows}
    for key, (position, seq) in logged.items():
        now = stored.pop(key, None)
        if position is None and now is not None or position is not None and (now is None or max(abs(now[0] - position[0]), abs(now[1] - position[1])) > 1e-3):
            return seq, f"the correction of landmark {key[2]} differs from what entry {seq} recorded"
    if stored:
        key = sorted(stored)[0]
        return len(entries), f"a correction of landmark {key[2]} is stored but was never logged"
    return None
