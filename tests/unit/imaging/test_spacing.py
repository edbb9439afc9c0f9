"""Tests for crossid_desktop.imaging.spacing: which DICOM spacing is taken and where it holds
(cases from DICOM PS3.3 10.7.1 and CP 586), distances worked by hand, the ruler."""

from __future__ import annotations

import math

import pytest
from pydicom.dataset import Dataset

from crossid_desktop.errors import CalibrationError
from crossid_desktop.imaging.spacing import PixelSpacing, SpacingSource, calibrate_with_ruler, measure, spacing_from_dicom


def dataset(**tags: object) -> Dataset:
    ds = Dataset()
    ds.Modality = tags.pop("Modality", "DX")
    for key, value in tags.items():
        setattr(ds, key, value)
    return ds


def test_imager_spacing_alone_is_the_detector_plane() -> None:
    spacing = spacing_from_dicom(dataset(ImagerPixelSpacing=[0.143, 0.139]))
    assert spacing == PixelSpacing(0.143, 0.139, SpacingSource.DETECTOR, "ImagerPixelSpacing")
    assert not spacing.source.at_object


def test_magnification_factor_moves_it_to_the_object() -> None:
    spacing = spacing_from_dicom(dataset(ImagerPixelSpacing=[0.2, 0.1], EstimatedRadiographicMagnificationFactor=1.25))
    assert spacing.source is SpacingSource.OBJECT_ESTIMATED and spacing.source.at_object
    assert (spacing.row_mm, spacing.column_mm) == pytest.approx((0.16, 0.08))  # 0.2 / 1.25, 0.1 / 1.25


def test_pixel_spacing_copied_from_the_detector_is_not_calibrated() -> None:
    # CP 586: equal values mean Pixel Spacing was not calibrated; the magnification applies
    spacing = spacing_from_dicom(dataset(PixelSpacing=[0.1, 0.1], ImagerPixelSpacing=[0.1, 0.1]))
    assert spacing.source is SpacingSource.DETECTOR
    spacing = spacing_from_dicom(dataset(PixelSpacing=[0.1, 0.1], ImagerPixelSpacing=[0.1, 0.1], EstimatedRadiographicMagnificationFactor=2))
    assert spacing.source is SpacingSource.OBJECT_ESTIMATED and spacing.row_mm == pytest.approx(0.05)


def test_pixel_spacing_that_differs_or_carries_a_calibration_type_is_at_the_object() -> None:
    spacing = spacing_from_dicom(dataset(PixelSpacing=[0.09, 0.09], ImagerPixelSpacing=[0.1, 0.1]))
    assert spacing.source is SpacingSource.OBJECT and spacing.row_mm == 0.09
    spacing = spacing_from_dicom(dataset(PixelSpacing=[0.1, 0.1], ImagerPixelSpacing=[0.1, 0.1], PixelSpacingCalibrationType="FIDUCIAL"))
    assert spacing.source is SpacingSource.OBJECT and "FIDUCIAL" in spacing.note


def test_projection_pixel_spacing_without_more_has_no_stated_plane() -> None:
    assert spacing_from_dicom(dataset(Modality="CR", PixelSpacing=[0.2, 0.2])).source is SpacingSource.UNSTATED
    assert spacing_from_dicom(dataset(Modality="CT", PixelSpacing=[0.5, 0.5])).source is SpacingSource.OBJECT


def test_scanned_film_and_nothing() -> None:
    assert spacing_from_dicom(dataset(NominalScannedPixelSpacing=[0.05, 0.05])).source is SpacingSource.FILM
    assert spacing_from_dicom(dataset()) is None
    assert spacing_from_dicom(dataset(ImagerPixelSpacing=[0, 0.1])) is None  # invalid: no spacing, not a wrong one


def test_enhanced_multiframe_pixel_measures() -> None:
    measures, shared = Dataset(), Dataset()
    measures.PixelSpacing = [0.7, 0.8]
    shared.PixelMeasuresSequence = [measures]
    spacing = spacing_from_dicom(dataset(Modality="MR", SharedFunctionalGroupsSequence=[shared]))
    assert (spacing.row_mm, spacing.column_mm, spacing.source) == (0.7, 0.8, SpacingSource.OBJECT)


def test_measure_uses_row_and_column_spacing_separately() -> None:
    # 30 columns right and 40 rows down; columns are 0.2 mm wide, rows 0.1 mm high
    spacing = PixelSpacing(0.1, 0.2, SpacingSource.OBJECT, "PixelSpacing")
    distance = measure((10, 10), (40, 50), spacing)
    assert distance.unit == "mm" and distance.note == ""
    assert distance.value == pytest.approx(math.sqrt((30 * 0.2) ** 2 + (40 * 0.1) ** 2))


def test_measure_says_what_a_number_is_when_not_millimetres_at_the_object() -> None:
    in_pixels = measure((0, 0), (3, 4), None)
    assert (in_pixels.value, in_pixels.unit) == (5.0, "px") and "no known pixel spacing" in in_pixels.note
    at_detector = measure((0, 0), (3, 4), PixelSpacing(0.1, 0.1, SpacingSource.DETECTOR, "ImagerPixelSpacing"))
    assert at_detector.value == pytest.approx(0.5) and "detector plane" in at_detector.note and "magnification" in at_detector.note
    assert str(in_pixels) == "5.0 px (pixels: the image has no known pixel spacing)"


def test_ruler_calibration() -> None:
    # a 50 mm ruler from (100, 200) to (400, 600): 500 pixels -> 0.1 mm per pixel
    spacing = calibrate_with_ruler((100, 200), (400, 600), 50)
    assert spacing.source is SpacingSource.RULER and spacing.source.at_object
    assert spacing.row_mm == pytest.approx(0.1) and spacing.column_mm == pytest.approx(0.1)
    assert "50 mm over 500.0 pixels" in spacing.note
    assert measure((0, 0), (300, 400), spacing).value == pytest.approx(50.0)


@pytest.mark.parametrize("a,b,known,words", [
    ((0, 0), (3, 4), 10, "5.0 pixels apart"),
    ((0, 0), (100, 0), 0, "positive number of millimetres"),
    ((0, 0), (100, 0), -5, "positive number of millimetres"),
    ((0, 0), (100, 0), "ten", "not a number of millimetres"),
    ((0, 0), (100, 0), float("nan"), "positive number of millimetres"),
])
def test_ruler_refuses_what_cannot_calibrate(a, b, known, words: str) -> None:
    with pytest.raises(CalibrationError, match=words):
        calibrate_with_ruler(a, b, known)


def test_spacing_round_trips_through_a_dict() -> None:
    spacing = PixelSpacing(0.12, 0.13, SpacingSource.OBJECT_ESTIMATED, "ImagerPixelSpacing / EstimatedRadiographicMagnificationFactor", "factor 1.1")
    assert PixelSpacing.from_dict(spacing.to_dict()) == spacing
    assert spacing.describe() == "0.12 x 0.13 mm per pixel (estimated at the object from the magnification factor; ImagerPixelSpacing / EstimatedRadiographicMagnificationFactor; factor 1.1)"
