"""Measuring a face photo's landmarks for the craniofacial matcher, with their uncertainty.

The detectors of :mod:`crossid_desktop.matching.landmarks` find the points (frontal: the refined
68-point model and its extra points; profile: the silhouette's rules) but state no deviation per
point. The deviation is the detector's own error measured on people it never saw, per point, as
a fraction of the face's height (an :class:`ErrorProfile`, kept in the craniofacial model card);
a photo's deviations are that profile times its face's height. A photo whose face cannot be
found, or whose points are too few, becomes a failure with the reason, never a silent miss.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.anatomy.landmarks import landmark_names
from crossid_desktop.errors import CrossIDError
from crossid_desktop.matching.craniofacial.points import Landmarks

#: a frontal face's height (eye-level midline to chin) per interpupillary distance, for photos whose chin is not in view
FACE_HEIGHT_PER_PUPILS = 1.9
#: a profile's height (soft-tissue nasion to chin) per nasion-subnasale distance
PROFILE_HEIGHT_PER_NOSE = 2.2
_VIEW_OF = {"front": "face-front", "side": "face-side"}


@dataclass(frozen=True)
class ErrorProfile:
    """Per-axis standard deviation of each point of a view as a fraction of the face height;
    ``default`` for points the profile does not list; ``source`` how it was measured."""

    view: str
    fractions: Mapping[str, float]
    default: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"view": self.view, "fractions": dict(self.fractions), "default": self.default, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorProfile:
        return cls(str(data["view"]), {str(k): float(v) for k, v in data["fractions"].items()}, float(data["default"]), str(data["source"]))


def face_height(view: str, points: Mapping[str, tuple[float, float]]) -> float | None:
    """The face's height in pixels from its points (see the constants), None when unmeasurable."""

    def dist(a: str, b: str) -> float | None:
        if a in points and b in points:
            return math.hypot(points[a][0] - points[b][0], points[a][1] - points[b][1])
        return None

    if view == "face-front":
        direct = dist("nose_bridge_1", "jaw_09")
        pupils = dist("pupil_right", "pupil_left")
        return direct if direct else (FACE_HEIGHT_PER_PUPILS * pupils if pupils else None)
    direct = dist("nasion_soft", "menton_soft")
    nose = dist("nasion_soft", "subnasale")
    return direct if direct else (PROFILE_HEIGHT_PER_NOSE * nose if nose else None)


def with_deviations(view: str, points: Mapping[str, tuple[float, float]], profile: ErrorProfile, *, source: str,
                    warnings: tuple[str, ...] = (), mirrored: bool = False) -> Landmarks:
    """Found points (pixels; absent names missing) with each point's deviation from ``profile``."""
    height = face_height(view, points)
    if height is None or height <= 0:
        return Landmarks.failed(view, "the face's size could not be measured from its landmarks", source=source)
    sd = {name: profile.fractions.get(name, profile.default) * height for name in landmark_names(view)}
    return Landmarks.from_points(view, points, sd=sd, source=source, warnings=warnings, mirrored=mirrored)


def face_models() -> dict[str, str]:
    """The installed face landmark models, by view: ``"<file> <first 16 hex digits of its
    SHA-256>; <how it is run>"`` (:data:`~crossid_desktop.matching.landmarks.face_front.INFERENCE`),
    or ``"none"`` where the view's model is not installed (the frontal view then uses dlib's
    generic model, the profile view the contour rules alone). Landmarks measured, error profiles
    fitted and galleries indexed with other models, or with the same run otherwise, are not
    comparable with these."""
    from crossid_desktop.matching.landmarks.face_front import INFERENCE
    from crossid_desktop.matching.landmarks.face_front import bundled_model as front_model
    from crossid_desktop.matching.landmarks.face_side_model import bundled_model as side_model

    out = {}
    for view, path in (("face-front", front_model), ("face-side", side_model)):
        identity = file_identity(path())
        out[view] = identity if identity == "none" else f"{identity}; {INFERENCE}"
    return out


#: what a landmark model card holds besides the settings that move points (left out of its identity)
_CARD_NOTES = ("metrics", "training", "created", "notes")


def xray_models() -> dict[str, str]:
    """The installed X-ray landmark models, by view: their weights' identity (:func:`file_identity`)
    and their card's (:func:`card_identity`: its thresholds, anchor and shape prior move points
    too), or ``"none"`` where the view's model is not installed. Error scales measured with other
    models do not hold for these."""
    from crossid_desktop.matching.landmarks.service import XRAY_VIEWS, bundled_model

    out = {}
    for view in XRAY_VIEWS:
        weights = bundled_model(view)
        out[view] = f"{file_identity(weights)}; {card_identity(weights.with_suffix('.json'))}" if weights.is_file() else "none"
    return out


