"""Reading and writing images: photos (JPEG, PNG, TIFF, BMP, PGM, GIF) and X-rays (DICOM).

Every image enters the application through :func:`load_image`. It reads the file once, hashes
those bytes (the SHA-256 that the gallery and the case audit log record) and decodes the same
bytes from memory, so the hash always describes the pixels that were used. The format is told
from the file's content, never from its suffix. Anything that is not a complete, decodable
image of a sane size is refused with :class:`~crossid_desktop.errors.InvalidImageError`; a
truncated photo is never half-decoded.

Returned pixels follow the project's convention: colour is RGB ``uint8`` ``(H, W, 3)``;
greyscale stays ``(H, W)`` ``uint8`` or ``uint16``. DICOM is decoded by
:mod:`crossid_desktop.imaging.dicom` (every transfer syntax, one frame of a multi-frame file,
display values, pixel spacing, the patient's identifiers kept apart).
"""

from __future__ import annotations

import hashlib
import io
import types
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import InvalidImageError
from crossid_desktop.imaging.dicom import PatientIdentity, decode_dicom
from crossid_desktop.imaging.spacing import PixelSpacing

#: Images with more pixels than this are refused before decoding (decompression bombs).
MAX_PIXELS: int = 100_000_000

#: Luminance weights (ITU-R BT.601, as Pillow and OpenCV use) for colour -> grey.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

@dataclass(frozen=True)
class ImageMeta:
    """What is known about a loaded image besides its pixels.

    ``channels`` and ``bit_depth`` describe the returned pixels (after conversion), not the
    file. ``exif_orientation`` is the EXIF orientation tag (1-8) that was found and applied.
    ``dicom`` holds DICOM tags as strings (multi-valued tags joined by a backslash, as in
    DICOM itself), only those present; ``WindowCenter``/``WindowWidth`` are the values applied
    and ``VOI`` says which display mapping was used (``"lut"``, ``"window"`` or ``"min-max"``).
    ``frame`` (0-based) is the frame shown of ``frames``. ``spacing`` is the physical pixel
    size and where it holds, ``None`` where unknown. ``patient`` holds the identifiers a DICOM
    names (never in ``dicom``; see :class:`~crossid_desktop.imaging.dicom.PatientIdentity`).
    """

    format: str
    width: int
    height: int
    channels: int
    bit_depth: int
    exif_orientation: int | None = None
    dicom: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}))
    frames: int = 1
    frame: int = 0
    spacing: PixelSpacing | None = None
    patient: PatientIdentity | None = None


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """An image as read from disk.

    ``pixels`` is RGB ``uint8`` ``(H, W, 3)`` or greyscale ``(H, W)`` ``uint8``/``uint16``, and
    read-only (copy it before changing it). ``sha256`` is the hex digest of the file's bytes.
    """

    pixels: NDArray[Any]
    sha256: str
    path: Path | None
    meta: ImageMeta

    @property
    def is_greyscale(self) -> bool:
        return self.pixels.ndim == 2

    def grey_float(self) -> NDArray[np.float32]:
        """Greyscale ``(H, W)`` ``float32`` in [0, 1]; colour becomes BT.601 luminance."""
        scale = 65535.0 if self.pixels.dtype == np.uint16 else 255.0
        if self.is_greyscale:
            return self.pixels.astype(np.float32) / np.float32(scale)
        return (self.pixels.astype(np.float32) @ _LUMA) / np.float32(scale)

    def rgb_uint8(self) -> NDArray[np.uint8]:
        """Colour ``(H, W, 3)`` ``uint8``; 16-bit grey is rounded down to 8 bits (x / 257).

        An image that is already RGB ``uint8`` returns its own read-only pixels.
        """
        if not self.is_greyscale:
            return self.pixels
        grey = self.pixels
        if grey.dtype == np.uint16:
            grey = np.round(grey / 257.0).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)


def sha256_of_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise InvalidImageError(_unreadable(Path(path), error)) from error
    return digest.hexdigest()


