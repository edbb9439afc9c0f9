"""The individual injury effects that ``synth/injuries/simulate.py`` draws onto an aligned face crop.

Each effect takes the face (or a window of it) as ``(h, w, 3) float32`` RGB in [0, 1], a
:class:`Spot` (where and how large, in pixels of that window), a severity in (0, 1] and a
numpy ``Generator``, and returns the new image and its footprint: ``(h, w) float32`` in
[0, 1], how strongly each pixel was changed.

Skin effects (bruise, redness, blood films) are applied as optical densities,
``out = skin * exp(-density)``, so that the skin's own texture and shading show through as
they do under real skin or a thin film of blood. Opaque materials (scab, eschar, gauze, tape)
are lit by the face's own low-frequency shading. Wet surfaces get a specular highlight from a
height map. Everything is vectorised numpy / OpenCV; lengths are scaled by ``size / 256``.
The drawing primitives live in ``synth/injuries/rendering.py``.

This module imports OpenCV at the top: only ``injuries.simulate_injury`` imports it, lazily.
"""

from __future__ import annotations

import cv2
import numpy as np

from crossid_desktop.synth.injuries.rendering import (
    Image,
    Matte,
    Spot,
    absorb,
    blob,
    blur,
    box_matte,
    drips,
    ellipse_distance,
    eye_opening,
    face_light,
    grid,
    over,
    pad_coords,
    poly_matte,
    polyline,
    rounded,
    shading,
    smooth_noise,
    smoothstep,
    wet_blood,
)

__all__ = ["Spot", "abrasion", "bandage", "bruise", "burn", "dried_blood", "laceration", "swelling"]


def bruise(img: Image, spot: Spot, severity: float, rng: np.random.Generator) -> tuple[Image, Matte]:
    """A haematoma under the skin: haemoglobin (red-purple to blue-purple) when fresh, turning
    green-yellow (biliverdin, bilirubin) from the rim inwards and brown as it ages. Diffuse,
    darkest in the middle, blotchy at a large scale; multiplied into the skin."""
    s, shape = spot.scale, spot.shape
    age = float(rng.uniform(0.0, 1.0)) ** 1.5
    blue = float(rng.uniform(0.0, 1.0))
    d = ellipse_distance(shape, spot.center, spot.radii, spot.angle)
    d = d * (1.0 + 0.22 * smooth_noise(rng, shape, 0.8 * min(spot.radii)))
    inset = (0.12 if spot.eye is not None else 0.15) * min(spot.box[2] - spot.box[0], spot.box[3] - spot.box[1])
    profile = np.clip((np.exp(-1.4 * d * d) - 0.1) / 0.9, 0.0, 1.0) * box_matte(spot, 6.0 * s, inset)
    blotch = 1.0 + 0.15 * smooth_noise(rng, shape, 0.5 * max(spot.radii)) + 0.04 * smooth_noise(rng, shape, 2.0 * s)
    if spot.eye is not None:  # a black eye: darkest in the lid folds, the eyeball spared
        profile = profile * (1.0 - 0.75 * eye_opening(spot, 1.1))
    core = profile * profile
    rim = profile - core
    fresh = (1 - blue) * np.array([0.5, 0.95, 0.62]) + blue * np.array([0.85, 0.9, 0.45])
    c_core = (1 - age) * fresh + age * np.array([0.45, 0.7, 0.8])  # hemosiderin brown
    c_rim = (1 - age) * fresh + age * np.array([0.3, 0.1, 0.7])  # green-yellow
    strength = (0.45 + 0.75 * severity) * blotch * (1.7 if spot.eye is not None else 1.0)
    density = strength[..., None] * (core[..., None] * c_core + rim[..., None] * c_rim)
    return (img * np.exp(-density)).astype(np.float32), np.clip(profile * 6.0, 0.0, 1.0)