def card_identity(path: Path) -> str:
    """``"<file> <first 16 hex digits>"`` of a JSON model card's settings: the SHA-256 of its
    parsed content without its notes (:data:`_CARD_NOTES`) in a canonical form, so that line
    endings, key order and figures added to its metrics do not change it; ``"none"`` where there
    is no such file, ``"<file> unreadable"`` where it is not JSON."""
    if not path.is_file():
        return "none"
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{path.name} unreadable"
    settings = {k: v for k, v in card.items() if k not in _CARD_NOTES} if isinstance(card, dict) else card
    return f"{path.name} {hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]}"


_IDENTITIES: dict[tuple[str, int, int], str] = {}


def file_identity(path: Path) -> str:
    """``"<file> <first 16 hex digits of its SHA-256>"`` (kept while the file's size and time
    stay), or ``"none"`` where there is no such file."""
    from crossid_desktop.imaging.io import sha256_of_file

    if not path.is_file():
        return "none"
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _IDENTITIES:
        _IDENTITIES[key] = f"{path.name} {sha256_of_file(path)[:16]}"
    return _IDENTITIES[key]


def detect_face_points(rgb: NDArray[Any], view: str) -> Landmarks:
    """The face landmarks the detectors find in a photo of ``view`` (``"front"``, ``"side"`` or
    ``"unknown"``: frontal first, then profile), without deviations (NaN); a failure with its
    reason when no face is found."""
    from crossid_desktop.matching.landmarks.face_front import detect_face_front  # dlib loads on first use
    from crossid_desktop.matching.landmarks.face_side import detect_face_side

    tries = ("front", "side") if view == "unknown" else (view,)
    reasons = []
    for kind in tries:
        try:
            found = detect_face_front(rgb) if kind == "front" else detect_face_side(rgb)
        except CrossIDError as error:
            reasons.append(str(error).rstrip("."))
            continue
        points = {n: (float(x), float(y)) for n, (x, y) in zip(found.names, found.xy) if not np.isnan(x)}
        return Landmarks.from_points(_VIEW_OF[kind], points, sd=math.nan, source=found.detector, warnings=tuple(found.warnings),
                                     mirrored=bool(getattr(found, "mirrored", False)))
    return Landmarks.failed(_VIEW_OF[tries[-1]], "; ".join(reasons) or "no face was found", source="face landmark detectors")


def with_profile(found: Landmarks, profiles: Mapping[str, ErrorProfile]) -> Landmarks:
    """Detected points with each point's deviation from the view's error profile."""
    if found.failure:
        return found
    if found.view not in profiles:
        return Landmarks.failed(found.view, f"the model has no error profile of {found.view} landmarks", source=found.source)
    points = {n: (float(x), float(y)) for n, (x, y) in zip(found.names, found.xy) if not np.isnan(x)}
    return with_deviations(found.view, points, profiles[found.view], source=found.source, warnings=found.warnings, mirrored=found.mirrored)


def detect_face_landmarks(rgb: NDArray[Any], view: str, profiles: Mapping[str, ErrorProfile]) -> Landmarks:
    """:func:`detect_face_points` with the deviations of :func:`with_profile`."""
    return with_profile(detect_face_points(rgb, view), profiles)


def measured_profile(view: str, pairs: list[tuple[Landmarks, Landmarks]], *, source: str) -> ErrorProfile:
    """The error profile of a detector from ``(detected, reference)`` landmark pairs of one view:
    per point the root mean square per-axis error (after the best similarity between the two,
    so a detector's overall offset is not counted twice) as a fraction of the reference face's height."""
    from crossid_desktop.matching.craniofacial.geometry import fit_similarity

    names = landmark_names(view)
    errors: dict[str, list[float]] = {n: [] for n in names}
    for detected, reference in pairs:
        found, _ = detected.subset(names)
        truth, _ = reference.subset(names)
        ref_points = {n: tuple(p) for n, p in zip(names, truth) if not np.isnan(p[0])}
        height = face_height(view, ref_points)
        ok = ~(np.isnan(found[:, 0]) | np.isnan(truth[:, 0]))
        if height is None or ok.sum() < 3:
            continue
        aligned = fit_similarity(found, truth).apply(found)
        for n, a, t, good in zip(names, aligned, truth, ok):
            if good:
                errors[n].append(float(((a - t) ** 2).mean()) / height**2)
    fractions = {n: math.sqrt(float(np.mean(v))) for n, v in errors.items() if len(v) >= 5}
    default = float(np.median(list(fractions.values()))) if fractions else 0.01
    return ErrorProfile(view, fractions, default, source)
