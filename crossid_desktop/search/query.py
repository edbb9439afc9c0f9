"""The query of a search: what each image shows (modality and view), how a frontal and a
lateral X-ray of one skull are told apart, and which sets of images may be searched together.

One module for the search service, the CLI and the GUI, so that the examiner's window, the
command line and the service apply the same rules:

* what a DICOM header states decides first (:func:`guess_from_dicom`: ViewPosition, view
  code, Patient Orientation, Image Laterality, Modality XC); otherwise a colour photo is an
  injured face and a greyscale image or a DICOM is an X-ray, frontal when left-right
  symmetric, else lateral;
* two X-rays opened together are one frontal and one lateral view, the more symmetric frontal;
* images are searched together only as one frontal and one lateral X-ray of one skull.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crossid_desktop.errors import MatcherMismatchError
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.matching.base import QueryModality

#: ``crossid search --modality`` choices and the modality each names (``xray``: guess the view).
MODALITY_OPTIONS: dict[str, QueryModality | None] = {
    "xray": None,
    "xray-front": QueryModality.XRAY_FRONT,
    "xray-side": QueryModality.XRAY_SIDE,
    "injured": QueryModality.INJURED_FACE,
}


def left_right_symmetry(image: LoadedImage) -> float:
    """Correlation in [-1, 1] between an image and its mirror: a frontal skull is symmetric,
    a lateral one is not."""
    grey = image.grey_float()
    small = grey[:: max(1, grey.shape[0] // 128), :: max(1, grey.shape[1] // 128)]
    a = small - small.mean()
    b = a[:, ::-1]
    return float((a * b).sum() / (np.sqrt((a * a).sum() * (b * b).sum()) + 1e-9))


def pair_views(images: Sequence[LoadedImage]) -> list[QueryModality]:
    """The views of a frontal and a lateral X-ray of one skull, in the images' order: the more
    left-right symmetric image is the frontal one, whatever order the files came in."""
    if len(images) != 2:
        raise ValueError("pair_views takes exactly two images")
    front_first = left_right_symmetry(images[0]) >= left_right_symmetry(images[1])
    return [QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE] if front_first else [QueryModality.XRAY_SIDE, QueryModality.XRAY_FRONT]


#: ViewPosition values (DICOM's defined terms and common vendor spellings) and their views
FRONTAL_VIEW_POSITIONS = frozenset({"PA", "AP"})
LATERAL_VIEW_POSITIONS = frozenset({"LL", "RL", "LAT", "LATERAL", "LLAT", "RLAT"})


@dataclass(frozen=True)
class DicomViewGuess:
    """What a DICOM header says the query is, and which tag says so (``basis``, for the screen)."""

    modality: QueryModality
    basis: str


def guess_from_dicom(tags: Mapping[str, str]) -> DicomViewGuess | None:
    """The modality and view a DICOM header states, or ``None`` when it states none.

    In order: Modality ``XC`` (a photograph: an injured face here); ViewPosition (PA, AP:
    frontal; LL, RL, LAT: lateral); the View Code Sequence's meaning; Patient Orientation
    (columns running head-foot, rows left-right: frontal; rows anterior-posterior:
    lateral); Image Laterality L or R on a skull or head (one side
    imaged: lateral). ``tags`` are ``ImageMeta.dicom`` or ``DicomImage.tags``.
    """
    if tags.get("Modality", "").strip().upper() == "XC":
        return DicomViewGuess(QueryModality.INJURED_FACE, "Modality XC (a photograph)")
    view = tags.get("ViewPosition", "").strip().upper()
    if view in FRONTAL_VIEW_POSITIONS or view in LATERAL_VIEW_POSITIONS:
        return DicomViewGuess(QueryModality.XRAY_FRONT if view in FRONTAL_VIEW_POSITIONS else QueryModality.XRAY_SIDE, f"ViewPosition {view}")
    meaning = tags.get("ViewCodeMeaning", "").strip().lower()
    if "lateral" in meaning:
        return DicomViewGuess(QueryModality.XRAY_SIDE, f"view code {meaning!r}")
    if any(word in meaning.replace("-", "") for word in ("posteroanterior", "anteroposterior", "frontal")):
        return DicomViewGuess(QueryModality.XRAY_FRONT, f"view code {meaning!r}")
    directions = tags.get("PatientOrientation", "").strip().upper().split("\\")
    if len(directions) == 2 and directions[0] and directions[1][:1] in {"H", "F"}:  # columns run head-foot
        if set(directions[0]) <= {"L", "R"}:
            return DicomViewGuess(QueryModality.XRAY_FRONT, f"PatientOrientation {directions[0]}\\{directions[1]}")
        if set(directions[0]) <= {"A", "P"}:
            return DicomViewGuess(QueryModality.XRAY_SIDE, f"PatientOrientation {directions[0]}\\{directions[1]}")
    laterality = tags.get("ImageLaterality", "").strip().upper()
    if laterality in {"L", "R"} and tags.get("BodyPartExamined", "").strip().upper() in {"SKULL", "HEAD"}:
        return DicomViewGuess(QueryModality.XRAY_SIDE, f"ImageLaterality {laterality} on a skull (one side imaged)")
    return None


def guess_modality(image: LoadedImage) -> QueryModality:
    """A first guess the user can correct: what a DICOM header states (:func:`guess_from_dicom`);
    otherwise colour photos are injured faces, and greyscale images and DICOMs are X-rays,
    frontal when left-right symmetric, else lateral."""
    stated = guess_from_dicom(image.meta.dicom) if image.meta.dicom else None
    if stated is not None:
        return stated.modality
    pixels = image.pixels
    if not image.meta.dicom and pixels.ndim == 3:
        channels = pixels.astype(np.int16)
        colourful = np.abs(channels[..., 0] - channels[..., 1]).mean() + np.abs(channels[..., 1] - channels[..., 2]).mean()
        if colourful > 6.0:
            return QueryModality.INJURED_FACE
    return QueryModality.XRAY_FRONT if left_right_symmetry(image) > 0.6 else QueryModality.XRAY_SIDE


def initial_modalities(images: Sequence[LoadedImage]) -> list[QueryModality]:
    """The first guess for each image, two X-rays of the same guessed view paired into one
    frontal and one lateral view (what the query panel shows before any correction)."""
    modalities = [guess_modality(image) for image in images]
    if len(images) == 2 and modalities[0] == modalities[1] and modalities[0].is_xray:
        modalities = pair_views(images)
    return modalities


def resolve_modalities(images: Sequence[LoadedImage], modality: QueryModality | Sequence[QueryModality] | None) -> list[QueryModality]:
    """Each image's modality: ``modality`` given once for all, once per image (the examiner's
    corrections), or ``None`` to guess (:func:`initial_modalities`). X-rays and face photos
    cannot be mixed in one search."""
    if modality is None:
        modalities = initial_modalities(images)
    elif isinstance(modality, QueryModality):
        modalities = [modality] * len(images)
    else:
        modalities = [QueryModality(m) for m in modality]
        if len(modalities) != len(images):
            raise ValueError(f"{len(modalities)} modalities for {len(images)} query images")
    if len({m.is_xray for m in modalities}) > 1:
        raise MatcherMismatchError("X-ray and face-photo queries cannot be searched together; search them one at a time.")
    return modalities


def check_query_set(modalities: Sequence[QueryModality]) -> None:
    """Several images are searched together only as one frontal and one lateral skull X-ray."""
    if len(modalities) > 1 and (len(modalities) != 2 or set(modalities) != {QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE}):
        raise MatcherMismatchError("Several images are searched together only as one frontal and one lateral skull X-ray; correct their modality or open one image.")


def modality_from_option(option: str | None, n_queries: int) -> QueryModality | None:
    """The modality a ``--modality`` option names; ``xray`` with several images lets the views be paired."""
    if option is None:
        return None
    if option == "xray":
        return None if n_queries > 1 else QueryModality.XRAY_FRONT
    return MODALITY_OPTIONS[option]
