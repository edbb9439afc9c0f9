"""Fusion rules: the logistic fit against scikit-learn, the prior odds taken off, clipping, patterns."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.craniofacial.fusion import Fusion, fit_logistic, fit_rule, pattern_of

sklearn_linear = pytest.importorskip("sklearn.linear_model")


def test_newton_logistic_matches_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x @ np.array([1.5, -2.0, 0.3]) + 0.4 + rng.logistic(size=400) > 0).astype(float)
    l2 = 0.5
    w, b = fit_logistic(x, y, l2=l2)
    reference = sklearn_linear.LogisticRegression(C=1.0 / l2, tol=1e-12, max_iter=10000).fit(x, y)
    np.testing.assert_allclose(w, reference.coef_[0], rtol=1e-5, atol=1e-6)
    assert b == pytest.approx(reference.intercept_[0], rel=1e-5, abs=1e-6)


def test_rule_gives_likelihood_ratios_of_two_gaussians() -> None:
    # genuine ~ N(2, 1), impostor ~ N(0, 1): the true ln LR is 2 x - 2, whatever the class sizes
    rng = np.random.default_rng(1)
    genuine, impostor = rng.normal(2.0, 1.0, (3000, 1)), rng.normal(0.0, 1.0, (30000, 1))
    rule = fit_rule(("cf_front",), genuine, impostor, l2=1e-6)
    for x in (-1.0, 0.0, 1.0, 2.5):
        assert float(rule.ln_lr(np.array([[x]]))[0]) == pytest.approx(2 * x - 2, abs=0.12)
    assert float(rule.ln_lr(np.array([[1e6]]))[0]) <= math.log(30000) + 1e-9  # clipped to what the data support
    assert float(rule.ln_lr(np.array([[-1e6]]))[0]) >= -math.log(3000) - 1e-9


def test_fusion_picks_the_rule_of_the_present_features_and_round_trips() -> None:
    rng = np.random.default_rng(2)
    rules = {"cf_front": fit_rule(("cf_front",), rng.normal(1, 1, (50, 1)), rng.normal(0, 1, (500, 1))),
             "cf_front+siamese_front": fit_rule(("cf_front", "siamese_front"), rng.normal(1, 1, (50, 2)), rng.normal(0, 1, (500, 2)))}
    fusion = Fusion(rules)
    assert pattern_of({"siamese_front": -0.3, "cf_front": 2.0, "cf_side": math.nan}) == "cf_front+siamese_front"
    value = fusion.ln_lr({"cf_front": 1.0, "siamese_front": 0.5, "cf_side": math.nan})
    assert value == pytest.approx(float(rules["cf_front+siamese_front"].ln_lr(np.array([[1.0, 0.5]]))[0]))
    assert Fusion.from_dict(fusion.to_dict()).ln_lr({"cf_front": 0.7}) == pytest.approx(fusion.ln_lr({"cf_front": 0.7}))
    with pytest.raises(ModelError):
        fusion.ln_lr({"cf_side": 1.0})
    assert not Fusion.uncalibrated().calibrated
    assert Fusion.uncalibrated().ln_lr({"cf_front": 3.0, "cf_side": -1.0}) == pytest.approx(2.0)
