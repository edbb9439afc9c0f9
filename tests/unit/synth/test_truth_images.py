"""The ground-truth landmarks lie where the rendered images show them.

Each check measures the image itself, never the landmark formulas: a point on a bone or skin
edge must sit where the image's intensity (or colour) changes fastest along the edge's normal
(radiographs first turned back into attenuation, undoing their exposure); a point on a thin
line must sit on the line's ridge; the pupil must be the centroid of the painted pupil; the
nose tip and the chin must be the skin silhouette's extremes; midline points must lie on the
axis about which the radiograph is symmetric. Only the image's pose (which way is forwards and
down) comes from the renderer's frame. Eight people, images 512 px (about 2 px per mm).

Where a neighbouring structure draws a second edge within reach (a tooth crossing the jaw's
angle in a strongly retrusive jaw, hair beside the cheek), that one measurement can miss: each
view allows a few such misses, while every landmark's median offset must stay under 0.8 px.
Not checked against the image: construction points with no edge of their own (sella, nasion
and glabella on a frontal film, the nasal bridge on a frontal photo) and points hidden behind
other bone (the posterior nasal spine behind the ramus, prosthion and infradentale behind the
incisor crowns, the incisal tips where the upper and lower crowns overlap); the eye corners,
where the painted lid line covers the eye's white; the nostrils' lower edges, a fraction of a
millimetre from the nose's own lower edge.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from crossid_desktop.synth.face import render_face_front
from crossid_desktop.synth.face_profile import render_face_side
from crossid_desktop.synth.params import draw_nuisance, draw_subject
from crossid_desktop.synth.skull import render_xray_front, render_xray_side
from crossid_desktop.synth.truth import image_frame, image_landmarks

SIZE = 512
PEOPLE = tuple(range(8))
#: largest offset (px) one measurement may have, and the share of measurements of a view that must meet it
TOLERANCE, SHARE = 1.0, 0.9
#: largest median offset (px) of one landmark over the people: OpenCV draws a thick line up to
#: half a pixel wider than its width, so a point on a drawn line's edge may sit that much inside
MEDIAN_LIMIT = 0.8
#: blurring a narrow concavity moves its steepest edge outwards, towards the opening
CONCAVE, CONCAVE_MEDIAN_LIMIT = {"nasion", "subspinale", "supramentale"}, 1.2


def _people() -> list[tuple]:
    out = []
    for index in PEOPLE:
        subject = draw_subject(41, index)
        nuisance = draw_nuisance(np.random.default_rng([41, index]), max_angle=6.0)
        out.append((subject, nuisance))
    return out


def _axes(view: str, subject, nuisance) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors in the image of the head frame's first axis (subject's left, or forwards) and of 'down'."""
    m = image_frame(view, subject, nuisance, SIZE).matrix
    return m[:, 0] / np.hypot(*m[:, 0]), m[:, 1] / np.hypot(*m[:, 1])


