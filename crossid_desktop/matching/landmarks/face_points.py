"""The named landmarks found on one face photo, frontal or profile.

:class:`FacePoints` holds the points of a view of :mod:`crossid_desktop.anatomy.landmarks` in
table order, in the photo's own pixels; a point that could not be found is NaN (never clipped
to the border), and every doubt about the result is a sentence in ``warnings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.anatomy.landmarks import landmark_names


@dataclass(frozen=True)
class FacePoints:
    """Landmarks of one face photo.

    ``xy`` is ``(n, 2)`` float64 (x, y) pixels in the order of ``names`` (the view's table
    order), NaN where a point is missing. ``detector`` names the method (model and face
    finder); ``mirrored`` is True for a profile facing the image's left (points are still in
    the photo's own pixels).
    """

    view: str
    names: tuple[str, ...]
    xy: NDArray[np.float64]
    detector: str
    warnings: tuple[str, ...] = ()
    mirrored: bool = False

    @staticmethod
    def from_dict(view: str, points: dict[str, tuple[float, float]], detector: str, warnings: tuple[str, ...] = (),
                  mirrored: bool = False) -> FacePoints:
        """The view's table of points filled from ``points`` (absent names missing)."""
        names = landmark_names(view)
        xy = np.array([points.get(name, (np.nan, np.nan)) for name in names], dtype=np.float64)
        return FacePoints(view, names, xy, detector, warnings, mirrored)

    def point(self, name: str) -> tuple[float, float] | None:
        """The point ``name`` as (x, y), or None when it is missing."""
        x, y = self.xy[self.names.index(name)]
        return None if np.isnan(x) else (float(x), float(y))

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(name for name, (x, _) in zip(self.names, self.xy) if np.isnan(x))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"view", "detector", "mirrored", "warnings", "landmarks": [{name, x, y, missing}]}``."""
        marks = [{"name": n, "x": None if np.isnan(x) else round(float(x), 2), "y": None if np.isnan(y) else round(float(y), 2),
                  "missing": bool(np.isnan(x))} for n, (x, y) in zip(self.names, self.xy)]
        return {"view": self.view, "detector": self.detector, "mirrored": self.mirrored, "warnings": list(self.warnings),
                "landmarks": marks}


def face_height(points: dict[str, tuple[float, float]] | FacePoints, view: str) -> float:
    """The face's height in pixels, the unit of the landmark errors: eye-level midline
    (``nose_bridge_1``) to the chin (``menton_soft``) on a frontal photo, soft-tissue nasion to
    soft-tissue menton on a profile."""
    top = "nose_bridge_1" if view == "face-front" else "nasion_soft"
    get = points.point if isinstance(points, FacePoints) else points.get
    a, b = get(top), get("menton_soft")
    if a is None or b is None:
        raise ValueError(f"The face height needs {top} and menton_soft.")
    return float(np.hypot(a[0] - b[0], a[1] - b[1]))
