"""Landmarks with uncertainty: table order, missing points, round trips, detector results, pixel spacing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from crossid_desktop.anatomy.landmarks import landmark_names
from crossid_desktop.errors import DatasetError
from crossid_desktop.matching.craniofacial.points import Landmarks, from_detection, pixel_spacing, read_sidecar, sidecar_path, write_sidecar


def test_from_points_fills_the_views_table_and_round_trips() -> None:
    marks = Landmarks.from_points("xray-side", {"sella": (10.0, 20.0), "nasion": (30.5, 22.25)}, sd={"sella": 1.5}, source="test",
                                  spacing_mm=0.1, spacing_source="ruler")
    assert marks.names == landmark_names("xray-side")
    assert marks.present.sum() == 2
    assert marks.sd[marks.index("sella")] == 1.5 and np.isnan(marks.sd[marks.index("nasion")])
    back = Landmarks.from_dict(marks.to_dict())
    np.testing.assert_array_equal(back.xy, marks.xy)
    assert back.spacing_mm == 0.1 and back.names == marks.names
    moved = marks.with_point("nasion", 31.0, 23.0)
    assert moved.corrected == {"nasion"} and moved.sd[moved.index("nasion")] == 0.0
    xy, sd = marks.subset(["nasion", "no_such_point", "sella"])
    assert xy[0].tolist() == [30.5, 22.25] and np.isnan(xy[1]).all() and sd[2] == 1.5
    with pytest.raises(ValueError):
        Landmarks("face-front", ("a",), np.zeros((2, 2)), np.zeros(2), "test")


@dataclass
class _Point:
    name: str
    x: float | None
    y: float | None
    sd: float | None
    corrected: bool = False


@dataclass
class _Detection:
    view: str
    landmarks: list
    warnings: tuple = ()
    refused: bool = False
    mirrored: bool = False
    model: dict = None


def test_detector_results_become_landmarks_or_a_failure() -> None:
    detection = _Detection("xray-front", [_Point("nasion", 5.0, 6.0, 1.2), _Point("menton", None, None, None), _Point("vertex", 1.0, 2.0, None, True)],
                           model={"name": "xray-front-detector"})
    marks = from_detection(detection, default_sd=2.5)
    assert marks.source == "xray-front-detector" and marks.corrected == {"vertex"}
    assert marks.sd[marks.index("nasion")] == 1.2 and marks.sd[marks.index("vertex")] == 2.5
    assert not marks.present[marks.index("menton")]
    refused = from_detection(_Detection("xray-front", [], ("This does not look like a frontal skull X-ray.",), True, model={}))
    assert refused.failure == "This does not look like a frontal skull X-ray." and not refused.present.any()


@dataclass
class _Spacing:
    row_mm: float
    column_mm: float
    source: str


@dataclass
class _Meta:
    spacing: object = None
    dicom: dict = None


def test_pixel_spacing_comes_with_its_source_or_not_at_all() -> None:
    assert pixel_spacing(_Meta(_Spacing(0.1, 0.1, "calibrated by the examiner with a ruler"))) == (0.1, "calibrated by the examiner with a ruler")
    assert pixel_spacing(_Meta(_Spacing(0.1, 0.2, "detector plane"))) == (None, None)  # not one spacing
    assert pixel_spacing(_Meta(None, {"PixelSpacing": "0.139\\0.139"})) == (0.139, "DICOM PixelSpacing, plane not stated")
    assert pixel_spacing(_Meta(None, {})) == (None, None)


def test_sidecar_keeps_landmarks_beside_their_image_only(tmp_path) -> None:
    image = tmp_path / "xray_front.png"
    marks = Landmarks.from_points("xray-front", {"nasion": (3.0, 4.0)}, sd=1.0, source="examiner")
    assert read_sidecar(image, "a" * 64, "xray-front") is None
    written = write_sidecar(image, "a" * 64, marks)
    assert written == sidecar_path(image) == tmp_path / "xray_front.landmarks.json"
    back = read_sidecar(image, "a" * 64, "xray-front")
    assert back.source == "examiner" and back.xy[back.index("nasion")].tolist() == [3.0, 4.0]
    with pytest.raises(DatasetError, match="another image"):
        read_sidecar(image, "b" * 64, "xray-front")
    with pytest.raises(DatasetError, match="not xray-side"):
        read_sidecar(image, "a" * 64, "xray-side")
