"""A person's craniofacial decision from two X-ray views, with the bundled model's fusion rules:
the likelihood-ratio bound on the views together, and the landmarks it names."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np

from crossid_desktop.matching.craniofacial.assess import Fit
from crossid_desktop.matching.craniofacial.consistency import CONSISTENT, LIKELIHOOD_RATIO, Tolerance, Verdict
from crossid_desktop.matching.craniofacial.fusion import Fusion
from crossid_desktop.matching.craniofacial.geometry import IDENTITY
from crossid_desktop.paths import resource_path
from crossid_desktop.search.xray_ranking import _craniofacial_verdict


def _fit(names: list[str], full: list[float], with_free: list[float]) -> Fit:
    n = len(names)
    return Fit(tuple(names), IDENTITY, np.zeros((n, 2)), np.array(full), np.tile(np.eye(2), (n, 1, 1)), float(sum(full)), 2 * n - 4, 0.0,
               exclusion_misfit=np.array(with_free), exclusion_dof=2 * n - 5)


def _matcher(lr_limit: float | None) -> SimpleNamespace:
    card = json.loads(resource_path("models", "craniofacial.json").read_text(encoding="utf-8"))
    return SimpleNamespace(fusion=Fusion.from_dict(card["fusion"]["rules"]), model=SimpleNamespace(tolerance=Tolerance(lr_limit=lr_limit)))


def _views() -> dict:
    # the frontal photo's farthest point by the ratio's misfits is f2; with the patterns let free it would be f0
    front = _fit(["f0", "f1", "f2", "f3", "f4"], [1.0, 2.0, 9.0, 3.0, 0.5], [8.0, 1.0, 0.5, 2.0, 0.1])
    side = _fit(["s0", "s1", "s2", "s3", "s4"], [7.0, 1.0, 1.0, 1.0, 1.0], [7.0, 1.0, 1.0, 1.0, 1.0])
    return {"front": {"verdict": Verdict(CONSISTENT), "best_fit": front}, "side": {"verdict": Verdict(CONSISTENT), "best_fit": side}}


def test_the_view_named_is_the_one_whose_own_ratio_speaks_against_the_person_not_the_lowest_raw_score() -> None:
    matcher = _matcher(0.01)
    rules = matcher.fusion.rules
    # a frontal score against the person and a lateral one for them, the frontal one numerically the higher (the raw scales differ)
    front, side = 5.0, 3.5
    assert front > side and rules["cf_front"].score(np.array([[front]]))[0] < 0.0 < rules["cf_side"].score(np.array([[side]]))[0]
    ln_lr = matcher.fusion.ln_lr({"cf_front": front, "cf_side": side})
    assert ln_lr < math.log(0.01)
    verdict = _craniofacial_verdict(_views(), {"cf_front": front, "cf_side": side, "siamese_front": -0.5}, matcher, matcher)
    assert verdict.basis == LIKELIHOOD_RATIO and verdict.named_view == "front"
    assert verdict.excluding == ("f2", "f3", "f1")  # by the misfits the ratio weighs, nothing let free
    assert verdict.lr == math.exp(ln_lr) and verdict.lr_clipped == (matcher.fusion.score({"cf_front": front, "cf_side": side}) < ln_lr)


def test_the_siamese_evidence_and_an_absent_bound_never_exclude() -> None:
    matcher = _matcher(0.01)
    good = {"cf_front": 16.0, "cf_side": 4.0}  # both views for the person
    assert matcher.fusion.ln_lr(good) > 0.0
    assert _craniofacial_verdict(_views(), {**good, "siamese_front": -50.0, "siamese_side": -50.0}, matcher, matcher).status == CONSISTENT
    assert _craniofacial_verdict(_views(), {"cf_front": 5.0, "cf_side": 3.5}, _matcher(None), _matcher(None)).status == CONSISTENT
    uncalibrated = SimpleNamespace(fusion=Fusion.uncalibrated(), model=SimpleNamespace(tolerance=Tolerance(lr_limit=0.01)))
    assert _craniofacial_verdict(_views(), {"cf_front": -500.0}, uncalibrated, uncalibrated).status == CONSISTENT


def test_evidence_whose_pattern_has_no_rule_is_not_bounded() -> None:
    from crossid_desktop.matching.craniofacial.fusion import FusionRule

    only_front = Fusion({"cf_front": FusionRule(("cf_front",), (1.0,), 0.0, (-30.0,), (5.0,), 1000, 10000)})
    matcher = SimpleNamespace(fusion=only_front, model=SimpleNamespace(tolerance=Tolerance(lr_limit=0.01)))
    assert _craniofacial_verdict(_views(), {"cf_front": -20.0, "cf_side": -20.0}, matcher, matcher).status == CONSISTENT  # no rule for both views
    views = _views()
    del views["side"]
    assert _craniofacial_verdict(views, {"cf_front": -20.0}, matcher, matcher).basis == LIKELIHOOD_RATIO
