"""Where casework injuries go on an aligned face: the face's anatomy in crop pixels.

:class:`FaceFrame` holds the five canonical landmarks of a crop (``imaging/canonical.py``) in
pixels, plus the points the injuries are placed by (nasion, brows, cheeks, jaw angles, chin),
estimated from the five with ratios of an average adult face: the chin lies about 0.55 of the
eye-to-mouth height below the mouth (so at the bottom edge of the canonical crop), the face is
about 2.2 eye distances wide at the cheekbones. Lengths are given in eye distances
(:attr:`FaceFrame.eye_distance`, about 6.3 cm on an adult) so injuries have realistic sizes at
any crop size. "Right" and "left" are the subject's: the subject's right eye is on the image's
left.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from crossid_desktop.imaging.canonical import CANONICAL, CanonicalLayout

Point = tuple[float, float]


class Site(str, Enum):
    """The parts of the face an injury is placed on (the publication's seven regions and the
    jaw, which a jaw bandage or a blow to the chin needs)."""

    FOREHEAD = "forehead"
    RIGHT_EYE = "right_eye"
    LEFT_EYE = "left_eye"
    NOSE = "nose"
    RIGHT_CHEEK = "right_cheek"
    LEFT_CHEEK = "left_cheek"
    MOUTH = "mouth"
    JAW = "jaw"

    @property
    def side(self) -> int:
        """-1 for the subject's right (the image's left), +1 for the subject's left, 0 on the midline."""
        if self.value.startswith("right"):
            return -1
        if self.value.startswith("left"):
            return 1
        return 0


EYES = (Site.RIGHT_EYE, Site.LEFT_EYE)
CHEEKS = (Site.RIGHT_CHEEK, Site.LEFT_CHEEK)


@dataclass(frozen=True)
class FaceFrame:
    """A face crop's anatomy in pixels (x right, y down)."""

    size: int
    right_eye: Point
    left_eye: Point
    nose_tip: Point
    mouth_right: Point
    mouth_left: Point

    @classmethod
    def canonical(cls, size: int, layout: CanonicalLayout = CANONICAL) -> FaceFrame:
        """The frame of a ``size`` px crop in ``layout``."""
        pts = layout.points(size)
        return cls(size, pts[0], pts[1], pts[2], pts[3], pts[4])

    @property
    def scale(self) -> float:
        """Pixels per pixel of a 256 px crop (the width of fine lines scales with it)."""
        return self.size / 256.0

    @property
    def eye_distance(self) -> float:
        """Distance between the eye centres, px (about 6.3 cm on an adult face)."""
        return float(np.hypot(self.left_eye[0] - self.right_eye[0], self.left_eye[1] - self.right_eye[1]))

    @property
    def midline_x(self) -> float:
        return (self.right_eye[0] + self.left_eye[0]) / 2.0

    @property
    def eye_y(self) -> float:
        return (self.right_eye[1] + self.left_eye[1]) / 2.0

    @property
    def mouth(self) -> Point:
        return ((self.mouth_right[0] + self.mouth_left[0]) / 2.0, (self.mouth_right[1] + self.mouth_left[1]) / 2.0)

    @property
    def nasion(self) -> Point:
        """The root of the nose, between the eyes and a little above them."""
        return (self.midline_x, self.eye_y - 0.08 * self.eye_distance)

    @property
    def chin(self) -> Point:
        """The soft-tissue chin, 0.55 of the eye-to-mouth height below the mouth."""
        mx, my = self.mouth
        return (mx, my + 0.55 * (my - self.eye_y))

    def eye(self, side: int) -> Point:
        """The eye centre of a side (-1 the subject's right, +1 the left)."""
        return self.right_eye if side < 0 else self.left_eye

    def lateral(self, side: int, reach: float) -> float:
        """The x of a point ``reach`` eye distances from the midline towards ``side``."""
        return self.midline_x + side * reach * self.eye_distance

    def site_centre(self, site: Site) -> Point:
        """Where an injury of ``site`` is centred before its own random offset."""
        e = self.eye_distance
        if site in EYES:
            return self.eye(site.side)
        if site in CHEEKS:
            ex, ey = self.eye(site.side)
            return (ex + site.side * 0.08 * e, ey + 0.55 * e)
        if site is Site.FOREHEAD:
            return (self.midline_x, self.eye_y - 0.62 * e)
        if site is Site.NOSE:
            return (self.nose_tip[0], (self.nasion[1] + self.nose_tip[1]) / 2.0)
        if site is Site.MOUTH:
            return self.mouth
        mx, my = self.mouth  # the jaw: the chin and the jaw line below the mouth
        return (mx, my + 0.4 * (self.chin[1] - my) + 0.1 * e)

    def moved(self, points: np.ndarray) -> FaceFrame:
        """The frame with its five landmarks replaced by ``points`` ``(5, 2)`` (after a swelling)."""
        p = [tuple(float(v) for v in row) for row in np.asarray(points, dtype=np.float64)]
        return FaceFrame(self.size, p[0], p[1], p[2], p[3], p[4])  # type: ignore[arg-type]

    def points(self) -> np.ndarray:
        """The five landmarks ``(5, 2)`` float64 in canonical order."""
        return np.array([self.right_eye, self.left_eye, self.nose_tip, self.mouth_right, self.mouth_left], dtype=np.float64)
