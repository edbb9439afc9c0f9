"""Tests for crossid_desktop.imaging.dicom: bad input gets one sentence saying which and why;
frames, spacing and the patient's identifiers. Every file is written here by pydicom."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from builders import write_dicom
from pydicom import uid

from crossid_desktop.errors import InvalidImageError
from crossid_desktop.imaging.dicom import PatientIdentity
from crossid_desktop.imaging.io import load_image
from crossid_desktop.imaging.spacing import SpacingSource


def ramp(height: int = 24, width: int = 32, offset: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return (offset + x * 40 + y * 7).astype(np.uint16)


def refusal(path: Path) -> str:
    with pytest.raises(InvalidImageError) as refused:
        load_image(path)
    message = str(refused.value)
    assert str(path) in message
    assert message.endswith(".") and ". " not in message, f"not one sentence: {message}"
    return message


# --- DICOM objects that are not images -------------------------------------------------------


def test_structured_report_is_refused_as_such(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "sr.dcm", sop_class=uid.BasicTextSRStorage, Modality="SR")
    assert "holds no image: it is a structured report (a document of findings) (Basic Text SR Storage)" in refusal(path)


def test_presentation_state_is_refused_as_such(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "gsps.dcm", sop_class=uid.GrayscaleSoftcopyPresentationStateStorage, Modality="PR")
    assert "it is a presentation state (display settings for other images)" in refusal(path)


def test_encapsulated_pdf_is_refused_as_such(tmp_path: Path) -> None:
    path = write_dicom(
        tmp_path / "report.dcm", sop_class=uid.EncapsulatedPDFStorage, Modality="DOC",
        MIMETypeOfEncapsulatedDocument="application/pdf", EncapsulatedDocument=b"%PDF-1.4\n%%EOF\n",
    )
    assert "it is an encapsulated PDF document (Encapsulated PDF Storage)" in refusal(path)


def test_image_object_without_pixels_says_so(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "stripped.dcm")
    assert "holds no pixel data, although it is a Digital X-Ray Image Storage - For Presentation object" in refusal(path)


# --- truncated and corrupt --------------------------------------------------------------------


def test_truncated_uncompressed_pixel_data(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "cut.dcm", ramp())
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    expected = 24 * 32 * 2
    assert f"is truncated: its pixel data holds {expected - 100:,} of the {expected:,} bytes" in refusal(path)


def test_file_cut_inside_its_header(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "header.dcm", ramp())
    path.write_bytes(path.read_bytes()[:400])
    assert "is truncated: its element (0008,0018) holds" in refusal(path)  # SOP Instance UID
    path.write_bytes(path.read_bytes()[:250])  # inside the file meta information
    assert "is truncated or corrupt: it holds no data elements after its file header" in refusal(path)


@pytest.mark.parametrize("syntax", [uid.RLELossless, uid.JPEG2000Lossless])
def test_truncated_compressed_stream(tmp_path: Path, syntax: str) -> None:
    import pydicom
    from pydicom.encaps import encapsulate, generate_frames

    path = write_dicom(tmp_path / "compressed.dcm", ramp(64, 64), syntax=syntax)
    ds = pydicom.dcmread(path)
    assert load_image(path).pixels.shape == (64, 64)  # intact, it decodes
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([frame[: len(frame) // 2]])
    ds.save_as(path)
    message = refusal(path)
    assert f"The compressed pixel data of the DICOM file {path} ({syntax.name}) is truncated or corrupt" in message


def test_corrupt_number_of_frames(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "frames.dcm", ramp(), NumberOfFrames=1)
    element = b"\x28\x00\x08\x00IS\x02\x001 "  # (0028,0008) IS, 2 bytes: "1 "
    data = path.read_bytes()
    assert data.count(element) == 1
    path.write_bytes(data.replace(element, element[:-2] + b"1A"))
    assert "Number of Frames ('1A') is not a whole number" in refusal(path)


# --- transfer syntaxes that cannot be decoded -----------------------------------------------


def test_video_transfer_syntax(tmp_path: Path) -> None:
    import pydicom
    from pydicom.encaps import encapsulate

    path = write_dicom(tmp_path / "video.dcm", ramp())
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = uid.MPEG4HP41
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" * 8])
    ds.save_as(path)
    assert "uses MPEG-4 AVC/H.264 High Profile / Level 4.1, a video encoding that this application does not decode" in refusal(path)


def test_private_transfer_syntax(tmp_path: Path) -> None:
    import pydicom

    path = write_dicom(tmp_path / "private.dcm", ramp())
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = "1.3.6.1.4.1.99999.1"
    ds.save_as(path, implicit_vr=False, little_endian=True)
    assert "uses the transfer syntax 1.3.6.1.4.1.99999.1, which is not a standard one" in refusal(path)


def test_syntax_whose_decoder_is_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydicom.pixels import get_decoder

    path = write_dicom(tmp_path / "j2k.dcm", ramp(64, 64), syntax=uid.JPEG2000Lossless)
    decoder = get_decoder(uid.JPEG2000Lossless)
    monkeypatch.setattr(type(decoder), "is_available", property(lambda self: False))
    assert "uses JPEG 2000 Image Compression (Lossless Only), and no decoder for it is installed" in refusal(path)


# --- frames, spacing, identifiers -------------------------------------------------------------


def test_the_frame_asked_for_is_the_one_decoded(tmp_path: Path) -> None:
    frames = np.stack([ramp(offset=0), ramp(offset=500)[::-1], ramp(offset=900)[:, ::-1]])
    path = write_dicom(tmp_path / "multi.dcm", frames, syntax=uid.RLELossless)
    for index, stored in enumerate(frames):
        loaded = load_image(path, frame=index)
        assert loaded.meta.frames == 3 and loaded.meta.frame == index
        # no window in the file: each frame is stretched over its own range (min-max)
        expected = (stored - stored.min()) / float(stored.max() - stored.min())
        np.testing.assert_allclose(loaded.pixels / 65535.0, expected, atol=1 / 65535)
    with pytest.raises(InvalidImageError, match="has 3 frame\\(s\\); there is no frame 4"):
        load_image(path, frame=3)


def test_magnification_factor_gives_spacing_at_the_object(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "ceph.dcm", ramp(), ImagerPixelSpacing=[0.15, 0.15], EstimatedRadiographicMagnificationFactor=1.1)
    spacing = load_image(path).meta.spacing
    assert spacing is not None and spacing.source is SpacingSource.OBJECT_ESTIMATED
    assert spacing.row_mm == pytest.approx(0.15 / 1.1) and spacing.column_mm == pytest.approx(0.15 / 1.1)


def test_patient_identity_is_kept_apart_and_withheld_from_repr(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "p.dcm", ramp(), patient=("Doe^Jane^Q", "PID-0042", "19700321"))
    meta = load_image(path).meta
    assert meta.patient == PatientIdentity("Doe, Jane Q", "PID-0042", "1970-03-21")
    assert not any("Doe" in value or "PID-0042" in value for value in meta.dicom.values())
    for text in (repr(meta), repr(meta.patient), str(meta)):
        assert "Doe" not in text and "PID-0042" not in text and "1970" not in text


def test_reading_never_logs_identifiers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # an invalid value in a patient attribute: pydicom would warn, quoting it, in its log
    name = "Invalid\\Name^With^Too^Many^Parts^Here^x" + "y" * 70
    path = write_dicom(tmp_path / "bad.dcm", ramp(), patient=(name, "PID-LOGGED", "1970-13-99"))
    with caplog.at_level(logging.DEBUG):
        load_image(path)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "PID-LOGGED" not in logged and "Invalid" not in logged and "1970-13-99" not in logged
