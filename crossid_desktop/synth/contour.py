"""Outlines of drawn anatomy, and the geometric rules that pick a landmark on an outline.

:func:`fine_mask` draws parts (the renderer's own drawing functions) alone into a fine layer
(10 px/mm by default) and :func:`fine_outline` returns the outer edge of what was drawn, in
mm. The rules then pick points on such an outline (or on a smooth polygon): the point nearest
a construction point, the extreme point in a direction, the point of an arc farthest from its
chord (the deepest point of a concavity, the apex of a rounded corner).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

from crossid_desktop.synth.raster import Frame, Layer

Points = NDArray[np.float64]
Point = tuple[float, float]

#: resolution of the fine drawings the landmarks are found on
FINE_PX_PER_MM = 10.0


def fine_mask(draw: Callable[[Layer], None], box: tuple[float, float, float, float],
              px_per_mm: float = FINE_PX_PER_MM) -> tuple[NDArray[np.bool_], Frame]:
    """Where ``draw`` adds a positive value inside ``box`` (x0, y0, x1, y1 in mm), drawn finely.

    Returns the mask (square, ``size`` x ``size``) and its frame (mm to mask pixels).
    """
    x0, y0, x1, y1 = box
    size = int(np.ceil(max(x1 - x0, y1 - y0) * px_per_mm)) + 3
    frame = Frame.make(size, px_per_mm, (x0, y0), (1.0, 1.0))
    layer = Layer(frame)
    draw(layer)
    return layer.values > 0.0, frame


def fine_outline(draw: Callable[[Layer], None], box: tuple[float, float, float, float],
                 px_per_mm: float = FINE_PX_PER_MM) -> Points:
    """The outer edge of the largest region ``draw`` fills inside ``box``: ``(n, 2)`` mm, closed."""
    mask, frame = fine_mask(draw, box, px_per_mm)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        raise ValueError("Nothing was drawn inside the box.")
    largest = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float64)
    inverse = cv2.invertAffineTransform(frame.matrix)
    return largest @ inverse[:, :2].T + inverse[:, 2]


def mm_to_mask(frame: Frame, point: Point) -> tuple[int, int]:
    """The (row, column) of the fine-mask pixel holding ``point`` (mm)."""
    x, y = frame.px([point])[0]
    return int(round(y)), int(round(x))


def nearest(points: Points, target: Point) -> int:
    """Index of the point nearest ``target``."""
    return int(np.argmin(np.hypot(points[:, 0] - target[0], points[:, 1] - target[1])))


def arc(n: int, i: int, j: int) -> NDArray[np.intp]:
    """Indices from ``i`` to ``j`` (both included) the shorter way round a closed outline of ``n`` points."""
    forward = (j - i) % n
    if forward <= n - forward:
        return (i + np.arange(forward + 1)) % n
    return (i - np.arange(n - forward + 1)) % n


def extreme(points: Points, direction: Point, indices: NDArray[np.intp] | None = None) -> int:
    """Index of the point farthest along ``direction`` (among ``indices``, default all)."""
    chosen = np.arange(len(points)) if indices is None else np.asarray(indices)
    if chosen.size == 0:
        raise ValueError("No outline point lies where the landmark is looked for.")
    scores = points[chosen] @ np.asarray(direction, np.float64)
    return int(chosen[int(np.argmax(scores))])


def within(points: Points, *, x: tuple[float, float] | None = None, y: tuple[float, float] | None = None) -> NDArray[np.intp]:
    """Indices of the points inside the given coordinate ranges (mm, inclusive)."""
    keep = np.ones(len(points), bool)
    if x is not None:
        keep &= (points[:, 0] >= x[0]) & (points[:, 0] <= x[1])
    if y is not None:
        keep &= (points[:, 1] >= y[0]) & (points[:, 1] <= y[1])
    return np.flatnonzero(keep)


def farthest_from_chord(points: Points, i: int, j: int, towards: Point) -> int:
    """On the shorter arc from ``i`` to ``j``, the point farthest from the chord ``i``-``j`` on the
    side ``towards`` points to (a direction, mm): a concavity's deepest point when ``towards``
    points into the concavity's opening reversed, a rounded corner's apex when it points out."""
    indices = arc(len(points), i, j)
    a, b = points[i], points[j]
    d = b - a
    normal = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9)
    if normal @ np.asarray(towards, np.float64) < 0:
        normal = -normal
    return int(indices[int(np.argmax((points[indices] - a) @ normal))])


def line_end(start: Point, end: Point, width: float) -> Point:
    """The far tip of a line drawn ``width`` mm thick from ``start`` to ``end`` (round cap)."""
    d = np.subtract(end, start)
    p = np.asarray(end) + d / max(float(np.hypot(*d)), 1e-9) * width / 2
    return (float(p[0]), float(p[1]))


def polygon_crossings(points: Points, x: float) -> NDArray[np.float64]:
    """The heights (y, mm) where the closed polygon ``points`` crosses the vertical line at ``x``."""
    a, b = points, np.roll(points, -1, axis=0)
    crosses = (a[:, 0] - x) * (b[:, 0] - x) <= 0
    crosses &= a[:, 0] != b[:, 0]
    t = (x - a[crosses, 0]) / (b[crosses, 0] - a[crosses, 0])
    return np.sort(a[crosses, 1] + t * (b[crosses, 1] - a[crosses, 1]))
