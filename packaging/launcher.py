"""Entry point of both executables of the application bundle.

PyInstaller makes ``crossid`` (the command line) and ``crossid-desktop`` (the window) from this
one script so that they share one set of libraries; the name of the executable that was started
chooses which one runs.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

#: executable names (without .exe) that start the window; every other name is the command line
WINDOW_NAMES = {"crossid-desktop"}


def main() -> int:
    if Path(sys.executable).stem.lower() in WINDOW_NAMES:
        from crossid_desktop.gui.app import main as window_main

        return window_main()
    from crossid_desktop.cli import main as command_main

    return command_main()


if __name__ == "__main__":
    multiprocessing.freeze_support()  # data-loader workers on Windows and macOS start this executable again
    sys.exit(main())
