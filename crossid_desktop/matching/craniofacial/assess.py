"""One skull against one photo: the best registration, the misfit, and the residual of every landmark.

The photo's points are brought into the skull's canonical frame by the similarity that
minimises their Mahalanobis misfit ``r^T C^-1 r`` against the prediction, where ``C`` is the
prediction's spread plus the photo's own measurement error: for a photo whose landmarks the face
detectors found, their error covariance measured on validation people in the canonical frame
(:class:`~crossid_desktop.matching.craniofacial.model.FaceError`, where the model card has one);
otherwise its stated deviations, scaled by the registration. Under "same person" the misfit ``D^2`` follows a chi-square law with
``2 n - 4`` degrees of freedom (n points, four taken by the registration); each landmark's own
misfit ``d_j^2 = r_j^T C_jj^-1 r_j`` follows a chi-square law with 2.

The score is a log likelihood ratio of the two Gaussian models: the face as predicted from
this skull (``C``) against the face of some other person registered to the same prediction
(the model's different-person covariance plus the same measurement error).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.matching.craniofacial.geometry import Similarity, design, fit_similarity
from crossid_desktop.matching.craniofacial.model import Prediction, ViewModel
from crossid_desktop.matching.craniofacial.points import Landmarks

#: fewest face points (fraction of the view's) a photo needs to be compared
MIN_FACE_FRACTION = 0.6
#: a free pattern of variation is let free only when at least this share of its weight (it has unit norm) lies on the photo's points
MIN_PATTERN_WEIGHT = 0.5


@dataclass(frozen=True, eq=False)
class Fit:
    """A photo registered to a skull's prediction.

    ``names`` the face points used (present in the photo); ``registration`` maps photo pixels
    into the canonical frame; ``residuals`` ``(n, 2)`` canonical units (photo minus prediction);
    ``point_misfit`` ``(n,)`` each point's ``d_j^2``; ``point_cov`` ``(n, 2, 2)`` each point's
    covariance; ``misfit`` ``D^2`` with ``dof`` degrees of freedom; ``llr`` the natural-log
    likelihood ratio same/different person of the Gaussian models. ``problem`` says why the pair
    cannot be compared (then the numbers are NaN). ``exclusion_misfit`` ``(n,)``: each point's
    ``d_j^2`` when the registration also lets the model's leading patterns of variation free
    (:attr:`~crossid_desktop.matching.craniofacial.model.ViewModel.free_patterns`; None when the
    model lets none free: then the exclusion weighs ``point_misfit``), with ``exclusion_dof``
    degrees of freedom (``dof`` less the patterns).
    """

    names: tuple[str, ...]
    registration: Similarity
    residuals: NDArray[np.float64]
    point_misfit: NDArray[np.float64]
    point_cov: NDArray[np.float64]
    misfit: float
    dof: int
    llr: float
    problem: str | None = None
    exclusion_misfit: NDArray[np.float64] | None = None
    exclusion_dof: int | None = None

    @property
    def assessable(self) -> bool:
        return self.problem is None

    @property
    def decision_misfit(self) -> tuple[NDArray[np.float64], int]:
        """The points' misfits and degrees of freedom the exclusion weighs."""
        if self.exclusion_misfit is None:
            return self.point_misfit, self.dof
        return self.exclusion_misfit, int(self.exclusion_dof if self.exclusion_dof is not None else self.dof)


def not_comparable(reason: str) -> Fit:
    """A pair that cannot be compared, with the reason in words."""
    empty = np.zeros((0, 2))
    return Fit((), Similarity(1.0, 0.0, 0.0, 0.0), empty, np.zeros(0), np.zeros((0, 2, 2)), math.nan, 0, math.nan, reason)


def photo_points(model: ViewModel, photo: Landmarks) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The view's face points of ``photo``: ``(m, 2)`` px facing right (NaN missing), ``(m,)`` sd px."""
    xy, sd = photo.subset(model.pair.face_names)
    if photo.mirrored:
        xy = xy * np.array([-1.0, 1.0])
    return xy, sd


