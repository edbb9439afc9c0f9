"""1:N search: query file(s) -> load -> preprocess -> encode -> k-NN -> ranked candidates.

The same service serves the CLI, the GUI's worker thread and batch jobs. Subjects are ranked by
their best photo (smallest distance over the subject's photos). A frontal and a lateral X-ray of
one skull can be searched together: their per-subject distances are averaged (fused), so a
subject must match in both views to rank high.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import GalleryError, MatcherMismatchError
from crossid_desktop.matching.base import QueryModality, confidence
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress

if TYPE_CHECKING:
    from crossid_desktop.imaging.io import LoadedImage
    from crossid_desktop.matching.base import Matcher
    from crossid_desktop.matching.selection import MatcherCache
    from crossid_desktop.workspace import Workspace

#: candidate photos fetched from the index per query before ranking subjects exactly
SHORTLIST_FACTOR = 10
SHORTLIST_MIN = 200


@dataclass(frozen=True)
class Candidate:
    """One ranked gallery subject (or photo, when ranking photos)."""

    rank: int
    subject_id: str
    name: str
    image_id: int  # the subject's photo nearest to the (first) query
    image_path: str
    distance: float  # Euclidean distance to that photo; with several queries, the mean over queries of each one's nearest photo
    confidence: float  # exp(-distance^2), the publication's score
    likelihood_ratio: float | None = None  # when the matcher carries a calibration
    verbal_scale: str | None = None


@dataclass(frozen=True)
class QueryInfo:
    path: str | None
    sha256: str
    modality: str
    meta: dict[str, Any]


@dataclass(frozen=True)
class SearchResult:
    queries: tuple[QueryInfo, ...]
    matcher_name: str
    matcher_fingerprint: str
    gallery_subjects: int
    gallery_images: int
    gallery_digest: str
    rank_by: str  # "subject" | "image"
    candidates: tuple[Candidate, ...]
    preprocessing: dict[str, Any]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (``crossid search --json``)."""
        data = asdict(self)
        data["query"] = data["queries"][0] if len(self.queries) == 1 else data["queries"]
        for candidate in data["candidates"]:
            candidate["image"] = candidate.pop("image_path")
        return data

    def rank_of(self, subject_id: str) -> int | None:
        """Rank of a subject among the returned candidates, or None."""
        return next((c.rank for c in self.candidates if c.subject_id == subject_id), None)


