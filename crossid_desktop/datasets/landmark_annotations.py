"""Landmark annotations of a paired skull-face set: where every named point of every image lies.

The synthetic cohort writes them into ``params.json`` beside its ``s2f/`` folder (see
:mod:`crossid_desktop.synth.cohort`): per person ``sex``, ``age``, ``landmarks_mm`` (the X-ray
views' points in millimetres of the head) and per image its ``view`` and ``landmarks``
(``{name: [x, y]}`` pixels of that image). This reader returns them as plain records, with the
pixel spacing of each X-ray (millimetres per pixel at the skull) worked out from its pixel and
millimetre points where both are given. Images are named by their file stem (``xray_front``,
``face_front_2``, ``face_side``); the soft-tissue-free X-rays (``*_clean``) and the injured
photos' base are left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossid_desktop.errors import DatasetError

ANNOTATION_FILE = "params.json"


@dataclass(frozen=True)
class AnnotatedImage:
    """One image's annotation: ``points`` ``{name: (x, y)}`` pixels; ``spacing_mm`` (mm per pixel
    at the skull) for X-rays whose millimetre points are known, else None."""

    name: str
    view: str
    points: Mapping[str, tuple[float, float]]
    spacing_mm: float | None
    image_size: int | None


@dataclass(frozen=True)
class AnnotatedPerson:
    subject_id: str
    sex: str | None
    age: float | None
    images: Mapping[str, AnnotatedImage]


def annotation_path(root: str | Path) -> Path:
    """The annotation file of a data set: ``ROOT/params.json`` or, for a cohort's ``s2f`` (or
    ``if``) folder, the one beside it."""
    root = Path(root)
    for candidate in (root / ANNOTATION_FILE, root.parent / ANNOTATION_FILE):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"The data set {root} has no landmark annotations ({ANNOTATION_FILE} is missing beside it).")


def read_annotations(root: str | Path) -> dict[str, AnnotatedPerson]:
    """Every person's annotated images, by subject id."""
    path = annotation_path(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        subjects = data["subjects"]
        size = data.get("image_size")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"The landmark annotations {path} cannot be read ({error}).") from error
    people = {}
    for record in subjects:
        try:
            person = _person(record, size)
        except (KeyError, TypeError, ValueError) as error:
            raise DatasetError(f"The landmark annotations {path} are malformed at {record.get('subject_id', '?')} ({error}).") from error
        people[person.subject_id] = person
    return people


def _person(record: Mapping, size: int | None) -> AnnotatedPerson:
    mm = record.get("landmarks_mm", {})
    images = {}
    for name, image in record.get("images", {}).items():
        if name.endswith("_clean") or name == "injured_base" or "landmarks" not in image:
            continue
        view = str(image["view"])
        points = {str(k): (float(v[0]), float(v[1])) for k, v in image["landmarks"].items()}
        images[name] = AnnotatedImage(name, view, points, _spacing(points, mm.get(view)), size)
    age = record.get("age")
    return AnnotatedPerson(str(record["subject_id"]), record.get("sex"), None if age is None else float(age), images)


def _spacing(pixels: Mapping[str, tuple[float, float]], millimetres: Mapping | None) -> float | None:
    """mm per pixel: the least-squares scale between the image's points and the same points in mm."""
    if not millimetres:
        return None
    names = [n for n in pixels if n in millimetres]
    if len(names) < 2:
        return None
    p = np.array([pixels[n] for n in names], dtype=np.float64)
    q = np.array([millimetres[n] for n in names], dtype=np.float64)
    p, q = p - p.mean(axis=0), q - q.mean(axis=0)
    return float(np.sqrt((q**2).sum() / (p**2).sum()))
