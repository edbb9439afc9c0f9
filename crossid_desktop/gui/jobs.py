"""The jobs the window's worker thread runs: each ``*_job(...)`` returns a function
``run(context, progress, cancel)`` that the :class:`~crossid_desktop.gui.worker.Worker` calls in
its thread with the :class:`~crossid_desktop.gui.worker.JobContext` (the open workspace and the
loaded models). Jobs call the same services as the CLI and never touch a widget."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtGui import QImage

from crossid_desktop.demo import build_demo
from crossid_desktop.errors import InvalidImageError
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.gui.images import to_qimage
from crossid_desktop.imaging.dicom_media import DicomMedia, DicomSeries, open_media, thumbnail
from crossid_desktop.progress import check_cancel

#: the longest side of a series thumbnail in the DICOM browser, px
DICOM_THUMBNAIL_PX = 96


def demo_job(root: Path | None):
    """The job that builds (first run) or opens the demo and makes its workspace the current one."""

    def run(context: Any, progress: Any, cancel: threading.Event) -> tuple[Any, Any]:
        demo = build_demo(root, progress=progress, cancel=cancel)
        workspace = demo.workspace()
        context.open_workspace(workspace)
        with GalleryStore(workspace.db_path) as store:
            counts = store.counts()
        return demo, counts

    return run


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
