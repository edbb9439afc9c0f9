"""Where the bones of a simulated skull lie in the lateral view, and how each part is drawn.

The lateral radiograph (:mod:`crossid_desktop.synth.skull`) draws every part into one
attenuation layer; the ground-truth landmarks (:mod:`crossid_desktop.synth.truth_skull`) draw
selected parts alone, finely, to find the outline the image shows. Positions in mm in the
``(z, y)`` plane of :mod:`crossid_desktop.synth.params` (nasion origin, face towards +z, the
image's right; ``y`` down). Values drawn are bone path lengths in mm (negative: lucent).
"""

from __future__ import annotations

from dataclasses import dataclass

from crossid_desktop.synth.params import SkullParams, Subject, face_geometry, mandible_profile
from crossid_desktop.synth.raster import Layer, shell_path
from crossid_desktop.synth.skull_front_shapes import draw_tooth

Point = tuple[float, float]

#: widths (mm) of the lines drawn for the palate, the nasal bones and the mandible's cortex
PALATE_WIDTH = 3.0
NASAL_BONE_WIDTH = 2.2
MANDIBLE_CORTEX_WIDTH = 4.2


@dataclass(frozen=True)
class LateralSkull:
    """The lateral-norm geometry of one skull (mm, ``(z, y)``)."""

    skull: SkullParams
    vault_centre: Point
    vault_axes: Point  # (half length, height above the centre)
    condylion: Point
    gonion: Point  # the angle's construction point (the drawn angle is rounded)
    menton: Point  # the symphysis' construction point
    pogonion: Point  # the chin's construction point
    sella: Point
    rhinion: Point  # lower end of the nasal bones' centre line
    eye_y: float
    orbit_half_height: float
    ans_y: float  # level of the palate's front end
    prosthion_y: float
    incisor_z: float  # front of the incisors
    occlusal_y: float


def lateral_skull(subject: Subject) -> LateralSkull:
    """The lateral-norm geometry of ``subject``'s skull."""
    s, t, g = subject.skull, subject.tissue, face_geometry(subject)
    length = s.cranial_length / 2
    centre = (2.0 - length, -25.0)
    height = -(g.vertex_y + t.scalp) + centre[1]
    condylion, gonion, menton = mandible_profile(s)
    prosthion_y = s.nasal_height + 16.0
    incisor_z = menton[0] + 14.0 + 0.5 * s.chin_projection
    return LateralSkull(s, centre, (length, height), condylion, gonion, menton,
                        (menton[0] + 6.0 + s.chin_projection, menton[1] - 9.0), (-62.0, 14.0),
                        (0.5 * g.nose_projection - t.rhinion - 2.0, 0.45 * s.nasal_height), g.eye_y, s.orbit_height / 2,
                        s.nasal_height, prosthion_y, incisor_z, prosthion_y + 10.0)


def draw_side_vault(layer: Layer, k: LateralSkull) -> None:
    """The vault seen from the side: a hollow ellipsoid, flatter below its centre."""
    u, v = layer.frame.grid()
    layer.values += 0.8 * shell_path(u, v, k.vault_centre, k.vault_axes, 7.0, lower_axis=45.0)


def draw_side_cranial_base(layer: Layer, k: LateralSkull) -> None:
    """Anterior fossa floor to sella, clivus, petrous part, mastoid, acoustic meatus, sella turcica."""
    (cz, _cy), sella = k.condylion, k.sella
    layer.polyline([(-4.0, 4.0), (-30.0, 6.0), (sella[0] + 7, sella[1] - 5)], 16.0, 4.0)
    layer.polyline([(sella[0] - 6, sella[1] - 4), (sella[0] - 12, 40.0), (cz - 8, 52.0)], 14.0, 6.0)
    draw_side_petrous(layer, k)
    layer.ellipse(meatus(k)[0], (meatus(k)[1], meatus(k)[1]), -20.0)
    layer.ellipse(sella, (6.0, 5.5), 14.0, width_mm=2.0, arc=(-10.0, 190.0))
    layer.ellipse((sella[0], sella[1] - 1), (5.0, 4.0), -6.0)