def swelling(img: Image, spot: Spot, severity: float, rng: np.random.Generator) -> tuple[Image, Matte]:
    """Oedema: the skin bulges (a radial magnification warped with ``cv2.remap``), reddens and
    catches the light; around an eye the puffy lids close over it."""
    s, shape = spot.scale, spot.shape
    cx, cy = spot.center
    sigma = 0.55 * float(np.mean(spot.radii))
    xx, yy = grid(shape)
    dx, dy = xx - cx, yy - cy
    d = ellipse_distance(shape, spot.center, spot.radii, spot.angle)
    window = box_matte(spot, 2.0 * s, inset=0.3 * min(spot.box[2] - spot.box[0], spot.box[3] - spot.box[1]))
    g = (np.exp(-0.5 * (d / 0.55) ** 2) * window).astype(np.float32)
    k = 0.3 + 0.4 * severity
    map_x, map_y = xx - k * g * dx, yy - k * g * dy
    if spot.eye is not None:  # the lids swell over the eye: squeeze the opening vertically
        ex, ey = spot.eye
        e = spot.eye_distance
        edx, edy = xx - ex, yy - ey
        ge = np.exp(-(edx * edx) / (2 * (0.25 * e) ** 2) - (edy * edy) / (2 * (0.11 * e) ** 2))
        map_y = map_y + (1.3 * severity) * ge * window * edy
    warped = cv2.remap(img, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REFLECT)
    shift = np.hypot(map_x - xx, map_y - yy)
    height = (0.35 * sigma * (0.4 + severity)) * g
    diffuse, spec = shading(height, shininess=12.0)
    redness = blur(g * (0.8 + 0.2 * smooth_noise(rng, shape, 6 * s)), 3 * s)
    tint = (0.06, 0.32, 0.22) if spot.eye is None else (0.3, 0.55, 0.3)
    out = absorb(warped, redness * (0.2 + 0.35 * severity), tint)
    out = out * (1.0 + (diffuse[..., None] - 1.0) * 0.8) + 0.04 * spec[..., None] * g[..., None]
    if spot.eye is not None:  # the shadowed slit between the puffy lids
        out = out * (1.0 - 0.45 * severity * eye_opening(spot, max(0.25, 1.0 - severity))[..., None])
    footprint = np.maximum(np.clip(shift / 0.4, 0.0, 1.0), np.clip(redness * 4.0, 0.0, 1.0))
    return out.astype(np.float32), footprint.astype(np.float32)


def laceration(img: Image, spot: Spot, severity: float, rng: np.random.Generator) -> tuple[Image, Matte]:
    """A cut: a thin curved gaping wound with swollen red edges and fresh blood running down."""
    s, shape = spot.scale, spot.shape
    a = spot.radii[0]
    t = np.linspace(-0.5, 0.5, 48)
    length = 2 * a * (0.6 + 0.4 * severity)
    bend = rng.uniform(-0.22, 0.22) * length
    wig = rng.normal(0.0, 0.3 * s, t.size).cumsum()
    wig -= np.linspace(wig[0], wig[-1], t.size)
    along, across = t * length, bend * (1 - 4 * t * t) + wig
    c, sn = np.cos(spot.angle), np.sin(spot.angle)
    pts = np.stack([spot.center[0] + along * c - across * sn, spot.center[1] + along * sn + across * c], axis=1)
    taper = np.sqrt(np.clip(1 - (2 * t) ** 2, 0, 1))
    hw = ((0.5 + 0.9 * severity) * s * taper * (1 + 0.25 * np.sin(t * rng.uniform(8, 14)))) + 0.25 * s
    wound = poly_matte(shape, [polyline(pts, hw)])
    gap = poly_matte(shape, [polyline(pts, 0.45 * hw)])
    edge = blur(wound, 2.2 * s)
    flare = blur(wound, 5.0 * s)
    out = absorb(img, np.clip(flare * 3.0, 0, 1) * (0.3 + 0.4 * severity), (0.03, 0.45, 0.35))
    height = 1.2 * s * np.clip(edge * 2.0, 0, 1) - 1.0 * s * wound
    diffuse, _ = shading(height, 10.0)
    out = out * (1.0 + (diffuse[..., None] - 1.0) * 0.35)
    out = over(out, (0.55, 0.08, 0.08), wound * 0.8)
    out = over(out, (0.2, 0.01, 0.02), gap * 0.85)
    n_max = 4
    idx = rng.choice(np.arange(10, 38), n_max, replace=False)
    runs = drips(spot, rng, pts[idx] + np.array([0.0, 0.5 * s]), width=(0.7 + 0.6 * severity) * s,
                   length=(0.3 + 0.9 * severity) * (spot.box[3] - spot.box[1]),
                   count=int(round(0.6 + 3.0 * severity)))
    down = cv2.warpAffine(wound, np.float32([[1, 0, 0], [0, 1, 3.0 * s]]), shape[::-1])
    smear = np.clip(cv2.GaussianBlur(down, (0, 0), sigmaX=1.5 * s, sigmaY=(2.0 + 3.0 * severity) * s) * 2.5, 0, 1)
    smear = smear * np.clip(0.7 + 0.4 * smooth_noise(rng, shape, 4.0 * s), 0, 1)
    blood = np.maximum(runs, wound)
    out = absorb(out, smear * 0.5 * severity, (0.3, 2.0, 1.8))
    out = wet_blood(out, blood, s, 0.6 + 0.4 * severity)
    out = img + blur(out - img, 0.4 * s)
    return out, np.maximum.reduce([np.clip(flare * 3.0, 0, 1), blood, np.clip(edge * 2, 0, 1), np.clip(smear * 2, 0, 1)])


