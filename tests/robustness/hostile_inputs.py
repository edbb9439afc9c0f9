"""A generated corpus of hostile input for the ``crossid`` command: broken and truncated images,
decompression bombs, DICOM oddities (written with pydicom), manifests in odd encodings or with
hostile content, huge and control-character text, query sets that must not be combined.

Each :class:`Hostile` is one command line and what must come of it: a refusal in one sentence
(``refused``: the pattern its message must match) or a correct result (``check`` on the
output). Every file is made here, small, from a seed: nothing is downloaded or copied in.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from builders import skull_like, write_dicom, write_photo


@dataclass(frozen=True)
class Hostile:
    """One hostile input: ``argv`` after ``--workspace W``; ``refused`` a regular expression the
    one-sentence error must match (None: the command must succeed and ``check(stdout)`` hold);
    ``adds`` photos the gallery gains."""

    id: str
    argv: tuple[str, ...]
    refused: str | None = None
    check: Callable[[str], None] | None = None
    adds: int = 0
    exit_code: int | None = None  # a reported partial failure (enrolment) instead of 0 or 2


# ---------------------------------------------------------------------------- raw files


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` grey pixels, with a few bytes of data:
    a decompression bomb's header without its payload."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _chunk(b"IEND", b"")


def gif_declaring(width: int, height: int) -> bytes:
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + image + b"\x3b"


def tiff_declaring(width: int, height: int) -> bytes:
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 16)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", tag, kind, count, value) for tag, kind, count, value in entries) + b"\x00\x00\x00\x00"
    return b"II*\x00" + struct.pack("<I", 8 + 16) + b"\x00" * 16 + ifd


def jpeg_declaring(width: int, height: int, small_jpeg: bytes) -> bytes:
    """A real small JPEG with its frame header (SOF0) patched to declare another size."""
    at = small_jpeg.index(b"\xff\xc0")
    return small_jpeg[: at + 5] + struct.pack(">HH", height, width) + small_jpeg[at + 9:]


def _grey(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), pixels)
    return path


# ---------------------------------------------------------------------------- checks of results


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def search_result(*queries: Path, views: tuple[str, ...] = (), warned: str | None = None) -> Callable[[str], None]:
    """The JSON of a search: the queries as given (SHA-256 of the files), every enrolled person
    ranked at most once, ranks 1..n, distances ascending, confidences exp(-d²)."""

    def check(out: str) -> None:
        data = json.loads(out)
        assert [q["sha256"] for q in data["queries"]] == [sha256(q) for q in queries]
        if views:
            assert [q["modality"] for q in data["queries"]] == list(views)
        candidates = data["candidates"]
        assert candidates and [c["rank"] for c in candidates] == list(range(1, len(candidates) + 1))
        assert len({c["subject_id"] for c in candidates}) == len(candidates)
        distances = [c["distance"] for c in candidates]
        assert distances == sorted(distances)
        assert all(abs(c["confidence"] - np.exp(-c["distance"] ** 2)) < 1e-6 for c in candidates)
        assert isinstance(data["warnings"], list)
        if warned:
            assert any(warned in w for w in data["warnings"]), data["warnings"]

    return check


def prints(*needles: str, absent: tuple[str, ...] = ()) -> Callable[[str], None]:
    def check(out: str) -> None:
        for needle in needles:
            assert needle in out, (needle, out[-2000:])
        for needle in absent:
            assert needle not in out, needle

    return check


# ---------------------------------------------------------------------------- the corpus


def image_corpus(root: Path, s2f: Path, people: tuple[str, ...]) -> list[Hostile]:
    """Query images: broken, truncated, bombs, too small, structureless, and sets that must
    not be combined; and the valid queries next to them, which must give a correct result."""
    root.mkdir(parents=True, exist_ok=True)
    front, side = s2f / people[0] / "xray_front.png", s2f / people[0] / "xray_side.png"
    photo = root / "photo.png"
    write_photo(photo, seed=77)
    good_png = photo.read_bytes()
    good_jpeg = cv2.imencode(".jpg", cv2.imread(str(photo)))[1].tobytes()
    files = {
        "empty.png": b"", "text.png": b"this is not an image\n", "truncated.png": good_png[: len(good_png) // 2],
        "truncated.jpg": good_jpeg[: len(good_jpeg) // 2], "random.jpg": np.random.default_rng(5).integers(0, 256, 4000, dtype=np.uint8).tobytes(),
        "garbage_after_header.png": good_png[:33] + b"\x00" * 100, "bomb.png": png_declaring(100_000, 100_000),
        "bomb.gif": gif_declaring(65_535, 65_535), "bomb.tif": tiff_declaring(60_000, 60_000), "bomb.jpg": jpeg_declaring(65_500, 65_500, good_jpeg),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    (root / "folder.png").mkdir(exist_ok=True)
    _grey(root / "one.png", np.zeros((1, 1), np.uint8))
    _grey(root / "flat.png", np.full((200, 200), 128, np.uint8))
    _grey(root / "gradient.png", np.tile(np.linspace(0, 255, 200).astype(np.uint8), (200, 1)))
    _grey(root / "radial.png", (255 * np.clip(np.hypot(*np.mgrid[-1:1:200j, -1:1:200j]), 0, 1)).astype(np.uint8))
    _grey(root / "xray16.tif", (skull_like(160, 160).astype(np.uint32) * 16).astype(np.uint16))
    shutil.copyfile(front, root / "front_copy.png")
    hostile_name = root / "evil\x1b[31m\u202ename.png"
    shutil.copyfile(photo, hostile_name)
    frames = np.stack([cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)] * 3)
    from PIL import Image

    Image.fromarray(frames[0]).save(root / "animated.gif", save_all=True, append_images=[Image.fromarray(f) for f in frames[1:]], duration=50, loop=0)
    refused = {
        "empty file": ("empty.png", "is empty"), "text as png": ("text.png", r"text\.png"), "truncated png": ("truncated.png", r"truncated\.png"),
        "truncated jpeg": ("truncated.jpg", r"truncated\.jpg"), "random bytes": ("random.jpg", r"random\.jpg"),
        "garbage image data": ("garbage_after_header.png", r"garbage_after_header\.png"), "folder": ("folder.png", "folder"),
        "missing file": ("missing.png", "does not exist"), "png bomb": ("bomb.png", "decompression bomb|more pixels"), "gif bomb": ("bomb.gif", r"bomb\.gif"),
        "tiff bomb": ("bomb.tif", r"bomb\.tif"), "jpeg bomb": ("bomb.jpg", r"bomb\.jpg"),
    }
    corpus = [Hostile(f"image: {what}", ("search", str(root / name), "--modality", "injured"), refused=pattern) for what, (name, pattern) in refused.items()]
    corpus += [
        Hostile("query: 1x1 as an X-ray", ("search", str(root / "one.png"), "--modality", "xray"), refused=r"only 1x1 pixels"),
        Hostile("query: 1x1 as a face", ("search", str(root / "one.png"), "--modality", "injured"), refused=r"only 1x1 pixels"),
        Hostile("query: flat X-ray", ("search", str(root / "flat.png"), "--modality", "xray-front"), refused="almost uniform"),
        Hostile("query: gradient X-ray", ("search", str(root / "gradient.png"), "--modality", "xray-side"), refused="no edges or structure"),
        Hostile("query: radial gradient X-ray", ("search", str(root / "radial.png"), "--modality", "xray"), refused="no edges or structure"),
        Hostile("query: same X-ray twice", ("search", str(front), str(root / "front_copy.png")), refused="same image"),
        Hostile("query: three X-rays", ("search", str(front), str(side), str(s2f / people[1] / "xray_side.png"), "--modality", "xray"), refused="one frontal and one lateral"),
        Hostile("query: two laterals of two people", ("search", str(side), str(s2f / people[1] / "xray_side.png")), refused="2 lateral X-rays"),
        Hostile("query: X-ray and photo mixed", ("search", str(front), str(photo)), refused="cannot be searched together"),
        Hostile("query: views miscounted", ("search", str(front), str(side), "--modality", "xray-front", "--modality", "xray-side", "--modality", "xray-side"), refused="given 3 times"),
        Hostile("result: a frontal and a lateral X-ray", ("search", str(side), str(front), "--json"), check=search_result(side, front, views=("xray_side", "xray_front"), warned="was guessed")),
        Hostile("result: views stated", ("search", str(front), str(side), "--modality", "xray-front", "--modality", "xray-side", "--json"), check=search_result(front, side)),
        Hostile("result: 16-bit TIFF X-ray", ("search", str(root / "xray16.tif"), "--modality", "xray-front", "--json"), check=search_result(root / "xray16.tif")),
        Hostile("result: animated GIF photo", ("search", str(root / "animated.gif"), "--modality", "injured", "--json"), check=search_result(root / "animated.gif")),
        Hostile("result: control characters in a file name", ("search", str(hostile_name), "--modality", "injured"), check=prints("evil\\x1b[31m", "rank", absent=("\x1b", "\u202e"))),
    ]
    return corpus


def dicom_corpus(root: Path) -> list[Hostile]:
    """DICOM oddities, each made with pydicom: no pixels, empty or 1x1 images, pixel data too
    short or far too large for its header, a file cut short, junk after the magic word, an
    unknown transfer syntax, a frame that is not there; and a valid inverted (MONOCHROME1) one."""
    root.mkdir(parents=True, exist_ok=True)
    skull = skull_like(128, 128)
    write_dicom(root / "no_pixels.dcm")
    write_dicom(root / "one_pixel.dcm", np.full((1, 1), 2000, np.uint16))
    write_dicom(root / "valid_inverted.dcm", 4095 - skull, PhotometricInterpretation="MONOCHROME1", ViewPosition="PA")
    write_dicom(root / "three_frames.dcm", np.stack([skull] * 3), ViewPosition="PA")
    valid = write_dicom(root / "valid.dcm", skull, ViewPosition="LL").read_bytes()
    (root / "cut_short.dcm").write_bytes(valid[: len(valid) - 5000])
    (root / "junk_after_magic.dcm").write_bytes(b"\x00" * 128 + b"DICM" + np.random.default_rng(3).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    _edit_dicom(root / "valid.dcm", root / "zero_rows.dcm", Rows=0)
    _edit_dicom(root / "valid.dcm", root / "huge_header.dcm", Rows=40_000, Columns=40_000)
    _edit_dicom(root / "valid.dcm", root / "short_pixels.dcm", PixelData=skull[:60].astype("<u2").tobytes())
    _edit_dicom(root / "valid.dcm", root / "unknown_syntax.dcm", syntax="1.2.3.4.5.6.7.8.9")
    _edit_dicom(root / "valid.dcm", root / "rgb_one_sample.dcm", PhotometricInterpretation="RGB")
    refused = {
        "no pixel data": "no_pixels.dcm", "1x1": "one_pixel.dcm", "cut short": "cut_short.dcm", "junk after DICM": "junk_after_magic.dcm",
        "zero rows": "zero_rows.dcm", "header far larger than its data": "huge_header.dcm", "pixel data too short": "short_pixels.dcm",
        "unknown transfer syntax": "unknown_syntax.dcm", "RGB with one sample": "rgb_one_sample.dcm",
    }
    corpus = [Hostile(f"dicom: {what}", ("search", str(root / name), "--modality", "xray"), refused=name.replace(".", r"\.") + "|" + "1x1") for what, name in refused.items()]
    corpus += [
        Hostile("dicom: a frame that is not there", ("search", str(root / "three_frames.dcm"), "--frame", "9"), refused="frame"),
        Hostile("result: DICOM MONOCHROME1, view from its header", ("search", str(root / "valid_inverted.dcm"), "--json"),
                check=search_result(root / "valid_inverted.dcm", views=("xray_front",))),
        Hostile("result: DICOM third frame", ("search", str(root / "three_frames.dcm"), "--frame", "3", "--json"), check=search_result(root / "three_frames.dcm")),
    ]
    return corpus


def _edit_dicom(source: Path, target: Path, *, syntax: str | None = None, **tags: object) -> None:
    import pydicom

    ds = pydicom.dcmread(source)
    for key, value in tags.items():
        setattr(ds, key, value)
    if syntax is not None:
        ds.file_meta.TransferSyntaxUID = syntax
    ds.save_as(target, enforce_file_format=False)


def manifest_corpus(root: Path, s2f: Path, people: tuple[str, ...]) -> list[Hostile]:
    """Gallery manifests in odd encodings or with hostile content, and a gallery folder with
    broken files next to a good one."""
    root.mkdir(parents=True, exist_ok=True)
    photos = [root / f"new_{n}.png" for n in range(10)]
    for n, path in enumerate(photos):
        write_photo(path, seed=300 + n)
    header = "path,subject_id,name,view\n"
    long_name = ("Maximiliana " * 900)[:10_000]
    (root / "latin1.csv").write_bytes((header + f"{photos[0]},L1,Dvořák Zoë,front\n").encode("latin-1", "replace").replace(b"?", b"\xe9"))
    (root / "utf16.csv").write_bytes((header + f"{photos[0]},U1,Ann,front\n").encode("utf-16"))
    (root / "bom_crlf.csv").write_bytes(("\ufeff" + header + f"{photos[1]},B1,Łukasz,front\n").replace("\n", "\r\n").encode("utf-8"))
    (root / "no_subject_column.csv").write_text(f"path,name\n{photos[2]},X\n", encoding="utf-8")
    (root / "header_only.csv").write_text(header, encoding="utf-8")
    (root / "traversal.csv").write_text(header + "../../../../../../etc/passwd,T1,T,front\n/nonexistent/x.png,T2,T,front\n", encoding="utf-8")
    (root / "nul.csv").write_bytes((header + f"{photos[6]},N1,A\x00B,front\n").encode("utf-8"))
    (root / "unbalanced.csv").write_text(header + f'"{photos[2]},Q1,"Q,front\n', encoding="utf-8")
    (root / "bad_subject_ids.csv").write_text(header + f"{photos[7]},\"tab\there\",A,front\n{photos[8]},\"new\nline\",A,front\n", encoding="utf-8")
    with open(root / "hostile_names.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "subject_id", "name", "view"])
        writer.writerow([photos[3], "H1", '=HYPERLINK("http://example.invalid","x")', "front"])
        writer.writerow([photos[4], "H2", long_name, "front"])
        writer.writerow([photos[5], "H3", "Red\x1b[31m name\u202e reversed \U0001F468\u200d\U0001F469\u200d\U0001F467", "front"])
    (root / "renamed.csv").write_text(header + f"{photos[9]},H1,Another Name,front\n", encoding="utf-8")
    folder = root / "folder" / "F1"
    folder.mkdir(parents=True, exist_ok=True)
    write_photo(folder / "good.png", seed=400)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (folder / "bomb.png").write_bytes(png_declaring(50_000, 50_000))
    (folder / "empty.png").write_bytes(b"")
    return [
        Hostile("manifest: Latin-1", ("enroll", str(root / "latin1.csv"), "--centre-crop"), refused="not UTF-8"),
        Hostile("manifest: UTF-16", ("enroll", str(root / "utf16.csv"), "--centre-crop"), refused="not UTF-8"),
        Hostile("manifest: no subject_id column", ("enroll", str(root / "no_subject_column.csv"), "--centre-crop"), refused="subject_id"),
        Hostile("manifest: header only", ("enroll", str(root / "header_only.csv"), "--centre-crop"), refused="no usable photo"),
        Hostile("manifest: path traversal and absolute paths", ("enroll", str(root / "traversal.csv"), "--centre-crop"), refused="passwd|does not exist"),
        Hostile("result: NUL in a name (kept, shown escaped)", ("enroll", str(root / "nul.csv"), "--centre-crop"), check=prints("added 1 photos"), adds=1),
        Hostile("manifest: unbalanced quote", ("enroll", str(root / "unbalanced.csv"), "--centre-crop"), refused="does not exist|no usable|cannot be read"),
        Hostile("manifest: subject ids with a tab and a newline", ("enroll", str(root / "bad_subject_ids.csv"), "--centre-crop"), refused="subject id", exit_code=1),
        Hostile("result: UTF-8 with BOM and CRLF", ("enroll", str(root / "bom_crlf.csv"), "--centre-crop"), check=prints("added 1 photos"), adds=1),
        Hostile("result: formula, 10,000-character and control-character names", ("enroll", str(root / "hostile_names.csv"), "--centre-crop"), check=prints("added 3 photos"), adds=3),
        Hostile("result: names shown with controls escaped", ("gallery", "list"), check=prints("=HYPERLINK", "Red\\x1b[31m name", "A\\x00B", absent=("\x1b", "\u202e", "\x00"))),
        Hostile("manifest: a subject enrolled under another name", ("enroll", str(root / "renamed.csv"), "--centre-crop"), refused="--rename|another name|enrolled", exit_code=1),
        Hostile("result: gallery folder with broken files", ("enroll", str(folder.parent), "--centre-crop"), check=prints("added 1 photos", "3 failed", "broken.jpg", "bomb.png", "empty.png"), adds=1),
    ]


def text_corpus(photo: Path, reports: Path) -> list[Hostile]:
    """Case text too long, with NUL, control characters or bad case numbers; a long note and
    a name of 10,000 characters in a report that must still be written."""
    prose = " ".join(f"word{n % 89}" for n in range(4_000))
    return [
        Hostile("case: title over 500 characters", ("case", "new", "--number", "T-1", "--title", "T" * 600), refused="at most 500"),
        Hostile("case: number with a newline", ("case", "new", "--number", "bad\nnumber"), refused="not valid"),
        Hostile("case: number with a slash path", ("case", "new", "--number", "../../etc"), refused="not valid"),
        Hostile("result: a case", ("case", "new", "--number", "HOSTILE-1", "--title", "Hostile \x1b[2J title \u202e"), check=prints("HOSTILE-1")),
        Hostile("case: notes over 100,000 characters", ("case", "note", "HOSTILE-1", "n" * 100_001), refused="at most 100000"),
        Hostile("case: notes with NUL", ("case", "note", "HOSTILE-1", "a\x00b"), refused="NUL"),
        Hostile("result: notes of 21,000 characters with controls", ("case", "note", "HOSTILE-1", prose[:21_000] + " \x1b[31m\x07 end"), check=prints("notes saved")),
        Hostile("case: mark of a subject never a candidate", ("case", "mark", "HOSTILE-1", "NOBODY", "of_interest"), refused="not among the candidates"),
        Hostile("result: search recorded in the case", ("search", str(photo), "--modality", "injured", "--top-k", "20", "--case", "HOSTILE-1"), check=prints("search recorded")),
        Hostile("result: mark with a 5,000-character note without a space", ("case", "mark", "HOSTILE-1", "H2", "of_interest", "--note", "W" * 5_000), check=prints("marked")),
        Hostile("result: case shown with controls escaped", ("case", "show", "HOSTILE-1"), check=prints("\\x1b[2J", "intact", absent=("\x1b", "\x07"))),
        Hostile("result: the report of that case", ("report", "HOSTILE-1", "-o", str(reports / "hostile.pdf")), check=prints("report written")),
        Hostile("case: verify a case that does not exist", ("case", "verify", "NO-SUCH-CASE"), refused="no case"),
    ]
