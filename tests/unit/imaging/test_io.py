"""Tests for crossid_desktop.imaging.io: every file is built here, in tmp_path."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crossid_desktop.errors import InvalidImageError
from crossid_desktop.imaging.io import MAX_PIXELS, ImageMeta, LoadedImage, load_image, sha256_of_file
from crossid_desktop.imaging.writing import save_image


def _pattern_rgb(height: int = 24, width: int = 32) -> np.ndarray:
    """Smooth, asymmetric colour gradient (JPEG-friendly)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // (width - 1), y * 255 // (height - 1), np.full_like(x, 90)], axis=2).astype(np.uint8)


def _pattern_grey(height: int = 24, width: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return ((x * 7 + y * 3) % 256).astype(np.uint8)


def _write(tmp_path: Path, name: str, image: Image.Image, fmt: str, **options: object) -> Path:
    path = tmp_path / name
    image.save(path, format=fmt, **options)
    return path


# --- lossless formats keep exact values ------------------------------------------------------


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("BMP", ".bmp"), ("TIFF", ".tif")])
def test_lossless_colour_round_trip_exact(tmp_path: Path, fmt: str, suffix: str) -> None:
    rgb = _pattern_rgb()
    path = _write(tmp_path, "colour" + suffix, Image.fromarray(rgb), fmt)
    loaded = load_image(path)
    assert loaded.meta.format == fmt
    assert loaded.pixels.dtype == np.uint8 and loaded.pixels.shape == (24, 32, 3)
    np.testing.assert_array_equal(loaded.pixels, rgb)
    assert (loaded.meta.width, loaded.meta.height, loaded.meta.channels, loaded.meta.bit_depth) == (32, 24, 3, 8)


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("PPM", ".pgm"), ("BMP", ".bmp")])
def test_greyscale_stays_greyscale(tmp_path: Path, fmt: str, suffix: str) -> None:
    grey = _pattern_grey()
    path = _write(tmp_path, "grey" + suffix, Image.fromarray(grey), fmt)
    loaded = load_image(path)
    assert loaded.is_greyscale and loaded.pixels.shape == (24, 32) and loaded.pixels.dtype == np.uint8
    np.testing.assert_array_equal(loaded.pixels, grey)
    assert loaded.meta.channels == 1
    expected_format = "PGM" if suffix == ".pgm" else fmt
    assert loaded.meta.format == expected_format


@pytest.mark.parametrize("suffix,fmt", [(".png", "PNG"), (".tif", "TIFF")])
def test_sixteen_bit_values_survive(tmp_path: Path, suffix: str, fmt: str) -> None:
    values = np.array([[0, 1, 255, 256], [1000, 4095, 40000, 65535]], dtype=np.uint16)
    path = tmp_path / f"deep{suffix}"
    Image.fromarray(values).save(path, format=fmt)
    loaded = load_image(path)
    assert loaded.pixels.dtype == np.uint16 and loaded.meta.bit_depth == 16
    np.testing.assert_array_equal(loaded.pixels, values)
    np.testing.assert_allclose(loaded.grey_float(), values / 65535.0, rtol=1e-6)
    np.testing.assert_array_equal(loaded.rgb_uint8()[:, :, 1], np.round(values / 257.0).astype(np.uint8))


def test_jpeg_colour_is_close(tmp_path: Path) -> None:
    rgb = _pattern_rgb()
    path = _write(tmp_path, "photo.jpg", Image.fromarray(rgb), "JPEG", quality=98)
    loaded = load_image(path)
    assert loaded.meta.format == "JPEG" and loaded.pixels.shape == (24, 32, 3)
    assert np.abs(loaded.pixels.astype(int) - rgb.astype(int)).mean() < 4
    assert loaded.meta.exif_orientation is None


