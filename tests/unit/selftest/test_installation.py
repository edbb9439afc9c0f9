"""Installation checks on a small installation built in the test: a passing one, then each
kind of departure failing its own check with a sentence that names what is wrong."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from crossid_desktop.about import runtime_versions
from crossid_desktop.selftest import manifest as mf
from crossid_desktop.selftest.installation import InstallationChecks, dicom_syntaxes, runtime_facts


@pytest.fixture
def installation(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    resources = tmp_path / "resources"
    (resources / "models").mkdir(parents=True)
    (resources / "models" / "m.pt").write_bytes(b"weights" * 50)
    (resources / "fonts.ttf").write_bytes(b"glyphs")
    roots = {"resources": resources}
    manifest = mf.build_manifest("bundle", ["resources"], runtime=runtime_facts(), roots=roots)
    return mf.write_manifest(manifest, tmp_path / "manifest.json"), roots


def _by_name(checks) -> dict:
    return {c.name: c for c in checks}


def test_an_intact_installation_passes(installation) -> None:
    manifest_file, roots = installation
    checks = _by_name(InstallationChecks(manifest_file=manifest_file, roots=roots, kind="bundle").run())
    assert list(checks) == ["Manifest", "Bundled files", "Runtime pieces", "DICOM decoders"]
    assert all(c.passed for c in checks.values()), [c.line() for c in checks.values()]
    assert checks["Bundled files"].summary == "all 2 files match their SHA-256 (resources 2)."
    assert "each the version the build recorded" in checks["Runtime pieces"].summary


def test_a_changed_model_fails_the_file_check_by_name(installation) -> None:
    manifest_file, roots = installation
    (roots["resources"] / "models" / "m.pt").write_bytes(b"weights" * 49 + b"WEIGHTS")
    checks = _by_name(InstallationChecks(manifest_file=manifest_file, roots=roots, kind="bundle").run())
    failed = [c.name for c in checks.values() if not c.passed]
    assert failed == ["Bundled files"]
    assert checks["Bundled files"].line() == (
        "FAIL  Bundled files: 1 bundled files do not agree with the manifest: resources/models/m.pt differs from its SHA-256 in the manifest."
    )


def test_another_version_or_kind_of_manifest_fails(installation) -> None:
    manifest_file, roots = installation
    manifest = mf.read_manifest(manifest_file)
    mf.write_manifest(replace(manifest, software="0.0.1"), manifest_file)
    check = InstallationChecks(manifest_file=manifest_file, roots=roots).run()[0]
    assert not check.passed and "written for CrossID Desktop 0.0.1" in check.summary
    mf.write_manifest(replace(manifest, kind="package"), manifest_file)
    check = InstallationChecks(manifest_file=manifest_file, roots=roots, kind="bundle").run()[0]
    assert not check.passed and check.summary == "this bundle carries a package manifest instead of the one its build wrote."
    assert InstallationChecks(manifest_file=manifest_file, roots=roots, kind="python environment").run()[0].passed


def test_a_swapped_library_or_lost_decoder_fails(installation) -> None:
    manifest_file, roots = installation
    manifest = mf.read_manifest(manifest_file)
    versions = {**manifest.runtime["versions"], "numpy": "0.0.1"}
    syntaxes = {**manifest.runtime["dicom_syntaxes"], "JPEG Baseline (Process 1)": ["a-plugin-not-installed"]}
    mf.write_manifest(replace(manifest, runtime={"versions": versions, "dicom_syntaxes": syntaxes}), manifest_file)
    checks = _by_name(InstallationChecks(manifest_file=manifest_file, roots=roots, kind="bundle").run())
    assert checks["Runtime pieces"].summary == f"numpy is {runtime_versions()['numpy']} but the build recorded 0.0.1."
    assert checks["DICOM decoders"].summary == (
        "the build could decode JPEG Baseline (Process 1) (a-plugin-not-installed), this installation cannot."
    )


def test_no_manifest_fails_every_check_that_needs_one(tmp_path: Path) -> None:
    checks = _by_name(InstallationChecks(manifest_file=tmp_path / "absent.json", roots={"resources": tmp_path}).run())
    assert not checks["Manifest"].passed and "cannot be read" in checks["Manifest"].summary
    assert checks["Bundled files"].summary == "there is no readable manifest to check against (see the check 'Manifest')."


def test_dicom_syntaxes_agree_with_pydicom() -> None:
    from pydicom.pixels.decoders import ExplicitVRLittleEndianDecoder, RLELosslessDecoder

    syntaxes = dicom_syntaxes()
    assert syntaxes["Explicit VR Little Endian"] == sorted(ExplicitVRLittleEndianDecoder.available_plugins)
    assert syntaxes["RLE Lossless"] == sorted(RLELosslessDecoder.available_plugins) and "pydicom" in syntaxes["RLE Lossless"]
