"""Ground-truth soft-tissue landmarks of a simulated face, in mm of the head frame.

Frontal photo: the 68 points of the iBUG 300-W scheme and the soft-tissue zygion, gonion and
menton, each at the edge the renderer paints (:mod:`crossid_desktop.synth.face`): the jaw line
is the face's silhouette down to the jaw angle and the edge of the shadow under the jaw below
it, spaced at equal arc length from eye level (``jaw_01``) over the chin (``jaw_09``); eyebrows
on their upper edge; eye corners and lids on the painted almond; lips on their painted outline.
Expression (smile, raised brows) moves the mouth and brows, so the frontal points depend on the
photo's nuisance. Profile (photo and the lateral X-ray's skin line): the points on the smooth
profile polygon (:func:`crossid_desktop.synth.outline.profile_polygon`) by their anatomical rule.
"""

from __future__ import annotations

import numpy as np

from crossid_desktop.synth import outline as profile
from crossid_desktop.synth.contour import Point, Points, arc, extreme, farthest_from_chord, nearest, within
from crossid_desktop.synth.face import EYE_HALF_HEIGHT, EYE_HALF_WIDTH_PER_ORBIT
from crossid_desktop.synth.params import FaceGeometry, Nuisance, Subject, face_geometry


def _xy(points: Points, i: int) -> Point:
    return (float(points[i, 0]), float(points[i, 1]))


def face_side_landmarks_mm(subject: Subject) -> dict[str, Point]:
    """The profile's soft-tissue landmarks of ``subject`` (mm, ``(z, y)``, face towards +z)."""
    g = face_geometry(subject)
    p = profile.profile_polygon(subject, g).astype(np.float64)
    knots = profile.profile_front(subject, g)
    n = len(p)
    subnasale = nearest(p, knots[profile.PROFILE_SUBNASALE])
    stomion = nearest(p, knots[profile.PROFILE_STOMION])
    fold = nearest(p, knots[profile.PROFILE_SUBLABIALE])
    glabella = extreme(p, (1.0, 0.0), within(p, x=(-20.0, 80.0), y=(-40.0, knots[profile.PROFILE_NASION][1])))
    tip = extreme(p, (1.0, 0.0), arc(n, nearest(p, knots[profile.PROFILE_NASION]), subnasale))
    nasion = extreme(p, (-1.0, 0.0), arc(n, glabella, tip))
    pogonion = extreme(p, (1.0, 0.0), arc(n, fold, nearest(p, knots[profile.PROFILE_SUBMENTAL])))
    menton = extreme(p, (0.0, 1.0), arc(n, pogonion, nearest(p, knots[profile.PROFILE_CERVICAL])))
    return {
        "glabella_soft": _xy(p, glabella),
        "nasion_soft": _xy(p, nasion),
        "pronasale": _xy(p, tip),
        "subnasale": _xy(p, subnasale),
        "labrale_superius": _xy(p, farthest_from_chord(p, subnasale, stomion, (1.0, 0.0))),
        "stomion": _xy(p, stomion),
        "labrale_inferius": _xy(p, farthest_from_chord(p, stomion, fold, (1.0, 0.0))),
        "sublabiale": _xy(p, fold),
        "pogonion_soft": _xy(p, pogonion),
        "gnathion_soft": _xy(p, farthest_from_chord(p, pogonion, menton, (1.0, 1.0))),
        "menton_soft": _xy(p, menton),
    }


def jaw_line(subject: Subject, geometry: FaceGeometry | None = None, step: float = 0.05) -> Points:
    """The visible right half of the jaw line, ``(n, 2)`` mm from eye level to the chin's midline.

    Where the face stands out against the background it is the face's silhouette; lower down,
    where the neck is as wide as the face, the edge is the shadow under the jaw, painted 1 mm
    inside the face's outline.
    """
    g = geometry or face_geometry(subject)
    shape = profile.frontal_outline(subject, g)
    bottom = float(shape.y[-1])
    y = np.arange(g.eye_y, bottom, step)
    face_only = np.interp(y, shape.y, shape.half_width, left=0.0, right=0.0)
    neck = np.where(y > shape.neck_top, shape.neck_half_width, 0.0)
    half = np.where((y > g.jaw_y) & (neck > face_only), face_only - 1.0, face_only)
    chin = max(float(shape.half_width[-1]) - 1.0, 0.0)
    side = np.column_stack([-half, y])
    return np.vstack([side, [(-chin, bottom), (0.0, bottom)]])


def _along(points: Points, count: int) -> Points:
    """``count`` points at equal arc length along a polyline, its ends included."""
    length = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    at = np.linspace(0.0, length[-1], count)
    return np.column_stack([np.interp(at, length, points[:, 0]), np.interp(at, length, points[:, 1])])


def face_front_landmarks_mm(subject: Subject, nuisance: Nuisance) -> dict[str, Point]:
    """The frontal photo's landmarks of ``subject`` with the expression of ``nuisance`` (mm, head frame)."""
    g = face_geometry(subject)
    right = _along(jaw_line(subject, g), 9)
    marks: dict[str, Point] = {}
    for k in range(9):
        marks[f"jaw_{k + 1:02d}"] = (float(right[k, 0]), float(right[k, 1]))
        marks[f"jaw_{17 - k:02d}"] = (-float(right[k, 0]), float(right[k, 1]))
    marks["jaw_09"] = (0.0, float(right[8, 1]))
    marks.update(_brows(subject, g, nuisance))
    marks.update(_eyes(subject, g))
    marks.update(_nose(g))
    marks.update(_mouth(g, nuisance))
    shape = profile.frontal_outline(subject, g)
    y = np.arange(g.eye_y, g.jaw_y, 0.05)
    widths = shape.at(y.astype(np.float32))
    widest = int(np.argmax(widths))
    jaw_half = float(np.interp(g.jaw_y, shape.y, shape.half_width))
    for name, sign in (("right", -1.0), ("left", 1.0)):
        marks[f"zygion_soft_{name}"] = (sign * float(widths[widest]), float(y[widest]))
        marks[f"gonion_soft_{name}"] = (sign * jaw_half, g.jaw_y)
    marks["menton_soft"] = marks["jaw_09"]
    return marks


