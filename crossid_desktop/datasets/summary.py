"""What a data-set folder holds: its layout (paired skull-face, injured-face or gallery), its
usable subjects, images per role and every problem found (``crossid dataset info``)."""

from __future__ import annotations

import threading
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from crossid_desktop.datasets.folders import VIEWS, Problems, existing_root, images_in, subject_dirs
from crossid_desktop.datasets.gallery_sources import read_gallery
from crossid_desktop.datasets.injured_faces import read_injured_faces
from crossid_desktop.datasets.skull_faces import XRAY_NAME, read_skull_faces
from crossid_desktop.errors import InvalidImageError
from crossid_desktop.imaging.io import load_image
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress


@dataclass(frozen=True)
class DatasetSummary:
    """What :func:`summarize` found: image counts per role (S2F: ``xray_front``, ``xray_side``,
    ``xray_front_clean``, ``xray_side_clean``, ``face_front``, ``face_side``; IF: ``normal``,
    ``injured``; gallery: ``face_front``, ``face_side``, ``face_unknown``) over the usable
    subjects, and every problem found."""

    layout: str
    root: Path
    n_subjects: int
    images_per_role: Mapping[str, int]
    problems: tuple[str, ...]


def detect_layout(root: str | Path) -> str:
    """``"if"`` when subjects hold ``normal/``/``injured/`` folders, ``"s2f"`` when they hold
    ``xray_*`` images, ``"gallery"`` otherwise (and for a CSV manifest)."""
    path = Path(root).expanduser().absolute()
    if path.is_file() and path.suffix.lower() == ".csv":
        return "gallery"
    path = existing_root(path)
    folders = subject_dirs(path, Problems(strict=False))
    if any((f / "normal").is_dir() or (f / "injured").is_dir() for f in folders):
        return "if"
    if any(XRAY_NAME.match(p.stem.lower()) for f in folders for p in images_in(f)):
        return "s2f"
    return "gallery"


def summarize(
    root: str | Path,
    *,
    check_readable: bool = False,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DatasetSummary:
    """Layout, usable subjects, images per role and problems of a data set folder (or manifest).

    With ``check_readable`` every image is decoded with
    :func:`~crossid_desktop.imaging.io.load_image` and each failure becomes a problem.
    """
    layout = detect_layout(root)
    path = Path(root).expanduser().absolute()
    if layout == "s2f":
        paired = read_skull_faces(path, strict=False)
        roles = {r: [getattr(s, r) for s in paired.subjects if getattr(s, r)] for r in ("xray_front", "xray_side", "xray_front_clean", "xray_side_clean")}
        roles |= {f"face_{v}": [p for s in paired.subjects for p in s.faces[v]] for v in VIEWS}
        n_subjects, problems = len(paired.subjects), list(paired.problems)
    elif layout == "if":
        injured = read_injured_faces(path, strict=False)
        roles = {"normal": [p for s in injured.subjects for p in s.normal], "injured": [p for s in injured.subjects for p in s.injured]}
        n_subjects, problems = len(injured.subjects), list(injured.problems)
    else:
        entries, problems = read_gallery(path, Problems(strict=False))
        roles = {f"face_{v}": [e.path for e in entries if e.view == v] for v in (*VIEWS, "unknown")}
        n_subjects = len({e.subject_id for e in entries})
    if check_readable:
        problems += _unreadable_images([p for paths in roles.values() for p in paths], progress, cancel)
    counts = types.MappingProxyType({role: len(paths) for role, paths in roles.items()})
    return DatasetSummary(layout, path, n_subjects, counts, tuple(problems))


def _unreadable_images(paths: Iterable[Path], progress: ProgressCallback | None, cancel: threading.Event | None) -> list[str]:
    paths = list(paths)
    report = progress or no_progress
    failures = []
    for done, path in enumerate(paths):
        check_cancel(cancel, "The data set check")
        report(done, len(paths), path.name)
        try:
            load_image(path)
        except InvalidImageError as error:
            failures.append(str(error))
    report(len(paths), len(paths), "images checked")
    return failures
