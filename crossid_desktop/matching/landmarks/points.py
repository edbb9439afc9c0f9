"""Which landmarks the X-ray detector finds in each view, by name, and their ISBI labels.

The cephalometric points carry the labels ``l1`` ... ``l19`` of the ISBI-2015 challenge (the
numbering of the real cephalograms' ``landmarks.csv``).
"""

from __future__ import annotations

from crossid_desktop.errors import DatasetError

#: ISBI-2015 label -> landmark name
CEPHALOMETRIC: dict[str, str] = {
    "l1": "sella", "l2": "nasion", "l3": "orbitale", "l4": "porion", "l5": "subspinale",
    "l6": "supramentale", "l7": "pogonion", "l8": "menton", "l9": "gnathion", "l10": "gonion",
    "l11": "lower_incisal_incision", "l12": "upper_incisal_incision", "l13": "upper_lip",
    "l14": "lower_lip", "l15": "subnasale", "l16": "soft_tissue_pogonion",
    "l17": "posterior_nasal_spine", "l18": "anterior_nasal_spine", "l19": "articulare",
}
_LABEL_OF = {name: label for label, name in CEPHALOMETRIC.items()}


def name_of_label(label: str) -> str:
    try:
        return CEPHALOMETRIC[label]
    except KeyError:
        raise DatasetError(f"Unknown cephalometric label {label!r}; expected l1 to l19.") from None


def label_of(name: str) -> str | None:
    """The ``l1`` ... ``l19`` label of a cephalometric point, None for any other point."""
    return _LABEL_OF.get(name)


def view_landmarks(view: str) -> tuple[str, ...]:
    """The landmark names a model of ``view`` finds, in its output order."""
    if view == "xray-side":
        return tuple(CEPHALOMETRIC.values())
    raise DatasetError(f"No landmark set is defined for the view {view!r}.")
