"""Ranking the gallery against skull X-rays with the craniofacial matcher, alone or fused.

1. **Query.** Each X-ray's skull landmarks (the examiner's, or the X-ray detector's) predict a
   face (:meth:`~crossid_desktop.matching.craniofacial.matcher.CraniofacialMatcher.predict`); a
   query that cannot be assessed says why, and then only the Siamese evidence (if any) ranks.
2. **Fast first stage.** The predicted face's scale-free vector is looked up in the gallery's
   index of photo vectors (:data:`SHORTLIST_PHOTOS` nearest photos per X-ray), and, fused, the
   Siamese embedding in its own index; the people of these photos are the candidates.
3. **Exact stage.** Every photo of a candidate of the X-ray's view is registered to the
   prediction (its landmarks stored at enrolment): misfit, log likelihood ratio, verdict. A
   person's craniofacial evidence in a view is the log of the mean likelihood ratio of their
   comparable photos (:func:`~crossid_desktop.matching.craniofacial.assess.pooled_llr`: led by
   the photos that fit, so one photo whose landmarks the detectors misplaced does not drag the
   person down); the Siamese evidence the smallest distance to any of their photos. The fusion rules turn the
   evidence into a likelihood ratio, by which the candidates are ranked.

People whose photos could not be compared are never ranked silently: fused, they rank by the
Siamese evidence alone with the reason shown; with the craniofacial matcher alone they are
listed apart (``not_assessed``) with their reasons.

**The candidate's craniofacial record** (``Candidate.craniofacial``, :func:`evidence_json`; the
card, ``--json``, the recorded search and the report read it; keys are only ever added)::

    {"status": "consistent" | "inconsistent" | "not assessable",   # the person, all X-rays
     "statement": str, "excluding": [landmark, ...], "reasons": [str, ...],
     "basis": "tolerance" | "likelihood ratio" | None,               # what an inconsistency rests on
     "views": {"front" | "side": {                                 # keyed by the X-ray's view
         "status": ..., "excluding": [...], "reasons": [...], "photos_compared": int,
         "unit": "mm" | "px" | None,                                # of residuals and tolerances
         "llr": float, "photo": image id, "misfit_per_dof": float}},  # the last three when compared
     "evidence": {"cf_front" | "cf_side" | "siamese_front" | "siamese_side": float},
     "log10_lr": float}

The search's own record (``SearchResult.extra``) adds ``queries`` (each X-ray's view, skull
landmarks with their ``source`` and any ``failure``, ``problem`` when it was not assessed,
``unit``, ``imputed`` (skull points not found) and ``set_aside`` (detected points left out as
misplaced: also a warning on the result, :func:`skull_warnings`)), ``not_assessed`` (people set apart, with reasons), ``people_compared``
and ``lr_limit`` (the exclusion's likelihood-ratio bound the search applied, None when none: :func:`exclusion_bound`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from crossid_desktop.errors import CrossIDError, GalleryError, MatcherMismatchError
from crossid_desktop.gallery.face_landmarks import face_landmarks
from crossid_desktop.gallery.index_base import GalleryIndexBase
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.calibration import verbal_scale
from crossid_desktop.matching.craniofacial.assess import Fit, QueryContext, not_comparable, pooled_llr
from crossid_desktop.matching.craniofacial.consistency import INCONSISTENT, NOT_ASSESSABLE, Verdict, farthest_names, judge_person, judge_photo, judge_view
from crossid_desktop.matching.craniofacial.fusion import pattern_of
from crossid_desktop.matching.craniofacial.matcher import VIEW_OF_MODALITY, CraniofacialMatcher, FusedXrayMatcher
from crossid_desktop.matching.craniofacial.model import Prediction
from crossid_desktop.matching.craniofacial.points import Landmarks
from crossid_desktop.matching.landmarks.notes import serious_warnings
from crossid_desktop.progress import check_cancel

#: a matcher's index by its fingerprint (the search service keeps them open)
IndexGetter = Callable[[str], GalleryIndexBase]
#: photos the first stage hands to the exact stage per X-ray
SHORTLIST_PHOTOS = 300
#: a photo stored without landmarks for the matcher
UNMEASURED = not_comparable("the photo's face landmarks were not measured (rebuild the gallery's index to measure them)")


@dataclass(frozen=True, eq=False)
class XrayQuery:
    """One X-ray of the search: its view, skull landmarks and the face they predict (``problem``
    when it cannot be assessed), and its Siamese embedding when fused."""

    modality: QueryModality
    view: str
    landmarks: Landmarks | None
    prediction: Prediction | None
    problem: str | None
    siamese_vector: np.ndarray | None


@dataclass(frozen=True)
class PersonEvidence:
    """What the search found about one gallery person."""

    subject_id: str
    features: dict[str, float]
    ln_lr: float
    verdict: Verdict
    views: dict[str, dict[str, Any]]
    siamese_best: tuple[int, float] | None  # (image id, distance) of the nearest photo to the first X-ray
    score: float = math.nan  # the fusion's unclipped combination: orders people whose ln LR the clips make equal


def prepare_queries(matcher: CraniofacialMatcher | FusedXrayMatcher, images: Sequence[LoadedImage], modalities: Sequence[QueryModality],
                    landmarks: Sequence[Landmarks | None] | None, cancel: threading.Event | None) -> list[XrayQuery]:
    """Each X-ray's landmarks, prediction and (fused) Siamese embedding."""
    craniofacial = matcher.craniofacial if isinstance(matcher, FusedXrayMatcher) else matcher
    queries = []
    for i, (image, modality) in enumerate(zip(images, modalities)):
        check_cancel(cancel, "The search")
        view = VIEW_OF_MODALITY[modality]
        given = landmarks[i] if landmarks is not None and i < len(landmarks) else None
        marks, prediction, problem = given, None, None
        try:
            marks = given if given is not None else craniofacial.skull_landmarks(image, modality)
            prediction = craniofacial.predict(marks)
            problem = prediction.problem
        except CrossIDError as error:
            problem = str(error).rstrip(".")
        vector = None
        if isinstance(matcher, FusedXrayMatcher):
            vector = matcher.siamese.encode_query([image], modality, cancel=cancel)[0]
        queries.append(XrayQuery(modality, view, marks, prediction, problem, vector))
    if not isinstance(matcher, FusedXrayMatcher) and all(q.problem for q in queries):
        raise MatcherMismatchError("The X-ray could not be assessed: " + "; ".join(q.problem or "" for q in queries) + ".")
    return queries


