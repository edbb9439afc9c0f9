"""Each view's exclusion tolerance set on validation pairs, and the exclusion rates it gives."""

from __future__ import annotations

import numpy as np
import pytest

from crossid_desktop.evaluation.xray_evidence import MIN_FACTOR, EvidenceTable, exclusion_rates, fit_view_factors, tail_quantile


def _table(front: np.ndarray, side: np.ndarray) -> EvidenceTable:
    n = front.shape[0]
    people = tuple(f"P{i:03d}" for i in range(n))
    return EvidenceTable(people, people, np.full((n, n, 4), np.nan), {}, {"front": front, "side": side})


def _statistics(rng: np.random.Generator, n: int, genuine_scale: float, impostor_low: float) -> np.ndarray:
    """``(n, n)``: true pairs on the diagonal below ``genuine_scale``, impostors above ``impostor_low`` or mixed in."""
    stats = rng.uniform(impostor_low, 3.0, size=(n, n))
    np.fill_diagonal(stats, rng.uniform(0.05, genuine_scale, size=n))
    return stats


def test_each_view_gets_its_own_factor_and_true_persons_stay_in() -> None:
    rng = np.random.default_rng(4)
    front = _statistics(rng, 200, 0.5, 0.3)  # tight: a factor below 1 excludes more impostors
    side = _statistics(rng, 200, 0.5, 0.3)
    side[7, 7] = 9.0  # one true pair whose profile landmarks were found badly
    table = _table(front, side)
    factors = fit_view_factors(table, ("front", "side"), false_exclusion=0.01)
    assert np.sort(np.diag(front))[-1] <= factors["front"] < 1.0  # at least the largest true pair's; a bounded tail is extrapolated a little
    assert factors["side"] == pytest.approx(9.0)  # 1 % of 200 split between two views: nobody may be excluded
    rates = exclusion_rates(table, ("front", "side"), factor=factors)
    assert rates["fer"] == 0.0
    impostor = ~table.genuine
    expected = ((front / factors["front"] > 1) | (side / factors["side"] > 1))[impostor].mean()
    assert rates["tnr"] == pytest.approx(expected)
    one = exclusion_rates(table, ("front", "side"), factor=max(factors.values()))
    assert one["tnr"] < rates["tnr"]  # one factor for both views, driven by the worst view, excludes fewer impostors


def test_the_factor_from_150_true_persons_lets_about_its_share_of_new_ones_past_not_one_in_151() -> None:
    """Heavy-tailed statistics (Pareto, tail index 1/3, as a face of unusual build misfits its
    skull): fitted on 150 validation values at 0.25 %, the tail estimate is exceeded by new draws
    about 0.25 % of the time on average over many validation sets, where the largest of the 150
    (the empirical quantile) is exceeded about 1/151 of the time."""
    rng = np.random.default_rng(11)
    share, gamma = 0.0025, 1.0 / 3.0
    fitted, largest = [], []
    for _ in range(400):
        values = rng.uniform(size=150) ** -gamma  # Pareto: P(X > x) = x ** (-1 / gamma), x >= 1
        fitted.append(tail_quantile(values, share))
        largest.append(values.max())
    exceeded = lambda x: np.asarray(x) ** (-1.0 / gamma)  # noqa: E731 - the exact probability that a new draw lies above x
    assert 0.6 / 151 < exceeded(largest).mean() < 1.4 / 151
    assert 0.5 * share < exceeded(fitted).mean() < 2.0 * share
    assert all(f >= m for f, m in zip(fitted, largest))  # never below the empirical quantile
    assert np.median(fitted) == pytest.approx(share ** -gamma, rel=0.25)  # the true 99.75 % point, 7.37
    # bounded values (no tail beyond the sample): a little beyond the largest, the cautious side; too few values: the empirical quantile
    assert 0.5 <= tail_quantile(np.linspace(0.1, 0.5, 150), share) < 0.7
    assert tail_quantile(np.array([0.2, 0.9, 0.4]), 0.5) == 0.4
    with pytest.raises(ValueError, match="No positive value"):
        tail_quantile(np.array([np.nan, 0.0]), share)
    with pytest.raises(ValueError, match="between 0 and 1"):
        tail_quantile(np.array([1.0, 2.0]), 0.0)


