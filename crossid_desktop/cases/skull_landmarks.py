"""The skull landmarks a case's X-ray search uses: the X-ray landmark detector's, with the
examiner's corrections kept in that case laid over them
(:class:`~crossid_desktop.cases.landmarks.CaseLandmarks`)."""

from __future__ import annotations

from collections.abc import Sequence

from crossid_desktop.cases.case import CaseService
from crossid_desktop.cases.landmarks import CaseLandmarks
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.craniofacial.points import Landmarks, corrected_landmarks
from crossid_desktop.matching.landmarks.service import find_landmarks

XRAY_VIEWS = {QueryModality.XRAY_FRONT: "xray-front", QueryModality.XRAY_SIDE: "xray-side"}


def case_skull_landmarks(cases: CaseService, case_number: str, images: Sequence[LoadedImage], modalities: Sequence[QueryModality]) -> list[Landmarks | None]:
    """Per query: the detection with the case's corrections of that X-ray and view, or None where
    the case corrected none of its points (the search then reads the landmarks kept beside the
    X-ray, else detects them)."""
    corrections = CaseLandmarks(cases)
    out: list[Landmarks | None] = []
    for image, modality in zip(images, modalities):
        view = XRAY_VIEWS.get(QueryModality(modality))
        if view is None or not corrections.corrections(case_number, image.sha256, view):
            out.append(None)
            continue
        out.append(corrected_landmarks(corrections.apply(case_number, find_landmarks(image, view)), image))
    return out