def test_gif_first_frame_palette_becomes_rgb(tmp_path: Path) -> None:
    first = np.zeros((10, 12, 3), np.uint8)
    first[:, :6] = (255, 0, 0)
    first[:, 6:] = (0, 0, 255)
    second = np.full((10, 12, 3), (0, 255, 0), np.uint8)
    frames = [Image.fromarray(first).convert("P", palette=Image.Palette.ADAPTIVE, colors=4), Image.fromarray(second).convert("P")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    loaded = load_image(path)
    assert loaded.meta.format == "GIF" and loaded.pixels.shape == (10, 12, 3)
    np.testing.assert_array_equal(loaded.pixels[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(loaded.pixels[0, -1], [0, 0, 255])


def test_rgba_is_flattened_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:2, :, 3] = 255  # top half opaque red-ish, bottom half fully transparent
    path = _write(tmp_path, "alpha.png", Image.fromarray(rgba, "RGBA"), "PNG")
    pixels = load_image(path).pixels
    assert pixels.shape == (4, 4, 3)
    np.testing.assert_array_equal(pixels[0, 0], [200, 0, 0])
    np.testing.assert_array_equal(pixels[3, 3], [255, 255, 255])


def test_format_comes_from_content_not_suffix(tmp_path: Path) -> None:
    grey = _pattern_grey()
    path = _write(tmp_path, "actually_png.jpg", Image.fromarray(grey), "PNG")
    loaded = load_image(path)
    assert loaded.meta.format == "PNG"
    np.testing.assert_array_equal(loaded.pixels, grey)


def test_exif_orientation_6_rotates_upright(tmp_path: Path) -> None:
    # Stored image: 16 high x 32 wide, left half black, right half white. Orientation 6 means
    # "rotate 90 degrees clockwise to display": the displayed image is 32 high x 16 wide with
    # the (stored) left half on top, i.e. top half black and bottom half white.
    stored = np.zeros((16, 32, 3), np.uint8)
    stored[:, 16:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _write(tmp_path, "rotated.jpg", Image.fromarray(stored), "JPEG", exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert loaded.meta.exif_orientation == 6
    assert loaded.pixels.shape == (32, 16, 3)
    expected = np.rot90(stored, k=-1)  # independent: numpy's clockwise rotation
    assert expected.shape == (32, 16, 3)
    assert np.abs(loaded.pixels.astype(int) - expected.astype(int)).mean() < 8
    assert loaded.pixels[:12].mean() < 30 and loaded.pixels[20:].mean() > 225


# --- hashes, read-only, conversions ----------------------------------------------------------


def test_sha256_matches_hashlib_and_pixels_read_only(tmp_path: Path) -> None:
    path = _write(tmp_path, "c.png", Image.fromarray(_pattern_rgb()), "PNG")
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = load_image(path)
    assert loaded.sha256 == expected
    assert sha256_of_file(path) == expected
    assert loaded.path == path
    assert not loaded.pixels.flags.writeable
    with pytest.raises(ValueError):
        loaded.pixels[0, 0, 0] = 1


def test_grey_float_of_colour_is_bt601_luminance(tmp_path: Path) -> None:
    rgb = _pattern_rgb()
    loaded = load_image(_write(tmp_path, "c.png", Image.fromarray(rgb), "PNG"))
    grey = loaded.grey_float()
    assert grey.dtype == np.float32 and grey.shape == (24, 32)
    r, g, b = (rgb[0, 5].astype(float) / 255.0)
    assert grey[0, 5] == pytest.approx(0.299 * r + 0.587 * g + 0.114 * b, abs=1e-6)
    assert loaded.rgb_uint8() is loaded.pixels


def test_loaded_image_of_uint8_grey_to_rgb() -> None:
    pixels = np.array([[0, 128], [255, 7]], np.uint8)
    image = LoadedImage(pixels=pixels, sha256="0" * 64, path=None, meta=ImageMeta("PNG", 2, 2, 1, 8))
    rgb = image.rgb_uint8()
    assert rgb.shape == (2, 2, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[:, :, channel], pixels)
    np.testing.assert_allclose(image.grey_float(), pixels / 255.0, rtol=1e-6)


# --- DICOM -----------------------------------------------------------------------------------


def _write_dicom(path: Path, stored: np.ndarray, *, photometric: str = "MONOCHROME2", pixel_data: bool = True, preamble: bool = True, **tags: object) -> Path:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    for key, value in tags.items():
        setattr(ds, key, value)
    if pixel_data:
        ds.PixelData = stored.astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    if not preamble:  # strip the 128-byte preamble, "DICM" and the file meta group
        import pydicom

        raw = io.BytesIO()
        bare = pydicom.dcmread(path)
        del bare.file_meta
        bare.preamble = None
        pydicom.dcmwrite(raw, bare, implicit_vr=True, little_endian=True, enforce_file_format=False)
        path.write_bytes(raw.getvalue())
    return path


def _stored_ramp() -> np.ndarray:
    return np.arange(0, 4000, 100, dtype=np.uint16).reshape(5, 8)  # 0..3900 stored values


def test_dicom_window_rescale_and_tags(tmp_path: Path) -> None:
    stored = _stored_ramp()
    path = _write_dicom(
        tmp_path / "skull.dcm", stored, RescaleSlope=2, RescaleIntercept=-1000, WindowCenter=2000, WindowWidth=4001,
        PixelSpacing=[0.1, 0.1], Modality="DX", BodyPartExamined="SKULL",
    )
    loaded = load_image(path)
    assert loaded.meta.format == "DICOM" and loaded.pixels.dtype == np.uint16 and loaded.pixels.shape == (5, 8)
    assert loaded.meta.dicom["Modality"] == "DX"
    assert loaded.meta.dicom["BodyPartExamined"] == "SKULL"
    assert loaded.meta.dicom["PixelSpacing"].split("\\") == ["0.1", "0.1"]
    assert loaded.meta.dicom["WindowCenter"] == "2000" and loaded.meta.dicom["WindowWidth"] == "4001"
    assert loaded.meta.dicom["RescaleSlope"] == "2"
    # Independent expectation (DICOM PS3.3 C.11.2.1.2.1, LINEAR window, hand-written):
    # value v = 2 * stored - 1000; c' = c - 0.5, w' = w - 1; below c' - w'/2 -> 0, above c' + w'/2
    # -> 1, else (v - c') / w' + 0.5.
    v = stored.astype(float) * 2 - 1000
    c, w = 2000 - 0.5, 4001 - 1
    expected = np.where(v <= c - w / 2, 0.0, np.where(v > c + w / 2, 1.0, (v - c) / w + 0.5))
    np.testing.assert_allclose(loaded.pixels / 65535.0, expected, atol=1.5 / 65535)
    assert loaded.pixels.min() == 0 and loaded.pixels.max() == 65535  # window clips both ends here


def test_dicom_without_window_uses_min_max(tmp_path: Path) -> None:
    stored = _stored_ramp() + 50
    loaded = load_image(_write_dicom(tmp_path / "plain.dcm", stored))
    expected = (stored.astype(float) - stored.min()) / (stored.max() - stored.min())
    np.testing.assert_allclose(loaded.pixels / 65535.0, expected, atol=1 / 65535)
    assert loaded.meta.dicom["VOI"] == "min-max"


def test_dicom_monochrome1_is_inverted(tmp_path: Path) -> None:
    stored = _stored_ramp()
    loaded = load_image(_write_dicom(tmp_path / "mono1.dcm", stored, photometric="MONOCHROME1"))
    brightest_stored = np.unravel_index(np.argmax(stored), stored.shape)
    darkest_stored = np.unravel_index(np.argmin(stored), stored.shape)
    assert loaded.pixels[brightest_stored] == 0
    assert loaded.pixels[darkest_stored] == 65535
    expected = 1.0 - (stored.astype(float) - stored.min()) / (stored.max() - stored.min())
    np.testing.assert_allclose(loaded.pixels / 65535.0, expected, atol=1 / 65535)


def test_dicom_without_preamble_is_accepted(tmp_path: Path) -> None:
    stored = _stored_ramp()
    path = _write_dicom(tmp_path / "bare.dcm", stored, preamble=False, Modality="DX")
    assert path.read_bytes()[128:132] != b"DICM"
    loaded = load_image(path)
    assert loaded.meta.format == "DICOM" and loaded.meta.dicom["Modality"] == "DX"
    assert int(np.argmax(loaded.pixels)) == int(np.argmax(stored))


def test_dicom_without_pixel_data_is_refused(tmp_path: Path) -> None:
    path = _write_dicom(tmp_path / "nopixels.dcm", _stored_ramp(), pixel_data=False)
    with pytest.raises(InvalidImageError, match="nopixels.dcm"):
        load_image(path)


# --- refusals --------------------------------------------------------------------------------


def test_empty_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(InvalidImageError, match="empty"):
        load_image(path)


@pytest.mark.parametrize(
    "name,content",
    [
        ("notes.jpg", b"These are my case notes, not a picture.\n" * 20),
        ("doc.png", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"),
        ("noise.dcm", bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8))),
    ],
)
def test_non_images_refused(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidImageError, match=name):
        load_image(path)


@pytest.mark.parametrize("fmt,suffix", [("JPEG", ".jpg"), ("PNG", ".png")])
def test_truncated_images_refused(tmp_path: Path, fmt: str, suffix: str) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)  # incompressible
    whole = tmp_path / f"whole{suffix}"
    Image.fromarray(noise).save(whole, format=fmt)
    cut = tmp_path / f"cut{suffix}"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    load_image(whole)  # the intact file loads
    with pytest.raises(InvalidImageError, match="truncated or corrupt"):
        load_image(cut)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but holds almost no pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("width,height", [(12_000, 10_000), (60_000, 60_000)])
def test_huge_header_refused_before_decoding(tmp_path: Path, width: int, height: int) -> None:
    # 1.2e8 pixels (over our limit, under Pillow's own bomb limit) and 3.6e9 (over both),
    # claimed by a file of ~100 bytes: decoding would need gigabytes, refusal must be instant.
    assert width * height > MAX_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(width, height))
    with pytest.raises(InvalidImageError, match="bomb.png"):
        load_image(path)


def test_max_pixels_limit(tmp_path: Path) -> None:
    path = _write(tmp_path, "small.png", Image.fromarray(_pattern_grey()), "PNG")
    assert load_image(path, max_pixels=24 * 32).pixels.shape == (24, 32)
    with pytest.raises(InvalidImageError, match="more than the limit"):
        load_image(path, max_pixels=24 * 32 - 1)
    dicom = _write_dicom(tmp_path / "big.dcm", _stored_ramp())
    with pytest.raises(InvalidImageError, match="more than the limit"):
        load_image(dicom, max_pixels=39)


def test_unreadable_paths_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError, match="does not exist"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(InvalidImageError, match="folder"):
        load_image(tmp_path)
    with pytest.raises(InvalidImageError, match="does not exist"):
        sha256_of_file(tmp_path / "missing.png")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions and a non-root user")
def test_unreadable_permission_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "locked.png", Image.fromarray(_pattern_grey()), "PNG")
    path.chmod(0)
    try:
        with pytest.raises(InvalidImageError, match="permission"):
            load_image(path)
    finally:
        path.chmod(0o644)


