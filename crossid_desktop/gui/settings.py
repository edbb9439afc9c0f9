"""The user's choices remembered between runs (QSettings): window geometry and state, recent
query files, top-k, soft-tissue strength and the last folder.

Tests isolate it with ``QSettings.setPath`` (see ``tests/gui/conftest.py``), so the user's own
settings are never read or written by a test.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QPushButton, QSpinBox

ORGANISATION = "CrossID"
APPLICATION = "CrossID Desktop"
MAX_RECENT = 10


class Settings:
    """Typed access to the application's QSettings (INI format, per user)."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._s = qsettings or QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)

    @property
    def file_name(self) -> str:
        return self._s.fileName()

    def sync(self) -> None:
        self._s.sync()

    def _int(self, key: str, default: int, low: int, high: int) -> int:
        try:
            value = int(self._s.value(key, default))
        except (TypeError, ValueError):
            return default
        return min(high, max(low, value))

    @property
    def top_k(self) -> int:
        """How many candidates a search lists (1-100)."""
        return self._int("search/top_k", 10, 1, 100)

    @top_k.setter
    def top_k(self, value: int) -> None:
        self._s.setValue("search/top_k", int(value))

    @property
    def strength_percent(self) -> int:
        """Soft-tissue suppression strength of the preview, 0-100 (%)."""
        return self._int("preview/strength_percent", 70, 0, 100)

    @strength_percent.setter
    def strength_percent(self, value: int) -> None:
        self._s.setValue("preview/strength_percent", int(value))

    @property
    def last_folder(self) -> str:
        folder = str(self._s.value("files/last_folder", "") or "")
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    @last_folder.setter
    def last_folder(self, folder: str) -> None:
        self._s.setValue("files/last_folder", str(folder))

    @property
    def signing_certificate(self) -> str:
        """The certificate file (PKCS#12) the examiner last signed a report with ("" for none)."""
        return str(self._s.value("signing/certificate", "") or "")

    @signing_certificate.setter
    def signing_certificate(self, path: str) -> None:
        self._s.setValue("signing/certificate", str(path))

    @property
    def signing_tsa(self) -> str:
        """The time-stamping authority's URL for report signatures ("" for none)."""
        return str(self._s.value("signing/tsa_url", "") or "")

    @signing_tsa.setter
    def signing_tsa(self, url: str) -> None:
        self._s.setValue("signing/tsa_url", str(url))

    @property
    def recent_files(self) -> list[list[str]]:
        """Recent queries, newest first; each a list of paths (one image, or a frontal + lateral pair)."""
        raw = self._s.value("files/recent", []) or []
        if isinstance(raw, str):
            raw = [raw]
        return [entry.split("\n") for entry in raw if entry]

    def add_recent(self, paths: list[str]) -> None:
        entry = "\n".join(str(p) for p in paths)
        kept = [e for e in ("\n".join(r) for r in self.recent_files) if e != entry]
        self._s.setValue("files/recent", [entry, *kept][:MAX_RECENT])

    def forget_recent(self) -> None:
        self._s.remove("files/recent")

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        """The saved (geometry, state) of the main window, or None for each never saved."""
        return self._s.value("window/geometry"), self._s.value("window/state")

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self._s.setValue("window/geometry", geometry)
        self._s.setValue("window/state", state)


class SettingsDialog:
    """The Settings dialog: default number of candidates, preview strength, recent queries, and
    where the workspace and the settings file are. Built on demand (Qt widgets imported here)."""

    def __init__(self, settings: Settings, workspace: str, parent=None) -> None:
        self.settings = settings
        self.dialog = QDialog(parent, objectName="settingsDialog", windowTitle="Settings")
        self.top_k = QSpinBox(objectName="settingsTopK", minimum=1, maximum=100, value=settings.top_k)
        self.strength = QSpinBox(objectName="settingsStrength", minimum=0, maximum=100, value=settings.strength_percent, suffix=" %")
        forget = QPushButton("Forget recent queries", objectName="forgetRecentButton")
        forget.clicked.connect(settings.forget_recent)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.dialog.accept)
        buttons.rejected.connect(self.dialog.reject)
        form = QFormLayout(self.dialog)
        form.addRow("Candidates listed", self.top_k)
        form.addRow("Soft-tissue preview strength", self.strength)
        form.addRow("", forget)
        form.addRow("Workspace", QLabel(workspace, wordWrap=True))
        form.addRow("Settings file", QLabel(settings.file_name, wordWrap=True))
        form.addRow(buttons)
        self.dialog.accepted.connect(self._save)

    def _save(self) -> None:
        self.settings.top_k = self.top_k.value()
        self.settings.strength_percent = self.strength.value()
