"""Gallery sources: face photos to enrol, from a folder ``ROOT/<subject_id>/*`` (optional
``ROOT/subjects.csv`` for names) or a CSV manifest ``path,subject_id[,name,view]`` whose
relative paths are resolved against the manifest's folder.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from crossid_desktop.datasets.folders import Problems, existing_root, images_in, name_and_metadata, not_utf8, read_subjects_csv, subject_dirs
from crossid_desktop.errors import DatasetError

_VIEW_WORDS = {"front": "front", "frontal": "front", "side": "side", "profile": "side", "lateral": "side", "unknown": "unknown", "": "unknown"}


@dataclass(frozen=True)
class GalleryEntry:
    """One face photo to enrol; ``view`` is ``"front"``, ``"side"`` or ``"unknown"``."""

    path: Path
    subject_id: str
    name: str
    view: str


def read_gallery_source(source: str | Path) -> list[GalleryEntry]:
    """Face photos to enrol, from a folder ``ROOT/<subject_id>/*`` or a CSV manifest.

    A folder whose only content is one manifest (a CSV with ``path`` and ``subject_id``
    columns) is read as that manifest. Manifest columns ``name`` and ``view`` are optional.
    """
    entries, _ = read_gallery(Path(source), Problems(strict=True))
    return entries


def read_gallery(source: Path, problems: Problems) -> tuple[list[GalleryEntry], list[str]]:
    source = source.expanduser().absolute()
    if source.is_file() and source.suffix.lower() == ".csv":
        return _read_manifest(source, problems), problems.items
    root = existing_root(source)
    manifest = _folder_manifest(root)
    if manifest is not None:
        return _read_manifest(manifest, problems), problems.items
    table = read_subjects_csv(root, problems)
    entries: list[GalleryEntry] = []
    for folder in subject_dirs(root, problems):
        photos = images_in(folder)
        if not photos:
            problems.add(f"The subject folder {folder} holds no face photo.")
            continue
        name, _ = name_and_metadata(folder.name, table)
        entries.extend(GalleryEntry(p, folder.name, name, _view_from_name(p.stem)) for p in photos)
    return entries, problems.items


def _folder_manifest(root: Path) -> Path | None:
    """The manifest of a flat folder: its single CSV with ``path`` and ``subject_id`` columns,
    when the folder has no subject sub-folders."""
    if any(p.is_dir() and not p.name.startswith(".") for p in root.iterdir()):
        return None
    candidates = [p for p in sorted(root.glob("*.csv")) if {"path", "subject_id"} <= set(_csv_header(p))]
    if len(candidates) > 1:
        raise DatasetError(f"The folder {root} holds several manifests ({', '.join(p.name for p in candidates)}); name one.")
    return candidates[0] if candidates else None


def _csv_header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return [column.strip() for column in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _view_from_name(stem: str) -> str:
    words = set(re.split(r"[^a-z]+", stem.lower()))
    if words & {"front", "frontal"}:
        return "front"
    if words & {"side", "profile", "lateral"}:
        return "side"
    return "unknown"


def _read_manifest(manifest: Path, problems: Problems) -> list[GalleryEntry]:
    entries: list[GalleryEntry] = []
    try:
        with open(manifest, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = {c.strip() for c in reader.fieldnames or [] if c}
            missing = [c for c in ("path", "subject_id") if c not in columns]
            if missing:
                problems.add(f"The manifest {manifest} lacks the column(s) {', '.join(missing)} (needs path,subject_id[,name,view]).")
                return []
            for line, raw in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str) or v is None}
                entry = _manifest_entry(manifest, line, row, problems)
                if entry is not None:
                    entries.append(entry)
    except UnicodeDecodeError:
        problems.add(not_utf8(manifest, "manifest"))
        return entries
    except (OSError, csv.Error) as error:
        problems.add(f"The manifest {manifest} cannot be read: {error}.")
        return entries
    if not entries:
        problems.add(f"The manifest {manifest} lists no usable photo.")
    return entries


def _manifest_entry(manifest: Path, line: int, row: Mapping[str, str], problems: Problems) -> GalleryEntry | None:
    where = f"The manifest {manifest}, line {line},"
    if not row.get("path") or not row.get("subject_id"):
        problems.add(f"{where} has an empty path or subject_id.")
        return None
    path = Path(row["path"]).expanduser()
    path = Path(os.path.normpath(path if path.is_absolute() else manifest.parent / path))
    if not path.is_file():
        problems.add(f"{where} names {path}, which does not exist.")
        return None
    view = _VIEW_WORDS.get(row.get("view", "").lower())
    if view is None:
        problems.add(f"{where} has view '{row['view']}'; use front, side or unknown.")
        return None
    return GalleryEntry(path, row["subject_id"], row.get("name") or row["subject_id"], view)
