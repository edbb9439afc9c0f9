"""Where the bones of a simulated skull lie in the frontal (PA) view, and how each part is drawn.

The radiographs (:mod:`crossid_desktop.synth.skull`) draw every part into one attenuation
layer; the ground-truth landmarks (:mod:`crossid_desktop.synth.truth_skull`) draw selected
parts alone, finely, to find the outline the image shows. Both call the same drawing
functions, so a landmark lies where the bone is drawn.

Positions follow :mod:`crossid_desktop.synth.params`: mm, nasion origin, ``x`` to the subject's
left, ``y`` down. Values drawn are bone path lengths in mm (negative: a lucent cavity inside
bone). The lateral view is :mod:`crossid_desktop.synth.skull_side_shapes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crossid_desktop.synth.params import SkullParams, Subject, face_geometry, mandible_profile
from crossid_desktop.synth.raster import Layer, shell_path

Point = tuple[float, float]


@dataclass(frozen=True)
class FrontalSkull:
    """The frontal (PA) norm of a skull: vault, orbits, aperture and jaw levels (mm)."""

    skull: SkullParams
    vault_centre_y: float  # centre of the vault ellipse
    vault_top: float  # y of the vertex
    eye_dx: float  # orbit centre, off the midline
    eye_y: float  # orbit centre level
    zygion_y: float  # level of the zygomatic arches
    gonion_y: float
    menton_y: float
    prosthion_y: float
    condyle_x: float  # half the distance between the condyles


def frontal_skull(subject: Subject) -> FrontalSkull:
    """The frontal-norm geometry of ``subject``'s skull."""
    s, g = subject.skull, face_geometry(subject)
    (_, _), (_, gonion_y), (_, menton_y) = mandible_profile(s)
    return FrontalSkull(s, -35.0, g.vertex_y + subject.tissue.scalp, g.eye_dx, g.eye_y, g.cheek_y, gonion_y, menton_y,
                        s.nasal_height + 16.0, s.bizygomatic_width / 2 - 16)


def draw_front_vault(layer: Layer, k: FrontalSkull) -> None:
    """The vault; its walls run down to the mastoids and fade into the skull base below the orbits."""
    u, v = layer.frame.grid()
    axes = (k.skull.cranial_width / 2, k.vault_centre_y - k.vault_top)
    vault = shell_path(u, v, (0.0, k.vault_centre_y), axes, 6.5, lower_axis=80.0)
    layer.values += vault * np.clip((40.0 - v) / 40.0, 0.0, 1.0)


def front_aperture(k: FrontalSkull) -> list[Point]:
    """The piriform aperture (pear shaped) before smoothing."""
    s = k.skull
    half_w, nh = s.nasal_width / 2, s.nasal_height
    return [(0.0, 0.42 * nh), (half_w * 0.6, 0.55 * nh), (half_w, 0.82 * nh), (half_w * 0.7, nh), (0.0, nh - 2),
            (-half_w * 0.7, nh), (-half_w, 0.82 * nh), (-half_w * 0.6, 0.55 * nh)]


def front_face_mass(k: FrontalSkull) -> list[Point]:
    """The facial skeleton's outline (maxilla, zygomas, nasal bones) before smoothing."""
    s, ex, ey, ow, oh, zy = k.skull, k.eye_dx, k.eye_y, k.skull.orbit_width / 2, k.skull.orbit_height / 2, k.zygion_y
    half_z, half_m = s.bizygomatic_width / 2, s.maxilla_width / 2
    return [(-ex - ow - 2, ey - oh), (-half_z, zy), (-half_z + 9, zy + 9), (-half_m, s.nasal_height - 6),
            (-half_m + 14, k.prosthion_y), (half_m - 14, k.prosthion_y), (half_m, s.nasal_height - 6),
            (half_z - 9, zy + 9), (half_z, zy), (ex + ow + 2, ey - oh)]


def front_arch(k: FrontalSkull, side: float) -> list[Point]:
    """The zygomatic arch and lateral orbital rim of one side (``side`` -1 right, +1 left)."""
    s, ex, ey, ow, oh, zy = k.skull, k.eye_dx, k.eye_y, k.skull.orbit_width / 2, k.skull.orbit_height / 2, k.zygion_y
    rim = ORBIT_RIM_WIDTH + FRONT_ARCH_WIDTH / 2  # the arch starts outside the orbital rim
    return [(side * (ex + ow + rim), ey - oh), (side * (ex + ow + rim + 3), ey + oh * 0.6),
            (side * (s.bizygomatic_width / 2 - 1.5), zy), (side * (s.bizygomatic_width / 2 - 8), zy + 8)]


#: widths (mm) of the zygomatic arch and of the orbital rim (which lies outside the orbit's opening)
FRONT_ARCH_WIDTH = 4.5
ORBIT_RIM_WIDTH = 2.2


