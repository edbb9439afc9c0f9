"""Completing the unreliable parts of an aligned face: a one-sided hole takes its mirror image
(brightness matched to its own side), a hole on both sides is inpainted smoothly, nothing
outside the feathered hole changes, and an empty mask changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from builders import synthetic_face

from crossid_desktop.matching.completion import complete_face, midline_x, mirror

SIZE = 128


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    return synthetic_face(SIZE)


def test_mirror_reflects_across_the_face_midline(face: np.ndarray) -> None:
    flipped = mirror(face)
    cx = midline_x(SIZE)
    for x in (20, 40, 70):
        partner = 2 * cx - x  # pixel i sits at x = i, as in the canonical layout
        lo = int(np.floor(partner))
        w = partner - lo
        expected = (1 - w) * face[:, lo].astype(float) + w * face[:, lo + 1].astype(float)
        step = np.abs(face[:, lo + 1].astype(float) - face[:, lo].astype(float))
        assert (np.abs(flipped[:, x].astype(float) - expected) <= step / 32 + 1.0).all()  # OpenCV weighs in 1/32 steps, then rounds


def test_a_one_sided_hole_takes_the_mirror_image(face: np.ndarray) -> None:
    injured = face.copy()
    hole = np.zeros((SIZE, SIZE), bool)
    hole[50:70, 25:50] = True  # over the subject's right eye
    injured[hole] = (250, 250, 250)  # a white dressing
    done = complete_face(injured, hole)
    inner = np.zeros_like(hole)
    inner[53:67, 28:47] = True  # away from the feathered rim
    truth = mirror(face)  # the synthetic face is left-right symmetric up to its lighting
    assert np.abs(done[inner].astype(float) - face[inner].astype(float)).mean() < 12
    assert np.abs(done[inner].astype(float) - truth[inner].astype(float)).mean() < 12
    far = np.ones_like(hole)
    far[40:80, 15:60] = False  # the hole, its feathered rim and the mirror's brightness match stay inside
    assert np.array_equal(done[far], injured[far])  # nothing else changes


def test_a_hole_on_both_sides_is_inpainted_from_its_border(face: np.ndarray) -> None:
    injured = face.copy()
    hole = np.zeros((SIZE, SIZE), bool)
    hole[100:112, 45:85] = True  # across the mouth, both sides
    injured[hole] = (20, 200, 20)  # something green and foreign
    done = complete_face(injured, hole)
    inside = done[102:110, 50:80].astype(float)
    assert inside[..., 1].mean() < 170 and np.abs(inside[..., 0] - inside[..., 1]).mean() < 60  # no longer green
    assert inside.std(axis=(0, 1)).max() < 25  # smooth


def test_nothing_to_complete_returns_a_copy(face: np.ndarray) -> None:
    done = complete_face(face, np.zeros((SIZE, SIZE), bool))
    assert np.array_equal(done, face) and done is not face
    assert np.array_equal(complete_face(face, np.full((SIZE, SIZE), 0.3, np.float32)), face)  # probabilities below one half


def test_inpainting_alone_ignores_the_other_side(face: np.ndarray) -> None:
    injured = face.copy()
    hole = np.zeros((SIZE, SIZE), bool)
    hole[50:70, 25:50] = True
    injured[hole] = (250, 250, 250)
    by_mirror = complete_face(injured, hole)
    by_inpainting = complete_face(injured, hole, use_mirror=False)
    assert not np.array_equal(by_mirror, by_inpainting)
    assert by_inpainting[55:65, 30:45].std(axis=(0, 1)).max() < by_mirror[55:65, 30:45].std(axis=(0, 1)).max()  # no eye drawn