def load_image(path: str | Path, *, max_pixels: int = MAX_PIXELS, frame: int = 0) -> LoadedImage:
    """Read, hash and decode one image file; see the module docstring for what is refused.

    ``frame`` (0-based) chooses the frame of a multi-frame DICOM; other formats have one.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidImageError(_unreadable(path, error)) from error
    if not data:
        raise InvalidImageError(f"The file {path} is empty.")
    sha256 = hashlib.sha256(data).hexdigest()
    kind = _sniff(data)
    if kind is not None and kind != "DICOM":
        if frame != 0:
            raise InvalidImageError(f"The {kind} file {path} has one frame; there is no frame {frame + 1}.")
        pixels, meta = _decode_pillow(data, path, kind, max_pixels)
    else:
        decoded = decode_dicom(data, path, max_pixels=max_pixels, has_preamble=kind == "DICOM", frame=frame)
        pixels = decoded.pixels
        meta = _meta("DICOM", pixels, dicom=decoded.tags, frames=decoded.frames, frame=decoded.frame, spacing=decoded.spacing, patient=decoded.patient)
    pixels = np.ascontiguousarray(pixels)
    pixels.flags.writeable = False
    return LoadedImage(pixels=pixels, sha256=sha256, path=path, meta=meta)


# --- reading --------------------------------------------------------------------------------


def _unreadable(path: Path, error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return f"The image file {path} does not exist."
    if isinstance(error, IsADirectoryError) or path.is_dir():
        return f"{path} is a folder, not an image file."
    if isinstance(error, PermissionError):
        return f"The image file {path} cannot be read: permission denied."
    return f"The image file {path} cannot be read: {error.strerror or error}."


def _sniff(data: bytes) -> str | None:
    """Tell the format from the first bytes; ``None`` when no photo format matches."""
    if data[128:132] == b"DICM":
        return "DICOM"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data.startswith(b"BM"):
        return "BMP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:2] in (b"P2", b"P5") and data[2:3].isspace():
        return "PGM"
    if data[:2] in (b"P3", b"P6") and data[2:3].isspace():
        return "PPM"
    return None


def _decode_pillow(data: bytes, path: Path, kind: str, max_pixels: int) -> tuple[NDArray[Any], ImageMeta]:
    from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError  # Pillow loads on first use

    if ImageFile.LOAD_TRUNCATED_IMAGES:  # someone switched it on: we never half-decode
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > max_pixels:
            raise InvalidImageError(
                f"The image {path} has {width}x{height} pixels, more than the limit of {max_pixels:,}."
            )
        image.load()  # decodes the first frame; raises on truncated or corrupt data
        orientation = _exif_orientation(image)
        if orientation is not None and orientation != 1:
            image = ImageOps.exif_transpose(image)
        pixels = _pillow_to_array(image)
    except InvalidImageError:
        raise
    except Image.DecompressionBombError as error:
        raise InvalidImageError(f"The image {path} declares more pixels than can be opened safely (a possible decompression bomb).") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise InvalidImageError(f"The {kind} file {path} is truncated or corrupt and cannot be decoded.") from error
    return pixels, _meta(kind, pixels, exif_orientation=orientation)


def _meta(kind: str, pixels: NDArray[Any], **extra: Any) -> ImageMeta:
    height, width = pixels.shape[:2]
    channels, bit_depth = (1 if pixels.ndim == 2 else 3), (16 if pixels.dtype == np.uint16 else 8)
    return ImageMeta(format=kind, width=width, height=height, channels=channels, bit_depth=bit_depth, **extra)


def _exif_orientation(image: Any) -> int | None:
    try:
        value = image.getexif().get(0x0112)
    except Exception:  # a broken EXIF block must not make the photo unreadable
        return None
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


def _pillow_to_array(image: Any) -> NDArray[Any]:
    """A decoded Pillow image as RGB ``uint8``, grey ``uint8`` or grey ``uint16``."""
    from PIL import Image  # Pillow loads on first use

    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        flattened = Image.alpha_composite(background, image.convert("RGBA"))
        return np.asarray(flattened.convert("L" if mode in ("LA", "La") else "RGB"))
    if mode in ("L", "RGB"):
        return np.asarray(image)
    if mode == "1":
        return np.asarray(image.convert("L"))
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if mode in ("I", "F"):
        values = np.asarray(image)
        if mode == "I" and values.min() >= 0 and values.max() <= 65535:
            return values.astype(np.uint16)
        return _stretch_to_uint16(values.astype(np.float64))
    return np.asarray(image.convert("RGB"))  # CMYK, YCbCr, LAB, HSV


def _stretch_to_uint16(values: NDArray[np.float64]) -> NDArray[np.uint16]:
    """Min-max rescale to the full ``uint16`` range (a flat image becomes 0)."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint16)
    scaled = (np.nan_to_num(values, nan=low, posinf=high, neginf=low) - low) / (high - low)
    return np.round(np.clip(scaled, 0.0, 1.0) * 65535.0).astype(np.uint16)
