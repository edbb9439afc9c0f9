"""The one long-lived worker thread that runs every long job of the window.

A job is a plain function ``fn(context, progress, cancel) -> result``. ``context`` is made once,
inside the worker thread, by the ``context_factory`` given to :class:`Worker` (the window's
:class:`JobContext` holds the workspace and the loaded matchers, so models are loaded in that
thread and stay loaded); ``progress(done, total, message)`` reports progress and ``cancel`` is a
:class:`threading.Event` the job checks between steps.

Jobs run one at a time, in the order submitted. A job submitted with ``supersede_kind=True``
cancels every queued or running job of the same kind (a newer preview makes the older one
useless). Results reach the GUI only through the :class:`Worker` signals, which are delivered
in the GUI thread; a job never touches a widget. A job whose cancel event was set before it
returned is reported as failed with :class:`~crossid_desktop.errors.Cancelled`, never as
finished, so a superseded result cannot reach the screen.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from crossid_desktop.errors import Cancelled
from crossid_desktop.matching.selection import MatcherCache
from crossid_desktop.progress import ProgressCallback
from crossid_desktop.search.service import SearchService
from crossid_desktop.workspace import Workspace

log = logging.getLogger(__name__)

JobFunction = Callable[[Any, ProgressCallback, threading.Event], Any]

#: progress reports closer together than this (seconds) are dropped, except the last one
PROGRESS_INTERVAL_S = 0.03

_threads: weakref.WeakSet[QThread] = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """Worker threads still running (the GUI tests check that none outlives a test)."""
    return [thread for thread in list(_threads) if thread.isRunning()]


class JobContext:
    """What jobs share, used only from the worker thread: the workspace and loaded matchers.

    ``open_workspace`` switches the workspace (the demo does); the matcher cache survives the
    switch so a model is loaded once per process.
    """

    def __init__(self, workspace_root: Path | None = None) -> None:
        self.matchers = MatcherCache()
        self._workspace_root = workspace_root
        self._workspace = None
        self._service = None

    @property
    def workspace(self):
        """The open :class:`~crossid_desktop.workspace.Workspace` (opened on first use)."""
        if self._workspace is None:
            self._workspace = Workspace.open(self._workspace_root)
        return self._workspace

    def open_workspace(self, workspace) -> None:
        if self._service is not None:
            self._service.close()  # its database connection and loaded indexes belong to the old workspace
        self._workspace, self._service = workspace, None

    @property
    def search(self):
        """The :class:`~crossid_desktop.search.service.SearchService` of the open workspace."""
        if self._service is None:
            self._service = SearchService(self.workspace, matchers=self.matchers)
        return self._service


@dataclass
class _Job:
    job_id: int
    kind: str
    fn: JobFunction
    cancel: threading.Event = field(default_factory=threading.Event)


class _WorkerThread(QThread):
    """The thread itself: a queue of jobs and the loop that runs them."""

    started_job = Signal(int, str)
    progressed = Signal(int, int, int, str)
    finished_job = Signal(int, object)
    failed_job = Signal(int, object)

    def __init__(self, context_factory: Callable[[], Any]) -> None:
        super().__init__()
        self.setObjectName("crossidWorker")
        self._context_factory = context_factory
        self._condition = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._running: _Job | None = None
        self._stopping = False

    # -- called from the GUI thread -------------------------------------------------------------
    def put(self, job: _Job, *, supersede: bool) -> None:
        with self._condition:
            if supersede:
                for other in [*self._queue, self._running]:
                    if other is not None and other.kind == job.kind:
                        other.cancel.set()
            self._queue.append(job)
            self._condition.notify()

    def cancel(self, job_id: int | None) -> None:
        with self._condition:
            for job in [*self._queue, self._running]:
                if job is not None and (job_id is None or job.job_id == job_id):
                    job.cancel.set()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            for job in [*self._queue, self._running]:
                if job is not None:
                    job.cancel.set()
            self._condition.notify()

    # -- the worker thread ----------------------------------------------------------------------
    def run(self) -> None:
        context: Any = None
        context_error: BaseException | None = None
        try:
            context = self._context_factory()
        except Exception as error:  # every job will report it
            context_error = error
            log.error("The worker's context could not be made", exc_info=error)
        while True:
            with self._condition:
                while not self._queue and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    self._queue.clear()
                    return
                job = self._running = self._queue.popleft()
            try:
                self._execute(job, context, context_error)
            finally:
                with self._condition:
                    self._running = None

    def _execute(self, job: _Job, context: Any, context_error: BaseException | None) -> None:
        if job.cancel.is_set():
            self.failed_job.emit(job.job_id, Cancelled(f"The {job.kind} job was cancelled."))
            return
        self.started_job.emit(job.job_id, job.kind)
        last = [0.0]

        def progress(done: int, total: int, message: str = "") -> None:
            now = time.monotonic()
            if done < total and now - last[0] < PROGRESS_INTERVAL_S:
                return
            last[0] = now
            self.progressed.emit(job.job_id, int(done), int(total), str(message))

        try:
            if context_error is not None:
                raise context_error
            result = job.fn(context, progress, job.cancel)
            if job.cancel.is_set():
                raise Cancelled(f"The {job.kind} job was cancelled.")
        except Cancelled as error:
            log.debug("job %d (%s) cancelled", job.job_id, job.kind)
            self.failed_job.emit(job.job_id, error)
        except Exception as error:
            log.error("job %d (%s) failed", job.job_id, job.kind, exc_info=error)
            self.failed_job.emit(job.job_id, error)
        else:
            self.finished_job.emit(job.job_id, result)


class Worker(QObject):
    """The manager of the worker thread, living in the GUI thread.

    Signals (all delivered in the GUI thread): ``jobStarted(job_id, kind)``,
    ``jobProgress(job_id, done, total, message)``, ``jobFinished(job_id, result)``,
    ``jobFailed(job_id, exception)`` (a :class:`~crossid_desktop.errors.Cancelled` for a
    cancelled or superseded job; the traceback of any other is logged).
    """

    jobStarted = Signal(int, str)
    jobProgress = Signal(int, int, int, str)
    jobFinished = Signal(int, object)
    jobFailed = Signal(int, object)
    #: True when a job is queued or running, False when the worker becomes idle
    busyChanged = Signal(bool)

    def __init__(self, context_factory: Callable[[], Any] = JobContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._pending: dict[int, str] = {}
        self._thread = _WorkerThread(context_factory)
        self._thread.started_job.connect(self.jobStarted)
        self._thread.progressed.connect(self.jobProgress)
        self._thread.finished_job.connect(self._on_finished)
        self._thread.failed_job.connect(self._on_failed)
        _threads.add(self._thread)
        self._thread.start()

    def submit(self, kind: str, fn: JobFunction, *, supersede_kind: bool = False) -> int:
        """Queue ``fn`` and return its job id; with ``supersede_kind``, cancel older jobs of ``kind``."""
        job = _Job(next(self._ids), kind, fn)
        was_idle = not self._pending
        self._pending[job.job_id] = kind
        self._thread.put(job, supersede=supersede_kind)
        if was_idle:
            self.busyChanged.emit(True)
        return job.job_id

    def cancel(self, job_id: int | None = None) -> None:
        """Ask one job (or, with None, every queued and running job) to stop."""
        self._thread.cancel(job_id)

    def is_pending(self, job_id: int) -> bool:
        """True while the job is queued or running."""
        return job_id in self._pending

    def pending_kinds(self) -> list[str]:
        return list(self._pending.values())

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel every job, stop the thread and wait for it; False if it did not stop in time."""
        self._thread.stop()
        stopped = self._thread.wait(timeout_ms)
        if not stopped:
            log.warning("The worker thread did not stop within %d ms", timeout_ms)
        self._pending.clear()
        return bool(stopped)

    def _on_finished(self, job_id: int, result: object) -> None:
        self._settle(job_id)
        self.jobFinished.emit(job_id, result)

    def _on_failed(self, job_id: int, error: object) -> None:
        self._settle(job_id)
        self.jobFailed.emit(job_id, error)

    def _settle(self, job_id: int) -> None:
        self._pending.pop(job_id, None)
        if not self._pending:
            self.busyChanged.emit(False)
