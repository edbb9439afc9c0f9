"""``crossid gui``: start the desktop application (the default when no command is given)."""

from __future__ import annotations

import argparse
from pathlib import Path

ORDER = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gui", help="start the desktop application (the default)")
    parser.add_argument("--demo", action="store_true", help="open the demo gallery and search a demo skull X-ray at once")
    parser.add_argument("--demo-dir", type=Path, default=None, help="where the demo lives (default: beside the user workspace)")
    parser.add_argument("query", nargs="*", help="query image(s) to open: one image, or a frontal and a lateral X-ray")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from crossid_desktop.gui.app import run_app  # Qt loads only when the window is wanted

    return run_app(workspace=args.workspace, demo=args.demo, demo_dir=args.demo_dir, query=args.query)
