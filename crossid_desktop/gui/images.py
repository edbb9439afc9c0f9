"""numpy arrays <-> QImage, following the project's pixel convention.

Colour is RGB ``uint8`` ``(H, W, 3)``; greyscale is ``(H, W)`` ``uint8``, ``uint16`` or floating
point in [0, 1]. Every QImage returned owns its pixels (a copy), so the array may be freed.
QImage (unlike QPixmap) may be made in the worker thread.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtGui import QImage


def to_qimage(array: NDArray[Any]) -> QImage:
    """A QImage of an RGB ``(H, W, 3)`` uint8 or greyscale ``(H, W)`` uint8/uint16/float image."""
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.dtype.kind == "f":
        a = np.round(np.clip(np.nan_to_num(a), 0.0, 1.0) * 255.0).astype(np.uint8)
    if a.ndim == 2:
        if a.dtype == np.uint16:
            a = np.ascontiguousarray(a)
            return QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_Grayscale16).copy()
        a = np.ascontiguousarray(a, dtype=np.uint8)
        return QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_Grayscale8).copy()
    if a.ndim == 3 and a.shape[2] in (3, 4) and a.dtype == np.uint8:
        a = np.ascontiguousarray(a)
        fmt = QImage.Format.Format_RGB888 if a.shape[2] == 3 else QImage.Format.Format_RGBA8888
        return QImage(a.data, a.shape[1], a.shape[0], a.strides[0], fmt).copy()
    raise ValueError(f"Cannot show an image of shape {a.shape} and type {a.dtype}.")


def from_qimage(image: QImage) -> NDArray[np.uint8]:
    """RGB ``(H, W, 3)`` uint8 pixels of a QImage (a copy)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    height, width, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * height).reshape(height, stride)
    return buffer[:, : width * 3].reshape(height, width, 3).copy()


def png_to_qimage(data: bytes) -> QImage:
    """Decode PNG (or JPEG) bytes, e.g. a gallery thumbnail; a null QImage when undecodable."""
    image = QImage()
    image.loadFromData(data)
    return image
