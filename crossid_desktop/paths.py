"""Where things live: bundled resources and the default workspace.

``resources/`` sits at the top of a checkout and is installed inside the wheel as
``crossid_desktop/resources`` (see setup.py); :func:`resource_path` finds it in both places.
"""

from __future__ import annotations

import os
from pathlib import Path

_CHECKOUT_RESOURCES = Path(__file__).resolve().parent.parent / "resources"
_PACKAGED_RESOURCES = Path(__file__).resolve().parent / "resources"


def resources_dir() -> Path:
    """The folder of bundled resources (icons, style sheet, demo models and queries)."""
    for candidate in (_PACKAGED_RESOURCES, _CHECKOUT_RESOURCES):
        if candidate.is_dir():
            return candidate
    try:  # an editable install maps the package ``crossid_desktop.resources`` to the checkout
        from importlib.resources import files

        return Path(str(files("crossid_desktop.resources")))
    except (ModuleNotFoundError, TypeError):
        pass
    raise FileNotFoundError("The bundled resources folder of CrossID Desktop is missing; reinstall the application.")


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("models", "skull2face.pt")``."""
    return resources_dir().joinpath(*parts)


def default_workspace_dir() -> Path:
    """The workspace used when none is given: ``$CROSSID_WORKSPACE`` or the user data folder."""
    env = os.environ.get("CROSSID_WORKSPACE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("CrossID Desktop", appauthor=False) / "workspace"
