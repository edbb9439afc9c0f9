"""Alignment that survives injured landmarks: a known similarity is recovered from the 68
points exactly, and still when a group of points is thrown far off (robust weights) or marked
unreliable (reliability weights), where a plain least-squares fit is pulled away."""

from __future__ import annotations

import numpy as np
import pytest

from crossid_desktop.imaging.face_shape import FACE_SHAPE_68, MIRROR_68, POINT_WEIGHTS
from crossid_desktop.imaging.faces import similarity_transform
from crossid_desktop.imaging.robust_align import landmark_reliability, robust_transform

SIZE = 256
RIGHT_EYE_AND_BROW = list(range(17, 22)) + list(range(36, 42))


def _photo_landmarks(angle_deg: float = 12.0, scale: float = 0.6, shift: tuple[float, float] = (40.0, 25.0)) -> tuple[np.ndarray, np.ndarray]:
    """The average face placed in a photo by a known similarity: its landmarks and the
    photo-to-crop affine that undoes it."""
    a = np.radians(angle_deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    crop_points = FACE_SHAPE_68 * SIZE
    photo = crop_points @ rot.T + np.array(shift)
    inverse = np.linalg.inv(np.vstack([np.hstack([rot, np.array(shift)[:, None]]), [0, 0, 1]]))[:2]
    return photo, inverse


def _error(matrix: np.ndarray, truth: np.ndarray) -> float:
    """Largest distance (crop px) between where two affines put the template's points."""
    pts = FACE_SHAPE_68 * SIZE
    return float(np.abs((pts @ matrix[:, :2].T + matrix[:, 2]) - (pts @ truth[:, :2].T + truth[:, 2])).max())


def test_the_mirror_table_pairs_points_symmetrically() -> None:
    assert np.array_equal(MIRROR_68[MIRROR_68], np.arange(68))
    reflected = FACE_SHAPE_68[MIRROR_68].copy()
    reflected[:, 0] = 2 * FACE_SHAPE_68[30, 0] - reflected[:, 0]
    assert np.allclose(reflected, FACE_SHAPE_68, atol=1e-9)


def test_clean_landmarks_give_back_the_similarity() -> None:
    photo, truth = _photo_landmarks()
    assert _error(robust_transform(photo), truth) < 1e-6


def test_landmarks_thrown_off_by_an_injury_do_not_pull_the_fit() -> None:
    photo, truth = _photo_landmarks()
    hurt = photo.copy()
    hurt[RIGHT_EYE_AND_BROW] += np.array([9.0, 14.0])  # the predictor put the eye on a dressing
    plain = similarity_transform(hurt, FACE_SHAPE_68 * SIZE, POINT_WEIGHTS)
    assert _error(plain, truth) > 3.0
    assert _error(robust_transform(hurt), truth) < 0.5


def test_points_marked_unreliable_are_left_out() -> None:
    photo, truth = _photo_landmarks(angle_deg=-8.0)
    hurt = photo.copy()
    hurt[RIGHT_EYE_AND_BROW] += np.random.default_rng(0).normal(0, 6.0, (len(RIGHT_EYE_AND_BROW), 2))
    reliability = np.ones(68)
    reliability[RIGHT_EYE_AND_BROW] = 0.0
    assert _error(robust_transform(hurt, reliability=reliability, iterations=0), truth) < 0.05  # a weight of 1e-3 is left
    assert _error(robust_transform(hurt, reliability=reliability), truth) < 0.05


def test_reliability_is_read_where_each_landmark_lands_in_the_crop() -> None:
    photo, matrix = _photo_landmarks()
    unreliable = np.zeros((SIZE, SIZE), np.float32)
    x0, y0, x1, y1 = 60, 100, 120, 140  # a box over the right eye in the crop
    unreliable[y0:y1, x0:x1] = 0.9
    reliability = landmark_reliability(photo, matrix, unreliable)
    inside = [(x0 <= x < x1 and y0 <= y < y1) for x, y in FACE_SHAPE_68 * SIZE]
    assert reliability[np.array(inside)] == pytest.approx(0.1) and reliability[~np.array(inside)] == pytest.approx(1.0)
    assert 36 in np.flatnonzero(inside)  # the right eye's outer corner is in the box