def photo_problem(model: ViewModel, photo: Landmarks, xy: NDArray[np.float64] | None = None) -> str | None:
    """Why a photo cannot be compared with this view's skulls (None when it can); ``xy`` its
    points (:func:`photo_points`) when already read."""
    if photo.view != model.pair.face_view:
        kind = "frontal" if model.pair.name == "front" else "profile"
        return f"the photo is not a {kind} view ({photo.view}); a {model.pair.skull_view} X-ray is compared with {kind} photos only"
    if photo.failure:
        return f"the photo's face landmarks could not be measured: {photo.failure}"
    if xy is None:
        xy, _ = photo_points(model, photo)
    found = int((~np.isnan(xy[:, 0])).sum())
    need = math.ceil(MIN_FACE_FRACTION * len(model.pair.face_names))
    if found < need:
        return f"only {found} of the {len(model.pair.face_names)} face landmarks were found on the photo (at least {need} are needed)"
    return None


#: photos compared in one batch share the profile of deviations (each point's sd over the
#: largest) of the first of them when no point's differs by more than this (as a log ratio):
#: the photos of one detector, whose profiles differ only by rounding noise, then share one
#: decomposition instead of one each (an eigen-decomposition per photo made a search of a
#: gallery of detected photos take minutes); 2 % changes no misfit noticeably
PROFILE_SHARING = 0.02


