"""Every job the window's worker thread runs.

Each ``*_job(...)`` returns a function ``run(context, progress, cancel)`` that the
:class:`~crossid_desktop.gui.worker.Worker` calls in its thread with the
:class:`~crossid_desktop.gui.worker.JobContext` (the open workspace, its search service and the
loaded matchers), a ``progress(done, total, message)`` callback and a cancel
:class:`threading.Event`. Jobs call the same services as the CLI, never touch a widget, and
return the records of :mod:`crossid_desktop.gui.job_results`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtGui import QImage

from crossid_desktop.about import collect_info
from crossid_desktop.cases import CaseService, ExaminerMark
from crossid_desktop.cases.events import log_event
from crossid_desktop.cases.landmarks import CaseLandmarks
from crossid_desktop.cases.report import export_report
from crossid_desktop.cases.signing import SignerFile
from crossid_desktop.errors import InvalidImageError
from crossid_desktop.gallery.enrol import EnrolmentReport, decode_png, enrol
from crossid_desktop.gallery.maintenance import index_status, rebuild_indexes, remove_subjects
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.gui.face_preview import face_preview
from crossid_desktop.gui.images import png_to_qimage, to_qimage
from crossid_desktop.gui.job_results import ComparePair, GallerySnapshot, MatcherIndexState, Preview, QueryImage, SearchOutcome, StartupFacts
from crossid_desktop.gui.preview_settings import soft_tissue_at
from crossid_desktop.gui.worker import JobFunction
from crossid_desktop.imaging.dicom_media import DicomMedia, DicomSeries, open_media, thumbnail
from crossid_desktop.imaging.io import LoadedImage, load_image
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.craniofacial.points import Landmarks
from crossid_desktop.matching.landmarks.service import LandmarkResult, find_landmarks
from crossid_desktop.matching.preprocess import FaceChoice, prepare_query
from crossid_desktop.progress import ProgressCallback, check_cancel
from crossid_desktop.search.query import check_distinct_images, check_query_set, guess_modality, initial_modalities, query_warnings
from crossid_desktop.search.xray_overlay import candidate_overlay
from crossid_desktop.selftest import SelfTestOutcome, run_selftest


# -- the window -----------------------------------------------------------------------------------
def startup_job() -> JobFunction:
    """The facts the status bar shows at start: versions, compute device, gallery counts."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> StartupFacts:
        with GalleryStore(context.workspace.db_path) as store:
            counts = store.counts()
        return StartupFacts(collect_info(str(context.workspace.root)), counts)

    return run


def demo_job(root: Path | None) -> JobFunction:
    """Build (first run) or open the demo and make its workspace the current one; returns
    ``(demo, gallery counts)``."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> tuple[Any, Any]:
        from crossid_desktop.demo import build_demo  # renders a cohort with OpenCV: loaded only when the demo is asked for

        demo = build_demo(root, progress=progress, cancel=cancel, matchers=context.matchers)
        workspace = demo.workspace()
        context.open_workspace(workspace)
        with GalleryStore(workspace.db_path) as store:
            counts = store.counts()
        return demo, counts

    return run


# -- the query panel ------------------------------------------------------------------------------
def load_query_job(paths: Sequence[str], modalities: Sequence[QueryModality] | None = None, frames: Sequence[int] | None = None,
                   choices: Sequence[FaceChoice | None] | None = None) -> JobFunction:
    """Read and hash the files and take each image's modality: ``modalities`` when known (a demo
    query), else the first guess (:func:`~crossid_desktop.search.query.initial_modalities`:
    two X-rays of the same guessed view stay so: the examiner says which is which). ``guessed`` keeps each image's own guess;
    ``frames`` (0-based) are the chosen frames of multi-frame DICOMs."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> list[QueryImage]:
        images: list[LoadedImage] = []
        for done, path in enumerate(paths):
            check_cancel(cancel, "Opening the query")
            progress(done, len(paths), f"reading {Path(path).name}")
            images.append(load_image(path, frame=frames[done] if frames else 0))
        chosen = list(modalities) if modalities else initial_modalities(images)
        result = []
        for n, (image, modality) in enumerate(zip(images, chosen)):
            pixels = image.pixels if image.pixels.ndim == 3 else image.grey_float()
            result.append(QueryImage(image, modality, guess_modality(image), to_qimage(pixels), choices[n] if choices else None))
        progress(len(paths), len(paths), "opened")
        return result

    return run


