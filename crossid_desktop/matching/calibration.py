"""A fitted score-to-likelihood-ratio calibration as the runtime applies it, and the ENFSI verbal scale.

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
data); ``Cllr - Cllr_min`` is the loss due to miscalibration. Fitting, Cllr and Tippett data
live in :mod:`crossid_desktop.evaluation.calibration`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossid_desktop.errors import ModelError

__all__ = ["METHODS", "SCORE_NAMES", "Calibration", "score_from_distance", "verbal_scale"]

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
