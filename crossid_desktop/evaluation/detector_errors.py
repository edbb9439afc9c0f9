"""What the landmark detectors miss by, measured on validation people whose true landmarks are known.

The craniofacial matcher weighs the detectors' points by what they were measured to miss by:
the face detectors' per-point error profiles (:func:`detector_profiles`) and the covariance of
their errors in each view model's frame (:func:`face_errors`, with :func:`cross_fitted_face_errors`
for scoring the validation people themselves), and the X-ray landmark detector's true error over
the deviations it states (:func:`detector_scales`). The refit (:mod:`crossid_desktop.training.craniofacial`)
measures them and keeps them in the model card.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import DatasetError
from crossid_desktop.matching.craniofacial.assess import photo_points
from crossid_desktop.matching.craniofacial.fit import PairedPerson
from crossid_desktop.matching.craniofacial.geometry import fit_similarity
from crossid_desktop.matching.craniofacial.measure import ErrorProfile, measured_profile
from crossid_desktop.matching.craniofacial.model import DetectorScale, FaceError, ViewModel, detector_family


def detector_profiles(detected: Sequence[PairedPerson], annotated: Sequence[PairedPerson]) -> dict[str, ErrorProfile]:
    """Each face view's detector error profile, measured against the annotations of the same photos."""
    pairs: dict[str, list] = {}
    for found, truth in zip(detected, annotated):
        for view, marks in found.photos.items():
            pairs.setdefault(view, []).extend((m, t) for m, t in zip(marks, truth.photos[view]) if not m.failure)
    return {view: measured_profile(view, items, source=f"the face detectors against the annotations of {len(items)} validation photos")
            for view, items in pairs.items() if items}


#: fewest validation X-rays a point's error scale is measured on (1 where fewer had it)
MIN_SCALE_SAMPLES = 10
#: the smallest scale: a deviation is widened where the detector proved overconfident, never narrowed
MIN_SCALE = 1.0


def _same_people(detected: Sequence[PairedPerson], annotated: Sequence[PairedPerson]) -> Iterator[tuple[PairedPerson, PairedPerson]]:
    """The people as detected and as annotated, pair by pair; ValueError where the two lists are not in the same order."""
    for found, truth in zip(detected, annotated):
        if found.subject_id != truth.subject_id:
            raise ValueError(f"The detected and the annotated people are not in the same order ({found.subject_id} against {truth.subject_id}).")
        yield found, truth


def detector_scales(detected: Sequence[PairedPerson], annotated: Sequence[PairedPerson]) -> dict[str, DetectorScale]:
    """Each X-ray view's :class:`~crossid_desktop.matching.craniofacial.model.DetectorScale`: per
    skull point, the root mean square of the detector's error (its point against the true one, in
    the X-ray's pixels) over the deviation it stated, per axis, over the X-rays where it found the
    point with a deviation; measured on ``detected`` against ``annotated`` (the same people)."""
    ratios: dict[str, dict[str, list[float]]] = {}
    detectors: dict[str, set[str]] = {}
    for found, truth in _same_people(detected, annotated):
        for view, marks in found.skulls.items():
            if marks.failure or view not in truth.skulls:
                continue
            detectors.setdefault(view, set()).add(marks.source)
            true_xy, _ = truth.skulls[view].subset(marks.names)
            error = np.hypot(*(marks.xy - true_xy).T)
            for name, e, s in zip(marks.names, error, marks.sd):
                if np.isfinite(e) and np.isfinite(s) and s > 0:
                    ratios.setdefault(view, {}).setdefault(name, []).append(float(e / s) ** 2 / 2.0)
    out = {}
    for view, by_name in ratios.items():
        if len(detectors[view]) != 1:
            raise DatasetError(f"The {view} X-rays' landmarks come from several detectors ({', '.join(sorted(detectors[view]))}); their errors cannot be measured as one.")
        scales = {name: max(MIN_SCALE, float(np.sqrt(np.mean(values)))) for name, values in by_name.items() if len(values) >= MIN_SCALE_SAMPLES}
        n = max(len(v) for v in by_name.values())
        out[view] = DetectorScale(next(iter(detectors[view])), scales,
                                  f"the detector's errors over its stated deviations on {n} validation X-rays whose true landmarks are known")
    return out


#: how far a face error covariance is shrunk towards each point's own circular spread (0: the
#: covariance as measured, 1: independent circular errors); chosen on the validation people of
#: seed 1202 by cross-fitting (measured on one half, both views' evidence summed and the people
#: ranked on the other): 0, 0.2, 0.5, 0.7, 0.9 and 1 put the true person first for 49, 78, 84,
#: 85, 83 and 82 % of the queries (frontal X-rays alone 31, 62, 69, 71, 73, 67 %), with the
#: landmarks averaged over three boxes 0.5, 0.7 and 0.9: 83, 85, 85 % (frontal 68, 69, 73 %);
#: the error profiles' independent deviations 84 % (frontal 63 %). Of the two best, 0.9 for the
#: frontal view (RESULTS section 9)
FACE_ERROR_SHRINKAGE = 0.9
#: fewest validation photos of a view its face error covariance is measured on (none with fewer)
MIN_FACE_ERROR_PHOTOS = 20


