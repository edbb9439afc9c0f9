"""Face photos of a simulated person: frontal (in the canonical aligned layout) and profile.

The face is a height field in mm built from the head outline (an ellipsoid-like head whose
silhouette follows cheekbones, jaw line and chin) plus nose, brow ridge, eye sockets, cheeks,
lips and chin; it is shaded with a Lambertian model under the image's light direction. Eyes,
eyebrows, lips, nostrils and hair are painted on top. All geometry comes from the skull and
the tissue thickness (:func:`~crossid_desktop.synth.params.face_geometry`); colours come from
the appearance, which is independent of the skull.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.canonical import CANONICAL
from crossid_desktop.synth.outline import frontal_outline, profile_polygon
from crossid_desktop.synth.params import Nuisance, Subject, face_geometry, mandible_profile
from crossid_desktop.synth.raster import Frame

Image = NDArray[np.float32]


@dataclass(frozen=True)
class FaceLandmarks:
    """Pixel positions (x, y) of the five landmarks of a frontal photo (subject's right eye first)."""

    right_eye: tuple[float, float]
    left_eye: tuple[float, float]
    nose_tip: tuple[float, float]
    mouth_right: tuple[float, float]
    mouth_left: tuple[float, float]


def frontal_frame(subject: Subject, nuisance: Nuisance, size: int) -> Frame:
    """The frame that puts the eye centres at the canonical template positions (up to the nuisance)."""
    g = face_geometry(subject)
    (rx, ry), (lx, ly) = CANONICAL.right_eye, CANONICAL.left_eye
    template_angle = np.degrees(np.arctan2(ly - ry, lx - rx))
    px_per_mm = CANONICAL.eye_distance * size / (2 * g.eye_dx) * nuisance.scale
    centre = ((rx + lx) / 2 * size + nuisance.shift[0] * size, (ry + ly) / 2 * size + nuisance.shift[1] * size)
    return Frame.make(size, px_per_mm, (0.0, g.eye_y), centre, template_angle + nuisance.angle)


def _gauss(u: Image, v: Image, cx: float, cy: float, sx: float, sy: float) -> Image:
    return np.exp(-(((u - cx) / sx) ** 2 + ((v - cy) / sy) ** 2)).astype(np.float32)


def _window(frame: Frame, cx: float, cy: float, rx: float, ry: float) -> tuple[slice, slice]:
    """The pixel box (rows, columns) covering the mm box ``cx +- rx``, ``cy +- ry``."""
    corners = frame.px([(cx - rx, cy - ry), (cx + rx, cy - ry), (cx - rx, cy + ry), (cx + rx, cy + ry)])
    n = frame.size
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int), 0, n)
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 1, 0, n)
    return slice(y0, y1), slice(x0, x1)


def _soft(distance_mm: Image, px_per_mm: float) -> Image:
    """Anti-aliased coverage from a signed distance (mm, positive inside)."""
    return np.clip(distance_mm * px_per_mm + 0.5, 0.0, 1.0).astype(np.float32)


def _blend(canvas: Image, colour: NDArray[np.float32] | tuple[float, ...], alpha: Image) -> None:
    """Paint ``colour`` (RGB, or an ``(H, W, 3)`` image) over ``canvas`` with coverage ``alpha``."""
    rows = np.flatnonzero(alpha.max(axis=1) > 0.0)
    if rows.size == 0:
        return
    cols = np.flatnonzero(alpha[rows[0]:rows[-1] + 1].max(axis=0) > 0.0)
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    paint = np.asarray(colour, np.float32)
    if paint.ndim == 3:
        paint = paint[box]
    target = canvas[box]
    target += alpha[box][..., None] * (paint - target)


def _shade(height: Image, light: tuple[float, float, float], px_per_mm: float) -> Image:
    """Lambertian shading (ambient + diffuse) of a height field in mm."""
    gy, gx = np.gradient(height)
    gx *= px_per_mm
    gy *= px_per_mm
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    lambert = (-gx * light[0] - gy * light[1] + light[2]) / norm
    return (0.42 + 0.68 * np.clip(lambert, 0.0, 1.0)).astype(np.float32)