def preview_job(image: LoadedImage, modality: QueryModality, strength: float, choice: FaceChoice | None = None) -> JobFunction:
    """The preprocessed image as the matcher prepares it
    (:func:`~crossid_desktop.matching.preprocess.prepare_query`): an X-ray with the soft-tissue
    strength set by the examiner's slider (``strength`` in [0, 1], :func:`soft_tissue_at`); a
    photo with the faces found, the face of ``choice`` aligned as the workspace's injured-face
    matcher aligns it, and the regions it would leave out (:func:`face_preview`)."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> Preview:
        if modality.is_xray:
            prepared = prepare_query(image, modality, {"soft_tissue": soft_tissue_at(strength)})
            return Preview(to_qimage(prepared.pixels), note=f"Soft tissue suppressed at strength {strength:.2f}.")
        return face_preview(context, image, choice)

    return run


# -- the candidates panel -------------------------------------------------------------------------
def search_arguments(queries: Sequence[QueryImage]) -> tuple[list[LoadedImage], list[QueryModality]]:
    """The images and per-image modalities to search, as the examiner left them; a
    :class:`~crossid_desktop.errors.MatcherMismatchError` when they may not be searched together
    (:func:`~crossid_desktop.search.query.check_query_set`)."""
    modalities = [q.modality for q in queries]
    check_distinct_images([q.image for q in queries])
    check_query_set(modalities)
    return [q.image for q in queries], modalities


def search_job(queries: Sequence[QueryImage], *, top_k: int, true_subject_id: str | None = None,
               landmarks: Sequence[Landmarks | None] | None = None) -> JobFunction:
    """Search, read the candidates' aligned faces, and place the known identity (when given)
    in the whole gallery's ranking (:meth:`~crossid_desktop.search.service.SearchService.locate`).
    ``landmarks``: per query, the skull landmarks as the examiner corrected them (None: found by
    the matcher)."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> SearchOutcome:
        images, modality = search_arguments(queries)
        choices = [q.choice for q in queries]
        service = context.search
        result = service.search(images, modality=modality, top_k=top_k, choices=choices, progress=progress, cancel=cancel, landmarks=landmarks)
        left = [q for q in queries if q.modality.is_xray and q.modality == q.guessed]  # views the examiner left at the guess
        result = result.with_warnings(*query_warnings([q.image for q in left], [q.modality for q in left], views_guessed=True))
        with GalleryStore(service.workspace.db_path) as store:
            thumbnails = {c.image_id: png_to_qimage(store.thumbnail(c.image_id)) for c in result.candidates}
        outcome = SearchOutcome(result, thumbnails, query_images=tuple(images), modality=tuple(modality), choices=tuple(choices))
        if not true_subject_id:
            return outcome
        rank, in_gallery = service.locate(true_subject_id, images, modality=modality, result=result, choices=choices, cancel=cancel)
        return outcome.with_identity(true_subject_id, rank, in_gallery)

    return run


def locate_job(outcome: SearchOutcome, subject_id: str) -> JobFunction:
    """Place a newly typed known identity in the last search's ranking (over the whole gallery)."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> SearchOutcome:
        rank, in_gallery = context.search.locate(subject_id, list(outcome.query_images), modality=list(outcome.modality), result=outcome.result,
                                                choices=list(outcome.choices) or None, cancel=cancel)
        return outcome.with_identity(subject_id, rank, in_gallery)

    return run


# -- the compare view -----------------------------------------------------------------------------
def compare_job(query: QueryImage, candidate: Any) -> JobFunction:
    """Prepare ``query`` as its matcher does and read the aligned face of ``candidate`` (a
    search :class:`~crossid_desktop.search.service.Candidate`) from the gallery."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> ComparePair:
        matcher = context.search.matcher_for(query.modality)
        if query.modality.is_xray:
            prepared = matcher.preprocess_query(query.image, query.modality)
        else:
            prepared = matcher.preprocess_query(query.image, query.modality, query.choice)
        with GalleryStore(context.workspace.db_path) as store:
            face = decode_png(store.thumbnail(candidate.image_id))
        what = "skull X-ray, soft tissue suppressed" if query.modality.is_xray else "injured face, aligned"
        name = f" ({candidate.name})" if candidate.name else ""
        return ComparePair(
            np.asarray(prepared), face, query.modality.is_xray,
            f"Query: {what}",
            f"Rank {candidate.rank}: {candidate.subject_id}{name}, confidence {candidate.confidence:.2f}",
        )

    return run