def face_errors(views: Mapping[str, ViewModel], detected: Sequence[PairedPerson], annotated: Sequence[PairedPerson], *,
                shrinkage: float = FACE_ERROR_SHRINKAGE) -> dict[str, FaceError]:
    """Each view's :class:`~crossid_desktop.matching.craniofacial.model.FaceError`: the covariance
    of the face detectors' errors in the view model's canonical frame, measured on ``detected``
    against ``annotated`` (the same people, their photos in the same order). Each photo's
    detected points are first brought onto its true points by the similarity that fits them best
    (a detector's overall shift, size and turn are taken up by the matcher's registration and are
    not counted, as in the error profiles), then both are carried into the frame by the
    similarity registering the true points to the model's mean face; the errors' covariance is
    taken over the photos that have both points of an entry, shrunk by ``shrinkage`` towards each
    point's circular spread (the mean of its two variances), and kept positive definite. A photo
    whose detector took the profile's facing side wrongly is left out (its points are not
    misplaced but mirrored); a view with fewer than :data:`MIN_FACE_ERROR_PHOTOS` usable photos
    gets none. The sources recorded are the detectors' names without the face finder in
    brackets (:func:`~crossid_desktop.matching.craniofacial.model.detector_family`): one
    landmark model's errors, whichever finder set its box."""
    samples = _face_error_samples(views, detected, annotated)
    measured = {name: _face_error([row for person in people for row in person], shrinkage) for name, people in samples.items()}
    return {name: error for name, error in measured.items() if error is not None}


def _face_error_samples(views: Mapping[str, ViewModel], detected: Sequence[PairedPerson],
                        annotated: Sequence[PairedPerson]) -> dict[str, list[list[tuple[NDArray[np.float64], str]]]]:
    """Per view and person (in order), each usable photo's error in the frame and its detector
    family (:func:`face_errors` says how they are measured and which photos are left out)."""
    out: dict[str, list[list[tuple[NDArray[np.float64], str]]]] = {name: [] for name in views}
    for found, truth in _same_people(detected, annotated):
        for name, vm in views.items():
            face_view, rows = vm.pair.face_view, []
            for marks, reference in zip(found.photos.get(face_view, ()), truth.photos.get(face_view, ())):
                if marks.failure or reference.failure or marks.mirrored != reference.mirrored:
                    continue
                xy, _ = photo_points(vm, marks)
                ref, _ = photo_points(vm, reference)
                if int((~(np.isnan(ref[:, 0]) | np.isnan(xy[:, 0]))).sum()) < 3:
                    continue
                aligned = fit_similarity(xy, ref).apply(xy)
                to_frame = fit_similarity(ref, vm.face_mean)
                rows.append(((to_frame.apply(aligned) - to_frame.apply(ref)).reshape(-1), detector_family(marks.source)))
            out[name].append(rows)
    return out


def _face_error(rows: Sequence[tuple[NDArray[np.float64], str]], shrinkage: float) -> FaceError | None:
    """The face error of photos' errors and detector families (None with fewer than :data:`MIN_FACE_ERROR_PHOTOS`)."""
    if len(rows) < MIN_FACE_ERROR_PHOTOS:
        return None
    cov = _shrunk_covariance(np.array([error for error, _ in rows]), shrinkage)
    return FaceError(cov, frozenset(family for _, family in rows), f"the face detectors' errors on {len(rows)} validation photos whose true landmarks "
                                                                   f"are known, in the model's frame, shrunk {shrinkage:g} towards each point's circular spread")


def cross_fitted_face_errors(views: Mapping[str, ViewModel], detected: Sequence[PairedPerson], annotated: Sequence[PairedPerson], *,
                             folds: int | None = None, shrinkage: float = FACE_ERROR_SHRINKAGE) -> dict[str, dict[str, FaceError | None]]:
    """Per view, each person's face error measured without them (:func:`face_errors` on the other
    parts; the people dealt into ``folds`` parts in turn, by their order; None: each person a part
    of their own): the validation people's misfits, and with them the tolerance and the fusion set
    on them, are then those of photos the covariance never saw, as in casework (measured on the
    people themselves it would fit their own detection errors and make their misfits look smaller
    than a new photo's). Leaving out one person at a time keeps the covariances the people are
    scored under all but equal; in halves, each half's photos were weighed under a visibly
    different covariance, which shifted the two halves' likelihood ratios against each other
    (validation fused Recall@1 0.70 in halves)."""
    folds = len(detected) if folds is None else folds
    samples = _face_error_samples(views, detected, annotated)  # each photo's error once, not once per part
    out: dict[str, dict[str, FaceError | None]] = {name: {} for name in views}
    for part in range(folds):
        for name, people in samples.items():
            error = _face_error([row for i, person in enumerate(people) if i % folds != part for row in person], shrinkage)
            for i in range(part, len(detected), folds):
                out[name][detected[i].subject_id] = error
    return out


def _shrunk_covariance(errors: NDArray[np.float64], shrinkage: float) -> NDArray[np.float64]:
    """The covariance (about zero: a detector's bias is an error too) of ``errors`` ``(N, 2m)``
    (NaN where a point is missing) over the rows having both coordinates of an entry, shrunk
    towards the per-point circular diagonal, its eigenvalues kept above a millionth of the largest."""
    present = ~np.isnan(errors)
    values = np.nan_to_num(errors)
    counts = present.T.astype(np.float64) @ present.astype(np.float64)
    raw = (values.T @ values) / np.maximum(counts, 1.0)
    raw[counts < MIN_FACE_ERROR_PHOTOS] = 0.0
    variance = np.diag(raw).copy()
    known = np.diag(counts) >= MIN_FACE_ERROR_PHOTOS
    variance[~known] = float(np.median(variance[known])) if known.any() else 1.0
    circular = np.repeat(variance.reshape(-1, 2).mean(axis=1), 2)
    np.fill_diagonal(raw, variance)
    cov = (1.0 - shrinkage) * raw + shrinkage * np.diag(circular)
    cov = (cov + cov.T) / 2.0
    eigenvalues, vectors = np.linalg.eigh(cov)
    eigenvalues = np.maximum(eigenvalues, 1e-6 * float(eigenvalues.max()))
    return (vectors * eigenvalues) @ vectors.T
