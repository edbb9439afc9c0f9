"""A contact sheet of a written cohort: one row per person, the paired views side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

#: the columns of a row, from the S2F and IF folders of a cohort
COLUMNS: tuple[str, ...] = ("xray_front", "xray_side", "xray_side_clean", "face_front", "face_side", "injured")


def contact_sheet(root: Path, subject_ids: Sequence[str], *, tile: int = 160, gap: int = 4) -> NDArray[np.uint8]:
    """An RGB ``(rows * (tile + gap), 6 * (tile + gap), 3)`` uint8 sheet of the cohort under ``root``.

    Each row shows one person: X-ray front, X-ray side, X-ray side without soft tissue, face
    front, face side and their first injured photo (blank where there is none).
    """
    import cv2  # OpenCV loads on first use

    rows = []
    for sid in subject_ids:
        tiles = []
        for column in COLUMNS:
            if column == "injured":
                found = sorted((root / "if" / sid / "injured").glob("*.png"))
                path = found[0] if found else None
            else:
                path = root / "s2f" / sid / f"{column}.png"
            image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path is not None and path.exists() else None
            image = np.full((tile, tile, 3), 255, np.uint8) if image is None else cv2.resize(image, (tile, tile), interpolation=cv2.INTER_AREA)
            tiles.append(cv2.copyMakeBorder(image, gap // 2, gap - gap // 2, gap // 2, gap - gap // 2, cv2.BORDER_CONSTANT, value=(255, 255, 255)))
        rows.append(np.hstack(tiles))
    return cv2.cvtColor(np.vstack(rows), cv2.COLOR_BGR2RGB)


def write_contact_sheet(root: Path, subject_ids: Sequence[str], path: Path, *, tile: int = 160) -> Path:
    """Write :func:`contact_sheet` as a 256-colour PNG (small enough for documentation)."""
    from PIL import Image  # Pillow loads on first use

    sheet = contact_sheet(root, subject_ids, tile=tile)
    path.parent.mkdir(parents=True, exist_ok=True)
    palette = Image.fromarray(sheet).quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG)
    palette.save(path, optimize=True)
    return path
