"""DICOM images: every transfer syntax of a radiology archive, display values, and a clear
refusal of whatever is not an image.

Decoding goes through pydicom's pixel-data plugins: its own numpy decoders (uncompressed,
deflated, big-endian), ``python-gdcm`` (JPEG baseline, extended, lossless; JPEG-LS; JPEG
2000), ``pylibjpeg-rle`` (RLE, 15x faster than pydicom's own), ``pylibjpeg-openjpeg``
(JPEG 2000 and High-Throughput JPEG 2000) and Pillow, plus the project's GDCM plugin for
12-bit JPEG Extended (:mod:`crossid_desktop.imaging.gdcm_jpeg12`). The choice and its
measurement are in ``docs/DICOM.md``. Only the frame asked for is decoded.

Greyscale frames are brought to display values (modality LUT, then VOI LUT or window,
MONOCHROME1 inverted so bone is bright) spread over the full ``uint16`` range; colour frames
become RGB ``uint8``. The patient's name, ID and birth date are kept apart from the other
tags (:class:`PatientIdentity`), so that nothing prints them by accident.

Every refusal is an :class:`~crossid_desktop.errors.InvalidImageError` with one sentence
saying what the file is and why it cannot be shown: a document or report without pixels,
an unsupported transfer syntax, truncated or corrupt data.
"""

from __future__ import annotations

import io
import threading
import types
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import InvalidImageError
from crossid_desktop.imaging.dicom_display import colour_display, dicom_str, grey_display
from crossid_desktop.imaging.spacing import PixelSpacing, spacing_from_dicom

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

#: DICOM tags copied into ``ImageMeta.dicom`` when present (never the patient's identifiers).
DICOM_TAGS = tuple(
    "Modality BodyPartExamined ViewPosition ImageLaterality PatientOrientation AcquisitionDate StudyDate "
    "StudyDescription SeriesDescription Manufacturer ManufacturerModelName PhotometricInterpretation BitsStored "
    "NumberOfFrames PixelSpacing ImagerPixelSpacing EstimatedRadiographicMagnificationFactor PixelSpacingCalibrationType "
    "NominalScannedPixelSpacing RescaleSlope RescaleIntercept VOILUTFunction".split()
)

#: What a DICOM object without pixels is, by the start of its SOP Class UID (most specific first).
NON_IMAGE_KINDS = (
    ("1.2.840.10008.1.3.10", "a DICOMDIR, the index of a DICOM disc or folder"),
    ("1.2.840.10008.5.1.4.1.1.104.1", "an encapsulated PDF document"),
    ("1.2.840.10008.5.1.4.1.1.104.", "an encapsulated document"),
    ("1.2.840.10008.5.1.4.1.1.88.", "a structured report (a document of findings)"),
    ("1.2.840.10008.5.1.4.1.1.11.", "a presentation state (display settings for other images)"),
    ("1.2.840.10008.5.1.4.1.1.9.", "a waveform recording"),
    ("1.2.840.10008.5.1.4.1.1.481.", "a radiotherapy object"),
    ("1.2.840.10008.5.1.4.1.1.66", "a segmentation, registration or fiducial object"),
)

_plugin_lock = threading.Lock()
_plugins_registered = False


@dataclass(frozen=True)
class PatientIdentity:
    """Who the image is of, as its file says: shown to the examiner and stored with the
    query, printed in a report only when the examiner chooses, never put in a file name or
    a log. ``repr`` withholds the values, so a log line or a traceback cannot carry them.

    ``name`` is "Family, Given Middle"; ``birth_date`` is ISO ``YYYY-MM-DD`` when the DICOM
    date is valid, else as written.
    """

    name: str = field(repr=False)
    patient_id: str = field(repr=False)
    birth_date: str = field(repr=False)

    def describe(self) -> str:
        parts = [self.name or "name not given", f"ID {self.patient_id or 'not given'}", f"born {self.birth_date or 'date not given'}"]
        return "; ".join(parts)

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "patient_id": self.patient_id, "birth_date": self.birth_date}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PatientIdentity:
        return cls(str(data.get("name", "")), str(data.get("patient_id", "")), str(data.get("birth_date", "")))


