"""DICOM media and folders: what a hospital's disc, a USB stick or a folder of DICOM files
holds, as patients > studies > series > images, read from the file headers only.

:func:`open_media` takes a ``DICOMDIR`` (or a folder holding one) and lists every file the
DICOMDIR references; files it references that are not there are listed in
:attr:`DicomMedia.missing` and everything else still opens. A folder without a DICOMDIR is
searched (subfolders included) for DICOM files. Pixels are decoded only for a thumbnail
(:func:`thumbnail`) or when an image is opened (``load_image(path, frame=...)``).

Each image carries its DICOM tags as :func:`crossid_desktop.imaging.dicom.dicom_tags` gives
them (view position, laterality, orientation, view code), from which the search layer
pre-fills the query's modality and view. The patient's identifiers stay in
:class:`~crossid_desktop.imaging.dicom.PatientIdentity`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import InvalidImageError
from crossid_desktop.imaging.dicom import (
    PIXEL_KEYWORDS,
    PatientIdentity,
    dicom_tags,
    frame_count,
    iso_date,
    patient_identity,
    read_dataset,
    why_no_image,
)
from crossid_desktop.imaging.io import load_image
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress

#: File names tried as DICOM in a folder even without the "DICM" marker.
DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ".dic"})


@dataclass(frozen=True)
class DicomImage:
    """One DICOM file of a series: an image (``has_pixels``) or another object (``note`` says what)."""

    path: Path
    sop_instance_uid: str
    instance_number: int | None
    frames: int
    rows: int
    columns: int
    has_pixels: bool
    tags: Mapping[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def view_position(self) -> str:
        return self.tags.get("ViewPosition", "")


@dataclass(frozen=True)
class DicomSeries:
    series_uid: str
    number: int | None
    modality: str
    body_part: str
    description: str
    images: tuple[DicomImage, ...]

    @property
    def image_count(self) -> int:
        """Files holding pixels (multi-frame files count once; see ``DicomImage.frames``)."""
        return sum(image.has_pixels for image in self.images)

    @property
    def view_positions(self) -> str:
        return "/".join(sorted({image.view_position for image in self.images if image.view_position}))

    def first_image(self) -> DicomImage | None:
        return next((image for image in self.images if image.has_pixels), None)


@dataclass(frozen=True)
class DicomStudy:
    study_uid: str
    date: str  # ISO YYYY-MM-DD where the DICOM date is valid
    description: str
    series: tuple[DicomSeries, ...]


@dataclass(frozen=True)
class DicomPatient:
    identity: PatientIdentity | None
    studies: tuple[DicomStudy, ...]


@dataclass(frozen=True)
class DicomMedia:
    """A DICOMDIR or a folder, listed. ``missing``: files the DICOMDIR references that are not
    there. ``unreadable``: DICOM files that could not be read, with the reason."""

    root: Path
    kind: str  # "DICOMDIR" | "folder"
    patients: tuple[DicomPatient, ...]
    missing: tuple[Path, ...] = ()
    unreadable: tuple[tuple[Path, str], ...] = ()

    def series(self) -> Iterator[tuple[DicomPatient, DicomStudy, DicomSeries]]:
        for patient in self.patients:
            for study in patient.studies:
                for series in study.series:
                    yield patient, study, series

    def images(self) -> Iterator[DicomImage]:
        for _, _, series in self.series():
            yield from series.images


def open_media(path: str | Path, *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> DicomMedia:
    """List a DICOMDIR, a folder holding one, or a folder of DICOM files.

    Raises :class:`InvalidImageError` when ``path`` does not exist, is not a DICOMDIR, or
    holds no DICOM file at all.
    """
    path = Path(path).expanduser().absolute()
    progress = progress or no_progress
    if not path.exists():
        raise InvalidImageError(f"{path} does not exist.")
    dicomdir = path if path.is_file() else _dicomdir_in(path)
    if dicomdir is not None:
        files, missing = _referenced_files(dicomdir)
        root, kind = dicomdir.parent, "DICOMDIR"
    else:
        files, missing = _dicom_files_in(path, cancel), []
        root, kind = path, "folder"
    records, unreadable = [], []
    for done, file in enumerate(files, start=1):
        check_cancel(cancel, "Reading the DICOM folder")
        try:
            records.append(_read_header(file))
        except InvalidImageError as error:
            unreadable.append((file, str(error)))
        if done % 25 == 0 or done == len(files):
            progress(done, len(files), "reading DICOM headers")
    if not records and not missing:
        raise InvalidImageError(f"{path} holds no readable DICOM file.")
    return DicomMedia(root, kind, _group(records), tuple(missing), tuple(unreadable))


def thumbnail(image: DicomImage, *, size: int = 128, frame: int = 0) -> NDArray[np.uint8]:
    """A small picture of one frame, longest side ``size`` px: grey ``(h, w)`` or RGB ``(h, w, 3)``
    ``uint8``. Raises :class:`InvalidImageError` when the frame cannot be decoded."""
    import cv2  # start-up time: imported only when a thumbnail is made

    loaded = load_image(image.path, frame=frame)
    pixels = loaded.rgb_uint8() if not loaded.is_greyscale else np.round(loaded.grey_float() * 255.0).astype(np.uint8)
    height, width = pixels.shape[:2]
    scale = size / max(height, width)
    if scale >= 1.0:
        return np.ascontiguousarray(pixels)
    shape = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(pixels, shape, interpolation=cv2.INTER_AREA)


# --- finding the files ------------------------------------------------------------------------


def _dicomdir_in(folder: Path) -> Path | None:
    for name in ("DICOMDIR", "dicomdir", "DicomDir"):
        if (folder / name).is_file():
            return folder / name
    return None


def _referenced_files(dicomdir: Path) -> tuple[list[Path], list[Path]]:
    """The files a DICOMDIR references (records in use), and those of them that are missing."""
    ds = read_dataset(dicomdir.read_bytes(), dicomdir, has_preamble=True)
    if "DirectoryRecordSequence" not in ds:
        raise InvalidImageError(f"The file {dicomdir} is not a DICOMDIR: it has no directory records.")
    found, missing = [], []
    for record in ds.DirectoryRecordSequence:
        if record.get("RecordInUseFlag", 0xFFFF) == 0 or not record.get("ReferencedFileID"):
            continue
        parts = record.ReferencedFileID
        parts = [parts] if isinstance(parts, str) else list(parts)
        resolved = _resolve(dicomdir.parent, parts)
        if resolved is None:
            missing.append(dicomdir.parent.joinpath(*parts))
        else:
            found.append(resolved)
    return found, missing


def _resolve(root: Path, parts: list[str]) -> Path | None:
    """``root/parts...``, matching each name without regard to case (discs are written in
    upper case and often mounted in lower case); ``None`` when absent."""
    current = root
    for part in parts:
        exact = current / part
        if exact.exists():
            current = exact
            continue
        try:
            match = next((child for child in current.iterdir() if child.name.lower() == part.lower()), None)
        except OSError:
            return None
        if match is None:
            return None
        current = match
    return current if current.is_file() else None


def _dicom_files_in(folder: Path, cancel: threading.Event | None) -> list[Path]:
    """Files under ``folder`` that are DICOM: the "DICM" marker, or a DICOM suffix."""
    found = []
    for directory, subfolders, names in os.walk(folder, followlinks=False):
        check_cancel(cancel, "Searching the folder for DICOM files")
        subfolders.sort()
        for name in sorted(names):
            file = Path(directory) / name
            if file.suffix.lower() in DICOM_SUFFIXES or _has_dicm(file):
                found.append(file)
    return found


def _has_dicm(file: Path) -> bool:
    try:
        with open(file, "rb") as handle:
            return handle.read(132)[128:132] == b"DICM"
    except OSError:
        return False


# --- headers into a hierarchy -----------------------------------------------------------------


def _read_header(file: Path) -> dict[str, Any]:
    """One file's header (pixel data noted, not read) as the fields the listing groups by."""
    ds = read_dataset(file, file, has_preamble=_has_dicm(file))
    has_pixels = any(keyword in ds for keyword in PIXEL_KEYWORDS)
    rows, columns = _int(ds.get("Rows")) or 0, _int(ds.get("Columns")) or 0
    image = DicomImage(
        path=file,
        sop_instance_uid=str(ds.get("SOPInstanceUID", "") or ""),
        instance_number=_int(ds.get("InstanceNumber")),
        frames=frame_count(ds, file) if has_pixels else 0,
        rows=rows,
        columns=columns,
        has_pixels=has_pixels and rows > 0 and columns > 0,
        tags=dicom_tags(ds),
        note="" if has_pixels else why_no_image(ds),
    )
    return {
        "image": image,
        "patient": patient_identity(ds),
        "patient_key": (str(ds.get("PatientID", "") or ""), str(ds.get("PatientName", "") or "")),
        "study": (str(ds.get("StudyInstanceUID", "") or ""), iso_date(ds.get("StudyDate")), str(ds.get("StudyDescription", "") or "")),
        "series": (
            str(ds.get("SeriesInstanceUID", "") or ""), _int(ds.get("SeriesNumber")), str(ds.get("Modality", "") or ""),
            str(ds.get("BodyPartExamined", "") or ""), str(ds.get("SeriesDescription", "") or ""),
        ),
    }


