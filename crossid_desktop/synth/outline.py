"""The outline of the skin surface, shared by the X-ray soft-tissue haze and the photos.

Coordinates in mm in the head frame of :mod:`crossid_desktop.synth.params` (nasion origin,
``x`` to the subject's left, ``y`` down, ``z`` forwards). The frontal outline is a half-width
per height; the profile is a closed polygon in ``(z, y)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.synth.params import FaceGeometry, Subject, face_geometry, mandible_profile
from crossid_desktop.synth.raster import chaikin

#: lowest height (mm below nasion) the outlines reach: the neck continues to here
NECK_BOTTOM = 260.0


@dataclass(frozen=True)
class FrontalOutline:
    """Half-width of the head (and neck) at each height: ``half_width[i]`` at ``y[i]`` (mm)."""

    y: NDArray[np.float32]
    half_width: NDArray[np.float32]
    neck_half_width: float
    neck_top: float

    def at(self, y: NDArray[np.float32]) -> NDArray[np.float32]:
        """Half-width (mm) at heights ``y`` (any shape); 0 outside the head, the neck below."""
        face = np.interp(y, self.y, self.half_width, left=0.0, right=0.0)
        neck = np.where(y > self.neck_top, self.neck_half_width, 0.0)
        return np.maximum(face, neck).astype(np.float32)


def frontal_outline(subject: Subject, geometry: FaceGeometry | None = None) -> FrontalOutline:
    """The head outline seen from the front: cranium, temples, cheekbones, jaw line, chin."""
    g = geometry or face_geometry(subject)
    widest = g.vertex_y + 0.42 * (g.chin_y - g.vertex_y) * 0.55
    top = np.linspace(g.vertex_y, g.brow_y + 4.0, 24)
    cranium = g.head_half_width * np.sqrt(np.clip(1.0 - ((top - widest) / (widest - g.vertex_y)) ** 2, 0.0, 1.0))
    cranium = np.maximum(cranium, np.where(top > widest, g.head_half_width * 0.9, 0.0))
    temple = min(g.head_half_width * 0.93, g.cheek_half_width - 2.0)
    mid = (g.cheek_y + g.jaw_y) / 2
    knots_y = [*top, g.eye_y - 2.0, g.cheek_y, mid, g.jaw_y, g.chin_y - 14.0, g.chin_y - 5.0, g.chin_y]
    knots_w = [*cranium, temple, g.cheek_half_width, 0.55 * g.cheek_half_width + 0.45 * g.jaw_half_width,
               g.jaw_half_width * 0.97, g.chin_half_width + 7.0, g.chin_half_width * 0.75, 0.0]
    y = np.arange(g.vertex_y, g.chin_y + 0.5, 1.0, dtype=np.float32)
    w = np.interp(y, np.asarray(knots_y), np.asarray(knots_w))
    kernel = np.hanning(9)
    kernel /= kernel.sum()
    smooth = np.convolve(np.pad(w, 4, mode="edge"), kernel, mode="valid")
    smooth[0] = 0.0
    return FrontalOutline(y, smooth.astype(np.float32), float(0.6 * g.jaw_half_width), float(g.jaw_y + 8.0))


#: indices of construction points in :func:`profile_front`: the nasal root, the nose's
#: underside, subnasale, the lips' meeting point, the labiomental fold, under the chin, the throat
PROFILE_NASION, PROFILE_NOSE_TIP, PROFILE_SUBNASALE, PROFILE_STOMION = 1, 3, 5, 8
PROFILE_SUBLABIALE, PROFILE_SUBMENTAL, PROFILE_CERVICAL = 10, 13, 14


def profile_front(subject: Subject, geometry: FaceGeometry | None = None) -> list[tuple[float, float]]:
    """The construction points of the face's profile ``(z, y)`` in mm, forehead to neck."""
    s, t = subject.skull, subject.tissue
    g = geometry or face_geometry(subject)
    (_, _), (gz, gy), (mz, my) = mandible_profile(s)
    pog_z = mz + 6.0 + s.chin_projection
    incisor_z = mz + 14.0 + 0.5 * s.chin_projection
    return [
        (2.0 + t.glabella, -10.0),
        (t.nasion - 1.0, 1.0),
        (0.5 * g.nose_projection + 2.0, 0.45 * s.nasal_height),
        (g.nose_projection, g.nose_y - 7.0),
        (g.nose_projection - 4.0, g.nose_y - 2.0),
        (0.3 * g.nose_projection, g.nose_y),
        (max(incisor_z, -8.0) + t.mid_philtrum * 0.9, g.mouth_y - 6.0),
        (max(incisor_z, -8.0) + t.upper_lip - 1.0, g.mouth_y - 1.5),
        (max(incisor_z, -8.0) + t.upper_lip - 5.0, g.mouth_y),
        (incisor_z - 2.0 + t.lower_lip, g.mouth_y + 6.0),
        (pog_z + t.pogonion - 6.0, (g.mouth_y + my) / 2 + 5.0),
        (pog_z + t.pogonion, my - 9.0),
        (mz + t.menton * 0.4, g.chin_y - 1.0),
        (mz - 12.0, g.chin_y - 3.0),  # under the chin, rising from soft-tissue menton to the throat
        (min(gz + 25.0, mz - 22.0), min(gy + 42.0, g.chin_y - 9.0)),  # cervical point: the chin-throat angle
        (gz + 18.0, NECK_BOTTOM),
    ]


def profile_polygon(subject: Subject, geometry: FaceGeometry | None = None) -> NDArray[np.float32]:
    """The head and neck silhouette seen from the subject's right side, facing +z.

    Returns ``(n, 2)`` float32 points ``(z, y)`` in mm, a closed smooth polygon.
    """
    s, t = subject.skull, subject.tissue
    g = geometry or face_geometry(subject)
    (_, _), (gz, gy), _ = mandible_profile(s)
    front = profile_front(subject, g)
    length = s.cranial_length / 2 + t.scalp
    centre_z, centre_y = 2.0 + t.glabella - length, -25.0
    height = -g.vertex_y + centre_y
    back = [(gz - 60.0, NECK_BOTTOM), (gz - 50.0, gy + 25.0), (gz - 45.0, 35.0)]
    angles = np.radians(np.linspace(200.0, 22.0, 30))
    vault = [(centre_z + length * np.cos(a), centre_y - height * np.sin(a)) for a in angles]
    points = np.asarray([*front, *back, *vault], dtype=np.float32)
    return chaikin(points, 2).astype(np.float32)
