"""The installation manifest: digests checked against hashlib directly, every kind of
departure named, and the committed manifest of the checkout kept current."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from crossid_desktop import __version__
from crossid_desktop.selftest import manifest as mf

CHECKOUT = Path(__file__).resolve().parents[3]


def _tree(root: Path) -> dict[str, bytes]:
    files = {"models/a.pt": b"\x00\x01weights", "fonts/b.ttf": b"font bytes" * 100, "c.txt": b"", "deep/er/d.bin": os.urandom(3000)}
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return files


def test_digests_are_the_files_sha256_and_size(tmp_path: Path) -> None:
    files = _tree(tmp_path)
    (tmp_path / mf.MANIFEST_NAME).write_text("{}")  # the manifest never lists itself
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"cache")
    digests = mf.digest_group("resources", {"resources": tmp_path})
    assert digests == {rel: mf.FileDigest(hashlib.sha256(data).hexdigest(), len(data)) for rel, data in files.items()}


def test_every_departure_is_named(tmp_path: Path) -> None:
    _tree(tmp_path)
    roots = {"resources": tmp_path}
    manifest = mf.build_manifest("package", ["resources"], roots=roots)
    assert mf.verify(manifest, roots=roots) == (4, [])
    (tmp_path / "fonts" / "b.ttf").write_bytes(b"font bytes" * 99 + b"font bytez")  # same size, other bytes
    (tmp_path / "c.txt").unlink()
    (tmp_path / "models" / "extra.pt").write_bytes(b"x")
    checked, problems = mf.verify(manifest, roots=roots)
    assert checked == 3
    assert sorted(p.sentence() for p in problems) == [
        "resources/c.txt is missing",
        "resources/fonts/b.ttf differs from its SHA-256 in the manifest",
        "resources/models/extra.pt is not in the manifest",
    ]


def test_a_symbolic_link_is_not_a_listed_file(tmp_path: Path) -> None:
    _tree(tmp_path)
    roots = {"resources": tmp_path}
    manifest = mf.build_manifest("package", ["resources"], roots=roots)
    (tmp_path / "c.txt").unlink()
    (tmp_path / "c.txt").symlink_to(tmp_path / "fonts" / "b.ttf")
    assert [p.sentence() for p in mf.verify(manifest, roots=roots)[1]] == ["resources/c.txt is missing"]


def test_program_files_leave_out_the_data_groups(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    data = {name: bundle / "_internal" / name for name in mf.DATA_GROUPS}
    for folder in data.values():
        folder.mkdir(parents=True)
        (folder / "data.bin").write_bytes(b"data")
    (bundle / "crossid").write_bytes(b"executable")
    (bundle / "_internal" / "libpython3.so").write_bytes(b"library")
    listed = mf.digest_group("program", {**data, "program": bundle})
    assert sorted(listed) == ["_internal/libpython3.so", "crossid"]


def test_round_trip_and_damaged_manifests(tmp_path: Path) -> None:
    _tree(tmp_path)
    manifest = mf.build_manifest("bundle", ["resources"], runtime={"versions": {"numpy": "1"}}, roots={"resources": tmp_path})
    path = mf.write_manifest(manifest, tmp_path / "out" / mf.MANIFEST_NAME)
    assert mf.read_manifest(path) == manifest and manifest.software == __version__
    data = json.loads(path.read_text())
    data["groups"]["elsewhere"] = {}
    path.write_text(json.dumps(data))
    with pytest.raises(mf.ManifestError, match="file groups this version does not know"):
        mf.read_manifest(path)
    path.write_text("{not json")
    with pytest.raises(mf.ManifestError, match="is damaged"):
        mf.read_manifest(path)
    with pytest.raises(mf.ManifestError, match="cannot be read"):
        mf.read_manifest(tmp_path / "absent.json")


def test_the_committed_manifest_lists_the_checkout_resources_and_dlib_models() -> None:
    """resources/manifest.json must be rewritten (python packaging/write_manifest.py) whenever a
    resource changes; checked here with hashlib over the files themselves."""
    import face_recognition_models

    committed = json.loads((CHECKOUT / "resources" / mf.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert committed["kind"] == "package" and committed["software"] == __version__
    resources = CHECKOUT / "resources"
    on_disk = {
        p.relative_to(resources).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in resources.rglob("*") if p.is_file() and p.name != mf.MANIFEST_NAME and "__pycache__" not in p.parts
    }
    assert {k: v["sha256"] for k, v in committed["groups"]["resources"].items()} == on_disk, "run python packaging/write_manifest.py"
    models = Path(face_recognition_models.face_recognition_model_location()).parent
    dlib = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in models.glob("*.dat")}
    assert {k: v["sha256"] for k, v in committed["groups"]["dlib-models"].items()} == dlib
