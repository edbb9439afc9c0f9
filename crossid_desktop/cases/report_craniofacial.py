"""The report's craniofacial figures: for the top candidates and every marked one, the
skull-face overlay made again and its correspondence table, handed to the comparison pages
(:func:`crossid_desktop.cases.report_evidence.with_figures`, which lay them out), and a note
on where each X-ray's skull landmarks came from.

The overlays are made again when the report is written (:func:`craniofacial_figures`), from the
recorded search: the same query files (their SHA-256 checked), the skull landmarks the search
used, the candidate's photo and its stored landmarks, and the X-ray matcher of the workspace,
which must be the one the search used (same fingerprint); the examiner's last recorded hand
adjustment of each overlay is applied and said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crossid_desktop.cases.audit import AuditEntry
from crossid_desktop.cases.records import Case, RecordedSearch
from crossid_desktop.cases.report_figures import display_bytes
from crossid_desktop.errors import CrossIDError
from crossid_desktop.imaging.io import load_image
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.craniofacial.geometry import IDENTITY, Similarity
from crossid_desktop.matching.craniofacial.points import Landmarks
from crossid_desktop.matching.selection import MatcherCache
from crossid_desktop.search.xray_overlay import CandidateOverlay, candidate_overlay
from crossid_desktop.workspace import Workspace

#: the top candidates that always get a craniofacial figure (marked ones are added)
TOP_CANDIDATES = 3


@dataclass(frozen=True)
class CraniofacialFigure:
    """One candidate's comparison as the report prints it."""

    subject_id: str
    rank: int
    view: str
    picture: bytes | None  # JPEG/PNG of the overlay
    rows: tuple[tuple[str, str, str, str, str, str], ...] = ()
    statement: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


def plain_statement(overlay: CandidateOverlay) -> str:
    """The consistency statement in words for a reader who is not an engineer."""
    if overlay.problem:
        return f"This candidate could not be compared with the skull: {overlay.problem}."
    rows, verdict = overlay.table, overlay.verdict
    unit = "mm" if rows and rows[0].unit == "mm" else "X-ray pixels"
    inside = sum(r.within for r in rows)
    worst = max(rows, key=lambda r: r.residual / max(r.tolerance, 1e-9))
    text = (f"From the skull, the software predicts where {len(rows)} landmarks of the face should lie, each with an allowance for the "
            f"usual variation of soft-tissue thickness and of measurement. On this photo {inside} of the {len(rows)} lie within their "
            f"allowance; the largest relative difference is at {worst.landmark.replace('_', ' ')} ({worst.residual:.1f} {unit}, allowed "
            f"{worst.tolerance:.1f} {unit}). ")
    text += ("The decision weighs all the landmarks together, so that one misplaced landmark cannot exclude a person on its own, and it "
             "allows freely for the ways in which faces over one skull differ most and which a skull cannot tell (with the bundled model: "
             "how far the brows are raised on a frontal photo; the lower lip and the soft tissue of the chin on a profile; each where the "
             "photo shows it). ")
    if verdict.status == "inconsistent":
        names = ", ".join(n.replace("_", " ") for n in verdict.excluding)
        return text + (f"Conclusion: the face is not consistent with the skull: taken together, its landmarks lie too far from where the skull "
                       f"puts them, most of all {names}. This comparison supports excluding the candidate, provided the landmarks were placed "
                       "correctly; check them.")
    return text + ("Conclusion: the face is consistent with the skull. This does not identify the person: it means only that this "
                   "comparison gives no reason to exclude the candidate.")


def _adjustments(entries: Sequence[AuditEntry]) -> dict[tuple[str, str, str], Similarity]:
    """The last recorded hand adjustment per (query SHA-256, subject, view)."""
    found = {}
    for entry in entries:
        if entry.action == "overlay_adjusted":
            d = entry.details_dict()
            (a, b, tx), (_, _, ty) = d["matrix"]
            found[(str(d.get("query_sha256")), str(d.get("subject_id")), str(d.get("view")))] = Similarity(float(a), float(b), float(tx), float(ty))
    return found