def _group(records: list[dict[str, Any]]) -> tuple[DicomPatient, ...]:
    patients: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        patient = patients.setdefault(record["patient_key"], {"identity": record["patient"], "studies": {}})
        study_uid, date, description = record["study"]
        study = patient["studies"].setdefault(study_uid, {"date": date, "description": description, "series": {}})
        series_uid = record["series"][0]
        series = study["series"].setdefault(series_uid, {"fields": record["series"], "images": []})
        series["images"].append(record["image"])
    return tuple(
        DicomPatient(
            patient["identity"],
            tuple(
                DicomStudy(uid, study["date"], study["description"], tuple(_series(s) for s in sorted(study["series"].values(), key=_series_order)))
                for uid, study in sorted(patient["studies"].items(), key=lambda item: (item[1]["date"], item[0]))
            ),
        )
        for _, patient in sorted(patients.items())
    )


def _series(entry: dict[str, Any]) -> DicomSeries:
    uid, number, modality, body_part, description = entry["fields"]
    images = sorted(entry["images"], key=lambda image: (image.instance_number is None, image.instance_number or 0, image.path.name))
    return DicomSeries(uid, number, modality, body_part, description, tuple(images))


def _series_order(entry: dict[str, Any]) -> tuple[bool, int, str]:
    number = entry["fields"][1]
    return (number is None, number or 0, entry["fields"][0])


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None
