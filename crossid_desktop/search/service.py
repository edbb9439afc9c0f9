"""1:N search: query file(s) -> load -> preprocess -> encode -> k-NN -> ranked candidates.

The same service serves the CLI, the GUI's worker thread and batch jobs. Subjects are ranked by
their best photo (smallest distance over the subject's photos). A frontal and a lateral X-ray of
one skull can be searched together: their per-subject distances are averaged (fused), so a
subject must match in both views to rank high.

**Refusals and warnings.** A query that cannot be searched meaningfully is refused before the
matcher runs (:func:`crossid_desktop.search.query.check_query_images`, ``check_query_set``).
What makes a search that does run less reliable is said on its result: ``SearchResult.warnings``,
one sentence each for the examiner, shown wherever the result is (``crossid search`` prints
them, ``--json`` has ``"warnings": [...]``, the window shows them above the cards, the case
report on its first page) and stored with the result in a case. Producers return sentences;
:meth:`SearchService.search` gathers them, and :meth:`SearchResult.with_warnings` adds more to
a result already made (the window's own, e.g. views left at the guess).

**Cost.** The service keeps the database open and each matcher's index loaded between
searches. Before each query it compares the index's generation with the database's (one row
lookup) and applies what changed since; it then asks the index for a shortlist and reads the
records and vectors of the shortlisted photos (and of the other photos of shortlisted
subjects) by id. Nothing in a search reads the whole gallery: its cost beyond the index query
does not grow with the gallery. Call :meth:`SearchService.close` when done (or use ``with``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import GalleryError, MatcherMismatchError
from crossid_desktop.gallery.backends import open_index
from crossid_desktop.gallery.index_base import GalleryIndexBase
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.imaging.io import LoadedImage, load_image
from crossid_desktop.matching.base import Matcher, QueryModality, confidence
from crossid_desktop.matching.calibration import Calibration, verbal_scale
from crossid_desktop.matching.craniofacial.matcher import CraniofacialMatcher, FusedXrayMatcher
from crossid_desktop.matching.craniofacial.points import Landmarks
from crossid_desktop.matching.preprocess import FaceChoice, PreparedQuery
from crossid_desktop.matching.selection import MatcherCache, role_of
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress
from crossid_desktop.search.face_ranking import Rescore, choose, transplant_hook
from crossid_desktop.search.query import ANY_XRAY_VIEW, check_distinct_images, check_query_images, check_query_set, describe_preparation, query_warnings, resolve_modalities
from crossid_desktop.search.results import Candidate, QueryInfo, SearchResult
from crossid_desktop.search.xray_ranking import (
    evidence_json,
    exclusion_bound,
    gather_evidence,
    likelihood_ratio,
    prepare_queries,
    ranked,
    skull_warnings,
    xray_query_json,
)
from crossid_desktop.workspace import Workspace

#: candidate photos fetched from the index per query before ranking subjects exactly
SHORTLIST_FACTOR = 10
SHORTLIST_MIN = 200


class SearchService:
    """Searches one workspace's gallery; keeps matchers, the database and indexes open between
    searches. Use from one thread at a time (the GUI's worker thread owns one)."""

    def __init__(self, workspace: Workspace, *, matchers: MatcherCache | None = None) -> None:
        self.workspace = workspace
        self.matchers = matchers or MatcherCache()
        self._store: GalleryStore | None = None
        self._indexes: dict[str, GalleryIndexBase] = {}

    def __enter__(self) -> SearchService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the indexes and the database (a later search opens them again)."""
        for index in self._indexes.values():
            index.close()
        self._indexes.clear()
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def store(self) -> GalleryStore:
        """The workspace's gallery database, opened on first use and kept."""
        if self._store is None:
            self._store = GalleryStore(self.workspace.db_path)
        return self._store

    def index_for(self, fingerprint: str, *, cancel: threading.Event | None = None) -> GalleryIndexBase:
        """A matcher's index, up to date with the database: kept open between searches and
        caught up before each (one row lookup when nothing changed)."""
        index = self._indexes.get(fingerprint)
        if index is not None and index.catch_up(cancel):
            return index
        if index is not None:
            index.close()
        self._indexes[fingerprint] = index = open_index(self.workspace, self.store, fingerprint, cancel=cancel)
        return index

    def rank_vectors(
        self, fingerprint: str, vectors: NDArray[np.float32], *, top_k: int = 10, rank_by: str = "subject", exact: bool = False, calibration: Calibration | None = None
    ) -> tuple[Candidate, ...]:
        """The whole ranking step of a search for already encoded queries ``(m, d)``: the index
        brought up to date, the shortlist, the exact ranking of its photos and their records."""
        return self.rank(self.index_for(fingerprint), vectors, top_k=top_k, rank_by=rank_by, exact=exact, calibration=calibration)

    def matcher_for(self, modality: QueryModality) -> Matcher:
        matcher = self.matchers.for_role(self.workspace.root, role_of(modality))
        if modality not in matcher.query_modalities:
            raise MatcherMismatchError(
                f"The matcher {matcher.name} was not trained for {modality.value.replace('_', ' ')} queries."
            )
        return matcher

    def search(
        self,
        queries: Sequence[str | Path | LoadedImage],
        *,
        modality: QueryModality | Sequence[QueryModality] | str | None = None,
        top_k: int = 10,
        rank_by: str = "subject",
        exact: bool = False,
        choices: Sequence[FaceChoice | None] | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        landmarks: Sequence[Landmarks | None] | None = None,
    ) -> SearchResult:
        """Rank the gallery against one query, or a frontal and a lateral X-ray together.

        ``modality``: one for every query, one per query (the examiner's corrections),
        ``"xray"`` (:data:`~crossid_desktop.search.query.ANY_XRAY_VIEW`) for X-rays whose views
        are guessed, or None to guess everything. Refuses unsuitable queries
        (:class:`~crossid_desktop.errors.UnsuitableQueryError`) and warns on the result.
        ``choices``: for face photos, one :class:`FaceChoice` per query (which face, a centre crop
        when none is found, the examiner's mask of parts to ignore); None: the photo must show one face.
        ``landmarks``: per query, the skull landmarks the examiner placed or corrected (the
        craniofacial matcher finds them where None).
        """
        if not queries:
            raise GalleryError("No query image was given.")
        if rank_by not in ("subject", "image"):
            raise ValueError("rank_by is 'subject' or 'image'")
        progress = progress or no_progress
        timings: dict[str, float] = {}
        start = time.perf_counter()
        images = [q if isinstance(q, LoadedImage) else load_image(q) for q in queries]
        check_distinct_images(images)
        modalities = resolve_modalities(images, modality)
        check_query_set(modalities)
        check_query_images(images, modalities)
        warnings = query_warnings(images, modalities, views_guessed=modality is None or modality == ANY_XRAY_VIEW)
        timings["load"] = _ms(start)
        check_cancel(cancel, "The search")
        progress(1, 4, "loading the matcher")

        matcher = self.matcher_for(modalities[0])
        if isinstance(matcher, (CraniofacialMatcher, FusedXrayMatcher)):
            result = self._search_xray(matcher, images, modalities, top_k=top_k, exact=exact, landmarks=landmarks, progress=progress,
                                       cancel=cancel, timings=timings, start=start)
            return result.with_warnings(*warnings)
        store = self.store
        counts = store.counts()
        if counts.images == 0:
            raise GalleryError("The gallery is empty; enrol face photos first (crossid enroll DIR).")
        t = time.perf_counter()
        index = self._matcher_index(matcher, cancel)
        timings["open_index"] = _ms(t)
        progress(2, 4, "encoding the query")
        t = time.perf_counter()
        choices = list(choices) if choices is not None else [None] * len(images)
        if len(choices) != len(images):
            raise ValueError(f"{len(choices)} face choices for {len(images)} query images")
        encoded = [_encode(matcher, image, m, choice, cancel) for image, m, choice in zip(images, modalities, choices)]
        vectors = np.concatenate([vector for vector, _ in encoded])
        timings["encode"] = _ms(t)
        check_cancel(cancel, "The search")
        progress(3, 4, "searching the gallery")
        t = time.perf_counter()
        candidates = self.rank(index, vectors, top_k=top_k, rank_by=rank_by, exact=exact, calibration=_calibration(matcher),
                               rescore=transplant_hook(matcher, store, vectors, [prepared for _, prepared in encoded]))
        timings["search"] = _ms(t)
        digest = store.gallery_digest()
        timings["total"] = _ms(start)
        progress(4, 4, "done")
        preprocessing = matcher.model_card().get("preprocessing", {})
        infos = tuple(
            QueryInfo(str(image.path) if image.path else None, image.sha256, m.value, _meta_dict(image), *describe_preparation(prepared))
            for image, m, (_, prepared) in zip(images, modalities, encoded)
        )
        warnings = [*(w for info in infos for w in info.warnings), *warnings]  # the face's first: a centre crop matters most
        return SearchResult(infos, matcher.name, matcher.fingerprint, counts.subjects, counts.images, digest, rank_by, candidates, preprocessing, timings,
                            tuple(dict.fromkeys(warnings)))

    def _matcher_index(self, matcher: Matcher, cancel: threading.Event | None) -> GalleryIndexBase:
        """The matcher's index, refused when it holds no vectors or vectors of another size."""
        index = self.index_for(matcher.fingerprint, cancel=cancel)
        if index.count == 0:
            raise MatcherMismatchError(
                f"The gallery has no embeddings for the matcher {matcher.name}; enrol again or rebuild its index (crossid gallery rebuild-index)."
            )
        if index.dim != matcher.embedding_dim:
            raise MatcherMismatchError(f"The index of {matcher.name} has {index.dim}-d vectors but the matcher makes {matcher.embedding_dim}-d ones; rebuild the index.")
        return index

    def _search_xray(self, matcher: CraniofacialMatcher | FusedXrayMatcher, images: list[LoadedImage], modalities: list[QueryModality], *,
                     top_k: int, exact: bool, landmarks: Sequence[Landmarks | None] | None, progress: ProgressCallback,
                     cancel: threading.Event | None, timings: dict[str, float], start: float) -> SearchResult:
        """The craniofacial search (:mod:`crossid_desktop.search.xray_ranking`)."""
        progress(2, 4, "finding the skull landmarks")
        t = time.perf_counter()
        queries = prepare_queries(matcher, images, modalities, landmarks, cancel)
        timings["landmarks"] = _ms(t)
        progress(3, 4, "comparing the skull with the gallery's faces")
        t = time.perf_counter()
        store = self.store
        counts = store.counts()
        if counts.images == 0:
            raise GalleryError("The gallery is empty; enrol face photos first (crossid enroll DIR).")
        evidence = gather_evidence(store, lambda fingerprint: self.index_for(fingerprint, cancel=cancel), matcher, queries, top_k=top_k, exact=exact, cancel=cancel)
        order, unranked = ranked(evidence, craniofacial_only=isinstance(matcher, CraniofacialMatcher))
        shown = order[:top_k]
        records = store.images_by_id(_shown_photo(e) for e in shown)
        names = store.subject_names(e.subject_id for e in shown)
        digest = store.gallery_digest()
        timings["search"] = _ms(t)
        candidates = tuple(_xray_candidate(rank, e, records, names) for rank, e in enumerate(shown, start=1))
        timings["total"] = _ms(start)
        progress(4, 4, "done")
        infos = tuple(QueryInfo(str(image.path) if image.path else None, image.sha256, m.value, _meta_dict(image)) for image, m in zip(images, modalities))
        extra = {"queries": [xray_query_json(q) for q in queries],
                 "not_assessed": [{"subject_id": e.subject_id, "reasons": list(dict.fromkeys(e.verdict.reasons))} for e in unranked],
                 "people_compared": len(evidence), "lr_limit": exclusion_bound(matcher)}
        return SearchResult(infos, matcher.name, matcher.fingerprint, counts.subjects, counts.images, digest, "subject", candidates,
                            matcher.model_card().get("preprocessing", {}), timings, craniofacial=extra, warnings=tuple(skull_warnings(queries)))

    def locate(
        self,
        subject_id: str,
        queries: Sequence[str | Path | LoadedImage],
        *,
        modality: QueryModality | Sequence[QueryModality] | None = None,
        result: SearchResult | None = None,
        choices: Sequence[FaceChoice | None] | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[int | None, bool]:
        """Where ``subject_id`` ranks for this query over the whole gallery, even beyond the
        top-k: ``(rank, in_gallery)``; ``(None, False)`` when the gallery does not hold the
        subject. ``result``, the search already made, saves a second search when it holds them."""
        if result is not None and (rank := result.rank_of(subject_id)) is not None:
            return rank, True
        if not self.store.has_subject(subject_id):
            return None, False
        whole = self.search(list(queries), modality=modality, top_k=max(self.store.counts().subjects, 1), choices=choices, cancel=cancel)
        return whole.rank_of(subject_id), True

    def rank(
        self, index: GalleryIndexBase, vectors: NDArray[np.float32], *, top_k: int, rank_by: str = "subject", exact: bool = False, calibration: Calibration | None = None,
        rescore: Rescore | None = None,
    ) -> tuple[Candidate, ...]:
        """The ranking step of a search, the query already encoded (``vectors`` (m, d), one row
        per query): a shortlist from the index, then exact distances over the shortlisted
        photos (and every photo of a shortlisted subject), read from the database by id.
        ``rescore(image_ids, subjects, distances, vectors)`` re-scores the distances ``(m, n)`` before ranking
        and may give the subjects' fused scores (the occlusion transplant, ``search/face_ranking.py``); a
        likelihood ratio still comes from the shown photo's plain distance, which the calibration models."""
        store = self.store
        shortlist = min(index.count, max(SHORTLIST_MIN, SHORTLIST_FACTOR * top_k))
        ids, _ = index.search(vectors, shortlist, exact=exact)
        subject_of = store.subjects_of_images(int(i) for i in np.unique(ids))
        if rank_by == "subject":  # every photo of a shortlisted subject takes part
            subject_of = store.images_of_subjects_ids(subject_of.values())
        stored_ids, gallery = index.ranking_vectors(sorted(subject_of))
        candidate_ids = [int(i) for i in stored_ids]
        distances = np.sqrt(((vectors[:, None, :].astype(np.float64) - gallery[None, :, :]) ** 2).sum(-1))  # (queries, photos)
        plain = dict(zip(candidate_ids, distances[0].tolist()))
        subjects = [subject_of[i] for i in candidate_ids]
        by_subject = None
        if rescore is not None:
            distances, by_subject = rescore(candidate_ids, subjects, distances, gallery)
        chosen = choose(candidate_ids, subjects, distances, top_k=top_k, rank_by=rank_by, subject_scores=by_subject)
        images = store.images_by_id(image_id for image_id, _ in chosen)
        # The calibration models the distance of ONE query to ONE photo; a fused distance over
        # several queries is another statistic, so it gets no likelihood ratio.
        calibration = calibration if len(vectors) == 1 else None
        names = store.subject_names(images[image_id].subject_id for image_id, _ in chosen)
        result = []
        for rank, (image_id, distance) in enumerate(chosen, start=1):
            record = images[image_id]
            lr = verbal = None
            if calibration is not None:
                lr = float(calibration.likelihood_ratio_from_distance(np.array([plain[image_id]]))[0])
                verbal = verbal_scale(lr)
            result.append(
                Candidate(rank, record.subject_id, names[record.subject_id], image_id, str(record.path), distance, float(confidence(distance)), lr, verbal)
            )
        return tuple(result)


def _encode(matcher: Matcher, image: LoadedImage, modality: QueryModality, choice: FaceChoice | None,
            cancel: threading.Event | None) -> tuple[NDArray[np.float32], PreparedQuery | None]:
    """Embed one query, keeping how it was prepared when the matcher says so."""
    prepare = getattr(matcher, "prepare", None)
    if prepare is None or modality.is_xray:
        kwargs = {} if modality.is_xray else {"choices": [choice]}
        return np.asarray(matcher.encode_query([image], modality, cancel=cancel, **kwargs), dtype=np.float32), None
    prepared = prepare(image, modality, choice)
    check_cancel(cancel, "The search")
    return np.asarray(matcher.encode_prepared([prepared], modality), dtype=np.float32), prepared


def ratio_score(ln_lr: float) -> float:
    """The score of a craniofacial candidate: the likelihood ratio on a 0-1 scale, LR / (1 + LR)
    (computed without overflow); it orders the candidates as their ratios do, where a
    similarity of the Siamese network would not."""
    return float(1.0 / (1.0 + math.exp(-ln_lr))) if ln_lr >= 0 else float(math.exp(ln_lr) / (1.0 + math.exp(ln_lr)))


def _shown_photo(evidence: Any) -> int:
    """The photo a ranked person is shown with: their best of the first view compared, else their
    nearest by the Siamese network."""
    photo = next((v["photo"] for v in evidence.views.values() if "photo" in v), None)
    return int(photo if photo is not None else evidence.siamese_best[0])


def _xray_candidate(rank: int, evidence: Any, records: dict[int, Any], names: dict[str, str]) -> Candidate:
    """A ranked person of the craniofacial search: shown with their best photo of the first view
    compared (else their nearest photo by the Siamese network); ``distance`` is that Siamese
    distance where fused, else the best photo's misfit per degree of freedom, square-rooted;
    ``confidence`` is :func:`ratio_score`."""
    photo = _shown_photo(evidence)
    if evidence.siamese_best is not None:
        distance = evidence.siamese_best[1]
    else:
        distance = math.sqrt(next(v["misfit_per_dof"] for v in evidence.views.values() if "misfit_per_dof" in v))
    lr, verbal = likelihood_ratio(evidence)
    record = records[photo]
    return Candidate(rank, evidence.subject_id, names.get(evidence.subject_id, ""), photo, str(record.path), float(distance),
                     ratio_score(evidence.ln_lr), lr, verbal, evidence_json(evidence))


def _calibration(matcher: Matcher) -> Calibration | None:
    card = matcher.model_card()
    data = card.get("calibration") if isinstance(card, dict) else None
    if not data:
        return None
    return Calibration.from_dict(data)


def _meta_dict(image: LoadedImage) -> dict[str, Any]:
    """What a query's record keeps of its metadata: the DICOM frame searched, the pixel spacing
    (from the file or the examiner's ruler) and the patient's identifiers when the file names
    them (the report prints these only when the examiner asks)."""
    meta = image.meta
    out: dict[str, Any] = {"format": meta.format, "width": meta.width, "height": meta.height, "bit_depth": meta.bit_depth, "dicom": dict(meta.dicom)}
    if meta.frames > 1:
        out.update(frame=meta.frame, frames=meta.frames)
    if meta.spacing is not None:
        out["pixel_spacing"] = meta.spacing.to_dict()
    if meta.patient is not None:
        out["patient"] = meta.patient.to_dict()
    return out


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)
