"""Dressings of the casework simulation, at the sizes they have on a real face: an eye pad with
tape (covering the eye, the brow and the upper cheek), a nasal splint, a gauze pad or a drip
pad under the nose, a crepe bandage under the jaw and up both sides of the face, a head bandage
across the forehead (sometimes down over one eye), a large cheek dressing, an adhesive plaster.

An eye distance is about 6.3 cm, so an eye pad of one eye distance by 0.85 is about 6.3 x 5.4
cm, the usual size. Materials are lit by the face's own low-frequency shading, carry a woven,
ribbed or fibrous texture and a drop shadow, and gauze may show blood seeping through. Each
effect returns the new image and its footprint (the material and its shadow).

This module imports OpenCV at the top: only the casework simulation imports it, lazily.
"""

from __future__ import annotations

import cv2
import numpy as np

from crossid_desktop.synth.injuries.mix import RGB, InjuryMix
from crossid_desktop.synth.injuries.rendering import (
    Image,
    Matte,
    blur,
    ellipse_distance,
    grid,
    over,
    poly_matte,
    polyline,
    rounded,
    shading,
    smooth_noise,
)
from crossid_desktop.synth.injuries.sites import FaceFrame, Site

Dressing = tuple[Image, Matte]


def _coords(frame: FaceFrame, centre: tuple[float, float], angle: float) -> tuple[Matte, Matte]:
    """Pixel coordinates along (u) and across (v) a direction ``angle`` through ``centre``."""
    xx, yy = grid((frame.size, frame.size))
    dx, dy = xx - centre[0], yy - centre[1]
    c, sn = np.cos(angle), np.sin(angle)
    return dx * c + dy * sn, -dx * sn + dy * c


def _light(img: Image, frame: FaceFrame) -> Matte:
    """The face's low-frequency brightness relative to the middle of the face."""
    lum = img @ np.array([0.3, 0.59, 0.11], np.float32)
    e = frame.eye_distance
    x0, x1 = int(frame.midline_x - 0.6 * e), int(frame.midline_x + 0.6 * e)
    y0, y1 = int(frame.eye_y), int(frame.mouth[1])
    ref = float(np.median(lum[max(y0, 0):max(y1, y0 + 1), max(x0, 0):max(x1, x0 + 1)])) + 1e-3
    return np.clip(blur(lum, 0.15 * e) / ref, 0.55, 1.25)


def _pick(colours: tuple[RGB, ...], rng: np.random.Generator) -> np.ndarray:
    return np.asarray(colours[int(rng.integers(len(colours)))], np.float32)


def lay(img: Image, frame: FaceFrame, matte: Matte, colour: Image, height: Matte, texture: Matte) -> Dressing:
    """Lay an opaque material (``matte``, ``colour`` ``(S, S, 3)``, relief ``height`` px,
    brightness ``texture``) onto the face, lit by the face and casting a soft shadow."""
    s = frame.scale
    light = _light(img, frame)
    diffuse, spec = shading(height, 25.0)
    lit = colour * (light * diffuse)[..., None] + (texture * light)[..., None] + 0.03 * spec[..., None]
    size = (frame.size, frame.size)
    shadow = blur(cv2.warpAffine(matte, np.float32([[1, 0, 1.3 * s], [0, 1, 2.0 * s]]), size), 2.0 * s)
    out = img * (1.0 - 0.4 * (shadow * (1 - matte)))[..., None]
    out = over(out, lit.astype(np.float32), matte)
    out = img + blur(out - img, 0.45 * s)
    return out.astype(np.float32), np.maximum(matte, np.clip(shadow * 3, 0, 1))


def _solid(frame: FaceFrame, colour: np.ndarray) -> Image:
    return np.broadcast_to(colour, (frame.size, frame.size, 3)).astype(np.float32)


def _gauze(frame: FaceFrame, rng: np.random.Generator, u: Matte, v: Matte) -> Matte:
    """Brightness texture of woven gauze: a weave, fibres and a puffy low-frequency relief."""
    s, shape = frame.scale, (frame.size, frame.size)
    weave = 0.5 * (np.cos(2 * np.pi * u / (2.6 * s)) + np.cos(2 * np.pi * v / (2.6 * s)))
    return 0.045 * weave + 0.025 * smooth_noise(rng, shape, 1.0 * s) + 0.015 * smooth_noise(rng, shape, 8.0 * s, octaves=2)


