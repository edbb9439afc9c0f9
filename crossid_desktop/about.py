"""What this installation is: the versions of the software and its runtime pieces, and the
compute device. Reports, the audit trail and ``crossid info`` name these facts."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from crossid_desktop import __version__
from crossid_desktop.paths import default_workspace_dir


def collect_info(workspace: str | None = None) -> dict[str, Any]:
    """Facts a report or a bug report needs: software versions and the compute device."""
    info: dict[str, Any] = {
        "crossid_desktop": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "workspace": str(workspace or default_workspace_dir()),
    }
    try:
        import torch  # heavy: imported only when the facts are asked for

        info["torch"] = torch.__version__
        info["cuda_available"] = bool(torch.cuda.is_available())
        info["cuda_device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        mps = getattr(torch.backends, "mps", None)
        info["mps_available"] = bool(mps is not None and mps.is_available())
    except ImportError:
        info["torch"] = None
    for name, module in (("torchvision", "torchvision"), ("opencv", "cv2"), ("numpy", "numpy"), ("hnswlib", "hnswlib"), ("pydicom", "pydicom"), ("reportlab", "reportlab"), ("dlib", "dlib")):
        try:
            mod = __import__(module)
            info[name] = getattr(mod, "__version__", getattr(mod, "DLIB_VERSION", "installed"))
        except ImportError:
            info[name] = None
    # Qt stays out of everything but gui/ (the layer rule); PySide6 releases carry the Qt version.
    info["qt"] = None
    for distribution in ("PySide6-Essentials", "PySide6"):
        try:
            info["qt"] = version(distribution)
            break
        except PackageNotFoundError:
            continue
    return info
