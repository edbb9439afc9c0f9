"""Data sets on disk: the paired skull-face layout (S2F), the injured-face layout (IF) and
gallery sources, read into plain frozen records in a deterministic (sorted) order.

- S2F: ``ROOT/<subject_id>/`` holding ``xray_front.*``, ``xray_side.*``, ``face_front.*``,
  ``face_side.*`` (more photos as ``face_front_2.*``, ...), and, in the synthetic cohort,
  ``xray_front_clean.*``/``xray_side_clean.*`` (soft-tissue-free ground truth).
- IF: ``ROOT/<subject_id>/normal/*`` and ``ROOT/<subject_id>/injured/*``.
- Gallery: ``ROOT/<subject_id>/*`` face photos, or a CSV manifest ``path,subject_id,name,view``
  whose relative paths are resolved against the manifest's folder.

S2F, IF and gallery folders may hold ``ROOT/subjects.csv`` (``subject_id,name,...``) giving
names and other metadata. Files are only listed here, never opened or changed; hidden files and
files without an image suffix are ignored. A malformed folder raises
:class:`~crossid_desktop.errors.DatasetError` naming the path (``strict=True``), or is reported
in ``problems`` with the bad subject left out (``strict=False``).
"""

from __future__ import annotations

import csv
import os
import random
import re
import threading
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from crossid_desktop.errors import DatasetError, InvalidImageError
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress

#: Suffixes (lower case) of the files taken as images.
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".pgm", ".gif", ".dcm"})

#: Views a face photo can have.
VIEWS: tuple[str, ...] = ("front", "side")

_XRAY_NAME = re.compile(r"^xray_(front|side)(_clean)?$")
_FACE_NAME = re.compile(r"^face_(front|side)(?:_(\d+))?$")
_VIEW_WORDS = {"front": "front", "frontal": "front", "side": "side", "profile": "side", "lateral": "side", "unknown": "unknown", "": "unknown"}


@dataclass(frozen=True)
class S2FSubject:
    """One person of a paired skull-face set. ``faces`` maps each view (``"front"``,
    ``"side"``; both keys always present) to its photos, first photo first."""

    subject_id: str
    name: str
    metadata: Mapping[str, str]
    xray_front: Path | None
    xray_side: Path | None
    xray_front_clean: Path | None
    xray_side_clean: Path | None
    faces: Mapping[str, tuple[Path, ...]]