def _background(size: int, nuisance: Nuisance) -> Image:
    top, bottom = (np.asarray(c, np.float32) for c in nuisance.background)
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    return np.broadcast_to(top * (1 - t) + bottom * t, (size, size, 3)).copy()


def _hair_texture(size: int, seed: int, vertical: bool) -> Image:
    """Multiplicative strand texture around 1 (``(size, size)`` float32), strands along one axis."""
    rng = np.random.default_rng(seed + 1)
    shape = (6, max(8, size // 3)) if vertical else (max(8, size // 3), 6)
    coarse = rng.normal(1.0, 0.13, shape).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_LINEAR)


def _finish(canvas: Image, nuisance: Nuisance) -> NDArray[np.uint8]:
    rng = np.random.default_rng(nuisance.noise_seed)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 0.6)
    canvas += rng.normal(0.0, 2.0, canvas.shape[:2]).astype(np.float32)[..., None]
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def render_face_front(subject: Subject, nuisance: Nuisance, size: int) -> tuple[NDArray[np.uint8], FaceLandmarks]:
    """A frontal photo ``(size, size, 3)`` RGB uint8 in the canonical layout, and its landmarks."""
    g, a = face_geometry(subject), subject.appearance
    frame = frontal_frame(subject, nuisance, size)
    s = frame.px_per_mm
    u, v = frame.grid()
    outline = frontal_outline(subject, g)
    half = outline.at(v)
    au = np.abs(u)
    canvas = _background(size, nuisance)
    hair = np.asarray(a.hair, np.float32)
    skin = np.asarray(a.skin, np.float32)
    style = a.hair_style
    if style == "fringe":
        hairline = np.minimum(g.brow_y - 12.0 - 0.8 * np.abs(np.sin(u * 0.35)) + 0.004 * u**2, g.eye_y - 4.0)
    else:
        hairline = np.minimum(g.brow_y - 26.0 + 0.008 * u**2, g.eye_y - 4.0)
    texture = _hair_texture(size, nuisance.noise_seed, vertical=True)
    # hair behind the head, with a contact shadow next to the face
    if style != "bald":
        widest = g.vertex_y + 0.4 * (g.eye_y - g.vertex_y)
        reach = (v - widest) / (widest - g.vertex_y + 7.0)
        volume = (g.head_half_width + 6.0) * np.sqrt(np.clip(1.0 - np.where(v < widest, reach, 0.0) ** 2, 0.0, 1.0))
        back = np.where(v < g.eye_y - 6.0, volume - au, -1.0)
        if style == "long":
            fall = (g.cheek_half_width + 13.0) * np.sqrt(np.clip(1.0 - ((v - g.eye_y + 6.0) / (g.chin_y + 12.0 - g.eye_y)) ** 2, 0.0, 1.0))
            back = np.where(v >= g.eye_y - 6.0, np.maximum(fall, volume) - au, back)
        if style == "bun":
            back = np.maximum(back, 20.0 - np.hypot(u, v - g.vertex_y + 2.0))
        _blend(canvas, hair[None, None, :] * texture[..., None], _soft(back, s))
        shadow = 1.0 - 0.6 * np.exp(-np.clip(au - half, 0.0, None) / 2.5)
        canvas *= np.where(back > 0, shadow, 1.0).astype(np.float32)[..., None]
    # ears behind the cheeks
    ear_y = (g.brow_y + g.nose_y) / 2 + 4.0
    for side in (-1.0, 1.0):
        ear_x = side * (float(outline.at(np.asarray([ear_y], np.float32))[0]) + a.ear_protrusion - 8.0)
        ear = 1.0 - (((u - ear_x) / 10.0) ** 2 + ((v - ear_y) / 28.0) ** 2)
        _blend(canvas, skin * 0.8, _soft(ear * 8.0, s))
    # the face: a height field, shaded
    inside = half - au
    height = 55.0 * np.sqrt(np.clip(1.0 - (u / np.maximum(half, 1.0)) ** 2, 0.0, 1.0))
    nose_run = np.clip((v - g.eye_y + 4.0) / (g.nose_y - g.eye_y), 0.0, 1.0)
    nose_width = 4.0 + nose_run**2 * g.nose_half_width * 0.55
    nose = g.nose_projection * 0.6 * nose_run * np.exp(-((u / nose_width) ** 2)) * (v < g.nose_y)
    height += nose
    bumps = [(3.0, g.nose_half_width * 0.75, g.nose_y - 4.0, 4.5, 4.0), (-7.0, g.eye_dx, g.eye_y, 15.0, 10.0),
             (5.0, g.eye_dx + 8.0, g.cheek_y + 6.0, 14.0, 12.0)]
    for amplitude, bx, by, sx, sy in bumps:
        for side in (-1.0, 1.0):
            w = _window(frame, side * bx, by, 2.5 * sx, 2.5 * sy)
            height[w] += amplitude * _gauss(u[w], v[w], side * bx, by, sx, sy)
    for amplitude, by, sx, sy in ((4.0, g.brow_y + 4.0, 45.0, 5.0), (4.0, g.mouth_y, g.mouth_half_width * 1.1, 7.0),
                                  (5.0, g.chin_y - 12.0, g.chin_half_width * 0.8, 9.0)):
        w = _window(frame, 0.0, by, 2.5 * sx, 2.5 * sy)
        height[w] += amplitude * _gauss(u[w], v[w], 0.0, by, sx, sy)
    light = nuisance.light
    shade = _shade(height, light, s)
    # cast shadows the height field cannot give: under the nose, and on the neck under the jaw
    w = _window(frame, 0.0, g.nose_y + 3.0, 2.5 * g.nose_half_width, 10.0)
    shade[w] *= 1.0 - 0.1 * _gauss(u[w], v[w], 0.0, g.nose_y + 2.0, 0.6 * g.nose_half_width, 2.5)
    face_only = np.interp(v, outline.y, outline.half_width, left=0.0, right=0.0)
    under_jaw = (au > face_only - 1.0) & (v > g.jaw_y) & (v < g.chin_y + 25.0)
    shade *= np.where(under_jaw, 0.72 + 0.28 * np.clip((v - g.chin_y) / 25.0, 0.0, 1.0), 1.0).astype(np.float32)
    face_alpha = _soft(inside, s)
    colour = skin[None, None, :] * shade[..., None]
    for side in (-1.0, 1.0):  # a little colour on the cheeks
        w = _window(frame, side * (g.eye_dx + 6.0), g.cheek_y + 10.0, 30.0, 30.0)
        blush = 0.07 * _gauss(u[w], v[w], side * (g.eye_dx + 6.0), g.cheek_y + 10.0, 12.0, 10.0)
        colour[w] += blush[..., None] * (np.asarray((215.0, 95.0, 95.0), np.float32) - colour[w])
    _blend(canvas, colour, face_alpha)
    # lips, nostrils, eyes, eyebrows
    smile = nuisance.smile
    mouth_w = g.mouth_half_width * (1.0 + 0.08 * smile)
    w = _window(frame, 0.0, g.mouth_y, mouth_w + 3.0, 12.0)
    mu, mv, mouth_canvas = u[w], v[w], canvas[w]
    curve = -2.5 * smile * (mu / mouth_w) ** 2
    lip = np.asarray(a.skin, np.float32) * (1 - a.lip_tint) + np.asarray((170, 60, 70), np.float32) * a.lip_tint
    taper = np.sqrt(np.clip(1.0 - (mu / mouth_w) ** 2, 0.0, 1.0))
    bow = g.mouth_y + curve - 5.0 * taper + 1.5 * np.exp(-((mu / 3.0) ** 2))
    upper = np.minimum(g.mouth_y + curve - mv, mv - bow)
    lower = np.minimum(mv - (g.mouth_y + curve), g.mouth_y + curve + 7.0 * taper - mv)
    _blend(mouth_canvas, lip * float(shade[w].mean()), _soft(np.maximum(upper, lower), s) * (taper > 0))
    _blend(mouth_canvas, (60, 25, 30), _soft(0.6 - np.abs(mv - g.mouth_y - curve), s) * (taper > 0.05))
    for side in (-1.0, 1.0):
        nx = side * g.nose_half_width * 0.42
        w = _window(frame, nx, g.nose_y - 1.5, 5.0, 4.0)
        nostril = 1.0 - (((u[w] - nx) / 3.2) ** 2 + ((v[w] - g.nose_y + 1.5) / 1.6) ** 2)
        _blend(canvas[w], skin * 0.35, _soft(nostril * 1.5, s))
        w = _window(frame, side * g.eye_dx, g.eye_y, 0.36 * subject.skull.orbit_width + 2.0, 8.0)
        _paint_eye(canvas[w], u[w], v[w], side * g.eye_dx, g.eye_y, subject, s)
        bx = side * (g.eye_dx + 3.0)
        bw = subject.skull.orbit_width * 0.62
        w = _window(frame, bx, g.brow_y, bw + 2.0, 14.0)
        bu, bv = u[w], v[w]
        arch = g.brow_y - 3.0 * nuisance.brow_raise - 4.0 * (1.0 - ((bu - bx) / bw) ** 2)
        thick = a.eyebrow_thickness * (0.5 + 0.5 * np.clip(1.0 - side * (bu - bx) / bw, 0.0, 1.5))
        brow = np.minimum(thick / 2 - np.abs(bv - arch), bw - np.abs(bu - bx))
        _blend(canvas[w], hair * 0.7, 0.85 * _soft(brow, s))
    # hair in front: hairline over the forehead, side locks for long hair
    if style != "bald":
        front = np.minimum(hairline - v, volume - au)
        _blend(canvas, hair[None, None, :] * (texture * (0.8 + 0.2 * shade))[..., None], _soft(front, s))
    image = _finish(canvas, nuisance)
    pts = frame.px([(-g.eye_dx, g.eye_y), (g.eye_dx, g.eye_y), (0.0, g.nose_y - 7.0),
                    (-mouth_w, g.mouth_y - 2.5 * smile), (mouth_w, g.mouth_y - 2.5 * smile)])
    marks = [(round(float(x), 2), round(float(y), 2)) for x, y in pts]
    return image, FaceLandmarks(*marks)


