"""``crossid gui``: start the desktop application (the default when no command is given)."""

from __future__ import annotations

import argparse

from crossid_desktop.gui.options import add_gui_arguments

ORDER = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gui", help="start the desktop application (the default)")
    add_gui_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from crossid_desktop.gui.app import run_app  # loads Qt: only when the window is wanted

    return run_app(workspace=args.workspace, demo=args.demo, demo_dir=args.demo_dir, query=args.query)
