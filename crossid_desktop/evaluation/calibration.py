"""Score-to-likelihood-ratio calibration, Cllr, Tippett data and the ENFSI verbal scale.

Evaluative reporting (ENFSI guideline 2015, ISO 21043-5) asks for a likelihood ratio

    LR = p(score | same person) / p(score | different persons)

rather than a raw similarity. A :class:`Calibration` is fitted on genuine (same person) and
impostor (different persons) scores of a validation split, with one of two methods:

* ``"logistic"`` (linear logistic regression, Platt scaling): ``ln LR(s) = a * s + b``.
  Fitted by Newton's method on the log-loss with labels 1 = genuine, plus a tiny L2 penalty
  ``l2 * a^2 / 2`` on the slope so that separable data still give a finite fit; a negative
  slope (a score that is no better than chance, or inverted) is replaced by 0, LR = 1. The
  regression gives posterior odds at the training proportions; dividing by the prior odds
  ``n_genuine / n_impostor`` turns them into a likelihood ratio.
* ``"pav"`` (pool adjacent violators, isotonic regression): the monotone posterior that
  best fits the labels, again divided by the prior odds. Between the fitted scores log10 LR
  is interpolated linearly (monotone); outside them it is held constant. The LR is clipped
  to ``[1 / n_genuine, n_impostor]``, the most extreme ratio a pool holding at least one
  genuine and one impostor score can give, so it is never 0 or infinite.

**Scores.** Higher = more similar. Calibrations are fitted on ``score = -distance`` (the
negated Euclidean distance between embeddings, ``score_name="-distance"``, the default)
because ``ln LR`` linear in the distance extrapolates sensibly, whereas the confidence
``exp(-d^2)`` flattens to 0 for every distant pair; ``score_name="confidence"`` is offered
too. Both are monotone in the distance, so either preserves the ranking.

**Cllr** (Brummer and du Preez 2006): ``0.5 * [mean_g log2(1 + 1/LR) + mean_i log2(1 + LR)]``,
0 for perfect and 1 for uninformative (LR = 1) evidence; **Cllr_min** is the Cllr after the
PAV calibration of the scores themselves (the best any monotone calibration can do on those
data); ``Cllr - Cllr_min`` is the loss due to miscalibration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossid_desktop.evaluation.verification import check_scores
from crossid_desktop.errors import ModelError

__all__ = [
    "METHODS",
    "SCORE_NAMES",
    "Calibration",
    "TippettData",
    "cllr",
    "cllr_min",
    "fit_calibration",
    "pav",
    "score_from_distance",
    "tippett_data",
    "verbal_scale",
]

METHODS = ("logistic", "pav")
SCORE_NAMES = ("-distance", "confidence")
_LN10 = math.log(10.0)


def score_from_distance(distances: ArrayLike, score_name: str = "-distance") -> NDArray[np.float64]:
    """The calibration score of Euclidean distances: ``-d`` or the confidence ``exp(-d^2)``."""
    d = np.asarray(distances, dtype=np.float64)
    if score_name == "-distance":
        return -d
    if score_name == "confidence":
        return np.exp(-(d**2))
    raise ValueError(f"score_name must be one of {SCORE_NAMES}, not {score_name!r}.")


@dataclass(frozen=True)
class Calibration:
    """A fitted score-to-LR calibration, JSON-able for the model card.

    ``parameters``: for ``"logistic"`` ``{"slope": a, "intercept": b}`` with
    ``ln LR = a * score + b`` (prior odds already removed); for ``"pav"``
    ``{"scores": [...], "log10_lr": [...]}``, increasing scores and the non-decreasing
    clipped log10 LR at each. ``cllr``/``cllr_min`` are measured on the fitting data.
    """

    method: str
    score_name: str
    parameters: Mapping[str, Any] = field(repr=False)
    cllr: float
    cllr_min: float
    n_genuine: int
    n_impostor: int

    def log10_lr(self, scores: ArrayLike) -> NDArray[np.float64]:
        """log10 of the likelihood ratio of each score (same shape as ``scores``)."""
        s = np.asarray(scores, dtype=np.float64)
        if self.method == "logistic":
            return (float(self.parameters["slope"]) * s + float(self.parameters["intercept"])) / _LN10
        knots = np.asarray(self.parameters["scores"], dtype=np.float64)
        values = np.asarray(self.parameters["log10_lr"], dtype=np.float64)
        return np.interp(s, knots, values)

    def likelihood_ratio(self, scores: ArrayLike) -> NDArray[np.float64]:
        """The likelihood ratio of each score (same shape): > 1 supports "same person"."""
        return np.power(10.0, self.log10_lr(scores))

    def likelihood_ratio_from_distance(self, distances: ArrayLike) -> NDArray[np.float64]:
        """The likelihood ratio of Euclidean embedding distances, via :attr:`score_name`."""
        return self.likelihood_ratio(score_from_distance(distances, self.score_name))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (for the model card)."""
        return {
            "method": self.method,
            "score_name": self.score_name,
            "parameters": {k: (list(map(float, v)) if isinstance(v, (list, tuple)) else float(v)) for k, v in self.parameters.items()},
            "cllr": float(self.cllr),
            "cllr_min": float(self.cllr_min),
            "n_genuine": int(self.n_genuine),
            "n_impostor": int(self.n_impostor),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`; a malformed dictionary raises :class:`ModelError`."""
        try:
            method, score_name = str(data["method"]), str(data["score_name"])
            raw = dict(data["parameters"])
            if method == "logistic":
                parameters: dict[str, Any] = {"slope": float(raw["slope"]), "intercept": float(raw["intercept"])}
            elif method == "pav":
                parameters = {"scores": tuple(map(float, raw["scores"])), "log10_lr": tuple(map(float, raw["log10_lr"]))}
                if len(parameters["scores"]) != len(parameters["log10_lr"]) or not parameters["scores"]:
                    raise ValueError("scores and log10_lr differ in length")
            else:
                raise ValueError(f"unknown method {method!r}")
            if score_name not in SCORE_NAMES:
                raise ValueError(f"unknown score name {score_name!r}")
            return cls(
                method=method,
                score_name=score_name,
                parameters=parameters,
                cllr=float(data["cllr"]),
                cllr_min=float(data["cllr_min"]),
                n_genuine=int(data["n_genuine"]),
                n_impostor=int(data["n_impostor"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"The calibration in the model card is malformed ({error}).") from error


def fit_calibration(
    genuine_scores: ArrayLike,
    impostor_scores: ArrayLike,
    *,
    method: str = "logistic",
    score_name: str = "-distance",
    l2: float = 1e-4,
) -> Calibration:
    """Fit a score-to-LR calibration on validation scores (higher = more similar).

    ``genuine_scores`` ``(n_g,)`` from same-person pairs, ``impostor_scores`` ``(n_i,)`` from
    different-person pairs, both in the units named by ``score_name`` (see
    :func:`score_from_distance`). ``l2`` is the logistic slope penalty (objective: summed
    log-loss + ``l2 * a^2 / 2``, i.e. scikit-learn's ``C = 1 / l2``).
    """
    genuine = check_scores(genuine_scores, "genuine_scores")
    impostor = check_scores(impostor_scores, "impostor_scores")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}.")
    if score_name not in SCORE_NAMES:
        raise ValueError(f"score_name must be one of {SCORE_NAMES}, not {score_name!r}.")
    log_prior_odds = math.log(genuine.size / impostor.size)
    if method == "logistic":
        slope, intercept = _fit_logistic(genuine, impostor, l2)
        if slope < 0:  # scores that fall with similarity carry no usable evidence: LR = 1
            slope, intercept = 0.0, log_prior_odds
        parameters: dict[str, Any] = {"slope": slope, "intercept": intercept - log_prior_odds}
    else:
        scores = np.concatenate([genuine, impostor])
        targets = np.concatenate([np.ones(genuine.size), np.zeros(impostor.size)])
        knots, posterior = pav(scores, targets)
        ln_lr = _ln_odds(posterior) - log_prior_odds
        ln_lr = np.clip(ln_lr, -math.log(genuine.size), math.log(impostor.size))
        # interior points of a constant run change nothing under linear interpolation
        keep = np.ones(ln_lr.size, dtype=bool)
        keep[1:-1] = (ln_lr[1:-1] != ln_lr[:-2]) | (ln_lr[1:-1] != ln_lr[2:])
        knots, ln_lr = knots[keep], ln_lr[keep]
        parameters = {"scores": tuple(map(float, knots)), "log10_lr": tuple(map(float, ln_lr / _LN10))}
    provisional = Calibration(method, score_name, parameters, math.nan, math.nan, genuine.size, impostor.size)
    return Calibration(
        method=method,
        score_name=score_name,
        parameters=parameters,
        cllr=cllr(provisional.likelihood_ratio(genuine), provisional.likelihood_ratio(impostor)),
        cllr_min=cllr_min(genuine, impostor),
        n_genuine=int(genuine.size),
        n_impostor=int(impostor.size),
    )


def pav(
    scores: ArrayLike, targets: ArrayLike, weights: ArrayLike | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pool adjacent violators: the non-decreasing least-squares fit of ``targets`` on ``scores``.

    Tied scores are pooled first (weighted mean of their targets), as scikit-learn's
    ``IsotonicRegression`` does. Returns ``(unique_scores, fitted)``, both ``(U,)``, scores
    increasing and fitted non-decreasing. For 0/1 targets the fit is a posterior probability.
    """
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or y.shape != x.shape or w.shape != x.shape:
        raise ValueError("scores, targets and weights must be non-empty 1-D arrays of one length.")
    unique, inverse = np.unique(x, return_inverse=True)
    block_weight = np.bincount(inverse, weights=w)
    block_mean = np.bincount(inverse, weights=w * y) / block_weight
    # stack of pools: (mean, weight, number of unique scores)
    means: list[float] = []
    sizes: list[float] = []
    counts: list[int] = []
    for mean, size in zip(block_mean.tolist(), block_weight.tolist()):
        means.append(mean)
        sizes.append(size)
        counts.append(1)
        while len(means) > 1 and means[-2] >= means[-1]:
            size = sizes[-2] + sizes[-1]
            means[-2] = (means[-2] * sizes[-2] + means[-1] * sizes[-1]) / size
            sizes[-2] = size
            counts[-2] += counts[-1]
            del means[-1], sizes[-1], counts[-1]
    return unique, np.repeat(np.asarray(means), counts)


def cllr(lrs_genuine: ArrayLike, lrs_impostor: ArrayLike) -> float:
    """Log-likelihood-ratio cost ``0.5 * [mean_g log2(1 + 1/LR) + mean_i log2(1 + LR)]`` (bits).

    LRs may be 0 or infinite (a genuine LR of 0 or an impostor LR of inf costs infinity).
    """
    ln_g = _ln_lr(lrs_genuine, "lrs_genuine")
    ln_i = _ln_lr(lrs_impostor, "lrs_impostor")
    return _cllr_ln(ln_g, ln_i)


def cllr_min(genuine_scores: ArrayLike, impostor_scores: ArrayLike) -> float:
    """Cllr of the PAV calibration of the scores (unclipped): the discrimination loss alone."""
    genuine = check_scores(genuine_scores, "genuine_scores")
    impostor = check_scores(impostor_scores, "impostor_scores")
    scores = np.concatenate([genuine, impostor])
    knots, posterior = pav(scores, np.concatenate([np.ones(genuine.size), np.zeros(impostor.size)]))
    ln_lr = _ln_odds(posterior)[np.searchsorted(knots, scores)] - math.log(genuine.size / impostor.size)
    return _cllr_ln(ln_lr[: genuine.size], ln_lr[genuine.size :])


@dataclass(frozen=True)
class TippettData:
    """Tippett curves: at each ``log10_lr`` threshold x ``(T,)`` (increasing), the fraction
    of genuine and of impostor comparisons whose log10 LR is **greater than** x."""

    log10_lr: NDArray[np.float64]
    genuine_above: NDArray[np.float64]
    impostor_above: NDArray[np.float64]
    #: fraction of genuine comparisons with LR < 1 (misleading evidence for "different")
    misleading_genuine: float
    #: fraction of impostor comparisons with LR > 1 (misleading evidence for "same")
    misleading_impostor: float


def tippett_data(lrs_genuine: ArrayLike, lrs_impostor: ArrayLike) -> TippettData:
    """The data of a Tippett plot. The thresholds are every distinct finite log10 LR plus
    one point half a decade beyond each end (where the curves reach 1 and 0)."""
    log_g = _ln_lr(lrs_genuine, "lrs_genuine") / _LN10
    log_i = _ln_lr(lrs_impostor, "lrs_impostor") / _LN10
    both = np.concatenate([log_g, log_i])
    finite = both[np.isfinite(both)]
    if finite.size == 0:
        finite = np.zeros(1)
    x = np.concatenate([[finite.min() - 0.5], np.unique(finite), [finite.max() + 0.5]])
    sorted_g, sorted_i = np.sort(log_g), np.sort(log_i)
    return TippettData(
        log10_lr=x,
        genuine_above=(log_g.size - np.searchsorted(sorted_g, x, side="right")) / log_g.size,
        impostor_above=(log_i.size - np.searchsorted(sorted_i, x, side="right")) / log_i.size,
        misleading_genuine=float((log_g < 0).mean()),
        misleading_impostor=float((log_i > 0).mean()),
    )


_VERBAL_BANDS = (  # (lower bound of 1/LR or LR, wording); each band is [lower, next lower)
    (1e6, "extremely strong support"),
    (1e4, "very strong support"),
    (1e3, "strong support"),
    (1e2, "moderately strong support"),
    (1e1, "moderate support"),
)


def verbal_scale(lr: float) -> str:
    """The ENFSI verbal equivalent of a likelihood ratio.

    Source: ENFSI Guideline for Evaluative Reporting in Forensic Science (2015), verbal
    scale table. LR = 1: "no support for either proposition"; 1 < LR < 10 weak,
    [10, 100) moderate, [100, 1000) moderately strong, [1000, 10^4) strong, [10^4, 10^6)
    very strong, >= 10^6 extremely strong support for "same person". An LR below 1 is read
    through 1/LR on the same bands, as support for "different persons".
    """
    value = float(lr)
    if math.isnan(value) or value < 0:
        raise ValueError(f"A likelihood ratio must be >= 0; got {lr}.")
    if value == 1.0:
        return "no support for either proposition"
    proposition = "same person" if value > 1.0 else "different persons"
    strength = value if value > 1.0 else (math.inf if value == 0.0 else 1.0 / value)
    for lower, wording in _VERBAL_BANDS:
        if strength >= lower:
            return f"{wording} for '{proposition}'"
    return f"weak support for '{proposition}'"


# ---------------------------------------------------------------------------- internals


def _fit_logistic(genuine: NDArray[np.float64], impostor: NDArray[np.float64], l2: float) -> tuple[float, float]:
    """Newton's method for ``min sum log-loss + l2 * a^2 / 2`` with ``logit p = a * s + b``.

    Scores are standardised internally (the penalty rescaled to match) for conditioning.
    """
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0; got {l2}.")
    s = np.concatenate([genuine, impostor])
    y = np.concatenate([np.ones(genuine.size), np.zeros(impostor.size)])
    centre, spread = float(s.mean()), float(s.std()) or 1.0
    X = np.column_stack([(s - centre) / spread, np.ones_like(s)])
    penalty = np.array([l2 / spread**2, 0.0])

    def objective(theta: NDArray[np.float64]) -> float:
        z = X @ theta
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * penalty[0] * theta[0] ** 2)

    theta = np.zeros(2)
    theta[1] = math.log(genuine.size / impostor.size)
    value = objective(theta)
    for _ in range(200):
        p = 0.5 * (1.0 + np.tanh(0.5 * (X @ theta)))  # a stable sigmoid
        gradient = X.T @ (p - y) + penalty * theta
        hessian = (X * (p * (1 - p))[:, None]).T @ X + np.diag(penalty) + 1e-12 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        t = 1.0  # backtracking (Armijo) line search
        while t > 1e-10 and objective(theta - t * step) > value - 1e-4 * t * float(gradient @ step):
            t *= 0.5
        if t <= 1e-10:
            break  # no further decrease possible: converged to rounding
        theta = theta - t * step
        new_value = objective(theta)
        converged = value - new_value <= 1e-13 * max(1.0, abs(value))
        value = new_value
        if converged:
            break
    slope = theta[0] / spread
    return float(slope), float(theta[1] - slope * centre)


def _ln_odds(p: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


def _ln_lr(lrs: ArrayLike, name: str) -> NDArray[np.float64]:
    values = np.asarray(lrs, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {values.shape}.")
    if np.isnan(values).any() or (values < 0).any():
        raise ValueError(f"{name} must hold likelihood ratios >= 0 (no NaN).")
    with np.errstate(divide="ignore"):
        return np.log(values)


def _cllr_ln(ln_genuine: NDArray[np.float64], ln_impostor: NDArray[np.float64]) -> float:
    genuine_cost = np.logaddexp(0.0, -ln_genuine).mean() / math.log(2.0)
    impostor_cost = np.logaddexp(0.0, ln_impostor).mean() / math.log(2.0)
    return float(0.5 * (genuine_cost + impostor_cost))

