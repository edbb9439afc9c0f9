"""Skin injuries of the casework simulation: haematomas by colour stage, red eyes, sutured
wounds and fresh blood, on a whole aligned face crop.

Each effect takes the face ``(S, S, 3) float32`` RGB in [0, 1], its :class:`FaceFrame`, the
:class:`Site`, a severity in (0, 1], a numpy ``Generator`` and the :class:`InjuryMix`, and
returns the new image and its footprint (``(S, S) float32`` in [0, 1], how strongly each pixel
changed). Skin colour changes are optical densities (``skin * exp(-density)``) so the skin's
texture shows through. The publication's single-injury effects (``effects.py``) are reused at
casework sizes by :func:`spot_for`.

This module imports OpenCV at the top: only the casework simulation imports it, lazily.
"""

from __future__ import annotations

import numpy as np

from crossid_desktop.synth.injuries.mix import STAGES, InjuryMix
from crossid_desktop.synth.injuries.rendering import (
    Image,
    Matte,
    Spot,
    absorb,
    blur,
    drips,
    ellipse_distance,
    grid,
    over,
    poly_matte,
    polyline,
    shading,
    smooth_noise,
    smoothstep,
    wet_blood,
)
from crossid_desktop.synth.injuries.sites import CHEEKS, EYES, FaceFrame, Site

#: optical densities (R, G, B) of a haematoma's colour stages: red-purple haemoglobin when
#: fresh, blue-black deoxygenated blood, green biliverdin, yellow-brown bilirubin/haemosiderin
STAGE_DENSITY = {
    "fresh": (0.45, 1.0, 0.75),
    "blue_black": (0.95, 1.0, 0.6),
    "green": (0.35, 0.15, 0.6),
    "yellow_brown": (0.2, 0.4, 1.0),
}
#: half-sizes (eye distances) of the box an effect of ``effects.py`` is drawn in, per site
SITE_HALF_BOX = {
    Site.FOREHEAD: (0.75, 0.3), Site.RIGHT_EYE: (0.42, 0.33), Site.LEFT_EYE: (0.42, 0.33),
    Site.NOSE: (0.22, 0.42), Site.RIGHT_CHEEK: (0.36, 0.36), Site.LEFT_CHEEK: (0.36, 0.36),
    Site.MOUTH: (0.45, 0.22), Site.JAW: (0.7, 0.25),
}


def eye_opening(frame: FaceFrame, side: int, squeeze: float = 1.0) -> Matte:
    """A soft ellipse over an eye's opening (sclera and iris)."""
    e = frame.eye_distance
    d = ellipse_distance((frame.size, frame.size), frame.eye(side), (0.2 * e, 0.085 * e * squeeze), 0.0)
    return 1.0 - smoothstep(0.6, 1.1, d)


def spot_for(frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator, mix: InjuryMix,
             shape: str = "patch") -> Spot:
    """A :class:`Spot` of casework size for the effects of ``effects.py``: a box around the site
    (``SITE_HALF_BOX`` grown with severity and the mix's size) and an ellipse inside it
    (``shape``: ``"patch"``, ``"cut"`` (long and thin) or ``"box"`` (the whole box))."""
    e, size = frame.eye_distance, frame.size
    cx, cy = frame.site_centre(site)
    if site is Site.FOREHEAD:
        cx += float(rng.uniform(-0.3, 0.3)) * e
    grow = mix.size * (0.8 + 0.4 * severity)
    hx, hy = (v * e * grow for v in SITE_HALF_BOX[site])
    box = (cx - hx, cy - hy, cx + hx, cy + hy)
    frac = float(rng.uniform(0.75, 1.0))
    angle = float(rng.uniform(-0.4, 0.4))
    if shape == "cut":
        angle = float(rng.uniform(-1.2, 1.2)) if site in CHEEKS or site is Site.JAW else angle
        radii = (frac * hx, 0.25 * hy)
    elif shape == "box":
        radii, angle = (hx, hy), 0.0
    else:
        radii = (frac * hx * 0.85, frac * hy * 0.85)
    eye = frame.eye(site.side) if site in EYES else None
    return Spot(region=site.value, size=size, shape=(size, size), box=box, center=(float(cx), float(cy)),
                radii=(float(radii[0]), float(radii[1])), angle=angle, eye=eye, eye_distance=e)