def _sample(image: np.ndarray, point, direction, reach: float, step: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear samples of ``image`` along ``point + t * direction``, t in [-reach, reach] px."""
    t = np.arange(-reach, reach + step / 2, step, dtype=np.float32)
    xs = (point[0] + t * direction[0]).astype(np.float32)[None, :]
    ys = (point[1] + t * direction[1]).astype(np.float32)[None, :]
    values = cv2.remap(image.astype(np.float32), xs, ys, cv2.INTER_LINEAR)
    return t, values.reshape(len(t), -1)


def edge_offset(image: np.ndarray, point, direction, reach: float = 2.5, sigma: float = 1.0) -> float:
    """Where along ``direction`` (px from ``point``) the image changes fastest (all channels),
    on the image smoothed by ``sigma`` px and averaged over five parallel lines 1 px apart."""
    smooth = cv2.GaussianBlur(image.astype(np.float32), (0, 0), sigma)
    across = np.array([-direction[1], direction[0]])
    values = sum(_sample(smooth, np.asarray(point) + k * across, direction, reach)[1] for k in (-2, -1, 0, 1, 2))
    t = _sample(smooth, point, direction, reach)[0]
    slope = np.abs(np.gradient(values, axis=0)).sum(axis=1)
    return float(t[int(np.argmax(slope))])


def ridge_offset(image: np.ndarray, point, direction, reach: float = 2.0, bright: bool = True) -> float:
    """Where along ``direction`` a thin line's intensity peaks (or dips, ``bright=False``)."""
    t, values = _sample(image, point, direction, reach)
    profile = values.mean(axis=1) * (1 if bright else -1)
    return float(t[int(np.argmax(profile))])


def path_length(xray: np.ndarray, nuisance) -> np.ndarray:
    """The radiograph turned back into attenuation (proportional to path length) by undoing its
    exposure (the nuisance's contrast and gamma): an edge's blurred step is then symmetric, and
    its steepest point lies on the edge itself, not shifted towards the dark side."""
    signal = (xray.astype(np.float32) / 255.0 - 0.03) / nuisance.contrast
    signal = np.power(np.clip(signal, 0.0, 0.97), 1.0 / nuisance.gamma)
    return -np.log1p(-np.clip(signal, 0.0, 0.97))


def _unit(v) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return v / np.hypot(*v)


def _offsets(image, marks, normals, reach: float) -> dict[str, float]:
    inside = {n: d for n, d in normals.items() if 4 <= marks[n][0] < SIZE - 4 and 4 <= marks[n][1] < SIZE - 4}
    return {name: edge_offset(image, marks[name], _unit(normal), reach) for name, normal in inside.items()}


def _assert_on_edges(per_person: list[dict[str, float]], median_limit: float = MEDIAN_LIMIT, share: float = SHARE,
                     tolerance: float = TOLERANCE) -> None:
    """Most measurements within :data:`TOLERANCE`, and no landmark off on average (the deepest
    points of narrow concavities by up to :data:`CONCAVE_MEDIAN_LIMIT`)."""
    values = [abs(v) for offsets in per_person for v in offsets.values()]
    misses = sorted(f"{name} {v:+.2f}" for offsets in per_person for name, v in offsets.items() if abs(v) > tolerance)
    assert values and np.mean(np.asarray(values) <= tolerance) >= share, " ".join(misses)
    names = {name for offsets in per_person for name in offsets}
    for name in names:
        median = float(np.median([abs(o[name]) for o in per_person if name in o]))
        limit = max(median_limit, CONCAVE_MEDIAN_LIMIT) if name in CONCAVE else median_limit
        assert median <= limit, f"{name}: median offset {median:.2f} px from the image's edge"


@pytest.fixture(scope="module")
def people() -> list[tuple]:
    return _people()


def test_frontal_xray_points_sit_on_bone_edges(people: list[tuple]) -> None:
    per_person, vault = [], []
    for subject, nuisance in people:
        clean = path_length(render_xray_front(subject, nuisance, SIZE)[1], nuisance)
        marks = image_landmarks("xray-front", subject, nuisance, SIZE)
        left, down = _axes("xray-front", subject, nuisance)
        normals = {"menton": down, "rhinion": -down, "nasospinale": down}
        for name, out in (("right", -left), ("left", left)):
            normals.update({f"zygion_{name}": out, f"ectoconchion_{name}": out, f"dacryon_{name}": -out,
                            f"supraorbitale_{name}": -down, f"orbitale_{name}": down, f"alare_{name}": out,
                            f"gonion_{name}": out + down})
        per_person.append(_offsets(clean, marks, normals, reach=2.0))
        # the vault is a shell: its projection rises from zero like a square root at the outer
        # edge, so the steepest point lies just inside it (by up to about the blur, 1.3 px)
        shell = _offsets(clean, marks, {"vertex": -down, "euryon_right": -left, "euryon_left": left}, reach=3.0)
        vault.extend(shell.values())
    _assert_on_edges(per_person)
    assert all(-2.2 <= v <= 0.3 for v in vault), vault


def test_frontal_xray_midline_is_the_axis_of_symmetry(people: list[tuple]) -> None:
    for subject, nuisance in people[:3]:
        _, clean = render_xray_front(subject, nuisance, SIZE)
        marks = image_landmarks("xray-front", subject, nuisance, SIZE)
        left, _ = _axes("xray-front", subject, nuisance)
        image = cv2.GaussianBlur(clean.astype(np.float32), (0, 0), 1.5)

        def mismatch(shift: float) -> float:
            centre = np.asarray(marks["nasion"]) + shift * left
            reflect = np.eye(2) - 2 * np.outer(left, left)
            matrix = np.hstack([reflect, (centre - reflect @ centre)[:, None]])
            mirrored = cv2.warpAffine(image, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR)
            return float(np.abs(mirrored - image)[SIZE // 8:-SIZE // 8, SIZE // 8:-SIZE // 8].mean())

        shifts = np.arange(-3.0, 3.01, 0.25)
        best = float(shifts[int(np.argmin([mismatch(s) for s in shifts]))])
        assert abs(best) <= 0.5  # the image is symmetric about the line through nasion, within half a pixel
        for name in ("vertex", "glabella", "rhinion", "nasospinale", "prosthion", "menton"):
            assert abs((np.asarray(marks[name]) - np.asarray(marks["nasion"])) @ left) < 0.3, name
        for name in ("euryon", "zygion", "gonion", "orbitale", "dacryon", "alare"):
            mid = (np.asarray(marks[f"{name}_right"]) + np.asarray(marks[f"{name}_left"])) / 2
            assert abs((mid - np.asarray(marks["nasion"])) @ left) < 0.3, name


def test_lateral_xray_points_sit_on_bone_and_skin_edges(people: list[tuple]) -> None:
    bone_offsets, skin_offsets = [], []
    for subject, nuisance in people:
        hazy, clean = (path_length(image, nuisance) for image in render_xray_side(subject, nuisance, SIZE))
        marks = image_landmarks("xray-side", subject, nuisance, SIZE)
        forward, down = _axes("xray-side", subject, nuisance)
        bone = {"glabella": forward, "nasion": forward, "anterior_nasal_spine": forward, "subspinale": forward,
                "supramentale": forward, "pogonion": forward, "menton": down, "gnathion": forward + down,
                "gonion": down - forward, "porion": down, "articulare": -forward}
        offsets = _offsets(clean, marks, bone, reach=2.0)
        offsets["orbitale"] = ridge_offset(clean, marks["orbitale"], down)  # on the orbital rim's line
        bone_offsets.append(offsets)
        # soft tissue alone (the skin line is its outer edge), blurred twice as much as bone, its
        # depth rising like a square root inside the skin: the steepest point lies up to 2 px inside
        skin = {"glabella_soft": forward, "nasion_soft": forward, "pronasale": forward, "labrale_superius": forward,
                "labrale_inferius": forward, "pogonion_soft": forward, "menton_soft": down, "gnathion_soft": forward + down}
        skin_offsets.append(_offsets(hazy - clean, marks, skin, reach=3.0))
    _assert_on_edges(bone_offsets, share=0.8)  # the chin, nasal root and jaw angle crowd several edges
    _assert_on_edges(skin_offsets, median_limit=1.5, tolerance=2.0)


def _foreground(photo: np.ndarray, nuisance) -> np.ndarray:
    """Pixels that are not the photo's backdrop (a vertical gradient between two known colours)."""
    top, bottom = (np.asarray(c, np.float32) for c in nuisance.background)
    t = np.linspace(0.0, 1.0, photo.shape[0], dtype=np.float32)[:, None, None]
    backdrop = top * (1 - t) + bottom * t
    return np.abs(photo.astype(np.float32) - backdrop).sum(axis=2) > 40


def test_profile_photo_points_lie_on_the_silhouette_and_extremes_are_extremes(people: list[tuple]) -> None:
    for subject, nuisance in people:
        photo = render_face_side(subject, nuisance, SIZE)
        marks = image_landmarks("face-side", subject, nuisance, SIZE)
        forward, down = _axes("face-side", subject, nuisance)
        mask = _foreground(photo, nuisance)
        edge = mask ^ cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        ys, xs = np.nonzero(edge)
        for name in ("nasion_soft", "pronasale", "subnasale", "labrale_superius", "stomion", "labrale_inferius",
                     "sublabiale", "pogonion_soft", "gnathion_soft", "menton_soft"):
            x, y = marks[name]
            # within a pixel's diagonal of an edge pixel's centre; a notch narrower than two pixels
            # (the lips' meeting point) is partly filled in
            assert np.hypot(xs - x, ys - y).min() <= (2.0 if name == "stomion" else 1.5), name
        front = np.column_stack([xs, ys]).astype(np.float64)
        # the extremes, each looked for along the stretch of silhouette between its neighbours
        for name, direction, upper, lower in (("pronasale", forward, "nasion_soft", "subnasale"),
                                              ("pogonion_soft", forward, "sublabiale", "menton_soft"),
                                              ("menton_soft", down, "pogonion_soft", None)):
            point = np.asarray(marks[name])
            height = (front - point) @ down
            below = (np.asarray(marks[upper]) - point) @ down
            above = (np.asarray(marks[lower]) - point) @ down if lower else 0.1 * SIZE
            ahead = (front - point) @ forward
            near = ahead > -0.1 * SIZE if lower else np.abs(ahead) < 0.02 * SIZE  # not the neck behind the chin
            band = front[(height > below) & (height < above) & near]
            reach = float(((band - point) @ direction).max())
            # the outermost pixel unlike the backdrop lies up to a pixel beyond the fill's 50 % edge
            assert -1.0 <= reach <= 1.6, f"{name}: the silhouette reaches {reach:+.2f} px beyond it"


def test_frontal_photo_points_sit_on_painted_edges(people: list[tuple]) -> None:
    per_person = []
    for subject, nuisance in people:
        photo = render_face_front(subject, nuisance, SIZE).astype(np.float32)
        marks = image_landmarks("face-front", subject, nuisance, SIZE)
        left, down = _axes("face-front", subject, nuisance)
        jaw = np.asarray([marks[f"jaw_{k:02d}"] for k in range(1, 18)])
        normals = {}
        for k in range(1, 16):  # the jaw line's outward normal, from its neighbours
            tangent = _unit(jaw[k + 1] - jaw[k - 1])
            normals[f"jaw_{k + 1:02d}"] = np.array([tangent[1], -tangent[0]])
        normals.update({"labrale_superius": -down, "labrale_inferius": down})
        for name, out in (("right", -left), ("left", left)):
            normals.update({f"cheilion_{name}": out, f"zygion_soft_{name}": out, f"gonion_soft_{name}": out,
                            f"nostril_{name}_outer": out, f"lower_lid_{name}_1": down,
                            f"lower_lid_{name}_2": down, f"lower_lip_{name}_1": down, f"lower_lip_{name}_2": down,
                            f"upper_lip_{name}_1": -down, f"upper_lip_{name}_2": -down})
            normals.update({f"brow_{name}_{k}": -down for k in (2, 3, 4)})
        offsets = _offsets(photo, marks, normals, reach=1.2)
        for name in ("upper_lid_right_1", "upper_lid_right_2", "upper_lid_left_1", "upper_lid_left_2"):
            offsets[name] = ridge_offset(photo, marks[name], down, bright=False)  # the painted lid line
        offsets["inner_upper_lip_centre"] = ridge_offset(photo, marks["inner_upper_lip_centre"], down, bright=False)
        per_person.append(offsets)
        ppm = image_frame("face-front", subject, nuisance, SIZE).px_per_mm
        for name in ("pupil_right", "pupil_left"):
            # the pupil's centre: halfway between its left and right edges on its middle row, and
            # between its top and bottom on its middle column (the highlight lies off both)
            x, y = marks[name]
            _, row = _sample(photo.sum(axis=2), (x, y), left, 3.0 * ppm)
            t, column = _sample(photo.sum(axis=2), (x, y), down, 3.0 * ppm)
            across = t[row[:, 0] < 3 * 24]
            along = t[column[:, 0] < 3 * 24]
            assert abs((across.min() + across.max()) / 2) <= 0.5 and abs((along.min() + along.max()) / 2) <= 0.5, name
    _assert_on_edges(per_person)