def abrasion(img: Image, spot: Spot, severity: float, rng: np.random.Generator) -> tuple[Image, Matte]:
    """A graze: raw red skin in a pink halo, fine scratch lines along the scrape, pinpoint
    bleeding and a partial dark scab."""
    s, shape = spot.scale, spot.shape
    matte = blob(spot, rng, roughness=0.8, feather=0.4)
    frag = smooth_noise(rng, shape, 3.0 * s, octaves=2)
    matte = matte * smoothstep(-2.5, -1.0, frag + 3.0 * (matte - 1.0))  # ragged only at the rim
    # scratches: white noise smeared along the scrape direction
    white = rng.standard_normal(shape).astype(np.float32)
    klen = int(round(15 * s)) | 1
    kernel = np.zeros((klen, klen), np.float32)
    c, sn = np.cos(spot.angle), np.sin(spot.angle)
    h = klen // 2
    cv2.line(kernel, (int(round(h - h * c)), int(round(h - h * sn))), (int(round(h + h * c)), int(round(h + h * sn))), 1.0, 1)
    streak = cv2.filter2D(white, -1, kernel / kernel.sum())
    streak /= streak.std() + 1e-6
    raw = matte * (0.7 + 0.3 * severity)
    halo = np.clip(blur(matte, 3.0 * s) * 1.5, 0, 1)
    out = absorb(img, halo * (0.25 + 0.25 * severity), (0.02, 0.45, 0.38))
    out = over(out, img * np.array([1.02, 0.6, 0.56], np.float32), raw * (0.55 + 0.1 * streak).clip(0, 1))
    out = absorb(out, raw * np.clip(0.35 + 0.2 * streak + 0.15 * smooth_noise(rng, shape, 3 * s), 0, 2), (0.05, 0.5, 0.42))
    lines = smoothstep(1.6, 2.8, streak) * matte
    out = absorb(out, lines * (0.3 + 0.4 * severity), (0.4, 1.4, 1.2))
    out = over(out, (0.95, 0.85, 0.8), smoothstep(1.8, 3.0, -streak) * matte * 0.2)
    dots = (rng.random(shape) < 0.006 * severity).astype(np.float32) * matte
    out = absorb(out, blur(dots, 0.6 * s) * 2.0, (0.7, 2.5, 2.2))
    scab_n = smooth_noise(rng, shape, 7.0 * s, octaves=2)
    scab = smoothstep(1.2 - 0.8 * severity, 1.9 - 0.8 * severity, scab_n) * smoothstep(0.5, 0.9, matte)
    crust = 0.85 + 0.2 * smooth_noise(rng, shape, 1.5 * s)
    scab_col = np.array([0.42, 0.18, 0.1], np.float32) * (crust * face_light(img, spot))[..., None]
    out = over(out, scab_col, scab * 0.75)
    _, spec = shading(raw * 1.5 * s + 0.3 * s * streak * matte, 20.0)
    out = out + (0.1 * spec * raw * (1 - scab))[..., None]
    out = img + blur(out - img, 0.5 * s)  # as soft as the camera's own picture
    return out, np.maximum(matte, halo)


