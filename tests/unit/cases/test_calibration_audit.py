"""The examiner's ruler calibration of a query, in the case's audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossid_desktop.cases import CaseService
from crossid_desktop.cases.audit import AuditEntry
from crossid_desktop.cases.report_sections import entry_details
from crossid_desktop.imaging.spacing import calibrate_with_ruler
from crossid_desktop.workspace import Workspace


def test_calibration_is_logged_and_the_chain_verifies(tmp_path: Path) -> None:
    cases = CaseService(Workspace.open(tmp_path / "ws"))
    number = cases.create_case(examiner="Ex").case_number
    spacing = calibrate_with_ruler((100.0, 200.0), (400.0, 600.0), 50.0)  # 500 px -> 0.1 mm
    entry = cases.record_calibration(number, query_sha256="a" * 64, points=((100.0, 200.0), (400.0, 600.0)), known_mm=50.0, spacing=spacing, actor="Ex")
    assert isinstance(entry, AuditEntry) and entry.action == "pixel_spacing_calibrated" and entry.actor == "Ex"
    details = entry.details_dict()
    assert details["points"] == [[100.0, 200.0], [400.0, 600.0]] and details["known_mm"] == 50.0
    assert details["mm_per_pixel"] == pytest.approx(0.1) and details["spacing"]["source"] == "ruler"
    assert cases.verify(number).ok
    assert entry_details(entry) == f"query {'a' * 12}: 50.0 mm between [[100.0, 200.0], [400.0, 600.0]] -> 0.1 mm per pixel"
