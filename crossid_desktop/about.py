"""What this installation is: the versions of the software and its runtime pieces, the
compute device and the machine. Reports, the audit trail, ``crossid info`` and the self-test
record name these facts.

Versions for reports come from the installed packages' metadata, so that naming them loads none
of them (importing torch and torchvision takes seconds); the application folder ships the
metadata of these distributions. The self-test instead imports each runtime piece
(:func:`runtime_versions`): that a piece loads is part of what it checks. The compute device
needs torch itself: it is reported when asked for (``crossid info --device``), or when torch is
loaded already (a search with a torch matcher ran), and otherwise said to be unchecked.
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


#: what the self-test loads: (name shown, module, attribute holding its version, name in
#: :data:`DISTRIBUTIONS` or distribution to ask when the module carries none)
RUNTIME_PIECES: tuple[tuple[str, str, str, str], ...] = (
    ("torch", "torch", "__version__", "torch"),
    ("torchvision", "torchvision", "__version__", "torchvision"),
    ("numpy", "numpy", "__version__", "numpy"),
    ("opencv", "cv2", "__version__", "opencv"),
    ("dlib", "dlib", "__version__", "dlib"),
    ("hnswlib", "hnswlib", "__version__", "hnswlib"),
    ("pydicom", "pydicom", "__version__", "pydicom"),
    ("pillow", "PIL", "__version__", "pillow"),
    ("reportlab", "reportlab", "Version", "reportlab"),
    ("pypdf", "pypdf", "__version__", "pypdf"),
    ("matplotlib", "matplotlib", "__version__", "matplotlib"),
)


def installation_kind() -> str:
    """``"bundle"`` in the self-contained application folder, else ``"python environment"``."""
    return "bundle" if getattr(sys, "frozen", False) else "python environment"


def runtime_versions() -> dict[str, str | None]:
    """Version of each runtime piece, loading it (None when it is not installed or fails to
    import: a native part that does not load), Python and Qt included (Qt from the metadata:
    only the GUI imports it)."""
    found: dict[str, str | None] = {"crossid_desktop": __version__, "python": platform.python_version()}
    for name, module_name, attribute, distribution in RUNTIME_PIECES:
        try:
            module = import_module(module_name)
        except Exception:  # missing, or a native part that fails to load: reported as absent
            found[name] = None
            continue
        value = getattr(module, attribute, None)
        found[name] = str(value) if value else package_version(distribution) or "installed"
    found["qt"] = package_version("qt")
    return found


def machine() -> dict[str, Any]:
    """The machine: host name, operating system, processor, cores and memory (GiB, Linux and
    macOS; None where the system does not say)."""
    memory_gib = None
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (AttributeError, ValueError, OSError):
        pass
    return {"host": platform.node(), "os": platform.platform(), "processor": _processor_name(), "cores": os.cpu_count(), "memory_gib": memory_gib}


def _processor_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect_info(workspace: str | None = None, *, device: bool | None = None) -> dict[str, Any]:
    """Facts a report or a bug report needs: software versions and, when ``device`` is True
    (or None and torch is loaded already), the compute device."""
    info: dict[str, Any] = {
        "crossid_desktop": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "workspace": str(workspace or default_workspace_dir()),
        "installation": installation_kind(),
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