def burn(img: Image, spot: Spot, severity: float, rng: np.random.Generator) -> tuple[Image, Matte]:
    """A burn: red-pink erythema; from moderate severity a moist glossy raw area fringed with
    pale peeled skin, and blisters; when severe a dark leathery cracked eschar in the centre."""
    s, shape = spot.scale, spot.shape
    light = face_light(img, spot)[..., None]
    matte = blob(spot, rng, roughness=0.8, feather=0.45)
    big = smooth_noise(rng, shape, 0.6 * min(spot.radii))
    mottle = np.clip(0.75 + 0.3 * big + 0.1 * smooth_noise(rng, shape, 2.0 * s), 0.3, 1.5)
    out = absorb(img, matte * (0.5 + 0.5 * severity) * mottle, (0.0, 0.6, 0.5))
    t = 1.3 - 1.2 * severity
    field = big + 3.0 * (matte - 1.0)
    raw = smoothstep(t, t + 0.6, field) * (severity > 0.3)
    edge = smoothstep(t, t + 0.08, field) * (severity > 0.3)
    fringe = np.clip(blur(edge, 0.8 * s) - edge, 0, 1) * 2.0 * smoothstep(-0.5, 0.5, smooth_noise(rng, shape, 2.5 * s))
    out = absorb(out, raw * 0.35, (0.0, 0.5, 0.45))
    out = over(out, np.array([0.88, 0.42, 0.38], np.float32) * light, raw * 0.2)
    out = over(out, np.array([0.93, 0.88, 0.82], np.float32) * light, np.clip(fringe, 0, 0.2))
    n_bl = int(round(4 * max(0.0, severity - 0.3)))
    ang = rng.uniform(0, 2 * np.pi, 4)
    rad = np.sqrt(rng.uniform(0.1, 0.6, 4))
    size_b = rng.uniform(0.2, 0.35, 4) * min(spot.radii)
    dome = np.zeros(shape, np.float32)
    for i in range(min(n_bl, 4)):
        cx = spot.center[0] + rad[i] * spot.radii[0] * np.cos(ang[i])
        cy = spot.center[1] + rad[i] * spot.radii[1] * np.sin(ang[i])
        d = ellipse_distance(shape, (cx, cy), (size_b[i], size_b[i] * 0.8), float(ang[i]))
        dome = np.maximum(dome, np.sqrt(np.clip(1 - d * d, 0, 1)))
    dome = dome * smoothstep(0.5, 0.8, matte)
    cover = np.clip(dome * 3, 0, 1)
    rim = np.clip(cover - blur(cover, 0.8 * s), 0, 1)
    out = over(out, np.array([0.93, 0.85, 0.72], np.float32) * light, cover * 0.22)
    out = absorb(out, rim * 0.4, (0.1, 0.5, 0.5))
    diffuse, spec = shading(dome * 1.0 * s + raw * 0.6 * s, 25.0)
    gloss = np.maximum(cover, raw * 0.7)
    out = out * (1 + (diffuse[..., None] - 1) * 0.4) + (0.22 * spec * gloss)[..., None]
    if severity > 0.8:  # full thickness: one dry leathery patch in the middle, cracked
        d = ellipse_distance(shape, spot.center, spot.radii, spot.angle)
        reach = 0.2 + 1.8 * (severity - 0.8)
        esc = smoothstep(0.0, 0.12, reach - d + 0.12 * big) * smoothstep(0.5, 0.8, matte)
        tone = smoothstep(-0.8, 0.8, smooth_noise(rng, shape, 3 * s))[..., None]
        crack = smoothstep(0.2, 0.0, np.abs(smooth_noise(rng, shape, 2.5 * s)))[..., None]
        col = (np.array([0.2, 0.12, 0.09], np.float32) * (1 - tone) + np.array([0.38, 0.32, 0.28], np.float32) * tone)
        out = over(out, col * light * (1.0 - 0.55 * crack), esc * 0.9)
    out = img + blur(out - img, 0.4 * s)
    return out, matte


