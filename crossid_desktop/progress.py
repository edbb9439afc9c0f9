"""Progress reporting and cancellation for long jobs.

Every job longer than about a second takes ``progress`` (a callable receiving done, total and
a message) and ``cancel`` (a :class:`threading.Event`). The CLI passes a text progress bar; the
GUI passes a function that emits a Qt signal from its worker thread.
"""

from __future__ import annotations

import threading
from typing import Protocol

from crossid_desktop.errors import Cancelled


class ProgressCallback(Protocol):
    def __call__(self, done: int, total: int, message: str = "") -> None: ...


def no_progress(done: int, total: int, message: str = "") -> None:
    """A progress callback that ignores every report."""


def check_cancel(cancel: threading.Event | None, what: str = "The job") -> None:
    """Raise :class:`Cancelled` when ``cancel`` is set; call between steps of a long job."""
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{what} was cancelled.")
