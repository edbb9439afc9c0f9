"""The query of a search: what each image shows (modality and view), how a frontal and a
lateral X-ray of one skull are told apart, and which sets of images may be searched together.

One module for the search service, the CLI and the GUI, so that the examiner's window, the
command line and the service apply the same rules:

* what a DICOM header states decides first (:func:`guess_from_dicom`: ViewPosition, view
  code, Patient Orientation, Image Laterality, Modality XC); otherwise a colour photo is an
  injured face and a greyscale image or a DICOM is an X-ray, frontal when left-right
  symmetric, else lateral;
* two X-rays are searched together only as one frontal and one lateral view of one skull: two
  images of the same guessed view are not relabelled (two lateral X-rays of two people are
  refused, not merged), and the same image twice (by SHA-256) is refused;
* an image too small to search, or an X-ray too uniform or without structure to show a skull
  (a 1x1 image, a flat or gradient picture), is refused with one sentence (:func:`check_query_images`);
* what makes a search that does run less reliable (a small X-ray, views guessed rather than
  stated) becomes a warning on its result (:func:`query_warnings`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crossid_desktop.errors import MatcherMismatchError, UnsuitableQueryError
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.matching.base import QueryModality

#: ``crossid search --modality`` choices and the modality each names (``xray``: guess the view).
MODALITY_OPTIONS: dict[str, QueryModality | None] = {
    "xray": None,
    "xray-front": QueryModality.XRAY_FRONT,
    "xray-side": QueryModality.XRAY_SIDE,
    "injured": QueryModality.INJURED_FACE,
}


#: ``modality`` of a search: an X-ray whose view (frontal or lateral) is to be guessed
ANY_XRAY_VIEW = "xray"

#: the shorter side (pixels) an image must have to be searched at all, and an X-ray
MIN_QUERY_SIDE = 32
MIN_XRAY_SIDE = 64
#: an X-ray whose shorter side is below this (pixels) is searched with a warning
SMALL_XRAY_SIDE = 128
#: the grey levels of an X-ray (1st to 99th percentile) span at least this fraction of the scale
MIN_GREY_SPAN = 0.02
#: the least structure (:func:`xray_structure`) an X-ray shows. Measured (``tests/benchmarks/
#: query_structure.py``): synthetic X-rays 0.054-0.070, 75 real lateral cephalograms
#: 0.067-0.092; linear, radial and blob gradients 0.001-0.005, a JPEG-compressed gradient
#: 0.003, a single step edge 0.025.
MIN_XRAY_STRUCTURE = 0.03


def xray_structure(image: LoadedImage) -> tuple[float, float]:
    """``(span, structure)`` of an image seen as an X-ray: the fraction of the grey scale its
    1st to 99th percentile span, and the mean absolute Laplacian of the image scaled to 128
    pixels (long side), stretched to that span and lightly blurred (sigma 1 pixel), which is
    near 0 for flat and smoothly shaded pictures and independent of contrast."""
    import cv2  # OpenCV loads only when a query is checked

    grey = image.grey_float()
    h, w = grey.shape
    scale = 128.0 / max(h, w)
    small = cv2.resize(grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    low, high = np.percentile(small, [1, 99])
    span = float(high - low)
    if span <= 1e-6:  # flat (rounding noise is not structure)
        return span, 0.0
    stretched = np.clip((small - low) / span, 0.0, 1.0).astype(np.float32)
    blurred = cv2.GaussianBlur(stretched, (0, 0), 1.0)
    return span, float(np.abs(cv2.Laplacian(blurred, cv2.CV_32F, ksize=3)).mean())


def _name(image: LoadedImage, n: int) -> str:
    return image.path.name if image.path is not None else f"query image {n + 1}"


def check_distinct_images(images: Sequence[LoadedImage]) -> None:
    """Refuse (:class:`UnsuitableQueryError`, one sentence) the same image given twice, whatever
    the file names: the same SHA-256 of the file's bytes."""
    seen: dict[str, int] = {}
    for n, image in enumerate(images):
        if image.sha256 in seen:
            first = seen[image.sha256]
            raise UnsuitableQueryError(
                f"{_name(image, n)} is the same image as {_name(images[first], first)} (SHA-256 {image.sha256[:12]}); "
                "a search combines two different views of one skull, so give each view once."
            )
        seen[image.sha256] = n


def check_query_images(images: Sequence[LoadedImage], modalities: Sequence[QueryModality]) -> None:
    """Refuse (:class:`UnsuitableQueryError`, one sentence) the same image given twice, an image
    too small to search, and an X-ray too uniform or without the structure of a skull."""
    check_distinct_images(images)
    for n, (image, modality) in enumerate(zip(images, modalities)):
        height, width = image.pixels.shape[:2]
        least = MIN_XRAY_SIDE if modality.is_xray else MIN_QUERY_SIDE
        if min(height, width) < least:
            what = "an X-ray" if modality.is_xray else "a photo"
            raise UnsuitableQueryError(f"{_name(image, n)} is only {width}x{height} pixels, too small to be searched as {what} (at least {least} pixels a side).")
        if not modality.is_xray:
            continue
        span, structure = xray_structure(image)
        if span < MIN_GREY_SPAN:
            raise UnsuitableQueryError(f"{_name(image, n)} is almost uniform (its grey levels span {span:.1%} of the scale), so it cannot show a skull.")
        if structure < MIN_XRAY_STRUCTURE:
            raise UnsuitableQueryError(
                f"{_name(image, n)} shows no edges or structure (measure {structure:.3f}; skull X-rays measure 0.05 or more), "
                "so it cannot show a skull; check that the right file was opened."
            )


