"""Similarity fits: checked against the Umeyama fit of imaging.faces and hand-made transforms."""

from __future__ import annotations

import numpy as np
import pytest

from crossid_desktop.imaging.faces import similarity_transform
from crossid_desktop.matching.craniofacial.geometry import Similarity, centroid_size, fit_similarity, fit_similarity_gls, procrustes_mean


def _random_similarity(rng: np.random.Generator) -> Similarity:
    angle, scale = rng.uniform(-0.5, 0.5), rng.uniform(0.5, 2.0)
    return Similarity(scale * np.cos(angle), scale * np.sin(angle), *rng.uniform(-50, 50, 2))


def test_fit_recovers_an_exact_similarity_and_its_inverse() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(12, 2)) * 30
    truth = _random_similarity(rng)
    fitted = fit_similarity(points, truth.apply(points))
    np.testing.assert_allclose(fitted.matrix, truth.matrix, atol=1e-9)
    np.testing.assert_allclose(truth.inverse().apply(truth.apply(points)), points, atol=1e-9)
    other = _random_similarity(rng)
    np.testing.assert_allclose(truth.then(other).apply(points), other.apply(truth.apply(points)), atol=1e-9)


def test_unweighted_fit_equals_umeyama_and_ignores_missing_rows() -> None:
    rng = np.random.default_rng(1)
    source = rng.normal(size=(20, 2)) * 10
    target = _random_similarity(rng).apply(source) + rng.normal(size=(20, 2))
    np.testing.assert_allclose(fit_similarity(source, target).matrix, similarity_transform(source, target), atol=1e-8)
    holes = source.copy()
    holes[[3, 7]] = np.nan
    keep = np.ones(20, bool)
    keep[[3, 7]] = False
    np.testing.assert_allclose(fit_similarity(holes, target).matrix, similarity_transform(source[keep], target[keep]), atol=1e-8)


def test_weights_and_gls_with_diagonal_precision_agree() -> None:
    rng = np.random.default_rng(2)
    source = rng.normal(size=(15, 2)) * 10
    target = _random_similarity(rng).apply(source) + rng.normal(size=(15, 2)) * 2
    weights = rng.uniform(0.1, 3.0, 15)
    weighted = fit_similarity(source, target, weights)
    gls, misfit = fit_similarity_gls(source, target, np.diag(np.repeat(weights, 2)))
    np.testing.assert_allclose(weighted.matrix, gls.matrix, atol=1e-8)
    residual = gls.apply(source) - target
    assert misfit == pytest.approx(float((weights[:, None] * residual**2).sum()))
    # a plain loop over (a, b, tx, ty) near the optimum never does better
    for delta in np.eye(4) * 1e-3:
        moved = Similarity(*(np.array([gls.a, gls.b, gls.tx, gls.ty]) + delta))
        assert float((weights[:, None] * (moved.apply(source) - target) ** 2).sum()) >= misfit


def test_procrustes_mean_of_transformed_copies_is_the_shape() -> None:
    rng = np.random.default_rng(3)
    shape = rng.normal(size=(9, 2))
    copies = np.stack([_random_similarity(rng).apply(shape) for _ in range(6)])
    mean = procrustes_mean(copies)
    assert centroid_size(mean) == pytest.approx(1.0)
    aligned = fit_similarity(shape, mean).apply(shape)
    np.testing.assert_allclose(aligned, mean, atol=1e-9)


def test_two_points_are_needed() -> None:
    with pytest.raises(ValueError):
        fit_similarity(np.array([[0.0, 0.0], [np.nan, 1.0]]), np.array([[1.0, 1.0], [2.0, 2.0]]))