def _shortlist(index_for: IndexGetter, fingerprint: str, vectors: list[np.ndarray], exact: bool, everyone: bool) -> set[int]:
    """Photo ids nearest to the vectors in a matcher's index (all photos when ``everyone``)."""
    if not vectors:
        return set()
    index = index_for(fingerprint)
    if index.count == 0:
        raise MatcherMismatchError("The gallery has no vectors for the X-ray matcher; enrol again or rebuild its index (crossid gallery rebuild-index).")
    k = index.count if everyone else min(index.count, SHORTLIST_PHOTOS)
    ids, _ = index.search(np.stack(vectors).astype(np.float32), k, exact=exact)
    return {int(i) for i in np.asarray(ids).ravel() if int(i) >= 0}


def candidate_people(store: GalleryStore, index_for: IndexGetter, matcher: CraniofacialMatcher | FusedXrayMatcher, queries: Sequence[XrayQuery],
                     *, top_k: int, exact: bool) -> dict[str, list[int]]:
    """The people the first stage finds, each with all of their photo ids (read by id: the
    search never reads the whole gallery's records)."""
    craniofacial = matcher.craniofacial if isinstance(matcher, FusedXrayMatcher) else matcher
    everyone = top_k * 10 >= store.counts().images
    found = _shortlist(index_for, craniofacial.fingerprint,
                       [craniofacial.query_vector(q.prediction) for q in queries if q.prediction is not None and q.problem is None], exact, everyone)
    if isinstance(matcher, FusedXrayMatcher):
        found |= _shortlist(index_for, matcher.siamese.fingerprint, [q.siamese_vector for q in queries if q.siamese_vector is not None],
                            exact, everyone)
    subject_of = store.images_of_subjects_ids(set(store.subjects_of_images(found).values()))
    grouped: dict[str, list[int]] = {}
    for image_id in sorted(subject_of):
        grouped.setdefault(subject_of[image_id], []).append(image_id)
    return grouped


