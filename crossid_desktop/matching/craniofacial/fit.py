"""Fitting a view pair's correspondence model (:mod:`.model`) on paired training people.

Each training person brings an X-ray's skull landmarks and one or more photos' face landmarks
(annotated or simulated exactly; measurement noise is added at query time, not learnt). The fit:

1. the skulls' Procrustes mean, turned into the canonical frame and scaled to the mean skull
   size in millimetres (when the X-rays' pixel spacing is known), and each skull aligned to it;
2. each photo registered to its skull by the pairs with a published soft-tissue depth alone
   (skin point = skull point + the published mean depth), which fixes where faces sit on skulls;
3. then, ``iterations`` times: the offsets and the ridge regression refitted on the registered
   faces, the residual covariance estimated (shrunk towards its diagonal), and every photo
   registered again to its prediction by generalised least squares under that covariance.

The different-person covariance comes from registering each training face to the prediction
of another training skull.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import DatasetError
from crossid_desktop.matching.craniofacial.geometry import centroid_size, fit_similarity, fit_similarity_gls, procrustes_mean
from crossid_desktop.matching.craniofacial.model import SEX_CODES, ViewModel
from crossid_desktop.matching.craniofacial.points import Landmarks
from crossid_desktop.matching.craniofacial.views import ViewPair


@dataclass(frozen=True)
class PairedPerson:
    """A person with skull X-rays and face photos: ``skulls`` by X-ray view, ``photos`` by face
    view (landmarks in pixels), ``photo_names`` the photos' names (file stems) in the same order."""

    subject_id: str
    sex: str | None
    age: float | None
    skulls: Mapping[str, Landmarks]
    photos: Mapping[str, tuple[Landmarks, ...]]
    photo_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class FitSettings:
    """``ridge``: penalty of the regression (per training photo); ``shrinkage``: weight of the
    diagonal in the covariance estimates (the least weight: the residual covariance's own is
    chosen by cross-validation, :func:`choose_shrinkage`); ``iterations`` of registration and
    refitting."""

    ridge: float = 1.0
    shrinkage: float = 0.1
    iterations: int = 4
    impostor_pairs: int = 4000
    seed: int = 0

    def __post_init__(self) -> None:
        # without shrinkage the residual covariance is near-singular and the registrations drift
        if not 0.0 < self.shrinkage <= 1.0 or self.ridge < 0 or self.iterations < 1:
            raise ValueError("The shrinkage must lie in (0, 1], the ridge penalty be >= 0 and the iterations >= 1.")


def shrink(cov: NDArray[np.float64], weight: float) -> NDArray[np.float64]:
    """``(1 - weight) * cov + weight * diag(cov)``: keeps the variances, damps the correlations."""
    return (1.0 - weight) * cov + weight * np.diag(np.diag(cov))


#: shrinkage weights tried by :func:`choose_shrinkage`
SHRINKAGE_GRID = (0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8)


def choose_shrinkage(residuals: NDArray[np.float64], owner: NDArray[np.int64], floor: float, folds: int = 5, seed: int = 0) -> float:
    """The weight of the diagonal (at least ``floor``) under which covariances estimated on some
    people best predict other people's residuals (mean Gaussian log likelihood, ``folds``-fold by
    person). With as many coordinates as people, the sample covariance has far too small
    eigenvalues, and a fixed weight does not know by how much."""
    fold_of = np.random.default_rng(seed).permutation(int(owner.max()) + 1) % folds
    scores = {}
    for weight in [w for w in SHRINKAGE_GRID if w >= floor] or [floor]:
        total = 0.0
        for fold in range(folds):
            test = fold_of[owner] == fold
            cov = shrink(np.cov(residuals[~test], rowvar=False), weight)
            chol = np.linalg.cholesky(cov)
            solved = np.linalg.solve(chol, (residuals[test] - residuals[~test].mean(axis=0)).T)
            total += -0.5 * float((solved**2).sum()) - test.sum() * float(np.log(np.diag(chol)).sum())
        scores[weight] = total
    return max(scores, key=scores.get)


def _skulls(pair: ViewPair, people: Sequence[PairedPerson]) -> tuple[list[PairedPerson], NDArray[np.float64], NDArray[np.float64]]:
    """The people with a complete skull and a photo of the pair's views; their skulls ``(n, k, 2)`` px
    (facing right) and each X-ray's spacing (NaN unknown)."""
    chosen, shapes, spacing = [], [], []
    for person in people:
        skull = person.skulls.get(pair.skull_view)
        if skull is None or not person.photos.get(pair.face_view):
            continue
        xy, _ = skull.subset(pair.skull_names)
        if np.isnan(xy).any():
            continue
        chosen.append(person)
        shapes.append(xy * (np.array([-1.0, 1.0]) if skull.mirrored else 1.0))
        spacing.append(np.nan if skull.spacing_mm is None else skull.spacing_mm)
    if len(chosen) < 20:
        raise DatasetError(f"The {pair.name} correspondence model needs at least 20 people with a complete skull and a photo; there are {len(chosen)}.")
    return chosen, np.stack(shapes), np.array(spacing)