def _seep(colour: Image, pad: Matte, frame: FaceFrame, centre: tuple[float, float], radii: tuple[float, float],
          rng: np.random.Generator, amount: float) -> Image:
    """Blood soaked into gauze: a dark red stain, darker at its drying rim."""
    shape = (frame.size, frame.size)
    d = ellipse_distance(shape, centre, (radii[0] * amount, radii[1] * amount), float(rng.uniform(0, np.pi)))
    d = d * (1.0 + 0.3 * smooth_noise(rng, shape, 0.3 * min(radii)))
    stain = blur(np.clip(1.3 * np.exp(-1.5 * d * d) - 0.15, 0, 1), 1.2 * frame.scale) * pad
    ring = np.clip(stain - blur(stain, 2.0 * frame.scale), 0, 1) * 2
    return colour * np.exp(-(stain * 0.9 + ring)[..., None] * np.array([0.45, 1.4, 1.35], np.float32))


def _tapes(frame: FaceFrame, centre: tuple[float, float], angle: float, offsets: tuple[float, ...], half_len: float,
           half_w: float) -> Matte:
    """Parallel strips of tape across a pad: ``offsets`` along ``angle`` from ``centre`` (px)."""
    u, v = _coords(frame, centre, angle)
    tapes = np.zeros((frame.size, frame.size), np.float32)
    for off in offsets:
        tapes = np.maximum(tapes, rounded(u - off, v, half_w, half_len, 12.0, frame.scale))
    return tapes


def _pad_with_tape(img: Image, frame: FaceFrame, rng: np.random.Generator, mix: InjuryMix, severity: float,
                   centre: tuple[float, float], half: tuple[float, float], angle: float, power: float,
                   tapes: Matte) -> Dressing:
    """A gauze pad (rounded rectangle or oval, ``half`` sizes px) held by ``tapes``."""
    s = frame.scale
    u, v = _coords(frame, centre, angle)
    fray = 0.35 * s * smooth_noise(rng, (frame.size, frame.size), 2.0 * s)
    pad = rounded(u + fray, v + fray, half[0], half[1], power, s)
    tapes = tapes * 0.92  # thin tape: the skin shows through a little
    gauze = _pick(mix.gauze, rng)
    colour = _solid(frame, gauze) * (1 - tapes)[..., None] + _solid(frame, _pick(mix.tape, rng)) * tapes[..., None]
    if rng.uniform() < mix.seep * severity:
        colour = _seep(colour, pad * (1 - tapes), frame, centre, (0.5 * half[0], 0.45 * half[1]), rng, 0.5 + 0.6 * severity)
    height = 2.0 * s * blur(pad, 3.0 * s) + 0.6 * s * tapes
    texture = _gauze(frame, rng, u, v) * pad * (1 - 0.8 * tapes) + 0.012 * smooth_noise(rng, pad.shape, 1.0 * s) * tapes
    return lay(img, frame, np.maximum(pad, tapes), colour, height, texture)


def eye_dressing(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator, mix: InjuryMix) -> Dressing:
    """An eye pad over one eye, its brow and upper cheek, held by two or three strips of tape
    running from the forehead to the cheek."""
    e = frame.eye_distance
    side = site.side or (1 if rng.uniform() < 0.5 else -1)
    ex, ey = frame.eye(side)
    half = ((0.42 + 0.1 * severity + float(rng.uniform(0, 0.06))) * e * mix.size, (0.36 + 0.08 * severity) * e * mix.size)
    centre = (ex + side * 0.04 * e, ey + 0.03 * e)
    angle = side * float(rng.uniform(-0.1, 0.25))
    tilt = angle + side * 0.6
    n = 3 if rng.uniform() < 0.3 else 2
    offsets = tuple(float(o) * half[0] for o in np.linspace(-0.45, 0.45, n))
    tapes = _tapes(frame, centre, tilt, offsets, 1.3 * half[1], float(rng.uniform(0.055, 0.08)) * e)
    return _pad_with_tape(img, frame, rng, mix, severity, centre, half, angle, float(rng.choice([2.4, 5.0])), tapes)


def cheek_dressing(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator, mix: InjuryMix) -> Dressing:
    """A large square gauze dressing on a cheek (or the forehead, the chin), framed by tape."""
    e = frame.eye_distance
    cx, cy = frame.site_centre(site)
    centre = (cx + float(rng.uniform(-0.08, 0.08)) * e, cy + float(rng.uniform(-0.08, 0.08)) * e)
    half = ((0.28 + 0.12 * severity) * e * mix.size, (0.26 + 0.1 * severity) * e * mix.size)
    angle = float(rng.uniform(-0.25, 0.25))
    w = 0.06 * e
    tapes = np.maximum(_tapes(frame, centre, angle, (-half[0], half[0]), 1.25 * half[1], w),
                       _tapes(frame, centre, angle + np.pi / 2, (-half[1], half[1]), 1.25 * half[0], w))
    return _pad_with_tape(img, frame, rng, mix, severity, centre, half, angle, 6.0, tapes)


