"""The candidates panel: the ranked gallery subjects of the last search, as cards in rank order.

The search runs in the worker (:func:`~crossid_desktop.gui.jobs.search_job`, submitted by the
window), which also reads the candidates' aligned face thumbnails and, when the query's true
identity is known, that person's rank even when it lies beyond the top-k. The examiner's marks
live in :class:`~crossid_desktop.cases.marks.CaseMarks`, a plain object the window owns (the
case panel reads it).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFormLayout, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget

from crossid_desktop.cases.marks import CaseMarks
from crossid_desktop.gui.job_results import SearchOutcome
from crossid_desktop.gui.jobs import locate_job
from crossid_desktop.gui.widgets.candidate_card import CARD_STYLE, CandidateCard

#: at most this many cards side by side; fewer when the panel is too narrow for them
COLUMNS = 2


def craniofacial_summary(record: dict | None) -> str:
    """What the summary says of a craniofacial search: each X-ray's landmark source or why it was
    not assessed, and how many people could not be compared (never ranked silently)."""
    if not record:
        return ""
    parts = []
    for query in record.get("queries", []):
        source = (query.get("landmarks") or {}).get("source", "none")
        view = "frontal" if query.get("view") == "front" else "lateral"
        parts.append(f"<br><b>{view} X-ray not assessed:</b> {query['problem']}; the remaining evidence ranks the candidates." if query.get("problem")
                     else f"<br>{view} X-ray: skull landmarks from {source}" + _set_aside(query) + ".")
    apart = record.get("not_assessed", [])
    if apart:
        parts.append(f"<br>{len(apart)} people could not be compared with the skull and are not ranked.")
    return "".join(parts)


def _set_aside(query: dict) -> str:
    names = query.get("set_aside") or []
    return ("; <b>left out as not fitting the others:</b> " + ", ".join(n.replace("_", " ") for n in names)) if names else ""


class CandidatesPanel(QWidget):
    """Cards of the last search in rank order, the top-k choice and the known identity."""

    searchRequested = Signal()
    markChanged = Signal(str, str, str)  # subject_id, mark, note
    compareRequested = Signal(int)  # rank
    resultShown = Signal()  # every card of a new result is built
    identityShown = Signal()  # the known identity's frame and rank were updated

    def __init__(self, worker: Any, marks: CaseMarks, *, top_k: int = 10, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("candidatesPanel")
        self._worker = worker
        self._marks = marks
        self._outcome: SearchOutcome | None = None
        self._locate_job: int | None = None
        self._cards: list[CandidateCard] = []

        self.top_k_spin = QSpinBox(objectName="topKSpin", minimum=1, maximum=100, value=top_k)
        self.top_k_spin.setToolTip("How many candidates to list")
        self.top_k_spin.setMaximumWidth(90)
        self.identity_edit = QLineEdit(objectName="knownIdentityEdit", placeholderText="subject id, when known")
        self.identity_edit.setToolTip("The query's true identity, when known (e.g. a test case): its card gets a green frame")
        self.identity_edit.editingFinished.connect(self._identity_edited)
        self.identity_edit.setMaximumWidth(260)
        self.search_button = QPushButton("Search", objectName="runSearchButton")
        self.search_button.clicked.connect(self.searchRequested)
        self.summary_label = QLabel("No search yet.", objectName="summaryLabel", wordWrap=True)
        self.warnings_label = QLabel(objectName="searchWarningsLabel", wordWrap=True)
        self.warnings_label.setStyleSheet("background: #fff1cc; border: 1px solid #d9a400; padding: 4px;")
        self.warnings_label.setTextFormat(Qt.TextFormat.PlainText)
        self.warnings_label.setVisible(False)
        self.rank_label = QLabel(objectName="trueRankLabel", wordWrap=True)
        self.rank_label.setVisible(False)
        self._scroll = QScrollArea(objectName="cardsScroll", widgetResizable=True)
        self._columns = COLUMNS
        self._scroll.viewport().installEventFilter(self)  # the columns follow the panel's width
        self._new_host()
        # cards are built a few per event-loop turn, so a long list never stalls the window
        self._build_timer = QTimer(self, singleShot=True, interval=0)
        self._build_timer.timeout.connect(self._build_some)
        self._to_build: list[Any] = []

        header = QHBoxLayout()
        form = QFormLayout()
        form.addRow("Candidates", self.top_k_spin)
        form.addRow("Known identity", self.identity_edit)
        header.addLayout(form, 1)
        header.addWidget(self.search_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.warnings_label)
        layout.addWidget(self.rank_label)
        layout.addWidget(self._scroll, 1)
        worker.jobFinished.connect(self._job_finished)

    # -- public ---------------------------------------------------------------------------------
    def top_k(self) -> int:
        return self.top_k_spin.value()

    def known_identity(self) -> str | None:
        return self.identity_edit.text().strip() or None

    def set_known_identity(self, subject_id: str | None) -> None:
        self.identity_edit.setText(subject_id or "")

    def outcome(self) -> SearchOutcome | None:
        return self._outcome

    def cards(self) -> list[CandidateCard]:
        """The cards in rank order."""
        return list(self._cards)

    def show_outcome(self, outcome: SearchOutcome) -> None:
        """Replace the cards with those of ``outcome``; ``resultShown`` fires once all are built."""
        self._outcome = outcome
        self._new_host()
        self._to_build = list(outcome.result.candidates)
        result = outcome.result
        seconds = result.timings_ms.get("total", 0.0) / 1000.0
        self.summary_label.setText(
            f"Top {len(result.candidates)} of {result.gallery_subjects} people ({result.gallery_images} photos), "
            f"matcher {result.matcher_name}, {seconds:.2f} s. These are investigative leads to compare, not identifications."
            + craniofacial_summary(getattr(result, "craniofacial", None))
        )
        self.warnings_label.setText("\n".join(f"⚠ {warning}" for warning in result.warnings))
        self.warnings_label.setVisible(bool(result.warnings))
        self._show_true_rank(outcome)
        self._build_some()

    def clear(self) -> None:
        """No result: no cards (a new query was opened)."""
        self._outcome, self._to_build = None, []
        self._build_timer.stop()
        self._new_host()
        self.summary_label.setText("No search yet.")
        self.warnings_label.setVisible(False)
        self.rank_label.setVisible(False)

    def _new_host(self) -> None:
        host = QWidget(objectName="cardsHost")
        host.setStyleSheet(CARD_STYLE)
        self._grid = QGridLayout(host)
        self._grid.setSpacing(8)
        self._cards = []
        self._scroll.setWidget(host)  # deletes the previous host and its cards

    def columns(self) -> int:
        """How many cards stand side by side now."""
        return self._columns

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self._scroll.viewport():
            self._fit_columns()
        return super().eventFilter(watched, event)

    def _fit_columns(self) -> None:
        """As many columns (up to :data:`COLUMNS`) as the cards fit in without being cut off."""
        if not self._cards:
            return
        spacing = self._grid.horizontalSpacing()
        margins = self._grid.contentsMargins()
        card = max(c.minimumSizeHint().width() for c in self._cards)
        room = self._scroll.viewport().width() - margins.left() - margins.right()
        columns = max(1, min(COLUMNS, (room + spacing) // (card + spacing)))
        if columns != self._columns:
            self._columns = columns
            for row in range(self._grid.rowCount()):
                self._grid.setRowStretch(row, 0)
            for index, card_widget in enumerate(self._cards):
                self._grid.addWidget(card_widget, index // columns, index % columns)  # moves it
            if not self._to_build:
                self._grid.setRowStretch(self._grid.rowCount(), 1)

    def _build_some(self, count: int = 2) -> None:
        outcome = self._outcome
        if outcome is None:
            return
        for candidate in self._to_build[:count]:
            saved = self._marks.get(candidate.subject_id)
            card = CandidateCard(
                candidate,
                outcome.thumbnails.get(candidate.image_id),
                true_identity=candidate.subject_id == outcome.true_subject_id,
                mark=saved.mark,
                note=saved.note,
                warnings=outcome.result.warnings,
            )
            card.markChanged.connect(self.markChanged)
            card.compareRequested.connect(self.compareRequested)
            index = len(self._cards)
            self._grid.addWidget(card, index // self._columns, index % self._columns)
            card.show()
            self._cards.append(card)
            if index == 0:
                self._fit_columns()
        del self._to_build[:count]
        if self._to_build:
            self._build_timer.start()
        else:
            self._grid.setRowStretch(self._grid.rowCount(), 1)
            self.resultShown.emit()

    def _show_identity(self, outcome: SearchOutcome) -> None:
        """The same result with another known identity: frames and label change in place."""
        self._outcome = outcome
        for card in self._cards:
            card.set_true_identity(card.candidate.subject_id == outcome.true_subject_id)
        self._show_true_rank(outcome)
        self.identityShown.emit()

    # -- slots ----------------------------------------------------------------------------------
    def _identity_edited(self) -> None:
        outcome, subject = self._outcome, self.known_identity()
        if outcome is None or subject == outcome.true_subject_id:
            return
        rank = outcome.result.rank_of(subject) if subject else None
        if subject is None or rank is not None:  # nothing to look up
            self._show_identity(outcome.with_identity(subject, rank, rank is not None))
            return
        self._locate_job = self._worker.submit("locate", locate_job(outcome, subject), supersede_kind=True)

    def _job_finished(self, job_id: int, result: object) -> None:
        if job_id == self._locate_job and isinstance(result, SearchOutcome):
            self._locate_job = None
            if self._outcome is not None and result.result is self._outcome.result:
                self._show_identity(result)

    def _show_true_rank(self, outcome: SearchOutcome) -> None:
        subject = outcome.true_subject_id
        if not subject:
            self.rank_label.setVisible(False)
            return
        shown = outcome.result.rank_of(subject)
        if shown is not None:
            text = f"The known identity {subject} is at rank {shown} (green frame)."
        elif not outcome.true_in_gallery:
            text = f"The known identity {subject} is not in the gallery."
        elif outcome.true_rank is not None:
            text = f"The known identity {subject} is at rank {outcome.true_rank} of {outcome.result.gallery_subjects}, beyond the top {len(outcome.result.candidates)}."
        else:
            text = f"The known identity {subject} has no embedding for this matcher."
        self.rank_label.setText(text)
        self.rank_label.setVisible(True)
