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
    logged: dict[tuple[str, str, str], tuple[tuple[float, float] | None, int]] = {}
    for entry in entries:
        if entry.action not in ("landmark_corrected", "landmark_reset"):
            continue
        d = entry.details_dict()
        key = (d.get("image_sha256", ""), d.get("view", ""), d.get("name", ""))
        logged[key] = ((float(d["x"]), float(d["y"])) if entry.action == "landmark_corrected" else None, entry.seq)
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'case_landmarks'").fetchone()
    stored = {(r[0], r[1], r[2]): (r[3], r[4]) for r in conn.execute(
        "SELECT image_sha256, view, name, x, y FROM case_landmarks WHERE case_number = ?", (case_number,))} if exists else {}
    for key, (position, seq) in logged.items():
        now = stored.pop(key, None)
        if position is None and now is not None or position is not None and (now is None or max(abs(now[0] - position[0]), abs(now[1] - position[1])) > 1e-3):
            return seq, f"the correction of landmark {key[2]} differs from what entry {seq} recorded"
    if stored:
        key = sorted(stored)[0]
        return len(entries), f"a correction of landmark {key[2]} is stored but was never logged"
    return None
