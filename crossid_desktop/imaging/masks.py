"""Masks of the parts of an aligned face a search leaves out, as they are stored and read.

A mask is ``(S, S) bool`` in the pixels of the aligned canonical crop (True: ignore). It is
stored with the search that used it (so the case's audit log hashes it) as a record: who made
it (``"detected"`` by the injury segmenter, ``"examiner"`` with the brush), the share of the
crop it covers, its SHA-256 and the mask itself as a base64 PNG. An examiner's mask can also
be given as an image file: white (or any non-black) pixels are ignored.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import InvalidImageError
from crossid_desktop.imaging.io import load_image
from crossid_desktop.imaging.writing import encode_image

SOURCES = ("detected", "examiner")


def mask_sha256(mask: NDArray[np.bool_]) -> str:
    """SHA-256 of a mask's shape and bits (independent of how it is encoded)."""
    m = np.ascontiguousarray(np.asarray(mask, dtype=bool))
    return hashlib.sha256(f"{m.shape[0]}x{m.shape[1]}|".encode() + np.packbits(m).tobytes()).hexdigest()


def mask_record(mask: NDArray[np.bool_], source: str) -> dict[str, Any]:
    """The stored form of a mask (JSON-able)."""
    if source not in SOURCES:
        raise ValueError(f"A mask comes from one of {', '.join(SOURCES)}, not {source!r}.")
    m = np.asarray(mask, dtype=bool)
    png = encode_image(m.astype(np.uint8) * 255, "PNG")
    return {"source": source, "fraction": round(float(m.mean()), 4), "size": list(m.shape), "sha256": mask_sha256(m),
            "png_base64": base64.b64encode(png).decode("ascii")}


def mask_from_record(record: Mapping[str, Any]) -> NDArray[np.bool_]:
    """The mask a :func:`mask_record` holds; :class:`InvalidImageError` when it does not match its hash."""
    import cv2  # OpenCV loads on first use

    data = np.frombuffer(base64.b64decode(record["png_base64"]), np.uint8)
    grey = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    if grey is None:
        raise InvalidImageError("A stored mask cannot be decoded.")
    mask = grey > 127
    if mask_sha256(mask) != record.get("sha256"):
        raise InvalidImageError("A stored mask does not match its SHA-256; the record was altered.")
    return mask


def read_mask(path: str | Path, size: int) -> NDArray[np.bool_]:
    """An examiner's mask from an image file, scaled to ``size`` x ``size`` (non-black pixels:
    ignore). :class:`InvalidImageError` for a file that is not a square image."""
    import cv2  # OpenCV loads on first use

    pixels = load_image(path).pixels
    grey = pixels if pixels.ndim == 2 else pixels[..., :3].max(axis=2)
    if grey.shape[0] != grey.shape[1]:
        raise InvalidImageError(f"The mask {path} is {grey.shape[1]}x{grey.shape[0]} pixels; it must be square, drawn on the aligned face crop.")
    scaled = cv2.resize((grey > 0).astype(np.uint8) * 255, (size, size), interpolation=cv2.INTER_NEAREST)
    return scaled > 127
