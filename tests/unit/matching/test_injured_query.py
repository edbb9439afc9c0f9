"""Preparing an injured-face query: the segmenter's mask (thresholded, grown) or the examiner's
mask is what the search leaves out; robust re-alignment from the 68 landmarks keeps a clean
face where the standard alignment puts it; the described faces are the completed crop and its
mirror."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.errors import ModelError
from crossid_desktop.imaging.canonical import CANONICAL
from crossid_desktop.matching.injured_query import InjuryAwareRecipe, described_faces, prepare_injured
from crossid_desktop.matching.preprocess import FaceChoice

SIZE = 256


class BoxSegmenter:
    """A stand-in segmenter: probability 0.9 in a fixed box of the crop, 0.1 elsewhere."""

    def __init__(self, box: tuple[int, int, int, int]) -> None:
        self.box = box
        self.calls = 0

    def probabilities(self, faces):
        self.calls += 1
        out = np.full((len(faces), SIZE, SIZE), 0.1, np.float32)
        x0, y0, x1, y1 = self.box
        out[:, y0:y1, x0:x1] = 0.9
        return out


def _picture() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (200, 240, 3), dtype=np.uint8)


def test_the_segmenters_mask_is_thresholded_and_grown() -> None:
    recipe = InjuryAwareRecipe(threshold=0.5, grow=0.02, robust_alignment=True)
    prepared = prepare_injured(_picture(), FaceChoice(allow_centre_crop=True), recipe, BoxSegmenter((60, 90, 120, 140)))
    assert prepared.ignore_source == "detected" and prepared.alignment.method == "centre-crop"
    radius = round(0.02 * SIZE)
    assert prepared.ignored[90:140, 60:120].all()
    assert prepared.ignored[115, 60 - radius + 1] and not prepared.ignored[115, 60 - radius - 2]  # grown by the radius
    assert prepared.ignored.sum() < (50 + 2 * radius + 2) * (60 + 2 * radius + 2)
    assert prepared.unreliable.shape == (SIZE, SIZE) and prepared.warnings  # a centre crop says so


def test_the_examiners_mask_replaces_the_detected_one() -> None:
    mine = np.zeros((SIZE, SIZE), bool)
    mine[10:20, 10:20] = True
    prepared = prepare_injured(_picture(), FaceChoice(allow_centre_crop=True, ignore=mine), InjuryAwareRecipe(), BoxSegmenter((60, 90, 120, 140)))
    assert prepared.ignore_source == "examiner" and np.array_equal(prepared.ignored, mine)
    assert prepared.unreliable[100, 100] == pytest.approx(0.9)  # the detection is still shown
    with pytest.raises(ModelError, match="must cover"):
        prepare_injured(_picture(), FaceChoice(allow_centre_crop=True, ignore=mine[:100]), InjuryAwareRecipe(), BoxSegmenter((0, 0, 1, 1)))


def test_described_faces_are_the_completed_crop_and_its_mirror() -> None:
    prepared = prepare_injured(_picture(), FaceChoice(allow_centre_crop=True), InjuryAwareRecipe(grow=0.0), BoxSegmenter((60, 90, 120, 140)))
    faces = described_faces(prepared, InjuryAwareRecipe(grow=0.0))
    assert len(faces) == 2 and np.array_equal(faces[1], faces[0][:, ::-1])
    assert not np.array_equal(faces[0][90:140, 60:120], prepared.pixels[90:140, 60:120])  # completed
    assert np.array_equal(faces[0][:60], prepared.pixels[:60])  # untouched far from the hole
    assert len(described_faces(prepared, InjuryAwareRecipe(flip=False, completion="none"))) == 1
    assert np.array_equal(described_faces(prepared, InjuryAwareRecipe(flip=False, completion="none"))[0], prepared.pixels)


def test_robust_realignment_keeps_a_clean_face_on_the_template(shared_data: Path) -> None:
    from crossid_desktop.imaging.face_detect import detect_faces
    from crossid_desktop.imaging.io import load_image

    photo = load_image(sorted((shared_data / "faces" / "lfw_dev" / "Bill_Clinton").glob("*.jpg"))[1]).rgb_uint8()
    eye_box = BoxSegmenter((55, 90, 120, 150))  # the subject's right eye "injured"
    prepared = prepare_injured(photo, FaceChoice(face=1), InjuryAwareRecipe(), eye_box)
    assert prepared.alignment.method == "robust-68" and eye_box.calls == 2  # before and after re-alignment
    marks = detect_faces(photo)[0].landmarks68
    matrix = prepared.alignment.transform
    eyes = np.array([marks[36:42].mean(axis=0), marks[42:48].mean(axis=0)]) @ matrix[:, :2].T + matrix[:, 2]
    template = np.array([CANONICAL.right_eye, CANONICAL.left_eye]) * SIZE
    assert np.abs(eyes - template).max() < 0.06 * SIZE  # within the spread of real faces' eyes


def test_without_a_segmenter_only_the_examiners_mask_is_left_out() -> None:
    recipe = InjuryAwareRecipe(segmenter="none")
    prepared = prepare_injured(_picture(), FaceChoice(allow_centre_crop=True), recipe, None)
    assert prepared.unreliable is None and prepared.ignore_source == "detected"
    assert prepared.ignored.shape == (SIZE, SIZE) and not prepared.ignored.any()  # an empty mask for the brush
    assert np.array_equal(described_faces(prepared, replace(recipe, flip=False))[0], prepared.pixels)  # nothing completed
    mine = np.zeros((SIZE, SIZE), bool)
    mine[90:140, 60:120] = True
    marked = prepare_injured(_picture(), FaceChoice(allow_centre_crop=True, ignore=mine), recipe, None)
    assert marked.ignore_source == "examiner" and np.array_equal(marked.ignored, mine)
    completed = described_faces(marked, replace(recipe, flip=False))[0]
    assert not np.array_equal(completed[90:140, 60:120], marked.pixels[90:140, 60:120]) and np.array_equal(completed[:60], marked.pixels[:60])