def overlay_job(query: QueryImage, candidate: Any, landmarks: Landmarks | None) -> JobFunction:
    """The automatic skull-face overlay of ``query`` (an X-ray) on ``candidate``'s photo of its view
    (:func:`~crossid_desktop.search.xray_overlay.candidate_overlay`), with the skull landmarks the search used."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> Any:
        views = (candidate.craniofacial or {}).get("views", {})
        photo = views.get("front" if query.modality is QueryModality.XRAY_FRONT else "side", {}).get("photo")
        return candidate_overlay(context.workspace, context.search.matcher_for(query.modality), query.image, query.modality, candidate.subject_id,
                                 landmarks=landmarks, image_id=photo)

    return run


# -- the case panel -------------------------------------------------------------------------------
def create_job(number: str | None, fields: Mapping[str, str], search: Any, marks: Mapping[str, ExaminerMark], actor: str | None,
               calibrations: Sequence[tuple[str, Any]] = ()) -> JobFunction:
    """Open a new case, log the ruler calibrations made so far (``(query SHA-256,
    RulerCalibration)``), record ``search`` (the last search result, or None) in it and the
    marks already set on its candidates; returns the case as stored."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> Any:
        service = CaseService(context.workspace)
        case = service.create_case(case_number=number or None, actor=actor, **fields)
        for sha256, calibration in calibrations:
            service.record_calibration(case.case_number, query_sha256=sha256, points=calibration.points, known_mm=calibration.known_mm,
                                       spacing=calibration.spacing, actor=actor)
        if search is not None:
            service.record_search(case.case_number, search, actor=actor, matcher_card=context.matchers.card_of(search.matcher_fingerprint))
            shown = {c.subject_id for c in search.candidates}
            for subject_id, mark in marks.items():
                if subject_id in shown:
                    service.mark(case.case_number, subject_id, mark.mark, mark.note, actor=actor)
        return service.get(case.case_number)

    return run


def change_job(number: str, change: str, actor: str | None, **values: Any) -> JobFunction:
    """One change through the case service: ``change`` is ``update``, ``set_notes``,
    ``set_known_identity``, ``record_search``, ``mark``, ``record_calibration`` or ``log_event``
    (an audit entry alone: ``action`` and ``details``); returns the case as stored."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> Any:
        service = CaseService(context.workspace)
        if change == "update":
            service.update(number, actor=actor, **values)
        elif change == "set_notes":
            service.set_notes(number, values["notes"], actor=actor)
        elif change == "set_known_identity":
            service.set_known_identity(number, values["subject_id"], actor=actor)
        elif change == "record_search":
            service.record_search(number, values["result"], actor=actor, matcher_card=context.matchers.card_of(values["result"].matcher_fingerprint))
        elif change == "mark":
            service.mark(number, values["subject_id"], values["mark"], values["note"], actor=actor)
        elif change == "record_calibration":
            calibration = values["calibration"]
            service.record_calibration(number, query_sha256=values["sha256"], points=calibration.points, known_mm=calibration.known_mm,
                                       spacing=calibration.spacing, actor=actor)
        elif change == "log_event":
            log_event(service, number, values["action"], values["details"], actor=actor)
        else:
            raise ValueError(f"unknown case change {change!r}")
        return service.get(number)

    return run


def export_job(number: str, path: Path, actor: str | None, patient_identifiers: bool = False, signer: SignerFile | None = None) -> JobFunction:
    """Write the case's PDF report to ``path`` (the patient's identifiers printed only when
    ``patient_identifiers``), signed by ``signer`` when given (its certificate is opened here,
    in the worker); returns the path written."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> Path:
        signature = signer.load() if signer is not None else None
        try:
            return export_report(context.workspace, number, path, actor=actor, patient_identifiers=patient_identifiers, signature=signature,
                                 progress=progress, cancel=cancel)
        finally:
            if signature is not None:
                signature.credentials.close()

    return run


