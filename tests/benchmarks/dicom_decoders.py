"""Which pydicom pixel-data plugins decode the transfer syntaxes a radiology archive uses.

Three measurements, printed as Markdown tables:

1. **Coverage** of pydicom's own bundled test files (``pydicom/data/test_files``, written by
   GDCM, DCMTK, vendors and pydicom's authors): for every file that holds pixel data with
   image dimensions, each decoding plugin on its own is asked for the whole pixel array;
   a decode counts when the array has the header's shape (frames, Rows, Columns, samples)
   and, where another plugin also decoded the file, agrees with it (lossless syntaxes:
   identical; lossy ones: within 2 grey levels, the rounding freedom of an IDCT).
   ``gdcm-jpeg12`` is the project's own plugin
   (``crossid_desktop/imaging/gdcm_jpeg12.py``): GDCM on the frames of 12-bit JPEG
   Extended, which pydicom's GDCM plugin refuses. pylibjpeg's three back-ends are told apart by syntax
   (JPEG and JPEG-LS: ``pylibjpeg-libjpeg``; JPEG 2000: ``pylibjpeg-openjpeg``; RLE:
   ``pylibjpeg-rle``).
2. **Speed** on a radiograph of realistic size: a real lateral cephalogram
   (``../shared/data/xray/ceph_dev/001.png``, 1340x1671, scaled to 12 bits stored in 16)
   or, when that folder is absent, a synthetic 1340x1671 12-bit image; encoded in every
   syntax an installed encoder can write, then decoded by each plugin (median of 5 runs,
   one thread).
3. **Size and licence** of each candidate distribution as installed (from its metadata).

Run from the repository root, in an environment that holds every candidate (none is needed for the figures of the
plugins that are missing; they are reported as absent)::

    python -m venv /tmp/dicomvenv
    /tmp/dicomvenv/bin/pip install pydicom==3.0.2 numpy pillow pylibjpeg pylibjpeg-libjpeg \\
        pylibjpeg-openjpeg pylibjpeg-rle pyjpegls python-gdcm
    PYTHONPATH=$PWD /tmp/dicomvenv/bin/python tests/benchmarks/dicom_decoders.py

Of the project it imports only the 12-bit JPEG plugin (pydicom and numpy), so it runs in
such a bare environment.
"""

from __future__ import annotations

import importlib.metadata
import statistics
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom import uid
from pydicom.pixels import get_decoder, pixel_array

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
CEPHALOGRAM = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "xray" / "ceph_dev" / "001.png"
PLUGINS = ("numpy", "pydicom", "pillow", "gdcm", "gdcm-jpeg12", "pylibjpeg", "pyjpegls")
LOSSY = {uid.JPEGBaseline8Bit, uid.JPEGExtended12Bit, uid.JPEGLSNearLossless, uid.JPEG2000, uid.HTJ2K}
DISTRIBUTIONS = ("pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle", "pyjpegls", "python-gdcm", "pillow")


def backend(plugin: str, syntax: str) -> str:
    """The distribution that does the work when ``plugin`` decodes ``syntax``."""
    if plugin != "pylibjpeg":
        return {"gdcm-jpeg12": "gdcm-jpeg12", "gdcm": "python-gdcm", "pyjpegls": "pyjpegls", "pillow": "pillow"}.get(plugin, "pydicom")
    if syntax == uid.RLELossless:
        return "pylibjpeg-rle"
    if syntax in uid.JPEG2000TransferSyntaxes or syntax in (uid.HTJ2K, uid.HTJ2KLossless, uid.HTJ2KLosslessRPCL):
        return "pylibjpeg-openjpeg"
    return "pylibjpeg-libjpeg"


def _expected_shape(ds: Any) -> tuple[int, ...]:
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    shape = (int(ds.Rows), int(ds.Columns)) + ((int(ds.SamplesPerPixel),) if int(ds.get("SamplesPerPixel", 1)) > 1 else ())
    return ((frames,) if frames > 1 else ()) + shape


def _expected_size(ds: Any) -> int:
    return int(np.prod(_expected_shape(ds)))


def decode_with(plugin: str, path: Path, syntax: str) -> NDArray[Any]:
    """All frames of ``path`` decoded by ``plugin`` alone ("numpy": an uncompressed syntax)."""
    decoder = get_decoder(syntax)
    if decoder.is_native != (plugin == "numpy"):
        raise LookupError("not a plugin of this syntax")
    if plugin != "numpy" and plugin not in decoder.available_plugins:
        raise LookupError("not available")
    ds = pydicom.dcmread(path)
    return pixel_array(ds, decoding_plugin="" if plugin == "numpy" else plugin)


