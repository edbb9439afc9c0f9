"""The application icon (half skull, half face), from the PNG sizes in ``resources/icons``
(written from ``crossid-desktop.svg`` by ``packaging/make_icons.py``)."""

from __future__ import annotations

import re

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

from crossid_desktop.paths import resource_path

ICON_NAME = "crossid-desktop"
_SIZE = re.compile(rf"^{ICON_NAME}-(\d+)\.png$")


def application_icon() -> QIcon:
    """A QIcon holding every bundled size, so that each place (title bar, task bar, dock)
    picks a sharp one; a null icon when the files are missing."""
    icon = QIcon()
    folder = resource_path("icons")
    for path in sorted(folder.glob(f"{ICON_NAME}-*.png")) if folder.is_dir() else ():
        match = _SIZE.match(path.name)
        if match:
            size = int(match.group(1))
            icon.addFile(str(path), QSize(size, size))
    return icon