def canonical_skull_mean(pair: ViewPair, shapes: NDArray[np.float64], spacing: NDArray[np.float64]) -> NDArray[np.float64]:
    """The mean skull ``(k, 2)`` in the canonical frame: nasion at the origin, the pair's axis
    along +x, the mean centroid size in mm (in pixels where no spacing is known)."""
    mean = procrustes_mean(shapes)
    sizes = np.array([centroid_size(s) for s in shapes]) * np.where(np.isnan(spacing), 1.0, spacing)
    mean = mean * float(sizes.mean())
    names = pair.skull_names
    a, b = mean[names.index(pair.axis[0])], mean[names.index(pair.axis[1])]
    angle = -np.arctan2(b[1] - a[1], b[0] - a[0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    turned = mean @ rotation.T
    return turned - turned[names.index("nasion")]


def _anchored_registrations(pair: ViewPair, skulls: NDArray[np.float64], pixels: NDArray[np.float64], owner: NDArray[np.int64]) -> NDArray[np.float64]:
    """Each photo registered to its skull by the pairs with a published soft-tissue depth alone:
    skin point = skull point + the published mean depth along its direction. Data alone cannot
    tell where faces sit on skulls (moving every face alike is absorbed by the regression); the
    published depths fix it, as they fix a craniofacial superimposition. Returns the registered
    faces ``(n_photos, 2m)``."""
    anchors = [c for c in pair.correspondences if c.published]
    skull_rows = [pair.skull_names.index(c.skull) for c in anchors]
    face_rows = [pair.face_names.index(c.face) for c in anchors]
    offsets = np.array([np.asarray(c.direction) * c.depth().mean_mm for c in anchors])  # type: ignore[union-attr]
    transforms = [fit_similarity(p[face_rows], skulls[o].reshape(-1, 2)[skull_rows] + offsets) for o, p in zip(owner, pixels)]
    return np.stack([t.apply(p).reshape(-1) for t, p in zip(transforms, pixels)])


def _design(x: NDArray[np.float64], z: NDArray[np.float64], x_mean: NDArray[np.float64], z_mean: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.hstack([x - x_mean, z - z_mean])


def _regression(targets: NDArray[np.float64], design: NDArray[np.float64], ridge: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Ridge regression of ``targets`` ``(n, p)`` on centred ``design`` ``(n, q)``: intercept and ``(p, q)`` coefficients."""
    offset = targets.mean(axis=0)
    g = design.T @ design + ridge * len(design) * np.eye(design.shape[1])
    coef = np.linalg.solve(g, design.T @ (targets - offset)).T
    return offset, coef


def _faces(pair: ViewPair, people: Sequence[PairedPerson]) -> tuple[NDArray[np.int64], list[Landmarks]]:
    owner, faces = [], []
    for i, person in enumerate(people):
        for photo in person.photos[pair.face_view]:
            if np.isnan(photo.subset(pair.face_names)[0]).any():
                continue  # training photos must show every point
            owner.append(i)
            faces.append(photo)
    return np.array(owner), faces


def _face_pixels(pair: ViewPair, face: Landmarks) -> NDArray[np.float64]:
    xy, _ = face.subset(pair.face_names)
    return xy * (np.array([-1.0, 1.0]) if face.mirrored else 1.0)


@dataclass(frozen=True)
class ViewFit:
    """A fitted view model with what the model card reports about it: the soft-tissue depths
    measured on the training people (:func:`depth_statistics`) and how many people and photos."""

    model: ViewModel
    depths: tuple[dict, ...]
    n_people: int
    n_photos: int


def fit_view_model(pair: ViewPair, people: Sequence[PairedPerson], settings: FitSettings = FitSettings()) -> ViewFit:
    """The correspondence model of ``pair`` fitted on ``people`` (see the module docstring)."""
    chosen, shapes, spacing = _skulls(pair, people)
    skull_mean = canonical_skull_mean(pair, shapes, spacing)
    x = np.stack([fit_similarity(s, skull_mean).apply(s).reshape(-1) for s in shapes])
    z = np.array([[SEX_CODES.get(p.sex or "", np.nan), np.nan if p.age is None else p.age / 10.0] for p in chosen])
    z_mean = np.nanmean(z, axis=0)
    z = np.where(np.isnan(z), z_mean, z)
    owner, faces = _faces(pair, chosen)
    pixels = np.stack([_face_pixels(pair, f) for f in faces])  # (n_photos, m, 2)
    y = _anchored_registrations(pair, x, pixels, owner)
    counterpart = np.array([_counterpart(pair, name) for name in pair.face_names])
    stub = ViewModel(pair, skull_mean, np.eye(x.shape[1]), z_mean, np.eye(2), counterpart, np.zeros(y.shape[1]),
                     np.zeros((y.shape[1], x.shape[1] + 2)), np.eye(y.shape[1]), np.eye(y.shape[1]))
    placed = np.stack([stub._place(row) for row in x])  # P x per person
    design = _design(x, z, x.mean(axis=0), z_mean)
    for _ in range(settings.iterations):
        offset, coef = _regression(y - placed[owner], design[owner], settings.ridge)
        predicted = offset + placed[owner] + design[owner] @ coef.T
        residual_cov = shrink(np.cov(y - predicted, rowvar=False), settings.shrinkage)
        precision = np.linalg.inv(residual_cov)
        y = np.stack([fit_similarity_gls(p, t.reshape(-1, 2), precision)[0].apply(p).reshape(-1) for p, t in zip(pixels, predicted)])
    offset, coef = _regression(y - placed[owner], design[owner], settings.ridge)
    predicted_person = offset + placed + design @ coef.T
    out_of_fold = _out_of_fold_residuals(y, placed, design, owner, settings)
    weight = choose_shrinkage(out_of_fold, owner, settings.shrinkage, seed=settings.seed)
    residual_cov = shrink(np.cov(out_of_fold, rowvar=False), weight)
    impostor_cov = _impostor_cov(pixels, owner, predicted_person, settings)
    skull_cov = shrink(np.cov(x, rowvar=False), settings.shrinkage)
    centred = offset + coef[:, : x.shape[1]] @ (skull_mean.reshape(-1) - x.mean(axis=0))  # centre the design on the mean skull
    model = ViewModel(pair, skull_mean, skull_cov, z_mean, np.cov(z, rowvar=False), counterpart, centred, coef, residual_cov, impostor_cov)
    depths = depth_statistics(pair, x, y, owner, [p.sex for p in chosen])
    return ViewFit(model, depths, len(chosen), len(faces))


def depth_statistics(pair: ViewPair, x: NDArray[np.float64], y: NDArray[np.float64], owner: NDArray[np.int64],
                     sexes: Sequence[str | None]) -> tuple[dict, ...]:
    """Each correspondence's soft-tissue offset on the training people (canonical mm): the depth
    along its direction (mean and between-person spread, by sex too), the sideways slip, and the
    published depth it started from. A person's photos are averaged first."""
    rows = []
    for c in pair.correspondences:
        j, k = pair.face_names.index(c.face), pair.skull_names.index(c.skull)
        offsets = y[:, 2 * j : 2 * j + 2] - x[owner][:, 2 * k : 2 * k + 2]
        people = np.unique(owner)
        per_person = np.stack([offsets[owner == i].mean(axis=0) for i in people])
        direction = np.asarray(c.direction)
        depth = per_person @ direction
        slip = per_person @ np.array([-direction[1], direction[0]])
        by_sex = {sex: round(float(depth[[sexes[i] == sex for i in people]].mean()), 2) for sex in ("F", "M") if any(sexes[i] == sex for i in people)}
        published = c.depth()
        rows.append({"skull": c.skull, "face": c.face, "direction": list(c.direction), "depth_mm": round(float(depth.mean()), 2),
                     "depth_sd_mm": round(float(depth.std(ddof=1)), 2), "depth_by_sex_mm": by_sex, "slip_mm": round(float(slip.mean()), 2),
                     "published": None if published is None else {"mean_mm": published.mean_mm, "sd_mm": published.sd_mm, "group": published.group,
                                                                    "source": published.source, "verified": published.verified}})
    return tuple(rows)


def _out_of_fold_residuals(y: NDArray[np.float64], placed: NDArray[np.float64], design: NDArray[np.float64], owner: NDArray[np.int64],
                           settings: FitSettings, folds: int = 5) -> NDArray[np.float64]:
    """Each photo's residual from a regression fitted without its person (``folds``-fold by
    person): the spread a new person's face has around the prediction, the regression's own
    estimation error included (in-sample residuals understate it)."""
    fold_of = np.random.default_rng(settings.seed).permutation(len(placed)) % folds
    residuals = np.empty_like(y)
    for fold in range(folds):
        test = fold_of[owner] == fold
        offset, coef = _regression(y[~test] - placed[owner[~test]], design[owner[~test]], settings.ridge)
        residuals[test] = y[test] - (offset + placed[owner[test]] + design[owner[test]] @ coef.T)
    return residuals


def _counterpart(pair: ViewPair, face_name: str) -> int:
    for c in pair.correspondences:
        if c.face == face_name:
            return pair.skull_names.index(c.skull)
    return -1


def _impostor_cov(pixels: NDArray[np.float64], owner: NDArray[np.int64], predicted: NDArray[np.float64], settings: FitSettings) -> NDArray[np.float64]:
    """Covariance of a face registered to another person's prediction (ordinary least squares)."""
    rng = np.random.default_rng(settings.seed)
    n_people = predicted.shape[0]
    rows = []
    for _ in range(settings.impostor_pairs):
        photo = int(rng.integers(len(pixels)))
        other = int(rng.integers(n_people - 1))
        other += other >= owner[photo]
        target = predicted[other].reshape(-1, 2)
        rows.append(fit_similarity(pixels[photo], target).apply(pixels[photo]).reshape(-1) - predicted[other])
    return shrink(np.cov(np.array(rows), rowvar=False), settings.shrinkage)