def image_files() -> list[tuple[Path, Any]]:
    """The bundled test files holding pixel data with image dimensions, and their headers."""
    found = []
    for path in sorted(p for p in TEST_FILES.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=False)
        except Exception:
            continue
        if "PixelData" in ds and ds.get("Rows") and ds.get("Columns") and "TransferSyntaxUID" in ds.file_meta:
            found.append((path, ds))
    return found


def coverage() -> None:
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    files_per_syntax: dict[str, int] = defaultdict(int)
    per_file = []
    for path, ds in image_files():
        syntax = ds.file_meta.TransferSyntaxUID
        files_per_syntax[syntax] += 1
        decoded: dict[str, NDArray[Any]] = {}
        for plugin in PLUGINS:
            try:
                array = decode_with(plugin, path, syntax)
            except LookupError:
                continue
            except Exception:
                rows[syntax][plugin + ":fail"] += 1
                continue
            if tuple(array.shape) == _expected_shape(ds):
                decoded[plugin] = array
        agreeing = _agreeing(decoded, lossy=syntax in LOSSY)
        for plugin in agreeing:
            rows[syntax][backend(plugin, syntax)] += 1
        per_file.append((path.relative_to(TEST_FILES), syntax.name, sorted({backend(p, syntax) for p in agreeing})))
    print("### Coverage of pydicom's bundled test files (files decoded with the header's shape / files)\n")
    names = ("pydicom", "pillow", "python-gdcm", "gdcm-jpeg12", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle", "pyjpegls")
    print("| transfer syntax | files | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for syntax, count in sorted(files_per_syntax.items(), key=lambda item: item[0].name):
        cells = [str(rows[syntax].get(name, 0)) for name in names]
        print(f"| {syntax.name} | {count} | " + " | ".join(cells) + " |")
    print("\n(pydicom: its own numpy decoder of uncompressed, deflated and big-endian data and of RLE.)\n")
    print("Files no candidate decodes:", [str(name) for name, _, who in per_file if not who] or "none")
    _coverage_of_sets(per_file)


def _agreeing(decoded: dict[str, NDArray[Any]], *, lossy: bool) -> list[str]:
    """Plugins whose arrays agree with the majority (all, when only one decoded)."""
    if len(decoded) <= 1:
        return list(decoded)
    tolerance = 2 if lossy else 0
    votes = {
        name: sum(np.abs(array.astype(np.int64) - other.astype(np.int64)).max() <= tolerance for other in decoded.values())
        for name, array in decoded.items()
    }
    best = max(votes.values())
    return [name for name, count in votes.items() if count == best]


def _coverage_of_sets(per_file: list[tuple[Path, str, list[str]]]) -> None:
    base = {"pydicom", "pillow"}
    sets = {
        "pydicom + Pillow alone": base,
        "+ pylibjpeg, -libjpeg, -openjpeg, -rle": base | {"pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle"},
        "+ pyjpegls": base | {"pyjpegls"},
        "+ python-gdcm": base | {"python-gdcm"},
        "+ python-gdcm and the 12-bit JPEG plugin": base | {"python-gdcm", "gdcm-jpeg12"},
        "+ python-gdcm, the 12-bit JPEG plugin, pylibjpeg, -openjpeg, -rle (no GPL)": base
        | {"python-gdcm", "gdcm-jpeg12", "pylibjpeg-openjpeg", "pylibjpeg-rle"},
    }
    print("\n| installed | image files decoded |\n|---|---:|")
    for label, members in sets.items():
        count = sum(bool(members & set(who)) for _, _, who in per_file)
        print(f"| {label} | {count} / {len(per_file)} |")


def radiograph() -> tuple[NDArray[np.uint16], str]:
    """A 12-bit radiograph (H, W) uint16 and where it came from."""
    if CEPHALOGRAM.is_file():
        from PIL import Image

        grey = np.asarray(Image.open(CEPHALOGRAM).convert("L")).astype(np.uint16)
        return grey * 16 + grey // 16, f"real cephalogram {CEPHALOGRAM.name}"
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:1671, 0:1340]
    smooth = 2048 + 1500 * np.sin(x / 90.0) * np.cos(y / 130.0)
    return np.clip(smooth + rng.normal(0, 40, smooth.shape), 0, 4095).astype(np.uint16), "synthetic image"


def encoded_versions(pixels: NDArray[np.uint16], folder: Path) -> dict[str, Path]:
    """The radiograph written once per syntax an installed encoder handles."""
    from pydicom.dataset import Dataset, FileMetaDataset

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = uid.DigitalXRayImageStorageForPresentation, uid.generate_uid()
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.tobytes()
    raw = folder / "raw.dcm"
    ds.save_as(raw, enforce_file_format=True)
    out = {"Explicit VR Little Endian": raw}
    jobs: list[tuple[str, Callable[[Path], None]]] = [
        ("RLE Lossless", lambda p: _pydicom_compress(raw, p, uid.RLELossless)),
        ("Deflated", lambda p: _deflate(raw, p)),
        ("JPEG-LS Lossless", lambda p: _pydicom_compress(raw, p, uid.JPEGLSLossless)),
        ("JPEG-LS Near-Lossless", lambda p: _pydicom_compress(raw, p, uid.JPEGLSNearLossless, jls_error=2)),
        ("JPEG 2000 Lossless", lambda p: _pydicom_compress(raw, p, uid.JPEG2000Lossless)),
        ("JPEG 2000", lambda p: _pydicom_compress(raw, p, uid.JPEG2000, j2k_cr=[20])),
        ("JPEG Lossless SV1", lambda p: _gdcm_compress(raw, p, "JPEGLosslessProcess14_1")),
        ("JPEG Lossless P14", lambda p: _gdcm_compress(raw, p, "JPEGLosslessProcess14")),
    ]
    for name, write in jobs:
        target = folder / (name.replace(" ", "_") + ".dcm")
        try:
            write(target)
            out[name] = target
        except Exception as error:  # an encoder that is not installed
            print(f"(no {name} version: {type(error).__name__}: {str(error).splitlines()[0][:100]})")
    return out


def _pydicom_compress(raw: Path, target: Path, syntax: str, **options: Any) -> None:
    ds = pydicom.dcmread(raw)
    ds.compress(syntax, **options)
    ds.save_as(target, enforce_file_format=True)


def _deflate(raw: Path, target: Path) -> None:
    ds = pydicom.dcmread(raw)
    ds.file_meta.TransferSyntaxUID = uid.DeflatedExplicitVRLittleEndian
    ds.save_as(target, enforce_file_format=True)


def _gdcm_compress(raw: Path, target: Path, syntax: str) -> None:
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(raw))
    if not reader.Read():
        raise ValueError("GDCM cannot read the raw file")
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(getattr(gdcm.TransferSyntax, syntax)))
    change.SetInput(reader.GetImage())
    if not change.Change():
        raise ValueError("GDCM could not encode")
    writer = gdcm.ImageWriter()
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    writer.SetFileName(str(target))
    if not writer.Write():
        raise ValueError("GDCM could not write")


