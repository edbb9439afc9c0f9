"""Ground-truth craniometric landmarks of a simulated skull, in mm of the head frame.

Each point is found on what the radiograph draws: either at a construction point the drawing
uses as it is (sella, the orbit margins, the incisal edges, a line's tip), or by the landmark's
anatomical rule (:mod:`crossid_desktop.anatomy.landmarks`) applied to the outline of the parts
drawn finely with the renderer's own drawing functions (:mod:`crossid_desktop.synth.contour`).
The head frame does not depend on the image, so each image's pixel positions follow from its
frame (:mod:`crossid_desktop.synth.truth`).
"""

from __future__ import annotations

import numpy as np

from crossid_desktop.synth import skull_front_shapes as front
from crossid_desktop.synth import skull_side_shapes as side
from crossid_desktop.synth.contour import Point, Points, arc, extreme, farthest_from_chord, fine_mask, fine_outline, line_end, mm_to_mask, nearest, polygon_crossings, within
from crossid_desktop.synth.params import Subject
from crossid_desktop.synth.raster import Layer, chaikin


def _xy(points: Points, i: int) -> Point:
    return (float(points[i, 0]), float(points[i, 1]))


def xray_front_landmarks_mm(subject: Subject) -> dict[str, Point]:
    """The ``xray-front`` landmarks of ``subject`` (mm, head frame; the subject's right at -x)."""
    k = front.frontal_skull(subject)
    s = k.skull
    ow, oh = s.orbit_width / 2, s.orbit_height / 2
    marks: dict[str, Point] = {"vertex": (0.0, k.vault_top), "glabella": (0.0, -10.0), "nasion": (0.0, 0.0)}
    for name, sign in (("right", -1.0), ("left", 1.0)):
        marks[f"euryon_{name}"] = (sign * s.cranial_width / 2, k.vault_centre_y)
        marks[f"supraorbitale_{name}"] = (sign * k.eye_dx, k.eye_y - oh)
        marks[f"orbitale_{name}"] = (sign * k.eye_dx, k.eye_y + oh)
        marks[f"ectoconchion_{name}"] = (sign * (k.eye_dx + ow), k.eye_y)
        marks[f"dacryon_{name}"] = (sign * (k.eye_dx - ow), k.eye_y)
    aperture = chaikin(np.asarray(front.front_aperture(k), np.float64), 2)
    marks["alare_right"] = _xy(aperture, extreme(aperture, (-1.0, 0.0)))
    marks["alare_left"] = _xy(aperture, extreme(aperture, (1.0, 0.0)))
    marks["rhinion"] = (0.0, float(polygon_crossings(aperture, 0.0)[0]))
    marks["nasospinale"] = (0.0, float(polygon_crossings(aperture, 0.0)[-1]))
    face = chaikin(np.asarray(front.front_face_mass(k), np.float64), 2)
    marks["prosthion"] = (0.0, float(polygon_crossings(face, 0.0)[-1]))
    marks.update(_front_zygia(k))
    marks.update(_front_mandible(k))
    return marks


def _front_zygia(k: front.FrontalSkull) -> dict[str, Point]:
    """Zygion: the most lateral point of the facial skeleton and its arches."""

    def draw(layer: Layer) -> None:
        layer.polygon(front.front_face_mass(k), 1.0, smooth=2)
        for sign in (-1.0, 1.0):
            layer.polyline(front.front_arch(k, sign), 1.0, front.FRONT_ARCH_WIDTH)

    half = k.skull.bizygomatic_width / 2 + 8
    outline = fine_outline(draw, (-half, k.eye_y - 30, half, k.zygion_y + 30))
    return {"zygion_right": _xy(outline, extreme(outline, (-1.0, 0.0))),
            "zygion_left": _xy(outline, extreme(outline, (1.0, 0.0)))}


def _front_mandible(k: front.FrontalSkull) -> dict[str, Point]:
    """Menton (the lowest midline point) and gonion (the apex of each rounded angle)."""
    half = max(k.skull.bigonial_width, k.skull.bizygomatic_width) / 2 + 10
    outline = fine_outline(lambda layer: front.draw_front_mandible(layer, k), (-half, k.eye_y, half, k.menton_y + 10))
    marks = {"menton": _xy(outline, extreme(outline, (0.0, 1.0), within(outline, x=(-2.0, 2.0))))}
    ramus_y = (k.eye_y + 14 + k.gonion_y) / 2
    body_x = (k.skull.bigonial_width + k.skull.chin_width) / 4
    for name, sign in (("right", -1.0), ("left", 1.0)):
        ramus = extreme(outline, (sign, 0.0), within(outline, y=(ramus_y - 0.5, ramus_y + 0.5)))
        body_range = (body_x - 0.5, body_x + 0.5) if sign > 0 else (-body_x - 0.5, -body_x + 0.5)
        body = extreme(outline, (0.0, 1.0), within(outline, x=body_range))
        marks[f"gonion_{name}"] = _xy(outline, farthest_from_chord(outline, ramus, body, (sign, 1.0)))
    return marks


