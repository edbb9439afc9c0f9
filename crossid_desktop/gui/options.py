"""The command-line options of the desktop application, shared by ``crossid-desktop`` and
``crossid gui``. Plain argparse, no Qt: the ``crossid`` command reads them without loading Qt."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_gui_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``crossid-desktop`` and ``crossid gui`` share."""
    parser.add_argument("--demo", action="store_true", help="open the demo gallery and search a demo skull X-ray at once")
    parser.add_argument("--demo-dir", type=Path, default=None, help="where the demo lives (default: beside the user workspace)")
    parser.add_argument("query", nargs="*", help="query image(s) to open: one image, or a frontal and a lateral X-ray")