def haematoma(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator,
              mix: InjuryMix) -> tuple[Image, Matte]:
    """A bruise of one colour stage (drawn from the mix's stage shares): the stage's colour in the
    centre, the next stage's at the rim (bruises age from the rim inwards); blotchy, diffuse; a
    black eye spares the eyeball and is darkest in the lid folds."""
    e, shape = frame.eye_distance, (frame.size, frame.size)
    grow = mix.size * (0.55 + 0.6 * severity)
    half = {Site.FOREHEAD: (0.55, 0.3), Site.NOSE: (0.22, 0.45), Site.MOUTH: (0.4, 0.25), Site.JAW: (0.45, 0.3)}
    rx, ry = half.get(site, (0.5, 0.38) if site in EYES else (0.42, 0.34))
    cx, cy = frame.site_centre(site)
    cy += 0.06 * e if site in EYES else 0.0
    cx += float(rng.uniform(-0.3, 0.3)) * e if site in (Site.FOREHEAD, Site.JAW) else float(rng.uniform(-0.08, 0.08)) * e
    radii = (rx * e * grow, ry * e * grow)
    d = ellipse_distance(shape, (cx, cy), radii, float(rng.uniform(-0.3, 0.3)))
    d = d * (1.0 + 0.25 * np.clip(smooth_noise(rng, shape, 0.6 * min(radii)), -2.0, 2.0))
    profile = np.clip((np.exp(-1.3 * d * d) - 0.12) / 0.88, 0.0, 1.0)
    if site in EYES:
        profile = profile * (1.0 - 0.8 * eye_opening(frame, site.side, 1.1))
    stage = int(rng.choice(len(STAGES), p=np.asarray(mix.stages) / sum(mix.stages)))
    core_c = np.asarray(STAGE_DENSITY[STAGES[stage]], np.float32)
    rim_c = np.asarray(STAGE_DENSITY[STAGES[min(stage + 1, len(STAGES) - 1)]], np.float32)
    blotch = 1.0 + 0.2 * smooth_noise(rng, shape, 0.5 * max(radii)) + 0.05 * smooth_noise(rng, shape, 2.0 * frame.scale)
    strength = (0.5 + 0.9 * severity) * mix.intensity * blotch * (1.5 if site in EYES else 1.0)
    core = profile * profile
    density = strength[..., None] * (core[..., None] * core_c + (profile - core)[..., None] * rim_c)
    return (img * np.exp(-density)).astype(np.float32), np.clip(profile * 6.0, 0.0, 1.0)


def subconjunctival(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator,
                    mix: InjuryMix) -> tuple[Image, Matte]:
    """A subconjunctival haemorrhage: the white of the eye turns bright red, partly or wholly.
    Only bright, unsaturated pixels of the eye opening (the sclera) are tinted."""
    e, shape = frame.eye_distance, (frame.size, frame.size)
    side = site.side or (1 if rng.uniform() < 0.5 else -1)
    region = eye_opening(frame, side, 1.3)
    lum = img @ np.array([0.3, 0.59, 0.11], np.float32)
    sat = img.max(axis=2) - img.min(axis=2)
    sclera = smoothstep(-0.03, 0.05, lum - blur(lum, 0.15 * e)) * (1.0 - smoothstep(0.18, 0.35, sat)) * region
    level = 1.2 - 2.6 * severity  # a partial haemorrhage when mild, the whole white when severe
    patch = smoothstep(level, level + 0.8, smooth_noise(rng, shape, 0.12 * e))
    density = blur(sclera * patch, 0.6 * frame.scale) * (1.4 + 1.6 * severity) * mix.intensity
    out = absorb(img, density, (0.08, 1.5, 1.25))
    return out.astype(np.float32), np.clip(density * 4.0, 0.0, 1.0) * smoothstep(0.05, 0.3, region)


