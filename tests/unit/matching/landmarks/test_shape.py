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
