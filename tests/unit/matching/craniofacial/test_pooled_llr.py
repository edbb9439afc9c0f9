"""A person's view evidence from their photos: the log of the mean likelihood ratio."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossid_desktop.matching.craniofacial.assess import pooled_llr


def test_the_log_of_the_mean_ratio_of_the_comparable_photos() -> None:
    assert math.isnan(pooled_llr([])) and math.isnan(pooled_llr([math.nan, math.nan]))
    assert pooled_llr([3.5]) == 3.5 and pooled_llr([3.5, math.nan]) == 3.5  # a photo not compared is left out
    assert pooled_llr([0.0, math.log(3.0)]) == pytest.approx(math.log(2.0))  # ratios 1 and 3: mean 2
    values = [4.0, -30.0, 1.0]
    pooled = pooled_llr(values)
    assert np.mean(values) < pooled < max(values)  # led by the photos that fit, not dragged down by the misfit
    assert pooled_llr(values * 3) == pytest.approx(pooled)  # more photos of the same fit gain nothing
    assert pooled_llr([800.0, 790.0]) == pytest.approx(800.0 + math.log((1.0 + math.exp(-10.0)) / 2.0))  # no overflow
    assert pooled_llr([-900.0, -905.0]) == pytest.approx(-900.0 + math.log((1.0 + math.exp(-5.0)) / 2.0))  # no underflow to -inf