def draw_front_midface(layer: Layer, k: FrontalSkull) -> None:
    """Mastoids, petrous ridges, facial skeleton, arches, orbits, sinuses and the nasal aperture."""
    s, ex, ey, ow, oh = k.skull, k.eye_dx, k.eye_y, k.skull.orbit_width / 2, k.skull.orbit_height / 2
    for side in (-1, 1):
        layer.ellipse((side * (s.cranial_width / 2 - 24), 30.0), (8.0, 13.0), 14.0)
        layer.polyline([(side * 14.0, ey + oh + 6), (side * (s.cranial_width / 2 - 14), ey + oh + 14)], 10.0, 5.0)
    layer.polygon(front_face_mass(k), 16.0, smooth=2)
    for side in (-1, 1):
        layer.polyline(front_arch(k, side), 18.0, FRONT_ARCH_WIDTH)  # dense bone seen end-on
        layer.ellipse((side * ex, ey), (ow, oh), -24.0)  # orbit: a lucent opening in a bright rim
        rim = ORBIT_RIM_WIDTH / 2
        layer.ellipse((side * ex, ey), (ow + rim, oh + rim), 12.0, width_mm=ORBIT_RIM_WIDTH)
        layer.ellipse((side * (s.nasal_width / 2 + 13), ey + oh + 14), (11.0, 12.0), -9.0)  # maxillary sinus
        layer.ellipse((side * 7.0, -14.0), (8.0, 7.5), -7.0, angle=side * 20.0)  # frontal sinus lobes
    layer.polygon(front_aperture(k), -13.0, smooth=2)
    layer.polyline([(0.0, 0.45 * s.nasal_height), (0.0, s.nasal_height - 2)], 6.0, 1.8)  # septum


def front_ramus(k: FrontalSkull, side: float) -> list[Point]:
    """One half of the mandible's outline, condyle to the chin's midline, before smoothing."""
    s = k.skull
    return [(side * k.condyle_x, k.eye_y + 14), (side * s.bigonial_width / 2, k.gonion_y),
            (side * s.chin_width / 2, k.menton_y - 5), (0.0, k.menton_y)]


#: width (mm) of the mandible's cortical outline in the frontal view
FRONT_RAMUS_WIDTH = 6.0


def draw_front_mandible(layer: Layer, k: FrontalSkull) -> None:
    """Rami, angles, body and chin."""
    s, gonion_y, menton_y = k.skull, k.gonion_y, k.menton_y
    for side in (-1, 1):
        layer.polyline(front_ramus(k, side), 26.0, FRONT_RAMUS_WIDTH, smooth=3)
    body = [(-s.bigonial_width / 2 + 4, gonion_y - 6), (-s.chin_width / 2, menton_y - 6), (0, menton_y - 2),
            (s.chin_width / 2, menton_y - 6), (s.bigonial_width / 2 - 4, gonion_y - 6),
            (s.maxilla_width / 2 - 10, k.prosthion_y + 14), (-s.maxilla_width / 2 + 10, k.prosthion_y + 14)]
    layer.polygon(body, 14.0, smooth=2)


def draw_front_teeth_and_spine(layer: Layer, k: FrontalSkull) -> None:
    """Upper and lower teeth (incisors in front, brightest where crowns overlap), cervical spine."""
    occlusal = k.prosthion_y + 9.0
    arch = k.skull.maxilla_width / 2 - 12
    for j in range(-7, 8):
        x = arch * np.sin(j / 7.5 * 1.35)
        w = 4.2 if abs(j) < 3 else 3.4
        draw_tooth(layer, (x * 1.03, occlusal - 21.0), (x, occlusal - 0.5), 2 * w)
        draw_tooth(layer, (x * 1.02, occlusal + 19.0), (x, occlusal + 0.5), 1.8 * w)
    for j in range(4):
        y0 = k.menton_y - 18 + 17 * j
        layer.polygon([(-12.0, y0), (12.0, y0), (12.5, y0 + 13), (-12.5, y0 + 13)], 9.0)


def draw_tooth(layer: Layer, apex: Point, tip: Point, width: float) -> None:
    """A tooth from root apex to crown tip (mm): a tapered root and a brighter enamel crown."""
    a, t = np.asarray(apex), np.asarray(tip)
    d = t - a
    n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-6)
    half = width / 2

    def at(f: float, w: float, side: float) -> Point:
        p = a + f * d + side * w * n
        return (float(p[0]), float(p[1]))

    root = [at(0.0, 0.15 * half, 1), at(0.6, 0.8 * half, 1), at(0.6, 0.8 * half, -1), at(0.0, 0.15 * half, -1)]
    crown = [at(0.55, 0.85 * half, 1), at(0.85, half, 1), at(1.0, 0.6 * half, 1), at(1.0, 0.6 * half, -1),
             at(0.85, half, -1), at(0.55, 0.85 * half, -1)]
    layer.polygon(root, 14.0, smooth=1)
    layer.polygon(crown, 26.0, smooth=1)
