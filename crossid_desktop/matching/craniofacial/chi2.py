"""The chi-square tail, without scipy.

A Mahalanobis misfit here has an even number of degrees of freedom (two coordinates per point,
four taken by a similarity), for which the tail has a closed form:
``P(X > x) = exp(-x / 2) * sum_{i < dof / 2} (x / 2)^i / i!``; the exclusion statistic, which
also lets free some patterns of the face, may have an odd number, for which
``P(X > x) = erfc(sqrt(x / 2)) + exp(-x / 2) * sum_{1 <= i <= (dof - 1) / 2} (x / 2)^(i - 1/2) / Gamma(i + 1/2)``.
"""

from __future__ import annotations

import functools
import math


def log_sf(x: float, dof: int) -> float:
    """Natural log of ``P(X > x)`` for ``X`` chi-square with ``dof`` >= 1 degrees of freedom."""
    if isinstance(dof, bool) or dof < 1 or int(dof) != dof:
        raise ValueError(f"dof must be a whole number of at least 1, not {dof}.")
    dof = int(dof)
    if x <= 0:
        return 0.0
    half = x / 2.0
    if dof % 2 == 0:
        terms = [i * math.log(half) - math.lgamma(i + 1) for i in range(dof // 2)]
        lead = 0.0
    else:
        terms = [(i - 0.5) * math.log(half) - math.lgamma(i + 0.5) for i in range(1, (dof + 1) // 2)]
        lead = math.erfc(math.sqrt(half))
    if not terms:  # one degree of freedom: the tail of a squared standard normal
        # far out erfc underflows: log erfc(z) = -z^2 - log(z sqrt(pi)) - z^-2 / 2 + ..., z^2 = half
        return math.log(lead) if lead > 1e-280 else -half - 0.5 * math.log(math.pi * half) - 0.5 / half
    top = max(terms)
    series = -half + top + math.log(sum(math.exp(t - top) for t in terms))
    return series + math.log1p(lead / math.exp(series)) if lead > 0 else series


def sf(x: float, dof: int) -> float:
    """``P(X > x)`` for ``X`` chi-square with ``dof`` degrees of freedom."""
    return math.exp(log_sf(x, dof))


@functools.lru_cache(maxsize=256)
def quantile(p: float, dof: int) -> float:
    """The ``x`` with ``P(X <= x) = p`` (bisection on :func:`log_sf`, relative precision 1e-10);
    remembered, since the exclusion rule asks for the same few levels for every photo it judges."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie strictly between 0 and 1, not {p}.")
    target = math.log1p(-p)
    low, high = 0.0, float(dof) + 10.0 * math.sqrt(2.0 * dof) + 50.0
    while log_sf(high, dof) > target:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if log_sf(mid, dof) > target:
            low = mid
        else:
            high = mid
        if high - low <= 1e-10 * high:
            break
    return (low + high) / 2.0
