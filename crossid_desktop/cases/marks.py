"""The examiner's marks on candidates: one vocabulary for the cards, the case, its database and
its report.

A :class:`Mark` value is what the case database stores (``of_interest``, ``excluded``,
``none``; ``none`` clears an earlier mark), so workspaces written before keep reading. The
window keeps the marks set since the last search in :class:`CaseMarks`, a plain object; a case
stores each one with :meth:`crossid_desktop.cases.CaseService.mark`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Mark(StrEnum):
    """The examiner's decision on a candidate; the value (also ``str(mark)``) is the one stored in a case."""

    OF_INTEREST = "of_interest"
    EXCLUDED = "excluded"
    NONE = "none"

    @property
    def label(self) -> str:
        """The mark in words, as the case panel and the report show it ("" for no mark)."""
        return _LABELS[self]


_LABELS = {Mark.OF_INTEREST: "of interest", Mark.EXCLUDED: "excluded", Mark.NONE: ""}


@dataclass(frozen=True)
class ExaminerMark:
    """A mark with the examiner's note on that candidate."""

    mark: Mark = Mark.NONE
    note: str = ""

    @property
    def is_blank(self) -> bool:
        """No mark and no note: nothing to keep."""
        return self.mark is Mark.NONE and not self.note


class CaseMarks:
    """The examiner's marks in the window: subject id -> :class:`ExaminerMark`. Plain Python;
    the window signals the changes."""

    def __init__(self) -> None:
        self._marks: dict[str, ExaminerMark] = {}

    def set(self, subject_id: str, mark: Mark | str, note: str = "") -> bool:
        """Record a mark (``Mark.NONE`` with no note forgets the subject); True when it changed.
        ``mark`` is a :class:`Mark` or its stored value; anything else is a ``ValueError``."""
        new = ExaminerMark(Mark(mark), note.strip())
        if new == self.get(subject_id):
            return False
        if new.is_blank:
            self._marks.pop(subject_id, None)
        else:
            self._marks[subject_id] = new
        return True

    def get(self, subject_id: str) -> ExaminerMark:
        return self._marks.get(subject_id, ExaminerMark())

    def items(self) -> dict[str, ExaminerMark]:
        """Every subject with a mark or a note."""
        return dict(self._marks)

    def clear(self) -> None:
        self._marks.clear()