def craniofacial_figures(workspace: Workspace, case: Case, search: RecordedSearch | None, entries: Sequence[AuditEntry]) -> tuple[tuple[CraniofacialFigure, ...], str | None]:
    """The figures of a craniofacial search (empty for other searches), and a note when they cannot be made."""
    result = search.result if search is not None else None
    record = getattr(result, "craniofacial", None)
    if result is None or not record:
        return (), None
    sources = landmark_note(record)
    figures, note = _figures(workspace, case, result, record, entries)
    return figures, " ".join(n for n in (sources, note) if n) or None


def landmark_note(record: Mapping[str, Any]) -> str:
    """Where each X-ray's skull landmarks came from, how many the examiner moved, and, said
    plainly, an X-ray whose landmarks failed (it was not assessed)."""
    out = []
    for query in record.get("queries", []):
        marks = query.get("landmarks") or {}
        which = "Frontal" if query.get("view") == "front" else "Lateral"
        text = f"{which} X-ray: skull landmarks from {marks.get('source') or 'nowhere'}"
        if marks.get("corrected"):
            text += f", {len(marks['corrected'])} of them placed by the examiner"
        if query.get("set_aside"):
            text += "; left out as not fitting the others and estimated from them: " + ", ".join(n.replace("_", " ") for n in query["set_aside"])
        if query.get("problem"):
            text += f". THE SKULL COULD NOT BE ASSESSED FROM THIS X-RAY: {query['problem']}; the candidates were ranked without it"
        out.append(text + ".")
    return " ".join(out)


def _figures(workspace: Workspace, case: Case, result: Any, record: Mapping[str, Any], entries: Sequence[AuditEntry]) -> tuple[tuple[CraniofacialFigure, ...], str | None]:
    try:
        matcher = MatcherCache().for_role(workspace.root, "xray")
    except CrossIDError as error:
        return (), f"The overlays cannot be made again: {error}"
    if matcher.fingerprint != result.matcher_fingerprint:
        return (), "The overlays cannot be made again: the workspace's X-ray matcher is no longer the one the search used."
    marked = set(case.of_interest()) | {m.subject_id for m in case.marks.values() if m.mark.value != "none"}
    chosen = [c for c in result.candidates if c.rank <= TOP_CANDIDATES or c.subject_id in marked]
    adjustments = _adjustments(entries)
    figures = []
    for info, used in zip(result.queries, record.get("queries", [])):
        image = _query_image(info)
        if isinstance(image, str):
            return (), image
        landmarks = Landmarks.from_dict(used["landmarks"]) if used.get("landmarks") else None
        for candidate in chosen:
            view = used["view"]
            photo = (candidate.craniofacial or {}).get("views", {}).get(view, {}).get("photo")
            adjustment = adjustments.get((info.sha256, candidate.subject_id, view), IDENTITY)
            made = candidate_overlay(workspace, matcher, image, QueryModality(info.modality), candidate.subject_id, landmarks=landmarks,
                                     image_id=photo, adjustment=adjustment)
            figures.append(_figure(candidate.rank, made, adjustment))
    return tuple(figures), None


def _query_image(info: Any) -> Any:
    if not info.path:
        return "The overlays cannot be made again: the query was searched from memory."
    try:
        image = load_image(info.path, frame=int(info.meta.get("frame", 0) or 0))
    except CrossIDError as error:
        return f"The overlays cannot be made again: {error}"
    if image.sha256 != info.sha256:
        return f"The overlays cannot be made again: the file now at {info.path} is not the one searched."
    return image


def _figure(rank: int, made: CandidateOverlay, adjustment: Similarity) -> CraniofacialFigure:
    rows = tuple((r.landmark.replace("_", " "), f"{r.predicted[0]:.0f}, {r.predicted[1]:.0f}", f"{r.measured[0]:.0f}, {r.measured[1]:.0f}",
                  f"{r.residual:.1f} {r.unit}", f"{r.tolerance:.1f} {r.unit}", "yes" if r.within else "NO") for r in made.table)
    notes = list(made.notes)
    if adjustment != IDENTITY:
        notes.append(f"The examiner moved the overlay by hand (shift {adjustment.tx:.1f}, {adjustment.ty:.1f} px, turn {adjustment.angle_deg:.1f}°, "
                     f"size {100 * adjustment.scale:.1f} %); the table and the statement are those of the fitted position.")
    picture = display_bytes(made.figure(scale=2)) if made.overlay is not None else None
    return CraniofacialFigure(made.subject_id, rank, made.view, picture, rows, plain_statement(made), tuple(notes))
