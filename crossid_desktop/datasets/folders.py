"""What every data-set folder reader shares: listing subject folders and images, the optional
``subjects.csv``, and collecting problems (raised at once in strict mode, listed otherwise).

Files are only listed here, never opened or changed; hidden files and files without an image
suffix (:data:`~crossid_desktop.imaging.formats.IMAGE_SUFFIXES`) are ignored.
"""

from __future__ import annotations

import csv
import re
import types
from collections.abc import Mapping
from pathlib import Path

from crossid_desktop.errors import DatasetError
from crossid_desktop.imaging.formats import IMAGE_SUFFIXES

#: Views a face photo can have.
VIEWS: tuple[str, ...] = ("front", "side")


class Problems:
    """Collects problems; raises the first one at once in strict mode."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.items: list[str] = []

    def add(self, message: str) -> None:
        if self.strict:
            raise DatasetError(message)
        self.items.append(message)


def natural_key(path: Path) -> tuple[object, ...]:
    """Sort ``face_front_2`` before ``face_front_10``, case-insensitively."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name))


def images_in(folder: Path) -> list[Path]:
    try:
        children = list(folder.iterdir())
    except OSError:
        return []
    files = [p for p in children if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()]
    return sorted(files, key=natural_key)


def existing_root(root: str | Path) -> Path:
    path = Path(root).expanduser().absolute()
    if not path.exists():
        raise DatasetError(f"The data set folder {path} does not exist.")
    if not path.is_dir():
        raise DatasetError(f"{path} is not a folder.")
    return path


def subject_dirs(root: Path, problems: Problems) -> list[Path]:
    try:
        dirs = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    except OSError as error:
        raise DatasetError(f"The data set folder {root} cannot be read: {error.strerror or error}.") from error
    if not dirs:
        problems.add(f"The data set folder {root} holds no subject folders.")
    return dirs


def read_subjects_csv(root: Path, problems: Problems) -> dict[str, dict[str, str]]:
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
    except UnicodeDecodeError:
        problems.add(not_utf8(path, "subject list"))
    except (OSError, csv.Error) as error:
        problems.add(f"The subject list {path} cannot be read: {error}.")
    return rows


def name_and_metadata(subject_id: str, table: Mapping[str, Mapping[str, str]]) -> tuple[str, Mapping[str, str]]:
    row = dict(table.get(subject_id, {}))
    name = row.pop("name", "") or subject_id
    return name, types.MappingProxyType(row)


def not_utf8(path: Path, what: str) -> str:
    """The one sentence for a text file in another encoding (Latin-1, UTF-16, ...)."""
    return f"The {what} {path} is not UTF-8 text; save it as UTF-8 (for example with \"CSV UTF-8\" in a spreadsheet program) and try again."
