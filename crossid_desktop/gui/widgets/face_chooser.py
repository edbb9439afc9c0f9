"""Asking the examiner about a query photo that cannot be searched as it is: which of several
faces to search (they are numbered on the original, largest first), or, when no face was found,
whether to search the photo's central square instead (the result then carries a warning).

Both dialogs are window-modal and opened with ``open()``, never ``exec()``: the window keeps
painting, and tests answer them by ``objectName``.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QDialog, QDialogButtonBox, QLabel, QMessageBox, QRadioButton, QVBoxLayout, QWidget


class FaceChooser(QDialog):
    """Choose one of ``count`` faces; ``chosen(number)`` gives the 1-based number."""

    chosen = Signal(int)

    def __init__(self, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("faceChooser")
        self.setWindowTitle("Which face?")
        self.group = QButtonGroup(self)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"This photo shows {count} faces, numbered on the original from the largest. Which one is the person to search?", wordWrap=True))
        for number in range(1, count + 1):
            button = QRadioButton(f"Face {number}" + (" (the largest)" if number == 1 else ""), objectName=f"face{number}")
            self.group.addButton(button, number)
            layout.addWidget(button)
        self.group.button(1).setChecked(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, objectName="faceChooserButtons")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.accepted.connect(lambda: self.chosen.emit(self.group.checkedId()))


class CentreCropQuestion(QMessageBox):
    """The question asked when no face is found; ``answered(True)`` when the examiner chooses to
    search the central square."""

    answered = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            QMessageBox.Icon.Question, "No face found",
            "No face was found in this photo. Search its central square instead? The candidates and the report will carry a "
            "warning that no face was found.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent,
        )
        self.setObjectName("centreCropQuestion")
        self.buttonClicked.connect(lambda button: self.answered.emit(self.standardButton(button) == QMessageBox.StandardButton.Yes))
