"""The worker thread: jobs off the GUI thread, in order, with progress, errors as exception
objects, supersession, cancel and shutdown. No models: the jobs are small plain functions."""

from __future__ import annotations

import logging
import threading

import pytest

from crossid_desktop.errors import Cancelled, InvalidImageError
from crossid_desktop.gui.worker import Worker, running_threads

TIMEOUT = 10_000


@pytest.fixture
def worker(qtbot):
    made_in: list[int] = []

    def context_factory() -> dict:
        made_in.append(threading.get_ident())
        return {"made_in": made_in}

    w = Worker(context_factory)
    yield w
    assert w.shutdown(5_000)


def test_jobs_run_in_the_worker_thread_in_order_with_progress(qtbot, worker: Worker) -> None:
    gui_thread = threading.get_ident()
    order: list[str] = []
    progress_seen: list[tuple[int, int, int, str]] = []
    worker.jobProgress.connect(lambda *args: progress_seen.append(args))

    def job(name: str):
        def run(context, progress, cancel):
            order.append(name)
            progress(1, 1, f"{name} done")
            return name, threading.get_ident(), context["made_in"][0]

        return run

    first = worker.submit("a", job("first"))
    with qtbot.waitSignal(worker.jobFinished, timeout=TIMEOUT, check_params_cb=lambda i, _: i == first + 1) as blocker:
        second = worker.submit("b", job("second"))
    name, ran_in, context_made_in = blocker.args[1]
    assert (second, name) == (first + 1, "second") and order == ["first", "second"]
    assert ran_in != gui_thread and context_made_in == ran_in  # context made in the worker thread too
    assert (first, 1, 1, "first done") in progress_seen and (second, 1, 1, "second done") in progress_seen


def test_an_error_arrives_as_the_exception_object_and_its_traceback_is_logged(qtbot, worker: Worker, caplog: pytest.LogCaptureFixture) -> None:
    def broken(context, progress, cancel):
        raise InvalidImageError("The file x.png is not an image.")

    caplog.set_level(logging.ERROR, logger="crossid_desktop.gui.worker")
    with qtbot.waitSignal(worker.jobFailed, timeout=TIMEOUT) as blocker:
        job = worker.submit("load", broken)
    assert blocker.args[0] == job
    error = blocker.args[1]
    assert isinstance(error, InvalidImageError) and str(error) == "The file x.png is not an image."
    assert any(record.exc_info and record.exc_info[1] is error for record in caplog.records)
    # the worker goes on after a failure
    with qtbot.waitSignal(worker.jobFinished, timeout=TIMEOUT) as blocker:
        job = worker.submit("ok", lambda context, progress, cancel: 42)
    assert blocker.args == [job, 42]


def test_a_newer_job_supersedes_the_running_and_the_queued_ones(qtbot, worker: Worker) -> None:
    gate = threading.Event()
    ran: list[str] = []
    finished: dict[int, object] = {}
    failed: dict[int, object] = {}
    worker.jobFinished.connect(lambda i, r: finished.__setitem__(i, r))
    worker.jobFailed.connect(lambda i, e: failed.__setitem__(i, e))

    def running(context, progress, cancel):
        ran.append("running")
        gate.set()
        cancel.wait(TIMEOUT / 1000)  # a long job that notices its cancel event
        return "stale"

    def quick(name: str):
        def run(context, progress, cancel):
            ran.append(name)
            return name

        return run

    first = worker.submit("preview", running)
    assert gate.wait(TIMEOUT / 1000)
    queued = worker.submit("preview", quick("queued"))
    other = worker.submit("search", quick("other kind"))
    with qtbot.waitSignal(worker.jobFinished, timeout=TIMEOUT, check_params_cb=lambda i, _: i == queued + 2):
        newest = worker.submit("preview", quick("newest"), supersede_kind=True)
    assert newest == queued + 2
    assert isinstance(failed[first], Cancelled) and isinstance(failed[queued], Cancelled)
    assert first not in finished and queued not in finished  # a superseded result never arrives
    assert finished[other] == "other kind" and finished[newest] == "newest"
    assert ran == ["running", "other kind", "newest"]  # the superseded queued job never ran


def test_cancel_one_job(qtbot, worker: Worker) -> None:
    started = threading.Event()

    def long_job(context, progress, cancel):
        started.set()
        for step in range(1000):
            if cancel.wait(0.01):
                raise Cancelled("The long job was cancelled.")
            progress(step, 1000, "working")
        return "never"

    job = worker.submit("long", long_job)
    assert started.wait(TIMEOUT / 1000)
    with qtbot.waitSignal(worker.jobFailed, timeout=TIMEOUT) as blocker:
        worker.cancel(job)
    assert blocker.args[0] == job and isinstance(blocker.args[1], Cancelled)
    assert not worker.is_pending(job)


def test_shutdown_cancels_a_running_job_and_joins_the_thread(qtbot) -> None:
    worker = Worker(lambda: None)
    started = threading.Event()
    stopped = threading.Event()

    def long_job(context, progress, cancel):
        started.set()
        cancel.wait(TIMEOUT / 1000)
        stopped.set()

    worker.submit("long", long_job)
    assert started.wait(TIMEOUT / 1000)
    assert worker.shutdown(5_000)
    assert stopped.is_set() and not running_threads()
