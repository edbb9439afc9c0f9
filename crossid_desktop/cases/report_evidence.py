"""Evidence a matcher records with a search beyond the score, read for the comparison pages.

Two kinds plug into a candidate's comparison page when the search recorded them, and the page
says plainly when it did not:

**Skull-face correspondence** (X-ray queries), ``Candidate.craniofacial``: what the
craniofacial comparison of the skull with this candidate's photo found, one entry per X-ray
view (a list, or a mapping from the view's name to its entry)::

    {"status": ..., "reasons": [...],                   # the overall verdict (optional)
     "views": [{"view": "front" | "side",
                "status": "consistent" | "inconsistent" | "not assessable",
                "excluding": [landmark name, ...],      # the landmarks farthest out (an exclusion)
                "reasons": [str, ...],                  # why it could not be assessed
                "unit": "mm" | "px",
                "landmarks": [{"name": str, "predicted": [x, y], "measured": [x, y] | null,
                               "residual": float | null, "tolerance": float | null}, ...],
                "overlay_png_base64": str, "overlay_sha256": str}]}   # both optional

Keys other than these are ignored, and every key may be missing: a view without ``status`` is
"not assessable"; a record whose views are empty or missing but that carries a ``status`` is
shown as one overall verdict (with its ``excluding`` and ``reasons``). A matcher may write the
views as a mapping (``{"front": {...}}``, as the craniofacial matcher does) and leave the
landmark table and overlay to the figures made when the report is written (below).

``residual`` is the distance between where the skull puts the skin landmark and where the
photo shows it, ``tolerance`` the largest distance the skull allows there, both in ``unit``.
The overlay is the X-ray registered onto the candidate's photo, as a PNG whose SHA-256 the
record holds.

**Unreliable regions** (injured-face queries), ``QueryInfo.ignored``: the parts of the aligned
face the search left out, as a mask record ``{"source": "detected" | "examiner", "fraction":
share of the crop, "size": [S, S], "sha256": mask digest, "png_base64": the mask}``, the
digest being that of the mask's shape and bits (``"SxS|"`` followed by the packed bits).

Both are part of the stored search result, so the case's audit chain seals them; a picture
whose digest does not match is not shown, and the page says why. A matcher that makes its
overlays and tables again when the report is written (from the recorded search and the
gallery) hands them in as figures (:func:`with_figures`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.cases import report_strings as text

STATUSES = ("consistent", "inconsistent", "not assessable")
MASK_SOURCES = ("detected", "examiner")
#: the view name of a record's overall verdict when it names no views
OVERALL = "overall"
#: the colour (RGB) unreliable regions are tinted with, and how strongly (0..1)
MASK_TINT = (214, 40, 40)
MASK_ALPHA = 0.45


@dataclass(frozen=True)
class LandmarkResidual:
    """One landmark of the correspondence table; distances in the view's unit, None when the
    photo does not show the point."""

    name: str
    residual: float | None
    tolerance: float | None

    @property
    def within(self) -> bool | None:
        """Whether the residual is within tolerance (None when either is unknown)."""
        if self.residual is None or self.tolerance is None:
            return None
        return self.residual <= self.tolerance


@dataclass(frozen=True)
class ViewCorrespondence:
    """One X-ray view compared with one photo (see the module docstring)."""

    view: str
    status: str
    excluding: tuple[str, ...]
    reasons: tuple[str, ...]
    unit: str
    landmarks: tuple[LandmarkResidual, ...]
    overlay_png: bytes | None
    overlay_problem: str
    notes: tuple[str, ...] = ()  # said under the table (e.g. the examiner moved the overlay by hand)


@dataclass(frozen=True)
class IgnoredRegions:
    """The parts of the aligned face a search left out: ``mask`` ``(S, S)`` bool (True: left
    out), who marked them and the share of the crop they cover (0..1)."""

    mask: NDArray[np.bool_]
    source: str
    fraction: float


def craniofacial_views(record: Any) -> tuple[tuple[ViewCorrespondence, ...], str]:
    """The views of a ``Candidate.craniofacial`` record and a problem ("" when none); ``((),
    "")`` when nothing was recorded."""
    if record is None:
        return (), ""
    views = record.get("views") if isinstance(record, Mapping) else None
    if isinstance(views, Mapping):  # keyed by view: {"front": {...}, "side": {...}}
        views = [{"view": name, **v} for name, v in views.items() if isinstance(v, Mapping)]
    if not views and isinstance(record, Mapping) and record.get("status") in STATUSES:  # a verdict without views: said as one
        views = [{**record, "view": OVERALL}]
    if not isinstance(views, list) or not all(isinstance(v, Mapping) for v in views):
        return (), text.EVIDENCE_UNREADABLE
    return tuple(_view(v) for v in views), ""


def _view(v: Mapping[str, Any]) -> ViewCorrespondence:
    status = str(v.get("status", ""))
    rows = []
    for item in v.get("landmarks") or ():
        if isinstance(item, Mapping) and item.get("name"):
            rows.append(LandmarkResidual(str(item["name"]), _finite(item.get("residual")), _finite(item.get("tolerance"))))
    png, problem = _checked_png(v.get("overlay_png_base64"), v.get("overlay_sha256"))
    return ViewCorrespondence(
        view=str(v.get("view", "")), status=status if status in STATUSES else "not assessable",
        excluding=tuple(str(x) for x in v.get("excluding") or ()), reasons=tuple(str(x) for x in v.get("reasons") or ()),
        unit=str(v.get("unit", "")) or "?", landmarks=tuple(rows), overlay_png=png, overlay_problem=problem,
    )


def with_figures(views: tuple[ViewCorrespondence, ...], figures: Sequence[Any], subject_id: str) -> tuple[ViewCorrespondence, ...]:
    """``views`` completed with the figures made again when the report is written (objects with
    ``subject_id``, ``view``, ``picture`` (PNG/JPEG bytes or None), ``rows`` of (landmark,
    predicted, measured, residual, tolerance, within) texts such as "3.1 mm", and ``notes``):
    a figure's picture and table replace what the record lacks; a view only a figure names is
    added, its status taken from its table."""
    mine = [f for f in figures if getattr(f, "subject_id", None) == subject_id]
    out = list(views)
    for figure in mine:
        rows = tuple(LandmarkResidual(str(r[0]).replace(" ", "_"), _leading_number(r[3]), _leading_number(r[4])) for r in getattr(figure, "rows", ()) if len(r) >= 5)
        unit = next((str(r[3]).split()[-1] for r in getattr(figure, "rows", ()) if len(r) >= 5 and len(str(r[3]).split()) > 1), "")
        index = next((n for n, v in enumerate(out) if v.view == figure.view), None)
        if index is None:
            status = "not assessable" if not rows else ("inconsistent" if any(r.within is False for r in rows) else "consistent")
            out.append(ViewCorrespondence(figure.view, status, tuple(r.name for r in rows if r.within is False), (), unit or "?", rows, figure.picture, "",
                                          tuple(getattr(figure, "notes", ()))))
            continue
        view = out[index]
        out[index] = replace(view, overlay_png=view.overlay_png or figure.picture, landmarks=view.landmarks or rows, unit=view.unit if view.landmarks else (unit or view.unit),
                             notes=view.notes + tuple(getattr(figure, "notes", ())), overlay_problem="" if figure.picture is not None else view.overlay_problem)
    return tuple(out)


def _leading_number(value: Any) -> float | None:
    match = re.match(r"\s*(-?\d+(?:\.\d+)?)", str(value))
    return _finite(float(match.group(1))) if match else None


def _checked_png(encoded: Any, digest: Any) -> tuple[bytes | None, str]:
    if not encoded:
        return None, ""
    try:
        data = base64.b64decode(str(encoded), validate=True)
    except (binascii.Error, ValueError):
        return None, text.EVIDENCE_OVERLAY_UNDECODABLE
    if not digest or hashlib.sha256(data).hexdigest() != digest:
        return None, text.EVIDENCE_OVERLAY_CHANGED
    return data, ""


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def mask_digest(mask: NDArray[np.bool_]) -> str:
    """SHA-256 of a mask's shape and bits, independent of how it is encoded."""
    m = np.ascontiguousarray(np.asarray(mask, dtype=bool))
    return hashlib.sha256(f"{m.shape[0]}x{m.shape[1]}|".encode() + np.packbits(m).tobytes()).hexdigest()


