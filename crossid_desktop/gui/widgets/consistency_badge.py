"""The craniofacial verdict of a candidate on its card: consistent, inconsistent (with the
landmarks farthest from where the skull puts them, and the ground when it is the likelihood-ratio
bound) or not assessable (with the reason); the full statement as tooltip.

objectName ``consistencyBadge``; its dynamic property ``status`` holds the verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QLabel, QWidget

_COLOURS = {"consistent": "#2e7d32", "inconsistent": "#c62828", "not assessable": "#616161"}


def badge_text(record: Mapping[str, Any]) -> str:
    """The badge's words for a candidate's craniofacial record."""
    status = str(record.get("status", "not assessable"))
    if status == "inconsistent":
        names = [n.replace("_", " ") for n in record.get("excluding", [])]
        ground = "by likelihood ratio: " if record.get("basis") == "likelihood ratio" else ""
        return "skull: inconsistent (" + ground + ", ".join(names[:3]) + (", ..." if len(names) > 3 else "") + ")"
    if status == "not assessable":
        reasons = record.get("reasons") or ["no photo could be compared"]
        return f"skull: not assessable ({reasons[0]})"
    return "skull: consistent"


class ConsistencyBadge(QLabel):
    """One line under the likelihood ratio; hidden for matchers without a craniofacial record."""

    def __init__(self, record: Mapping[str, Any] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("consistencyBadge")
        self.setWordWrap(True)
        self.setVisible(record is not None)
        if record is None:
            return
        status = str(record.get("status", "not assessable"))
        self.setProperty("status", status)
        self.setText(badge_text(record))
        self.setStyleSheet(f"color: {_COLOURS.get(status, '#616161')}; font-size: 11px;")
        self.setToolTip(str(record.get("statement", "")))