def deviation_profile(sd: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each point's deviation relative to the largest, floored at 1e-3 (all ones when no point
    has a deviation)."""
    largest = float(sd.max()) if sd.size else 0.0
    return np.maximum(sd / largest, 1e-3) if largest > 0 else np.ones(len(sd))


class _Gaussian:
    """A covariance over some face coordinates, made ready for adding a measurement error
    ``e^2 diag(profile^2)`` (a photo's deviations, proportional to a fixed profile) and solving
    in O(m^2) per photo instead of O(m^3): with ``P = diag(profile)``,
    ``cov + e^2 P^2 = P (P^-1 cov P^-1 + e^2 I) P``, and ``P^-1 cov P^-1`` is decomposed once."""

    def __init__(self, cov: NDArray[np.float64], profile: NDArray[np.float64]) -> None:
        self.cov, self.profile = cov, profile
        self.values, self.vectors = np.linalg.eigh(cov / np.outer(profile, profile))
        self.log_profile = 2.0 * float(np.log(profile).sum())

    def fit(self, points: NDArray[np.float64], target: NDArray[np.float64], error_var: float) -> tuple[Similarity, float, float]:
        """GLS registration of ``points`` to ``target`` under ``cov + error_var P^2``: the
        similarity, the misfit and the log-determinant."""
        m = design(points) / self.profile[:, None]
        a, b = self.vectors.T @ m, self.vectors.T @ (target.reshape(-1) / self.profile)
        w = 1.0 / (self.values + error_var)
        theta = np.linalg.solve(a.T @ (a * w[:, None]), a.T @ (w * b))
        r = a @ theta - b
        return Similarity(*map(float, theta)), float((w * r * r).sum()), float(np.log(self.values + error_var).sum()) + self.log_profile

    def fit_many(self, points: NDArray[np.float64], target: NDArray[np.float64], error_var: NDArray[np.float64],
                 free: NDArray[np.float64] | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """:meth:`fit` for ``points`` ``(P, n, 2)`` and one error variance each ``(P,)``: the
        parameters ``(P, 4)``, misfits ``(P,)`` and log-determinants ``(P,)``. ``free`` ``(2n, k)``:
        patterns the target may also move along, fitted with the similarity (their amounts follow
        the four similarity parameters: ``(P, 4 + k)``; the target moved is ``target + free @ amounts``)."""
        designs = np.stack([design(p) for p in points])  # (P, 2n, 4)
        if free is not None and free.shape[1]:
            designs = np.concatenate([designs, np.broadcast_to(-free, (len(points), *free.shape))], axis=2)
        designs = designs / self.profile[None, :, None]
        a = np.matmul(self.vectors.T[None], designs)
        b = self.vectors.T @ (target.reshape(-1) / self.profile)
        w = 1.0 / (self.values[None, :] + error_var[:, None])  # (P, 2n)
        normal = np.einsum("pik,pi,pil->pkl", a, w, a)
        rhs = np.einsum("pik,pi,i->pk", a, w, b)
        theta = np.linalg.solve(normal, rhs[..., None])[..., 0]
        r = np.einsum("pik,pk->pi", a, theta) - b
        logdet = np.log(self.values[None, :] + error_var[:, None]).sum(axis=1) + self.log_profile
        return theta, (w * r * r).sum(axis=1), logdet


class QueryContext:
    """One query's prediction made ready for comparing many photos quickly."""

    def __init__(self, model: ViewModel, prediction: Prediction) -> None:
        self.model, self.prediction = model, prediction
        self._patterns: dict[bytes, tuple[_Gaussian, _Gaussian]] = {}
        if prediction.problem is None:
            self.same_cov = prediction.cov
            self.other_cov = model.impostor_cov + (prediction.cov - model.residual_cov)

    def _measured(self, photo: Landmarks) -> bool:
        """Whether the photo's error is the detectors' measured covariance (not its stated deviations)."""
        return self.model.face_error is not None and self.model.face_error.applies(photo)

    def _error_blocks(self, keep: NDArray[np.int64]) -> NDArray[np.float64]:
        """``(n, 2, 2)``: the measured face error of each kept point."""
        assert self.model.face_error is not None
        m = len(self.prediction.names)
        return self.model.face_error.cov.reshape(m, 2, m, 2)[keep, :, keep, :]

    def _gaussians(self, idx: NDArray[np.int64], profile: NDArray[np.float64], measured: bool = False) -> tuple[_Gaussian, _Gaussian]:
        """The two hypotheses' covariances over the coordinates ``idx`` (with the detectors'
        measured error when ``measured``), decomposed once per set of points and profile of deviations."""
        key = idx.tobytes() + np.round(profile, 6).tobytes() + (b"measured" if measured else b"")
        if key not in self._patterns:
            extra = self.model.face_error.cov[np.ix_(idx, idx)] if measured and self.model.face_error is not None else 0.0
            self._patterns[key] = (_Gaussian(self.same_cov[np.ix_(idx, idx)] + extra, profile),
                                   _Gaussian(self.other_cov[np.ix_(idx, idx)] + extra, profile))
        return self._patterns[key]

    def assess(self, photo: Landmarks) -> Fit:
        """Register ``photo`` to the prediction and measure the misfit (see the module docstring)."""
        prediction = self.prediction
        if prediction.problem:
            return not_comparable(f"the X-ray cannot be assessed: {prediction.problem}")
        xy, sd = photo_points(self.model, photo) if photo.view == self.model.pair.face_view else (None, None)
        problem = photo_problem(self.model, photo, xy)
        if problem:
            return not_comparable(problem)
        keep = np.flatnonzero(~np.isnan(xy[:, 0]))
        idx = np.repeat(2 * keep, 2) + np.tile([0, 1], len(keep))
        measured = self._measured(photo)
        points, target = xy[keep], prediction.mean[keep]
        sd = np.zeros(len(keep)) if measured else np.nan_to_num(sd[keep], nan=0.0)
        scale = fit_similarity(points, target).scale
        # both hypotheses' registrations, each point's error variance from its stated deviation
        # (``sd`` zero when ``measured``: the covariances hold it)
        var = float((scale * (float(sd.max()) if sd.size else 0.0)) ** 2)
        same_g, other_g = self._gaussians(idx, np.repeat(deviation_profile(sd), 2), measured)
        transform, misfit, logdet = same_g.fit(points, target, var)
        _, other_misfit, other_logdet = other_g.fit(points, target, var)
        llr = float(0.5 * (other_misfit - misfit) + 0.5 * (other_logdet - logdet))
        residuals = transform.apply(points) - target
        m = len(prediction.names)
        blocks = prediction.cov.reshape(m, 2, m, 2)[keep, :, keep, :] + ((scale * sd) ** 2)[:, None, None] * np.eye(2)
        if measured:
            blocks = blocks + self._error_blocks(keep)
        inverse = np.linalg.inv(blocks)
        point_misfit = np.einsum("ni,nij,nj->n", residuals, inverse, residuals)
        names = tuple(prediction.names[i] for i in keep)
        dof = 2 * len(keep) - 4
        exclusion, k = self._exclusion_misfits(same_g, idx, points[None], target, np.array([var]), inverse[None])
        return Fit(names, transform, residuals, point_misfit, blocks, float(misfit), dof, llr,
                   exclusion_misfit=None if exclusion is None else exclusion[0], exclusion_dof=None if exclusion is None else dof - k)


    def assess_many(self, photos: Sequence[Landmarks]) -> list[Fit]:
        """:meth:`assess` for many photos at once (the same numbers), photos with the same points
        and profile of deviations solved together."""
        out: list[Fit | None] = [None] * len(photos)
        groups: dict[bytes, list[tuple[int, NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], bool]]] = {}
        shared: dict[bytes, list[NDArray[np.float64]]] = {}  # the profiles already in use, by set of points
        for i, photo in enumerate(photos):
            if self.prediction.problem:
                out[i] = not_comparable(f"the X-ray cannot be assessed: {self.prediction.problem}")
                continue
            xy, sd = photo_points(self.model, photo) if photo.view == self.model.pair.face_view else (None, None)
            problem = photo_problem(self.model, photo, xy)
            if problem:
                out[i] = not_comparable(problem)
                continue
            keep = np.flatnonzero(~np.isnan(xy[:, 0]))
            measured = self._measured(photo)
            sd = np.zeros(len(keep)) if measured else np.nan_to_num(sd[keep], nan=0.0)
            profile = deviation_profile(sd)
            known = shared.setdefault(keep.tobytes() + (b"measured" if measured else b""), [])
            same = next((p for p in known if float(np.abs(np.log(profile / p)).max()) <= PROFILE_SHARING), None)
            if same is None:
                known.append(profile)
            profile = profile if same is None else same
            groups.setdefault(keep.tobytes() + profile.tobytes() + (b"measured" if measured else b""), []).append((i, keep, xy[keep], sd, profile, measured))
        for members in groups.values():
            for i, fit in zip((m[0] for m in members), self._assess_group(members)):
                out[i] = fit
        return out  # type: ignore[return-value]

    def _assess_group(self, members: list[tuple[int, NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], bool]]) -> list[Fit]:
        """Photos with the same points and deviation profile (or the detectors' measured error), registered and scored together."""
        keep, measured = members[0][1], members[0][5]
        idx = np.repeat(2 * keep, 2) + np.tile([0, 1], len(keep))
        points = np.stack([m[2] for m in members])  # (P, n, 2)
        sds = np.stack([m[3] for m in members])  # (P, n)
        target = self.prediction.mean[keep]
        largest = sds.max(axis=1)
        profile = np.repeat(members[0][4], 2)  # the profile the group shares
        var = (_ls_scale(points, target) * largest) ** 2
        same_g, other_g = self._gaussians(idx, profile, measured)
        theta, misfit, logdet = same_g.fit_many(points, target, var)
        _, other_misfit, other_logdet = other_g.fit_many(points, target, var)
        llr = 0.5 * (other_misfit - misfit) + 0.5 * (other_logdet - logdet)
        residuals = _registered(theta, points) - target
        m = len(self.prediction.names)
        errors = (_ls_scale(points, target)[:, None] * sds) ** 2  # (P, n)
        blocks = self.prediction.cov.reshape(m, 2, m, 2)[keep, :, keep, :][None] + errors[..., None, None] * np.eye(2)
        if measured:
            blocks = blocks + self._error_blocks(keep)[None]
        inverse = np.linalg.inv(blocks)
        point_misfit = np.einsum("pni,pnij,pnj->pn", residuals, inverse, residuals)
        exclusion, k = self._exclusion_misfits(same_g, idx, points, target, var, inverse)
        names = tuple(self.prediction.names[i] for i in keep)
        dof = 2 * len(keep) - 4
        return [Fit(names, Similarity(*map(float, theta[p])), residuals[p], point_misfit[p], blocks[p], float(misfit[p]), dof, float(llr[p]),
                    exclusion_misfit=None if exclusion is None else exclusion[p], exclusion_dof=None if exclusion is None else dof - k)
                for p in range(len(members))]

    def _exclusion_misfits(self, same_g: _Gaussian, idx: NDArray[np.int64], points: NDArray[np.float64], target: NDArray[np.float64],
                           var: NDArray[np.float64], inverse: NDArray[np.float64]) -> tuple[NDArray[np.float64] | None, int]:
        """``(P, n)``: each photo's points' ``d_j^2`` (under the point covariances whose inverses
        are ``inverse``) when the registration also moves the prediction along the model's free
        patterns, and how many patterns that was (None, 0 when the model lets none free). A
        pattern that lies mostly on points the photo lacks (less than :data:`MIN_PATTERN_WEIGHT`
        of its weight on the points present, such as the lower lip's on a profile cut above it)
        is not let free: what is left of it on the other points is not the pattern."""
        if self.model.free_modes == 0:
            return None, 0
        free = self.model.free_patterns[idx]
        free = free[:, (free**2).sum(axis=0) >= MIN_PATTERN_WEIGHT][:, : max(len(idx) - 5, 0)]  # at least one degree of freedom left
        theta, _, _ = same_g.fit_many(points, target, var, free)
        moved = target[None] + (theta[:, 4:] @ free.T).reshape(len(points), -1, 2)
        r = _registered(theta, points) - moved
        return np.einsum("pni,pnij,pnj->pn", r, inverse, r), free.shape[1]