@dataclass(frozen=True, eq=False)
class DicomFrame:
    """One decoded frame and what the file says about it.

    ``pixels``: display values, grey ``(H, W)`` ``uint16`` or RGB ``(H, W, 3)`` ``uint8``.
    ``frame`` is 0-based, ``frames`` the file's count.
    """

    pixels: NDArray[Any]
    tags: Mapping[str, str]
    frames: int
    frame: int
    spacing: PixelSpacing | None
    patient: PatientIdentity | None


def prepare_pydicom() -> None:
    """Once per process: add the project's 12-bit JPEG plugin to pydicom's decoders, and stop
    pydicom from warning about invalid values while reading (its warnings go to its logger
    and quote the value, which may be a patient's name)."""
    global _plugins_registered
    with _plugin_lock:
        if _plugins_registered:
            return
        import pydicom.config  # pydicom loads only when a DICOM is read
        from pydicom import uid
        from pydicom.pixels import get_decoder

        pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
        get_decoder(uid.JPEGExtended12Bit).add_plugin("gdcm-jpeg12", ("crossid_desktop.imaging.gdcm_jpeg12", "_decode_frame"))
        _plugins_registered = True


def decode_dicom(data: bytes, path: Path, *, max_pixels: int, has_preamble: bool, frame: int = 0) -> DicomFrame:
    """Decode frame ``frame`` (0-based) of the DICOM file whose bytes are ``data``.

    ``has_preamble``: the file carries the 128-byte preamble and ``DICM``; without it the
    bytes are tried as a bare data set, and a failure means "not an image" rather than
    "corrupt DICOM".
    """
    prepare_pydicom()
    ds = read_dataset(data, path, has_preamble=has_preamble)
    rows, columns, frames = _dimensions(ds, path, has_preamble)
    if rows * columns > max_pixels:
        raise InvalidImageError(f"The image {path} has {columns}x{rows} pixels, more than the limit of {max_pixels:,}.")
    if not 0 <= frame < frames:
        raise InvalidImageError(f"The DICOM file {path} has {frames} frame(s); there is no frame {frame + 1}.")
    syntax = _transfer_syntax(ds)
    _check_decoder(syntax, path)
    _check_length(ds, syntax, path, rows, columns, frames)
    tags = dicom_tags(ds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pydicom.pixels import pixel_array  # pydicom loads only when a DICOM is read

            array = np.asarray(pixel_array(ds, index=frame))
            photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
            pixels = grey_display(array, ds, photometric, tags) if photometric.startswith("MONOCHROME") else colour_display(array, ds, photometric)
    except Exception as error:
        kind = "compressed pixel data" if not _is_native(syntax) else "pixel data"
        raise InvalidImageError(
            f"The {kind} of the DICOM file {path} ({_syntax_name(syntax)}) is truncated or corrupt and cannot be decoded."
        ) from error
    return DicomFrame(pixels, types.MappingProxyType(tags), frames, frame, spacing_from_dicom(ds), patient_identity(ds))


def read_dataset(data: bytes | Path, path: Path, *, has_preamble: bool) -> Any:
    """Parse the data set (a pydicom ``Dataset``); refuse garbage with one sentence.

    ``data`` is the file's bytes, or its path to read the header only: values over 4 KiB
    (the pixel data) are then not loaded, only noted.
    """
    import pydicom  # pydicom loads only when a DICOM is read

    prepare_pydicom()
    not_an_image = f"The file {path} is not an image in a supported format (JPEG, PNG, TIFF, BMP, PGM, GIF or DICOM)."
    source = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(source, force=not has_preamble, defer_size=None if isinstance(data, bytes) else 4096)
            if not has_preamble and len(ds) == 0:
                raise ValueError("no data elements")
    except Exception as error:  # pydicom raises many kinds on garbage
        if not has_preamble:
            raise InvalidImageError(not_an_image) from error
        raise InvalidImageError(f"The DICOM file {path} is truncated or corrupt: its data elements cannot be read.") from error
    try:
        _check_complete(ds, path)
    except InvalidImageError as error:
        if has_preamble:
            raise
        raise InvalidImageError(not_an_image) from error  # garbage read as a bare data set
    return ds


def _check_complete(ds: Any, path: Path) -> None:
    """pydicom stops quietly at the end of a file: a file cut short is refused here."""
    if len(ds) == 0:
        raise InvalidImageError(f"The DICOM file {path} is truncated or corrupt: it holds no data elements after its file header.")
    last = ds.get_item(max(ds.keys()))
    length, value = getattr(last, "length", None), getattr(last, "value", None)
    if isinstance(value, bytes) and length is not None and length != 0xFFFFFFFF and len(value) < length:
        what = "pixel data" if last.tag == 0x7FE00010 else f"element {last.tag}"
        raise InvalidImageError(f"The DICOM file {path} is truncated: its {what} holds {len(value):,} of the {length:,} bytes its header promises.")


def why_no_image(ds: Any) -> str:
    """Why a DICOM object without pixels shows nothing, as the end of a sentence:
    "holds no image: it is a structured report (a document of findings) (Basic Text SR Storage)"."""
    from pydicom.uid import UID  # pydicom loads only when a DICOM is read

    meta = getattr(ds, "file_meta", None)
    sop_class = str(ds.get("SOPClassUID", "") or (meta.get("MediaStorageSOPClassUID", "") if meta is not None else "") or "")
    name = UID(sop_class).name if sop_class else ""
    named = bool(name) and name != sop_class
    if named and "Image Storage" in name:
        return f"holds no pixel data, although it is {_article(name)} {name} object (stripped of its pixels, or cut short)"
    kind = next((what for prefix, what in NON_IMAGE_KINDS if sop_class.startswith(prefix)), None)
    if kind is None:
        return f"holds no image: it is {_article(name)} {name} object" if named else "holds no image (its kind of object is not stated)"
    advice = "; open it in the DICOM browser or with crossid dicom list" if sop_class == "1.2.840.10008.1.3.10" else ""
    return f"holds no image: it is {kind}" + (f" ({name})" if named else "") + advice


def _article(name: str) -> str:
    """"a" or "an" before a SOP class name, read aloud ("an MR Image", "a CT Image")."""
    word = name.split(" ")[0] if name else ""
    initial = word[:1].upper()
    spelled = word.isupper() and len(word) <= 4  # an acronym, spelled letter by letter
    return "an" if initial in "AEIOU" or initial == "X" or (spelled and initial in "FHLMNRS") else "a"


def dicom_tags(ds: Any) -> dict[str, str]:
    """The :data:`DICOM_TAGS` present, as strings, plus the transfer syntax and view code."""
    tags: dict[str, str] = {}
    for name in DICOM_TAGS:
        try:
            value = ds.get(name)
        except Exception:  # an unparseable value is left out, not guessed
            continue
        if value not in (None, ""):
            tags[name] = dicom_str(value)
    view_codes = ds.get("ViewCodeSequence")
    if view_codes and view_codes[0].get("CodeMeaning"):
        tags["ViewCodeMeaning"] = str(view_codes[0].CodeMeaning)
    syntax = _transfer_syntax(ds)
    if syntax:
        tags["TransferSyntax"] = _syntax_name(syntax)
    return tags


def patient_identity(ds: Any) -> PatientIdentity | None:
    """The patient's name, ID and birth date, or ``None`` when the file gives none of them."""
    try:
        name = ds.get("PatientName")
        formatted = name.formatted("%(family_name)s, %(given_name)s %(middle_name)s").strip(" ,") if name else ""
        identity = PatientIdentity(formatted or str(name or ""), str(ds.get("PatientID", "") or ""), iso_date(ds.get("PatientBirthDate")))
    except Exception:  # a malformed name or date: give what is readable rather than fail the image
        identity = PatientIdentity("", str(ds.get("PatientID", "") or ""), "")
    return identity if any(identity.to_dict().values()) else None


def frame_count(ds: Any, path: Path | str) -> int:
    """The Number of Frames (1 when absent); a corrupt value is refused."""
    raw = ds.get("NumberOfFrames", 1)
    try:
        frames = int(str(raw if raw not in (None, "") else 1).strip())
    except ValueError as error:
        raise InvalidImageError(f"The DICOM file {path} is corrupt: its Number of Frames ({str(raw)!r}) is not a whole number.") from error
    if frames < 1:
        raise InvalidImageError(f"The DICOM file {path} is corrupt: it declares {frames} frames.")
    return frames


# --- checks before decoding -----------------------------------------------------------------


def _dimensions(ds: Any, path: Path, has_preamble: bool) -> tuple[int, int, int]:
    has_pixels = any(keyword in ds for keyword in PIXEL_KEYWORDS)
    try:
        rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    except (TypeError, ValueError) as error:
        raise InvalidImageError(f"The DICOM file {path} is corrupt: its Rows or Columns are not numbers.") from error
    if not has_pixels:
        if not has_preamble and "SOPClassUID" not in ds:
            raise InvalidImageError(f"The file {path} is not an image in a supported format (JPEG, PNG, TIFF, BMP, PGM, GIF or DICOM).")
        raise InvalidImageError(f"The DICOM file {path} {why_no_image(ds)}.")
    if rows <= 0 or columns <= 0:
        raise InvalidImageError(f"The DICOM file {path} is corrupt: it holds pixel data but no image size (Rows and Columns).")
    return rows, columns, frame_count(ds, path)


def _transfer_syntax(ds: Any) -> str:
    """The file's transfer syntax UID; a bare data set gets the one it was read with."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return str(meta.TransferSyntaxUID)
    import pydicom  # pydicom loads only when a DICOM is read
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    implicit = bool(getattr(ds, "original_encoding", (True,))[0])
    ds.file_meta = meta or pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    return str(ds.file_meta.TransferSyntaxUID)


def _syntax_name(syntax: str) -> str:
    from pydicom.uid import UID  # pydicom loads only when a DICOM is read

    name = UID(syntax).name
    return name if name != syntax else f"transfer syntax {syntax}"


def _is_native(syntax: str) -> bool:
    from pydicom.uid import UID  # pydicom loads only when a DICOM is read

    return not UID(syntax).is_compressed if UID(syntax).is_transfer_syntax else False


def _check_decoder(syntax: str, path: Path) -> None:
    """Refuse a syntax that is unknown, has no decoder, or whose decoder is not installed."""
    from pydicom.pixels import get_decoder  # pydicom loads only when a DICOM is read
    from pydicom.uid import UID

    uid = UID(syntax)
    if not uid.is_transfer_syntax:
        raise InvalidImageError(
            f"The DICOM file {path} uses the transfer syntax {syntax}, which is not a standard one (a vendor's private encoding), so its pixels cannot be decoded."
        )
    try:
        decoder = get_decoder(uid)
    except NotImplementedError as error:
        what = "a video encoding" if "MPEG" in uid.name or "HEVC" in uid.name else "an encoding"
        raise InvalidImageError(f"The DICOM file {path} uses {uid.name}, {what} that this application does not decode.") from error
    if not decoder.is_available:
        missing = "; ".join(" or ".join(deps) for deps in decoder.missing_dependencies) if hasattr(decoder, "missing_dependencies") else ""
        raise InvalidImageError(
            f"The DICOM file {path} uses {uid.name}, and no decoder for it is installed{f' (it needs {missing})' if missing else ''}."
        )


def _check_length(ds: Any, syntax: str, path: Path, rows: int, columns: int, frames: int) -> None:
    """Uncompressed pixel data shorter than the header promises is a truncated file."""
    if not _is_native(syntax) or "PixelData" not in ds:
        return
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    bits = int(ds.get("BitsAllocated", 8) or 8)
    values = rows * columns * samples * frames
    expected = (values + 7) // 8 if bits == 1 else values * (bits // 8)
    if str(ds.get("PhotometricInterpretation", "")) == "YBR_FULL_422" and samples == 3:  # 2 values per pixel
        expected = expected * 2 // 3
    actual = len(ds.PixelData)
    if actual < expected:
        raise InvalidImageError(f"The DICOM file {path} is truncated: its pixel data holds {actual:,} of the {expected:,} bytes its header promises.")


def iso_date(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text
