"""What this installation is: the versions of the software and its runtime pieces, and the
compute device. Reports, the audit trail and ``crossid info`` name these facts.

Versions come from the installed packages' metadata, so that naming them loads none of them
(importing torch and torchvision takes seconds). The compute device needs torch itself: it is
reported when asked for (``crossid info --device``), or when torch is loaded already (a search
with a torch matcher ran), and otherwise said to be unchecked.
"""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from crossid_desktop import __version__
from crossid_desktop.paths import default_workspace_dir

#: name in the facts -> the distributions that provide it, first found wins
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "torchvision": ("torchvision",),
    "opencv": ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless", "opencv-contrib-python"),
    "numpy": ("numpy",),
    "hnswlib": ("hnswlib",),
    "pydicom": ("pydicom",),
    "reportlab": ("reportlab",),
    "dlib": ("dlib-bin", "dlib"),
    # Qt stays out of everything but gui/ (the layer rule); PySide6 releases carry the Qt version.
    "qt": ("PySide6-Essentials", "PySide6"),
    "pymilvus": ("pymilvus",),
}


def package_version(name: str) -> str | None:
    """The installed version of a runtime piece named in :data:`DISTRIBUTIONS` (or of a
    distribution by its own name); None when it is not installed."""
    for distribution in DISTRIBUTIONS.get(name, (name,)):
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    return None


def device_facts() -> dict[str, Any]:
    """The compute device as torch sees it (imports torch: seconds)."""
    try:
        import torch  # heavy: imported only when the device is asked for
    except ImportError:
        return {"torch_build": None, "cuda_available": False, "cuda_device": None, "mps_available": False, "device_checked": True}
    cuda = bool(torch.cuda.is_available())
    mps = getattr(torch.backends, "mps", None)
    return {
        "torch_build": torch.__version__,
        "cuda_available": cuda,
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "mps_available": bool(mps is not None and mps.is_available()),
        "device_checked": True,
    }


def collect_info(workspace: str | None = None, *, device: bool | None = None) -> dict[str, Any]:
    """Facts a report or a bug report needs: software versions and, when ``device`` is True
    (or None and torch is loaded already), the compute device."""
    info: dict[str, Any] = {
        "crossid_desktop": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "workspace": str(workspace or default_workspace_dir()),
    }
    info.update({name: package_version(name) for name in DISTRIBUTIONS})
    if device or (device is None and "torch" in sys.modules):
        info.update(device_facts())
    else:
        info.update(cuda_available=None, cuda_device=None, mps_available=None, device_checked=False)
    return info


def describe_device(info: dict[str, Any]) -> str:
    """The compute device in words, from facts of :func:`collect_info` (also older records,
    which always checked it)."""
    if info.get("device_checked") is False:
        return "not checked (no torch model was loaded)"
    return info.get("cuda_device") or ("Apple MPS" if info.get("mps_available") else "CPU")
