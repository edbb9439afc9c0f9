"""The ``crossid`` command.

Thin by design: each sub-command lives in its own module under ``cli/commands/`` with a
``register(subparsers)`` function and an ``ORDER`` number for the help listing; it parses
arguments and calls services. Errors a user can cause arrive as
:class:`~crossid_desktop.errors.CrossIDError` and are printed as one sentence with a non-zero
exit status; ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from crossid_desktop import __version__
from crossid_desktop.cli import commands
from crossid_desktop.cli.terminal import VisibleStream
from crossid_desktop.errors import CrossIDError


def _command_modules() -> list:
    modules = [importlib.import_module(f"{commands.__name__}.{info.name}") for info in pkgutil.iter_modules(commands.__path__)]
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossid",
        description=(
            "CrossID Desktop: rank a gallery of face photos against a skull X-ray or an injured-face "
            "photo. Without a command, the desktop application starts. The ranked list is an "
            "investigative lead for an examiner to compare, never an identification."
        ),
    )
    parser.add_argument("--version", action="version", version=f"crossid {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    parser.add_argument(
        "--workspace",
        type=Path,
        default=None,
        help="workspace folder (gallery database, indexes, cases, models); default: $CROSSID_WORKSPACE or the user data folder",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(subparsers)
    _accept_global_options_after_the_command(subparsers)
    parser.set_defaults(command_names=tuple(subparsers.choices))
    return parser


def _accept_global_options_after_the_command(subparsers: argparse._SubParsersAction) -> None:
    """``--workspace`` and ``--debug`` work after a command (``crossid search --workspace W q.png``)
    as well as before it; given in both places, the later one wins."""
    parsers = list(subparsers.choices.values())
    while parsers:
        sub = parsers.pop()
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
        if any("--workspace" in a.option_strings for a in sub._actions):
            continue
        sub.add_argument("--workspace", type=Path, default=argparse.SUPPRESS, help="workspace folder (also accepted before the command)")
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback of an error")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crossid`` command; returns the process exit status. Control characters in what
    it prints (names, notes, file names) are shown escaped (:mod:`crossid_desktop.cli.terminal`)."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = VisibleStream(stdout), VisibleStream(stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    typed = list(argv if argv is not None else sys.argv[1:])
    args = parser.parse_args(typed)
    if args.command is None:
        if "gui" not in args.command_names:
            parser.print_help()
            return 0
        typed.append("gui")
        args = parser.parse_args(typed)
    args.argv = typed  # what was typed, for the records a command keeps of itself
    try:
        return int(args.run(args) or 0)
    except CrossIDError as error:
        if args.debug:
            traceback.print_exc()
        print(f"crossid: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("crossid: interrupted.", file=sys.stderr)
        return 130
    except Exception as error:  # a bug, not a user error: still one sentence unless --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"crossid: internal error ({type(error).__name__}: {error}); run again with --debug for details.",
                file=sys.stderr,
            )
        return 1
