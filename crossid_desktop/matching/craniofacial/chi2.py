"""The chi-square tail for even degrees of freedom, without scipy.

Every Mahalanobis misfit here has an even number of degrees of freedom (two coordinates per
point, four taken by a similarity), for which the tail has a closed form:
``P(X > x) = exp(-x / 2) * sum_{i < dof / 2} (x / 2)^i / i!``.
"""

from __future__ import annotations

import functools
import math


def log_sf(x: float, dof: int) -> float:
    """Natural log of ``P(X > x)`` for ``X`` chi-square with an even ``dof`` >= 2."""
    if dof < 2 or dof % 2:
        raise ValueError(f"dof must be even and at least 2, not {dof}.")
    if x <= 0:
        return 0.0
    half = x / 2.0
    terms = [i * math.log(half) - math.lgamma(i + 1) for i in range(dof // 2)]
    top = max(terms)
    return -half + top + math.log(sum(math.exp(t - top) for t in terms))


def sf(x: float, dof: int) -> float:
    """``P(X > x)`` for ``X`` chi-square with an even ``dof``."""
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