def xray_side_landmarks_mm(subject: Subject) -> dict[str, Point]:
    """The bony ``xray-side`` landmarks of ``subject`` (mm, ``(z, y)``, face towards +z)."""
    k = side.lateral_skull(subject)
    (cz, cy), (length, height) = k.vault_centre, k.vault_axes
    rim_centre, rim_axes = side.orbit_rim(k)
    meatus_centre, meatus_radius = side.meatus(k)
    palate = side.palate(k)
    upper, lower = side.incisors(k)
    marks: dict[str, Point] = {
        "sella": k.sella,
        "orbitale": (rim_centre[0], rim_centre[1] + rim_axes[1]),
        "porion": (meatus_centre[0], meatus_centre[1] - meatus_radius),
        "posterior_nasal_spine": line_end(palate[0], palate[1], side.PALATE_WIDTH),
        "anterior_nasal_spine": line_end(palate[1], palate[0], side.PALATE_WIDTH),
        "rhinion": line_end((0.0, 0.0), k.rhinion, side.NASAL_BONE_WIDTH),
        "upper_incisor_tip": upper[1],
        "lower_incisor_tip": lower[1],
        "vertex": (cz, cy - height),
        "opisthocranion": (cz - length, cy),
    }
    marks.update(_side_upper_face(k, marks))
    marks.update(_side_mandible(k))
    return marks


def _side_upper_face(k: side.LateralSkull, marks: dict[str, Point]) -> dict[str, Point]:
    """Glabella, nasion, subspinale and prosthion on the anterior outline of vault and midface."""

    def draw(layer: Layer) -> None:
        side.draw_side_vault(layer, k)
        side.draw_side_upper_face(layer, k)

    outline = fine_outline(draw, (-60.0, -45.0, 40.0, k.prosthion_y + 12))
    glabella = extreme(outline, (1.0, 0.0), within(outline, x=(-10.0, 40.0), y=(-22.0, -3.0)))
    rhinion = nearest(outline, marks["rhinion"])
    nasion = extreme(outline, (-1.0, 0.0), arc(len(outline), glabella, rhinion))
    spine = nearest(outline, marks["anterior_nasal_spine"])
    prosthion = nearest(outline, side.maxilla(k)[5])
    subspinale = extreme(outline, (-1.0, 0.0), arc(len(outline), spine, prosthion)[1:-1])
    return {"glabella": _xy(outline, glabella), "nasion": _xy(outline, nasion),
            "subspinale": _xy(outline, subspinale), "prosthion": _xy(outline, prosthion)}


def _side_mandible(k: side.LateralSkull) -> dict[str, Point]:
    """Infradentale, B point, pogonion, gnathion, menton, gonion and articulare on the mandible."""
    (_cz, cy), (gz, gy), (mz, my) = k.condylion, k.gonion, k.menton
    box = (gz - 12, cy - 12, max(k.pogonion[0], k.incisor_z) + 12, my + 12)
    outline = fine_outline(lambda layer: side.draw_side_mandible(layer, k), box)
    n = len(outline)
    infradentale = nearest(outline, side.mandible(k)[7])
    menton = extreme(outline, (0.0, 1.0), within(outline, x=((gz + mz) / 2, 1e3)))
    # the chin's front lies below the alveolar concavity (the alveolus may stand further forward)
    pogonion = extreme(outline, (1.0, 0.0), arc(n, nearest(outline, side.b_point(k)), menton))
    supramentale = extreme(outline, (-1.0, 0.0), arc(n, infradentale, pogonion)[1:-1])
    gnathion = farthest_from_chord(outline, pogonion, menton, (1.0, 1.0))
    ramus_y, body_z = (cy + gy) / 2, (gz + mz) / 2
    ramus = extreme(outline, (-1.0, 0.0), within(outline, y=(ramus_y - 0.5, ramus_y + 0.5)))
    body = extreme(outline, (0.0, 1.0), within(outline, x=(body_z - 0.5, body_z + 0.5)))
    gonion = farthest_from_chord(outline, ramus, body, (-1.0, 1.0))
    return {"infradentale": _xy(outline, infradentale), "supramentale": _xy(outline, supramentale),
            "pogonion": _xy(outline, pogonion), "gnathion": _xy(outline, gnathion), "menton": _xy(outline, menton),
            "gonion": _xy(outline, gonion), "articulare": _articulare(k, outline, gonion, box)}


def _articulare(k: side.LateralSkull, outline: Points, gonion: int, box: tuple[float, float, float, float]) -> Point:
    """Where the ramus' posterior border, followed up from gonion, enters the cranial base's outline."""
    base, frame = fine_mask(lambda layer: side.draw_side_petrous(layer, k), box)
    path = arc(len(outline), gonion, nearest(outline, k.condylion))
    for index in path:
        row, col = mm_to_mask(frame, _xy(outline, int(index)))
        if 0 <= row < base.shape[0] and 0 <= col < base.shape[1] and base[row, col]:
            return _xy(outline, int(index))
    raise ValueError("The ramus of the simulated mandible does not reach the cranial base.")

