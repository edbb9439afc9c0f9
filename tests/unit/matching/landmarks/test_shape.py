"""The skull-shape check of detected points (matching/landmarks/shape.py)."""

from __future__ import annotations

import numpy as np
import pytest

from crossid_desktop.matching.landmarks.shape import ShapeModel, shape_residual, similarity_fit


def _similar(points: np.ndarray, scale: float, degrees: float, shift: tuple[float, float]) -> np.ndarray:
    t = np.deg2rad(degrees)
    rotation = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return scale * points @ rotation.T + np.array(shift)


def test_similarity_fit_recovers_a_known_transform() -> None:
    source = np.random.default_rng(1).normal(0, 1, (12, 2))
    target = _similar(source, 37.0, 23.0, (400.0, -80.0))
    assert np.allclose(similarity_fit(source, target), target, atol=1e-9)


def test_residual_is_zero_for_a_moved_shape_and_large_for_scrambled_points() -> None:
    rng = np.random.default_rng(2)
    mean = rng.normal(0, 1, (19, 2))
    assert shape_residual(mean, _similar(mean, 250.0, -8.0, (700.0, 800.0))) < 1e-9
    assert shape_residual(mean, rng.permutation(_similar(mean, 250.0, -8.0, (700.0, 800.0)))) > 0.5


def test_generalised_mean_of_moved_copies_is_the_shape_and_missing_points_are_skipped() -> None:
    rng = np.random.default_rng(3)
    shape = rng.normal(0, 1, (10, 2))
    copies = [_similar(shape + rng.normal(0, 0.01, shape.shape), s, d, (x, 0.0)) for s, d, x in ((2.0, 10.0, 5.0), (0.5, -20.0, 1.0), (3.0, 0.0, -7.0))]
    copies[1][4] = np.nan
    mean = ShapeModel.fit(copies)
    assert shape_residual(mean, shape) < 0.02
    model = ShapeModel(mean, threshold=0.1)
    partial = _similar(shape, 9.0, 30.0, (1.0, 2.0))
    partial[[0, 3]] = np.nan
    assert model.residual(partial) == pytest.approx(shape_residual(mean[[1, 2, 4, 5, 6, 7, 8, 9]], partial[[1, 2, 4, 5, 6, 7, 8, 9]]))
    partial[:7] = np.nan
    assert np.isnan(model.residual(partial))


def test_the_one_point_out_of_shape_is_named_with_where_the_others_put_it() -> None:
    rng = np.random.default_rng(4)
    mean = rng.normal(0, 1, (15, 2))
    model = ShapeModel(mean, threshold=0.05)
    points = _similar(mean, 40.0, 12.0, (300.0, 200.0))
    assert model.odd_one(points) is None  # a skull's arrangement: nothing to name
    moved = points.copy()
    moved[6] += (60.0, -35.0)
    index, expected = model.odd_one(moved)
    assert index == 6
    np.testing.assert_allclose(expected, points[6], atol=1e-6)  # the others, moved by a similarity, put it where it belonged
    two = moved.copy()
    two[2] += (-50.0, 40.0)
    assert model.odd_one(two) is None  # no single point explains the misfit
    moved[[0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11]] = np.nan
    assert model.odd_one(moved) is None  # fewer than five points
