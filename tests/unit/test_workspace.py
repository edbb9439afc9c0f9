from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.workspace import MARKER_NAME, WORKSPACE_FORMAT_VERSION, Workspace


def test_new_folder_becomes_a_workspace(tmp_path: Path) -> None:
    root = tmp_path / "a" / "ws"
    ws = Workspace.open(root)
    assert ws.root == root
    for folder in (ws.indexes_dir, ws.cases_dir, ws.reports_dir, ws.models_dir):
        assert folder.is_dir() and folder.parent == root
    marker = json.loads((root / MARKER_NAME).read_text())
    assert marker["version"] == WORKSPACE_FORMAT_VERSION
    with GalleryStore(ws.db_path) as store:
        store.upsert_subject("s1")
    assert ws.db_path == root / "gallery.db" and ws.db_path.is_file()
    # reopening finds the same data and leaves nothing else behind
    with GalleryStore(Workspace.open(root, create=False).db_path) as store:
        assert [s.subject_id for s in store.subjects()] == ["s1"]
    assert not list(root.glob("*.tmp"))


def test_default_workspace_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSID_WORKSPACE", str(tmp_path / "env-ws"))
    assert Workspace.open().root == tmp_path / "env-ws"


def test_empty_folder_is_adopted(tmp_path: Path) -> None:
    Workspace.open(tmp_path)
    assert (tmp_path / MARKER_NAME).is_file()


def test_folder_with_other_files_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "holiday.jpg").write_bytes(b"not ours")
    with pytest.raises(GalleryError, match="holds other files"):
        Workspace.open(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holiday.jpg"]


def test_folder_with_a_gallery_but_no_marker_is_adopted(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    GalleryStore(ws.db_path).close()
    (ws.root / MARKER_NAME).unlink()
    assert Workspace.open(ws.root).root == ws.root


def test_missing_workspace_without_create(tmp_path: Path) -> None:
    with pytest.raises(GalleryError, match="no CrossID workspace"):
        Workspace.open(tmp_path / "nothing", create=False)
    assert not (tmp_path / "nothing").exists()


def test_a_file_is_not_a_workspace(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(GalleryError, match="is a file"):
        Workspace.open(tmp_path / "f")


def test_newer_or_damaged_marker_is_refused(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    marker = ws.root / MARKER_NAME
    content = json.loads(marker.read_text())
    content["version"] = WORKSPACE_FORMAT_VERSION + 1
    marker.write_text(json.dumps(content))
    with pytest.raises(GalleryError, match="newer version"):
        Workspace.open(ws.root)
    marker.write_text("{not json")
    with pytest.raises(GalleryError, match="damaged"):
        Workspace.open(ws.root)