def dried_blood(img: Image, spot: Spot, severity: float, rng: np.random.Generator) -> tuple[Image, Matte]:
    """Dried blood: a dark brown-red crusted smear with streaks that ran down from it and a few
    spots; matte, darker at the edges where it dried first."""
    s, shape = spot.scale, spot.shape
    smear = blob(spot, rng, roughness=1.4, feather=0.5, radii=(0.6 * spot.radii[0], 0.45 * spot.radii[1]),
                 center=(spot.center[0], spot.center[1] - 0.3 * spot.radii[1]))
    k = 4
    starts = np.stack([spot.center[0] + rng.uniform(-0.45, 0.45, k) * spot.radii[0],
                       spot.center[1] + rng.uniform(-0.5, 0.0, k) * spot.radii[1]], axis=1)
    streaks = drips(spot, rng, starts, width=(0.6 + 0.6 * severity) * s,
                     length=(0.5 + 0.6 * severity) * (spot.box[3] - spot.box[1]), count=int(round(1 + 3 * severity)))
    n_spots = int(round(1 + 5 * severity))
    centres = rng.normal(0.0, 0.5, (6, 2)) * np.array(spot.radii) + np.array(spot.center)
    radii = rng.uniform(0.5, 1.5, 6) * s
    spots_c = np.zeros(shape, np.uint8)
    for (x, y), r in zip(centres[:n_spots], radii[:n_spots]):
        cv2.circle(spots_c, (int(x * 16), int(y * 16)), int(r * 16), 255, -1, cv2.LINE_AA, 4)
    crust = np.maximum(np.maximum(streaks, spots_c.astype(np.float32) / 255.0), smoothstep(0.45, 0.75, smear))
    ring = np.clip(crust - blur(crust, 1.0 * s), 0, 1) * 1.5
    texture = 1.0 + 0.18 * smooth_noise(rng, shape, 1.5 * s) + 0.12 * smooth_noise(rng, shape, 5 * s)
    density = crust * (0.75 + 0.35 * severity) * texture + ring * 0.4 + smear * 0.35
    out = absorb(img, blur(density, 0.5 * s), (0.8, 1.8, 1.9))
    return out, np.maximum(crust, np.clip(smear * 3, 0, 1))