@dataclass(frozen=True)
class S2FDataset:
    root: Path
    subjects: tuple[S2FSubject, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class IFSubject:
    """One person of an injured-face set: photos before (``normal``) and after injury."""

    subject_id: str
    name: str
    normal: tuple[Path, ...]
    injured: tuple[Path, ...]


@dataclass(frozen=True)
class IFDataset:
    root: Path
    subjects: tuple[IFSubject, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class GalleryEntry:
    """One face photo to enrol; ``view`` is ``"front"``, ``"side"`` or ``"unknown"``."""

    path: Path
    subject_id: str
    name: str
    view: str


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


# --- shared helpers --------------------------------------------------------------------------


class _Problems:
    """Collects problems; raises the first one at once in strict mode."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.items: list[str] = []

    def add(self, message: str) -> None:
        if self.strict:
            raise DatasetError(message)
        self.items.append(message)


def _natural_key(path: Path) -> tuple[object, ...]:
    """Sort ``face_front_2`` before ``face_front_10``, case-insensitively."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name))


def _images_in(folder: Path) -> list[Path]:
    try:
        children = list(folder.iterdir())
    except OSError:
        return []
    files = [p for p in children if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()]
    return sorted(files, key=_natural_key)


def _existing_root(root: str | Path) -> Path:
    path = Path(root).expanduser().absolute()
    if not path.exists():
        raise DatasetError(f"The data set folder {path} does not exist.")
    if not path.is_dir():
        raise DatasetError(f"{path} is not a folder.")
    return path


def _subject_dirs(root: Path, problems: _Problems) -> list[Path]:
    try:
        dirs = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    except OSError as error:
        raise DatasetError(f"The data set folder {root} cannot be read: {error.strerror or error}.") from error
    if not dirs:
        problems.add(f"The data set folder {root} holds no subject folders.")
    return dirs


def _read_subjects_csv(root: Path, problems: _Problems) -> dict[str, dict[str, str]]:
    """``ROOT/subjects.csv`` as ``subject_id -> {column: value}`` (empty when absent)."""
    path = root / "subjects.csv"
    if not path.is_file():
        return {}
    rows: dict[str, dict[str, str]] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if "subject_id" not in (reader.fieldnames or []):
                problems.add(f"The subject list {path} has no 'subject_id' column.")
                return {}
            for line, row in enumerate(reader, start=2):
                subject_id = (row.get("subject_id") or "").strip()
                if not subject_id:
                    problems.add(f"The subject list {path} has an empty subject_id on line {line}.")
                elif subject_id in rows:
                    problems.add(f"The subject list {path} names subject {subject_id} twice (line {line}).")
                else:
                    rows[subject_id] = {k.strip(): (v or "").strip() for k, v in row.items() if k and k.strip() != "subject_id"}
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        problems.add(f"The subject list {path} cannot be read: {error}.")
    return rows


def _name_and_metadata(subject_id: str, table: Mapping[str, Mapping[str, str]]) -> tuple[str, Mapping[str, str]]:
    row = dict(table.get(subject_id, {}))
    name = row.pop("name", "") or subject_id
    return name, types.MappingProxyType(row)


# --- S2F -------------------------------------------------------------------------------------


def read_s2f(root: str | Path, *, strict: bool = True) -> S2FDataset:
    """Read a paired skull-face folder; every subject needs at least one X-ray and one photo."""
    root = _existing_root(root)
    problems = _Problems(strict)
    table = _read_subjects_csv(root, problems)
    subjects = []
    for folder in _subject_dirs(root, problems):
        subject = _read_s2f_subject(folder, table, problems)
        if subject is not None:
            subjects.append(subject)
    return S2FDataset(root=root, subjects=tuple(subjects), problems=tuple(problems.items))


def _read_s2f_subject(folder: Path, table: Mapping[str, Mapping[str, str]], problems: _Problems) -> S2FSubject | None:
    xrays: dict[str, Path] = {}
    faces: dict[str, list[tuple[int, Path]]] = {view: [] for view in VIEWS}
    ok = True
    for path in _images_in(folder):
        stem = path.stem.lower()
        if match := _XRAY_NAME.match(stem):
            role = f"xray_{match.group(1)}{match.group(2) or ''}"
            if role in xrays:
                problems.add(f"The subject folder {folder} holds two {role} images ({xrays[role].name} and {path.name}).")
                ok = False
            xrays.setdefault(role, path)
        elif match := _FACE_NAME.match(stem):
            number = int(match.group(2) or 1)
            if any(n == number for n, _ in faces[match.group(1)]):
                problems.add(f"The subject folder {folder} holds two face_{match.group(1)} photos numbered {number}.")
                ok = False
            faces[match.group(1)].append((number, path))
    if "xray_front" not in xrays and "xray_side" not in xrays:
        problems.add(f"The subject folder {folder} holds no X-ray (xray_front.* or xray_side.*).")
        ok = False
    if not any(faces.values()):
        problems.add(f"The subject folder {folder} holds no face photo (face_front.* or face_side.*).")
        ok = False
    if not ok:
        return None
    name, metadata = _name_and_metadata(folder.name, table)
    return S2FSubject(
        subject_id=folder.name,
        name=name,
        metadata=metadata,
        xray_front=xrays.get("xray_front"),
        xray_side=xrays.get("xray_side"),
        xray_front_clean=xrays.get("xray_front_clean"),
        xray_side_clean=xrays.get("xray_side_clean"),
        faces=types.MappingProxyType({view: tuple(p for _, p in sorted(items)) for view, items in faces.items()}),
    )


# --- IF --------------------------------------------------------------------------------------


def read_if(root: str | Path, *, strict: bool = True) -> IFDataset:
    """Read an injured-face folder; every subject needs ``normal/`` and ``injured/`` photos."""
    root = _existing_root(root)
    problems = _Problems(strict)
    table = _read_subjects_csv(root, problems)
    subjects = []
    for folder in _subject_dirs(root, problems):
        normal, injured = _images_in(folder / "normal"), _images_in(folder / "injured")
        missing = [part for part, files in (("normal", normal), ("injured", injured)) if not files]
        if missing:
            problems.add(f"The subject folder {folder} holds no {' and no '.join(missing)} photos ({'/, '.join(missing)}/).")
            continue
        name, _ = _name_and_metadata(folder.name, table)
        subjects.append(IFSubject(folder.name, name, tuple(normal), tuple(injured)))
    return IFDataset(root=root, subjects=tuple(subjects), problems=tuple(problems.items))


# --- gallery sources -------------------------------------------------------------------------


def read_gallery_source(source: str | Path) -> list[GalleryEntry]:
    """Face photos to enrol, from a folder ``ROOT/<subject_id>/*`` or a CSV manifest.

    A folder whose only content is one manifest (a CSV with ``path`` and ``subject_id``
    columns) is read as that manifest. Manifest columns ``name`` and ``view`` are optional.
    """
    entries, _ = _read_gallery(Path(source), _Problems(strict=True))
    return entries


def _read_gallery(source: Path, problems: _Problems) -> tuple[list[GalleryEntry], list[str]]:
    source = source.expanduser().absolute()
    if source.is_file() and source.suffix.lower() == ".csv":
        return _read_manifest(source, problems), problems.items
    root = _existing_root(source)
    manifest = _folder_manifest(root)
    if manifest is not None:
        return _read_manifest(manifest, problems), problems.items
    table = _read_subjects_csv(root, problems)
    entries: list[GalleryEntry] = []
    for folder in _subject_dirs(root, problems):
        photos = _images_in(folder)
        if not photos:
            problems.add(f"The subject folder {folder} holds no face photo.")
            continue
        name, _ = _name_and_metadata(folder.name, table)
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


def _read_manifest(manifest: Path, problems: _Problems) -> list[GalleryEntry]:
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
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        problems.add(f"The manifest {manifest} cannot be read: {error}.")
        return entries
    if not entries:
        problems.add(f"The manifest {manifest} lists no usable photo.")
    return entries


def _manifest_entry(manifest: Path, line: int, row: Mapping[str, str], problems: _Problems) -> GalleryEntry | None:
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


# --- layout, split, summary ------------------------------------------------------------------


def detect_layout(root: str | Path) -> str:
    """``"if"`` when subjects hold ``normal/``/``injured/`` folders, ``"s2f"`` when they hold
    ``xray_*`` images, ``"gallery"`` otherwise (and for a CSV manifest)."""
    path = Path(root).expanduser().absolute()
    if path.is_file() and path.suffix.lower() == ".csv":
        return "gallery"
    path = _existing_root(path)
    folders = _subject_dirs(path, _Problems(strict=False))
    if any((f / "normal").is_dir() or (f / "injured").is_dir() for f in folders):
        return "if"
    if any(_XRAY_NAME.match(p.stem.lower()) for f in folders for p in _images_in(f)):
        return "s2f"
    return "gallery"


def subject_split(subject_ids: Sequence[str], *, test_fraction: float = 0.3, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split subjects (not images) into ``(train, test)``, each sorted.

    The result depends only on the set of ids, ``test_fraction`` and ``seed``, never on their
    order; duplicates are merged. With two or more subjects both sides are non-empty.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}.")
    ids = sorted(set(subject_ids))
    if len(ids) < 2:
        return ids, []
    n_test = min(max(round(len(ids) * test_fraction), 1), len(ids) - 1)
    test = set(random.Random(seed).sample(ids, n_test))
    return [s for s in ids if s not in test], [s for s in ids if s in test]


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
        s2f = read_s2f(path, strict=False)
        roles = {r: [getattr(s, r) for s in s2f.subjects if getattr(s, r)] for r in ("xray_front", "xray_side", "xray_front_clean", "xray_side_clean")}
        roles |= {f"face_{v}": [p for s in s2f.subjects for p in s.faces[v]] for v in VIEWS}
        n_subjects, problems = len(s2f.subjects), list(s2f.problems)
    elif layout == "if":
        ifd = read_if(path, strict=False)
        roles = {"normal": [p for s in ifd.subjects for p in s.normal], "injured": [p for s in ifd.subjects for p in s.injured]}
        n_subjects, problems = len(ifd.subjects), list(ifd.problems)
    else:
        entries, problems = _read_gallery(path, _Problems(strict=False))
        roles = {f"face_{v}": [e.path for e in entries if e.view == v] for v in (*VIEWS, "unknown")}
        n_subjects = len({e.subject_id for e in entries})
    if check_readable:
        problems += _unreadable_images([p for paths in roles.values() for p in paths], progress, cancel)
    counts = types.MappingProxyType({role: len(paths) for role, paths in roles.items()})
    return DatasetSummary(layout, path, n_subjects, counts, tuple(problems))


def _unreadable_images(paths: Iterable[Path], progress: ProgressCallback | None, cancel: threading.Event | None) -> list[str]:
    from crossid_desktop.imaging.io import load_image

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
