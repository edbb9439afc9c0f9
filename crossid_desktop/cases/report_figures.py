"""Pictures in the case report: the query as searched and as preprocessed, face thumbnails,
and the chart of candidate scores.

The preprocessed query is recomputed from the original file with the parameters the case
recorded, after checking that the file still has the recorded SHA-256; a file that moved or
changed is named in the report instead of being shown. A face photo is cut out with the
alignment the search recorded, and the parts the search left out are tinted red over it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.cases import report_strings as text
from crossid_desktop.cases.fonts import SANS, register_fonts
from crossid_desktop.errors import CrossIDError
from crossid_desktop.imaging.faces import warp_to_crop
from crossid_desktop.imaging.io import load_image
from crossid_desktop.imaging.masks import mask_from_record
from crossid_desktop.matching.preprocess import FaceChoice, prepare_query
from crossid_desktop.search.service import Candidate, QueryInfo

#: longest side (px) of a picture embedded in a report; the file's hash identifies the original
MAX_EMBEDDED_PX = 640
#: JPEG quality of the display copies embedded in a report (visually lossless)
JPEG_QUALITY = 92


@dataclass(frozen=True)
class QueryPictures:
    """The query as loaded (RGB or grey uint8) and as prepared for the matcher, or why not."""

    original: NDArray[np.uint8] | None
    preprocessed: NDArray[np.uint8] | None
    preprocessed_caption: str
    problem: str = ""


def to_uint8(image: NDArray[Any]) -> NDArray[np.uint8]:
    """Display copy: uint16 -> uint8 (x / 257), float in [0, 1] -> uint8, shape kept."""
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return np.round(array / 257.0).astype(np.uint8)
    return np.round(np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


def display_bytes(image: NDArray[Any], max_px: int = MAX_EMBEDDED_PX, *, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG display copy of ``image``, downscaled so its longer side is at most ``max_px``."""
    from PIL import Image as PILImage  # Pillow loads on first use

    picture = PILImage.fromarray(to_uint8(image))
    if max(picture.size) > max_px:
        scale = max_px / max(picture.size)
        picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))), PILImage.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def as_jpeg(encoded: bytes, *, quality: int = JPEG_QUALITY) -> bytes:
    """A stored picture (e.g. a PNG thumbnail) re-encoded as a JPEG display copy."""
    from PIL import Image as PILImage  # Pillow loads on first use

    with PILImage.open(io.BytesIO(encoded)) as picture:
        buffer = io.BytesIO()
        picture.convert("RGB" if picture.mode not in ("L", "RGB") else picture.mode).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def flowable(png: bytes, max_width: float, max_height: float):
    """A reportlab Image of encoded picture bytes (PNG or JPEG), fitted inside ``max_width`` x ``max_height`` points."""
    from PIL import Image as PILImage  # Pillow loads on first use
    from reportlab.platypus import Image  # reportlab loads only when a PDF is written

    with PILImage.open(io.BytesIO(png)) as picture:
        width, height = picture.size
    scale = min(max_width / width, max_height / height)
    return Image(io.BytesIO(png), width=width * scale, height=height * scale)


def query_pictures(query: QueryInfo, preprocessing: Mapping[str, Any]) -> QueryPictures:
    """Load a recorded query again, check its hash and redo its preprocessing."""

    if not query.path:
        return QueryPictures(None, None, "", text.PICTURE_IN_MEMORY)
    try:
        image = load_image(query.path, frame=int(query.meta.get("frame", 0) or 0))
    except CrossIDError as error:
        return QueryPictures(None, None, "", text.PICTURE_UNREADABLE.format(error=error))
    if image.sha256 != query.sha256:
        return QueryPictures(None, None, "", text.PICTURE_CHANGED.format(path=query.path, sha256=image.sha256))
    recipe = dict(preprocessing.get("query", {})) if isinstance(preprocessing, Mapping) else {}
    if query.modality.startswith("xray") and "soft_tissue" not in recipe:
        return QueryPictures(to_uint8(image.pixels), None, "", text.PICTURE_NO_SOFT_TISSUE)
    if query.face is not None and query.face.get("transform"):
        return _recorded_face(image, query)
    try:
        prepared = prepare_query(image, query.modality, recipe, FaceChoice(face=1, allow_centre_crop=True))
        caption = prepared.caption
        prepared = to_uint8(prepared.pixels)
    except CrossIDError as error:
        return QueryPictures(to_uint8(image.pixels), None, "", text.PICTURE_NOT_REPEATED.format(error=error))
    return QueryPictures(to_uint8(image.pixels), prepared, caption)