def _brows(subject: Subject, g: FaceGeometry, nuisance: Nuisance) -> dict[str, Point]:
    """Five points on each eyebrow's upper edge, outer end (1) to inner end (5)."""
    marks = {}
    for name, side in (("right", -1.0), ("left", 1.0)):
        bx = side * (g.eye_dx + 3.0)
        bw = subject.skull.orbit_width * 0.62
        for k, t in enumerate(np.linspace(0.0, 1.0, 5), 1):
            u = bx + side * bw * (1.0 - 2.0 * t)
            arch = g.brow_y - 3.0 * nuisance.brow_raise - 4.0 * (1.0 - ((u - bx) / bw) ** 2)
            thick = subject.appearance.eyebrow_thickness * (0.5 + 0.5 * np.clip(1.0 - side * (u - bx) / bw, 0.0, 1.5))
            marks[f"brow_{name}_{k}"] = (float(u), float(arch - thick / 2))
    return marks


def _eyes(subject: Subject, g: FaceGeometry) -> dict[str, Point]:
    """Corners and lids of the painted almond of each eye, and the pupils."""
    w, h = EYE_HALF_WIDTH_PER_ORBIT * subject.skull.orbit_width, EYE_HALF_HEIGHT
    lid = h * np.sqrt(8.0) / 3.0  # the almond's half-height a third of the way from its centre
    marks: dict[str, Point] = {}
    for name, side in (("right", -1.0), ("left", 1.0)):
        cx, cy = side * g.eye_dx, g.eye_y
        outer, inner = cx + side * w, cx - side * w
        marks[f"pupil_{name}"] = (cx, cy)
        marks[f"exocanthion_{name}"] = (outer, cy)
        marks[f"endocanthion_{name}"] = (inner, cy)
        marks[f"upper_lid_{name}_1"] = (cx + side * w / 3, cy - lid)
        marks[f"upper_lid_{name}_2"] = (cx - side * w / 3, cy - lid)
        marks[f"lower_lid_{name}_1"] = (cx + side * w / 3, cy + lid)
        marks[f"lower_lid_{name}_2"] = (cx - side * w / 3, cy + lid)
    return marks


def _nose(g: FaceGeometry) -> dict[str, Point]:
    """The nasal bridge from eye level to the tip, the nostrils' lower edges and subnasale."""
    tip = g.nose_y - 7.0
    nx = 0.42 * g.nose_half_width  # nostril centres; each nostril is 3.2 x 1.6 mm (semi-axes)
    return {
        "nose_bridge_1": (0.0, g.eye_y),
        "nose_bridge_2": (0.0, g.eye_y + (tip - g.eye_y) / 3),
        "nose_bridge_3": (0.0, g.eye_y + 2 * (tip - g.eye_y) / 3),
        "pronasale": (0.0, tip),
        "nostril_right_outer": (-(nx + 3.2), g.nose_y - 1.5),
        "nostril_right": (-nx, g.nose_y + 0.1),
        "subnasale": (0.0, g.nose_y),
        "nostril_left": (nx, g.nose_y + 0.1),
        "nostril_left_outer": (nx + 3.2, g.nose_y - 1.5),
    }


def _mouth(g: FaceGeometry, nuisance: Nuisance) -> dict[str, Point]:
    """The lips' outer outline, their meeting line and the mouth corners, with the photo's smile."""
    smile = nuisance.smile
    w = g.mouth_half_width * (1.0 + 0.08 * smile)

    def line(u: float) -> float:
        return g.mouth_y - 2.5 * smile * (u / w) ** 2

    def top(u: float) -> float:
        return line(u) - 5.0 * np.sqrt(max(1.0 - (u / w) ** 2, 0.0)) + 1.5 * np.exp(-((u / 3.0) ** 2))

    def bottom(u: float) -> float:
        return line(u) + 7.0 * np.sqrt(max(1.0 - (u / w) ** 2, 0.0))

    grid = np.linspace(0.0, w, 2001)
    peak = float(grid[int(np.argmin([top(u) for u in grid]))])
    inner = w * np.sqrt(1.0 - 0.05**2)  # the dark lip line is painted where the lips are thicker than this
    marks: dict[str, Point] = {"labrale_superius": (0.0, top(0.0)), "labrale_inferius": (0.0, bottom(0.0)),
                               "inner_upper_lip_centre": (0.0, line(0.0)), "inner_lower_lip_centre": (0.0, line(0.0))}
    for name, side in (("right", -1.0), ("left", 1.0)):
        marks[f"cheilion_{name}"] = (side * w, line(w))
        marks[f"upper_lip_{name}_1"] = (side * (w + peak) / 2, top((w + peak) / 2))
        marks[f"upper_lip_{name}_2"] = (side * peak, top(peak))
        marks[f"lower_lip_{name}_1"] = (side * 2 * w / 3, bottom(2 * w / 3))
        marks[f"lower_lip_{name}_2"] = (side * w / 3, bottom(w / 3))
        marks[f"mouth_inner_{name}"] = (side * inner, line(inner))
        marks[f"inner_upper_lip_{name}"] = (side * w / 3, line(w / 3))
        marks[f"inner_lower_lip_{name}"] = (side * w / 3, line(w / 3))
    return {key: (float(x), float(y)) for key, (x, y) in marks.items()}