def _cut_line(frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator, mix: InjuryMix) -> np.ndarray:
    """The centre line ``(48, 2)`` of a cut on ``site``: gently curved, a little wobbly."""
    e, s = frame.eye_distance, frame.scale
    cx, cy = frame.site_centre(site)
    if site in EYES:  # the classic split eyebrow
        cy -= 0.3 * e
        angle = float(rng.uniform(-0.3, 0.3))
    elif site is Site.MOUTH:  # a split lip, across the lip line
        cx += float(rng.uniform(-0.25, 0.25)) * e
        angle = np.pi / 2 + float(rng.uniform(-0.3, 0.3))
    else:
        cx += float(rng.uniform(-0.25, 0.25)) * e
        angle = float(rng.uniform(-0.5, 0.5) if site in (Site.FOREHEAD, Site.JAW) else rng.uniform(-1.3, 1.3))
    length = (0.3 + 0.5 * severity) * e * mix.size * (0.5 if site is Site.MOUTH else 1.0)
    t = np.linspace(-0.5, 0.5, 48)
    wig = rng.normal(0.0, 0.25 * s, t.size).cumsum()
    wig -= np.linspace(wig[0], wig[-1], t.size)
    along, across = t * length, float(rng.uniform(-0.15, 0.15)) * length * (1 - 4 * t * t) + wig
    c, sn = np.cos(angle), np.sin(angle)
    return np.stack([cx + along * c - across * sn, cy + along * sn + across * c], axis=1)


