"""Where the two stages of the X-ray landmark detector look: image-to-network affine maps.

* **Global frame**: the whole image, scaled so that its longer side spans ``size`` pixels and
  centred on a square canvas of ``size`` (the rest is 0, the air level after normalisation).
* **Local frame**: a square crop of ``crop`` pixels centred on a point, cut from the image
  resized to ``zoom`` times the global frame's scale (the local stage sees the same anatomy
  at ``zoom`` times the detail, whatever the image's own resolution).

Maps are ``(2, 3)`` float64 arrays ``A`` with ``canvas = A[:, :2] @ image + A[:, 2]``, in the
pixel-centre convention of :mod:`~crossid_desktop.matching.landmarks.heatmaps` (a pixel's
centre has integer coordinates); OpenCV's ``warpAffine`` takes them as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

Affine = NDArray[np.float64]


@dataclass(frozen=True)
class Frames:
    """Sizes of the two stages. ``size``: global canvas side (px); ``zoom``: local scale over
    the global one; ``crop``: local crop side (px)."""

    size: int = 192
    zoom: float = 5.0
    crop: int = 96

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def global_scale(self, height: int, width: int) -> float:
        """Network pixels per image pixel in the global frame."""
        return self.size / max(height, width)

    def global_canvas(self, image: NDArray[np.float32]) -> tuple[NDArray[np.float32], Affine]:
        """The ``(size, size)`` global canvas of a normalised image and the image -> canvas map."""
        height, width = image.shape
        resized, to_resized = resize(image, self.global_scale(height, width))
        canvas = np.zeros((self.size, self.size), np.float32)
        top, left = (self.size - resized.shape[0]) // 2, (self.size - resized.shape[1]) // 2
        canvas[top: top + resized.shape[0], left: left + resized.shape[1]] = resized
        return canvas, compose(np.array([[1.0, 0.0, left], [0.0, 1.0, top]]), to_resized)

    def local_image(self, image: NDArray[np.float32]) -> tuple[NDArray[np.float32], Affine]:
        """The image resized to the local scale, and the image -> resized map."""
        return resize(image, self.zoom * self.global_scale(*image.shape))

    def crop_map(self, centre: NDArray[np.float64]) -> Affine:
        """Resized image -> the crop centred on ``centre`` (resized-image coordinates)."""
        half = (self.crop - 1) / 2.0
        return np.array([[1.0, 0.0, half - centre[0]], [0.0, 1.0, half - centre[1]]])


def resize(image: NDArray[np.float32], scale: float) -> tuple[NDArray[np.float32], Affine]:
    """``image`` resized by about ``scale`` (area averaging when shrinking) and the exact map."""
    height, width = image.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    resized = cv2.resize(image, size, interpolation=interpolation)
    sx, sy = size[0] / width, size[1] / height
    return resized, np.array([[sx, 0.0, (sx - 1.0) / 2.0], [0.0, sy, (sy - 1.0) / 2.0]])


def warp(image: NDArray[np.float32], affine: Affine, side: int) -> NDArray[np.float32]:
    """``image`` through ``affine`` onto a ``(side, side)`` canvas, 0 outside (bilinear)."""
    return cv2.warpAffine(image, affine, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def compose(outer: Affine, inner: Affine) -> Affine:
    """The map ``outer(inner(x))``."""
    return np.hstack([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]])


def invert(affine: Affine) -> Affine:
    linear = np.linalg.inv(affine[:, :2])
    return np.hstack([linear, (-linear @ affine[:, 2])[:, None]])


def apply(affine: Affine, points: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(N, 2)`` points (x, y) through the map."""
    return np.asarray(points, dtype=np.float64).reshape(-1, 2) @ affine[:, :2].T + affine[:, 2]


def about(centre: NDArray[np.float64], scale: float, degrees: float, shift: NDArray[np.float64]) -> Affine:
    """Scale by ``scale`` and rotate by ``degrees`` about ``centre``, then shift by ``shift``."""
    theta = np.deg2rad(degrees)
    linear = scale * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return np.hstack([linear, (np.asarray(centre) - linear @ np.asarray(centre) + np.asarray(shift))[:, None]])
