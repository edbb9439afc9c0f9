"""Writing images: PNG, JPEG and TIFF (8 and 16 bit), atomically, the format chosen by the suffix."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from crossid_desktop.errors import InvalidImageError
from crossid_desktop.paths import atomic_path


def save_image(path: str | Path, pixels: NDArray[Any], *, dtype: DTypeLike | None = None) -> None:
    """Write ``pixels`` to ``path`` atomically (a temporary file in the same folder, then renamed).

    The format follows the suffix: ``.png``, ``.jpg``/``.jpeg`` (quality 95) or ``.tif``/``.tiff``.
    ``pixels`` is RGB ``(H, W, 3)`` or greyscale ``(H, W)``, as ``uint8``, ``uint16`` or float in
    [0, 1]. Floats become ``uint8`` unless ``dtype=np.uint16`` is asked for (PNG and TIFF only);
    ``uint16`` is kept in PNG and TIFF and reduced to 8 bits for JPEG.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}
    if suffix not in formats:
        raise InvalidImageError(f"Cannot save {path}: the suffix must be .png, .jpg, .jpeg, .tif or .tiff.")
    fmt = formats[suffix]
    array = _to_storable(np.asarray(pixels), dtype, sixteen_bit_ok=fmt != "JPEG")
    encoded = _encode(array, fmt)

    try:
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            handle.write(encoded)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise InvalidImageError(f"Cannot save {path}: {error.strerror or error}.") from error


def encode_image(pixels: NDArray[Any], fmt: str = "PNG") -> bytes:
    """The bytes of ``pixels`` (as :func:`save_image` takes them) encoded as ``"PNG"``,
    ``"JPEG"`` or ``"TIFF"``."""
    return _encode(_to_storable(np.asarray(pixels), None, sixteen_bit_ok=fmt != "JPEG"), fmt)


def _to_storable(array: NDArray[Any], dtype: DTypeLike | None, *, sixteen_bit_ok: bool) -> NDArray[Any]:
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3)):
        raise ValueError(f"Expected (H, W) or (H, W, 3) pixels, got shape {array.shape}.")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if dtype is not None and np.dtype(dtype) not in (np.dtype(np.uint8), np.dtype(np.uint16)):
        raise ValueError(f"dtype must be uint8 or uint16, got {np.dtype(dtype)}.")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    if not (np.issubdtype(array.dtype, np.floating) or array.dtype in (np.uint8, np.uint16)):
        raise ValueError(f"Cannot save pixels of type {array.dtype}; use uint8, uint16 or float in [0, 1].")
    # the stored depth: asked for, else that of the input (floats: 8 bits); JPEG holds 8 bits only
    target = np.dtype(dtype) if dtype is not None else (array.dtype if array.dtype == np.uint16 else np.dtype(np.uint8))
    target = target if sixteen_bit_ok else np.dtype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        array = np.clip(np.nan_to_num(array, nan=0.0), 0.0, 1.0) * (65535.0 if target == np.uint16 else 255.0)
        return np.round(array).astype(target)
    if array.dtype == target:
        return array
    return array.astype(np.uint16) * 257 if target == np.uint16 else np.round(array / 257.0).astype(np.uint8)


def _encode(array: NDArray[Any], fmt: str) -> bytes:
    buffer = io.BytesIO()
    if array.dtype == np.uint16 and array.ndim == 3:  # Pillow cannot write 16-bit colour
        import cv2  # OpenCV loads on first use

        ok, encoded = cv2.imencode(".png" if fmt == "PNG" else ".tiff", array[:, :, ::-1].copy())
        if not ok:
            raise ValueError("OpenCV could not encode the 16-bit colour image.")
        return encoded.tobytes()
    from PIL import Image  # Pillow loads on first use

    image = Image.fromarray(np.ascontiguousarray(array.astype("<u2", copy=False) if array.dtype == np.uint16 else array))
    options = {"quality": 95} if fmt == "JPEG" else {}
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()
