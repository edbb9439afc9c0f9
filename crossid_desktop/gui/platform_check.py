"""Can this machine show the window? Checked before Qt is asked to, so that a missing system
library gets one sentence naming it and the command that installs it, instead of Qt's abort
("could not load the Qt platform plugin xcb").

Since Qt 6.5 the X11 platform plugin (xcb) needs system libraries that many Linux machines lack:
:data:`XCB_LIBRARIES` lists them with the Debian/Ubuntu and Fedora packages that provide them.
No Qt is imported here.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

#: the shared libraries Qt's xcb plugin loads -> (Debian/Ubuntu package, Fedora package)
XCB_LIBRARIES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
}


def _loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def platform_problem(environ: Mapping[str, str] | None = None, *, platform: str = sys.platform, loads: Callable[[str], bool] = _loads) -> str | None:
    """One sentence saying why the window cannot open here, or None when it can (as far as can
    be told without Qt). Only Linux with the X11 (xcb) platform is checked; ``offscreen``,
    ``wayland`` and other platforms chosen with ``QT_QPA_PLATFORM`` are left to Qt."""
    environ = os.environ if environ is None else environ
    if platform != "linux":
        return None
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen and not chosen.startswith("xcb"):
        return None
    if not chosen and environ.get("WAYLAND_DISPLAY"):
        return None  # Qt prefers Wayland there
    if not environ.get("DISPLAY"):
        return ("No graphical display is available (DISPLAY is not set): start the desktop application from a desktop session, "
                "or use the crossid command line.")
    missing = [name for name in XCB_LIBRARIES if not loads(name)]
    if not missing:
        return None
    debian = " ".join(XCB_LIBRARIES[name][0] for name in missing)
    fedora = " ".join(sorted({XCB_LIBRARIES[name][1] for name in missing}))
    return (f"The window cannot open: the system libraries {', '.join(missing)} that Qt needs on X11 are missing; "
            f"install them with 'sudo apt install {debian}' (Debian, Ubuntu) or 'sudo dnf install {fedora}' (Fedora).")