# --- saving ----------------------------------------------------------------------------------


def test_save_png_round_trip_exact_colours(tmp_path: Path) -> None:
    rgb = _pattern_rgb()
    path = tmp_path / "out.png"
    save_image(path, rgb)
    with Image.open(path) as reread:  # read back with Pillow, independently of load_image
        assert reread.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(reread), rgb)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left behind


def test_save_float_to_uint8_and_uint16(tmp_path: Path) -> None:
    grey = np.array([[0.0, 0.25], [0.5, 1.0]], np.float32)
    save_image(tmp_path / "g8.png", grey)
    np.testing.assert_array_equal(load_image(tmp_path / "g8.png").pixels, np.round(grey * 255).astype(np.uint8))
    save_image(tmp_path / "g16.tif", grey, dtype=np.uint16)
    loaded = load_image(tmp_path / "g16.tif")
    assert loaded.pixels.dtype == np.uint16
    np.testing.assert_array_equal(loaded.pixels, np.round(grey * 65535).astype(np.uint16))


def test_save_jpeg_keeps_colour_order(tmp_path: Path) -> None:
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 250
    save_image(tmp_path / "red.jpg", red)
    with Image.open(tmp_path / "red.jpg") as reread:
        mean = np.asarray(reread.convert("RGB")).reshape(-1, 3).mean(axis=0)
    assert mean[0] > 240 and mean[1] < 10 and mean[2] < 10


