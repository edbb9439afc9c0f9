"""Frontal face photos of a simulated person, in the canonical aligned layout.

The face is a height field in mm built from the head outline (an ellipsoid-like head whose
silhouette follows cheekbones, jaw line and chin) plus nose, brow ridge, eye sockets, cheeks,
lips and chin; it is shaded with a Lambertian model under the image's light direction. Eyes,
eyebrows, lips, nostrils and hair are painted on top, back to front. All geometry comes from the
skull and the tissue thickness (:func:`~crossid_desktop.synth.params.face_geometry`); colours
come from the appearance, which is independent of the skull. Profile photos:
:mod:`crossid_desktop.synth.face_profile`; landmarks: :mod:`crossid_desktop.synth.truth_face`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.canonical import CANONICAL
from crossid_desktop.synth import paint
from crossid_desktop.synth.outline import FrontalOutline, frontal_outline
from crossid_desktop.synth.paint import Image
from crossid_desktop.synth.params import FaceGeometry, Nuisance, Subject, face_geometry
from crossid_desktop.synth.raster import Frame

#: the painted eye: half-width per mm of orbit width, and half-height (mm)
EYE_HALF_WIDTH_PER_ORBIT = 0.36
EYE_HALF_HEIGHT = 5.0


def frontal_frame(subject: Subject, nuisance: Nuisance, size: int) -> Frame:
    """The frame that puts the eye centres at the canonical template positions (up to the nuisance)."""
    g = face_geometry(subject)
    (rx, ry), (lx, ly) = CANONICAL.right_eye, CANONICAL.left_eye
    template_angle = np.degrees(np.arctan2(ly - ry, lx - rx))
    px_per_mm = CANONICAL.eye_distance * size / (2 * g.eye_dx) * nuisance.scale
    centre = ((rx + lx) / 2 * size + nuisance.shift[0] * size, (ry + ly) / 2 * size + nuisance.shift[1] * size)
    return Frame.make(size, px_per_mm, (0.0, g.eye_y), centre, template_angle + nuisance.angle)


@dataclass(frozen=True)
class _Scene:
    """What every layer of a frontal photo needs: geometry, frame, pixel mm coordinates, outline."""

    subject: Subject
    nuisance: Nuisance
    g: FaceGeometry
    frame: Frame
    s: float  # pixels per mm
    u: Image  # mm across (subject's left positive) of every pixel
    v: Image  # mm down
    au: Image  # |u|
    outline: FrontalOutline
    half: Image  # the head's (and neck's) half-width at every pixel's height


def render_face_front(subject: Subject, nuisance: Nuisance, size: int) -> NDArray[np.uint8]:
    """A frontal photo ``(size, size, 3)`` RGB uint8 in the canonical layout."""
    g = face_geometry(subject)
    frame = frontal_frame(subject, nuisance, size)
    u, v = frame.grid()
    outline = frontal_outline(subject, g)
    scene = _Scene(subject, nuisance, g, frame, frame.px_per_mm, u, v, np.abs(u), outline, outline.at(v))
    canvas = paint.background(size, nuisance)
    texture = paint.hair_texture(size, nuisance.noise_seed, vertical=True)
    volume = _hair_behind(canvas, scene, texture)
    _ears(canvas, scene)
    shade = _shading(scene, _height_field(scene))
    _skin(canvas, scene, shade)
    _lips(canvas, scene, shade)
    _nostrils_eyes_brows(canvas, scene)
    if volume is not None:
        _hair_in_front(canvas, scene, volume, texture, shade)
    return paint.finish(canvas, nuisance)


def _hair_behind(canvas: Image, scene: _Scene, texture: Image) -> Image | None:
    """Hair behind the head, with a contact shadow next to the face; the hair's volume (mm inside
    its outline at every pixel), or None for a bald head."""
    g, a, u, v, au, s = scene.g, scene.subject.appearance, scene.u, scene.v, scene.au, scene.s
    if a.hair_style == "bald":
        return None
    hair = np.asarray(a.hair, np.float32)
    widest = g.vertex_y + 0.4 * (g.eye_y - g.vertex_y)
    reach = (v - widest) / (widest - g.vertex_y + 7.0)
    volume = (g.head_half_width + 6.0) * np.sqrt(np.clip(1.0 - np.where(v < widest, reach, 0.0) ** 2, 0.0, 1.0))
    back = np.where(v < g.eye_y - 6.0, volume - au, -1.0)
    if a.hair_style == "long":
        fall = (g.cheek_half_width + 13.0) * np.sqrt(np.clip(1.0 - ((v - g.eye_y + 6.0) / (g.chin_y + 12.0 - g.eye_y)) ** 2, 0.0, 1.0))
        back = np.where(v >= g.eye_y - 6.0, np.maximum(fall, volume) - au, back)
    if a.hair_style == "bun":
        back = np.maximum(back, 20.0 - np.hypot(u, v - g.vertex_y + 2.0))
    paint.blend(canvas, hair[None, None, :] * texture[..., None], paint.soft(back, s))
    shadow = 1.0 - 0.6 * np.exp(-np.clip(au - scene.half, 0.0, None) / 2.5)
    canvas *= np.where(back > 0, shadow, 1.0).astype(np.float32)[..., None]
    return volume


def _ears(canvas: Image, scene: _Scene) -> None:
    """Ears behind the cheeks."""
    g, a, u, v, s = scene.g, scene.subject.appearance, scene.u, scene.v, scene.s
    skin = np.asarray(a.skin, np.float32)
    ear_y = (g.brow_y + g.nose_y) / 2 + 4.0
    for side in (-1.0, 1.0):
        ear_x = side * (float(scene.outline.at(np.asarray([ear_y], np.float32))[0]) + a.ear_protrusion - 8.0)
        ear = 1.0 - (((u - ear_x) / 10.0) ** 2 + ((v - ear_y) / 28.0) ** 2)
        paint.blend(canvas, skin * 0.8, paint.soft(ear * 8.0, s))


def _height_field(scene: _Scene) -> Image:
    """The face's relief in mm: a rounded head, the nose, alae, eye sockets, cheeks, brow, lips, chin."""
    g, u, v, frame = scene.g, scene.u, scene.v, scene.frame
    height = 55.0 * np.sqrt(np.clip(1.0 - (u / np.maximum(scene.half, 1.0)) ** 2, 0.0, 1.0))
    nose_run = np.clip((v - g.eye_y + 4.0) / (g.nose_y - g.eye_y), 0.0, 1.0)
    nose_width = 4.0 + nose_run**2 * g.nose_half_width * 0.55
    nose = g.nose_projection * 0.6 * nose_run * np.exp(-((u / nose_width) ** 2)) * (v < g.nose_y)
    height += nose
    bumps = [(3.0, g.nose_half_width * 0.75, g.nose_y - 4.0, 4.5, 4.0), (-7.0, g.eye_dx, g.eye_y, 15.0, 10.0),
             (5.0, g.eye_dx + 8.0, g.cheek_y + 6.0, 14.0, 12.0)]
    for amplitude, bx, by, sx, sy in bumps:
        for side in (-1.0, 1.0):
            w = paint.window(frame, side * bx, by, 2.5 * sx, 2.5 * sy)
            height[w] += amplitude * paint.gauss(u[w], v[w], side * bx, by, sx, sy)
    for amplitude, by, sx, sy in ((4.0, g.brow_y + 4.0, 45.0, 5.0), (4.0, g.mouth_y, g.mouth_half_width * 1.1, 7.0),
                                  (5.0, g.chin_y - 12.0, g.chin_half_width * 0.8, 9.0)):
        w = paint.window(frame, 0.0, by, 2.5 * sx, 2.5 * sy)
        height[w] += amplitude * paint.gauss(u[w], v[w], 0.0, by, sx, sy)
    return height


