"""The learned stage of the profile-photo landmarks: a dlib shape predictor on the profile.

The contour rules (:mod:`~crossid_desktop.matching.landmarks.face_profile_rules`) find the nose
tip reliably but place the flat or shallow points (soft-tissue glabella and nasion, the lips'
borders on a full upper lip) by a rule that slides along the outline with a degree of head tilt.
Where the profile model (``resources/models/face_landmarks_side.dat``, trained on synthetic
profile photos with exact landmarks by :mod:`crossid_desktop.training.face_landmarks_side`) is
installed, it places every point of the view from the photo's pixels:

1. The box it runs in (:func:`reference_box`) is set from a nose tip and the top of the head's
   outline alone: the face's height, glabella' to menton', is about :data:`HEIGHT_PER_DROP` of
   the drop from the top of the head to the nose tip (spread about 7 % on the synthetic cohort).
   Every protrusion of the outline that the rules would take for a nose is tried as the tip.
2. The predictor runs on the face facing right (a profile facing left is mirrored first), in
   the same enlarged crop as the frontal model (:func:`~crossid_desktop.matching.landmarks.face_front.refined_shape`),
   and once more in the box placed at its own nose tip with the height its first points give
   (glabella' to menton'). Of the tips tried, the one where the model's face lies best on the
   outline (median distance of its points) is kept.
3. All points of this view lie on the skin's outline: a point farther than :data:`OFF_OUTLINE` of
   the face's height from the outline, or outside the photo (or at its edge, where the outline
   is the photo's frame), is reported missing with a warning, never clipped. (Moving the points
   onto the traced outline made them worse on the tuning photos: 1.60 -> 1.85 %, the outline
   being a smoothed mask edge.)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.anatomy.landmarks import landmark_names
from crossid_desktop.matching.landmarks.face_front import load_shape_predictor, refined_shape
from crossid_desktop.paths import resource_path

MODEL_NAME = "face_landmarks_side.dat"
#: the points the profile model predicts, in its order (the view's table order)
PARTS: tuple[str, ...] = landmark_names("face-side")
#: face height (glabella' to menton') per drop from the top of the head's outline to the nose tip
HEIGHT_PER_DROP = 0.81
#: the box's centre below the nose tip and behind it, and its side, in face heights
BOX_DOWN, BOX_BACK, BOX_SIDE = 0.085, 0.35, 1.4
#: a predicted point farther than this share of the face's height from the outline is missing
OFF_OUTLINE = 0.06
#: a placement counts only when this share of its points inside the photo lie on the outline
#: (placements on the back of the head, or on a face cut by the photo's edge, rarely reach it)
ON_OUTLINE = 0.9
#: a predicted point within this many pixels of the photo's edge is missing (the outline there
#: is the photo's frame, not the skin)
EDGE = 2

Point = tuple[float, float]
_GLABELLA, _TIP, _MENTON = PARTS.index("glabella_soft"), PARTS.index("pronasale"), PARTS.index("menton_soft")


def bundled_model() -> Path:
    """Where the profile model is installed."""
    return resource_path("models", MODEL_NAME)


def load_profile_model(path: Path | None = None) -> Any | None:
    """The profile shape predictor (loaded once), or None where it is not installed; a model that
    gives another number of points than the profile scheme's is refused."""
    return load_shape_predictor(Path(path) if path is not None else bundled_model(), "profile landmark model", len(PARTS))


def reference_box(outline: NDArray[np.float64], tip: Point, height: float | None = None) -> tuple[float, float, float, float]:
    """The square box the profile model runs in, photo pixels of the face facing right, placed
    from the nose tip and the face's height (glabella' to menton'); without ``height`` the height
    is estimated from the drop from the top of ``outline`` (the head's front outline from the top
    of the head down) to the tip (module docstring, step 1)."""
    if height is None:
        height = HEIGHT_PER_DROP * max(tip[1] - float(outline[:, 1].min()), 1.0)
    cx, cy = tip[0] - BOX_BACK * height, tip[1] + BOX_DOWN * height
    half = BOX_SIDE * height / 2
    return (cx - half, cy - half, cx + half, cy + half)


