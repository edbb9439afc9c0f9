"""The gallery's subjects as a Qt table: subject id, name, photo count and when enrolled.

The model holds a copy of :class:`~crossid_desktop.gallery.store.SubjectRecord` rows read by a
worker job; it never touches the database itself, so a view of it never blocks on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from crossid_desktop.gallery.store import SubjectRecord

_Index = QModelIndex | QPersistentModelIndex

#: column titles, in order
COLUMNS = ("Subject ID", "Name", "Photos", "First enrolled")
SUBJECT_ID, NAME, PHOTOS, ENROLLED = range(len(COLUMNS))


def _local_time(iso: str) -> str:
    """``2026-01-02T10:11:12+00:00`` -> ``2026-01-02 11:11`` in the local time zone."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


class GalleryTableModel(QAbstractTableModel):
    """Subjects of the gallery, one row each, in subject-id order."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._subjects: list[SubjectRecord] = []

    # -- contents ---------------------------------------------------------------------------
    def set_subjects(self, subjects: Sequence[SubjectRecord]) -> None:
        """Replace every row (a full reset: galleries are read whole, in one query)."""
        self.beginResetModel()
        self._subjects = sorted(subjects, key=lambda s: s.subject_id)
        self.endResetModel()

    def subject_at(self, row: int) -> SubjectRecord:
        return self._subjects[row]

    def subject_ids(self) -> list[str]:
        return [s.subject_id for s in self._subjects]

    def total_photos(self) -> int:
        return sum(s.n_images for s in self._subjects)

    # -- QAbstractTableModel ----------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._subjects)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._subjects):
            return None
        subject = self._subjects[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (subject.subject_id, subject.name, subject.n_images, _local_time(subject.created))[column]
        if role == Qt.ItemDataRole.ToolTipRole and column == ENROLLED:
            return f"{subject.created} (UTC)"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == PHOTOS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return subject.subject_id
        return None
