"""The canonical face crop every aligned face photo is mapped to.

All positions are fractions of the crop's side, so one layout serves any crop size. The
template follows the common five-point face-recognition template (eye centres level, nose tip
and mouth below, the face filling most of the square). "Left" and "right" are the *subject's*:
in a frontal photo the subject's left eye appears on the right of the image.

Face alignment (``imaging/faces.py``) maps photos to this layout, the synthetic cohort
(``synth/``) renders frontal faces in it, and the injury simulation (``synth/injuries/simulate.py``)
places injuries in its regions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FaceRegion(str, Enum):
    """The injured regions annotated by the injured-face publication."""

    FOREHEAD = "forehead"
    LEFT_EYE = "left_eye"
    RIGHT_EYE = "right_eye"
    LEFT_CHEEK = "left_cheek"
    RIGHT_CHEEK = "right_cheek"
    NOSE = "nose"
    MOUTH = "mouth"


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in crop fractions: x0, y0 (top left) to x1, y1 (bottom right)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def scaled(self, size: int) -> tuple[int, int, int, int]:
        """The box in pixels of a ``size`` x ``size`` crop, as ``(x0, y0, x1, y1)`` integers."""
        return (round(self.x0 * size), round(self.y0 * size), round(self.x1 * size), round(self.y1 * size))


@dataclass(frozen=True)
class CanonicalLayout:
    """Landmark positions (x, y) in crop fractions for a frontal face."""

    right_eye: tuple[float, float] = (0.3419, 0.4615)  # subject's right eye: image left
    left_eye: tuple[float, float] = (0.6565, 0.4598)
    nose_tip: tuple[float, float] = (0.5002, 0.6405)
    mouth_right: tuple[float, float] = (0.3710, 0.8247)
    mouth_left: tuple[float, float] = (0.6315, 0.8232)

    @property
    def eye_distance(self) -> float:
        """Distance between the eye centres, in crop fractions."""
        return self.left_eye[0] - self.right_eye[0]

    def region_box(self, region: FaceRegion) -> Box:
        """Where a region lies in the crop (generous boxes; injuries are shaped inside them)."""
        rx, ry = self.right_eye
        lx, ly = self.left_eye
        nx, ny = self.nose_tip
        mouth_y = (self.mouth_left[1] + self.mouth_right[1]) / 2
        e = self.eye_distance
        boxes = {
            FaceRegion.FOREHEAD: Box(rx - 0.35 * e, max(0.0, ry - 0.85 * e), lx + 0.35 * e, ry - 0.3 * e),
            FaceRegion.RIGHT_EYE: Box(rx - 0.33 * e, ry - 0.25 * e, rx + 0.33 * e, ry + 0.25 * e),
            FaceRegion.LEFT_EYE: Box(lx - 0.33 * e, ly - 0.25 * e, lx + 0.33 * e, ly + 0.25 * e),
            FaceRegion.RIGHT_CHEEK: Box(rx - 0.45 * e, ry + 0.3 * e, nx - 0.25 * e, mouth_y - 0.05 * e),
            FaceRegion.LEFT_CHEEK: Box(nx + 0.25 * e, ly + 0.3 * e, lx + 0.45 * e, mouth_y - 0.05 * e),
            FaceRegion.NOSE: Box(nx - 0.22 * e, ry + 0.1 * e, nx + 0.22 * e, ny + 0.12 * e),
            FaceRegion.MOUTH: Box(self.mouth_right[0] - 0.15 * e, mouth_y - 0.2 * e, self.mouth_left[0] + 0.15 * e, min(1.0, mouth_y + 0.22 * e)),
        }
        return boxes[region]

    def points(self, size: int) -> list[tuple[float, float]]:
        """The five landmarks in pixels of a ``size`` crop, in the order
        right eye, left eye, nose tip, mouth right, mouth left."""
        return [(x * size, y * size) for x, y in (self.right_eye, self.left_eye, self.nose_tip, self.mouth_right, self.mouth_left)]


CANONICAL = CanonicalLayout()

#: side in pixels of the aligned face crops stored in the gallery and shown in the GUI
ALIGNED_SIZE = 256
