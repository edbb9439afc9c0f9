"""The modality and view a DICOM header states (search.guess_from_dicom), tag by tag, and
that a stated view wins over the image-based guess."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from builders import write_dicom

from crossid_desktop.imaging.io import load_image
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.search.query import guess_from_dicom, guess_modality

FRONT, SIDE, FACE = QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE, QueryModality.INJURED_FACE


@pytest.mark.parametrize("tags,expected,basis", [
    ({"ViewPosition": "PA"}, FRONT, "ViewPosition PA"),
    ({"ViewPosition": "AP"}, FRONT, "ViewPosition AP"),
    ({"ViewPosition": "LL"}, SIDE, "ViewPosition LL"),
    ({"ViewPosition": "RL"}, SIDE, "ViewPosition RL"),
    ({"ViewPosition": "LATERAL "}, SIDE, "ViewPosition LATERAL"),
    ({"ViewCodeMeaning": "lateral"}, SIDE, "view code 'lateral'"),
    ({"ViewCodeMeaning": "postero-anterior"}, FRONT, "view code 'postero-anterior'"),
    ({"PatientOrientation": "L\\F"}, FRONT, "PatientOrientation L\\F"),
    ({"PatientOrientation": "R\\FL"}, FRONT, "PatientOrientation R\\FL"),
    ({"PatientOrientation": "A\\F"}, SIDE, "PatientOrientation A\\F"),
    ({"PatientOrientation": "P\\H"}, SIDE, "PatientOrientation P\\H"),
    ({"ImageLaterality": "L", "BodyPartExamined": "SKULL"}, SIDE, "ImageLaterality L on a skull (one side imaged)"),
    ({"Modality": "XC"}, FACE, "Modality XC (a photograph)"),
    # the explicit view wins over the orientation when both are present
    ({"ViewPosition": "LL", "PatientOrientation": "L\\F"}, SIDE, "ViewPosition LL"),
])
def test_stated_views(tags: dict[str, str], expected: QueryModality, basis: str) -> None:
    guess = guess_from_dicom(tags)
    assert guess is not None and guess.modality is expected and guess.basis == basis


@pytest.mark.parametrize("tags", [
    {},
    {"ViewPosition": "LLO"},  # an oblique view is neither
    {"PatientOrientation": "L\\P"},  # an axial slice
    {"PatientOrientation": "L\\PF"},  # oblique: columns run mostly posterior
    {"ImageLaterality": "L", "BodyPartExamined": "HAND"},
    {"ImageLaterality": "U", "BodyPartExamined": "SKULL"},
])
def test_nothing_stated(tags: dict[str, str]) -> None:
    assert guess_from_dicom(tags) is None


def test_a_stated_view_wins_over_the_picture(tmp_path: Path) -> None:
    symmetric = np.tile(np.r_[np.linspace(100, 4000, 32), np.linspace(4000, 100, 32)], (48, 1)).astype(np.uint16)
    plain = load_image(write_dicom(tmp_path / "plain.dcm", symmetric))
    assert guess_modality(plain) is FRONT  # left-right symmetric
    stated = load_image(write_dicom(tmp_path / "lateral.dcm", symmetric, ViewPosition="LL"))
    assert guess_modality(stated) is SIDE
