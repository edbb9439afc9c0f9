"""The skull-face overlay drawn: the X-ray warped onto the candidate's photo, with the landmarks.

Colours (RGB): skull landmarks cyan, the face landmarks the skull predicts yellow, the photo's
measured landmarks magenta (outlined red where a landmark lies beyond its own allowance; the
verdict weighs the landmarks together), and the
soft-tissue depth vectors from each paired skull point to its predicted skin point in white.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.matching.craniofacial.overlay import Overlay

SKULL_COLOUR = (0, 220, 255)
PREDICTED_COLOUR = (255, 220, 0)
MEASURED_COLOUR = (255, 0, 200)
BEYOND_COLOUR = (255, 40, 40)
VECTOR_COLOUR = (255, 255, 255)


def render_overlay(face: NDArray[np.uint8], xray: NDArray[np.floating] | NDArray[np.uint8], overlay: Overlay, *, opacity: float = 0.5,
                   beyond: Collection[str] = (), scale: int = 2, landmarks: bool = True) -> NDArray[np.uint8]:
    """The photo ``face`` (RGB uint8) with the X-ray (greyscale, float in [0, 1] or uint8) warped
    onto it by ``overlay.xray_to_photo`` at ``opacity``, drawn ``scale`` times larger so that the
    marks stay sharp: ``(scale H, scale W, 3)`` RGB uint8. ``beyond`` names the landmarks outside
    their tolerance."""
    import cv2  # OpenCV loads on first use

    height, width = face.shape[:2]
    grey = xray.astype(np.float32) / (255.0 if xray.dtype == np.uint8 else 1.0)
    matrix = overlay.xray_to_photo.matrix * np.array([[scale], [scale]], dtype=np.float64)
    size = (width * scale, height * scale)
    warped = cv2.warpAffine(grey, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    cover = cv2.warpAffine(np.ones_like(grey), matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    base = cv2.resize(face, size, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    alpha = float(np.clip(opacity, 0.0, 1.0)) * cover[:, :, None]
    out = np.clip((1.0 - alpha) * base + alpha * warped[:, :, None] * 255.0, 0, 255).astype(np.uint8)
    if landmarks:
        _marks(out, overlay, beyond, scale)
    return out


def _marks(canvas: NDArray[np.uint8], overlay: Overlay, beyond: Collection[str], scale: int) -> None:
    import cv2  # OpenCV loads on first use

    def point(p: tuple[float, float] | NDArray[np.float64]) -> tuple[int, int]:
        return round(float(p[0]) * scale), round(float(p[1]) * scale)

    radius = max(2, scale + 1)
    for start, end, _ in overlay.depth_vectors:
        cv2.line(canvas, point(start), point(end), VECTOR_COLOUR, 1, cv2.LINE_AA)
    for p in overlay.skull:
        if np.isfinite(p).all():
            cv2.circle(canvas, point(p), radius, SKULL_COLOUR, -1, cv2.LINE_AA)
    for p in overlay.predicted:
        cv2.drawMarker(canvas, point(p), PREDICTED_COLOUR, cv2.MARKER_CROSS, 3 * radius, 1, cv2.LINE_AA)
    for name, p in overlay.measured.items():
        cv2.circle(canvas, point(p), radius, MEASURED_COLOUR, -1, cv2.LINE_AA)
        if name in beyond:
            cv2.circle(canvas, point(p), 3 * radius, BEYOND_COLOUR, 2, cv2.LINE_AA)
