"""The examiner's landmark corrections on a case's query images.

A detected landmark that the examiner moves is stored with the case, keyed by the query
image's SHA-256, its view and the landmark's name, together with where the detector had put it;
each move (``landmark_corrected``) and each reset to the detected point (``landmark_reset``) is
an entry of the case's hash-chained audit log, written in the same transaction.
:meth:`CaseLandmarks.apply` lays the stored corrections over a detection: every step that uses
a query's landmarks asks it, so they all see the examiner's points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crossid_desktop.cases import audit
from crossid_desktop.cases.case import CaseService, default_actor
from crossid_desktop.cases.landmark_log import ensure_table
from crossid_desktop.errors import CaseError

if TYPE_CHECKING:
    from crossid_desktop.matching.landmarks.service import LandmarkResult

@dataclass(frozen=True)
class LandmarkCorrection:
    """Where the examiner put a landmark (``x``, ``y``, image pixels) and where the detector
    had it (``detected``; None when it had reported the point missing)."""

    image_sha256: str
    view: str
    name: str
    x: float
    y: float
    detected: tuple[float, float] | None
    updated: str
    actor: str


class CaseLandmarks:
    """Landmark corrections of the cases of a :class:`~crossid_desktop.cases.CaseService`."""

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases

    def correct(self, case_number: str, image_sha256: str, view: str, name: str, x: float, y: float, *,
                detected: tuple[float, float] | None = None, actor: str | None = None) -> LandmarkCorrection:
        """Store the examiner's position of ``name`` on the query image and log it."""
        if not (math.isfinite(x) and math.isfinite(y)):
            raise CaseError(f"A landmark position must be a pair of finite numbers, got ({x}, {y}).")
        actor = actor or default_actor()
        with self.cases._change(case_number, actor=actor, action="landmark_corrected") as (conn, details):
            ensure_table(conn)
            now = audit.now_utc()
            dx, dy = detected if detected is not None else (None, None)
            conn.execute(
                "INSERT INTO case_landmarks (case_number, image_sha256, view, name, x, y, detected_x, detected_y, updated, actor) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(case_number, image_sha256, view, name) DO UPDATE SET "
                "x = excluded.x, y = excluded.y, updated = excluded.updated, actor = excluded.actor",
                (case_number, image_sha256, view, name, float(x), float(y), dx, dy, now, actor),
            )
            details.update(image_sha256=image_sha256, view=view, name=name, x=round(float(x), 3), y=round(float(y), 3),
                           detected=None if detected is None else [round(float(dx), 3), round(float(dy), 3)])
        return LandmarkCorrection(image_sha256, view, name, float(x), float(y), detected, now, actor)

    def reset(self, case_number: str, image_sha256: str, view: str, name: str, *, actor: str | None = None) -> None:
        """Drop the correction of ``name`` (back to the detected point) and log it."""
        with self.cases._change(case_number, actor=actor, action="landmark_reset") as (conn, details):
            ensure_table(conn)
            gone = conn.execute("DELETE FROM case_landmarks WHERE case_number = ? AND image_sha256 = ? AND view = ? AND name = ?",
                                (case_number, image_sha256, view, name)).rowcount
            if not gone:
                raise CaseError(f"The landmark {name} of that image has no correction in case {case_number}.")
            details.update(image_sha256=image_sha256, view=view, name=name)

    def corrections(self, case_number: str, image_sha256: str | None = None, view: str | None = None) -> list[LandmarkCorrection]:
        """The stored corrections of a case (of one image and view when given), by image, view and name."""
        with self.cases._store() as store:
            ensure_table(store.connection)
            rows = store.connection.execute(
                "SELECT image_sha256, view, name, x, y, detected_x, detected_y, updated, actor FROM case_landmarks WHERE case_number = ? "
                "AND (? IS NULL OR image_sha256 = ?) AND (? IS NULL OR view = ?) ORDER BY image_sha256, view, name",
                (case_number, image_sha256, image_sha256, view, view),
            ).fetchall()
        return [LandmarkCorrection(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else (r[5], r[6]), r[7], r[8]) for r in rows]

    def apply(self, case_number: str, result: LandmarkResult) -> LandmarkResult:
        """``result`` with the case's corrections of its image and view laid over it."""
        for correction in self.corrections(case_number, result.sha256, result.view):
            try:
                result = result.with_correction(correction.name, correction.x, correction.y)
            except KeyError:
                continue  # a point the current model does not know: kept in the case, not shown
        return result
