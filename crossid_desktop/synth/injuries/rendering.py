"""Drawing primitives shared by the injury effects (``synth/injuries/effects.py``).

Where an injury goes (:class:`Spot`), band-limited noise, soft irregular mattes, anti-aliased
polygons, shading from a height map, Beer-Lambert tinting and alpha compositing, streaks of
liquid running down. Images are ``(h, w, 3) float32`` RGB in [0, 1], mattes ``(h, w) float32``
in [0, 1]; lengths are in pixels and scale with :attr:`Spot.scale`.

This module imports OpenCV at the top: only the injury simulation imports it, lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.float32]  # (S, S, 3) RGB in [0, 1]
Matte = NDArray[np.float32]  # (S, S) in [0, 1]

_LIGHT = np.array([-0.35, -0.6, 0.72], np.float32)  # towards the light: up and to the image left
_LIGHT /= np.linalg.norm(_LIGHT)
_HALF = _LIGHT + np.array([0.0, 0.0, 1.0], np.float32)
_HALF /= np.linalg.norm(_HALF)


@dataclass(frozen=True)
class Spot:
    """Where one injury goes: pixel coordinates in a working window of ``shape`` (rows,
    columns) cut from a ``size`` x ``size`` face crop."""

    region: str
    size: int
    shape: tuple[int, int]
    box: tuple[float, float, float, float]  # the region's box: x0, y0, x1, y1
    center: tuple[float, float]
    radii: tuple[float, float]  # semi-axes of the injury's ellipse, along and across ``angle``
    angle: float  # radians, image coordinates (y down)
    eye: tuple[float, float] | None  # the eye centre when the region is an eye
    eye_distance: float

    @property
    def scale(self) -> float:
        """Pixels per pixel of a 256 px crop."""
        return self.size / 256.0


@lru_cache(maxsize=8)
def grid(shape: tuple[int, int]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    xx.flags.writeable = False
    yy.flags.writeable = False
    return xx, yy


def ellipse_distance(shape: tuple[int, int], center: tuple[float, float], radii: tuple[float, float], angle: float) -> Matte:
    """Normalised elliptical distance: 1 on the ellipse, 0 at its centre."""
    xx, yy = grid(shape)
    dx, dy = xx - center[0], yy - center[1]
    c, s = np.cos(angle), np.sin(angle)
    u, v = (dx * c + dy * s) / radii[0], (-dx * s + dy * c) / radii[1]
    return np.sqrt(u * u + v * v).astype(np.float32)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float, octaves: int = 1) -> Matte:
    """Band-limited noise of unit standard deviation with features about ``cell`` px wide."""
    h, w = shape
    out = np.zeros(shape, np.float32)
    amp = 1.0
    for o in range(octaves):
        c = max(cell / 2**o, 1.0)
        nh, nw = int(h / c) + 4, int(w / c) + 4
        coarse = rng.standard_normal((nh, nw)).astype(np.float32)
        big = cv2.resize(coarse, (int(np.ceil(nw * c)), int(np.ceil(nh * c))), interpolation=cv2.INTER_CUBIC)
        out += amp * big[:h, :w]
        amp *= 0.5
    return out / (out.std() + 1e-6)


def smoothstep(e0: float, e1: float, x: NDArray[np.float32]) -> Matte:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def blur(m: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    return cv2.GaussianBlur(m, (0, 0), max(sigma, 0.3))


def box_matte(spot: Spot, margin: float, inset: float = 0.0) -> Matte:
    """1 inside the region's box (less ``inset`` px), falling to 0 ``margin`` px outside it."""
    xx, yy = grid(spot.shape)
    x0, y0, x1, y1 = spot.box
    d = np.maximum.reduce([x0 - xx, xx - x1, y0 - yy, yy - y1])
    return 1.0 - smoothstep(-inset, margin, d)


def blob(spot: Spot, rng: np.random.Generator, *, roughness: float = 0.3, feather: float = 0.2,
         radii: tuple[float, float] | None = None, center: tuple[float, float] | None = None) -> Matte:
    """An irregular soft-edged patch: the spot's ellipse with a noise-modulated edge, feathered
    over ``feather`` (a fraction of the radius) and softly clipped to the region's box."""
    r = radii or spot.radii
    d = ellipse_distance(spot.shape, center or spot.center, r, spot.angle)
    n = smooth_noise(rng, spot.shape, cell=0.7 * min(r), octaves=2)
    field = 1.0 - d + 0.3 * roughness * np.clip(n, -1.5, 1.5)
    inset = 0.12 * min(spot.box[2] - spot.box[0], spot.box[3] - spot.box[1])
    return smoothstep(0.0, feather, field) * box_matte(spot, 3.0 * spot.scale, inset)


def poly_matte(shape: tuple[int, int], polygons: list[NDArray[np.float64]]) -> Matte:
    """Anti-aliased filled polygons (each ``(n, 2)`` x, y in px, sub-pixel precise)."""
    canvas = np.zeros(shape, np.uint8)
    pts = [np.round(p * 16).astype(np.int32) for p in polygons]
    cv2.fillPoly(canvas, pts, 255, lineType=cv2.LINE_AA, shift=4)
    return canvas.astype(np.float32) / 255.0