def _view_evidence(fits: list[tuple[int, Fit]], tolerance: Any) -> dict[str, Any]:
    """One person's craniofacial evidence in one view from the fits of their photos."""
    verdicts = [judge_photo(fit, tolerance) for _, fit in fits]
    statistics = [tolerance.statistic(fit) for _, fit in fits]
    verdict = judge_view(verdicts, statistics)
    assessed = [(image_id, fit) for image_id, fit in fits if fit.assessable]
    out: dict[str, Any] = {"status": verdict.status, "excluding": list(verdict.excluding), "reasons": list(dict.fromkeys(verdict.reasons)),
                           "photos_compared": len(assessed), "verdict": verdict}
    if assessed:
        best_id, best = max(assessed, key=lambda item: item[1].llr)
        out.update(llr=pooled_llr([f.llr for _, f in assessed]), photo=best_id, misfit_per_dof=best.misfit / best.dof, best_fit=best)
    return out


def _craniofacial_verdict(views: dict[str, dict[str, Any]], features: dict[str, float], matcher: Any, craniofacial: CraniofacialMatcher) -> Verdict:
    """The person's decision: the views' (the tolerance), and the likelihood-ratio bound on the
    craniofacial evidence of all assessed views together (:func:`~crossid_desktop.matching.craniofacial.consistency.judge_person`),
    naming the landmarks of the best photo of the view whose own calibrated ratio is lowest."""
    fusion = matcher.fusion
    evidence = {k: v for k, v in features.items() if k.startswith("cf_")}
    ln_lr, named, worst, clipped = None, (), None, False
    if evidence and fusion.calibrated and pattern_of(evidence) in fusion.rules:
        ln_lr = fusion.ln_lr(evidence)
        clipped = fusion.score(evidence) < ln_lr - 1e-9
        own = {k: fusion.score({k: v}) if k in fusion.rules else v for k, v in evidence.items()}  # each view's own ratio (the raw scales differ)
        worst = min(own, key=own.__getitem__).removeprefix("cf_")
        best = views[worst]["best_fit"]
        named = farthest_names(best.names, best.point_misfit)  # by the misfits the ratio weighs (nothing let free)
    for data in views.values():
        data.pop("best_fit", None)
    return judge_person({view: data.pop("verdict") for view, data in views.items()}, ln_lr=ln_lr,
                        lr_limit=exclusion_bound(matcher), farthest=named, named_view=worst, clipped=clipped)


def exclusion_bound(matcher: Any) -> float | None:
    """The likelihood-ratio bound a search with this matcher applies (None: the tolerance alone;
    recorded with the search as ``lr_limit``)."""
    craniofacial = matcher.craniofacial if isinstance(matcher, FusedXrayMatcher) else matcher
    return craniofacial.model.tolerance.lr_limit if matcher.fusion.calibrated else None


