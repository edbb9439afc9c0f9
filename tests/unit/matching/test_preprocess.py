"""Which face of an injured-face query photo is searched: one face, none (refused unless a
centre crop is asked for), several (refused unless one is chosen); on real photos too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.errors import NoFaceFoundError, SeveralFacesError
from crossid_desktop.imaging.face_detect import FaceDetection
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.preprocess import CENTRE_CROP_WARNING, FaceChoice, choose_face, prepare_query


def _face(side: int) -> FaceDetection:
    return FaceDetection((0, 0, side, side), 1.0, None, "frontal", "haar-frontal")


def test_one_face_is_taken_without_being_asked() -> None:
    assert choose_face([_face(50)], None) == 0
    assert choose_face([_face(50)], FaceChoice(face=1)) == 0


def test_no_face_is_refused_unless_a_centre_crop_is_asked_for() -> None:
    with pytest.raises(NoFaceFoundError, match="centre crop"):
        choose_face([], None)
    with pytest.raises(NoFaceFoundError):
        choose_face([], FaceChoice(face=1))
    assert choose_face([], FaceChoice(allow_centre_crop=True)) is None


def test_several_faces_are_refused_unless_one_is_chosen() -> None:
    faces = [_face(90), _face(60), _face(40)]
    with pytest.raises(SeveralFacesError, match="3 faces.*--face N"):
        choose_face(faces, None)
    with pytest.raises(SeveralFacesError, match="3 faces.*--face N"):
        choose_face(faces, FaceChoice(allow_centre_crop=True))  # a centre crop is no answer to several faces
    assert [choose_face(faces, FaceChoice(face=n)) for n in (1, 2, 3)] == [0, 1, 2]
    for bad in (0, 4):
        with pytest.raises(SeveralFacesError, match=f"no face number {bad}"):
            choose_face(faces, FaceChoice(face=bad))


def test_centre_crop_of_a_faceless_picture_carries_a_warning() -> None:
    picture = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    with pytest.raises(NoFaceFoundError):
        prepare_query(picture, QueryModality.INJURED_FACE)
    prepared = prepare_query(picture, QueryModality.INJURED_FACE, choice=FaceChoice(allow_centre_crop=True))
    assert prepared.warnings == (CENTRE_CROP_WARNING,) and prepared.face_number is None
    assert prepared.alignment is not None and prepared.alignment.method == "centre-crop"
    side = 120  # the central square, scaled to the crop: the middle columns of the picture
    expected = prepared.alignment.transform @ np.array([20 + side / 2, side / 2, 1.0])
    assert expected == pytest.approx([prepared.pixels.shape[1] / 2, prepared.pixels.shape[0] / 2])


def test_a_real_photo_of_two_people_asks_which_one(shared_data: Path) -> None:
    from crossid_desktop.imaging.io import load_image

    folder = shared_data / "faces" / "lfw_dev"
    a = load_image(sorted((folder / "Angelina_Jolie").glob("*.jpg"))[0]).rgb_uint8()
    b = load_image(sorted((folder / "Bill_Clinton").glob("*.jpg"))[0]).rgb_uint8()
    small = b[::2, ::2]  # the second person smaller: the largest-first order is known
    both = np.full((250, 250 + small.shape[1], 3), 128, np.uint8)
    both[:, :250] = a
    both[60:60 + small.shape[0], 250:] = small
    with pytest.raises(SeveralFacesError, match="shows 2 faces"):
        prepare_query(both, QueryModality.INJURED_FACE)
    first = prepare_query(both, QueryModality.INJURED_FACE, choice=FaceChoice(face=1))
    second = prepare_query(both, QueryModality.INJURED_FACE, choice=FaceChoice(face=2))
    assert first.face_number == 1 and second.face_number == 2 and len(first.faces) == 2
    assert first.alignment.detection.box[2] <= 250 < second.alignment.detection.box[0]  # left person, then right
    assert "face 2 of 2" in second.caption
