"""DICOM in the real window: a disc opened in the browser becomes the query (views and
identifiers on screen), a ruler calibration reaches the case's audit trail, and the report
checkbox decides whether the patient's identifiers are printed."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from builders import write_dicom_disc  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QCheckBox, QLineEdit, QPushButton  # noqa: E402

from crossid_desktop.cases import CaseService  # noqa: E402
from crossid_desktop.gui.widgets.case_panel import CasePanel  # noqa: E402
from crossid_desktop.gui.widgets.dicom_browser import is_dicom_media  # noqa: E402
from crossid_desktop.matching.base import QueryModality  # noqa: E402

TIMEOUT = 60_000


def test_disc_to_query_ruler_to_audit_trail_and_report_choice(qtbot, window, tiny, tmp_path: Path) -> None:
    disc = write_dicom_disc(tmp_path)
    assert is_dicom_media(disc) and is_dicom_media(disc / "DICOMDIR") and not is_dicom_media(tmp_path / "sources" / "front.dcm")
    browser = window.open_dicom_media(disc)
    with qtbot.waitSignal(browser.listed, timeout=TIMEOUT):
        pass
    chosen = browser.choices()
    with qtbot.waitSignal(window.query_panel.queryLoaded, timeout=TIMEOUT):
        qtbot.mouseClick(browser.open_button, Qt.MouseButton.LeftButton)
    images = window.query_images()
    assert [q.path for q in images] == [c.path for c in chosen]
    assert [q.modality for q in images] == [QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE]
    assert "Doe, Jane; ID PID-A; born 1970-01-01" in window.facts.toPlainText()  # shown to the examiner

    ruler = window.query_panel.ruler
    ruler.place(4, 4)
    ruler.place(44, 34)  # 50 px
    ruler.known_spin.setValue(5.0)
    with qtbot.waitSignal(window.query_panel.spacingCalibrated, timeout=TIMEOUT):
        ruler.calibrate()
    assert "0.1 x 0.1 mm per pixel (calibrated by the examiner with a ruler" in window.facts.toPlainText()

    panel = window.findChild(CasePanel, "casePanel")
    panel.findChild(QLineEdit, "caseNumberEdit").setText("DICOM-1")
    with qtbot.waitSignal(panel.caseChanged, timeout=TIMEOUT):
        panel.findChild(QPushButton, "newCaseButton").click()  # the calibration made before is logged now
    service = CaseService(tiny.workspace)
    (calibration,) = [e for e in service.audit_log("DICOM-1") if e.action == "pixel_spacing_calibrated"]
    details = calibration.details_dict()
    assert details["query_sha256"] == images[0].image.sha256 and details["known_mm"] == 5.0 and details["mm_per_pixel"] == pytest.approx(0.1)

    box = panel.findChild(QCheckBox, "reportPatientIdentifiersCheck")
    assert not box.isChecked()  # withheld unless the examiner asks
    box.setChecked(True)
    with qtbot.waitSignal(panel.reportExported, timeout=TIMEOUT):
        panel.export_report(tmp_path / "named.pdf")
    exports = [e.details_dict() for e in service.audit_log("DICOM-1") if e.action == "report_exported"]
    assert [e["patient_identifiers"] for e in exports] == [True]
