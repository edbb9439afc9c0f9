"""``crossid-desktop``: start the desktop application (also ``crossid gui``).

``--demo`` opens the demo workspace (built in the worker on first run), loads the demo skull
X-ray pair and searches it at once; without it the user's workspace (``--workspace DIR``) opens.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QApplication

from crossid_desktop import __version__
from crossid_desktop.gui.main_window import MainWindow
from crossid_desktop.gui.options import add_gui_arguments
from crossid_desktop.gui.platform_check import platform_problem
from crossid_desktop.gui.settings import APPLICATION, ORGANISATION


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossid-desktop",
        description="CrossID Desktop: rank a gallery of face photos against a skull X-ray or an injured-face photo. "
        "The ranked list is an investigative lead for an examiner to compare, never an identification.",
    )
    parser.add_argument("--version", action="version", version=f"crossid-desktop {__version__}")
    add_gui_arguments(parser)
    parser.add_argument("--workspace", type=Path, default=None, help="workspace folder (default: $CROSSID_WORKSPACE or the user data folder)")
    return parser


def run_app(*, workspace: Path | None, demo: bool = False, demo_dir: Path | None = None, query: Sequence[str] = ()) -> int:
    """Create the application and the window, and run the event loop; returns the exit status
    (1, with one sentence on stderr, when this machine cannot show the window)."""
    problem = None if QApplication.instance() is not None else platform_problem()
    if problem is not None:
        print(f"crossid-desktop: {problem}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    window = MainWindow(workspace=workspace)
    window.show()
    if demo:
        window.start_demo(demo_dir)
    elif query:
        window.load_query(list(query))
    return int(app.exec())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_app(workspace=args.workspace, demo=args.demo, demo_dir=args.demo_dir, query=args.query)


if __name__ == "__main__":
    sys.exit(main())
