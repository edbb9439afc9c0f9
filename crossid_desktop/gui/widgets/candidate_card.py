"""One ranked candidate as a card: the aligned face, rank, identity, confidence and the
examiner's mark (candidate of interest or excluded) with a note.

The card of the query's known true identity has a green frame: its dynamic property
``isTrueIdentity`` is True (the style sheet selects on it, tests read it). Its objectName is
``candidateCard_<rank>``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QButtonGroup, QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget

from crossid_desktop.cases.marks import Mark
from crossid_desktop.gui.widgets.consistency_badge import ConsistencyBadge

THUMBNAIL_PX = 104

#: set once on the cards' parent: a style sheet per card costs a parse and polish each
CARD_STYLE = """
CandidateCard { border: 1px solid palette(mid); border-radius: 6px; background: palette(base); }
CandidateCard[isTrueIdentity="true"] { border: 3px solid #2e9d3a; }
CandidateCard[mark="of_interest"] { background: #fff6d8; }
CandidateCard[mark="excluded"] { background: palette(window); }
"""


class CandidateCard(QFrame):
    """A ranked candidate. ``markChanged(subject_id, mark, note)`` reports the examiner's mark
    (``mark`` a :class:`~crossid_desktop.cases.marks.Mark` value)."""

    markChanged = Signal(str, str, str)
    compareRequested = Signal(int)

    def __init__(
        self,
        candidate: Any,
        thumbnail: QImage | None,
        *,
        true_identity: bool = False,
        mark: Mark = Mark.NONE,
        note: str = "",
        warnings: tuple[str, ...] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.candidate = candidate
        self.setObjectName(f"candidateCard_{candidate.rank}")
        self.setProperty("isTrueIdentity", bool(true_identity))
        self.setProperty("mark", mark.value)  # the parent's style sheet (CARD_STYLE) selects on these

        face = QLabel(objectName="thumbnail")
        face.setFixedSize(THUMBNAIL_PX, THUMBNAIL_PX)
        face.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if thumbnail is not None and not thumbnail.isNull():
            face.setPixmap(QPixmap.fromImage(thumbnail).scaled(THUMBNAIL_PX, THUMBNAIL_PX, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
        else:
            face.setText("no photo")
        title = QLabel(f"<b>#{candidate.rank}</b>&nbsp;&nbsp;{_escape(candidate.subject_id)}", objectName="rankLabel")
        name = QLabel(_escape(candidate.name) or "<i>no name recorded</i>", objectName="nameLabel")
        name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = _score_bar(candidate)
        lr_text = ""
        if candidate.likelihood_ratio is not None:
            lr_text = f"LR {candidate.likelihood_ratio:.3g}"
            if candidate.verbal_scale:
                lr_text += f" · {candidate.verbal_scale}"
        likelihood = QLabel(lr_text, objectName="likelihoodLabel", wordWrap=True)
        likelihood.setVisible(bool(lr_text))
        consistency = ConsistencyBadge(getattr(candidate, "craniofacial", None))
        truth = QLabel("✔ known identity", objectName="trueIdentityLabel")
        truth.setStyleSheet("color: #2e9d3a; font-weight: bold;")
        truth.setVisible(bool(true_identity))
        warned = QLabel("⚠ this search has warnings (above the cards)", objectName="cardWarningLabel", wordWrap=True)
        warned.setStyleSheet("color: #9a5b00;")
        warned.setToolTip("\n".join(warnings))
        warned.setVisible(bool(warnings))

        self.interest_button = QPushButton("Of interest", objectName="interestButton", checkable=True)
        self.exclude_button = QPushButton("Exclude", objectName="excludeButton", checkable=True)
        group = QButtonGroup(self)
        group.setExclusive(False)
        for button in (self.interest_button, self.exclude_button):
            button.setMaximumHeight(24)
            group.addButton(button)
        self.interest_button.setChecked(mark is Mark.OF_INTEREST)
        self.exclude_button.setChecked(mark is Mark.EXCLUDED)
        self.interest_button.toggled.connect(lambda on: self._toggled(Mark.OF_INTEREST, on))
        self.exclude_button.toggled.connect(lambda on: self._toggled(Mark.EXCLUDED, on))
        self.note_edit = QLineEdit(note, objectName="noteEdit", placeholderText="note")
        self.note_edit.editingFinished.connect(self._emit_mark)

        text = QVBoxLayout()
        text.setSpacing(2)
        for widget in (title, name, bar, likelihood, consistency, truth, warned):
            text.addWidget(widget)
        text.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.interest_button)
        buttons.addWidget(self.exclude_button)
        layout = QGridLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(face, 0, 0)
        layout.addLayout(text, 0, 1)
        layout.addLayout(buttons, 1, 0, 1, 2)
        layout.addWidget(self.note_edit, 2, 0, 1, 2)
        layout.setColumnStretch(1, 1)

    @property
    def is_true_identity(self) -> bool:
        return bool(self.property("isTrueIdentity"))

    def set_true_identity(self, value: bool) -> None:
        self.setProperty("isTrueIdentity", bool(value))
        self.findChild(QLabel, "trueIdentityLabel").setVisible(bool(value))
        self._restyle()

    def mark(self) -> Mark:
        return Mark(self.property("mark"))

    def set_mark(self, mark: Mark, note: str | None = None) -> None:
        """Set the mark (and the note) as the examiner would; emits ``markChanged``."""
        if note is not None:
            self.note_edit.setText(note)
        self.interest_button.setChecked(mark is Mark.OF_INTEREST)
        self.exclude_button.setChecked(mark is Mark.EXCLUDED)
        self._emit_mark()

    def mouseDoubleClickEvent(self, event: Any) -> None:
        self.compareRequested.emit(self.candidate.rank)
        super().mouseDoubleClickEvent(event)

    def _toggled(self, mark: Mark, on: bool) -> None:
        if on:  # the two marks exclude each other
            other = self.exclude_button if mark is Mark.OF_INTEREST else self.interest_button
            other.blockSignals(True)
            other.setChecked(False)
            other.blockSignals(False)
        self._emit_mark()

    def _emit_mark(self) -> None:
        mark = Mark.OF_INTEREST if self.interest_button.isChecked() else Mark.EXCLUDED if self.exclude_button.isChecked() else Mark.NONE
        self.setProperty("mark", mark.value)
        self._restyle()
        self.markChanged.emit(self.candidate.subject_id, mark.value, self.note_edit.text())

    def _restyle(self) -> None:
        self.style().unpolish(self)
        self.style().polish(self)


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _score_bar(candidate: Any) -> QProgressBar:
    """The candidate's score as a bar: a face's similarity exp(-d²), an X-ray's likelihood ratio
    on a 0-100 % scale (the tooltip says which)."""
    percent = 100.0 * float(candidate.confidence)
    bar = QProgressBar(objectName="confidenceBar")
    bar.setRange(0, 1000)
    bar.setValue(round(percent * 10))
    bar.setFormat(f"{percent:.1f} %")
    bar.setMaximumHeight(16)
    if getattr(candidate, "craniofacial", None):
        bar.setToolTip("score LR / (1 + LR): the likelihood ratio on a 0-100 % scale; it orders the candidates as their ratios do "
                       "(it is not the probability that this is the person)")
    else:
        bar.setToolTip(f"confidence exp(-d²) with distance d = {candidate.distance:.3f}")
    return bar
