"""Calibration against hand-worked Cllr values and scikit-learn's logistic and isotonic
regressions."""

from __future__ import annotations

import importlib
import json
import math

import numpy as np
import pytest

from crossid_desktop.errors import ModelError
from crossid_desktop.evaluation.calibration import cllr, cllr_min, fit_calibration, pav, tippett_data
from crossid_desktop.matching.calibration import Calibration, verbal_scale


def _separated(seed: int = 0, n_g: int = 200, n_i: int = 800) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(-0.6, 0.2, n_g), rng.normal(-1.3, 0.25, n_i)


@pytest.mark.parametrize("method", ["logistic", "pav"])
def test_lr_increases_with_score(method: str) -> None:
    genuine, impostor = _separated()
    calibration = fit_calibration(genuine, impostor, method=method)
    grid = np.linspace(-2.5, 0.5, 400)
    lr = calibration.likelihood_ratio(grid)
    assert np.all(np.diff(lr) >= 0)
    assert lr[-1] > 1 > lr[0]
    if method == "logistic":
        assert np.all(np.diff(lr) > 0)
    distances = np.linspace(0.0, 2.5, 50)  # score = -distance: LR falls as distance grows
    assert np.all(np.diff(calibration.likelihood_ratio_from_distance(distances)) <= 0)


@pytest.mark.parametrize("method", ["logistic", "pav"])
def test_cllr_informative_uninformative_and_above_cllr_min(method: str) -> None:
    genuine, impostor = _separated()
    good = fit_calibration(genuine, impostor, method=method)
    assert good.cllr < 0.5
    assert good.cllr >= good.cllr_min
    rng = np.random.default_rng(1)
    same = fit_calibration(rng.normal(size=1500), rng.normal(size=1500), method=method)
    assert same.cllr == pytest.approx(1.0, abs=0.02)
    assert same.cllr >= same.cllr_min
    if method == "logistic":  # a fit that would decrease with the score is refused: LR = 1
        assert same.parameters["slope"] >= 0
    assert (good.n_genuine, good.n_impostor) == (200, 800)


def test_logistic_fit_matches_sklearn() -> None:
    linear_model = importlib.import_module("sklearn.linear_model")
    genuine, impostor = _separated(seed=2, n_g=150, n_i=600)
    l2 = 1e-4
    calibration = fit_calibration(genuine, impostor, method="logistic", l2=l2)
    x = np.r_[genuine, impostor][:, None]
    y = np.r_[np.ones(150), np.zeros(600)]
    reference = linear_model.LogisticRegression(C=1 / l2, tol=1e-12, max_iter=10_000).fit(x, y)
    assert calibration.parameters["slope"] == pytest.approx(reference.coef_[0, 0], rel=1e-6)
    # ln LR = ln posterior odds - ln prior odds; prior odds = 150 / 600
    expected_intercept = reference.intercept_[0] - math.log(150 / 600)
    assert calibration.parameters["intercept"] == pytest.approx(expected_intercept, rel=1e-6)


def test_logistic_fit_is_finite_on_separable_data() -> None:
    calibration = fit_calibration([1.0, 2.0, 3.0], [-1.0, -2.0, 0.0])
    assert math.isfinite(calibration.parameters["slope"]) and calibration.parameters["slope"] > 0
    assert calibration.cllr < 0.1


def test_pav_matches_sklearn_isotonic_regression() -> None:
    isotonic = importlib.import_module("sklearn.isotonic")
    rng = np.random.default_rng(3)
    scores = np.round(np.r_[rng.normal(1, 1, 80), rng.normal(0, 1, 120)], 1)  # with ties
    targets = np.r_[np.ones(80), np.zeros(120)]
    knots, fitted = pav(scores, targets)
    reference = isotonic.IsotonicRegression().fit(scores, targets)
    np.testing.assert_allclose(fitted, reference.predict(knots), atol=1e-12)
    assert np.all(np.diff(knots) > 0)

    calibration = fit_calibration(scores[:80], scores[80:], method="pav")
    p = reference.predict(scores)
    with np.errstate(divide="ignore"):
        expected = np.clip(p / (1 - p) * (120 / 80), 1 / 80, 120)  # posterior odds / prior odds
    np.testing.assert_allclose(calibration.likelihood_ratio(scores), expected, rtol=1e-9)


