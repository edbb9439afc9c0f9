"""The generator's landmarks of a synthetic cohort's X-rays, read from its ``params.json``.

``crossid synth`` writes, per person and image, ``images.<file stem>.landmarks`` as
``{name: [x, y]}`` in the image's pixels (a point outside the image keeps its coordinates
beyond the border). Only the X-ray *with* soft tissue of the view is read (``xray_side`` or
``xray_front``), the one a user would have.
"""

from __future__ import annotations

import json
from pathlib import Path

from crossid_desktop.errors import DatasetError


def cohort_points(root: Path, view: str) -> list[tuple[Path, dict[str, tuple[float, float] | None], int, int]]:
    """``(image path, {name: (x, y)}, height, width)`` for each person's X-ray of ``view``, in
    the order of ``params.json``. :class:`DatasetError` when the cohort has no landmarks."""
    params_file = Path(root) / "params.json"
    s2f = Path(root) / "s2f"
    try:
        params = json.loads(params_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DatasetError(f"The synthetic cohort {root} has no readable params.json ({error}).") from error
    stem = "xray_side" if view == "xray-side" else "xray_front"
    size = int(params["image_size"])
    out = []
    for subject in params.get("subjects", []):
        record = subject.get("images", {}).get(stem)
        if not record or "landmarks" not in record:
            raise DatasetError(f"The synthetic cohort {root} has no {stem} landmarks in its params.json; generate it again with this version.")
        path = s2f / subject["subject_id"] / f"{stem}.png"
        if not path.is_file():
            raise DatasetError(f"The synthetic cohort {root} lacks {path.relative_to(root)}.")
        out.append((path, {name: (float(x), float(y)) for name, (x, y) in record["landmarks"].items()}, size, size))
    return out