# -- the gallery manager --------------------------------------------------------------------------
def read_gallery_job() -> JobFunction:
    """Subjects and index states, without repairing anything (like ``crossid gallery list``)."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> GallerySnapshot:
        workspace = context.workspace
        with GalleryStore(workspace.db_path) as store:
            subjects = tuple(store.subjects())
            counts = store.counts()
            states = tuple(
                MatcherIndexState(record.name, record.fingerprint, counts.embeddings.get(record.fingerprint, 0), index_status(workspace, store, record.fingerprint))
                for record in store.matchers()
            )
        return GallerySnapshot(str(workspace.root), subjects, states)

    return run


def import_job(source: Path, *, allow_centre_crop: bool) -> JobFunction:
    """Enrol a gallery folder or CSV manifest with every configured matcher."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> EnrolmentReport:
        matchers = context.matchers.configured(context.workspace.root)
        return enrol(context.workspace, source, matchers=matchers, allow_centre_crop=allow_centre_crop, progress=progress, cancel=cancel)

    return run


def remove_job(subject_ids: Sequence[str]) -> JobFunction:
    """Remove subjects, their photos and embeddings, and their faces from every index; returns
    the number of photos removed."""
    ids = tuple(subject_ids)

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> int:
        return sum(remove_subjects(context.workspace, ids, progress=progress, cancel=cancel).values())

    return run


def rebuild_job() -> JobFunction:
    """Embed what is missing and rebuild every matcher's index (``crossid gallery rebuild-index``);
    returns the number of indexes rebuilt."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> int:
        return len(rebuild_indexes(context.workspace, context.matchers.configured(context.workspace.root), progress=progress, cancel=cancel))

    return run


# -- the DICOM browser ----------------------------------------------------------------------------
#: the longest side of a series thumbnail in the DICOM browser, px
DICOM_THUMBNAIL_PX = 96


def list_media_job(path: str):
    """The job that lists a DICOMDIR or folder (headers only)."""

    def run(context: Any, progress: Any, cancel: threading.Event) -> DicomMedia:
        return open_media(path, progress=progress, cancel=cancel)

    return run


def thumbnails_job(series: list[DicomSeries]):
    """The job that makes one thumbnail per series (its first image): {index: QImage}; a series
    whose image cannot be decoded gets none (opening it says why)."""

    def run(context: Any, progress: Any, cancel: threading.Event) -> dict[int, QImage]:
        pictures = {}
        for index, entry in enumerate(series):
            check_cancel(cancel, "The thumbnails")
            progress(index, len(series), "thumbnails")
            first = entry.first_image()
            if first is None:
                continue
            try:
                pictures[index] = to_qimage(thumbnail(first, size=DICOM_THUMBNAIL_PX))
            except InvalidImageError:
                continue
        return pictures

    return run


# -- the landmark editor -------------------------------------------------------------------------
#: (sha256, view, name, x, y, detected): a correction (x, y given) or a reset (x None) of one point
LandmarkChange = tuple[str, str, str, float | None, float | None, tuple[float, float] | None]


def _corrections(context: Any) -> CaseLandmarks:
    return CaseLandmarks(CaseService(context.workspace))


def landmarks_job(image: LoadedImage, view: str, case_number: str | None) -> JobFunction:
    """Find the landmarks of ``image``; returns (detected, with the case's corrections)."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> tuple[LandmarkResult, LandmarkResult]:
        detected = find_landmarks(image, view)
        return detected, _corrections(context).apply(case_number, detected) if case_number else detected

    return run


def landmark_corrections_job(case_number: str, changes: list[LandmarkChange], actor: str | None) -> JobFunction:
    """Store corrections (x, y given) and resets (x None) of ``(sha256, view, name, x, y, detected)``."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> int:
        store = _corrections(context)
        for sha256, view, name, x, y, detected in changes:
            if x is None or y is None:
                store.reset(case_number, sha256, view, name, actor=actor)
            else:
                store.correct(case_number, sha256, view, name, x, y, detected=detected, actor=actor)
        return len(changes)

    return run


# -- the self-test --------------------------------------------------------------------------------
def selftest_job(out_dir: Path, parts: Sequence[str]) -> JobFunction:
    """The installation self-test (:func:`crossid_desktop.selftest.run_selftest`), its record
    written into ``out_dir``."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> SelfTestOutcome:
        return run_selftest(out_dir, parts=parts, progress=progress, cancel=cancel)

    return run