def _recorded_face(image: Any, query: QueryInfo) -> QueryPictures:
    """The face photo cut out as the search aligned it, the parts it left out tinted red."""
    face = query.face or {}
    crop = warp_to_crop(image.rgb_uint8(), np.asarray(face["transform"], dtype=np.float64), int(face.get("size", 256)))
    caption = f"aligned to the canonical face crop by {face.get('alignment')}" + (f" (face {face['number']} of {face['found']})" if face.get("found", 0) > 1 else "")
    if query.ignored is not None:
        try:
            mask = mask_from_record(query.ignored)
        except (CrossIDError, KeyError, ValueError) as error:
            return QueryPictures(to_uint8(image.pixels), crop, caption, f"The mask of the parts left out cannot be shown: {error}")
        if mask.shape == crop.shape[:2]:
            red = np.array([230, 40, 40], np.float32)
            crop = np.where(mask[..., None], 0.55 * crop + 0.45 * red, crop).astype(np.uint8)
            who = "the examiner" if query.ignored.get("source") == "examiner" else "the injury segmenter"
            caption += f"; red: {100 * float(query.ignored.get('fraction', 0)):.1f} % left out of the search, marked by {who}"
    return QueryPictures(to_uint8(image.pixels), crop, caption)


def score_chart(candidates: Sequence[Candidate], *, width: float, bar_height: float = 13.0):
    """A horizontal bar chart of the candidates' confidence (%), rank 1 on top."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart  # reportlab loads only when a PDF is written
    from reportlab.graphics.shapes import Drawing, String  # reportlab loads only when a PDF is written
    from reportlab.lib import colors  # reportlab loads only when a PDF is written


    register_fonts()
    shown = list(candidates)[:30]
    height = max(60.0, bar_height * len(shown) + 45.0)
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 110, 30
    chart.width, chart.height = width - 140, height - 45
    chart.data = [[round(c.confidence * 100.0, 2) for c in reversed(shown)]]
    chart.categoryAxis.categoryNames = [_label(c) for c in reversed(shown)]
    chart.categoryAxis.labels.fontName = SANS
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 10
    chart.valueAxis.labels.fontName = SANS
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#4a6fa5")
    chart.bars[0].strokeColor = None
    chart.barLabelFormat = "%.1f"
    chart.barLabels.fontName = SANS
    chart.barLabels.fontSize = 6
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    axis = text.SCORE_AXIS_RATIO if any(getattr(c, "craniofacial", None) for c in candidates) else text.SCORE_AXIS
    drawing.add(String(chart.x + chart.width / 2, 8, axis, fontName=SANS, fontSize=7, textAnchor="middle"))
    return drawing


def _label(candidate: Candidate) -> str:
    subject = candidate.subject_id if len(candidate.subject_id) <= 16 else candidate.subject_id[:15] + "…"
    return f"{candidate.rank}. {subject}"


def face_pairs(query: Any) -> list[tuple[str, str]]:
    """Which face of a photo was searched, what was left out of the search, and the warnings."""
    pairs = []
    if query.face is not None:
        number = query.face.get("number")
        shown = f"{number} of {query.face.get('found')} found (largest first)" if number else "none found: the central square was searched"
        pairs.append(("Face searched", f"{shown}; aligned by {query.face.get('alignment')}"))
    if query.ignored is not None:
        who = "the examiner with the brush" if query.ignored.get("source") == "examiner" else "the injury segmenter"
        pairs.append(("Left out of the search", f"{100 * float(query.ignored.get('fraction', 0)):.1f} % of the aligned face, marked by {who} "
                                                f"(mask SHA-256 {query.ignored.get('sha256')})"))
    pairs += [("WARNING", w) for w in query.warnings]
    return pairs
