"""DICOM stored values -> the values shown and searched.

Greyscale: the modality LUT (rescale), then the VOI LUT or the window, else the frame's own
range (min-max); MONOCHROME1 is inverted so that bone is bright; the result spreads over the
full ``uint16`` range. ``tags["VOI"]`` records which mapping was used (``"lut"``,
``"window"``, ``"min-max"``), with the window applied. Colour (RGB, YBR already converted by
pydicom, palette colour) becomes RGB ``uint8``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def grey_display(array: NDArray[Any], ds: Any, photometric: str, tags: dict[str, str]) -> NDArray[np.uint16]:
    """Stored values -> display values in [0, 65535]: modality LUT, VOI LUT or window, MONOCHROME1 inverted."""
    from pydicom.pixels import apply_modality_lut, apply_voi_lut  # pydicom loads only when a DICOM is read

    if array.ndim != 2:
        raise ValueError(f"unexpected greyscale pixel array shape {array.shape}")
    values = apply_modality_lut(array, ds)
    lut = ds.get("VOILUTSequence")
    has_lut = bool(lut) and lut[0].get("LUTDescriptor") is not None and lut[0].get("LUTData") is not None
    has_window = ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None
    if has_lut:
        if np.issubdtype(values.dtype, np.floating) and np.all(np.mod(values, 1) == 0):
            values = values.astype(np.int64)
        levels = 2 ** int(lut[0].LUTDescriptor[2]) - 1
        display = apply_voi_lut(values, ds, prefer_lut=True).astype(np.float64) / levels
        tags["VOI"] = "lut"
    elif has_window:
        windowed = apply_voi_lut(values, ds, prefer_lut=False)
        with np.errstate(over="ignore"):  # the probe values are far outside any window
            low, high = apply_voi_lut(np.array([-1e12, 1e12]), ds, prefer_lut=False)
        display = (windowed - low) / (high - low) if high != low else np.zeros_like(windowed)
        tags["VOI"] = "window"
        tags["WindowCenter"] = dicom_str(ds.WindowCenter).split("\\")[0]  # the first is applied
        tags["WindowWidth"] = dicom_str(ds.WindowWidth).split("\\")[0]
    else:
        display = _min_max(values.astype(np.float64))
        tags["VOI"] = "min-max"
    display = np.clip(display, 0.0, 1.0)
    if photometric == "MONOCHROME1":  # low values are white: invert so bone is bright
        display = 1.0 - display
    return np.round(display * 65535.0).astype(np.uint16)


def _min_max(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Values rescaled to [0, 1] over their finite range (a flat image becomes 0)."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if high <= low:
        return np.zeros(values.shape, dtype=np.float64)
    return (np.nan_to_num(values, nan=low, posinf=high, neginf=low) - low) / (high - low)


def colour_display(array: NDArray[Any], ds: Any, photometric: str) -> NDArray[np.uint8]:
    """Colour DICOM -> RGB ``uint8`` (pydicom has already turned YBR into RGB)."""
    from pydicom.pixels import apply_color_lut  # pydicom loads only when a DICOM is read

    if photometric == "PALETTE COLOR":
        array = apply_color_lut(array, ds)
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    else:
        bits = int(ds.get("BitsStored", 8) or 8)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"unexpected colour pixel array shape {array.shape}")
    if bits > 8:
        array = np.round(array.astype(np.float64) * (255.0 / (2**bits - 1)))
    return np.clip(array, 0, 255).astype(np.uint8)


def dicom_str(value: Any) -> str:
    """A tag value as DICOM writes it: multi-valued tags joined by a backslash, DS without ``.0``."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(dicom_str(item) for item in value)
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)
