"""A picture of the landmarks drawn on their image, for ``crossid landmarks --out`` and reports.

Each found point is a dot with its label (``l1`` ... or the name) and a circle of radius
``2 sd`` (about 86 % of a two-dimensional Gaussian error lies within it); points found with
low confidence are orange, corrected points blue, the others green. Missing points are listed
in the top-left corner; warnings are written in red across the top, so that a flagged result
cannot be taken for a clean one. No torch, no Qt.
"""

from __future__ import annotations

import textwrap

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.matching.landmarks.service import LandmarkResult

_GREEN, _ORANGE, _BLUE, _RED, _WHITE = (60, 200, 60), (255, 150, 0), (70, 140, 255), (230, 40, 40), (255, 255, 255)


def draw_landmarks(rgb: NDArray[np.uint8], result: LandmarkResult) -> NDArray[np.uint8]:
    """A copy of ``rgb`` (``(H, W, 3)`` uint8) with ``result`` drawn on it (module docstring)."""
    import cv2  # OpenCV loads only when a picture is drawn

    canvas = np.ascontiguousarray(rgb.copy())
    height, width = canvas.shape[:2]
    unit = max(1.0, max(height, width) / 800.0)
    thick, font = max(1, round(unit)), 0.45 * unit
    labelled = sum(not p.missing for p in result.landmarks) <= 40  # 68 face points: dots only
    for point in result.landmarks:
        if point.missing:
            continue
        colour = _BLUE if point.corrected else _ORANGE if point.low_confidence else _GREEN
        centre = (int(round(point.x)), int(round(point.y)))
        if point.sd:
            cv2.circle(canvas, centre, max(2, int(round(2 * point.sd))), colour, thick, cv2.LINE_AA)
        cv2.circle(canvas, centre, max(2, round(2.5 * unit)), colour, -1, cv2.LINE_AA)
        if labelled:
            _text(canvas, point.label or point.name, (centre[0] + round(5 * unit), centre[1] - round(4 * unit)), font, colour, thick)
    chars = max(20, int(width / (9.5 * unit)))
    lines = [(part, _RED) for warning in result.warnings for part in textwrap.wrap(warning, chars)]
    missing = [p.label or p.name for p in result.landmarks if p.missing]
    if missing:
        lines.extend((part, _WHITE) for part in textwrap.wrap(f"missing: {', '.join(missing)}", chars))
    step = round(18 * unit)
    for row, (text, colour) in enumerate(lines):
        _text(canvas, text, (round(6 * unit), step * (row + 1)), font, colour, thick)
    return canvas


def _text(canvas: NDArray[np.uint8], text: str, origin: tuple[int, int], scale: float, colour: tuple[int, int, int], thick: int) -> None:
    """Text with a dark outline, readable on bright bone and dark air alike."""
    import cv2

    cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)
