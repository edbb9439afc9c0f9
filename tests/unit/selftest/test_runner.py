"""The whole self-test from the Python environment, as ``make test`` runs it: every check
passes on this installation, the record says so in JSON and PDF, and a reference set whose
expectation is wrong, or a changed resource, fails with a sentence naming the check."""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path

import pytest

from crossid_desktop import __version__
from crossid_desktop.cli import main
from crossid_desktop.selftest import OPERATION, run_selftest
from crossid_desktop.selftest import installation as installation_module
from crossid_desktop.selftest import manifest as mf
from crossid_desktop.selftest.reference import reference_folder

EXPECTED_CHECKS = [
    "Manifest", "Bundled files", "Runtime pieces", "DICOM decoders", "Reference enrolment",
    "Reference search: Skull X-ray, frontal (DICOM) and lateral",
    "Reference search: Injured face, pretrained face matcher",
    "Reference search: Injured face, bundled injured-face model",
    "Case record", "Audit chain", "PDF report",
]


@pytest.mark.slow
def test_crossid_selftest_passes_and_writes_the_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pypdf import PdfReader

    assert main(["selftest", "--out", str(tmp_path / "record"), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "PASSED: all 11 checks passed." in printed
    (json_path,) = (tmp_path / "record").glob("crossid-selftest-*.json")
    record = json.loads(json_path.read_text(encoding="utf-8"))
    assert record["passed"] is True and record["software"]["version"] == __version__
    assert record["software"]["installation"] == "python environment" and record["machine"]["host"] == platform.node()
    assert [c["name"] for c in record["checks"]] == EXPECTED_CHECKS
    assert all(c["passed"] for c in record["checks"])
    text = " ".join(p.extract_text() for p in PdfReader(str(json_path.with_suffix(".pdf"))).pages)
    assert "PASSED: all 11 checks passed." in text and platform.node() in text


@pytest.mark.slow
def test_a_wrong_expectation_fails_its_search_check(tmp_path: Path) -> None:
    copy = tmp_path / "set"
    shutil.copytree(reference_folder(), copy)
    data = json.loads((copy / "reference.json").read_text())
    first = data["searches"][0]["expected"]["top"]
    first[0]["subject_id"], first[1]["subject_id"] = first[1]["subject_id"], first[0]["subject_id"]
    (copy / "reference.json").write_text(json.dumps(data))
    outcome = run_selftest(tmp_path / "record", parts=[OPERATION], reference_dir=copy, device="cpu")
    assert not outcome.passed
    (failed,) = outcome.record.failures()
    assert failed.name == "Reference search: Skull X-ray, frontal (DICOM) and lateral"
    assert failed.summary.startswith(f"rank 1 is {first[1]['subject_id']} where {first[0]['subject_id']} was expected")
    assert json.loads(outcome.json_path.read_text())["passed"] is False


def test_a_changed_resource_fails_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    resources = tmp_path / "resources"
    shutil.copytree(mf.group_root("resources"), resources)
    manifest = mf.build_manifest("package", ["resources"], roots={"resources": resources})
    mf.write_manifest(manifest, resources / mf.MANIFEST_NAME)
    (resources / "models" / "injured.json").write_text("{}")
    monkeypatch.setattr(installation_module, "manifest_path", lambda: resources / mf.MANIFEST_NAME)
    monkeypatch.setitem(mf.GROUPS, "resources", mf.FileGroup("resources", "test copy", lambda: resources))
    assert main(["selftest", "--installation-only", "--out", str(tmp_path / "record")]) == 1
    printed = capsys.readouterr().out
    assert "FAIL  Bundled files: 1 bundled files do not agree with the manifest: resources/models/injured.json differs" in printed
    assert "FAILED: 1 of 4 checks failed." in printed