def _shading(scene: _Scene, height: Image) -> Image:
    """Lambertian shading of the relief, with the cast shadows it cannot give: under the nose, and
    on the neck under the jaw (its edge, 1 mm inside the face's outline, is the visible jaw line)."""
    g, u, v = scene.g, scene.u, scene.v
    shade = paint.lambert(height, scene.nuisance.light, scene.s)
    w = paint.window(scene.frame, 0.0, g.nose_y + 3.0, 2.5 * g.nose_half_width, 10.0)
    shade[w] *= 1.0 - 0.1 * paint.gauss(u[w], v[w], 0.0, g.nose_y + 2.0, 0.6 * g.nose_half_width, 2.5)
    face_only = np.interp(v, scene.outline.y, scene.outline.half_width, left=0.0, right=0.0)
    under_jaw = (scene.au > face_only - 1.0) & (v > g.jaw_y) & (v < g.chin_y + 25.0)
    shade *= np.where(under_jaw, 0.72 + 0.28 * np.clip((v - g.chin_y) / 25.0, 0.0, 1.0), 1.0).astype(np.float32)
    return shade


def _skin(canvas: Image, scene: _Scene, shade: Image) -> None:
    """The shaded skin inside the head's outline, with a little colour on the cheeks."""
    g, u, v = scene.g, scene.u, scene.v
    skin = np.asarray(scene.subject.appearance.skin, np.float32)
    face_alpha = paint.soft(scene.half - scene.au, scene.s)
    colour = skin[None, None, :] * shade[..., None]
    for side in (-1.0, 1.0):
        w = paint.window(scene.frame, side * (g.eye_dx + 6.0), g.cheek_y + 10.0, 30.0, 30.0)
        blush = 0.07 * paint.gauss(u[w], v[w], side * (g.eye_dx + 6.0), g.cheek_y + 10.0, 12.0, 10.0)
        colour[w] += blush[..., None] * (np.asarray((215.0, 95.0, 95.0), np.float32) - colour[w])
    paint.blend(canvas, colour, face_alpha)


