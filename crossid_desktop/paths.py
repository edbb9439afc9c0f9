"""Where things live: bundled resources and the default workspace.

``resources/`` sits at the top of a checkout and is installed inside the wheel as
``crossid_desktop/resources`` (see setup.py); :func:`resource_path` finds it in both places.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

_CHECKOUT_RESOURCES = Path(__file__).resolve().parent.parent / "resources"
_PACKAGED_RESOURCES = Path(__file__).resolve().parent / "resources"


def resources_dir() -> Path:
    """The folder of bundled resources (icons, style sheet, demo models and queries)."""
    for candidate in (_PACKAGED_RESOURCES, _CHECKOUT_RESOURCES):
        if candidate.is_dir():
            return candidate
    try:  # an editable install maps the package ``crossid_desktop.resources`` to the checkout

        return Path(str(files("crossid_desktop.resources")))
    except (ModuleNotFoundError, TypeError):
        pass
    raise FileNotFoundError("The bundled resources folder of CrossID Desktop is missing; reinstall the application.")


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("models", "skull2face.pt")``."""
    return resources_dir().joinpath(*parts)


@contextmanager
def atomic_path(target: str | Path, *, mode: int = 0o644) -> Iterator[Path]:
    """A temporary file beside ``target`` to write; when the block ends without an error it is
    renamed over ``target`` (``os.replace``), otherwise removed. Readers never see a half-written
    file and a failure leaves the old one. Every file the project replaces is written this way."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, mode)  # mkstemp makes 0600; these are ordinary documents
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` atomically (see :func:`atomic_path`)."""
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)


def write_text_atomic(target: str | Path, text: str) -> None:
    """Replace ``target`` with UTF-8 ``text`` atomically (see :func:`atomic_path`)."""
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def default_workspace_dir() -> Path:
    """The workspace used when none is given: ``$CROSSID_WORKSPACE`` or the user data folder."""
    env = os.environ.get("CROSSID_WORKSPACE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path  # loads on first use

    return user_data_path("CrossID Desktop", appauthor=False) / "workspace"