def person_evidence(subject_id: str, photo_ids: Sequence[int], queries: Sequence[XrayQuery], fits: dict[str, dict[int, Fit]],
                    photo_marks: dict[int, Landmarks], siamese: list[dict[int, float]] | None, matcher: Any) -> PersonEvidence:
    """The evidence about one person from their photos (see the module docstring): ``fits`` holds
    each assessed X-ray view's fits of the gallery's measured photos by image id, ``siamese`` each
    X-ray's Siamese distance to every photo by image id (fused)."""
    craniofacial = matcher.craniofacial if isinstance(matcher, FusedXrayMatcher) else matcher
    features: dict[str, float] = {}
    views: dict[str, dict[str, Any]] = {}
    for query in queries:
        if query.problem is None and query.view in fits:
            face_view = craniofacial.model.views[query.view].pair.face_view
            relevant = [i for i in photo_ids if i not in photo_marks or photo_marks[i].failure or photo_marks[i].view == face_view]
            view_fits = [(i, fits[query.view].get(i, UNMEASURED)) for i in relevant]
            if not view_fits:
                view_fits = [(photo_ids[0], not_comparable(f"the person has no {'frontal' if query.view == 'front' else 'profile'} photo"))]
            views[query.view] = {**_view_evidence(view_fits, craniofacial.model.tolerance_of(query.view)), "unit": query.prediction.unit if query.prediction else None}
            if "llr" in views[query.view]:
                features[f"cf_{query.view}"] = views[query.view]["llr"]
        else:
            views[query.view] = {"status": NOT_ASSESSABLE, "excluding": [], "reasons": [f"the X-ray cannot be assessed: {query.problem}"],
                                 "photos_compared": 0, "unit": None, "verdict": Verdict(NOT_ASSESSABLE, reasons=(f"the X-ray cannot be assessed: {query.problem}",))}
    best = None
    for query, distances in zip(queries, siamese or []):
        known = [i for i in photo_ids if i in distances]
        if known:
            nearest = min(known, key=distances.__getitem__)
            features[f"siamese_{query.view}"] = -distances[nearest]
            best = best or (nearest, distances[nearest])
    verdict = _craniofacial_verdict(views, features, matcher, craniofacial)
    ln_lr = matcher.fusion.ln_lr(features) if features else math.nan
    return PersonEvidence(subject_id, features, ln_lr, verdict, views, best, matcher.fusion.score(features) if features else math.nan)


def _view_fits(queries: Sequence[XrayQuery], craniofacial: CraniofacialMatcher, marks: dict[int, Landmarks]) -> dict[str, dict[int, Fit]]:
    """Every assessed X-ray view's fits of the measured photos of its face view, all solved in one
    batch per view (photos with the same points and deviation profile together), on one BLAS
    thread: the decompositions are small (142 x 142) and a second thread only competes."""
    from threadpoolctl import threadpool_limits  # loads with the first X-ray search

    fits: dict[str, dict[int, Fit]] = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for query in queries:
            if query.prediction is None or query.problem is not None:
                continue
            model = craniofacial.model.views[query.view]
            ids = [i for i, m in marks.items() if m.failure or m.view == model.pair.face_view]  # a failed photo's fit says why
            fits[query.view] = dict(zip(ids, QueryContext(model, query.prediction).assess_many([marks[i] for i in ids])))
    return fits


def _siamese_distances(store: GalleryStore, matcher: FusedXrayMatcher, queries: Sequence[XrayQuery], image_ids: list[int]) -> list[dict[int, float]]:
    """Each X-ray's Siamese distance to every one of these photos (stored vectors), by image id."""
    ids, vectors = store.embeddings(matcher.siamese.fingerprint, image_ids)
    ids = [int(i) for i in ids]
    gallery = np.asarray(vectors, dtype=np.float64).reshape(len(ids), -1)
    out = []
    for query in queries:
        if query.siamese_vector is None or not ids:
            out.append({})
            continue
        out.append(dict(zip(ids, np.linalg.norm(gallery - np.asarray(query.siamese_vector, dtype=np.float64)[None, :], axis=1).tolist())))
    return out


def gather_evidence(store: GalleryStore, index_for: IndexGetter, matcher: CraniofacialMatcher | FusedXrayMatcher, queries: Sequence[XrayQuery],
                    *, top_k: int, exact: bool, cancel: threading.Event | None) -> list[PersonEvidence]:
    """Every candidate person's evidence (first stage, then the exact stage); ``index_for`` gives
    a matcher's index by its fingerprint, up to date with the database."""
    craniofacial = matcher.craniofacial if isinstance(matcher, FusedXrayMatcher) else matcher
    people = candidate_people(store, index_for, matcher, queries, top_k=top_k, exact=exact)
    if not people:
        raise GalleryError("The gallery holds no photo the X-ray could be compared with.")
    all_ids = [i for ids in people.values() for i in ids]
    marks = face_landmarks(store, craniofacial.fingerprint, all_ids)
    check_cancel(cancel, "The search")
    fits = _view_fits(queries, craniofacial, marks)
    siamese = _siamese_distances(store, matcher, queries, all_ids) if isinstance(matcher, FusedXrayMatcher) else None
    evidence = []
    for subject_id, photo_ids in sorted(people.items()):
        check_cancel(cancel, "The search")
        evidence.append(person_evidence(subject_id, photo_ids, queries, fits, marks, siamese, matcher))
    return evidence


