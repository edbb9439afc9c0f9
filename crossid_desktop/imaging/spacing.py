"""Real millimetres: the pixel spacing of an image, where it comes from, and distances.

A radiograph's pixels have a physical size only where the file or the examiner says so, and
*where* that size holds matters: an X-ray fans out from its source, so the skull's shadow on
the detector is larger than the skull (for a skull radiograph typically 5-15 %). DICOM states
three sizes, and :func:`spacing_from_dicom` takes the best one present and says which:

- ``PixelSpacing`` (0028,0030) calibrated to the object: with a Pixel Spacing Calibration
  Type (``GEOMETRY`` or ``FIDUCIAL``), or different from ``ImagerPixelSpacing`` (DICOM
  CP 586), or on a tomographic image (CT, MR, PET and the dose grids and segmentations
  defined on them) or in an enhanced multi-frame image's Pixel Measures, where it is in the
  patient by definition;
- ``ImagerPixelSpacing`` (0018,1164) divided by the ``EstimatedRadiographicMagnificationFactor``
  (0018,1114): estimated at the object;
- ``ImagerPixelSpacing`` alone: at the detector plane (magnified);
- ``PixelSpacing`` on a projection radiograph without any of the above: the plane is not
  stated (many CR writers copy the detector spacing there);
- ``NominalScannedPixelSpacing`` (0018,2010): at the plane of a digitised film.

An image without any of these can be calibrated by the examiner with a ruler seen on it
(:func:`calibrate_with_ruler`). :func:`measure` turns two points into a :class:`Distance`
in millimetres where a spacing is known, and in pixels with a note where it is not, so that
later steps never present pixels as millimetres.

Spacing values follow DICOM's order: ``row_mm`` is the distance between the centres of two
adjacent rows (vertical), ``column_mm`` between two adjacent columns (horizontal). Points are
``(x, y)`` pixel coordinates (column, row).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from crossid_desktop.errors import CalibrationError

#: Modalities whose Pixel Spacing is in the patient by definition: reconstructed slices, and
#: the objects defined on them (dose grids, segmentations). Not NM: its planar images are not.
TOMOGRAPHIC = frozenset({"CT", "MR", "PT", "RTDOSE", "SEG"})

#: The shortest ruler segment accepted, in pixels: below this the click error dominates.
MIN_RULER_PIXELS = 10.0


class SpacingSource(str, Enum):
    """Where a pixel spacing holds, in words an examiner reads in a report."""

    OBJECT = "calibrated to the object"
    OBJECT_ESTIMATED = "estimated at the object from the magnification factor"
    DETECTOR = "detector plane"
    UNSTATED = "plane not stated"
    FILM = "scanned film plane"
    RULER = "calibrated by the examiner with a ruler"

    @property
    def at_object(self) -> bool:
        """True where a millimetre on the image is a millimetre of the object."""
        return self in (SpacingSource.OBJECT, SpacingSource.OBJECT_ESTIMATED, SpacingSource.RULER)


@dataclass(frozen=True)
class PixelSpacing:
    """The physical size of one pixel, mm, and where that size holds.

    ``tag`` names the DICOM attribute(s) it came from (or ``"ruler"``); ``note`` adds the
    calibration description, the magnification factor applied, or the ruler's length.
    """

    row_mm: float
    column_mm: float
    source: SpacingSource
    tag: str
    note: str = ""

    def __post_init__(self) -> None:
        for value in (self.row_mm, self.column_mm):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"a pixel spacing must be a positive length, got {value!r}")

    def describe(self) -> str:
        """One line for the screen and the report, e.g.
        ``0.1 x 0.1 mm per pixel (detector plane; ImagerPixelSpacing)``."""
        extra = f"; {self.note}" if self.note else ""
        return f"{self.row_mm:.4g} x {self.column_mm:.4g} mm per pixel ({self.source.value}; {self.tag}{extra})"

    def to_dict(self) -> dict[str, Any]:
        return {"row_mm": self.row_mm, "column_mm": self.column_mm, "source": self.source.name.lower(), "tag": self.tag, "note": self.note}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PixelSpacing:
        return cls(float(data["row_mm"]), float(data["column_mm"]), SpacingSource[str(data["source"]).upper()], str(data["tag"]), str(data.get("note", "")))


@dataclass(frozen=True)
class Distance:
    """A length between two image points: ``mm`` where the spacing is known, else ``px``.

    ``note`` says what the number means when it is not millimetres at the object (pixels,
    or millimetres at the detector that include the X-ray magnification).
    """

    value: float
    unit: str
    note: str = ""

    def __str__(self) -> str:
        return f"{self.value:.1f} {self.unit}" + (f" ({self.note})" if self.note else "")


def measure(a: Sequence[float], b: Sequence[float], spacing: PixelSpacing | None) -> Distance:
    """The distance between points ``a`` and ``b`` (``(x, y)`` pixels)."""
    dx, dy = float(b[0]) - float(a[0]), float(b[1]) - float(a[1])
    if spacing is None:
        return Distance(math.hypot(dx, dy), "px", "pixels: the image has no known pixel spacing")
    value = math.hypot(dx * spacing.column_mm, dy * spacing.row_mm)
    if spacing.source.at_object:
        return Distance(value, "mm")
    return Distance(value, "mm", f"mm at the {spacing.source.value}, not corrected for magnification")


def calibrate_with_ruler(a: Sequence[float], b: Sequence[float], known_mm: float) -> PixelSpacing:
    """A square-pixel spacing from two points ``(x, y)`` a known distance apart (mm).

    The ruler must lie in the plane of the object for the result to hold at the object (a
    ruler on the nasal support of a cephalostat is close to the mid-sagittal plane).
    """
    try:
        known = float(known_mm)
    except (TypeError, ValueError) as error:
        raise CalibrationError(f"The known distance {known_mm!r} is not a number of millimetres.") from error
    if not (math.isfinite(known) and known > 0):
        raise CalibrationError(f"The known distance must be a positive number of millimetres, not {known_mm!r}.")
    pixels = math.hypot(float(b[0]) - float(a[0]), float(b[1]) - float(a[1]))
    if not math.isfinite(pixels) or pixels < MIN_RULER_PIXELS:
        raise CalibrationError(
            f"The two ruler points are {pixels:.1f} pixels apart; place them at least {MIN_RULER_PIXELS:.0f} pixels apart, at the ends of a known length."
        )
    size = known / pixels
    return PixelSpacing(size, size, SpacingSource.RULER, "ruler", f"{known:g} mm over {pixels:.1f} pixels")


def spacing_from_dicom(ds: Any) -> PixelSpacing | None:
    """The best-founded pixel spacing of a pydicom data set (rules in the module docstring),
    or ``None`` when the file states none (or only invalid values)."""
    modality = str(ds.get("Modality", "") or "").upper()
    pixel, pixel_tag = _pair(ds, "PixelSpacing"), "PixelSpacing"
    if pixel is None:
        measured = _functional_group_spacing(ds)
        if measured is not None:
            return PixelSpacing(*measured, SpacingSource.OBJECT, "PixelMeasuresSequence PixelSpacing", "enhanced multi-frame: in the patient")
    imager = _pair(ds, "ImagerPixelSpacing")
    calibration = str(ds.get("PixelSpacingCalibrationType", "") or "").strip().upper()
    description = str(ds.get("PixelSpacingCalibrationDescription", "") or "").strip()
    if pixel is not None:
        if calibration:
            return PixelSpacing(*pixel, SpacingSource.OBJECT, pixel_tag, "; ".join(filter(None, [f"calibration {calibration}", description])))
        if imager is not None and not _same(pixel, imager):
            return PixelSpacing(*pixel, SpacingSource.OBJECT, pixel_tag, "differs from ImagerPixelSpacing")
        if modality in TOMOGRAPHIC:
            return PixelSpacing(*pixel, SpacingSource.OBJECT, pixel_tag, f"{modality}: in the patient")
    if imager is not None:
        magnification = _positive(ds.get("EstimatedRadiographicMagnificationFactor"))
        if magnification is not None:
            row, column = imager[0] / magnification, imager[1] / magnification
            return PixelSpacing(row, column, SpacingSource.OBJECT_ESTIMATED, "ImagerPixelSpacing / EstimatedRadiographicMagnificationFactor", f"factor {magnification:g}")
        return PixelSpacing(*imager, SpacingSource.DETECTOR, "ImagerPixelSpacing")
    if pixel is not None:
        return PixelSpacing(*pixel, SpacingSource.UNSTATED, pixel_tag)
    scanned = _pair(ds, "NominalScannedPixelSpacing")
    if scanned is not None:
        return PixelSpacing(*scanned, SpacingSource.FILM, "NominalScannedPixelSpacing")
    return None


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _pair(ds: Any, keyword: str) -> tuple[float, float] | None:
    """A two-valued DS attribute as ``(row, column)`` mm; ``None`` when absent or invalid."""
    try:
        value = ds.get(keyword)
    except Exception:  # an unparseable DS value
        return None
    if value is None or isinstance(value, (str, bytes)) or len(value) != 2:
        return None
    row, column = _positive(value[0]), _positive(value[1])
    return (row, column) if row is not None and column is not None else None


def _functional_group_spacing(ds: Any) -> tuple[float, float] | None:
    """Pixel Spacing of an enhanced multi-frame image (shared functional groups)."""
    try:
        shared = ds.get("SharedFunctionalGroupsSequence")
        measures = shared[0].get("PixelMeasuresSequence") if shared else None
        return _pair(measures[0], "PixelSpacing") if measures else None
    except Exception:  # a malformed sequence: no spacing rather than a wrong one
        return None


def _same(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all(math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9) for x, y in zip(a, b))
