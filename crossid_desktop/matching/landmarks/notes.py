"""The X-ray landmark detector's words about its points that other layers read (no torch here).

A search repeats the detector's warnings on its result, except the plain list of the points it
found with low confidence (:data:`LOW_CONFIDENCE`): the landmark view colours those, and nearly
every lateral X-ray has one.
"""

from __future__ import annotations

#: the warning that only lists points found with low confidence
LOW_CONFIDENCE = "{n} landmark(s) found with low confidence: {names}."


def low_confidence_warning(names: list[str]) -> str:
    """The warning listing ``names``, points found with low confidence."""
    return LOW_CONFIDENCE.format(n=len(names), names=", ".join(names))


def serious_warnings(warnings: tuple[str, ...]) -> tuple[str, ...]:
    """The detector's warnings a search repeats: all but the list of low-confidence points."""
    marker = LOW_CONFIDENCE.split("{n}")[1].split("{names}")[0]  # " landmark(s) found with low confidence: "
    return tuple(w for w in warnings if marker not in w)
