"""The compare view's craniofacial job (kept apart from :mod:`.jobs` for its length): the
automatic skull-face overlay, run in the worker thread that owns the models."""

from __future__ import annotations

import threading
from typing import Any

from crossid_desktop.gui.job_results import QueryImage
from crossid_desktop.gui.worker import JobFunction
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.craniofacial.points import Landmarks
from crossid_desktop.progress import ProgressCallback
from crossid_desktop.search.xray_overlay import candidate_overlay


def overlay_job(query: QueryImage, candidate: Any, landmarks: Landmarks | None) -> JobFunction:
    """The automatic skull-face overlay of ``query`` (an X-ray) on ``candidate``'s photo of its view
    (:func:`~crossid_desktop.search.xray_overlay.candidate_overlay`), with the skull landmarks the
    search used."""

    def run(context: Any, progress: ProgressCallback, cancel: threading.Event) -> Any:
        matcher = context.search.matcher_for(query.modality)
        views = (candidate.craniofacial or {}).get("views", {})
        view = "front" if query.modality is QueryModality.XRAY_FRONT else "side"
        return candidate_overlay(context.workspace, matcher, query.image, query.modality, candidate.subject_id, landmarks=landmarks,
                                 image_id=views.get(view, {}).get("photo"))

    return run
