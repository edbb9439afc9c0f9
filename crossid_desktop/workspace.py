"""The workspace: one folder holding everything CrossID Desktop keeps.

::
    <root>/
      crossid-workspace.json   marker: format and version of the workspace
      gallery.db               SQLite: subjects, images, thumbnails, embeddings, cases, audit log
      indexes/                 search indexes, derived from gallery.db and rebuilt when stale
      cases/                   files attached to cases
      reports/                 exported PDF reports
      models/                  trained matchers
      settings.json            the workspace's settings (e.g. where its gallery index lives)

The user's own photos and X-rays stay where they are; the workspace records their paths and
SHA-256 only. A folder that already holds other files is never adopted as a workspace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crossid_desktop.errors import GalleryError
from crossid_desktop.paths import default_workspace_dir, write_text_atomic

#: Version of the folder layout; a workspace with a higher one was made by a newer release.
WORKSPACE_FORMAT_VERSION = 1
MARKER_NAME = "crossid-workspace.json"
SETTINGS_NAME = "settings.json"
_MARKER_FORMAT = "crossid-desktop-workspace"
_SUBFOLDERS = ("indexes", "cases", "reports", "models")


@dataclass(frozen=True)
class Workspace:
    """An opened workspace folder (absolute ``root``). Create with :meth:`open`."""

    root: Path

    @classmethod
    def open(cls, root: Path | None = None, *, create: bool = True) -> Workspace:
        """Open the workspace at ``root`` (default: :func:`crossid_desktop.paths.default_workspace_dir`).

        With ``create``, a missing or empty folder becomes a new workspace. A folder holding
        other files is refused, unless it holds a ``gallery.db`` (a workspace whose marker
        was lost), which is adopted. Raises :class:`GalleryError` with the reason.
        """
        if root is None:
            root = default_workspace_dir()
        root = Path(root).expanduser().absolute()
        marker = root / MARKER_NAME
        if root.exists() and not root.is_dir():
            raise GalleryError(f"The workspace {root} is a file, not a folder.")
        try:
            if marker.exists():
                _check_marker(marker)
            elif not root.exists() or not any(root.iterdir()) or (root / "gallery.db").is_file():
                if not create:
                    raise GalleryError(f"There is no CrossID workspace at {root}.")
                root.mkdir(parents=True, exist_ok=True)
                _write_marker(marker)
            else:
                raise GalleryError(
                    f"The folder {root} holds other files and is not a CrossID workspace; choose a new or empty folder."
                )
            for name in _SUBFOLDERS:
                (root / name).mkdir(exist_ok=True)
        except OSError as exc:
            raise GalleryError(f"The workspace {root} cannot be used ({exc.strerror or exc}).") from exc
        return cls(root)

    @property
    def db_path(self) -> Path:
        return self.root / "gallery.db"

    @property
    def indexes_dir(self) -> Path:
        return self.root / "indexes"

    @property
    def cases_dir(self) -> Path:
        return self.root / "cases"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_NAME

    def settings(self) -> dict[str, Any]:
        """The workspace's settings (empty when none were written)."""
        if not self.settings_path.is_file():
            return {}
        try:
            stored = json.loads(self.settings_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GalleryError(f"The workspace settings {self.settings_path} cannot be read ({exc}); fix or delete the file.") from exc
        if not isinstance(stored, dict):
            raise GalleryError(f"The workspace settings {self.settings_path} are not a JSON object; fix or delete the file.")
        return stored

    def write_setting(self, key: str, value: Any) -> None:
        """Set one setting (None removes it), written atomically."""
        stored = self.settings()
        if value is None:
            stored.pop(key, None)
        else:
            stored[key] = value
        write_text_atomic(self.settings_path, json.dumps(stored, indent=2, sort_keys=True) + "\n")


def _check_marker(marker: Path) -> None:
    try:
        content = json.loads(marker.read_text(encoding="utf-8"))
        version = int(content["version"]) if content.get("format") == _MARKER_FORMAT else None
    except (ValueError, TypeError, KeyError, AttributeError):
        version = None
    if version is None:
        raise GalleryError(f"The workspace marker {marker} is damaged; it should describe a CrossID workspace.")
    if version > WORKSPACE_FORMAT_VERSION:
        raise GalleryError(f"The workspace {marker.parent} was made by a newer version of CrossID Desktop; update the application.")


def _write_marker(marker: Path) -> None:
    content = {
        "format": _MARKER_FORMAT,
        "version": WORKSPACE_FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_text_atomic(marker, json.dumps(content, indent=1) + "\n")