def draw_side_petrous(layer: Layer, k: LateralSkull) -> None:
    """The petrous part and the mastoid: the cranial base the ramus meets at articulare."""
    cz, cy = k.condylion
    layer.ellipse((cz - 14, cy + 4), (16.0, 11.0), 18.0, angle=-25.0)
    layer.ellipse((cz - 22, cy + 20), (8.0, 12.0), 16.0)


def meatus(k: LateralSkull) -> tuple[Point, float]:
    """Centre and radius (mm) of the external acoustic meatus."""
    cz, cy = k.condylion
    return (cz - 12, cy + 2), 3.5


def orbit_rim(k: LateralSkull) -> tuple[Point, Point]:
    """Centre and semi-axes (mm) of the orbital rim's arc (its front half is drawn)."""
    return (-14.0, k.eye_y), (k.orbit_half_height * 0.95, k.orbit_half_height)


def frontal_process(k: LateralSkull) -> list[Point]:
    """The frontal bone over the nasal root, before smoothing: glabella in front, nasion below."""
    return [(0.5, -34.0), (3.0, -10.0), (0.0, 0.0), (-2.0, 5.0), (-16.0, 5.0), (-16.0, -34.0)]


def maxilla(k: LateralSkull) -> list[Point]:
    """The maxilla's outline before smoothing: nasal bones, nasal notch, spine, A point, alveolus."""
    ans_y, pr_y, iz, ey, oh = k.ans_y, k.prosthion_y, k.incisor_z, k.eye_y, k.orbit_half_height
    a_point = (min(4.0, iz + 1.0) - 2.5, ans_y + 7.0)
    return [(0.0, 2.0), k.rhinion, (2.0, ans_y - 6), (4.0, ans_y), a_point, (iz + 1, pr_y), (iz - 8, pr_y + 4),
            (-45.0, pr_y + 1), (-50.0, ans_y + 2), (-52.0, ey + 12), (-24.0, ey + oh)]


def palate(k: LateralSkull) -> list[Point]:
    """The palate's centre line, anterior nasal spine first."""
    return [(4.0, k.ans_y), (-50.0, k.ans_y + 2)]


def draw_side_upper_face(layer: Layer, k: LateralSkull) -> None:
    """Frontal sinus, orbit, frontal bone over the nasal root, maxilla, sinus, zygoma, palate, nasal bones."""
    ey, oh = k.eye_y, k.orbit_half_height
    layer.ellipse((-5.0, -16.0), (6.0, 11.0), -12.0, angle=-15.0)
    centre, axes = orbit_rim(k)
    layer.ellipse(centre, axes, 12.0, width_mm=2.5, arc=(-100.0, 100.0))
    layer.ellipse((-16.0, ey), (oh * 0.8, oh * 0.9), -6.0)
    layer.polygon(frontal_process(k), 14.0, smooth=2)
    layer.polygon(maxilla(k), 13.0, smooth=2)
    layer.ellipse((-26.0, ey + oh + 14), (16.0, 11.0), -10.0)
    layer.ellipse((-30.0, ey + oh + 2), (12.0, 7.0), 12.0, angle=-10.0)
    layer.polyline(palate(k), 14.0, PALATE_WIDTH)
    layer.polyline([(0.0, 0.0), k.rhinion], 14.0, NASAL_BONE_WIDTH)


def b_point(k: LateralSkull) -> Point:
    """The construction point of the anterior mandible's concavity (B point) before smoothing."""
    return (min(k.incisor_z - 2.0, k.pogonion[0]) - 2.5, (k.prosthion_y + 20.0 + k.pogonion[1]) / 2)