def left_right_symmetry(image: LoadedImage) -> float:
    """Correlation in [-1, 1] between an image and its mirror: a frontal skull is symmetric,
    a lateral one is not."""
    grey = image.grey_float()
    small = grey[:: max(1, grey.shape[0] // 128), :: max(1, grey.shape[1] // 128)]
    a = small - small.mean()
    b = a[:, ::-1]
    return float((a * b).sum() / (np.sqrt((a * a).sum() * (b * b).sum()) + 1e-9))


def pair_views(images: Sequence[LoadedImage]) -> list[QueryModality]:
    """The views of a frontal and a lateral X-ray of one skull, in the images' order: the more
    left-right symmetric image is the frontal one, whatever order the files came in."""
    if len(images) != 2:
        raise ValueError("pair_views takes exactly two images")
    front_first = left_right_symmetry(images[0]) >= left_right_symmetry(images[1])
    return [QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE] if front_first else [QueryModality.XRAY_SIDE, QueryModality.XRAY_FRONT]


#: ViewPosition values (DICOM's defined terms and common vendor spellings) and their views
FRONTAL_VIEW_POSITIONS = frozenset({"PA", "AP"})
LATERAL_VIEW_POSITIONS = frozenset({"LL", "RL", "LAT", "LATERAL", "LLAT", "RLAT"})


@dataclass(frozen=True)
class DicomViewGuess:
    """What a DICOM header says the query is, and which tag says so (``basis``, for the screen)."""

    modality: QueryModality
    basis: str


def guess_from_dicom(tags: Mapping[str, str]) -> DicomViewGuess | None:
    """The modality and view a DICOM header states, or ``None`` when it states none.

    In order: Modality ``XC`` (a photograph: an injured face here); ViewPosition (PA, AP:
    frontal; LL, RL, LAT: lateral); the View Code Sequence's meaning; Patient Orientation
    (columns running head-foot, rows left-right: frontal; rows anterior-posterior:
    lateral); Image Laterality L or R on a skull or head (one side
    imaged: lateral). ``tags`` are ``ImageMeta.dicom`` or ``DicomImage.tags``.
    """
    if tags.get("Modality", "").strip().upper() == "XC":
        return DicomViewGuess(QueryModality.INJURED_FACE, "Modality XC (a photograph)")
    view = tags.get("ViewPosition", "").strip().upper()
    if view in FRONTAL_VIEW_POSITIONS or view in LATERAL_VIEW_POSITIONS:
        return DicomViewGuess(QueryModality.XRAY_FRONT if view in FRONTAL_VIEW_POSITIONS else QueryModality.XRAY_SIDE, f"ViewPosition {view}")
    meaning = tags.get("ViewCodeMeaning", "").strip().lower()
    if "lateral" in meaning:
        return DicomViewGuess(QueryModality.XRAY_SIDE, f"view code {meaning!r}")
    if any(word in meaning.replace("-", "") for word in ("posteroanterior", "anteroposterior", "frontal")):
        return DicomViewGuess(QueryModality.XRAY_FRONT, f"view code {meaning!r}")
    directions = tags.get("PatientOrientation", "").strip().upper().split("\\")
    if len(directions) == 2 and directions[0] and directions[1][:1] in {"H", "F"}:  # columns run head-foot
        if set(directions[0]) <= {"L", "R"}:
            return DicomViewGuess(QueryModality.XRAY_FRONT, f"PatientOrientation {directions[0]}\\{directions[1]}")
        if set(directions[0]) <= {"A", "P"}:
            return DicomViewGuess(QueryModality.XRAY_SIDE, f"PatientOrientation {directions[0]}\\{directions[1]}")
    laterality = tags.get("ImageLaterality", "").strip().upper()
    if laterality in {"L", "R"} and tags.get("BodyPartExamined", "").strip().upper() in {"SKULL", "HEAD"}:
        return DicomViewGuess(QueryModality.XRAY_SIDE, f"ImageLaterality {laterality} on a skull (one side imaged)")
    return None


def guess_modality(image: LoadedImage) -> QueryModality:
    """A first guess the user can correct: what a DICOM header states (:func:`guess_from_dicom`);
    otherwise colour photos are injured faces, and greyscale images and DICOMs are X-rays,
    frontal when left-right symmetric, else lateral."""
    stated = guess_from_dicom(image.meta.dicom) if image.meta.dicom else None
    if stated is not None:
        return stated.modality
    pixels = image.pixels
    if not image.meta.dicom and pixels.ndim == 3:
        channels = pixels.astype(np.int16)
        colourful = np.abs(channels[..., 0] - channels[..., 1]).mean() + np.abs(channels[..., 1] - channels[..., 2]).mean()
        if colourful > 6.0:
            return QueryModality.INJURED_FACE
    return QueryModality.XRAY_FRONT if left_right_symmetry(image) > 0.6 else QueryModality.XRAY_SIDE


class SearchService:
    """Searches one workspace's gallery; keeps matchers loaded between searches."""

    def __init__(self, workspace: Workspace, *, matchers: MatcherCache | None = None) -> None:
        from crossid_desktop.matching.selection import MatcherCache

        self.workspace = workspace
        self.matchers = matchers or MatcherCache()

    def matcher_for(self, modality: QueryModality) -> Matcher:
        from crossid_desktop.matching.selection import role_of

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
        modality: QueryModality | Sequence[QueryModality] | None = None,
        top_k: int = 10,
        rank_by: str = "subject",
        exact: bool = False,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> SearchResult:
        """Rank the gallery against one query, or a frontal and a lateral X-ray together.

        ``modality``: one for every query, one per query (the examiner's corrections), or None
        to guess (two X-rays are then taken as one frontal and one lateral view).
        """
        from crossid_desktop.gallery.index import GalleryIndex
        from crossid_desktop.imaging.io import LoadedImage, load_image

        if not queries:
            raise GalleryError("No query image was given.")
        if rank_by not in ("subject", "image"):
            raise ValueError("rank_by is 'subject' or 'image'")
        progress = progress or no_progress
        timings: dict[str, float] = {}
        start = time.perf_counter()
        images = [q if isinstance(q, LoadedImage) else load_image(q) for q in queries]
        if modality is None:
            modalities = [guess_modality(image) for image in images]
            if len(images) == 2 and modalities[0] == modalities[1] and modalities[0].is_xray:
                modalities = pair_views(images)
        elif isinstance(modality, QueryModality):
            modalities = [modality] * len(images)
        else:
            modalities = [QueryModality(m) for m in modality]
            if len(modalities) != len(images):
                raise ValueError(f"{len(modalities)} modalities for {len(images)} query images")
        if len({m.is_xray for m in modalities}) > 1:
            raise MatcherMismatchError("X-ray and face-photo queries cannot be searched together; search them one at a time.")
        timings["load"] = _ms(start)
        check_cancel(cancel, "The search")
        progress(1, 4, "loading the matcher")

        matcher = self.matcher_for(modalities[0])
        store = self.workspace.store()
        try:
            counts = store.counts()
            if counts.images == 0:
                raise GalleryError("The gallery is empty; enrol face photos first (crossid enroll DIR).")
            t = time.perf_counter()
            index = GalleryIndex.open(self.workspace.indexes_dir, store, matcher.fingerprint, cancel=cancel)
            if index.count == 0:
                raise MatcherMismatchError(
                    f"The gallery has no embeddings for the matcher {matcher.name}; enrol again or rebuild its index (crossid gallery rebuild-index)."
                )
            if index.dim != matcher.embedding_dim:
                raise MatcherMismatchError(f"The index of {matcher.name} has {index.dim}-d vectors but the matcher makes {matcher.embedding_dim}-d ones; rebuild the index.")
            timings["open_index"] = _ms(t)
            progress(2, 4, "encoding the query")
            t = time.perf_counter()
            vectors = np.concatenate([matcher.encode_query([image], m, cancel=cancel) for image, m in zip(images, modalities)])
            timings["encode"] = _ms(t)
            check_cancel(cancel, "The search")
            progress(3, 4, "searching the gallery")
            t = time.perf_counter()
            candidates = self._rank(store, index, vectors, top_k=top_k, rank_by=rank_by, exact=exact, matcher=matcher)
            timings["search"] = _ms(t)
            digest = store.gallery_digest()
        finally:
            store.close()
        timings["total"] = _ms(start)
        progress(4, 4, "done")
        preprocessing = matcher.model_card().get("preprocessing", {})
        infos = tuple(
            QueryInfo(str(image.path) if image.path else None, image.sha256, m.value, _meta_dict(image)) for image, m in zip(images, modalities)
        )
        return SearchResult(infos, matcher.name, matcher.fingerprint, counts.subjects, counts.images, digest, rank_by, candidates, preprocessing, timings)

    def _rank(self, store, index, vectors: NDArray[np.float32], *, top_k: int, rank_by: str, exact: bool, matcher: Matcher) -> tuple[Candidate, ...]:
        shortlist = min(index.count, max(SHORTLIST_MIN, SHORTLIST_FACTOR * top_k))
        ids, _ = index.search(vectors, shortlist, exact=exact)
        images = {record.image_id: record for record in store.images()}
        candidate_ids = sorted({int(i) for i in ids.ravel() if int(i) in images})
        if rank_by == "subject":  # every photo of a shortlisted subject takes part
            subjects = {images[i].subject_id for i in candidate_ids}
            candidate_ids = sorted(i for i, record in images.items() if record.subject_id in subjects)
        stored_ids, gallery = store.embeddings(matcher.fingerprint, candidate_ids)
        candidate_ids = [int(i) for i in stored_ids]
        distances = np.sqrt(((vectors[:, None, :].astype(np.float64) - gallery[None, :, :]) ** 2).sum(-1))  # (queries, photos)
        if rank_by == "image":
            fused = distances.mean(axis=0)
            order = np.argsort(fused, kind="stable")[:top_k]
            chosen = [(candidate_ids[j], float(fused[j])) for j in order]
        else:
            best: dict[str, tuple[float, int]] = {}
            per_subject: dict[str, list[int]] = {}
            for column, image_id in enumerate(candidate_ids):
                per_subject.setdefault(images[image_id].subject_id, []).append(column)
            for subject, columns in per_subject.items():
                per_query_best = distances[:, columns].min(axis=1)  # each view's best photo
                fused = float(per_query_best.mean())
                photo = candidate_ids[columns[int(np.argmin(distances[0, columns]))]]  # the first query's best photo
                best[subject] = (fused, photo)
            ordered = sorted(best.items(), key=lambda item: (item[1][0], item[0]))[:top_k]
            chosen = [(photo, distance) for _, (distance, photo) in ordered]
        # The calibration models the distance of ONE query to ONE photo; a fused distance over
        # several queries is another statistic, so it gets no likelihood ratio.
        calibration = _calibration(matcher) if len(vectors) == 1 else None
        subjects = {record.subject_id: record for record in store.subjects()}
        result = []
        for rank, (image_id, distance) in enumerate(chosen, start=1):
            record = images[image_id]
            lr = verbal = None
            if calibration is not None:
                from crossid_desktop.evaluation.calibration import verbal_scale

                lr = float(calibration.likelihood_ratio_from_distance(np.array([distance]))[0])
                verbal = verbal_scale(lr)
            result.append(
                Candidate(rank, record.subject_id, subjects[record.subject_id].name, image_id, str(record.path), distance, float(confidence(distance)), lr, verbal)
            )
        return tuple(result)


def _calibration(matcher: Matcher):
    card = matcher.model_card()
    data = card.get("calibration") if isinstance(card, dict) else None
    if not data:
        return None
    from crossid_desktop.evaluation.calibration import Calibration

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
