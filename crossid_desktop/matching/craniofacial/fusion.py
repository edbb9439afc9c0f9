"""Fusing the craniofacial evidence and the Siamese network's distance into one likelihood ratio.

For a query (a frontal X-ray, a lateral one, or both of one skull) and a gallery person, the
evidence is up to four numbers (:data:`FEATURES`): the craniofacial log likelihood ratio of the
person's frontal photos against the frontal X-ray and of their profile photos against the
lateral X-ray (each pooled over the person's comparable photos of the view, :func:`.assess.pooled_llr`),
and the Siamese network's smallest distance from each X-ray to any of the person's photos, negated. Which of them exist depends on the query and on what
could be assessed; for each such *pattern* a logistic regression fitted on validation people
(never on the people a figure is reported for) turns them into posterior log-odds, and the
training prior odds are taken off to leave the natural-log likelihood ratio:

    ln LR = w . features + b - ln(n_genuine / n_impostor)

The result is clipped to ``[-ln(n_genuine), ln(n_impostor)]``, the most extreme ratios
validation data of that size can support (the convention of the PAV calibration,
:mod:`crossid_desktop.matching.calibration`); the features themselves are not clipped (the
range seen in validation, ``low``/``high``, is kept in the card for the record): clipping each
feature made evidence beyond that range tie with the weakest such evidence, and the other
feature then decided the order. Rankings order by the ratio and, where the clip makes ratios
equal, by the unclipped combination (:meth:`Fusion.score`), which is the same order as the
combination itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import ModelError

FEATURES = ("cf_front", "cf_side", "siamese_front", "siamese_side")


def pattern_of(features: Mapping[str, float]) -> str:
    """The key of the features present (finite), in :data:`FEATURES` order, e.g. ``"cf_front+siamese_front"``."""
    return "+".join(name for name in FEATURES if name in features and math.isfinite(features[name]))


@dataclass(frozen=True)
class FusionRule:
    """One pattern's logistic regression: ``weights`` per feature, ``intercept`` (prior odds
    removed), the feature range seen in validation (for the record), and the clip on ln LR
    (``[-ln n_genuine, ln n_impostor]``)."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    intercept: float
    low: tuple[float, ...]
    high: tuple[float, ...]
    n_genuine: int
    n_impostor: int
    calibrated: bool = True  # False: a plain sum of the features, no fitted weights and no clip

    def ln_lr(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Natural-log LR of ``values`` ``(n, len(features))``."""
        if not self.calibrated:
            return np.asarray(values, dtype=np.float64) @ np.asarray(self.weights)
        return np.clip(self.score(values), -math.log(self.n_genuine), math.log(self.n_impostor))

    def score(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """The same combination without any clipping: it orders pairs whose ln LR the clips make
        equal (evidence stronger than any validation pair's), never reported as a ratio."""
        return np.asarray(values, dtype=np.float64) @ np.asarray(self.weights) + (self.intercept if self.calibrated else 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "weights": list(self.weights), "intercept": self.intercept, "low": list(self.low),
                "high": list(self.high), "n_genuine": self.n_genuine, "n_impostor": self.n_impostor, "calibrated": self.calibrated}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FusionRule:
        return cls(tuple(data["features"]), tuple(map(float, data["weights"])), float(data["intercept"]), tuple(map(float, data["low"])),
                   tuple(map(float, data["high"])), int(data["n_genuine"]), int(data["n_impostor"]), bool(data.get("calibrated", True)))


@dataclass(frozen=True)
class Fusion:
    """The fitted rules by pattern (:func:`pattern_of`)."""

    rules: Mapping[str, FusionRule]

    @property
    def calibrated(self) -> bool:
        return all(rule.calibrated for rule in self.rules.values())

    @staticmethod
    def uncalibrated() -> Fusion:
        """Without fitted rules: the craniofacial ratios themselves, summed over the views."""
        rules = {}
        for features in (("cf_front",), ("cf_side",), ("cf_front", "cf_side")):
            n = len(features)
            rules["+".join(features)] = FusionRule(features, (1.0,) * n, 0.0, (-math.inf,) * n, (math.inf,) * n, 0, 0, calibrated=False)
        return Fusion(rules)

    def ln_lr(self, features: Mapping[str, float]) -> float:
        """The fused natural-log LR of one query-person pair; ModelError for a pattern never fitted."""
        key = pattern_of(features)
        if key not in self.rules:
            raise ModelError(f"The fusion has no rule for the evidence {key or 'none'}; refit it with that pattern.")
        rule = self.rules[key]
        return float(rule.ln_lr(np.array([[features[name] for name in rule.features]]))[0])

    def score(self, features: Mapping[str, float]) -> float:
        """The unclipped combination of :meth:`ln_lr` (:meth:`FusionRule.score`): the tie-break of rankings."""
        key = pattern_of(features)
        if key not in self.rules:
            raise ModelError(f"The fusion has no rule for the evidence {key or 'none'}; refit it with that pattern.")
        rule = self.rules[key]
        return float(rule.score(np.array([[features[name] for name in rule.features]]))[0])

    def to_dict(self) -> dict[str, Any]:
        return {key: rule.to_dict() for key, rule in self.rules.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fusion:
        try:
            return cls({str(key): FusionRule.from_dict(value) for key, value in data.items()})
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"The fusion rules of the model card are malformed ({error}).") from error


def fit_logistic(x: NDArray[np.float64], y: NDArray[np.float64], *, l2: float = 1e-3, iterations: int = 50) -> tuple[NDArray[np.float64], float]:
    """Logistic regression by Newton's method on the summed log-loss plus ``l2 * |w|^2 / 2``
    (the intercept unpenalised): weights ``(d,)`` and intercept."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        eta = np.clip(design @ beta, -35.0, 35.0)
        p = 1.0 / (1.0 + np.exp(-eta))
        gradient = design.T @ (p - y) + penalty * beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta[:-1], float(beta[-1])


def fit_rule(features: Sequence[str], genuine: NDArray[np.float64], impostor: NDArray[np.float64], *, l2: float = 1e-3) -> FusionRule:
    """One pattern's rule from validation rows ``(n, len(features))`` of genuine and impostor pairs."""
    genuine, impostor = np.asarray(genuine, dtype=np.float64), np.asarray(impostor, dtype=np.float64)
    if len(genuine) < 2 or len(impostor) < 2:
        raise ValueError(f"A fusion rule needs genuine and impostor pairs; got {len(genuine)} and {len(impostor)}.")
    x = np.vstack([genuine, impostor])
    low, high = x.min(axis=0), x.max(axis=0)
    scale = np.maximum(x.std(axis=0), 1e-9)
    y = np.concatenate([np.ones(len(genuine)), np.zeros(len(impostor))])
    w, b = fit_logistic(x / scale, y, l2=l2)
    weights = w / scale
    intercept = b - math.log(len(genuine) / len(impostor))
    return FusionRule(tuple(features), tuple(map(float, weights)), float(intercept), tuple(map(float, low)), tuple(map(float, high)),
                      len(genuine), len(impostor))