def test_save_replaces_existing_file_and_refuses_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    save_image(path, np.zeros((2, 2), np.uint8))
    save_image(path, np.full((3, 3), 9, np.uint8))
    np.testing.assert_array_equal(load_image(path).pixels, np.full((3, 3), 9, np.uint8))
    with pytest.raises(InvalidImageError, match="suffix"):
        save_image(tmp_path / "x.webp", np.zeros((2, 2), np.uint8))


def test_colour_dicom_becomes_rgb_uint8(tmp_path: Path) -> None:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    rgb = _pattern_rgb(6, 5)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(tmp_path / "c.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = rgb.shape[:2]
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = rgb.tobytes()
    ds.save_as(tmp_path / "c.dcm", enforce_file_format=True)
    loaded = load_image(tmp_path / "c.dcm")
    assert loaded.meta.format == "DICOM" and loaded.pixels.dtype == np.uint8
    np.testing.assert_array_equal(loaded.pixels, rgb)


def test_dicom_voi_lut_sequence(tmp_path: Path) -> None:
    from pydicom.dataset import Dataset

    stored = _stored_ramp()
    item = Dataset()
    # 4096 entries starting at stored value 0, 12-bit output: entry i = 4095 - i (an inverting LUT)
    item.add_new(0x00283002, "US", [4096, 0, 12])  # LUT Descriptor
    item.add_new(0x00283006, "US", [4095 - i for i in range(4096)])  # LUT Data
    path = _write_dicom(tmp_path / "lut.dcm", stored, VOILUTSequence=[item])
    loaded = load_image(path)
    assert loaded.meta.dicom["VOI"] == "lut"
    expected = (4095 - stored.astype(float)) / 4095.0
    np.testing.assert_allclose(loaded.pixels / 65535.0, expected, atol=1 / 65535)


def test_save_sixteen_bit_colour_png(tmp_path: Path) -> None:
    import cv2

    rgb16 = np.zeros((3, 4, 3), np.uint16)
    rgb16[..., 0] = 60000  # red
    rgb16[0, 0] = (1, 2, 3)
    save_image(tmp_path / "c16.png", rgb16)
    reread = cv2.imread(str(tmp_path / "c16.png"), cv2.IMREAD_UNCHANGED)  # BGR, read independently
    assert reread.dtype == np.uint16
    np.testing.assert_array_equal(reread[..., ::-1], rgb16)
