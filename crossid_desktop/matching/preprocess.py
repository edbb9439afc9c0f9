"""Turning query and gallery images into network input, following a model card's recipe.

The same functions serve training and search, so a model always sees its inputs prepared the
way it was trained on them:

* skull X-ray queries: grey float in [0, 1] -> soft-tissue suppression
  (:func:`crossid_desktop.imaging.xray.suppress_soft_tissue`) -> network batch;
* injured-face queries: aligned to the canonical face crop
  (:func:`crossid_desktop.imaging.faces.align_face`, centre crop when no face is found) ->
  network batch;
* gallery faces: already canonical crops -> network batch.

:func:`prepare_query` is the one entry point for a query image: the matchers, the window's
preview and the report's figures all call it, so what the examiner sees is what was searched.

:func:`to_network_batch` fits each image into a square without distortion (letterbox: the
longer side scaled to the input size, the shorter one centred and padded with black, which is
air on an X-ray), **repeats a greyscale image on the three colour channels** so that the
ImageNet-pretrained first convolution applies unchanged, and normalises with the backbone's
mean and standard deviation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import ModelError, NoFaceFoundError, SeveralFacesError
from crossid_desktop.imaging import xray
from crossid_desktop.imaging.canonical import ALIGNED_SIZE
from crossid_desktop.imaging.face_detect import FaceDetection
from crossid_desktop.imaging.faces import AlignedFace, align_face, as_rgb, centre_crop, detect_faces
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.imaging.xray import suppress_soft_tissue
from crossid_desktop.matching.base import QueryModality

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputRecipe:
    """How images become network input: square side ``input_size`` (px) and per-channel
    ``mean``/``std`` applied to RGB values in [0, 1]; ``aligned_size`` is the side of the
    canonical face crop faces are aligned to."""

    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    aligned_size: int = 256
    soft_tissue: Mapping[str, Any] | None = None

    @classmethod
    def from_card(cls, entry: Mapping[str, Any]) -> InputRecipe:
        """Read the ``preprocessing.query`` or ``preprocessing.gallery`` entry of a model card."""
        try:
            return cls(
                input_size=int(entry["input_size"]),
                mean=tuple(float(m) for m in entry["mean"]),  # type: ignore[arg-type]
                std=tuple(float(s) for s in entry["std"]),  # type: ignore[arg-type]
                aligned_size=int(entry.get("aligned_size", 256)),
                soft_tissue=dict(entry["soft_tissue"]) if entry.get("soft_tissue") is not None else None,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"The model card's preprocessing entry {dict(entry)} is incomplete ({type(error).__name__}: {error}).") from error


def fit_square(image: NDArray[Any], size: int) -> NDArray[Any]:
    """Scale ``image`` (``(H, W)`` or ``(H, W, 3)``) so its longer side is ``size`` px and pad the
    shorter side symmetrically with zeros: ``(size, size[, 3])``, same dtype."""
    import cv2  # OpenCV loads on first use

    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    if (new_w, new_h) != (width, height):
        interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        image = cv2.resize(np.ascontiguousarray(image), (new_w, new_h), interpolation=interpolation)
    if new_w == new_h == size:
        return image
    out = np.zeros((size, size) + image.shape[2:], dtype=image.dtype)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top : top + new_h, left : left + new_w] = image
    return out


def to_network_batch(images: Sequence[NDArray[Any]], recipe: InputRecipe) -> NDArray[np.float32]:
    """Stack images into a normalised batch ``(N, 3, S, S)`` float32.

    Each image is RGB ``uint8`` ``(H, W, 3)``, greyscale ``uint8`` ``(H, W)``, or float in
    [0, 1] (grey or RGB). Greyscale is repeated on the three channels.
    """
    size = recipe.input_size
    batch = np.empty((len(images), 3, size, size), dtype=np.float32)
    mean = np.asarray(recipe.mean, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(recipe.std, dtype=np.float32).reshape(3, 1, 1)
    for i, image in enumerate(images):
        image = np.asarray(image)
        if image.dtype == np.uint8:
            values = fit_square(image, size).astype(np.float32) / np.float32(255.0)
        elif np.issubdtype(image.dtype, np.floating):
            values = np.clip(fit_square(image.astype(np.float32), size), 0.0, 1.0)
        else:
            raise ValueError(f"images must be uint8 or float in [0, 1], got {image.dtype}")
        if values.ndim == 2:
            values = np.repeat(values[None, :, :], 3, axis=0)
        elif values.ndim == 3 and values.shape[2] == 3:
            values = values.transpose(2, 0, 1)
        else:
            raise ValueError(f"images must be (H, W) or (H, W, 3), got shape {image.shape}")
        batch[i] = (values - mean) / std
    return batch


def soft_tissue_params(settings: Mapping[str, Any] | None) -> Any:
    """The ``SoftTissueParams`` recorded in a model card (``to_dict()`` output; the extra
    ``algorithm`` entry is checked against the installed algorithm and otherwise ignored)."""

    settings = dict(settings or {})
    recorded = settings.pop("algorithm", None)
    current = getattr(xray, "ALGORITHM_VERSION", None)
    if recorded is not None and current is not None and recorded != current:
        log.warning("The model was trained with soft-tissue suppression %s; this installation runs %s.", recorded, current)
    known = {f.name for f in fields(xray.SoftTissueParams)}
    try:
        return xray.SoftTissueParams(**{k: v for k, v in settings.items() if k in known})
    except (TypeError, ValueError) as error:
        raise ModelError(f"The model card's soft-tissue parameters {settings} are not valid: {error}") from error


def prepare_xray(image: LoadedImage | NDArray[Any], settings: Mapping[str, Any] | None) -> NDArray[np.float32]:
    """A skull X-ray with its soft tissue suppressed: ``(H, W)`` float32 in [0, 1]."""

    grey = image.grey_float() if hasattr(image, "grey_float") else np.asarray(image)
    return suppress_soft_tissue(grey, soft_tissue_params(settings))


def prepare_face(image: LoadedImage | NDArray[Any], aligned_size: int) -> NDArray[np.uint8]:
    """A face photo aligned to the canonical crop: ``(aligned_size, aligned_size, 3)`` RGB uint8
    (the central square when no face is detected)."""

    rgb = image.rgb_uint8() if hasattr(image, "rgb_uint8") else np.asarray(image)
    return align_face(rgb, size=aligned_size, allow_centre_crop=True).image


@dataclass(frozen=True)
class FaceChoice:
    """Which face of an injured-face query photo is searched, and how.

    ``face``: the 1-based number of the face among those found (largest first); None asks for a
    photo that shows exactly one face. ``allow_centre_crop``: when no face is found, search the
    photo's central square instead of refusing (the result then carries a warning).
    ``ignore``: the examiner's mask of the parts to leave out, ``(S, S) bool`` in the pixels of
    the aligned crop (``S`` = the matcher's aligned size); None leaves that to the matcher's
    own detection of unreliable regions, where it has one.
    """

    face: int | None = None
    allow_centre_crop: bool = False
    ignore: NDArray[np.bool_] | None = None


@dataclass(frozen=True)
class PreparedQuery:
    """A query image as a matcher takes it, before the network.

    ``pixels``: an X-ray with its soft tissue suppressed, ``(H, W)`` float32 in [0, 1], or a
    face aligned to the canonical crop, ``(S, S, 3)`` RGB uint8. ``caption`` says in words what
    was done. For photos, ``faces`` are every face found (largest first), ``face_number`` the
    1-based number of the one searched (None for a centre crop), ``alignment`` its alignment
    (or the centre crop), and ``warnings`` what the examiner must know about the result (a
    centre crop instead of a detected face). An injury-aware matcher also fills ``unreliable``
    (``(S, S) float32``: the probability that each pixel shows an injury or occluder),
    ``ignored`` (``(S, S) bool``: the pixels left out of the search) and ``ignore_source``
    (``"detected"`` or ``"examiner"``).
    """

    pixels: NDArray[Any]
    caption: str
    faces: tuple[FaceDetection, ...] = ()
    alignment: AlignedFace | None = None
    face_number: int | None = None
    warnings: tuple[str, ...] = ()
    unreliable: NDArray[np.float32] | None = None
    ignored: NDArray[np.bool_] | None = None
    ignore_source: str | None = None


#: the warning a search of a photo's central square carries
CENTRE_CROP_WARNING = "No face was found in the query photo; its central square was searched instead, so the candidates may be meaningless."


def choose_face(faces: Sequence[FaceDetection], choice: FaceChoice | None) -> int | None:
    """The 0-based index of the face to search among ``faces`` (largest first), or None for a
    centre crop. Raises :class:`NoFaceFoundError` when there is no face and no centre crop was
    asked for, :class:`SeveralFacesError` when several faces are found and none was chosen, or
    the chosen number does not exist."""
    choice = choice or FaceChoice()
    if not faces:
        if choice.allow_centre_crop:
            return None
        raise NoFaceFoundError("No face was found in the query photo; ask for a centre crop (crossid search --centre-crop) to search its central square anyway.")
    if choice.face is None:
        if len(faces) > 1:
            raise SeveralFacesError(f"The query photo shows {len(faces)} faces; say which one to search (crossid search --face N, N from 1 to {len(faces)}, largest first).", tuple(faces))
        return 0
    if not 1 <= int(choice.face) <= len(faces):
        raise SeveralFacesError(f"The query photo shows {len(faces)} face{'s' if len(faces) > 1 else ''}; there is no face number {choice.face}.", tuple(faces))
    return int(choice.face) - 1


def prepare_query(image: LoadedImage | NDArray[Any], modality: QueryModality | str, settings: Mapping[str, Any] | None = None,
                  choice: FaceChoice | None = None) -> PreparedQuery:
    """Prepare one query image for its modality with a model card's ``preprocessing.query``
    entry (``soft_tissue`` parameters for X-rays, ``aligned_size`` for faces; defaults when
    absent). Face photos follow ``choice`` (see :func:`choose_face` for the errors)."""
    settings = dict(settings or {})
    if QueryModality(modality).is_xray:
        soft_tissue = dict(settings.get("soft_tissue") or {})
        pixels = prepare_xray(image, soft_tissue)
        shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in sorted(soft_tissue.items()))
        return PreparedQuery(pixels, "soft tissue suppressed" + (f": {shown}" if shown else " (default parameters)"))
    size = int(settings.get("aligned_size", ALIGNED_SIZE))
    rgb = as_rgb(image.rgb_uint8() if hasattr(image, "rgb_uint8") else np.asarray(image))
    faces = tuple(detect_faces(rgb))
    index = choose_face(faces, choice)
    if index is None:
        aligned = centre_crop(rgb, size=size)
        return PreparedQuery(aligned.image, f"central square of the photo ({size} x {size} px): no face found", faces, aligned, None, (CENTRE_CROP_WARNING,))
    aligned = align_face(rgb, size=size, detection=faces[index])
    which = f"face {index + 1} of {len(faces)}, " if len(faces) > 1 else ""
    return PreparedQuery(aligned.image, f"{which}aligned to the canonical face crop ({size} x {size} px)", faces, aligned, index + 1)
