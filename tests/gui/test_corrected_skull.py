"""The window hands the skull landmarks the examiner corrected in the landmark editor to the
craniofacial search; an uncorrected X-ray and a face photo are left to the matcher."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from PySide6.QtGui import QImage

from crossid_desktop.anatomy.landmarks import landmark_names
from crossid_desktop.gui.job_results import QueryImage
from crossid_desktop.gui.main_window import MainWindow
from crossid_desktop.imaging.io import ImageMeta, LoadedImage
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.landmarks.service import Landmark, LandmarkResult


def _query(sha: str, modality: QueryModality) -> QueryImage:
    image = LoadedImage(np.zeros((80, 80), np.uint8), sha, None, ImageMeta("PNG", 80, 80, 1, 8))
    return QueryImage(image, modality, modality, QImage())


def _result(sha: str, view: str, corrected: bool) -> LandmarkResult:
    points = tuple(Landmark(n, None, 5.0 + i, 6.0 + i, 1.0, 0.9, corrected=corrected and i == 0) for i, n in enumerate(landmark_names(view)))
    return LandmarkResult(None, sha, view, points, model={"name": "editor test"})


def test_only_corrected_x_rays_are_handed_over() -> None:
    asked = []

    def landmarks(sha: str, view: str) -> LandmarkResult:
        asked.append((sha, view))
        return _result(sha, view, corrected=sha == "a" * 64)

    window = SimpleNamespace(landmark_editor=SimpleNamespace(landmarks=landmarks))
    corrected = MainWindow._corrected_skull(window, _query("a" * 64, QueryModality.XRAY_SIDE))
    assert corrected is not None and corrected.view == "xray-side" and corrected.corrected == frozenset({landmark_names("xray-side")[0]})
    assert MainWindow._corrected_skull(window, _query("b" * 64, QueryModality.XRAY_FRONT)) is None  # detected but not corrected
    assert MainWindow._corrected_skull(window, _query("c" * 64, QueryModality.INJURED_FACE)) is None  # a face photo: not asked
    assert asked == [("a" * 64, "xray-side"), ("b" * 64, "xray-front")]
