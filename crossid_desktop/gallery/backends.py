"""Where a workspace's gallery index lives, and opening it there.

The workspace setting ``gallery_index`` (``crossid gallery backend URI``) chooses the backend:

- absent or ``hnswlib``: the embedded index in the workspace's ``indexes/`` folder (default);
- ``milvus://HOST:PORT`` (or ``milvus+https://HOST:PORT``): a Milvus server shared by an
  agency's workstations (:mod:`.milvus_index`);
- ``file:PATH`` or a path ending in ``.db``: a Milvus Lite file (relative paths are taken from
  the workspace folder), the same backend without a server, for testing and small setups.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery.index import GalleryIndex, HnswParams
from crossid_desktop.gallery.index_base import GalleryIndexBase, Rebuild
from crossid_desktop.gallery.milvus_index import MilvusGalleryIndex
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.progress import ProgressCallback
from crossid_desktop.workspace import Workspace

SETTING = "gallery_index"
DEFAULT = "hnswlib"


@dataclass(frozen=True)
class IndexLocation:
    """A parsed ``gallery_index`` setting: the backend and what it connects to."""

    backend: str  # "hnswlib" | "milvus"
    uri: str  # the indexes folder, or what pymilvus connects to
    setting: str  # as written in the settings

    @property
    def shared(self) -> bool:
        """Whether the vectors leave the workstation (a server)."""
        return self.uri.startswith(("http://", "https://"))


def parse_location(setting: str, workspace: Workspace) -> IndexLocation:
    """The location a setting names; GalleryError with the accepted forms when it names none."""
    text = setting.strip()
    if text in ("", DEFAULT):
        return IndexLocation("hnswlib", str(workspace.indexes_dir), DEFAULT)
    url = urlparse(text)
    if url.scheme in ("milvus", "milvus+http", "milvus+https"):
        if not url.hostname or url.path not in ("", "/"):
            raise GalleryError(f"The gallery index {text!r} names no server; write it as milvus://HOST:PORT.")
        scheme = "https" if url.scheme == "milvus+https" else "http"
        return IndexLocation("milvus", f"{scheme}://{url.hostname}:{url.port or 19530}", text)
    if url.scheme == "file" or (url.scheme == "" and text.endswith(".db")):
        path = Path(url.path if url.scheme == "file" else text).expanduser()
        path = path if path.is_absolute() else workspace.root / path
        if path.suffix != ".db":
            raise GalleryError(f"The Milvus Lite file {path} must end in .db.")
        return IndexLocation("milvus", str(path), text)
    raise GalleryError(f"The gallery index {text!r} is not understood; use 'hnswlib', milvus://HOST:PORT or a Milvus Lite file ending in .db.")


def index_location(workspace: Workspace) -> IndexLocation:
    """Where this workspace's gallery index lives."""
    return parse_location(str(workspace.settings().get(SETTING) or DEFAULT), workspace)


def set_index_location(workspace: Workspace, setting: str) -> IndexLocation:
    """Choose where the gallery index lives (checked before it is written)."""
    location = parse_location(setting, workspace)
    workspace.write_setting(SETTING, None if location.backend == "hnswlib" else location.setting)
    return location


def open_index(
    workspace: Workspace,
    store: GalleryStore,
    fingerprint: str,
    *,
    rebuild: Rebuild = "auto",
    params: HnswParams | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> GalleryIndexBase:
    """A matcher's index where the workspace keeps it, caught up with the database."""
    location = index_location(workspace)
    if location.backend == "milvus":
        return MilvusGalleryIndex.open(location.uri, store, fingerprint, rebuild=rebuild, params=params, progress=progress, cancel=cancel)
    return GalleryIndex.open(workspace.indexes_dir, store, fingerprint, rebuild=rebuild, params=params, progress=progress, cancel=cancel)
