"""The jobs the window's worker thread runs: each ``*_job(...)`` returns a function
``run(context, progress, cancel)`` that the :class:`~crossid_desktop.gui.worker.Worker` calls in
its thread with the :class:`~crossid_desktop.gui.worker.JobContext` (the open workspace and the
loaded models). Jobs call the same services as the CLI and never touch a widget."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from crossid_desktop.demo import build_demo
from crossid_desktop.gallery.store import GalleryStore


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