def _lips(canvas: Image, scene: _Scene, shade: Image) -> None:
    """The lips (a Cupid's bow above, a fuller lower lip) and the line between them; a smile
    widens the mouth and lifts its corners."""
    g, a, s = scene.g, scene.subject.appearance, scene.s
    smile = scene.nuisance.smile
    mouth_w = g.mouth_half_width * (1.0 + 0.08 * smile)
    w = paint.window(scene.frame, 0.0, g.mouth_y, mouth_w + 3.0, 12.0)
    mu, mv, mouth_canvas = scene.u[w], scene.v[w], canvas[w]
    curve = -2.5 * smile * (mu / mouth_w) ** 2
    lip = np.asarray(a.skin, np.float32) * (1 - a.lip_tint) + np.asarray((170, 60, 70), np.float32) * a.lip_tint
    taper = np.sqrt(np.clip(1.0 - (mu / mouth_w) ** 2, 0.0, 1.0))
    bow = g.mouth_y + curve - 5.0 * taper + 1.5 * np.exp(-((mu / 3.0) ** 2))
    upper = np.minimum(g.mouth_y + curve - mv, mv - bow)
    lower = np.minimum(mv - (g.mouth_y + curve), g.mouth_y + curve + 7.0 * taper - mv)
    paint.blend(mouth_canvas, lip * float(shade[w].mean()), paint.soft(np.maximum(upper, lower), s) * (taper > 0))
    paint.blend(mouth_canvas, (60, 25, 30), paint.soft(0.6 - np.abs(mv - g.mouth_y - curve), s) * (taper > 0.05))


