"""``crossid info``: versions, compute devices and the workspace in use."""

from __future__ import annotations

import argparse
import platform
from typing import Any

ORDER = 90


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="versions of the software, the compute device and the workspace")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def collect_info(workspace: str | None = None) -> dict[str, Any]:
    """Facts a report or a bug report needs: software versions and the compute device."""
    from crossid_desktop import __version__
    from crossid_desktop.paths import default_workspace_dir

    info: dict[str, Any] = {
        "crossid_desktop": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "workspace": str(workspace or default_workspace_dir()),
    }
    try:
        import torch

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
    from importlib.metadata import PackageNotFoundError, version

    info["qt"] = None
    for distribution in ("PySide6-Essentials", "PySide6"):
        try:
            info["qt"] = version(distribution)
            break
        except PackageNotFoundError:
            continue
    return info


def run(args: argparse.Namespace) -> int:
    info = collect_info(str(args.workspace) if args.workspace else None)
    if args.json:
        import json

        print(json.dumps(info, indent=2))
        return 0
    device = info.get("cuda_device") or ("Apple MPS" if info.get("mps_available") else "CPU")
    rows = [
        ("CrossID Desktop", info["crossid_desktop"]),
        ("Python", info["python"]),
        ("torch", info.get("torch") or "not installed"),
        ("torchvision", info.get("torchvision") or "not installed"),
        ("CUDA available", "yes" if info.get("cuda_available") else "no"),
        ("MPS available", "yes" if info.get("mps_available") else "no"),
        ("compute device", device),
        ("OpenCV", info.get("opencv") or "not installed"),
        ("Qt", info.get("qt") or "not installed"),
        ("dlib", info.get("dlib") or "not installed"),
        ("hnswlib", info.get("hnswlib") or "not installed"),
        ("workspace", info["workspace"]),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
    return 0
