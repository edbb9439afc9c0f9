"""Injuries that move the face: oedema (swelling that bulges the skin, closes an eye, thickens
the lips, pushes a cheek out) and asymmetric deformation (a deviated nose, a dropped eye, a
displaced jaw, a drooping brow or mouth corner).

Both warp the crop with a smooth backward map (``out(x) = in(map(x))``, :class:`Warp`), so the
landmarks move with the skin: :meth:`Warp.forward` says where a point of the face went. Each
effect returns the new image, its footprint (``(S, S) float32`` in [0, 1]: where pixels moved by
more than about half a pixel, or the skin reddened) and the warp.

This module imports OpenCV at the top: only the casework simulation imports it, lazily.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from crossid_desktop.synth.injuries.mix import InjuryMix
from crossid_desktop.synth.injuries.rendering import Image, Matte, absorb, blur, ellipse_distance, grid, shading, smooth_noise
from crossid_desktop.synth.injuries.sites import CHEEKS, EYES, FaceFrame, Site
from crossid_desktop.synth.injuries.wounds import eye_opening


@dataclass(frozen=True)
class Warp:
    """A backward map ``(S, S)`` float32 per axis: the output pixel (x, y) shows the input at
    ``(map_x[y, x], map_y[y, x])``."""

    map_x: NDArray[np.float32]
    map_y: NDArray[np.float32]

    def apply(self, img: Image) -> Image:
        return cv2.remap(img, self.map_x, self.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)

    def shift(self) -> Matte:
        """How far each output pixel's content came from, px."""
        xx, yy = grid(self.map_x.shape)
        return np.hypot(self.map_x - xx, self.map_y - yy).astype(np.float32)

    def forward(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """Where input points ``(n, 2)`` lie in the output: the q with ``map(q) = p``, by
        fixed-point iteration (the maps are smooth and their displacement gradients small)."""
        p = np.asarray(points, dtype=np.float64)
        q = p.copy()
        for _ in range(12):
            mx = cv2.remap(self.map_x, q[:, 0:1].astype(np.float32), q[:, 1:2].astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            my = cv2.remap(self.map_y, q[:, 0:1].astype(np.float32), q[:, 1:2].astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            q = q + (p - np.concatenate([mx, my], axis=1).astype(np.float64))
        return q


def _gauss(shape: tuple[int, int], centre: tuple[float, float], radii: tuple[float, float], angle: float = 0.0) -> Matte:
    d = ellipse_distance(shape, centre, radii, angle)
    return np.exp(-0.5 * d * d).astype(np.float32)


_OEDEMA_REACH = {Site.FOREHEAD: (0.32, 0.26), Site.NOSE: (0.22, 0.36), Site.MOUTH: (0.36, 0.16), Site.JAW: (0.5, 0.3)}


def oedema(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator,
           mix: InjuryMix) -> tuple[Image, Matte, Warp]:
    """Swelling: the skin bulges (a local magnification), a swollen cheek or jaw also pushes the
    face's outline outwards, swollen lids close over the eye; the skin reddens and shines."""
    e, s, shape = frame.eye_distance, frame.scale, (frame.size, frame.size)
    rx, ry = _OEDEMA_REACH.get(site, (0.38, 0.3) if site in EYES else (0.45, 0.42))
    grow = mix.size * (0.7 + 0.5 * severity)
    cx, cy = frame.site_centre(site)
    cx += float(rng.uniform(-0.06, 0.06)) * e + (site.side * 0.1 * e if site in CHEEKS else 0.0)
    cy += 0.05 * e if site in EYES else float(rng.uniform(-0.05, 0.05)) * e
    radii = (rx * e * grow, ry * e * grow)
    g = _gauss(shape, (cx, cy), (0.6 * radii[0], 0.6 * radii[1]))
    xx, yy = grid(shape)
    k = 0.35 + 0.55 * severity
    map_x, map_y = xx - k * g * (xx - cx), yy - k * g * (yy - cy)
    if site in CHEEKS or site is Site.JAW:  # the outline pushed out: the swelling's side moves outwards
        side = site.side or (1 if rng.uniform() < 0.5 else -1)
        push = (0.05 + 0.12 * severity) * e * mix.size
        wide = _gauss(shape, (cx + side * 0.3 * e, cy), (1.1 * radii[0], 1.2 * radii[1]))
        map_x = map_x - side * push * wide
    if site in EYES:  # the lids swell over the eye: squeeze its opening vertically
        ex, ey = frame.eye(site.side)
        ge = np.exp(-((xx - ex) ** 2) / (2 * (0.28 * e) ** 2) - ((yy - ey) ** 2) / (2 * (0.13 * e) ** 2))
        map_y = map_y + (1.8 * severity) * ge * (yy - ey)
    warp = Warp(map_x.astype(np.float32), map_y.astype(np.float32))
    out = warp.apply(img)
    height = 0.3 * float(np.mean(radii)) * (0.4 + severity) * g
    diffuse, spec = shading(height, shininess=12.0)
    redness = blur(g * (0.8 + 0.2 * smooth_noise(rng, shape, 6 * s)), 3 * s)
    tint = (0.3, 0.55, 0.3) if site in EYES else ((0.1, 0.5, 0.35) if site is Site.MOUTH else (0.06, 0.32, 0.22))
    out = absorb(out, redness * (0.3 + 0.5 * severity) * mix.intensity, tint)
    out = out * (1.0 + (diffuse[..., None] - 1.0) * 0.8) + 0.05 * spec[..., None] * g[..., None]
    if site in EYES:  # the shadowed slit between the puffy lids
        out = out * (1.0 - 0.5 * severity * eye_opening(frame, site.side, max(0.25, 1.0 - severity))[..., None])
    footprint = np.maximum(np.clip(warp.shift() / (0.5 * s), 0.0, 1.0) * np.clip(g * 3, 0, 1), np.clip(redness * 4.0, 0.0, 1.0))
    return out.astype(np.float32), footprint.astype(np.float32), warp


def deformation(img: Image, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator,
                mix: InjuryMix) -> tuple[Image, Matte, Warp]:
    """An asymmetric deformation that moves landmarks without colouring the skin: on the nose a
    deviated nasal pyramid, on an eye a dropped eye (orbital floor fracture), on a cheek or the
    jaw the lower face displaced sideways, on the mouth a dropped corner, on the forehead a
    drooping brow."""
    e, s, shape = frame.eye_distance, frame.scale, (frame.size, frame.size)
    amount = (0.05 + 0.11 * severity) * e * mix.size
    side = site.side or (1 if rng.uniform() < 0.5 else -1)
    ux = np.zeros(shape, np.float32)
    uy = np.zeros(shape, np.float32)
    if site is Site.NOSE:
        top, tip = frame.nasion, frame.nose_tip
        mid = ((top[0] + tip[0]) / 2, (top[1] + tip[1]) / 2 + 0.1 * e)
        ux = side * amount * _gauss(shape, mid, (0.22 * e, 0.4 * e))
    elif site in EYES:
        ux = side * 0.3 * amount * _gauss(shape, frame.eye(site.side), (0.35 * e, 0.3 * e))
        uy = 0.7 * amount * _gauss(shape, frame.eye(site.side), (0.35 * e, 0.3 * e))
    elif site is Site.MOUTH:
        corner = frame.mouth_right if side < 0 else frame.mouth_left
        uy = 0.8 * amount * _gauss(shape, corner, (0.3 * e, 0.25 * e))
        ux = side * 0.3 * amount * _gauss(shape, corner, (0.3 * e, 0.25 * e))
    elif site is Site.FOREHEAD:
        ex, ey = frame.eye(side)
        uy = 0.8 * amount * _gauss(shape, (ex, ey - 0.3 * e), (0.4 * e, 0.18 * e))
    else:  # cheek or jaw: the lower face of that side pushed sideways, the chin with it
        cx, cy = frame.site_centre(Site.JAW if site is Site.JAW else site)
        ux = side * 1.3 * amount * _gauss(shape, (frame.midline_x + side * 0.4 * e, cy + 0.2 * e), (0.9 * e, 0.55 * e))
        uy = 0.2 * amount * _gauss(shape, (cx, cy), (0.5 * e, 0.4 * e))
    xx, yy = grid(shape)
    warp = Warp((xx - ux).astype(np.float32), (yy - uy).astype(np.float32))
    out = warp.apply(img)
    footprint = np.clip((warp.shift() - 0.3 * s) / (0.7 * s), 0.0, 1.0)
    return out.astype(np.float32), footprint.astype(np.float32), warp
