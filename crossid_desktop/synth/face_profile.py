"""Profile photos of a simulated person: the head seen from its right side, facing the image's right.

The silhouette is the profile polygon (:func:`crossid_desktop.synth.outline.profile_polygon`),
shared with the lateral X-ray's skin line; it is shaded as a soft height field and hair, ear,
eye, eyebrow, lips and nostril are painted on it.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from crossid_desktop.synth import paint
from crossid_desktop.synth.outline import profile_polygon
from crossid_desktop.synth.params import Nuisance, Subject, face_geometry, mandible_profile
from crossid_desktop.synth.raster import Frame

#: field of view of a profile photo, mm across the image side, and the head point at its centre
PROFILE_FIELD_OF_VIEW_MM = 270.0
_PROFILE_CENTRE_MM = (-70.0, 14.0)


def side_frame(nuisance: Nuisance, size: int) -> Frame:
    """The frame of a profile photo: the whole head and the chin in view, with the pose nuisance."""
    centre = (size / 2 + nuisance.shift[0] * size, size / 2 + nuisance.shift[1] * size)
    return Frame.make(size, size / PROFILE_FIELD_OF_VIEW_MM * nuisance.scale, _PROFILE_CENTRE_MM, centre, nuisance.angle)


def render_face_side(subject: Subject, nuisance: Nuisance, size: int) -> NDArray[np.uint8]:
    """A profile photo (facing right) as ``(size, size, 3)`` RGB uint8."""
    g, a, t = face_geometry(subject), subject.appearance, subject.tissue
    frame = side_frame(nuisance, size)
    s = frame.px_per_mm
    z, v = frame.grid()
    canvas = paint.background(size, nuisance)
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(frame.px(profile_polygon(subject, g)) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    sigma = 14.0 * s
    height = 40.0 * cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), sigma)
    (cz, cy), _, _ = mandible_profile(subject.skull)
    skin = np.asarray(a.skin, np.float32)
    shade = paint.lambert(height, (nuisance.light[2] * 0.3, nuisance.light[1], 0.9), s)
    paint.blend(canvas, skin[None, None, :] * shade[..., None], mask.astype(np.float32) / 255.0)
    alpha = mask.astype(np.float32) / 255.0
    ear_z, ear_y = cz - 12.0, (g.brow_y + g.nose_y) / 2 + 4.0
    eye_z = t.nasion - 12.0
    hair = np.asarray(a.hair, np.float32)
    # hair over the vault (and down the back for long hair)
    if a.hair_style != "bald":
        top = g.brow_y - (12.0 if a.hair_style == "fringe" else 24.0)
        nape = {"long": g.chin_y + 30.0, "bun": ear_y + 12.0}.get(a.hair_style, ear_y + 2.0)
        line = np.interp(z, [ear_z - 300.0, ear_z - 16.0, ear_z + 10.0, eye_z - 20.0, eye_z, 300.0],
                         [nape, nape, ear_y - 22.0, top + 6.0, top, top]).astype(np.float32)
        grow = max(3, int(round(6.0 * s)) | 1)
        volume = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
        region = np.minimum(line - v, np.where(volume > 127, 3.0, -3.0).astype(np.float32))
        occiput_z = 2.0 + t.glabella - subject.skull.cranial_length - 2.0 * t.scalp
        if a.hair_style == "long":
            band = np.minimum(np.minimum(ear_z - 14.0 - z, z - occiput_z + 6.0), np.minimum(g.chin_y + 30.0 - v, v - g.eye_y + 20.0))
            region = np.maximum(region, band)
        if a.hair_style == "bun":
            region = np.maximum(region, 16.0 - np.hypot(z - occiput_z - 30.0, v - g.vertex_y - 18.0))
        texture = paint.hair_texture(size, nuisance.noise_seed, vertical=False)
        paint.blend(canvas, hair[None, None, :] * (texture * (0.75 + 0.25 * shade))[..., None], paint.soft(region, s))
    # ear, eye, eyebrow, lips, nostril
    if a.hair_style != "long":
        ear = 1.0 - (((z - ear_z) / 11.0) ** 2 + ((v - ear_y) / 27.0) ** 2)
        paint.blend(canvas, skin * 0.8, paint.soft(ear * 5.0, s))
        helix = 2.0 - np.abs(np.hypot((z - ear_z) / 1.3, v - ear_y) - 12.0)
        paint.blend(canvas, skin * 0.55, paint.soft(helix, s) * (z < ear_z + 4) * (ear > 0))
    eye = 1.0 - (((z - eye_z) / 5.0) ** 2 + ((v - g.eye_y) / 4.0) ** 2)
    paint.blend(canvas, (230, 226, 220), paint.soft(eye * 3.0, s))
    paint.blend(canvas, np.asarray(a.eye, np.float32), paint.soft(eye * 3.0, s) * (z > eye_z + 1.0))
    arch = g.brow_y + 2.0 - 3.0 * nuisance.brow_raise + 0.0125 * (z - eye_z) ** 2
    brow = np.minimum(a.eyebrow_thickness / 2 - np.abs(v - arch), 12.0 - np.abs(z - eye_z + 1.0))
    paint.blend(canvas, hair * 0.7, 0.85 * paint.soft(brow, s))
    lip_colour = skin * (1 - a.lip_tint) + np.asarray((170, 60, 70), np.float32) * a.lip_tint
    front = _frontmost(mask, frame, g.mouth_y)
    lips = paint.soft(np.minimum(6.5 - np.abs(v - g.mouth_y), z - (front - 8.0)), s)
    paint.blend(canvas, lip_colour * 0.9, lips * alpha)
    paint.blend(canvas, (60, 25, 30), paint.soft(0.6 - np.abs(v - g.mouth_y), s) * (z > front - 12.0) * alpha)
    nostril = 1.0 - (((z - g.nose_projection * 0.55) / 4.0) ** 2 + ((v - g.nose_y + 2.0) / 1.8) ** 2)
    paint.blend(canvas, skin * 0.4, paint.soft(nostril * 2.0, s))
    return paint.finish(canvas, nuisance)


def _frontmost(mask: NDArray[np.uint8], frame: Frame, y_mm: float) -> float:
    """The most anterior skin position (z, mm) at height ``y_mm`` of the profile mask."""
    row = int(np.clip(round(frame.px([(0.0, y_mm)])[0, 1]), 0, mask.shape[0] - 1))
    cols = np.flatnonzero(mask[row] > 127)
    if cols.size == 0:
        return 0.0
    inverse = cv2.invertAffineTransform(frame.matrix)
    return float(inverse[0, 0] * cols[-1] + inverse[0, 1] * row + inverse[0, 2])
