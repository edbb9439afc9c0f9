"""Where the gallery index lives: the workspace setting, its forms and its refusals, and a
gallery searched through the service on each backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gallery_vectors import FP, enrol_vectors

from crossid_desktop.cli import main
from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery.backends import index_location, open_index, parse_location, set_index_location
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.search.service import SearchService
from crossid_desktop.workspace import Workspace


def test_locations_the_setting_accepts(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "ws")
    assert index_location(workspace).backend == "hnswlib" and index_location(workspace).uri == str(workspace.indexes_dir)
    server = parse_location("milvus://gallery.agency.example:19531", workspace)
    assert (server.backend, server.uri, server.shared) == ("milvus", "http://gallery.agency.example:19531", True)
    assert parse_location("milvus://10.0.0.5", workspace).uri == "http://10.0.0.5:19530"
    assert parse_location("milvus+https://host:443", workspace).uri == "https://host:443"
    lite = parse_location("vectors/gallery.db", workspace)
    assert (lite.backend, lite.uri, lite.shared) == ("milvus", str(workspace.root / "vectors" / "gallery.db"), False)
    assert parse_location("file:///srv/lite.db", workspace).uri == "/srv/lite.db"
    for bad in ("milvus://", "milvus://host:1/db", "redis://host", "file:///srv/lite.sqlite", "gallery"):
        with pytest.raises(GalleryError):
            parse_location(bad, workspace)


def test_setting_round_trip_and_a_bad_one_is_not_written(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "ws")
    set_index_location(workspace, "milvus://host:19530")
    assert index_location(workspace).uri == "http://host:19530"
    with pytest.raises(GalleryError):
        set_index_location(workspace, "nonsense")
    assert index_location(workspace).uri == "http://host:19530"
    set_index_location(workspace, "hnswlib")
    assert index_location(workspace).backend == "hnswlib" and "gallery_index" not in workspace.settings()


def test_cli_backend_shows_and_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = str(tmp_path / "ws")
    assert main(["--workspace", ws, "gallery", "backend"]) == 0
    assert "hnswlib" in capsys.readouterr().out
    assert main(["--workspace", ws, "gallery", "backend", "lite.db"]) == 0
    out = capsys.readouterr().out
    assert "Milvus Lite file" in out and str(tmp_path / "ws" / "lite.db") in out
    assert main(["--workspace", ws, "gallery", "backend", "ftp://x"]) != 0


@pytest.mark.parametrize("setting", ["hnswlib", "lite.db"])
def test_the_service_ranks_the_same_on_each_backend(tmp_path: Path, setting: str) -> None:
    if setting.endswith(".db"):
        pytest.importorskip("milvus_lite")
    workspace = Workspace.open(tmp_path / "ws")
    set_index_location(workspace, setting)
    rng = np.random.default_rng(6)
    vectors = rng.standard_normal((400, 16)).astype(np.float32)
    with GalleryStore(workspace.db_path) as store:
        store.register_matcher(FP, name="matcher", card={})
        store.upsert_subject("s")
        ids = enrol_vectors(store, vectors)
        index = open_index(workspace, store, FP)
        assert index.backend == ("milvus" if setting.endswith(".db") else "hnswlib")
        index.close()
    query = vectors[17] + 0.01
    with SearchService(workspace) as service:
        ranked = service.rank_vectors(FP, query[None], top_k=5, rank_by="image")
        exact = service.rank_vectors(FP, query[None], top_k=5, rank_by="image", exact=True)
    want = np.argsort(np.linalg.norm(vectors - query, axis=1))[:5]
    assert [c.image_id for c in exact] == ids[want].tolist() == [c.image_id for c in ranked]
    np.testing.assert_allclose([c.distance for c in ranked], np.linalg.norm(vectors[want] - query, axis=1), rtol=1e-5)
