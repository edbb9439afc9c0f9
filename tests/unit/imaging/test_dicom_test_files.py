"""The loader against pydicom's own bundled test files (written by GDCM, DCMTK, vendors and
pydicom's authors), file by file.

Every file holding an image loads with the shape its header states (Rows, Columns, samples
per pixel, Number of Frames, read here by pydicom without the loader); lossless variants of
one image (compressed, big-endian, implicit) load to exactly the pixels of the uncompressed
original. The refusals are exactly the hand-made list below, each with the reason, checked
against the sentence the loader gives.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest

from crossid_desktop.errors import InvalidImageError
from crossid_desktop.imaging.io import load_image

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"

NOT_DICOM = "not an image in a supported format"
#: file -> the words its refusal must contain; the comment says why it is right to refuse it.
REFUSED: dict[str, str] = {
    "README.txt": NOT_DICOM,  # text
    "crayons.icc": NOT_DICOM,  # an ICC colour profile
    "rtplan.dump": NOT_DICOM,  # text dumps
    "rtstruct.dump": NOT_DICOM,
    "test1.json": NOT_DICOM,  # DICOM JSON, not a DICOM file
    "test_PN.json": NOT_DICOM,
    "zipMR.gz": NOT_DICOM,  # a gzip archive
    "dicomdirtests/README.txt": NOT_DICOM,
    "dicomdirtests/TINY_ALPHA/README": NOT_DICOM,
    # a bare data set whose first byte is a stray 0x20: pydicom reads it as one 38 kB UN element
    "no_meta.dcm": NOT_DICOM,
    # objects that are not images
    "ExplVR_BigEndNoMeta.dcm": "radiotherapy object (RT Ion Plan Storage)",
    "ExplVR_LitEndNoMeta.dcm": "radiotherapy object (RT Ion Plan Storage)",
    "rtplan.dcm": "radiotherapy object (RT Plan Storage)",
    "rtstruct.dcm": "radiotherapy object (RT Structure Set Storage)",
    "reportsi.dcm": "structured report",
    "reportsi_with_empty_number_tags.dcm": "structured report",
    "test-SR.dcm": "structured report",
    "waveform_ecg.dcm": "waveform",
    "empty_charset_LEI.dcm": "holds no image",  # a few attributes, no SOP class, no pixels
    "dicomdirtests/DICOMDIR": "DICOMDIR",
    "dicomdirtests/DICOMDIR-bigEnd": "DICOMDIR",
    "dicomdirtests/DICOMDIR-empty.dcm": "DICOMDIR",
    "dicomdirtests/DICOMDIR-implicit": "DICOMDIR",
    "dicomdirtests/DICOMDIR-nooffset": "DICOMDIR",
    "dicomdirtests/DICOMDIR-nopatient": "DICOMDIR",
    "dicomdirtests/DICOMDIR-reordered": "DICOMDIR",
    "dicomdirtests/TINY_ALPHA/DICOMDIR": "DICOMDIR",
    # image objects whose pixels were stripped by their authors (parser tests)
    "UN_sequence.dcm": "holds no pixel data, although it is a CT Image Storage object",
    "priv_SQ.dcm": "holds no pixel data, although it is an MR Image Storage object",
    "no_meta_group_length.dcm": "holds no pixel data, although it is an RT Image Storage object",
    # truly corrupt
    "MR_truncated.dcm": "is truncated: its pixel data holds 8,130 of the 8,192 bytes",
    "rtplan_truncated.dcm": "is truncated: its element (300A,00B0) holds 711 of the 976 bytes",  # an RT plan, cut
    "badVR.dcm": "Number of Frames ('1A') is not a whole number",
    # pydicom's README: "4 of the encoded pixel data bytes replaced with the Sequence Delimiter"
    "JPEG2000-embedded-sequence-delimiter.dcm": "(JPEG 2000 Image Compression) is truncated or corrupt",
    # a 2-byte Pixel Data and a private sequence, no Rows or Columns (parser tests)
    "meta_missing_tsyntax.dcm": "pixel data but no image size",
    "nested_priv_SQ.dcm": "pixel data but no image size",
}
#: the 50 files of this DICOMDIR's tree are CT headers whose pixel data pydicom removed
STRIPPED_TREE = "dicomdirtests/TINY_ALPHA/PT000000/"

#: uncompressed original -> lossless variants that must decode to the same pixels
TWINS = {
    "MR_small.dcm": [
        "MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm", "MR_small_implicit.dcm",
        "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_padded.dcm",
    ],
    "rtdose.dcm": ["rtdose_rle.dcm", "rtdose_expb.dcm"],
    "rtdose_1frame.dcm": ["rtdose_rle_1frame.dcm", "rtdose_expb_1frame.dcm"],
    "liver_1frame.dcm": ["liver_expb_1frame.dcm"],
    "SC_rgb_small_odd.dcm": ["SC_rgb_small_odd_big_endian.dcm"],
    "SC_rgb_rle.dcm": ["SC_rgb_jpeg_gdcm.dcm"],  # JPEG Lossless SV1
    # the README: JPGExtended is the fixed version of JPEG-lossy (whose SOS header is invalid)
    "JPGExtended.dcm": ["JPEG-lossy.dcm"],
}


def all_files() -> list[str]:
    return sorted(str(p.relative_to(TEST_FILES)) for p in TEST_FILES.rglob("*") if p.is_file())


def expected_refusal(name: str) -> str | None:
    if name.startswith(STRIPPED_TREE):
        return "holds no pixel data, although it is a CT Image Storage object"
    return REFUSED.get(name)


def header_shape(path: Path) -> tuple[tuple[int, ...], int]:
    """(shape of one frame, number of frames) from the header, read by pydicom alone."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    colour = int(ds.SamplesPerPixel) == 3 or ds.PhotometricInterpretation == "PALETTE COLOR"
    shape = (int(ds.Rows), int(ds.Columns)) + ((3,) if colour else ())
    return shape, int(ds.get("NumberOfFrames", 1) or 1)