def mandible(k: LateralSkull) -> list[Point]:
    """The mandible's outline before smoothing: condyle, notch, coronoid, alveolus, chin, angle."""
    (cz, cy), (gz, gy), (mz, my), pr_y, iz = k.condylion, k.gonion, k.menton, k.prosthion_y, k.incisor_z
    return [(cz, cy), (cz + 4, cy - 3), (cz + 9, cy + 6), (cz + 20, cy + 10), (cz + 28, cy - 4), (cz + 33, cy + 16),
            (-42.0, pr_y + 26), (iz - 2, pr_y + 20), b_point(k), k.pogonion, (mz, my), (gz + 10, gy + 8), (gz, gy)]


def mandible_cortex(k: LateralSkull) -> list[Point]:
    """The cortical border's centre line: ramus, angle, lower border, chin, up to the alveolus."""
    (cz, cy), (gz, gy), (mz, my) = k.condylion, k.gonion, k.menton
    return [(cz - 2, cy + 4), (gz, gy - 6), (gz + 6, gy + 5), (mz, my), k.pogonion, b_point(k),
            (k.incisor_z - 3, k.prosthion_y + 22)]


def draw_side_mandible(layer: Layer, k: LateralSkull) -> None:
    """Body and ramus, the cortical lower border, the symphysis."""
    mz, my = k.menton
    layer.polygon(mandible(k), 11.0, smooth=2)
    layer.polyline(mandible_cortex(k), 20.0, MANDIBLE_CORTEX_WIDTH, smooth=3)
    layer.ellipse(((mz + k.pogonion[0]) / 2 + 1, my - 10), (5.5, 9.0), 12.0, angle=-15.0)


def incisors(k: LateralSkull) -> tuple[tuple[Point, Point, float], tuple[Point, Point, float]]:
    """The upper and the lower central incisor as (root apex, incisal tip, width) in mm; each root
    lies behind its alveolar concavity (A and B point), tipping the crown forwards where the jaw
    is retrusive."""
    iz, pr_y, occ = k.incisor_z, k.prosthion_y, k.occlusal_y
    upper_apex = min(iz - 5.0, maxilla(k)[4][0] - 4.0)
    lower_apex = min(iz - 7.0, b_point(k)[0] - 4.0)
    return (((upper_apex, pr_y - 12.0), (iz + 3.5, occ + 1.0), 7.0),
            ((lower_apex, pr_y + 31.0), (iz + 0.5, occ - 1.5), 6.0))


def draw_side_teeth(layer: Layer, k: LateralSkull) -> None:
    """Teeth along the occlusal plane: incisors proclined at the front, premolars and molars behind."""
    for apex, tip, width in incisors(k):
        draw_tooth(layer, apex, tip, width)
    for j in range(5):
        z = k.incisor_z - 12.0 - 8.6 * j
        width = 7.0 if j < 2 else 9.0
        draw_tooth(layer, (z - 1.0, k.occlusal_y - 20.0), (z, k.occlusal_y - 0.6), width)
        draw_tooth(layer, (z - 1.5, k.occlusal_y + 21.0), (z, k.occlusal_y + 0.6), width)


def draw_side_spine(layer: Layer, k: LateralSkull) -> None:
    """Cervical vertebrae behind the ramus (atlas arch, dens, bodies with spinous processes), hyoid."""
    spine_z = k.gonion[0] - 22.0
    layer.ellipse((spine_z + 12, 36.0), (4.5, 3.5), 20.0)
    for j in range(5):
        y0 = 44.0 + 17.0 * j if j else 30.0
        h = 13.0 if j else 30.0
        body = [(spine_z + 8, y0), (spine_z - 8, y0 + 1), (spine_z - 8, y0 + h), (spine_z + 8, y0 + h + 1)]
        layer.polygon(body, 12.0)
        layer.polyline(body, 12.0, 1.6, closed=True)
        layer.polygon([(spine_z - 9, y0 + 3), (spine_z - 22, y0 + h * 0.5 + 5), (spine_z - 23, y0 + h * 0.5 + 8),
                       (spine_z - 9, y0 + h - 2)], 5.0, smooth=2)
    mz, my = k.menton
    layer.ellipse((mz - 22.0, my + 14.0), (6.0, 2.5), 14.0, angle=-10.0)  # hyoid