def query_warnings(images: Sequence[LoadedImage], modalities: Sequence[QueryModality], *, views_guessed: bool) -> list[str]:
    """What makes a search of these images less reliable, one sentence each: an X-ray smaller
    than :data:`SMALL_XRAY_SIDE`; an X-ray view guessed from left-right symmetry (not stated
    by the examiner or a DICOM header) when ``views_guessed``."""
    warnings = []
    for n, (image, modality) in enumerate(zip(images, modalities)):
        if not modality.is_xray:
            continue
        height, width = image.pixels.shape[:2]
        if min(height, width) < SMALL_XRAY_SIDE:
            warnings.append(f"{_name(image, n)} is only {width}x{height} pixels; details of the skull may be lost, so weigh this ranking with extra caution.")
        if views_guessed and (not image.meta.dicom or guess_from_dicom(image.meta.dicom) is None):
            view = "frontal" if modality is QueryModality.XRAY_FRONT else "lateral"
            warnings.append(f"The view of {_name(image, n)} ({view}) was guessed from its left-right symmetry; check it, as a wrong view makes the ranking meaningless.")
    return warnings


def left_right_symmetry(image: LoadedImage) -> float:
    """Correlation in [-1, 1] between an image and its mirror: a frontal skull is symmetric,
    a lateral one is not."""
    grey = image.grey_float()
    small = grey[:: max(1, grey.shape[0] // 128), :: max(1, grey.shape[1] // 128)]
    a = small - small.mean()
    b = a[:, ::-1]
    return float((a * b).sum() / (np.sqrt((a * a).sum() * (b * b).sum()) + 1e-9))


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


def guess_xray_view(image: LoadedImage) -> QueryModality:
    """The view of an image known to be an X-ray: what its DICOM header states, else frontal
    when left-right symmetric."""
    guess = guess_modality(image)
    if guess.is_xray:
        return guess
    return QueryModality.XRAY_FRONT if left_right_symmetry(image) > 0.6 else QueryModality.XRAY_SIDE


def initial_modalities(images: Sequence[LoadedImage]) -> list[QueryModality]:
    """The first guess for each image (what the query panel shows before any correction). Two
    X-rays of the same guessed view are left so, not relabelled: they may be two laterals
    of two people, and :func:`check_query_set` asks the examiner to say which is which."""
    return [guess_modality(image) for image in images]


def resolve_modalities(images: Sequence[LoadedImage], modality: QueryModality | Sequence[QueryModality] | str | None) -> list[QueryModality]:
    """Each image's modality: ``modality`` given once for all, once per image (the examiner's
    corrections), :data:`ANY_XRAY_VIEW` for X-rays whose views are guessed, or ``None`` to guess
    everything (:func:`initial_modalities`). X-rays and face photos cannot be mixed in one search."""
    if modality is None:
        modalities = initial_modalities(images)
    elif isinstance(modality, str) and modality == ANY_XRAY_VIEW:
        modalities = [guess_xray_view(image) for image in images]
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
    """Several images are searched together only as one frontal and one lateral skull X-ray;
    the refusal says what was given."""
    if len(modalities) <= 1 or (len(modalities) == 2 and set(modalities) == {QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE}):
        return
    labels = {QueryModality.XRAY_FRONT: "frontal X-ray", QueryModality.XRAY_SIDE: "lateral X-ray", QueryModality.INJURED_FACE: "face photo"}
    given = " and ".join(f"{modalities.count(m)} {labels[m]}{'s' if modalities.count(m) > 1 else ''}" for m in dict.fromkeys(modalities))
    raise MatcherMismatchError(
        f"Several images are searched together only as one frontal and one lateral X-ray of one skull, but {given} {'was' if len(modalities) == 1 else 'were'} given; "
        "correct their views (crossid search --modality xray-front --modality xray-side, in the order of the files) or search one image."
    )


def modality_from_option(options: str | Sequence[str] | None, n_queries: int) -> QueryModality | list[QueryModality] | str | None:
    """The modality ``--modality`` names: given once, for every image (``xray``: X-rays whose
    views are guessed); given once per image, each image's (``xray`` not allowed there)."""
    if options is None or isinstance(options, str):
        options = [] if options is None else [options]
    if not options:
        return None
    if len(options) == 1:
        return ANY_XRAY_VIEW if options[0] == "xray" else MODALITY_OPTIONS[options[0]]
    if len(options) != n_queries:
        raise MatcherMismatchError(f"--modality was given {len(options)} times for {n_queries} images; give it once for all or once per image, in their order.")
    if "xray" in options:
        raise MatcherMismatchError("--modality xray guesses the views, so give it once; per image, name each view (xray-front or xray-side).")
    return [MODALITY_OPTIONS[option] for option in options]