def shading(height: NDArray[np.float32], shininess: float = 30.0) -> tuple[Matte, Matte]:
    """Relative diffuse shading (1 on a flat surface) and a specular term of a height map (px)."""
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    nl = (-gx * _LIGHT[0] - gy * _LIGHT[1] + _LIGHT[2]) / norm
    nh = (-gx * _HALF[0] - gy * _HALF[1] + _HALF[2]) / norm
    diffuse = np.clip(nl / _LIGHT[2], 0.0, 2.0)
    flat = _HALF[2] ** shininess
    spec = np.clip(np.clip(nh, 0.0, 1.0) ** shininess - flat, 0.0, 1.0) / (1.0 - flat)
    return diffuse.astype(np.float32), spec.astype(np.float32)


def face_light(img: Image, spot: Spot) -> Matte:
    """The face's low-frequency brightness around the spot relative to its median in the box,
    to light opaque materials laid onto the face."""
    lum = img @ np.array([0.3, 0.59, 0.11], np.float32)
    x0, y0, x1, y1 = (int(round(v)) for v in spot.box)
    ref = float(np.median(lum[max(y0, 0):max(y1, y0 + 1), max(x0, 0):max(x1, x0 + 1)])) + 1e-3
    return np.clip(blur(lum, 10 * spot.scale) / ref, 0.55, 1.25)


def absorb(img: Image, density: Matte, coeffs: tuple[float, float, float]) -> Image:
    """Beer-Lambert tint: ``img * exp(-density * coeffs)`` per channel."""
    return img * np.exp(-density[..., None] * np.asarray(coeffs, np.float32))


def over(img: Image, colour: Image | tuple[float, float, float], alpha: Matte) -> Image:
    """Alpha-composite ``colour`` (an image or one RGB colour) over ``img``."""
    a = alpha[..., None]
    return img * (1.0 - a) + np.asarray(colour, np.float32) * a


def eye_opening(spot: Spot, squeeze: float = 1.0) -> Matte:
    """A soft ellipse over the eye opening (the sclera and iris), for eye regions."""
    if spot.eye is None:
        return np.zeros(spot.shape, np.float32)
    e = spot.eye_distance
    d = ellipse_distance(spot.shape, spot.eye, (0.2 * e, 0.085 * e * squeeze), 0.0)
    return 1.0 - smoothstep(0.6, 1.1, d)


def polyline(points: NDArray[np.float64], half_width: NDArray[np.float64]) -> NDArray[np.float64]:
    """A ribbon polygon of varying half-width around a polyline ``(n, 2)``."""
    t = np.gradient(points, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-9
    nrm = np.stack([-t[:, 1], t[:, 0]], axis=1) * half_width[:, None]
    return np.concatenate([points + nrm, (points - nrm)[::-1]])


def drips(spot: Spot, rng: np.random.Generator, starts: NDArray[np.float64], width: float, length: float,
           count: int) -> Matte:
    """Streaks of liquid running down (gravity) from ``starts`` ``(k, 2)``: ``count`` of them,
    each a wobbling ribbon that narrows and ends in a bead."""
    s = spot.scale
    polys: list[NDArray[np.float64]] = []
    beads = np.zeros(spot.shape, np.uint8)
    n_max = len(starts)
    lengths = length * rng.uniform(0.15, 1.0, n_max) ** 1.5
    widths = width * rng.uniform(0.6, 1.3, n_max)
    wobble = rng.normal(0.0, 0.35 * s, (n_max, 16)).cumsum(axis=1)
    for i in range(min(count, n_max)):
        u = np.linspace(0.0, 1.0, 16)
        pts = np.stack([starts[i, 0] + wobble[i] - wobble[i, 0], starts[i, 1] + u * lengths[i]], axis=1)
        hw = widths[i] * (1.0 - 0.35 * u) * (1.0 + 0.2 * np.sin(u * 9 + i)) * np.minimum(1.0, 0.4 + 6 * u)
        polys.append(polyline(pts, hw))
        end = np.round(pts[-1] * 16).astype(np.int32)
        cv2.circle(beads, (int(end[0]), int(end[1])), int(round(widths[i] * 1.15 * 16)), 255, -1, cv2.LINE_AA, 4)
    if not polys:
        return np.zeros(spot.shape, np.float32)
    return np.maximum(poly_matte(spot.shape, polys), beads.astype(np.float32) / 255.0)


def pad_coords(spot: Spot, center: tuple[float, float], angle: float) -> tuple[Matte, Matte]:
    xx, yy = grid(spot.shape)
    dx, dy = xx - center[0], yy - center[1]
    c, sn = np.cos(angle), np.sin(angle)
    return dx * c + dy * sn, -dx * sn + dy * c


def rounded(u: Matte, v: Matte, a: float, b: float, power: float, s: float) -> Matte:
    """An anti-aliased superellipse ``|u/a|^p + |v/b|^p <= 1`` (a rounded rectangle for p ~ 6)."""
    f = (np.abs(u / a) ** power + np.abs(v / b) ** power) ** (1.0 / power)
    return 1.0 - smoothstep(1.0 - 0.7 * s / min(a, b), 1.0 + 0.7 * s / min(a, b), f)


def wet_blood(img: Image, blood: Matte, s: float, thickness: float) -> Image:
    """Fresh blood: a translucent red film where thin, an opaque dark red body where thick,
    with a glossy highlight along its lit edge."""
    thick = blur(blood, 0.5 * s)
    out = absorb(img, thick * thickness * 1.3, (0.3, 2.8, 2.5))
    out = over(out, (0.42, 0.02, 0.03), np.clip(thick * 1.4 - 0.5, 0, 1) * 0.5 * thickness)
    _, spec = shading(blur(blood, 0.9 * s) * 2.2 * s, shininess=40.0)
    return out + (0.7 * spec * np.clip(thick * 2.0, 0, 1))[..., None]