def sutured_wound(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator,
                  mix: InjuryMix) -> tuple[Image, Matte]:
    """A closed laceration: a thin dark-red line with swollen pink edges and crusts, closed by
    interrupted stitches of dark thread or by adhesive skin-closure strips across it."""
    e, s, shape = frame.eye_distance, frame.scale, (frame.size, frame.size)
    pts = _cut_line(frame, site, severity, rng, mix)
    cut = poly_matte(shape, [polyline(pts, np.full(len(pts), 0.45 * s + 0.4 * s * severity))])
    edge = np.clip(blur(cut, 2.5 * s) * 3.0, 0, 1)
    out = absorb(img, edge * (0.25 + 0.3 * severity) * mix.intensity, (0.03, 0.45, 0.35))
    out = over(out, (0.35, 0.05, 0.06), cut * 0.85)
    crust = cut * smoothstep(0.3, 1.0, smooth_noise(rng, shape, 1.5 * s))
    out = over(out, (0.28, 0.1, 0.07), np.clip(blur(crust, 0.8 * s) * 2.5, 0, 1) * 0.8)
    tangent = np.gradient(pts, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-9
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    length = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
    strips = rng.uniform() < mix.steri_strips
    n = max(2, int(length / ((0.1 if strips else 0.06) * e)))
    idx = np.linspace(3, len(pts) - 4, n).round().astype(int)
    half = (0.1 if strips else 0.045) * e
    width = 0.025 * e if strips else 0.45 * s
    material = poly_matte(shape, [polyline(np.stack([pts[i] - half * normal[i], pts[i] + half * normal[i]]), np.full(2, width)) for i in idx])
    if strips:  # white strips, translucent, lit like paper
        diffuse, _ = shading(blur(material, 0.8 * s) * 1.2 * s, 20.0)
        out = over(out, np.array([0.97, 0.96, 0.92], np.float32) * diffuse[..., None], material * 0.85)
    else:  # dark thread and the small bleeding holes where it enters the skin
        colour = np.asarray(mix.thread[int(rng.integers(len(mix.thread)))], np.float32)
        holes = poly_matte(shape, [polyline(np.stack([pts[i] + sgn * half * normal[i] * 1.05, pts[i] + sgn * half * normal[i] * 1.1]), np.full(2, 0.8 * s)) for i in idx for sgn in (-1, 1)])
        out = absorb(out, blur(holes, 0.6 * s) * 1.5, (0.2, 1.6, 1.4))
        out = over(out, colour, material * 0.95)
    out = img + blur(out - img, 0.4 * s)
    return out.astype(np.float32), np.maximum(edge, np.clip(blur(material, 0.6 * s) * 3, 0, 1))


def _blood_source(frame: FaceFrame, site: Site, rng: np.random.Generator) -> tuple[float, float]:
    """Where fresh blood comes from: the nostrils, a corner of the mouth, a brow or forehead
    wound, a cheek or chin wound."""
    e = frame.eye_distance
    if site is Site.NOSE:
        return frame.nose_tip[0] + float(rng.choice([-0.09, 0.09])) * e, frame.nose_tip[1] + 0.1 * e
    if site is Site.MOUTH:
        corner = frame.mouth_right if rng.uniform() < 0.5 else frame.mouth_left
        return corner[0], corner[1] + 0.03 * e
    cx, cy = frame.site_centre(site)
    if site in EYES:
        return cx + float(rng.uniform(-0.2, 0.2)) * e, cy - 0.3 * e
    return cx + float(rng.uniform(-0.2, 0.2)) * e, cy + float(rng.uniform(-0.1, 0.1)) * e


def fresh_blood(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator,
                mix: InjuryMix) -> tuple[Image, Matte]:
    """Fresh blood running down from a source (nose, mouth, a wound): a pool at the source,
    streams that follow gravity and end in beads, and a translucent smear where it was wiped."""
    e, s, shape = frame.eye_distance, frame.scale, (frame.size, frame.size)
    sx, sy = _blood_source(frame, site, rng)
    amount = mix.blood * (0.4 + 0.8 * severity)
    spot = Spot(region=site.value, size=frame.size, shape=shape, box=(sx - 0.3 * e, sy, sx + 0.3 * e, sy + 0.6 * e),
                center=(sx, sy), radii=(0.2 * e, 0.2 * e), angle=0.0, eye=None, eye_distance=e)
    k = 6
    starts = np.stack([sx + rng.uniform(-0.1, 0.1, k) * e, sy + rng.uniform(-0.03, 0.05, k) * e], axis=1)
    runs = drips(spot, rng, starts, width=(0.035 + 0.03 * severity) * e, length=(0.3 + 0.9 * severity) * e * mix.blood,
                 count=int(round(2 + 3 * severity)))
    pool_d = ellipse_distance(shape, (sx, sy + 0.02 * e), (0.04 * e * amount, 0.035 * e * amount), 0.0)
    pool = smoothstep(0.0, 0.3, 1.0 - pool_d * (1.0 + 0.2 * np.clip(smooth_noise(rng, shape, 0.03 * e), -2, 2)))
    xx, yy = grid(shape)
    below = smoothstep(-0.05 * e, 0.1 * e, yy - sy)
    smear_d = ellipse_distance(shape, (sx + float(rng.uniform(-0.1, 0.1)) * e, sy + 0.35 * e * amount), (0.28 * e * amount, 0.45 * e * amount), float(rng.uniform(-0.4, 0.4)))
    smear = np.clip(1.0 - smear_d + 0.35 * smooth_noise(rng, shape, 0.1 * e, octaves=2), 0, 1) * below
    smear = smear * (rng.uniform() < 0.4 + 0.5 * severity)
    out = absorb(img, blur(smear, 1.5 * s) * 0.6 * amount * mix.intensity, (0.3, 2.0, 1.8))
    blood = np.maximum(runs, pool)
    out = wet_blood(out, blood, s, min(1.0, 0.6 + 0.4 * severity))
    out = img + blur(out - img, 0.4 * s)
    return out.astype(np.float32), np.maximum(blood, np.clip(smear * 2.5, 0, 1))