def nose_dressing(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator, mix: InjuryMix) -> Dressing:
    """A nasal splint over the bridge with tape onto both cheeks, a gauze pad over the whole
    nose, or a folded drip pad taped under the nose over the upper lip."""
    e, s = frame.eye_distance, frame.scale
    pick = float(rng.uniform())
    nx, ny = frame.nose_tip
    if pick < 0.5:  # nasal splint: a tapered moulded shell from the nasion to above the tip
        top, bottom = frame.nasion[1] - 0.05 * e, ny - 0.06 * e
        w0, w1 = 0.13 * e * mix.size, 0.24 * e * mix.size
        mid_x = (frame.nasion[0] + nx) / 2
        shell = poly_matte((frame.size, frame.size), [np.array([[mid_x - w0, top], [mid_x + w0, top], [mid_x + w1, bottom], [mid_x - w1, bottom]])])
        shell = np.clip(blur(shell, 1.2 * s) * 1.6 - 0.3, 0, 1)
        tapes = _tapes(frame, (mid_x, (top + bottom) / 2), np.pi / 2, (-0.12 * e, 0.14 * e), 0.7 * e * mix.size, 0.045 * e)
        colour = _solid(frame, _pick(mix.splint, rng)) * (1 - tapes)[..., None] + _solid(frame, _pick(mix.tape, rng)) * tapes[..., None]
        height = 3.0 * s * blur(shell, 3.0 * s) + 0.6 * s * tapes
        texture = 0.01 * smooth_noise(rng, shell.shape, 1.0 * s)
        return lay(img, frame, np.maximum(shell, tapes * 0.92), colour, height, texture)
    if pick < 0.8:  # a gauze pad over the nose, taped to both cheeks
        centre = (nx, (frame.nasion[1] + ny) / 2 + 0.05 * e)
        half = (0.24 * e * mix.size, (0.42 + 0.05 * severity) * e * mix.size)
        tapes = _tapes(frame, centre, np.pi / 2, (-0.2 * half[1], 0.35 * half[1]), 0.75 * e * mix.size, 0.05 * e)
        return _pad_with_tape(img, frame, rng, mix, severity, centre, half, float(rng.uniform(-0.08, 0.08)), 5.0, tapes)
    centre = (nx, ny + 0.2 * e)  # a drip pad: folded gauze under the nose, tied to the cheeks
    half = (0.32 * e * mix.size, 0.12 * e * mix.size)
    tapes = _tapes(frame, centre, np.pi / 2, (0.0,), 0.95 * e * mix.size, 0.045 * e)
    return _pad_with_tape(img, frame, rng, mix, max(severity, 0.8), centre, half, float(rng.uniform(-0.06, 0.06)), 6.0, tapes)


def _crepe_band(img: Image, frame: FaceFrame, rng: np.random.Generator, mix: InjuryMix, path: np.ndarray,
                half_w: float, severity: float) -> Dressing:
    """A crepe bandage along ``path`` ``(n, 2)``: ribbed along its length, folds, soft edges."""
    s, shape = frame.scale, (frame.size, frame.size)
    band = poly_matte(shape, [polyline(path, np.full(len(path), half_w))])
    centre = np.zeros(shape, np.uint8)
    cv2.polylines(centre, [np.round(path).astype(np.int32)], False, 255, 1)
    across = cv2.distanceTransform(255 - centre, cv2.DIST_L2, 5).astype(np.float32)
    ribs = 0.5 * np.cos(2 * np.pi * across / (2.2 * s))
    folds = np.clip(smooth_noise(rng, shape, 0.8 * half_w), -2, 2)
    colour = _solid(frame, _pick(mix.crepe, rng))
    if rng.uniform() < mix.seep * severity:
        k = int(rng.integers(len(path)))
        colour = _seep(colour, band, frame, (float(path[k, 0]), float(path[k, 1])), (0.8 * half_w, 0.8 * half_w), rng, 0.6 + 0.6 * severity)
    height = 2.5 * s * blur(band, 2.5 * s) + 0.15 * s * ribs * band + 0.3 * s * folds * band
    texture = (0.06 * ribs + 0.03 * folds + 0.02 * smooth_noise(rng, shape, 1.0 * s)) * band
    return lay(img, frame, band, colour, height, texture)


