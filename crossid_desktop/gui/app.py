"""``crossid-desktop``: start the desktop application (also ``crossid gui``).

``--demo`` opens the demo workspace (built in the worker on first run), loads the demo skull
X-ray pair and searches it at once; without it the user's workspace (``--workspace DIR``) opens.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def demo_job(root: Path | None):
    """The job that builds (first run) or opens the demo and makes its workspace the current one."""

    def run(context: Any, progress: Any, cancel: threading.Event) -> tuple[Any, Any]:
        from crossid_desktop.demo import build_demo

        demo = build_demo(root, progress=progress, cancel=cancel)
        workspace = demo.workspace()
        context.open_workspace(workspace)
        with workspace.store() as store:
            counts = store.counts()
        return demo, counts

    return run


def build_parser() -> argparse.ArgumentParser:
    from crossid_desktop import __version__

    parser = argparse.ArgumentParser(
        prog="crossid-desktop",
        description="CrossID Desktop: rank a gallery of face photos against a skull X-ray or an injured-face photo. "
        "The ranked list is an investigative lead for an examiner to compare, never an identification.",
    )
    parser.add_argument("--version", action="version", version=f"crossid-desktop {__version__}")
    add_gui_arguments(parser)
    parser.add_argument("--workspace", type=Path, default=None, help="workspace folder (default: $CROSSID_WORKSPACE or the user data folder)")
    return parser


def add_gui_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``crossid-desktop`` and ``crossid gui`` share."""
    parser.add_argument("--demo", action="store_true", help="open the demo gallery and search a demo skull X-ray at once")
    parser.add_argument("--demo-dir", type=Path, default=None, help="where the demo lives (default: beside the user workspace)")
    parser.add_argument("query", nargs="*", help="query image(s) to open: one image, or a frontal and a lateral X-ray")
    parser.add_argument(
        "--exit-when-shown", action="store_true",
        help="open the window, print the moment it was shown (seconds since the epoch) and quit: checks that an installation starts, and times it",
    )


def run_app(
    *, workspace: Path | None, demo: bool = False, demo_dir: Path | None = None, query: Sequence[str] = (), exit_when_shown: bool = False
) -> int:
    """Create the application and the window, and run the event loop; returns the exit status."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from crossid_desktop.gui.icon import ICON_NAME, application_icon
    from crossid_desktop.gui.main_window import MainWindow
    from crossid_desktop.gui.settings import APPLICATION, ORGANISATION

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName(ICON_NAME)  # the desktop entry crossid-desktop.desktop (Wayland, task bars)
    app.setWindowIcon(application_icon())
    window = MainWindow(workspace=workspace)
    window.show()
    if exit_when_shown:  # the zero timer fires once the show and first paint events are handled
        QTimer.singleShot(0, lambda: _report_shown_and_close(window))
    if demo:
        window.start_demo(demo_dir)
    elif query:
        window.load_query(list(query))
    return int(app.exec())


def _report_shown_and_close(window: Any) -> None:
    """Print when the window was shown, then close it once its startup job is done (a worker
    stopped in the middle of importing torch would outlive the window)."""
    print(f"window shown {time.time():.3f}", flush=True)
    if window.worker.pending_kinds():
        window.worker.busyChanged.connect(lambda busy: None if busy else window.close())
    else:
        window.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_app(workspace=args.workspace, demo=args.demo, demo_dir=args.demo_dir, query=args.query, exit_when_shown=args.exit_when_shown)


if __name__ == "__main__":
    sys.exit(main())