def speed() -> None:
    pixels, source = radiograph()
    print(f"\n### Decoding time of one {pixels.shape[1]}x{pixels.shape[0]} 12-bit radiograph ({source}), ms, median of 5\n")
    names = ("pydicom", "pillow", "gdcm", "gdcm-jpeg12", "pylibjpeg", "pyjpegls")
    print("| syntax | file KiB | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    with tempfile.TemporaryDirectory() as folder:
        for name, path in encoded_versions(pixels, Path(folder)).items():
            syntax = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
            cells = []
            for plugin in names:
                plugin_or_native = "numpy" if plugin == "pydicom" and get_decoder(syntax).is_native else plugin
                cells.append(_timed(plugin_or_native, path, syntax, pixels))
            print(f"| {name} | {path.stat().st_size // 1024} | " + " | ".join(cells) + " |")


def _timed(plugin: str, path: Path, syntax: str, truth: NDArray[np.uint16]) -> str:
    try:
        array = decode_with(plugin, path, syntax)
    except LookupError:
        return "-"
    except Exception:
        return "fails"
    error = int(np.abs(array.astype(np.int64) - truth).max())
    times = []
    for _ in range(5):
        start = time.perf_counter()
        decode_with(plugin, path, syntax)
        times.append((time.perf_counter() - start) * 1000.0)
    return f"{statistics.median(times):.0f}" + ("" if error == 0 else f" (max err {error})")


def sizes() -> None:
    print("\n### Installed size and licence\n\n| distribution | version | installed MiB | licence |\n|---|---|---:|---|")
    for name in DISTRIBUTIONS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            print(f"| {name} | not installed | | |")
            continue
        total = sum((Path(dist.locate_file(f)).stat().st_size for f in dist.files or [] if Path(dist.locate_file(f)).is_file()))
        meta = dist.metadata
        licence = meta.get("License-Expression") or next(
            (c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")), meta.get("License", "?")
        )
        print(f"| {name} | {dist.version} | {total / 2**20:.1f} | {licence} |")


def main() -> None:
    warnings.simplefilter("ignore")
    try:
        get_decoder(uid.JPEGExtended12Bit).add_plugin("gdcm-jpeg12", ("crossid_desktop.imaging.gdcm_jpeg12", "_decode_frame"))
    except ModuleNotFoundError:
        print("(run from the repository root with PYTHONPATH=$PWD to measure the 12-bit JPEG plugin)")
    print(f"pydicom {pydicom.__version__}, numpy {np.__version__}, test files in {TEST_FILES}\n")
    coverage()
    speed()
    sizes()


if __name__ == "__main__":
    main()
