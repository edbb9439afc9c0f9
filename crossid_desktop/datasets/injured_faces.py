"""The injured-face layout (IF): ``ROOT/<subject_id>/normal/*`` (photos before the injury) and
``ROOT/<subject_id>/injured/*``; optional ``ROOT/subjects.csv``. Strict and lenient reading as
in :mod:`crossid_desktop.datasets.skull_faces`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crossid_desktop.datasets.folders import Problems, existing_root, images_in, name_and_metadata, read_subjects_csv, subject_dirs


@dataclass(frozen=True)
class InjuredFaceSubject:
    """One person of an injured-face set: photos before (``normal``) and after injury."""

    subject_id: str
    name: str
    normal: tuple[Path, ...]
    injured: tuple[Path, ...]


@dataclass(frozen=True)
class InjuredFaceDataset:
    root: Path
    subjects: tuple[InjuredFaceSubject, ...]
    problems: tuple[str, ...]


def read_injured_faces(root: str | Path, *, strict: bool = True) -> InjuredFaceDataset:
    """Read an injured-face folder; every subject needs ``normal/`` and ``injured/`` photos."""
    root = existing_root(root)
    problems = Problems(strict)
    table = read_subjects_csv(root, problems)
    subjects = []
    for folder in subject_dirs(root, problems):
        normal, injured = images_in(folder / "normal"), images_in(folder / "injured")
        missing = [part for part, files in (("normal", normal), ("injured", injured)) if not files]
        if missing:
            problems.add(f"The subject folder {folder} holds no {' and no '.join(missing)} photos ({'/, '.join(missing)}/).")
            continue
        name, _ = name_and_metadata(folder.name, table)
        subjects.append(InjuredFaceSubject(folder.name, name, tuple(normal), tuple(injured)))
    return InjuredFaceDataset(root=root, subjects=tuple(subjects), problems=tuple(problems.items))