def bandage(img: Image, spot: Spot, severity: float, rng: np.random.Generator) -> tuple[Image, Matte]:
    """A dressing over the region: a gauze pad held by tape, an adhesive plaster, or over an eye
    an oval eye pad or a black eye patch; woven texture, lit by the face, with a drop shadow
    and, on severe wounds, blood seeping through the gauze."""
    s, shape = spot.scale, spot.shape
    light = face_light(img, spot)
    x0, y0, x1, y1 = spot.box
    w, h = (x1 - x0) / 2, (y1 - y0) / 2
    pick = float(rng.uniform())
    style = ("eye_patch" if pick < 0.25 else "eye_pad") if spot.eye is not None else (
        "plaster" if pick < (0.8 if spot.region in ("nose", "mouth") else 0.4) else "gauze")
    angle = float(rng.normal(0.0, 0.12)) + (np.pi / 2 if style == "plaster" and spot.region == "nose" and pick < 0.5 else 0.0)
    center = (spot.center[0] + rng.uniform(-0.05, 0.05) * w, spot.center[1] + rng.uniform(-0.05, 0.05) * h)
    u, v = pad_coords(spot, center, angle)
    fray = 0.35 * s * smooth_noise(rng, shape, 2.0 * s)
    fibres = smooth_noise(rng, shape, 1.0 * s)
    puff = smooth_noise(rng, shape, 8.0 * s, octaves=2)
    along = max(w if abs(np.sin(angle)) < 0.5 else h, 0.3 * spot.eye_distance)
    across = h if abs(np.sin(angle)) < 0.5 else w
    if style == "plaster":
        half_w = min(rng.uniform(0.42, 0.55) * across, 0.3 * along) if spot.region != 'mouth' else 0.3 * along
        strip = rounded(u, v, 0.97 * along, half_w, 2.4, s)
        pad = rounded(u, v, 0.36 * along, 0.75 * half_w, 6.0, s) * strip
        holes = (np.cos(2 * np.pi * u / (3.2 * s)) * np.cos(2 * np.pi * v / (3.2 * s)) > 0.93) * (1 - pad)
        matte = strip
        colour = np.array([0.93, 0.83, 0.73], np.float32) * (1 - 0.1 * holes)[..., None]
        colour = colour * (1 - pad[..., None]) + np.array([0.95, 0.93, 0.9], np.float32) * pad[..., None]
        height = 1.0 * s * blur(strip, 1.2 * s) + 1.5 * s * blur(pad, 1.5 * s)
        tex = 0.02 * fibres + 0.03 * pad * np.cos(2 * np.pi * v / (2.5 * s))
    elif style == "eye_patch":
        matte = rounded(u, v + 0.02 * h, 0.92 * w, 0.95 * h, 2.0, s)
        colour = np.array([0.07, 0.07, 0.08], np.float32)
        ex = x0 + 2 * w if spot.region == "left_eye" else x0
        strap_pts = np.array([[center[0], center[1] - 0.6 * h], [ex, y0 - 0.2 * h]])
        matte = np.maximum(matte, poly_matte(shape, [polyline(strap_pts, np.full(2, 1.6 * s))]))
        height = 3.0 * s * blur(matte, 3.0 * s)
        tex = 0.03 * fibres
    else:  # gauze pad (oval over an eye) held by two tape strips
        oval = style == "eye_pad"
        a, b = (0.95 * w, 0.98 * h) if oval else (rng.uniform(0.62, 0.82) * along, rng.uniform(0.7, 0.9) * across)
        pad = rounded(u + fray, v + fray, a, b, 2.0 if oval else 6.0, s)
        weave = 0.5 * (np.cos(2 * np.pi * u / (2.6 * s)) + np.cos(2 * np.pi * v / (2.6 * s)))
        tape_w = (0.3 if oval else 0.22) * b
        tilt = (0.6 if spot.region == "left_eye" else -0.6) if oval else 0.0  # parallel strips, brow to cheek
        tapes = np.zeros(shape, np.float32)
        tu, tv = u * np.cos(tilt) + v * np.sin(tilt), -u * np.sin(tilt) + v * np.cos(tilt)
        for side in (-1, 1):
            off = side * (0.4 * a if oval else 0.78 * a)
            tapes = np.maximum(tapes, rounded(tu - off, tv, tape_w, (1.15 if oval else 1.25) * b, 12.0, s))
        tapes = tapes * 0.9  # thin tape: the skin shows through a little
        matte = np.maximum(pad, tapes)
        colour = (np.array([0.95, 0.94, 0.91], np.float32) * (1 - tapes)[..., None]
                  + np.array([0.93, 0.91, 0.86], np.float32) * tapes[..., None])
        height = 2.0 * s * blur(pad, 3.0 * s) * (1 + 0.1 * puff) + 0.6 * s * tapes
        tex = (0.045 * weave + 0.025 * fibres + 0.012 * puff) * pad * (1 - 0.8 * tapes) + 0.012 * fibres * tapes
        if severity > 0.5 and pick > 0.35:  # blood seeping through
            d = ellipse_distance(shape, center, (0.45 * a * severity, 0.4 * b * severity), angle)
            d = d * (1.0 + 0.3 * smooth_noise(rng, shape, 0.3 * a))
            seep = blur(np.clip(1.3 * np.exp(-1.5 * d * d) - 0.15, 0, 1), 1.2 * s) * pad * (1 - tapes) * (1.0 + 0.15 * fibres)
            ring = np.clip(seep - blur(seep, 2.0 * s), 0, 1) * 2
            colour = colour * np.exp(-(seep * 0.9 + ring)[..., None] * np.array([0.45, 1.4, 1.35], np.float32))
    diffuse, spec = shading(height, 25.0)
    lit = colour * (light * diffuse)[..., None] + tex[..., None] * light[..., None]
    lit = lit + (0.05 if style == "eye_patch" else 0.03) * spec[..., None]
    shadow = blur(cv2.warpAffine(matte, np.float32([[1, 0, 1.3 * s], [0, 1, 2.0 * s]]), shape[::-1]), 2.0 * s)
    out = img * (1.0 - 0.4 * (shadow * (1 - matte)))[..., None]
    out = over(out, lit.astype(np.float32), matte)
    out = img + blur(out - img, 0.45 * s)
    return out, np.maximum(matte, np.clip(shadow * 3, 0, 1))