def _paint_eye(canvas: Image, u: Image, v: Image, cx: float, cy: float, subject: Subject, s: float) -> None:
    width = 0.36 * subject.skull.orbit_width
    height = 5.0
    almond = 1.0 - ((u - cx) / width) ** 2 - ((v - cy) / height) ** 2
    _blend(canvas, (232, 228, 222), _soft(almond * 4.0, s))
    iris = 5.6 - np.hypot(u - cx, v - cy)
    inside = np.clip(almond * 8.0 * s, 0.0, 1.0)
    _blend(canvas, np.asarray(subject.appearance.eye, np.float32), _soft(iris, s) * inside)
    _blend(canvas, (15, 12, 12), _soft(2.3 - np.hypot(u - cx, v - cy), s) * inside)
    _blend(canvas, (250, 250, 250), _soft(0.9 - np.hypot(u - cx - 1.6, v - cy + 1.6), s) * inside)
    lid = np.abs(almond) < 0.18
    _blend(canvas, (40, 30, 30), 0.8 * (lid & (v < cy)).astype(np.float32))


def side_frame(nuisance: Nuisance, size: int) -> Frame:
    """The frame of a profile photo: head centred, 250 mm across the image."""
    centre = (size / 2 + nuisance.shift[0] * size, size / 2 + nuisance.shift[1] * size)
    return Frame.make(size, size / 250.0 * nuisance.scale, (-70.0, 10.0), centre, nuisance.angle)


