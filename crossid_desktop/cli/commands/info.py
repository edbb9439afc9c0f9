"""``crossid info``: versions, compute devices and the workspace in use."""

from __future__ import annotations

import argparse
import json

from crossid_desktop.about import collect_info

ORDER = 90


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="versions of the software, the compute device and the workspace")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--device", action="store_true", help="also check the compute device (loads torch: seconds)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    info = collect_info(str(args.workspace) if args.workspace else None, device=args.device)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    unchecked = "not checked (crossid info --device)"
    device = (info.get("cuda_device") or ("Apple MPS" if info.get("mps_available") else "CPU")) if info["device_checked"] else unchecked
    rows = [
        ("CrossID Desktop", info["crossid_desktop"]),
        ("Python", info["python"]),
        ("torch", info.get("torch") or "not installed"),
        ("torchvision", info.get("torchvision") or "not installed"),
        ("CUDA available", _yes_no(info.get("cuda_available"), unchecked)),
        ("MPS available", _yes_no(info.get("mps_available"), unchecked)),
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


def _yes_no(value: bool | None, unknown: str) -> str:
    return unknown if value is None else ("yes" if value else "no")
