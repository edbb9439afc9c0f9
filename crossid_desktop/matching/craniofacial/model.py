"""The correspondence model of one view pair: from a skull's landmarks to its face's, with spread.

The skull's points are brought to the canonical frame (:mod:`.views`) by the similarity that
fits them best to the mean skull, so neither the X-ray's scale nor its pose matter; lengths in
that frame are millimetres of a skull of average size. Points the X-ray lacks are filled in by
their conditional mean given the others (a Gaussian model of skull shape), with the matching
uncertainty. A skull whose shape is implausible for the model (a misplaced point) is refused,
unless leaving out one of the detector's points (never one the examiner placed) makes the rest
plausible: that point is then set aside, filled in like a missing one, and named
(:attr:`Prediction.set_aside`; a warning on the search). The face's points are then predicted as

    y = a + P x + C (x - x_mean, covariates - covariate_mean)

``P x`` puts each skin point with a skull counterpart at that skull point, ``a`` adds the mean
soft-tissue offset (the depth vector; for points without a counterpart: their mean position),
and ``C`` is a ridge regression on the skull's shape (and, where known, sex and age) for what
the depths alone do not give: the nose, the lips, the eyes and brows, the jaw line. The spread
of the prediction is ``Sigma`` (the between-person residual covariance of the training faces,
registered to their predictions) plus the query's own landmark uncertainty carried through the
model (``J E J^T`` with ``J = P + C_x``). The deviations the X-ray landmark detector states
are first widened where it proved overconfident (:class:`DetectorScale`, measured on validation
people; a deviation is never narrowed).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.matching.craniofacial import chi2
from crossid_desktop.matching.craniofacial.geometry import Similarity, fit_similarity
from crossid_desktop.matching.craniofacial.points import Landmarks
from crossid_desktop.matching.craniofacial.views import ViewPair, view_pair

#: fewest skull points (fraction of the view's) a query needs to be assessed at all
MIN_SKULL_FRACTION = 0.5
#: a query whose prediction spread exceeds this multiple of the model's own is too uncertain
MAX_UNCERTAINTY_RATIO = 2.0
#: a skull shape this improbable (chi-square tail) is not a skull: misplaced points
MIN_SKULL_SHAPE_P = 1e-8
#: why a skull is refused; ``tried`` says that leaving out one detected point did not help
IMPLAUSIBLE = "the skull landmarks do not form a plausible skull (some points are probably misplaced{tried}); check and correct them"
#: detected points the prediction may set aside (filled in from the others) to make an implausible skull plausible
MAX_SET_ASIDE = 1
#: sex coded as the covariate "male" (1) / "female" (0)
SEX_CODES = {"M": 1.0, "F": 0.0}


@dataclass(frozen=True, eq=False)
class DetectorScale:
    """What the X-ray landmark detector ``detector`` (its card's name, the ``source`` of the
    landmarks it finds) states about its points against what it misses by: each skull point's
    stated deviation is multiplied by ``scales[name]`` (1 for a point not listed), the root mean
    square of its error over its stated deviation per axis, measured on validation people whose
    X-rays' true landmarks are known and floored at 1
    (:func:`~crossid_desktop.evaluation.detector_errors.detector_scales`).
    Points the examiner placed (deviation 0) and landmarks from any other source are left as they are."""

    detector: str
    scales: Mapping[str, float]
    source: str = ""

    def apply(self, skull: Landmarks, names: tuple[str, ...], sd: NDArray[np.float64]) -> NDArray[np.float64]:
        """``sd`` ``(k,)`` of ``skull``'s points ``names``, scaled when the detector found them."""
        if skull.source != self.detector:
            return sd
        return sd * np.array([self.scales.get(name, 1.0) for name in names])

    def to_dict(self) -> dict[str, Any]:
        return {"detector": self.detector, "scales": {k: float(v) for k, v in sorted(self.scales.items())}, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetectorScale:
        return cls(str(data["detector"]), {str(k): float(v) for k, v in data["scales"].items()}, str(data.get("source", "")))


@dataclass(frozen=True, eq=False)
class FaceError:
    """What the face landmark detectors miss by, measured on validation people whose photos' true
    landmarks are known: ``cov`` ``(2m, 2m)``, the covariance of the detected points' errors in the
    canonical frame (each photo's detected points first brought onto its true points by the best
    similarity, whose part the matcher's registration takes up; then both carried into the frame
    by the similarity registering the true points to the mean face), shrunk towards each point's
    own circular spread. A detector's errors are correlated (a jaw contour slides along itself as
    a whole, an eye's points move together) and larger along some directions than others; the
    per-point deviations of an :class:`~crossid_desktop.matching.craniofacial.measure.ErrorProfile`
    say neither. It stands in for the stated deviations of photos whose landmarks came from one of
    ``sources``, detector families (:func:`detector_family`: the landmark model, whichever face
    finder set its box); photos measured otherwise (an annotation, a simulated error, another
    detector, a photo with points the examiner placed) keep their own."""

    cov: NDArray[np.float64]
    sources: frozenset[str]
    source: str = ""

    def applies(self, photo: Landmarks) -> bool:
        return detector_family(photo.source) in self.sources and not photo.corrected


def detector_family(source: str) -> str:
    """A face landmark detector's name without the face finder in brackets
    (``"refined dlib shape predictor (dlib-hog-framed)"`` -> ``"refined dlib shape predictor"``)."""
    return source.split(" (", 1)[0].strip()


_PATTERNS: dict[int, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
_PATTERNS_LOCK = threading.Lock()


def _leading_patterns(cov: NDArray[np.float64]) -> NDArray[np.float64]:
    """The eigenvectors of ``cov``, largest eigenvalue first; decomposed once per array (the view
    models copied with another face error share theirs), for the last few arrays asked about."""
    with _PATTERNS_LOCK:
        known = _PATTERNS.get(id(cov))
    if known is not None and known[0] is cov:
        return known[1]
    vectors = np.ascontiguousarray(np.linalg.eigh(cov)[1][:, ::-1])
    with _PATTERNS_LOCK:
        if len(_PATTERNS) >= 16:
            _PATTERNS.pop(next(iter(_PATTERNS)))
        _PATTERNS[id(cov)] = (cov, vectors)
    return vectors


@dataclass(frozen=True, eq=False)
class ViewModel:
    """The fitted arrays of one view pair (shapes: k skull points, m face points, c = 2 covariates).

    ``skull_mean`` ``(k, 2)`` and ``skull_cov`` ``(2k, 2k)``: the skulls in the canonical frame.
    ``covariate_mean`` ``(2,)`` (male fraction, age / 10) and ``covariate_cov`` ``(2, 2)``.
    ``counterpart`` ``(m,)``: the skull row under each face point, -1 where none.
    ``offset`` ``(2m,)``, ``coef`` ``(2m, 2k + 2)``, ``residual_cov`` ``(2m, 2m)``: the
    prediction and its spread; ``impostor_cov`` ``(2m, 2m)``: the residual of another person's
    face registered to this prediction, for the different-person model.
    ``face_error`` (from the card and the arrays, none for models fitted before it was measured):
    the face landmark detectors' error covariance in the canonical frame, for photos whose points
    they found (:class:`FaceError`). ``free_modes`` (from the card's tolerance): how many of the
    leading patterns of ``residual_cov`` (:attr:`free_patterns`: how faces of one skull differ
    most; in the bundled model the brows' raise on a frontal photo, the lower lip and the soft
    tissue of the chin on a profile) the exclusion statistic lets free
    (:mod:`.consistency`).
    """

    pair: ViewPair
    skull_mean: NDArray[np.float64]
    skull_cov: NDArray[np.float64]
    covariate_mean: NDArray[np.float64]
    covariate_cov: NDArray[np.float64]
    counterpart: NDArray[np.int64]
    offset: NDArray[np.float64]
    coef: NDArray[np.float64]
    residual_cov: NDArray[np.float64]
    impostor_cov: NDArray[np.float64]
    detector_scale: DetectorScale | None = None  # from the model card (not one of the arrays)
    face_error: FaceError | None = None
    free_modes: int = 0  # from the model card's tolerance

    @property
    def free_patterns(self) -> NDArray[np.float64]:
        """``(2m, free_modes)``: the leading eigenvectors of ``residual_cov`` (largest first), the
        patterns in which the faces of one skull differ most."""
        return _leading_patterns(self.residual_cov)[:, : self.free_modes]

    @property
    def face_mean(self) -> NDArray[np.float64]:
        """``(m, 2)``: the face predicted for the mean skull with mean covariates."""
        return self._place(self.skull_mean.reshape(-1)).reshape(-1, 2) + self.offset.reshape(-1, 2)

    def _place(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """``P x``: ``(2m,)``, each face point at its skull counterpart (0 where none)."""
        out = np.zeros(2 * len(self.counterpart))
        has = self.counterpart >= 0
        rows = np.flatnonzero(has)
        out[2 * rows], out[2 * rows + 1] = x[2 * self.counterpart[has]], x[2 * self.counterpart[has] + 1]
        return out

    def jacobian(self) -> NDArray[np.float64]:
        """``(2m, 2k)``: how the predicted face moves with the skull's canonical coordinates."""
        k2 = 2 * len(self.pair.skull_names)
        j = self.coef[:, :k2].copy()
        for row, col in enumerate(self.counterpart):
            if col >= 0:
                j[2 * row, 2 * col] += 1.0
                j[2 * row + 1, 2 * col + 1] += 1.0
        return j


@dataclass(frozen=True, eq=False)
class Prediction:
    """Where one skull puts the face's points, in the canonical frame (mm of an average skull).

    ``mean`` ``(m, 2)`` and ``cov`` ``(2m, 2m)`` for the face points ``names``; ``skull``
    ``(k, 2)`` the skull's points in the canonical frame (filled in where the X-ray lacks them:
    ``imputed``, and ``set_aside``: detected points that made the skull implausible, filled in as
    if missing); ``skull_to_canonical`` maps X-ray pixels into the frame. ``mm_per_unit`` turns
    lengths of the frame into millimetres of this skull (None when the X-ray's pixel spacing is
    unknown: lengths are then given in X-ray pixels, ``px_per_unit``). ``problem`` says why the
    query cannot be assessed (None when it can).
    """

    pair: ViewPair
    names: tuple[str, ...]
    mean: NDArray[np.float64]
    cov: NDArray[np.float64]
    skull: NDArray[np.float64]
    imputed: tuple[str, ...]
    skull_to_canonical: Similarity
    px_per_unit: float
    mm_per_unit: float | None
    spacing_source: str | None
    uncertainty_ratio: float
    problem: str | None = None
    set_aside: tuple[str, ...] = ()

    @property
    def unit(self) -> str:
        """The unit residuals of this query are reported in: "mm" or "px" (X-ray pixels)."""
        return "mm" if self.mm_per_unit is not None else "px"

    def to_report_units(self, length: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """Canonical lengths in the report's unit (:attr:`unit`)."""
        factor = self.mm_per_unit if self.mm_per_unit is not None else self.px_per_unit
        return np.asarray(length, dtype=np.float64) * factor


def skull_points(model: ViewModel, skull: Landmarks) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The view's skull points of ``skull`` (``(k, 2)`` px, NaN missing; ``(k,)`` sd px, the
    detector's widened by :class:`DetectorScale`), facing right."""
    if skull.view != model.pair.skull_view:
        raise ValueError(f"A {model.pair.skull_view} model cannot read {skull.view} landmarks.")
    xy, sd = skull.subset(model.pair.skull_names)
    if model.detector_scale is not None:
        sd = model.detector_scale.apply(skull, model.pair.skull_names, sd)
    if skull.mirrored:
        xy = xy * np.array([-1.0, 1.0])
    return xy, sd


def align_skull(model: ViewModel, xy: NDArray[np.float64], sd: NDArray[np.float64]) -> Similarity:
    """The similarity taking the present skull points (px) onto the mean skull (canonical frame),
    each weighed by its precision (sd floored at a tenth of a pixel)."""
    weights = 1.0 / np.maximum(np.nan_to_num(sd, nan=1.0), 0.1) ** 2
    return fit_similarity(xy, model.skull_mean, weights)


def impute(model: ViewModel, x: NDArray[np.float64], noise: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Fill the NaN coordinates of ``x`` ``(2k,)`` by their conditional mean given the others.

    ``noise`` ``(2k,)`` is the variance of each present coordinate. Returns the completed
    ``x`` and the covariance ``(2k, 2k)`` of its error (noise where present; the conditional
    spread, with the noise carried through, where filled in).
    """
    mu, cov = model.skull_mean.reshape(-1), model.skull_cov
    present = ~np.isnan(x)
    error = np.diag(np.where(present, noise, 0.0))
    if present.all():
        return x.copy(), error
    p, q = np.flatnonzero(present), np.flatnonzero(~present)
    gain = np.linalg.solve(cov[np.ix_(p, p)] + np.diag(noise[p]), cov[np.ix_(p, q)]).T  # (q, p)
    filled = x.copy()
    filled[q] = mu[q] + gain @ (x[p] - mu[p])
    error[np.ix_(q, q)] = cov[np.ix_(q, q)] - gain @ cov[np.ix_(p, q)] + gain @ np.diag(noise[p]) @ gain.T
    error[np.ix_(q, p)] = gain @ np.diag(noise[p])
    error[np.ix_(p, q)] = error[np.ix_(q, p)].T
    return filled, error


def covariates(model: ViewModel, sex: str | None, age: float | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The covariate vector (male, age / 10) and its uncertainty: the population's where unknown."""
    value = model.covariate_mean.copy()
    var = np.diag(np.diag(model.covariate_cov)).copy()
    if sex is not None:
        if sex not in SEX_CODES:
            raise ValueError(f"Sex is 'F', 'M' or unknown (None), not {sex!r}.")
        value[0], var[0, 0] = SEX_CODES[sex], 0.0
    if age is not None:
        value[1], var[1, 1] = float(age) / 10.0, 0.0
    return value, var


def predict(model: ViewModel, skull: Landmarks, *, sex: str | None = None, age: float | None = None) -> Prediction:
    """The face ``skull`` predicts (see the module docstring); a query that cannot be assessed
    comes back with :attr:`Prediction.problem` set rather than raising."""
    pair = model.pair
    xy, sd = skull_points(model, skull)
    present = ~np.isnan(xy[:, 0])
    minimum = max(3, int(np.ceil(MIN_SKULL_FRACTION * len(pair.skull_names))))
    if skull.failure or present.sum() < minimum:
        reason = skull.failure or f"only {int(present.sum())} of the {len(pair.skull_names)} skull landmarks of the {pair.skull_view} X-ray were found"
        return _unassessable(model, reason)
    transform, filled, error = _placed(model, xy, sd)
    shape_problem = _implausible(model, filled, error)
    set_aside: tuple[str, ...] = ()
    if shape_problem is not None:
        movable = present & (np.nan_to_num(sd) > 0) & np.array([n not in skull.corrected for n in pair.skull_names])
        rescue = _set_aside(model, xy, sd, movable, int(present.sum()) - minimum)
        if rescue is not None:
            kept, (transform, filled, error) = rescue
            set_aside = tuple(n for n, was, now in zip(pair.skull_names, present, ~np.isnan(kept[:, 0])) if was and not now)
        elif movable.any() and present.sum() > minimum:
            shape_problem = IMPLAUSIBLE.format(tried=", and leaving out any one of the detected points does not make the rest plausible")
    unit = transform.scale  # canonical units per X-ray pixel
    z, z_var = covariates(model, sex, age)
    k2 = 2 * len(pair.skull_names)
    features = np.concatenate([filled - model.skull_mean.reshape(-1), z - model.covariate_mean])
    mean = model.offset + model._place(filled) + model.coef @ features
    jac = model.jacobian()
    cz = model.coef[:, k2:]
    cov = model.residual_cov + jac @ error @ jac.T + cz @ z_var @ cz.T
    ratio = float(np.sqrt(np.trace(cov) / np.trace(model.residual_cov)))
    spacing = skull.spacing_mm
    problem = shape_problem if not set_aside else None
    if set_aside and ratio > MAX_UNCERTAINTY_RATIO:  # the point left out leaves the rest too uncertain: the shape is the problem
        problem, set_aside = shape_problem, ()
    elif problem is None and ratio > MAX_UNCERTAINTY_RATIO:
        problem = (f"the skull landmarks are too uncertain: the predicted face is {ratio:.1f} times as uncertain as "
                   f"with well-placed landmarks (limit {MAX_UNCERTAINTY_RATIO:.1f})")
    imputed = tuple(name for name, ok in zip(pair.skull_names, present) if not ok)  # not found (the set-aside ones were)
    return Prediction(pair, pair.face_names, mean.reshape(-1, 2), cov, filled.reshape(-1, 2), imputed, transform, 1.0 / unit,
                      None if spacing is None else spacing / unit, skull.spacing_source, ratio, problem, set_aside)


def _placed(model: ViewModel, xy: NDArray[np.float64], sd: NDArray[np.float64]) -> tuple[Similarity, NDArray[np.float64], NDArray[np.float64]]:
    """The skull's points in the canonical frame: the similarity, and the points ``(2k,)``
    completed where missing with the covariance of their error (:func:`impute`)."""
    transform = align_skull(model, xy, sd)
    noise = np.repeat((transform.scale * np.nan_to_num(sd, nan=0.0)) ** 2, 2)
    filled, error = impute(model, transform.apply(xy).reshape(-1), noise)
    return transform, filled, error


def _set_aside(model: ViewModel, xy: NDArray[np.float64], sd: NDArray[np.float64], movable: NDArray[np.bool_],
               spare: int) -> tuple[NDArray[np.float64], tuple[Similarity, NDArray[np.float64], NDArray[np.float64]]] | None:
    """An implausible skull made plausible by leaving out at most :data:`MAX_SET_ASIDE` of the
    ``movable`` points (the detector's; never one the examiner placed), ``spare`` being how many
    points the query can lose: greedily, each time the point whose absence makes the rest the most
    probable skull. ``(points with those rows NaN, _placed of them)``, or None when that fails."""
    for _ in range(min(MAX_SET_ASIDE, spare)):
        best = None
        for i in np.flatnonzero(movable & ~np.isnan(xy[:, 0])):
            trial = xy.copy()
            trial[i] = np.nan
            placed = _placed(model, trial, sd)
            stat = _shape_log_p(model, *placed[1:])
            if best is None or stat > best[0]:
                best = (stat, trial, placed)
        if best is None:
            return None
        xy = best[1]
        if best[0] >= math.log(MIN_SKULL_SHAPE_P):
            return xy, best[2]
    return None


def _shape_log_p(model: ViewModel, x: NDArray[np.float64], error: NDArray[np.float64]) -> float:
    """The log chi-square tail of the skull shape ``x`` (completed, with its error covariance)."""
    d = x - model.skull_mean.reshape(-1)
    stat = float(d @ np.linalg.solve(model.skull_cov + error, d))
    return chi2.log_sf(stat, max(len(d) - 4, 1))


def _implausible(model: ViewModel, x: NDArray[np.float64], error: NDArray[np.float64]) -> str | None:
    """A sentence when the skull's shape lies far outside the skulls the model knows."""
    if _shape_log_p(model, x, error) < math.log(MIN_SKULL_SHAPE_P):
        return IMPLAUSIBLE.format(tried="")
    return None


def _unassessable(model: ViewModel, reason: str) -> Prediction:
    pair = model.pair
    m = len(pair.face_names)
    nan = np.full((m, 2), np.nan)
    return Prediction(pair, pair.face_names, nan, np.full((2 * m, 2 * m), np.nan), np.full((len(pair.skull_names), 2), np.nan), (),
                      Similarity(1.0, 0.0, 0.0, 0.0), float("nan"), None, None, float("nan"), reason)


__all__ = ["DetectorScale", "FaceError", "Prediction", "ViewModel", "detector_family", "predict", "view_pair"]