def test_the_hand_made_list_names_real_files() -> None:
    names = set(all_files())
    assert set(REFUSED) <= names
    assert sum(name.startswith(STRIPPED_TREE) for name in names) == 50


@pytest.mark.parametrize("name", all_files())
def test_bundled_file(name: str) -> None:
    path = TEST_FILES / name
    reason = expected_refusal(name)
    if reason is not None:
        with pytest.raises(InvalidImageError) as refused:
            load_image(path)
        message = str(refused.value)
        assert reason in message and str(path) in message
        assert message.count(". ") == 0 and message.endswith("."), "one sentence"
        return
    loaded = load_image(path)
    shape, frames = header_shape(path)
    assert loaded.pixels.shape == shape
    assert loaded.meta.frames == frames and loaded.meta.frame == 0
    assert loaded.pixels.dtype == (np.uint8 if len(shape) == 3 else np.uint16)
    if frames > 1:
        last = load_image(path, frame=frames - 1)
        assert last.pixels.shape == shape and last.meta.frame == frames - 1
        with pytest.raises(InvalidImageError, match=f"has {frames} frame"):
            load_image(path, frame=frames)


@pytest.mark.parametrize("original,variant", [(o, v) for o, variants in TWINS.items() for v in variants])
def test_lossless_variants_decode_to_the_original(original: str, variant: str) -> None:
    reference = load_image(TEST_FILES / original)
    frames = reference.meta.frames
    for frame in sorted({0, frames - 1}):
        a = load_image(TEST_FILES / original, frame=frame).pixels
        b = load_image(TEST_FILES / variant, frame=frame).pixels
        np.testing.assert_array_equal(b, a)


def test_twelve_bit_jpeg_shows_the_same_image_as_its_jpeg_2000_version() -> None:
    # JPGExtended.dcm and JPEG2000.dcm are lossy versions of one NEMA image (NM1): the 12-bit
    # JPEG (decoded by the project's GDCM plugin) must show that image, not noise.
    jpeg = load_image(TEST_FILES / "JPGExtended.dcm").grey_float()
    j2k = load_image(TEST_FILES / "JPEG2000.dcm").grey_float()
    assert np.corrcoef(jpeg.ravel(), j2k.ravel())[0, 1] > 0.9