def _nostrils_eyes_brows(canvas: Image, scene: _Scene) -> None:
    """Nostrils, eyes and eyebrows of both sides (a raised brow moves its arch up)."""
    g, subject, u, v, s, frame = scene.g, scene.subject, scene.u, scene.v, scene.s, scene.frame
    skin, hair = np.asarray(subject.appearance.skin, np.float32), np.asarray(subject.appearance.hair, np.float32)
    for side in (-1.0, 1.0):
        nx = side * g.nose_half_width * 0.42
        w = paint.window(frame, nx, g.nose_y - 1.5, 5.0, 4.0)
        nostril = 1.0 - (((u[w] - nx) / 3.2) ** 2 + ((v[w] - g.nose_y + 1.5) / 1.6) ** 2)
        paint.blend(canvas[w], skin * 0.35, paint.soft(nostril * 1.5, s))
        w = paint.window(frame, side * g.eye_dx, g.eye_y, EYE_HALF_WIDTH_PER_ORBIT * subject.skull.orbit_width + 2.0, 8.0)
        _paint_eye(canvas[w], u[w], v[w], side * g.eye_dx, g.eye_y, subject, s)
        bx = side * (g.eye_dx + 3.0)
        bw = subject.skull.orbit_width * 0.62
        w = paint.window(frame, bx, g.brow_y, bw + 2.0, 14.0)
        bu, bv = u[w], v[w]
        arch = g.brow_y - 3.0 * scene.nuisance.brow_raise - 4.0 * (1.0 - ((bu - bx) / bw) ** 2)
        thick = subject.appearance.eyebrow_thickness * (0.5 + 0.5 * np.clip(1.0 - side * (bu - bx) / bw, 0.0, 1.5))
        brow = np.minimum(thick / 2 - np.abs(bv - arch), bw - np.abs(bu - bx))
        paint.blend(canvas[w], hair * 0.7, 0.85 * paint.soft(brow, s))


def _paint_eye(canvas: Image, u: Image, v: Image, cx: float, cy: float, subject: Subject, s: float) -> None:
    """One eye: the white almond, iris, pupil, a highlight and the upper lid's line."""
    width = EYE_HALF_WIDTH_PER_ORBIT * subject.skull.orbit_width
    almond = 1.0 - ((u - cx) / width) ** 2 - ((v - cy) / EYE_HALF_HEIGHT) ** 2
    paint.blend(canvas, (232, 228, 222), paint.soft(almond * 4.0, s))
    iris = 5.6 - np.hypot(u - cx, v - cy)
    inside = np.clip(almond * 8.0 * s, 0.0, 1.0)
    paint.blend(canvas, np.asarray(subject.appearance.eye, np.float32), paint.soft(iris, s) * inside)
    paint.blend(canvas, (15, 12, 12), paint.soft(2.3 - np.hypot(u - cx, v - cy), s) * inside)
    paint.blend(canvas, (250, 250, 250), paint.soft(0.9 - np.hypot(u - cx - 1.6, v - cy + 1.6), s) * inside)
    lid = np.abs(almond) < 0.18
    paint.blend(canvas, (40, 30, 30), 0.8 * (lid & (v < cy)).astype(np.float32))


def _hair_in_front(canvas: Image, scene: _Scene, volume: Image, texture: Image, shade: Image) -> None:
    """Hair in front of the face: the hairline over the forehead (a fringe lower and wavier)."""
    g, a, u, v = scene.g, scene.subject.appearance, scene.u, scene.v
    if a.hair_style == "fringe":
        hairline = np.minimum(g.brow_y - 12.0 - 0.8 * np.abs(np.sin(u * 0.35)) + 0.004 * u**2, g.eye_y - 4.0)
    else:
        hairline = np.minimum(g.brow_y - 26.0 + 0.008 * u**2, g.eye_y - 4.0)
    hair = np.asarray(a.hair, np.float32)
    front = np.minimum(hairline - v, volume - scene.au)
    paint.blend(canvas, hair[None, None, :] * (texture * (0.8 + 0.2 * shade))[..., None], paint.soft(front, scene.s))
