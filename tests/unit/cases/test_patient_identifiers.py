"""A DICOM query's patient identifiers: shown to the examiner, stored with the query, printed
in a report only when the examiner asks, and never in a log, an audit entry or a file name."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from builders import save_untrained_matcher, skull_like, write_dicom, write_photo
from pypdf import PdfReader

from crossid_desktop.cases import CaseService
from crossid_desktop.cli import main
from crossid_desktop.gallery.enrol import enrol
from crossid_desktop.matching.selection import MatcherCache, write_config
from crossid_desktop.workspace import Workspace

PATIENT = ("Identifiable^Person", "PID-SECRET-77", "19610203")
#: every form in which the identifiers could leak
FORMS = ("Identifiable", "PID-SECRET-77", "19610203", "1961-02-03")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.open(tmp_path / "ws")
    write_config(ws.root, "xray", str(save_untrained_matcher(tmp_path / "skull.pt", "skull2face")))
    for subject in range(4):
        write_photo(tmp_path / "gallery" / f"P{subject:03d}" / "photo_0.png", seed=subject)
    enrol(ws, tmp_path / "gallery", matchers=MatcherCache().configured(ws.root), allow_centre_crop=True)
    return ws


def pdf_text(path: Path) -> str:
    return "".join("".join(page.extract_text().split()) for page in PdfReader(path).pages)


@pytest.mark.slow  # an enrolment, a search and two reports, end to end (about 30 s on 2 busy cores)
def test_identifiers_are_protected(workspace: Workspace, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    skull = skull_like(96, 96)  # a smooth blob would be refused as an X-ray without structure
    query = write_dicom(tmp_path / "hospital" / "IM0001", skull, patient=PATIENT, ViewPosition="PA", ImagerPixelSpacing=[0.1, 0.1])
    reports, thumbs = tmp_path / "reports", tmp_path / "thumbs"
    reports.mkdir()
    thumbs.mkdir()
    ws = ["--workspace", str(workspace.root)]
    caplog.set_level(logging.DEBUG)

    assert main([*ws, "search", str(query), "--report", str(reports / "plain.pdf"), "--case", "C-1", "--examiner", "Ex"]) == 0
    shown = capsys.readouterr().out
    assert "patient (dicom): Identifiable, Person; ID PID-SECRET-77; born 1961-02-03" in shown  # to the examiner
    assert "pixel spacing: 0.1 x 0.1 mm per pixel (detector plane; ImagerPixelSpacing)" in shown
    assert main([*ws, "report", "C-1", "-o", str(reports / "named.pdf"), "--patient-identifiers"]) == 0
    assert main(["dicom", "list", str(query.parent), "--thumbnails", str(thumbs)]) == 0
    assert "Identifiable, Person" in capsys.readouterr().out

    cases = CaseService(workspace)
    recorded = cases.get("C-1").latest_search.result.queries[0]
    assert recorded.meta["patient"] == {"name": "Identifiable, Person", "patient_id": "PID-SECRET-77", "birth_date": "1961-02-03"}

    plain, named = pdf_text(reports / "plain.pdf"), pdf_text(reports / "named.pdf")
    assert not any(form in plain for form in FORMS)
    assert "withheldfromthisreport" in plain
    assert "Identifiable,Person;IDPID-SECRET-77;born1961-02-03" in named
    assert "0.1x0.1mmperpixel(detectorplane;ImagerPixelSpacing)" in plain

    logged = "\n".join(f"{record.name} {record.getMessage()}" for record in caplog.records)
    assert not any(form in logged for form in FORMS), logged
    entries = cases.audit_log("C-1")
    assert not any(form in json.dumps(entry.details_dict(), ensure_ascii=False) for entry in entries for form in FORMS)
    exports = [entry.details_dict()["patient_identifiers"] for entry in entries if entry.action == "report_exported"]
    assert exports == [False, True]  # the examiner's choice is logged, not the identifiers
    for folder in (workspace.root, reports, thumbs):
        for path in folder.rglob("*"):
            assert not any(form in path.name for form in FORMS), path