def on_outline(points: NDArray[np.float64], outline: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each point moved to the nearest point of ``outline`` (segments between its samples), and
    how far it moved (pixels)."""
    a, b = outline[:-1], outline[1:]
    ab = b - a
    length2 = np.maximum((ab ** 2).sum(axis=1), 1e-12)
    t = np.clip((((points[:, None, :] - a[None]) * ab[None]).sum(axis=2)) / length2[None], 0.0, 1.0)
    nearest = a[None] + t[..., None] * ab[None]
    distance = np.hypot(*(nearest - points[:, None, :]).transpose(2, 0, 1))
    best = np.argmin(distance, axis=1)
    rows = np.arange(len(points))
    return nearest[rows, best], distance[rows, best]


def _placed(predictor: Any, rgb: NDArray[np.uint8], outline: NDArray[np.float64], tip: Point) -> tuple[NDArray[np.float64], float] | None:
    """The model's points from a box anchored at ``tip``, run again in the box its own nose tip
    and face height give; and that face height (pixels). None when the model's face is upside
    down (menton' not below glabella')."""
    first = refined_shape(rgb, reference_box(outline, tip), predictor)
    height = float(first[_MENTON, 1] - first[_GLABELLA, 1])
    if height <= 0:
        return None
    second = refined_shape(rgb, reference_box(outline, (float(first[_TIP, 0]), float(first[_TIP, 1])), height), predictor)
    height = float(second[_MENTON, 1] - second[_GLABELLA, 1])
    return (second, height) if height > 0 else None


def profile_model_points(predictor: Any, rgb: NDArray[np.uint8], outline: NDArray[np.float64],
                         tips: Sequence[Point]) -> tuple[dict[str, Point], list[str], float]:
    """The profile's points by the model (module docstring), on the face facing right, anchored at
    the candidate nose tip of ``tips`` where the model's face lies best on the outline: the points
    found, the warnings (points off the outline or outside the photo are left out), and the
    median distance of its points inside the photo from the outline in face heights (the
    detector takes the side where the model's face lies best). A placement counts only when the
    model's nose tip lies inside the photo on the outline, at least half its points lie inside
    the photo and :data:`ON_OUTLINE` of those on the outline; with none, no points and an
    infinite misfit."""
    h, w = rgb.shape[:2]
    best = None
    for tip in tips:
        placed = _placed(predictor, rgb, outline, tip)
        if placed is None:
            continue
        raw, height = placed
        _, moved = on_outline(raw, outline)
        inside = (raw[:, 0] >= EDGE) & (raw[:, 0] <= w - 1 - EDGE) & (raw[:, 1] >= EDGE) & (raw[:, 1] <= h - 1 - EDGE)
        near = inside & (moved <= OFF_OUTLINE * height)
        if not near[_TIP] or inside.sum() * 2 < len(PARTS) or near.sum() < ON_OUTLINE * inside.sum():
            continue
        misfit = float(np.median(moved[inside])) / height
        if best is None or misfit < best[0]:
            best = (misfit, raw, moved, inside, height)
    if best is None:
        return {}, ["The profile model found no face on the head's outline."], float("inf")
    misfit, raw, moved, inside, height = best
    points, off, outside = {}, [], []
    for name, (x, y), distance, within in zip(PARTS, raw, moved, inside):
        if not within:
            outside.append(name)
        elif distance > OFF_OUTLINE * height:
            off.append(name)
        else:
            points[name] = (float(x), float(y))
    warnings = []
    if float(outline[:, 1].min()) <= EDGE:
        warnings.append("The top of the head is cut by the photo's edge: the box the profile points were found in, and so the points, are less certain.")
    if off:
        warnings.append("Not on the head's outline, so missing: " + ", ".join(off) + ".")
    if outside:
        warnings.append("Outside the photo or at its edge, so missing: " + ", ".join(outside) + ".")
    return points, warnings, misfit
