"""Errors as dialogs: one clear sentence, the traceback only on demand.

A :class:`~crossid_desktop.errors.CrossIDError` shows its own message; any other exception is a
bug and reads "An unexpected error occurred: <type>". The traceback goes to the dialog's
details (``QMessageBox.setDetailedText``), never into the sentence.

Tests replace :func:`present` (``monkeypatch.setattr(errors, "present", ...)``) to capture the
dialog instead of showing it.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from crossid_desktop.errors import CrossIDError


def user_message(error: BaseException) -> str:
    """The sentence the user reads."""
    if isinstance(error, CrossIDError) and str(error):
        return str(error)
    return f"An unexpected error occurred: {type(error).__name__}"


def details(error: BaseException) -> str:
    """The traceback (or the message when there is none), for the dialog's details."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return text.strip() or repr(error)


def present(box: QMessageBox) -> None:
    """Show the dialog window-modal without blocking the event loop."""
    box.open()


def show_error(parent: QWidget | None, error: BaseException, *, title: str = "CrossID Desktop") -> QMessageBox:
    """Build and present the error dialog for ``error``."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, user_message(error), QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    box.setDetailedText(details(error))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    present(box)
    return box
