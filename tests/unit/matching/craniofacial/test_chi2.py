"""The chi-square tail (even and odd degrees of freedom), against scipy (a test-only reference)."""

from __future__ import annotations

import math

import pytest

from crossid_desktop.matching.craniofacial import chi2

scipy_stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("dof", [1, 2, 3, 4, 5, 10, 41, 42, 137, 138])
def test_tail_and_quantile_match_scipy(dof: int) -> None:
    for x in (0.5, dof * 0.5, float(dof), dof * 2.0, dof * 5.0):
        assert chi2.sf(x, dof) == pytest.approx(scipy_stats.chi2.sf(x, dof), rel=1e-9, abs=1e-300)
        assert chi2.log_sf(x, dof) == pytest.approx(scipy_stats.chi2.logsf(x, dof), rel=1e-9)
    for p in (0.5, 0.99, 0.9999):
        assert chi2.quantile(p, dof) == pytest.approx(scipy_stats.chi2.ppf(p, dof), rel=1e-8)


def test_one_and_two_degrees_of_freedom_by_hand_and_bad_dof_refused() -> None:
    assert chi2.sf(3.0, 2) == pytest.approx(math.exp(-1.5))
    assert chi2.sf(3.0, 1) == pytest.approx(math.erfc(math.sqrt(1.5)))  # a squared standard normal beyond sqrt(3)
    assert chi2.quantile(0.95, 1) == pytest.approx(1.959963984540054**2)
    assert chi2.log_sf(0.0, 4) == 0.0
    for dof in (0, 2.5):
        with pytest.raises(ValueError):
            chi2.sf(1.0, dof)  # type: ignore[arg-type]


def test_one_degree_of_freedom_far_out_where_erfc_underflows() -> None:
    for x in (1300.0, 1350.0, 1400.0):  # scipy's logsf still resolves these; erfc itself is below 1e-280 there
        assert chi2.log_sf(x, 1) == pytest.approx(scipy_stats.chi2.logsf(x, 1), rel=1e-8)
    assert math.isfinite(chi2.log_sf(1e5, 1)) and chi2.log_sf(1e5, 1) < chi2.log_sf(5e4, 1) < -20000
    assert chi2.log_sf(10.0, 3.0) == chi2.log_sf(10.0, 3)  # a whole number given as a float