def _registered(theta: NDArray[np.float64], points: NDArray[np.float64]) -> NDArray[np.float64]:
    """``points`` ``(P, n, 2)`` moved by each similarity ``theta[:, :4]`` (a, b, tx, ty)."""
    a, b, tx, ty = theta[:, :4].T
    return np.stack([a[:, None] * points[..., 0] - b[:, None] * points[..., 1] + tx[:, None],
                     b[:, None] * points[..., 0] + a[:, None] * points[..., 1] + ty[:, None]], axis=2)


def _ls_scale(points: NDArray[np.float64], target: NDArray[np.float64]) -> NDArray[np.float64]:
    """The scale of each ordinary least-squares similarity from ``points`` ``(P, n, 2)`` to ``target`` ``(n, 2)``."""
    p = points - points.mean(axis=1, keepdims=True)
    t = target - target.mean(axis=0)
    norm = (p**2).sum(axis=(1, 2))
    a = (p * t).sum(axis=(1, 2)) / norm
    b = (p[..., 0] * t[:, 1] - p[..., 1] * t[:, 0]).sum(axis=1) / norm
    return np.hypot(a, b)


def pooled_llr(llrs: Sequence[float] | NDArray[np.float64]) -> float:
    """One person's log likelihood ratio in a view from their photos' (finite values only; NaN
    when there are none): the log of the mean ratio, ``log(mean(exp(llr_i)))``. It is the photo's
    own for one photo, lies between the mean and the best of the photos' log ratios, and is led
    by the photos that fit: a photo whose landmarks the detectors misplaced does not drag the
    person down as it did with the mean of the log ratios (on the validation people, both views'
    evidence summed, the mean put the person in the top 10 for 4-6 % fewer queries: RESULTS
    section 9), nor does a person gain by having more photos of the same fit, as with the best
    photo alone."""
    values = np.asarray(llrs, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan
    top = float(values.max())
    return top + float(np.log(np.mean(np.exp(values - top))))


def assess_photo(model: ViewModel, prediction: Prediction, photo: Landmarks) -> Fit:
    """One photo against one prediction (for many photos, build a :class:`QueryContext` once)."""
    return QueryContext(model, prediction).assess(photo)