def ranked(evidence: Sequence[PersonEvidence], *, craniofacial_only: bool) -> tuple[list[PersonEvidence], list[PersonEvidence]]:
    """The people in order of decreasing likelihood ratio (equal ratios by the fusion's unclipped
    combination, then by subject id), and those that
    could not be ranked (no evidence; with the craniofacial matcher alone, no comparable photo)."""
    usable = [e for e in evidence if math.isfinite(e.ln_lr) and (not craniofacial_only or any(k.startswith("cf_") for k in e.features))]
    kept = {id(e) for e in usable}
    rest = [e for e in evidence if id(e) not in kept]
    return sorted(usable, key=lambda e: (-e.ln_lr, -e.score if math.isfinite(e.score) else math.inf, e.subject_id)), rest


def evidence_json(evidence: PersonEvidence) -> dict[str, Any]:
    """A candidate's craniofacial record (the card, ``--json`` and the report read it)."""
    return {"status": evidence.verdict.status, "statement": evidence.verdict.sentence(), "excluding": list(evidence.verdict.excluding),
            "basis": evidence.verdict.basis if evidence.verdict.status == INCONSISTENT else None,
            "reasons": list(dict.fromkeys(evidence.verdict.reasons)), "views": evidence.views,
            "evidence": {k: round(v, 4) for k, v in evidence.features.items()}, "log10_lr": round(evidence.ln_lr / math.log(10), 4)}


def likelihood_ratio(evidence: PersonEvidence) -> tuple[float, str]:
    lr = float(math.exp(evidence.ln_lr))
    return lr, verbal_scale(lr)


def skull_warnings(queries: Sequence[XrayQuery]) -> list[str]:
    """What each assessed X-ray's skull landmarks make less reliable, one sentence each: the
    landmark detector's warnings (but its list of low-confidence points, which the landmark view
    shows; marked as the detector's once the examiner moved points) and the detected points the prediction set aside
    (:attr:`~crossid_desktop.matching.craniofacial.model.Prediction.set_aside`)."""
    out = []
    for query in queries:
        if query.prediction is None or query.problem or query.landmarks is None:
            continue
        which = "frontal" if query.view == "front" else "lateral"
        said = which.capitalize() + " X-ray landmarks" + (", as detected before the examiner's corrections: " if query.landmarks.corrected else ": ")
        out.extend(said + w for w in serious_warnings(query.landmarks.warnings))
        names = [n.replace("_", " ") for n in query.prediction.set_aside]
        if names:
            points, pronoun = (f"point {names[0]}", "it") if len(names) == 1 else ("points " + ", ".join(names), "them")
            out.append(f"On the {which} X-ray the detector's skull {points} did not fit the other skull landmarks, so the comparison left "
                       f"{pronoun} out and estimated {pronoun} from the others; check {pronoun} on the X-ray and correct {pronoun} if misplaced.")
    return out


def xray_query_json(query: XrayQuery) -> dict[str, Any]:
    """An X-ray's record: its skull landmarks, the unit of its residuals, why it could not be assessed,
    the skull points estimated because they were not found (``imputed``) or were set aside (``set_aside``)."""
    prediction = query.prediction
    return {"view": query.view, "landmarks": None if query.landmarks is None else query.landmarks.to_dict(), "problem": query.problem,
            "unit": None if prediction is None or prediction.problem else prediction.unit,
            "imputed": [] if prediction is None else list(prediction.imputed),
            "set_aside": [] if prediction is None else list(prediction.set_aside),
            "uncertainty_ratio": None if prediction is None or not math.isfinite(prediction.uncertainty_ratio) else round(prediction.uncertainty_ratio, 3)}
