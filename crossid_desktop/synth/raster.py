"""Drawing in millimetres: a frame mapping head coordinates to pixels, and additive layers.

A :class:`Frame` is the similarity transform of one image (scale, in-plane rotation, shift),
so renderers draw anatomy in mm and every image gets its own pose nuisance for free.
:class:`Layer` accumulates additive float32 contributions (X-ray attenuation, shading
masks) drawn with OpenCV polygons and ellipses.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

_SHIFT = 4  # sub-pixel bits for OpenCV drawing
_ONE = 1 << _SHIFT


@dataclass(frozen=True)
class Frame:
    """Pixel ``p = A @ (u, v) + b`` for a point ``(u, v)`` in mm; ``size`` x ``size`` pixels."""

    size: int
    matrix: NDArray[np.float64]  # (2, 3)

    @staticmethod
    def make(size: int, px_per_mm: float, anchor_mm: tuple[float, float], anchor_px: tuple[float, float],
             angle_deg: float = 0.0) -> Frame:
        """A frame that puts ``anchor_mm`` at ``anchor_px``, scaled and rotated about it."""
        a = np.radians(angle_deg)
        rot = px_per_mm * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        b = np.asarray(anchor_px) - rot @ np.asarray(anchor_mm)
        return Frame(size, np.hstack([rot, b[:, None]]))

    @property
    def px_per_mm(self) -> float:
        return float(np.hypot(self.matrix[0, 0], self.matrix[1, 0]))

    def px(self, points: NDArray[np.float64] | list[tuple[float, float]]) -> NDArray[np.float64]:
        """``(n, 2)`` mm points to ``(n, 2)`` pixel positions (float)."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return p @ self.matrix[:, :2].T + self.matrix[:, 2]

    def grid(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """The mm coordinates ``(u, v)`` of every pixel centre, each ``(size, size)`` float32."""
        inverse = cv2.invertAffineTransform(self.matrix)
        j, i = np.meshgrid(np.arange(self.size, dtype=np.float32), np.arange(self.size, dtype=np.float32))
        u = inverse[0, 0] * j + inverse[0, 1] * i + inverse[0, 2]
        v = inverse[1, 0] * j + inverse[1, 1] * i + inverse[1, 2]
        return u.astype(np.float32), v.astype(np.float32)


class Layer:
    """An additive float32 image drawn in mm through a :class:`Frame`."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.values = np.zeros((frame.size, frame.size), np.float32)
        self._scratch = np.zeros((frame.size, frame.size), np.uint8)

    def _commit(self, value: float, points_px: NDArray[np.float64], margin: float) -> None:
        """Add ``value`` where the scratch mask was drawn, looking only at the drawn bounding box."""
        n = self.frame.size
        x0, y0 = np.floor(points_px.min(axis=0) - margin - 1).astype(int)
        x1, y1 = np.ceil(points_px.max(axis=0) + margin + 2).astype(int)
        box = (slice(max(y0, 0), min(y1, n)), slice(max(x0, 0), min(x1, n)))
        mask = self._scratch[box]
        self.values[box][mask > 0] += value
        mask[:] = 0

    def _fixed(self, points: NDArray[np.float64] | list[tuple[float, float]]) -> NDArray[np.int32]:
        return np.round(self.frame.px(points) * _ONE).astype(np.int32)

    def polygon(self, points: NDArray[np.float64] | list[tuple[float, float]], value: float, smooth: int = 0) -> None:
        """Add ``value`` inside the polygon with ``points`` in mm (corners rounded ``smooth`` times)."""
        if smooth:
            points = chaikin(np.asarray(points, np.float64), smooth, closed=True)
        fixed = self._fixed(points)
        cv2.fillPoly(self._scratch, [fixed], 255, cv2.LINE_8, _SHIFT)
        self._commit(value, fixed / _ONE, 0.0)

    def polyline(self, points: NDArray[np.float64] | list[tuple[float, float]], value: float, width_mm: float,
                 closed: bool = False, smooth: int = 0) -> None:
        """Add ``value`` along a polyline ``width_mm`` thick (corners rounded ``smooth`` times)."""
        if smooth:
            points = chaikin(np.asarray(points, np.float64), smooth, closed=closed)
        width = max(1, int(round(width_mm * self.frame.px_per_mm)))
        fixed = self._fixed(points)
        cv2.polylines(self._scratch, [fixed], closed, 255, width, cv2.LINE_8, _SHIFT)
        self._commit(value, fixed / _ONE, width)

    def ellipse(self, centre: tuple[float, float], axes: tuple[float, float], value: float, angle: float = 0.0,
                width_mm: float = 0.0, arc: tuple[float, float] = (0.0, 360.0)) -> None:
        """Add ``value`` in an ellipse (semi-axes in mm), or along its outline if ``width_mm`` > 0."""
        c = self._fixed([centre])[0]
        s = self.frame.px_per_mm
        rotation = np.degrees(np.arctan2(self.frame.matrix[1, 0], self.frame.matrix[0, 0]))
        ax = (max(1, int(round(axes[0] * s * _ONE))), max(1, int(round(axes[1] * s * _ONE))))
        thickness = -1 if width_mm <= 0 else max(1, int(round(width_mm * s)))
        cv2.ellipse(self._scratch, (int(c[0]), int(c[1])), ax, angle + rotation, arc[0], arc[1], 255, thickness,
                    cv2.LINE_8, _SHIFT)
        self._commit(value, c[None, :] / _ONE, max(ax) / _ONE + max(thickness, 0))


def ellipse_points(centre: tuple[float, float], axes: tuple[float, float], start: float = 0.0, stop: float = 360.0,
                   n: int = 24) -> NDArray[np.float64]:
    """``(n, 2)`` points (mm) along an axis-aligned ellipse arc, angles in degrees."""
    a = np.radians(np.linspace(start, stop, n))
    return np.stack([centre[0] + axes[0] * np.cos(a), centre[1] + axes[1] * np.sin(a)], axis=1)


def chaikin(points: NDArray[np.float64], iterations: int, closed: bool = True) -> NDArray[np.float64]:
    """Corner-cutting smoothing of a polygon (``closed``) or of a polyline keeping its ends."""
    for _ in range(iterations):
        nxt = np.roll(points, -1, axis=0)
        cut = np.stack([0.75 * points + 0.25 * nxt, 0.25 * points + 0.75 * nxt], axis=1).reshape(-1, 2)
        points = cut if closed else np.vstack([points[:1], cut[:-2], points[-1:]])
    return points


def shell_path(u: NDArray[np.float32], v: NDArray[np.float32], centre: tuple[float, float], axes: tuple[float, float],
               thickness: float, lower_axis: float | None = None) -> NDArray[np.float32]:
    """Path length (mm) of a ray through an ellipsoidal shell ``thickness`` mm thick.

    The projection of a hollow ellipsoid: brightest just inside its outer edge (the tangent
    rays cross the most bone), as the cortex of a skull vault looks on a radiograph.
    ``lower_axis`` (mm), when given, is the vertical semi-axis below the centre (a flatter base).
    """
    a, b = axes
    vertical = b if lower_axis is None else np.where(v > centre[1], lower_axis, b)
    r2 = ((u - centre[0]) / a) ** 2 + ((v - centre[1]) / vertical) ** 2
    k = 1.0 - thickness / min(a, b)
    outer = np.sqrt(np.clip(1.0 - r2, 0.0, None))
    inner = np.sqrt(np.clip(k * k - r2, 0.0, None))
    return (min(a, b) * (outer - inner)).astype(np.float32)
