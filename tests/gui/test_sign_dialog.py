"""Signing a report from the window: the dialog asks for the certificate and its password (the
password is never stored), and "Sign" + "Export report…" writes a report whose signature
verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QCheckBox, QDialog, QLabel, QLineEdit, QPushButton  # noqa: E402
from report_builders import certificate  # noqa: E402

from crossid_desktop.cases import CaseService  # noqa: E402
from crossid_desktop.cases.signing import SignerFile, read_signatures  # noqa: E402
from crossid_desktop.gui.settings import Settings  # noqa: E402
from crossid_desktop.gui.widgets.case_panel import CasePanel  # noqa: E402
from crossid_desktop.gui.widgets.sign_dialog import SignDialog  # noqa: E402
from crossid_desktop.matching.base import QueryModality  # noqa: E402
from crossid_desktop.matching.preprocess import FaceChoice  # noqa: E402


def test_dialog_gives_the_signer_and_remembers_all_but_the_password(qtbot, tmp_path: Path) -> None:
    certs = certificate(tmp_path)
    settings = Settings()
    dialog = SignDialog(settings)
    qtbot.addWidget(dialog)
    dialog.findChild(QLineEdit, "signCertificateEdit").setText(str(tmp_path / "missing.p12"))
    dialog.buttons.accepted.emit()
    assert dialog.result() != QDialog.DialogCode.Accepted and "certificate file" in dialog.findChild(QLabel, "signMessage").text()
    dialog.findChild(QLineEdit, "signCertificateEdit").setText(str(certs.p12))
    password = dialog.findChild(QLineEdit, "signPasswordEdit")
    assert password.echoMode() == QLineEdit.EchoMode.Password
    password.setText(certs.password)
    dialog.findChild(QLineEdit, "signTsaEdit").setText("http://tsa.example.org")
    dialog.buttons.accepted.emit()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.signer() == SignerFile(certs.p12, certs.password, "examiner", tsa="http://tsa.example.org")
    assert (settings.signing_certificate, settings.signing_tsa) == (str(certs.p12), "http://tsa.example.org")
    settings.sync()
    assert certs.password not in Path(settings.file_name).read_text(encoding="utf-8")
    again = SignDialog(settings)
    qtbot.addWidget(again)
    assert again.findChild(QLineEdit, "signCertificateEdit").text() == str(certs.p12) and again.findChild(QLineEdit, "signPasswordEdit").text() == ""


def test_panel_exports_a_signed_report(qtbot, window, tiny, tmp_path: Path) -> None:
    panel = window.findChild(CasePanel, "casePanel")
    with qtbot.waitSignal(window.searchFinished, timeout=60_000):
        window.load_query([str(tiny.photo(tiny.photo_subjects[3]))], modalities=[QueryModality.INJURED_FACE], search=True,
                          choices=[FaceChoice(allow_centre_crop=True)])  # the tiny gallery's pictures hold no face
    panel.findChild(QLineEdit, "caseNumberEdit").setText("GUI-SIGN-1")
    panel.findChild(QLineEdit, "caseExaminerEdit").setText("Jane Examiner")
    with qtbot.waitSignal(panel.caseChanged, timeout=20_000):
        panel.findChild(QPushButton, "newCaseButton").click()
    certs = certificate(tmp_path)
    panel.findChild(QCheckBox, "reportSignCheck").setChecked(True)
    out = tmp_path / "signed.pdf"
    with qtbot.waitSignal(panel.reportExported, timeout=90_000):
        panel.export_report(out, SignerFile(certs.p12, certs.password))
    (signature,) = read_signatures(out.read_bytes(), [certs.ca_pem])
    assert signature.ok and signature.signer == "Jane Examiner" and signature.field == "Examiner"
    assert "(signed)" in panel.findChild(QLabel, "caseReportLabel").text()
    assert CaseService(tiny.workspace).audit_log("GUI-SIGN-1")[-1].details_dict()["signatures"][0].startswith("examiner: Jane Examiner")
