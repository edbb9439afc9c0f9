"""Which landmarks the X-ray detector finds in each view, by the project's landmark table.

The names, their order and their ISBI-2015 labels (``l1`` ... ``l19`` on the lateral view)
come from :mod:`crossid_desktop.anatomy.landmarks`; this module only looks them up.
"""

from __future__ import annotations

from crossid_desktop.anatomy.landmarks import ISBI_LANDMARKS, landmark_names, landmarks_of
from crossid_desktop.errors import DatasetError

_NAME_OF_LABEL = {mark.label: mark.name for mark in ISBI_LANDMARKS}
_LABELS = {(mark.view, mark.name): mark.label for view in ("xray-front", "xray-side") for mark in landmarks_of(view) if mark.label}


def name_of_label(label: str) -> str:
    """The name of the cephalometric point with ISBI label ``label`` (``l1`` ... ``l19``)."""
    try:
        return _NAME_OF_LABEL[label]
    except KeyError:
        raise DatasetError(f"Unknown cephalometric label {label!r}; expected l1 to l19.") from None


def label_of(name: str, view: str = "xray-side") -> str | None:
    """The published label of a point of an X-ray view (``l1`` ... on the lateral view), or None."""
    return _LABELS.get((view, name))


def view_landmarks(view: str) -> tuple[str, ...]:
    """The landmark names a model of ``view`` finds, in its output order (the table's)."""
    if view not in ("xray-front", "xray-side"):
        raise DatasetError(f"The X-ray landmark detector has no view {view!r}; expected xray-front or xray-side.")
    return landmark_names(view)