def test_pav_hand_worked() -> None:
    # targets 1 0 1 0 at increasing scores: pools (1,0) -> .5 .5, then (1,0) -> .5 .5
    knots, fitted = pav([0.0, 1.0, 2.0, 3.0], [1, 0, 1, 0])
    np.testing.assert_allclose(fitted, [0.5] * 4)
    _, fitted = pav([0.0, 1.0, 2.0], [0, 1, 0.5], weights=[1, 1, 3])
    # pool (1, 0.5) with weights 1, 3 -> (1 + 1.5) / 4 = 0.625
    np.testing.assert_allclose(fitted, [0.0, 0.625, 0.625])


def test_cllr_hand_worked() -> None:
    assert cllr([1.0, 1.0, 1.0], [1.0, 1.0]) == 1.0
    # LR_g = 9, LR_i = 1/9: each term log2(1 + 1/9) = log2(10/9)
    assert cllr([9.0], [1 / 9]) == pytest.approx(math.log2(10 / 9))
    # genuine (log2 2 + log2(4/3)) / 2, impostor log2 2
    assert cllr([1.0, 3.0], [1.0]) == pytest.approx(0.5 * ((1 + math.log2(4 / 3)) / 2 + 1))
    assert cllr([math.inf], [0.0]) == 0.0
    assert cllr([0.0], [1.0]) == math.inf


def test_cllr_min_hand_worked() -> None:
    assert cllr_min([1.0, 2.0], [0.0]) == 0.0  # perfectly separated
    assert cllr_min([0.0, 2.0], [1.0, 3.0]) == pytest.approx(1.0)  # PAV pools all: LR = 1


def test_tippett_data_hand_worked() -> None:
    data = tippett_data([10.0, 100.0], [0.1, 10.0])
    # log10 LR: genuine 1, 2; impostor -1, 1
    np.testing.assert_allclose(data.log10_lr, [-1.5, -1.0, 1.0, 2.0, 2.5])
    np.testing.assert_allclose(data.genuine_above, [1, 1, 0.5, 0, 0])
    np.testing.assert_allclose(data.impostor_above, [1, 0.5, 0, 0, 0])
    assert (data.misleading_genuine, data.misleading_impostor) == (0.0, 0.5)


@pytest.mark.parametrize(
    ("lr", "expected"),
    [
        (1.0, "no support for either proposition"),
        (1.0001, "weak support for 'same person'"),
        (9.99, "weak support for 'same person'"),
        (10.0, "moderate support for 'same person'"),
        (99.9, "moderate support for 'same person'"),
        (100.0, "moderately strong support for 'same person'"),
        (1000.0, "strong support for 'same person'"),
        (1e4, "very strong support for 'same person'"),
        (999_999.0, "very strong support for 'same person'"),
        (1e6, "extremely strong support for 'same person'"),
        (math.inf, "extremely strong support for 'same person'"),
        (0.5, "weak support for 'different persons'"),
        (0.1, "moderate support for 'different persons'"),
        (1e-3, "strong support for 'different persons'"),
        (1e-6, "extremely strong support for 'different persons'"),
        (0.0, "extremely strong support for 'different persons'"),
    ],
)
def test_verbal_scale_boundaries(lr: float, expected: str) -> None:
    assert verbal_scale(lr) == expected


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_verbal_scale_rejects_invalid(bad: float) -> None:
    with pytest.raises(ValueError):
        verbal_scale(bad)


@pytest.mark.parametrize("method", ["logistic", "pav"])
def test_to_dict_from_dict_round_trip(method: str) -> None:
    genuine, impostor = _separated(seed=4)
    calibration = fit_calibration(genuine, impostor, method=method)
    restored = Calibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    assert restored == calibration
    grid = np.linspace(-2, 0, 30)
    np.testing.assert_array_equal(restored.likelihood_ratio(grid), calibration.likelihood_ratio(grid))


def test_from_dict_rejects_malformed() -> None:
    with pytest.raises(ModelError):
        Calibration.from_dict({"method": "logistic"})
    with pytest.raises(ModelError):
        Calibration.from_dict({"method": "magic", "score_name": "-distance", "parameters": {}})


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError):
        fit_calibration([], [1.0])
    with pytest.raises(ValueError):
        fit_calibration([1.0], [0.0], method="spline")
    with pytest.raises(ValueError):
        cllr([-1.0], [1.0])