def _curve(points: list[tuple[float, float]], n: int = 60) -> np.ndarray:
    """A smooth path through ``points`` (Catmull-Rom), ``(n, 2)``."""
    p = np.asarray(points, dtype=np.float64)
    p = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    t = np.linspace(0, len(points) - 1, n)
    i = np.clip(t.astype(int), 0, len(points) - 2)
    f = (t - i)[:, None]
    p0, p1, p2, p3 = p[i], p[i + 1], p[i + 2], p[i + 3]
    return 0.5 * (2 * p1 + (-p0 + p2) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * f**3)


def jaw_bandage(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator, mix: InjuryMix) -> Dressing:
    """A crepe bandage under the chin and up both sides of the face in front of the ears (a
    Barton bandage for a broken jaw): covers the chin, the jaw line and the outer cheeks."""
    e = frame.eye_distance
    mx, _ = frame.mouth
    cy = frame.chin[1]
    reach = float(rng.uniform(0.92, 1.05)) * e
    top = frame.eye_y - 1.4 * e
    path = _curve([(mx - 0.95 * reach, top), (mx - reach, frame.eye_y - 0.2 * e), (mx - 0.85 * reach, frame.mouth[1] - 0.1 * e),
                   (mx - 0.55 * reach, cy - 0.12 * e), (mx, cy + 0.02 * e), (mx + 0.55 * reach, cy - 0.12 * e),
                   (mx + 0.85 * reach, frame.mouth[1] - 0.1 * e), (mx + reach, frame.eye_y - 0.2 * e), (mx + 0.95 * reach, top)], n=90)
    path = path + np.array([float(rng.uniform(-0.05, 0.05)) * e, 0.0])
    return _crepe_band(img, frame, rng, mix, path, (0.17 + 0.08 * severity) * e * mix.size, severity)


def head_bandage(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator, mix: InjuryMix) -> Dressing:
    """A bandage wound round the head across the forehead; when severe, sometimes also down over
    one eye to the opposite side (a monocular head bandage)."""
    e = frame.eye_distance
    y = frame.eye_y - float(rng.uniform(0.6, 0.85)) * e
    tilt = float(rng.uniform(-0.08, 0.08)) * e
    x0, x1 = frame.midline_x - 1.6 * e, frame.midline_x + 1.6 * e
    half_w = (0.2 + 0.12 * severity) * e * mix.size
    out, footprint = _crepe_band(img, frame, rng, mix, _curve([(x0, y - tilt), (frame.midline_x, y - 0.04 * e), (x1, y + tilt)]), half_w, severity)
    if rng.uniform() < 0.45 * severity:
        side = 1 if rng.uniform() < 0.5 else -1
        ex, ey = frame.eye(side)
        path = _curve([(frame.midline_x - side * 0.5 * e, y - 0.2 * e), (ex, ey - 0.05 * e), (frame.midline_x + side * 1.4 * e, ey + 0.7 * e)])
        out, second = _crepe_band(out, frame, rng, mix, path, (0.26 + 0.08 * severity) * e * mix.size, severity)
        footprint = np.maximum(footprint, second)
    return out, footprint


def plaster(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator, mix: InjuryMix) -> Dressing:
    """An adhesive plaster: a beige perforated strip with a white pad in its middle."""
    e, s = frame.eye_distance, frame.scale
    cx, cy = frame.site_centre(site)
    if site.side:
        cy -= 0.3 * e if site.value.endswith("eye") else 0.0
    centre = (cx + float(rng.uniform(-0.15, 0.15)) * e, cy + float(rng.uniform(-0.1, 0.1)) * e)
    angle = float(rng.uniform(-0.6, 0.6)) + (np.pi / 2 if site is Site.NOSE and rng.uniform() < 0.3 else 0.0)
    u, v = _coords(frame, centre, angle)
    along, half_w = float(rng.uniform(0.24, 0.34)) * e * mix.size, float(rng.uniform(0.07, 0.09)) * e * mix.size
    strip = rounded(u, v, along, half_w, 2.4, s)
    pad = rounded(u, v, 0.36 * along, 0.75 * half_w, 6.0, s) * strip
    holes = (np.cos(2 * np.pi * u / (3.2 * s)) * np.cos(2 * np.pi * v / (3.2 * s)) > 0.93) * (1 - pad)
    colour = _solid(frame, np.array([0.86, 0.7, 0.58], np.float32)) * (1 - 0.1 * holes)[..., None]
    colour = colour * (1 - pad[..., None]) + np.array([0.95, 0.93, 0.9], np.float32) * pad[..., None]
    height = 1.0 * s * blur(strip, 1.2 * s) + 1.5 * s * blur(pad, 1.5 * s)
    texture = 0.02 * smooth_noise(rng, strip.shape, 1.0 * s) + 0.03 * pad * np.cos(2 * np.pi * v / (2.5 * s))
    return lay(img, frame, strip, colour.astype(np.float32), height, texture)
