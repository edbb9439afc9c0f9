"""The skull landmarks a case's X-ray search uses: the detection with the examiner's corrections
of that case, or nothing where none was corrected (the matcher then finds them itself)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.anatomy.landmarks import landmark_names
from crossid_desktop.cases import CaseService
from crossid_desktop.cases import skull_landmarks as module
from crossid_desktop.cases.landmarks import CaseLandmarks
from crossid_desktop.imaging.io import ImageMeta, LoadedImage
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.craniofacial.points import corrected_landmarks
from crossid_desktop.matching.landmarks.service import Landmark, LandmarkResult
from crossid_desktop.workspace import Workspace


def _image(sha: str) -> LoadedImage:
    return LoadedImage(np.zeros((40, 40), np.uint8), sha, None, ImageMeta("PNG", 40, 40, 1, 8))


def _detection(sha: str, view: str) -> LandmarkResult:
    points = tuple(Landmark(name, None, 10.0 + i, 20.0 + i, 1.5, 0.9) for i, name in enumerate(landmark_names(view)))
    return LandmarkResult(None, sha, view, points, model={"name": f"test {view} model"})


def test_corrections_of_the_case_are_laid_over_the_detection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = CaseService(Workspace.open(tmp_path / "ws"))
    case = cases.create_case(title="skull", examiner="E. Xam").case_number
    front, side = _image("a" * 64), _image("b" * 64)
    name = landmark_names("xray-front")[2]
    CaseLandmarks(cases).correct(case, front.sha256, "xray-front", name, 33.0, 7.0, detected=(12.0, 22.0), actor="E. Xam")
    monkeypatch.setattr(module, "find_landmarks", lambda image, view: _detection(image.sha256, view))
    found = module.case_skull_landmarks(cases, case, [front, side], [QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE])
    assert found[1] is None  # nothing corrected on the lateral X-ray: the matcher finds its landmarks itself
    marks = found[0]
    assert marks is not None and marks.view == "xray-front" and marks.corrected == frozenset({name})
    i = marks.names.index(name)
    np.testing.assert_allclose(marks.xy[i], [33.0, 7.0])
    j = marks.names.index(landmark_names("xray-front")[0])
    np.testing.assert_allclose(marks.xy[j], [10.0, 20.0])  # the others as detected
    assert marks.source == "test xray-front model" and marks.spacing_mm is None  # a plain image file: no pixel spacing


def test_an_uncorrected_detection_is_left_to_the_matcher() -> None:
    assert corrected_landmarks(_detection("c" * 64, "xray-side"), _image("c" * 64)) is None
    assert corrected_landmarks(None, _image("c" * 64)) is None
