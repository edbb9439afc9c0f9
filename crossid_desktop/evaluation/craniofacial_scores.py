"""Craniofacial scores of every X-ray query against every gallery photo of a set of people.

For each view pair, each person's X-ray predicts a face (:func:`~crossid_desktop.matching.craniofacial.model.predict`)
and every gallery photo of that view is registered to it (:class:`~crossid_desktop.matching.craniofacial.assess.QueryContext`);
photos of the other view cannot be compared (NaN). What is kept per query-photo pair: the log
likelihood ratio, the misfit per degree of freedom, the tolerance statistic (> 1: beyond
tolerance) and the verdict; per query-person pair (:meth:`ViewScores.by_person`) the pooled log
likelihood ratio of the person's comparable photos of the view (the log of their mean ratio,
:func:`~crossid_desktop.matching.craniofacial.assess.pooled_llr`, as the search takes it) and
the person's verdict for the view.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.matching.craniofacial.assess import QueryContext, pooled_llr
from crossid_desktop.matching.craniofacial.consistency import Tolerance, Verdict, judge_photo, judge_view
from crossid_desktop.matching.craniofacial.fit import PairedPerson
from crossid_desktop.matching.craniofacial.model import FaceError, ViewModel, predict
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress


@dataclass(frozen=True)
class GalleryPhoto:
    """One gallery photo: its person, its name (the file stem) and its view."""

    subject_id: str
    name: str
    view: str  # "face-front" | "face-side"


@dataclass(frozen=True, eq=False)
class ViewScores:
    """One view pair's scores: queries (the people's X-rays of the view) by gallery photos.

    ``llr``, ``misfit`` (D^2 / dof) and ``statistic`` are ``(Q, G)`` float64, NaN where the pair
    cannot be compared; ``verdicts`` the photo decisions; ``problems`` the queries that could not
    be assessed (subject id -> reason), ``set_aside`` the queries whose prediction set detected
    skull points aside (subject id -> their names).
    """

    view: str
    query_subjects: tuple[str, ...]
    photos: tuple[GalleryPhoto, ...]
    llr: NDArray[np.float64]
    misfit: NDArray[np.float64]
    statistic: NDArray[np.float64]
    verdicts: tuple[tuple[Verdict, ...], ...]
    problems: dict[str, str]
    set_aside: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def by_person(self, tolerance: Tolerance) -> tuple[tuple[str, ...], NDArray[np.float64], list[list[Verdict]]]:
        """People of the gallery (sorted), each query's pooled photo llr per person ``(Q, P)`` (NaN
        where none was comparable) and each query's verdict per person for this view."""
        people = tuple(sorted({p.subject_id for p in self.photos}))
        columns = {s: [g for g, p in enumerate(self.photos) if p.subject_id == s] for s in people}
        best = np.full((len(self.query_subjects), len(people)), np.nan)
        verdicts: list[list[Verdict]] = []
        for q in range(len(self.query_subjects)):
            row = []
            for j, s in enumerate(people):
                values = self.llr[q, columns[s]]
                if np.isfinite(values).any():
                    best[q, j] = pooled_llr(values)
                row.append(judge_view([self.verdicts[q][g] for g in columns[s]], self.statistic[q, columns[s]]))
            verdicts.append(row)
        return people, best, verdicts


def _assess(model: ViewModel, prediction, photos: Sequence[tuple[str, str, object]], photo_errors: Mapping[str, FaceError | None] | None) -> list:
    """Every photo's fit to the prediction, each under its person's face error where ``photo_errors`` gives one."""
    if photo_errors is None:
        return QueryContext(model, prediction).assess_many([landmarks for _, _, landmarks in photos])
    fits: list = [None] * len(photos)
    groups: dict[int, list[int]] = {}
    for g, (subject, _, _) in enumerate(photos):
        groups.setdefault(id(photo_errors[subject]), []).append(g)  # every gallery person must be given (None: their stated deviations)
    for members in groups.values():
        context = QueryContext(replace(model, face_error=photo_errors[photos[members[0]][0]]), prediction)
        for g, fit in zip(members, context.assess_many([photos[g][2] for g in members])):
            fits[g] = fit
    return fits


def view_scores(model: ViewModel, tolerance: Tolerance, queries: Sequence[PairedPerson], gallery: Sequence[PairedPerson], *,
                photo_errors: Mapping[str, FaceError | None] | None = None, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> ViewScores:
    """Score every query person's X-ray of ``model``'s view against every gallery photo of that view.
    ``photo_errors`` (by gallery person, every one of them: a KeyError otherwise) gives the face
    error each person's photos are weighed under instead of the model's own (None: their stated deviations) (cross-fitting on validation people: a covariance measured
    without them, :func:`~crossid_desktop.evaluation.detector_errors.cross_fitted_face_errors`)."""
    report = progress or no_progress
    pair = model.pair
    photos = [(person.subject_id, name, landmarks) for person in gallery
              for name, landmarks in zip(person.photo_names.get(pair.face_view, ()), person.photos.get(pair.face_view, ()))]
    chosen = [p for p in queries if pair.skull_view in p.skulls]
    shape = (len(chosen), len(photos))
    llr, misfit, statistic = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    verdicts: list[tuple[Verdict, ...]] = []
    problems: dict[str, str] = {}
    set_aside: dict[str, tuple[str, ...]] = {}
    for q, person in enumerate(chosen):
        check_cancel(cancel, "The craniofacial evaluation")
        report(q, len(chosen), f"{pair.name} X-rays against photos")
        prediction = predict(model, person.skulls[pair.skull_view], sex=None, age=None)
        if prediction.problem:
            problems[person.subject_id] = prediction.problem
        elif prediction.set_aside:
            set_aside[person.subject_id] = prediction.set_aside
        fits = _assess(model, prediction, photos, photo_errors)
        row = []
        for g, fit in enumerate(fits):
            row.append(judge_photo(fit, tolerance))
            if fit.assessable:
                llr[q, g], misfit[q, g], statistic[q, g] = fit.llr, fit.misfit / fit.dof, tolerance.statistic(fit)
        verdicts.append(tuple(row))
    report(len(chosen), len(chosen), f"{pair.name} X-rays against photos")
    gallery_photos = tuple(GalleryPhoto(s, name, pair.face_view) for s, name, _ in photos)
    return ViewScores(pair.name, tuple(p.subject_id for p in chosen), gallery_photos, llr, misfit, statistic, tuple(verdicts), problems, set_aside)
