"""Tests for crossid_desktop.datasets and ``crossid dataset info``: folders built in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crossid_desktop.cli import main
from crossid_desktop.datasets.gallery_sources import GalleryEntry, read_gallery_source
from crossid_desktop.datasets.injured_faces import read_injured_faces
from crossid_desktop.datasets.skull_faces import read_skull_faces
from crossid_desktop.datasets.splits import subject_split
from crossid_desktop.datasets.summary import detect_layout, summarize
from crossid_desktop.errors import DatasetError
from crossid_desktop.imaging.formats import IMAGE_SUFFIXES


def _png(path: Path, value: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4), value, np.uint8)).save(path, format="PNG")
    return path


def _s2f_root(tmp_path: Path) -> Path:
    root = tmp_path / "s2f"
    for sid in ("s02", "s01"):
        for name in ("xray_front.png", "xray_side.png", "face_front.png", "face_side.png"):
            _png(root / sid / name)
    _png(root / "s01" / "xray_front_clean.png")
    _png(root / "s01" / "face_front_10.png")
    _png(root / "s01" / "face_front_2.png")
    (root / "s01" / "notes.txt").write_text("not an image")
    (root / "s01" / ".hidden.png").write_bytes(b"")
    (root / "subjects.csv").write_text("subject_id,name,sex,age\ns01,Ann Example,F,34\ns02,,M,51\n")
    return root


def _if_root(tmp_path: Path) -> Path:
    root = tmp_path / "if"
    for sid in ("p1", "p2"):
        _png(root / sid / "normal" / "a.png")
        _png(root / sid / "injured" / "bruise_1.png")
        _png(root / sid / "injured" / "laceration_1.png")
    return root


# --- S2F -------------------------------------------------------------------------------------


def test_read_s2f_roles_order_and_metadata(tmp_path: Path) -> None:
    root = _s2f_root(tmp_path)
    dataset = read_skull_faces(root)
    assert dataset.root == root and dataset.problems == ()
    assert [s.subject_id for s in dataset.subjects] == ["s01", "s02"]
    s01, s02 = dataset.subjects
    assert s01.name == "Ann Example" and dict(s01.metadata) == {"sex": "F", "age": "34"}
    assert s02.name == "s02"  # empty name falls back to the id
    assert s01.xray_front == root / "s01" / "xray_front.png"
    assert s01.xray_front_clean == root / "s01" / "xray_front_clean.png"
    assert s01.xray_side_clean is None and s02.xray_front_clean is None
    assert [p.name for p in s01.faces["front"]] == ["face_front.png", "face_front_2.png", "face_front_10.png"]
    assert [p.name for p in s01.faces["side"]] == ["face_side.png"]


def test_s2f_subject_without_xray_or_face(tmp_path: Path) -> None:
    root = _s2f_root(tmp_path)
    _png(root / "s03" / "face_front.png")  # no X-ray
    _png(root / "s04" / "xray_side.png")  # no face
    with pytest.raises(DatasetError, match="s03"):
        read_skull_faces(root)
    lenient = read_skull_faces(root, strict=False)
    assert [s.subject_id for s in lenient.subjects] == ["s01", "s02"]
    assert len(lenient.problems) == 2
    assert "s03" in lenient.problems[0] and "X-ray" in lenient.problems[0]
    assert "s04" in lenient.problems[1] and "face" in lenient.problems[1]


def test_empty_and_missing_roots(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no subject folders"):
        read_skull_faces(empty)
    assert read_injured_faces(empty, strict=False).problems != ()
    for reader in (read_skull_faces, read_injured_faces):
        with pytest.raises(DatasetError, match="does not exist"):
            reader(tmp_path / "nowhere", strict=False)
    with pytest.raises(DatasetError, match="does not exist"):
        read_gallery_source(tmp_path / "nowhere")


# --- IF --------------------------------------------------------------------------------------


def test_read_if_and_missing_injured(tmp_path: Path) -> None:
    root = _if_root(tmp_path)
    dataset = read_injured_faces(root)
    assert [s.subject_id for s in dataset.subjects] == ["p1", "p2"]
    assert [p.name for p in dataset.subjects[0].injured] == ["bruise_1.png", "laceration_1.png"]
    assert dataset.subjects[1].normal == (root / "p2" / "normal" / "a.png",)
    _png(root / "p3" / "normal" / "a.png")
    with pytest.raises(DatasetError, match="p3.*injured"):
        read_injured_faces(root)
    lenient = read_injured_faces(root, strict=False)
    assert [s.subject_id for s in lenient.subjects] == ["p1", "p2"] and len(lenient.problems) == 1


# --- gallery sources -------------------------------------------------------------------------


def test_gallery_folder(tmp_path: Path) -> None:
    root = tmp_path / "gallery"
    _png(root / "bob" / "bob_front.png")
    _png(root / "bob" / "bob_profile.png")
    _png(root / "alice" / "IMG_0001.png")
    (root / "alice" / "readme.txt").write_text("x")
    entries = read_gallery_source(root)
    assert entries == [
        GalleryEntry(root / "alice" / "IMG_0001.png", "alice", "alice", "unknown"),
        GalleryEntry(root / "bob" / "bob_front.png", "bob", "bob", "front"),
        GalleryEntry(root / "bob" / "bob_profile.png", "bob", "bob", "side"),
    ]
    (root / "carol").mkdir()
    with pytest.raises(DatasetError, match="carol"):
        read_gallery_source(root)


def test_gallery_manifest_relative_paths(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    _png(photos / "1.png")
    _png(photos / "2.png")
    lists = tmp_path / "lists"
    lists.mkdir()
    manifest = lists / "gallery.csv"
    manifest.write_text(f"path,subject_id,name,view\n../photos/1.png,m1,Max Mustermann,front\n{photos / '2.png'},m2,,Profile\n")
    entries = read_gallery_source(manifest)
    assert entries == [
        GalleryEntry(photos / "1.png", "m1", "Max Mustermann", "front"),
        GalleryEntry(photos / "2.png", "m2", "m2", "side"),
    ]
    assert detect_layout(manifest) == "gallery"


def test_flat_folder_with_manifest(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    _png(root / "x.png")
    (root / "list.csv").write_text("path,subject_id\nx.png,s9\n")
    assert read_gallery_source(root) == [GalleryEntry(root / "x.png", "s9", "s9", "unknown")]


@pytest.mark.parametrize(
    "content,match",
    [
        ("file,subject_id\na.png,s1\n", "lacks the column"),
        ("path,name\na.png,Ann\n", "subject_id"),
        ("path,subject_id\nmissing.png,s1\n", "does not exist"),
        ("path,subject_id,view\na.png,s1,upside\n", "view"),
    ],
)
def test_bad_manifests(tmp_path: Path, content: str, match: str) -> None:
    _png(tmp_path / "a.png")
    manifest = tmp_path / "m.csv"
    manifest.write_text(content)
    with pytest.raises(DatasetError, match=match):
        read_gallery_source(manifest)


# --- layout, split, summary ------------------------------------------------------------------


def test_detect_layout(tmp_path: Path) -> None:
    assert detect_layout(_s2f_root(tmp_path)) == "s2f"
    assert detect_layout(_if_root(tmp_path)) == "if"
    _png(tmp_path / "gal" / "a" / "face_front.png")
    assert detect_layout(tmp_path / "gal") == "gallery"
    with pytest.raises(DatasetError):
        detect_layout(tmp_path / "missing")


def test_image_suffixes() -> None:
    assert {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".pgm", ".gif", ".dcm", ".dicom"} == set(IMAGE_SUFFIXES)


def test_subject_split_disjoint_deterministic_and_seeded() -> None:
    ids = [f"s{i:02d}" for i in range(20)]
    train, test = subject_split(ids, test_fraction=0.3, seed=0)
    assert set(train).isdisjoint(test) and set(train) | set(test) == set(ids)
    assert len(test) == 6
    assert subject_split(list(reversed(ids)), test_fraction=0.3, seed=0) == (train, test)  # order-free
    assert subject_split(ids, test_fraction=0.3, seed=0) == (train, test)
    assert subject_split(ids, test_fraction=0.3, seed=1)[1] != test
    assert len({tuple(subject_split(ids, seed=seed)[1]) for seed in range(10)}) >= 9
    assert subject_split(["a", "b"], test_fraction=0.01) in ((["a"], ["b"]), (["b"], ["a"]))
    assert subject_split(["a", "b"], test_fraction=0.99) in ((["a"], ["b"]), (["b"], ["a"]))
    assert subject_split(["a", "a", "b"])[0] + subject_split(["a", "a", "b"])[1] in (["a", "b"], ["b", "a"])
    assert subject_split(["only"]) == (["only"], [])
    with pytest.raises(ValueError):
        subject_split(ids, test_fraction=1.0)


def test_summarize_counts_and_check(tmp_path: Path) -> None:
    root = _s2f_root(tmp_path)
    summary = summarize(root)
    assert summary.layout == "s2f" and summary.n_subjects == 2 and summary.problems == ()
    assert dict(summary.images_per_role) == {
        "xray_front": 2, "xray_side": 2, "xray_front_clean": 1, "xray_side_clean": 0, "face_front": 4, "face_side": 2,
    }
    (root / "s02" / "face_side.png").write_bytes(b"broken")
    calls: list[tuple[int, int]] = []
    checked = summarize(root, check_readable=True, progress=lambda d, t, m="": calls.append((d, t)))
    assert len(checked.problems) == 1 and "face_side.png" in checked.problems[0]
    assert calls[-1] == (11, 11)


def test_summarize_cancel(tmp_path: Path) -> None:
    import threading

    from crossid_desktop.errors import Cancelled

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        summarize(_if_root(tmp_path), check_readable=True, cancel=cancel)


# --- CLI -------------------------------------------------------------------------------------


def test_cli_dataset_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _if_root(tmp_path)
    assert main(["dataset", "info", str(root)]) == 0
    out = capsys.readouterr().out
    assert "injured face" in out and "subjects  2" in out and "no problems found" in out
    assert main(["dataset", "info", str(root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layout"] == "if" and data["images_per_role"] == {"normal": 2, "injured": 4} and data["problems"] == []


def test_cli_dataset_info_problems_and_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _if_root(tmp_path)
    _png(root / "p3" / "injured" / "x.png")
    (root / "p1" / "normal" / "a.png").write_bytes(b"")
    assert main(["dataset", "info", str(root), "--check"]) == 1
    out = capsys.readouterr().out
    assert "p3" in out and "a.png" in out and "problems (2)" in out
    assert main(["dataset", "info", str(tmp_path / "absent")]) != 0
    captured = capsys.readouterr()
    assert "does not exist" in captured.err and "Traceback" not in captured.err
