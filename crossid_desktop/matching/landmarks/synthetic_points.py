"""The generator's landmarks of a synthetic cohort's X-rays, read from its ``params.json``."""

from __future__ import annotations

from pathlib import Path

from crossid_desktop.errors import DatasetError


def cohort_points(root: Path, view: str) -> list[tuple[Path, dict[str, tuple[float, float] | None], int, int]]:
    """``(image path, {name: (x, y)}, height, width)`` for each person's X-ray of ``view``."""
    raise DatasetError(f"The synthetic cohort {root} has no X-ray landmarks in its params.json.")