def ignored_regions(record: Any) -> tuple[IgnoredRegions | None, str]:
    """The mask of a ``QueryInfo.ignored`` record and a problem ("" when none); ``(None, "")``
    when nothing was recorded."""
    from PIL import Image, UnidentifiedImageError  # Pillow loads on first use

    if record is None:
        return None, ""
    if not isinstance(record, Mapping) or not record.get("png_base64"):
        return None, text.EVIDENCE_MASK_UNREADABLE
    try:
        with Image.open(io.BytesIO(base64.b64decode(str(record["png_base64"]), validate=True))) as picture:
            mask = np.asarray(picture.convert("L")) > 127
    except (binascii.Error, ValueError, OSError, UnidentifiedImageError):
        return None, text.EVIDENCE_MASK_UNDECODABLE
    if mask_digest(mask) != record.get("sha256"):
        return None, text.EVIDENCE_MASK_CHANGED
    source = str(record.get("source", ""))
    return IgnoredRegions(mask, source if source in MASK_SOURCES else "detected", float(mask.mean())), ""


def tint_regions(face: NDArray[np.uint8], mask: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """``face`` ``(H, W, 3)`` or ``(H, W)`` uint8 with the regions of ``mask`` (any square
    size, scaled to the face) tinted and outlined: ``(H, W, 3)`` uint8."""
    from PIL import Image  # Pillow loads on first use

    rgb = np.repeat(face[..., None], 3, axis=2) if face.ndim == 2 else face[..., :3]
    scaled = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((rgb.shape[1], rgb.shape[0]), Image.NEAREST)) > 127
    out = rgb.astype(np.float32)
    tint = np.asarray(MASK_TINT, np.float32)
    out[scaled] = (1 - MASK_ALPHA) * out[scaled] + MASK_ALPHA * tint
    inner = scaled.copy()
    inner[1:, :] &= scaled[:-1, :]
    inner[:-1, :] &= scaled[1:, :]
    inner[:, 1:] &= scaled[:, :-1]
    inner[:, :-1] &= scaled[:, 1:]
    out[scaled & ~inner] = tint
    return np.round(out).astype(np.uint8)
