"""The dialog that asks who signs an exported report: the certificate file (PKCS#12, .p12 or
.pfx), its password, and optionally a time-stamping authority and the place of signing.

The certificate's folder and the time-stamping authority are remembered in the settings; the
password never is (it lives in the dialog until the export job has opened the certificate).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from crossid_desktop.cases.signing import SignerFile


class SignDialog(QDialog):
    """objectName ``signReportDialog``; fields ``signCertificateEdit``, ``signPasswordEdit``,
    ``signTsaEdit``, ``signLocationEdit``. :meth:`signer` gives the choice once accepted."""

    def __init__(self, settings: object, parent: QWidget | None = None, *, role: str = "examiner") -> None:
        super().__init__(parent)
        self.setObjectName("signReportDialog")
        self.setWindowTitle("Sign the report")
        self._settings = settings
        self._role = role
        self.certificate_edit = QLineEdit(objectName="signCertificateEdit", placeholderText="your certificate: a .p12 or .pfx file")
        self.certificate_edit.setText(str(getattr(settings, "signing_certificate", "") or ""))
        browse = QPushButton("Choose…", objectName="signBrowseButton")
        browse.clicked.connect(self._browse)
        self.password_edit = QLineEdit(objectName="signPasswordEdit", echoMode=QLineEdit.EchoMode.Password)
        self.tsa_edit = QLineEdit(objectName="signTsaEdit", placeholderText="none: the signing time is this computer's clock")
        self.tsa_edit.setText(str(getattr(settings, "signing_tsa", "") or ""))
        self.tsa_edit.setToolTip("URL of your agency's time-stamping authority (RFC 3161); the signature then carries a trusted time")
        self.location_edit = QLineEdit(objectName="signLocationEdit", placeholderText="optional, e.g. the laboratory")
        self.message = QLabel(objectName="signMessage", wordWrap=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign and export")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.certificate_edit, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow(QLabel("The report is signed with your own certificate (a PAdES signature); any later change to the file breaks the signature.",
                           wordWrap=True))
        form.addRow("Certificate", row)
        form.addRow("Password", self.password_edit)
        form.addRow("Time-stamping authority", self.tsa_edit)
        form.addRow("Place of signing", self.location_edit)
        form.addRow(self.message)
        form.addRow(self.buttons)

    def _browse(self) -> None:
        start = self.certificate_edit.text() or str(Path.home())
        chosen, _ = QFileDialog.getOpenFileName(self, "Your certificate", start, "Certificates (*.p12 *.pfx);;All files (*)")
        if chosen:
            self.certificate_edit.setText(chosen)

    def _accept(self) -> None:
        path = Path(self.certificate_edit.text().strip()).expanduser()
        if not path.is_file():
            self.message.setText("Choose your certificate file (.p12 or .pfx).")
            return
        self._settings.signing_certificate = str(path)
        self._settings.signing_tsa = self.tsa_edit.text().strip()
        self.accept()

    def signer(self) -> SignerFile | None:
        """The signer chosen, or None when the dialog was not accepted."""
        if self.result() != QDialog.DialogCode.Accepted:
            return None
        return SignerFile(Path(self.certificate_edit.text().strip()).expanduser(), self.password_edit.text(), self._role,
                          tsa=self.tsa_edit.text().strip(), location=self.location_edit.text().strip())
