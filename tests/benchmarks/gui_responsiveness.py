"""Does the window appear fast and its event loop stay responsive from start-up through the
first searches?

First a cold start in a fresh process on the tiny workspace: the time from the process's start
to the window's first paint, and the gaps of a 5 ms QTimer on the GUI thread until the worker's
start-up job has finished (targets: first paint within 0.7 s, no gap over 50 ms). Then, in
this process, the same timer while real searches run in the worker on a tiny workspace (a
synthetic cohort and untrained mobilenet_v3_small matchers at 64 px, as in the GUI tests): the
first search also loads the matchers. The target is no gap over 50 ms during a search.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/gui_responsiveness.py``
(``--searches N``, ``--idle-s S``). Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TICK_MS = 5


def load_tiny_workspace(root: Path):
    """The GUI tests' tiny workspace (``tests/gui/conftest.py``), built under ``root``."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # conftest imports tests/builders.py
    spec = importlib.util.spec_from_file_location("gui_conftest", Path(__file__).resolve().parents[1] / "gui" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TinyWorkspace(root)


class GapRecorder:
    """Records the time between ticks of a 5 ms timer, per phase."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: dict[str, list[float]] = {}
        self.phase = "startup"
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.setdefault(self.phase, []).append((now - self._last) * 1000.0)
        self._last = now

    def set_phase(self, phase: str) -> None:
        self._tick()
        self.phase = phase


def seconds_since_process_start() -> float:
    """Wall time since this process started (Linux /proc; since this module loaded elsewhere)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _MODULE_LOADED


_MODULE_LOADED = time.perf_counter()


def cold_start(workspace: str) -> int:
    """In a fresh process: first paint of the window and GUI-thread gaps until start-up is done."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from crossid_desktop.gui.main_window import MainWindow
    from crossid_desktop.gui.settings import Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(workspace=Path(workspace), settings=Settings())
    painted: list[float] = []

    class FirstPaint(QObject):
        def eventFilter(self, watched: object, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not painted:
                painted.append(seconds_since_process_start())
                recorder.gaps.clear()  # gaps count from the first paint: the event loop then serves the user
                recorder._last = time.perf_counter()
            return False

    recorder = GapRecorder()
    paint_filter = FirstPaint()
    window.installEventFilter(paint_filter)
    window.show()

    def busy(is_busy: bool) -> None:
        if not is_busy:
            QTimer.singleShot(200, app.quit)  # a little idle after start-up, then stop

    window.worker.busyChanged.connect(busy)
    QTimer.singleShot(20_000, app.quit)
    app.exec()
    recorder.timer.stop()
    window.close()
    gaps = recorder.gaps.get("startup", [0.0])
    print(f"first paint {painted[0] if painted else float('nan'):.2f} s after the process started (target 0.7 s)")
    print(f"start-up: {len(gaps)} ticks, gaps over 50 ms: {sum(g > 50 for g in gaps)}, longest {max(gaps):.1f} ms (target: under 50 ms)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searches", type=int, default=6)
    parser.add_argument("--idle-s", type=float, default=2.0)
    parser.add_argument("--cold-start", metavar="WORKSPACE", help=argparse.SUPPRESS)  # the fresh process's part
    args = parser.parse_args()
    if args.cold_start:
        return cold_start(args.cold_start)

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from crossid_desktop.gui.main_window import MainWindow
    from crossid_desktop.gui.settings import Settings
    from crossid_desktop.matching.base import QueryModality

    with tempfile.TemporaryDirectory() as tmp:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(Path(tmp) / "settings"))
        t = time.perf_counter()
        tiny = load_tiny_workspace(Path(tmp) / "tiny")
        print(f"tiny workspace built in {time.perf_counter() - t:.1f} s")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
        cold = subprocess.run([sys.executable, __file__, "--cold-start", str(tiny.root)], env=env, capture_output=True, text=True, timeout=300)
        print("cold start (fresh process):", cold.stdout.strip() or cold.stderr.strip()[-2000:], sep="\n")
        app = QApplication.instance() or QApplication(sys.argv[:1])
        window = MainWindow(workspace=tiny.root, settings=Settings())
        window.show()
        recorder = GapRecorder()
        queries = [(tiny.xrays(tiny.cohort.subject_ids[0]), None), ([tiny.photo(tiny.photo_subjects[3])], [QueryModality.INJURED_FACE])]
        done = {"searches": 0, "search_ms": []}

        def next_search() -> None:
            if done["searches"] >= args.searches:
                recorder.set_phase("end")
                window.close()
                app.quit()
                return
            paths, modalities = queries[done["searches"] % len(queries)]
            recorder.set_phase("first search (loads the matchers)" if done["searches"] == 0 else "search")
            window.load_query([str(p) for p in paths], modalities=modalities, search=True)

        def finished(outcome) -> None:
            done["searches"] += 1
            done["search_ms"].append(outcome.result.timings_ms["total"])
            recorder.set_phase("between searches")
            QTimer.singleShot(0, next_search)

        def start_idle(busy: bool) -> None:
            if not busy and recorder.phase == "startup":
                recorder.set_phase("idle (baseline)")
                QTimer.singleShot(int(args.idle_s * 1000), next_search)

        window.worker.busyChanged.connect(start_idle)
        window.searchFinished.connect(finished)
        app.exec()
        recorder.timer.stop()

    print(f"timer interval {TICK_MS} ms; {args.searches} searches, search time (service) median {statistics.median(done['search_ms']):.0f} ms")
    print(f"{'phase':36} {'ticks':>6} {'median gap ms':>14} {'p99 gap ms':>11} {'max gap ms':>11}")
    for phase in ("idle (baseline)", "first search (loads the matchers)", "search"):
        gaps = sorted(recorder.gaps.get(phase, []))
        if gaps:
            p99 = gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))]
            print(f"{phase:36} {len(gaps):>6} {statistics.median(gaps):>14.1f} {p99:>11.1f} {gaps[-1]:>11.1f}")
    worst = max(recorder.gaps.get("search", [0.0]) + recorder.gaps.get("first search (loads the matchers)", [0.0]))
    print(f"longest event-loop stall during a search: {worst:.1f} ms (target: under 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
