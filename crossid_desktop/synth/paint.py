"""Painting in mm for the synthetic photos: coverage, blending, shading, backdrop, hair, finish.

Shared by the frontal (:mod:`crossid_desktop.synth.face`) and the profile
(:mod:`crossid_desktop.synth.face_profile`) renderers. Images are float32 RGB in 0..255 until
:func:`finish` turns them into uint8.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from crossid_desktop.synth.params import Nuisance
from crossid_desktop.synth.raster import Frame

Image = NDArray[np.float32]


def gauss(u: Image, v: Image, cx: float, cy: float, sx: float, sy: float) -> Image:
    """A Gaussian bump of height 1 at ``(cx, cy)`` with widths ``sx``, ``sy`` (mm)."""
    return np.exp(-(((u - cx) / sx) ** 2 + ((v - cy) / sy) ** 2)).astype(np.float32)


def window(frame: Frame, cx: float, cy: float, rx: float, ry: float) -> tuple[slice, slice]:
    """The pixel box (rows, columns) covering the mm box ``cx +- rx``, ``cy +- ry``."""
    corners = frame.px([(cx - rx, cy - ry), (cx + rx, cy - ry), (cx - rx, cy + ry), (cx + rx, cy + ry)])
    n = frame.size
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int), 0, n)
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 1, 0, n)
    return slice(y0, y1), slice(x0, x1)


def soft(distance_mm: Image, px_per_mm: float) -> Image:
    """Anti-aliased coverage from a signed distance (mm, positive inside)."""
    return np.clip(distance_mm * px_per_mm + 0.5, 0.0, 1.0).astype(np.float32)


def blend(canvas: Image, colour: NDArray[np.float32] | tuple[float, ...], alpha: Image) -> None:
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


def lambert(height: Image, light: tuple[float, float, float], px_per_mm: float) -> Image:
    """Lambertian shading (ambient + diffuse) of a height field in mm."""
    gy, gx = np.gradient(height)
    gx *= px_per_mm
    gy *= px_per_mm
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    lambert = (-gx * light[0] - gy * light[1] + light[2]) / norm
    return (0.42 + 0.68 * np.clip(lambert, 0.0, 1.0)).astype(np.float32)


def background(size: int, nuisance: Nuisance) -> Image:
    """The backdrop: a vertical gradient between the nuisance's two colours."""
    top, bottom = (np.asarray(c, np.float32) for c in nuisance.background)
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    return np.broadcast_to(top * (1 - t) + bottom * t, (size, size, 3)).copy()


def hair_texture(size: int, seed: int, vertical: bool) -> Image:
    """Multiplicative strand texture around 1 (``(size, size)`` float32), strands along one axis."""
    rng = np.random.default_rng(seed + 1)
    shape = (6, max(8, size // 3)) if vertical else (max(8, size // 3), 6)
    coarse = rng.normal(1.0, 0.13, shape).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_LINEAR)


def finish(canvas: Image, nuisance: Nuisance) -> NDArray[np.uint8]:
    """A slight blur and the camera's noise, then 8-bit RGB."""
    rng = np.random.default_rng(nuisance.noise_seed)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 0.6)
    canvas += rng.normal(0.0, 2.0, canvas.shape[:2]).astype(np.float32)[..., None]
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
