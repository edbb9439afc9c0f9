"""Fitting and testing score-to-likelihood-ratio calibrations: logistic regression and pool
adjacent violators (PAV), Cllr and Cllr_min, Tippett data, and the validation-subject rules.

The fitted :class:`~crossid_desktop.matching.calibration.Calibration` (what the runtime
applies, with the definitions of the methods and scores) lives in
:mod:`crossid_desktop.matching.calibration`. A calibration is fitted on genuine and impostor
scores (``-distance``) of **validation** subjects, never on the subjects a figure is reported
for; :func:`write_calibration` stores it in a model card without changing the model's
fingerprint (the card's calibration is not part of it), so gallery embeddings stay valid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossid_desktop.datasets.splits import subject_split
from crossid_desktop.errors import DatasetError, ModelError
from crossid_desktop.evaluation.verification import check_scores
from crossid_desktop.matching.calibration import METHODS, SCORE_NAMES, Calibration
from crossid_desktop.matching.checkpoint import fingerprint, read_checkpoint, save_state

__all__ = [
    "TippettData",
    "cllr",
    "cllr_min",
    "fit_calibration",
    "fit_on_distances",
    "model_validation_subjects",
    "pav",
    "test_calibration",
    "tippett_data",
    "validation_test_split",
    "write_calibration",
]

_LN10 = math.log(10.0)


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


def fit_on_distances(genuine: ArrayLike, impostor: ArrayLike, *, method: str = "logistic") -> Calibration:
    """A calibration of ``score = -distance`` fitted on genuine / impostor distances."""
    g, i = np.asarray(genuine, dtype=np.float64), np.asarray(impostor, dtype=np.float64)
    if g.size == 0 or i.size == 0:
        raise DatasetError("A calibration needs both same-person and different-person pairs among the validation subjects.")
    return fit_calibration(-g, -i, method=method, score_name="-distance")


def test_calibration(calibration: Calibration, genuine: ArrayLike, impostor: ArrayLike) -> tuple[dict[str, Any], tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Apply ``calibration`` to test distances: a summary (``test_cllr``, ``test_cllr_min``,
    the fit's own figures) and the test likelihood ratios ``(genuine, impostor)``."""
    lr_g = calibration.likelihood_ratio_from_distance(np.asarray(genuine, dtype=np.float64))
    lr_i = calibration.likelihood_ratio_from_distance(np.asarray(impostor, dtype=np.float64))
    summary = {
        "method": calibration.method,
        "score_name": calibration.score_name,
        "calibration": calibration.to_dict(),
        "validation_cllr": float(calibration.cllr),
        "validation_cllr_min": float(calibration.cllr_min),
        "test_cllr": cllr(lr_g, lr_i),
        "test_cllr_min": cllr_min(-np.asarray(genuine, dtype=np.float64), -np.asarray(impostor, dtype=np.float64)),
    }
    return summary, (lr_g, lr_i)


def validation_test_split(held_out: Sequence[str], *, seed: int = 0) -> tuple[list[str], list[str]]:
    """Halve held-out subjects into ``(validation, test)``, disjoint and sorted: how a model
    evaluated on its own cohort gets calibration subjects that are not test subjects."""
    if len(set(held_out)) < 4:
        raise DatasetError(f"Calibrating and testing on the held-out subjects needs at least 4 of them; there are {len(set(held_out))}.")
    return subject_split(held_out, test_fraction=0.5, seed=seed)


def model_validation_subjects(card: Mapping[str, Any], subject_ids: Sequence[str]) -> list[str]:
    """The validation subjects of a model among ``subject_ids``: the card's
    ``training.val_subjects`` (or ``validation_subjects``) when recorded, else the held-out
    side of the subject split with the card's ``val_fraction`` and ``seed`` (0.3 and 0)."""
    training = dict(card.get("training") or {})
    for key in ("val_subjects", "validation_subjects"):
        if isinstance(training.get(key), (list, tuple)) and training[key]:
            return sorted(set(map(str, training[key])) & set(subject_ids))
    config = training.get("config") if isinstance(training.get("config"), Mapping) else training
    val_fraction = float(config.get("val_fraction", 0.3))
    seed = int(config.get("seed", 0))
    return subject_split(list(subject_ids), test_fraction=val_fraction, seed=seed)[1]


def write_calibration(checkpoint_path: str | Path, calibration: Calibration) -> tuple[str, str]:
    """Store ``calibration`` in the card of the checkpoint at ``checkpoint_path`` (atomically,
    weights unchanged, in their stored precision); returns the fingerprint before and after."""
    import torch  # heavy: imported only when a card is rewritten

    path = Path(checkpoint_path)
    state, card = read_checkpoint(path)
    before = fingerprint(state, card)
    raw = torch.load(path, map_location="cpu", weights_only=True)
    half = any(t.dtype == torch.float16 for t in raw.values())
    card.calibration = calibration.to_dict()
    after = save_state(path, state, card, half=half)
    if after != before:  # save_state keeps the embedding space; anything else is a bug
        raise ModelError(f"Writing the calibration into {path} would change the model's fingerprint; nothing sensible was saved.")
    return before, after


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
