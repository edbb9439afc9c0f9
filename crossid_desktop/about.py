"""What software runs, and where: versions of the runtime pieces, the compute device and the
machine. Read by ``crossid info``, the window's About box, every recorded search (a case
keeps the environment it was searched in) and the self-test record.

Versions come from the modules themselves (``__version__``) and, where a module carries none,
from the installed distribution's metadata, so they are found in a Python environment and in
the application bundle alike (the bundle ships the metadata of these distributions).
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from crossid_desktop import __version__
from crossid_desktop.paths import default_workspace_dir

#: (name shown, module, attribute holding its version, distribution to ask when it has none)
RUNTIME_PIECES: tuple[tuple[str, str, str, str], ...] = (
    ("torch", "torch", "__version__", "torch"),
    ("torchvision", "torchvision", "__version__", "torchvision"),
    ("numpy", "numpy", "__version__", "numpy"),
    ("opencv", "cv2", "__version__", "opencv-python-headless"),
    ("dlib", "dlib", "__version__", "dlib-bin"),
    ("hnswlib", "hnswlib", "__version__", "hnswlib"),
    ("pydicom", "pydicom", "__version__", "pydicom"),
    ("pillow", "PIL", "__version__", "pillow"),
    ("reportlab", "reportlab", "Version", "reportlab"),
    ("pypdf", "pypdf", "__version__", "pypdf"),
    ("matplotlib", "matplotlib", "__version__", "matplotlib"),
)
#: Qt is imported by the GUI alone (the layer rule): its version comes from the metadata only
QT_DISTRIBUTIONS = ("PySide6-Essentials", "PySide6")


def installation_kind() -> str:
    """``"bundle"`` in the self-contained application folder, else ``"python environment"``."""
    return "bundle" if getattr(sys, "frozen", False) else "python environment"


def _distribution_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def runtime_versions() -> dict[str, str | None]:
    """Version of each runtime piece (None when it is not installed or fails to import),
    Python and Qt included."""
    found: dict[str, str | None] = {"crossid_desktop": __version__, "python": platform.python_version()}
    for name, module_name, attribute, distribution in RUNTIME_PIECES:
        try:
            module = import_module(module_name)
        except Exception:  # missing, or a native part that fails to load: reported as absent
            found[name] = None
            continue
        value = getattr(module, attribute, None)
        found[name] = str(value) if value else _distribution_version(distribution) or "installed"
    found["qt"] = next((v for v in map(_distribution_version, QT_DISTRIBUTIONS) if v), None)
    return found


def compute_device() -> dict[str, Any]:
    """Whether CUDA or Apple MPS is usable, and the CUDA device's name."""
    try:
        import torch  # heavy: only when asked
    except ImportError:
        return {"cuda_available": False, "cuda_device": None, "mps_available": False}
    cuda = bool(torch.cuda.is_available())
    mps = getattr(torch.backends, "mps", None)
    return {
        "cuda_available": cuda,
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "mps_available": bool(mps is not None and mps.is_available()),
    }


def machine() -> dict[str, Any]:
    """The machine: host name, operating system, processor, cores and memory (GiB, Linux and
    macOS; None where the system does not say)."""
    memory_gib = None
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (AttributeError, ValueError, OSError):
        pass
    return {
        "host": platform.node(),
        "os": platform.platform(),
        "processor": _processor_name(),
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
    }


def _processor_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect_info(workspace: str | None = None) -> dict[str, Any]:
    """Facts a report or a bug report needs: software versions, the compute device, the
    installation and the workspace."""
    info: dict[str, Any] = {**runtime_versions(), "platform": platform.platform(), "installation": installation_kind()}
    info.update(compute_device())
    info["workspace"] = str(workspace or default_workspace_dir())
    return info
