"""The paired skull-face layout (S2F): ``ROOT/<subject_id>/`` holding ``xray_front.*``,
``xray_side.*``, ``face_front.*``, ``face_side.*`` (more photos as ``face_front_2.*``, ...) and,
in the synthetic cohort, ``xray_front_clean.*``/``xray_side_clean.*`` (soft-tissue-free ground
truth); optional ``ROOT/subjects.csv`` (``subject_id,name,...``). Read into frozen records in a
deterministic (sorted) order. A malformed folder raises
:class:`~crossid_desktop.errors.DatasetError` naming the path (``strict=True``), or is reported
in ``problems`` with the bad subject left out (``strict=False``).
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from crossid_desktop.datasets.folders import VIEWS, Problems, existing_root, images_in, name_and_metadata, read_subjects_csv, subject_dirs

#: File stems of X-rays (``xray_front``, ``xray_side_clean``, ...) and face photos (``face_side_2``, ...).
XRAY_NAME = re.compile(r"^xray_(front|side)(_clean)?$")
FACE_NAME = re.compile(r"^face_(front|side)(?:_(\d+))?$")


@dataclass(frozen=True)
class SkullFaceSubject:
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
class SkullFaceDataset:
    root: Path
    subjects: tuple[SkullFaceSubject, ...]
    problems: tuple[str, ...]


def read_skull_faces(root: str | Path, *, strict: bool = True) -> SkullFaceDataset:
    """Read a paired skull-face folder; every subject needs at least one X-ray and one photo."""
    root = existing_root(root)
    problems = Problems(strict)
    table = read_subjects_csv(root, problems)
    subjects = []
    for folder in subject_dirs(root, problems):
        subject = _read_subject(folder, table, problems)
        if subject is not None:
            subjects.append(subject)
    return SkullFaceDataset(root=root, subjects=tuple(subjects), problems=tuple(problems.items))


def _read_subject(folder: Path, table: Mapping[str, Mapping[str, str]], problems: Problems) -> SkullFaceSubject | None:
    xrays: dict[str, Path] = {}
    faces: dict[str, list[tuple[int, Path]]] = {view: [] for view in VIEWS}
    ok = True
    for path in images_in(folder):
        stem = path.stem.lower()
        if match := XRAY_NAME.match(stem):
            role = f"xray_{match.group(1)}{match.group(2) or ''}"
            if role in xrays:
                problems.add(f"The subject folder {folder} holds two {role} images ({xrays[role].name} and {path.name}).")
                ok = False
            xrays.setdefault(role, path)
        elif match := FACE_NAME.match(stem):
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
    name, metadata = name_and_metadata(folder.name, table)
    return SkullFaceSubject(
        subject_id=folder.name,
        name=name,
        metadata=metadata,
        xray_front=xrays.get("xray_front"),
        xray_side=xrays.get("xray_side"),
        xray_front_clean=xrays.get("xray_front_clean"),
        xray_side_clean=xrays.get("xray_side_clean"),
        faces=types.MappingProxyType({view: tuple(p for _, p in sorted(items)) for view, items in faces.items()}),
    )
