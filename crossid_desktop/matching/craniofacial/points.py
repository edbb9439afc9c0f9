"""Landmarks with per-point uncertainty: what the craniofacial matcher takes from any source.

A landmark detector, the examiner's corrections, a data set's annotations or a simulation all
hand over the same thing: the named points of one image of one view, in that image's own
pixels, each with a standard deviation, and the points that could not be found marked missing
(never clipped to the border). The pixel spacing of the image (mm per pixel) goes with them
when it is known (a DICOM header, a ruler calibration), with its source; without it lengths
are reported in the image's pixels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.anatomy.landmarks import VIEWS, landmark_names
from crossid_desktop.errors import DatasetError
from crossid_desktop.paths import write_text_atomic


@dataclass(frozen=True, eq=False)
class Landmarks:
    """The named points of one image.

    ``xy`` is ``(n, 2)`` float64 pixel positions ``(x, y)`` in the order of ``names`` (NaN rows
    are missing points); ``sd`` is ``(n,)`` float64, the per-axis standard deviation of each
    point in pixels (0 for a point the examiner placed; NaN where missing). ``spacing_mm`` is
    the image's pixel spacing (mm per pixel) or None when unknown; ``spacing_source`` says
    where it came from. ``corrected`` names the points the examiner moved. ``mirrored`` is
    True for a lateral view facing the image's left (the points are still the image's own).
    ``source`` names the method (detector and version, "examiner", "annotation").
    """

    view: str
    names: tuple[str, ...]
    xy: NDArray[np.float64]
    sd: NDArray[np.float64]
    source: str
    spacing_mm: float | None = None
    spacing_source: str | None = None
    corrected: frozenset[str] = frozenset()
    mirrored: bool = False
    warnings: tuple[str, ...] = ()
    failure: str | None = None  # why the image gave no usable points (then every point is missing)

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ValueError(f"There is no landmark view {self.view!r}.")
        xy = np.asarray(self.xy, dtype=np.float64).reshape(-1, 2)
        sd = np.asarray(self.sd, dtype=np.float64).reshape(-1)
        if xy.shape[0] != len(self.names) or sd.shape[0] != len(self.names):
            raise ValueError(f"{len(self.names)} names but {xy.shape[0]} points and {sd.shape[0]} deviations.")
        if self.spacing_mm is not None and not self.spacing_mm > 0:
            raise ValueError(f"A pixel spacing must be positive, not {self.spacing_mm}.")
        sd = np.where(np.isnan(xy[:, 0]), np.nan, sd)
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "sd", sd)

    @classmethod
    def from_points(cls, view: str, points: Mapping[str, Sequence[float] | None], *, sd: float | Mapping[str, float],
                    source: str, **extra: Any) -> Landmarks:
        """The view's table of points (:mod:`crossid_desktop.anatomy.landmarks`) filled from
        ``points`` (``{name: (x, y)}``; an absent name or None is missing); ``sd`` one value
        for every point or one per name (pixels)."""
        names = landmark_names(view)
        xy = np.array([points.get(name) if points.get(name) is not None else (np.nan, np.nan) for name in names], dtype=np.float64)
        deviations = np.array([sd if isinstance(sd, (int, float)) else sd.get(name, np.nan) for name in names], dtype=np.float64)
        return cls(view, names, xy, deviations, source, **extra)

    @classmethod
    def failed(cls, view: str, reason: str, *, source: str) -> Landmarks:
        """An image whose points could not be measured, with the reason in one sentence."""
        names = landmark_names(view)
        nan = np.full((len(names), 2), np.nan)
        return cls(view, names, nan, nan[:, 0].copy(), source, failure=reason)

    @property
    def present(self) -> NDArray[np.bool_]:
        """``(n,)`` True where the point was found."""
        return ~np.isnan(self.xy[:, 0])

    def index(self, name: str) -> int:
        return self.names.index(name)

    def subset(self, names: Sequence[str]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(xy (k, 2), sd (k,))`` of ``names`` in that order; names the image lacks are missing."""
        rows = _rows(self.names, tuple(names))
        xy = np.full((len(rows), 2), np.nan)
        sd = np.full(len(rows), np.nan)
        found = rows >= 0
        xy[found], sd[found] = self.xy[rows[found]], self.sd[rows[found]]
        return xy, sd

    def unmirrored(self, width: float) -> Landmarks:
        """A lateral view facing the image's left, turned to face right (x -> width - 1 - x)."""
        if not self.mirrored:
            return self
        xy = self.xy.copy()
        xy[:, 0] = (width - 1.0) - xy[:, 0]
        return Landmarks(self.view, self.names, xy, self.sd, self.source, self.spacing_mm, self.spacing_source,
                         self.corrected, False, self.warnings, self.failure)

    def with_point(self, name: str, x: float, y: float) -> Landmarks:
        """A copy with ``name`` placed by the examiner at ``(x, y)`` (sd 0, recorded as corrected)."""
        row = self.index(name)
        xy, sd = self.xy.copy(), self.sd.copy()
        xy[row], sd[row] = (float(x), float(y)), 0.0
        return Landmarks(self.view, self.names, xy, sd, self.source, self.spacing_mm, self.spacing_source,
                         self.corrected | {name}, self.mirrored, self.warnings, None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the gallery store and ``--json``)."""
        points = {n: None if np.isnan(x) else [round(float(x), 2), round(float(y), 2), round(float(s), 3)]
                  for n, (x, y), s in zip(self.names, self.xy, self.sd)}
        return {"view": self.view, "source": self.source, "spacing_mm": self.spacing_mm, "spacing_source": self.spacing_source,
                "corrected": sorted(self.corrected), "mirrored": self.mirrored, "warnings": list(self.warnings),
                "failure": self.failure, "points": points}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Landmarks:
        """Inverse of :meth:`to_dict`."""
        points = data["points"]
        names = tuple(points)
        xy = np.array([p[:2] if p is not None else (np.nan, np.nan) for p in points.values()], dtype=np.float64).reshape(-1, 2)
        sd = np.array([p[2] if p is not None else np.nan for p in points.values()], dtype=np.float64)
        return cls(str(data["view"]), names, xy, sd, str(data["source"]), data.get("spacing_mm"), data.get("spacing_source"),
                   frozenset(data.get("corrected", ())), bool(data.get("mirrored", False)), tuple(data.get("warnings", ())),
                   data.get("failure"))


@lru_cache(maxsize=64)
def _rows(have: tuple[str, ...], want: tuple[str, ...]) -> NDArray[np.int64]:
    """Row of each wanted name among ``have`` (-1 where absent)."""
    position = {name: i for i, name in enumerate(have)}
    return np.array([position.get(name, -1) for name in want], dtype=np.int64)


class DetectedPoint(Protocol):
    """One point of a detector's result (the X-ray detector's ``Landmark``): pixels, None when missing."""

    name: str
    x: float | None
    y: float | None
    sd: float | None
    corrected: bool


class DetectionResult(Protocol):
    """What the X-ray landmark service returns (``LandmarkResult``): a view and its points."""

    view: str
    landmarks: Sequence[DetectedPoint]
    warnings: Sequence[str]
    refused: bool
    mirrored: bool
    model: Mapping[str, str]


def from_detection(result: DetectionResult, *, spacing_mm: float | None = None, spacing_source: str | None = None,
                   default_sd: float = 2.0) -> Landmarks:
    """A detector's result (with the examiner's corrections) as :class:`Landmarks`.

    A point without a stated deviation gets ``default_sd`` pixels; a refused image (one that
    does not look like its view) becomes a failure with the detector's warnings as the reason.
    """
    source = str(result.model.get("name", "detector")) if result.model else "detector"
    if result.refused:
        reason = " ".join(result.warnings) or f"The image does not look like a {result.view} image."
        return Landmarks.failed(result.view, reason, source=source)
    points = {p.name: None if p.x is None or p.y is None else (float(p.x), float(p.y)) for p in result.landmarks}
    sds = {p.name: float(p.sd) if p.sd is not None else default_sd for p in result.landmarks}
    corrected = frozenset(p.name for p in result.landmarks if p.corrected)
    marks = Landmarks.from_points(result.view, points, sd=sds, source=source, spacing_mm=spacing_mm, spacing_source=spacing_source,
                                  corrected=corrected, mirrored=bool(result.mirrored), warnings=tuple(result.warnings))
    return marks


def corrected_landmarks(result: DetectionResult | None, image: Any) -> Landmarks | None:
    """The X-ray landmark detector's result with the examiner's corrections, as the craniofacial
    search takes them (the image's pixel spacing where its metadata states one), or None when the
    examiner moved no point (the matcher then reads the landmarks kept beside the X-ray, else
    detects them itself)."""
    if result is None or not any(getattr(p, "corrected", False) for p in result.landmarks):
        return None
    spacing, source = pixel_spacing(getattr(image, "meta", None))
    return from_detection(result, spacing_mm=spacing, spacing_source=source)


def pixel_spacing(meta: Any) -> tuple[float | None, str | None]:
    """The pixel spacing (mm per pixel) an image's metadata states, and where it holds, or (None, None).

    Reads ``meta.spacing`` (row and column spacing with their source, as the DICOM reader and
    the examiner's ruler calibration set it; the two must agree within 1 % to count as one
    spacing), else the DICOM tags ``PixelSpacing`` / ``ImagerPixelSpacing`` (plane not stated).
    """
    spacing = getattr(meta, "spacing", None)
    if spacing is not None:
        row, column = float(spacing.row_mm), float(spacing.column_mm)
        if row > 0 and column > 0 and max(row, column) <= 1.01 * min(row, column):
            source = getattr(spacing, "source", None)
            return (row + column) / 2.0, str(getattr(source, "value", source) or "image metadata")
        return None, None
    tags = getattr(meta, "dicom", None) or {}
    for tag in ("PixelSpacing", "ImagerPixelSpacing"):
        text = tags.get(tag)
        if text:
            try:
                values = [float(v) for v in str(text).split("\\")]
            except ValueError:
                continue
            if values and min(values) > 0 and max(values) <= 1.01 * min(values):
                return float(np.mean(values)), f"DICOM {tag}, plane not stated"
    return None, None




#: a file beside an X-ray holding its skull landmarks as placed by an examiner (or annotated)
SIDECAR_SUFFIX = ".landmarks.json"


def sidecar_path(image_path: str | Path) -> Path:
    """Where the landmarks of an image are kept beside it: ``xray_front.png`` -> ``xray_front.landmarks.json``."""
    path = Path(image_path)
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def write_sidecar(image_path: str | Path, image_sha256: str, landmarks: Landmarks) -> Path:
    """Keep ``landmarks`` beside the image, tied to its SHA-256."""
    target = sidecar_path(image_path)
    write_text_atomic(target, json.dumps({"image_sha256": image_sha256, "landmarks": landmarks.to_dict()}, indent=1, sort_keys=True))
    return target


def read_sidecar(image_path: str | Path | None, image_sha256: str, view: str) -> Landmarks | None:
    """The landmarks kept beside an image for ``view``, or None when there are none; a file that
    belongs to another image (other SHA-256) or another view, or cannot be read, is refused."""
    if image_path is None or not sidecar_path(image_path).is_file():
        return None
    path = sidecar_path(image_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        marks = Landmarks.from_dict(data["landmarks"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"The landmark file {path} cannot be read ({error}).") from error
    if data.get("image_sha256") != image_sha256:
        raise DatasetError(f"The landmark file {path} belongs to another image (its SHA-256 differs); remove or replace it.")
    if marks.view != view:
        raise DatasetError(f"The landmark file {path} holds {marks.view} landmarks, not {view}.")
    return marks