def render_face_side(subject: Subject, nuisance: Nuisance, size: int) -> NDArray[np.uint8]:
    """A profile photo (facing right) as ``(size, size, 3)`` RGB uint8."""
    g, a, t = face_geometry(subject), subject.appearance, subject.tissue
    frame = side_frame(nuisance, size)
    s = frame.px_per_mm
    z, v = frame.grid()
    canvas = _background(size, nuisance)
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(frame.px(profile_polygon(subject, g)) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    sigma = 14.0 * s
    height = 40.0 * cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), sigma)
    (cz, cy), _, _ = mandible_profile(subject.skull)
    skin = np.asarray(a.skin, np.float32)
    shade = _shade(height, (nuisance.light[2] * 0.3, nuisance.light[1], 0.9), s)
    _blend(canvas, skin[None, None, :] * shade[..., None], mask.astype(np.float32) / 255.0)
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
        texture = _hair_texture(size, nuisance.noise_seed, vertical=False)
        _blend(canvas, hair[None, None, :] * (texture * (0.75 + 0.25 * shade))[..., None], _soft(region, s))
    # ear, eye, eyebrow, lips, nostril
    if a.hair_style != "long":
        ear = 1.0 - (((z - ear_z) / 11.0) ** 2 + ((v - ear_y) / 27.0) ** 2)
        _blend(canvas, skin * 0.8, _soft(ear * 5.0, s))
        helix = 2.0 - np.abs(np.hypot((z - ear_z) / 1.3, v - ear_y) - 12.0)
        _blend(canvas, skin * 0.55, _soft(helix, s) * (z < ear_z + 4) * (ear > 0))
    eye = 1.0 - (((z - eye_z) / 5.0) ** 2 + ((v - g.eye_y) / 4.0) ** 2)
    _blend(canvas, (230, 226, 220), _soft(eye * 3.0, s))
    _blend(canvas, np.asarray(a.eye, np.float32), _soft(eye * 3.0, s) * (z > eye_z + 1.0))
    arch = g.brow_y + 2.0 - 3.0 * nuisance.brow_raise + 0.0125 * (z - eye_z) ** 2
    brow = np.minimum(a.eyebrow_thickness / 2 - np.abs(v - arch), 12.0 - np.abs(z - eye_z + 1.0))
    _blend(canvas, hair * 0.7, 0.85 * _soft(brow, s))
    lip_colour = skin * (1 - a.lip_tint) + np.asarray((170, 60, 70), np.float32) * a.lip_tint
    front = _frontmost(mask, frame, g.mouth_y)
    lips = _soft(np.minimum(6.5 - np.abs(v - g.mouth_y), z - (front - 8.0)), s)
    _blend(canvas, lip_colour * 0.9, lips * alpha)
    _blend(canvas, (60, 25, 30), _soft(0.6 - np.abs(v - g.mouth_y), s) * (z > front - 12.0) * alpha)
    nostril = 1.0 - (((z - g.nose_projection * 0.55) / 4.0) ** 2 + ((v - g.nose_y + 2.0) / 1.8) ** 2)
    _blend(canvas, skin * 0.4, _soft(nostril * 2.0, s))
    return _finish(canvas, nuisance)


def _frontmost(mask: NDArray[np.uint8], frame: Frame, y_mm: float) -> float:
    """The most anterior skin position (z, mm) at height ``y_mm`` of the profile mask."""
    row = int(np.clip(round(frame.px([(0.0, y_mm)])[0, 1]), 0, mask.shape[0] - 1))
    cols = np.flatnonzero(mask[row] > 127)
    if cols.size == 0:
        return 0.0
    inverse = cv2.invertAffineTransform(frame.matrix)
    return float(inverse[0, 0] * cols[-1] + inverse[0, 1] * row + inverse[0, 2])