def test_a_floor_and_a_view_nobody_could_assess() -> None:
    front = np.full((20, 20), 0.01)
    side = np.full((20, 20), np.nan)
    factors = fit_view_factors(_table(front, side), ("front", "side"))
    assert factors == {"front": MIN_FACTOR}
    with pytest.raises(ValueError, match="No genuine pair"):
        fit_view_factors(_table(side, side), ("front", "side"))


def test_the_likelihood_ratio_bound_excludes_on_the_craniofacial_evidence_of_the_views_together() -> None:
    """With a calibrated fusion and ``lr_limit``, a pair within tolerance whose craniofacial ratio of
    the views together lies below the bound is excluded too; pairs no view assessed are never; the
    Siamese evidence plays no part; without the bound the tolerance alone counts."""
    from crossid_desktop.matching.craniofacial.fusion import Fusion, FusionRule

    n = 4
    people = tuple(f"P{i}" for i in range(n))
    values = np.full((n, n, 4), np.nan)
    cf_front = np.array([[0.0, -3.0, -9.0, 1.0], [-8.0, 0.0, 0.0, 0.0], [0.0, 0.0, -6.0, 0.0], [0.0, -20.0, 0.0, 0.0]])
    values[:, :, 0] = cf_front
    values[:, :, 2] = -50.0  # a Siamese distance that would sink every pair if it counted
    front = np.full((n, n), 0.5)
    front[3, 1] = np.nan  # the photo could not be compared: not assessable, whatever the ratio says
    table = EvidenceTable(people, people, values, {}, {"front": front, "side": np.full((n, n), np.nan)})
    rule = FusionRule(("cf_front",), (1.0,), 0.0, (-30.0,), (5.0,), 1000, 10000)  # ln LR = cf_front (clipped at -ln 1000)
    fusion = Fusion({"cf_front": rule, "siamese_front": FusionRule(("siamese_front",), (1.0,), 0.0, (-60.0,), (0.0,), 1000, 10000)})
    alone = exclusion_rates(table, ("front", "side"), fusion=fusion)
    assert alone["tnr"] == 0.0 and alone["fer"] == 0.0
    rates = exclusion_rates(table, ("front", "side"), fusion=fusion, lr_limit=0.01)  # ln 0.01 = -4.6: pairs (0, 2), (1, 0) and (2, 2)
    assert rates["fer"] == pytest.approx(1 / 4)  # the true pair (2, 2) at ln LR -6
    assert rates["tnr"] == pytest.approx(2 / 12)  # (0, 2) and (1, 0); (0, 1) at -3 stays in, (3, 1) is not assessable
    assert exclusion_rates(table, ("front", "side"), fusion=Fusion.uncalibrated(), lr_limit=0.01)["tnr"] == 0.0  # no calibrated ratio: no bound


def test_the_bound_is_strict_and_a_pattern_without_a_rule_is_skipped_as_the_search_skips_it() -> None:
    from crossid_desktop.matching.craniofacial.fusion import Fusion, FusionRule

    n = 3
    people = tuple(f"P{i}" for i in range(n))
    values = np.full((n, n, 4), np.nan)
    values[:, :, 0] = np.log(0.01)  # every pair exactly at the bound: not below it
    values[1, 2, 0] = np.log(0.01) - 1e-9
    values[2, 0, 1] = -20.0  # a pair with both views, for which the fusion has no rule
    table = EvidenceTable(people, people, values, {}, {"front": np.full((n, n), 0.5), "side": np.full((n, n), 0.5)})
    fusion = Fusion({"cf_front": FusionRule(("cf_front",), (1.0,), 0.0, (-30.0,), (5.0,), 1000, 10000)})
    rates = exclusion_rates(table, ("front", "side"), fusion=fusion, lr_limit=0.01)
    assert rates["tnr"] == pytest.approx(1 / 6) and rates["fer"] == 0.0  # (1, 2) alone; (2, 0) has no rule, so no bound
