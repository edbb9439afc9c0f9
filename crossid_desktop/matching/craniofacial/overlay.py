"""Skull-face overlay: the fitted registration put to use on a candidate's photo.

The registration found by :mod:`.assess` maps the photo into the skull's canonical frame, and
the skull's own alignment maps the X-ray there; together they carry the X-ray onto the photo
(a similarity: ``xray_to_photo``). On the photo then lie: the skull landmarks, the face
landmarks the skull predicts, the soft-tissue depth vectors between paired points, and the
photo's measured landmarks. :func:`correspondence_table` lists, per landmark, the predicted and
measured positions, the residual and its tolerance in the query's unit (mm where the X-ray's
pixel spacing is known, else X-ray pixels). The examiner may move the overlay by hand: a
similarity applied after the fitted one (``adjustment``), recorded with the case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.matching.craniofacial.assess import Fit
from crossid_desktop.matching.craniofacial.consistency import Tolerance
from crossid_desktop.matching.craniofacial.geometry import IDENTITY, Similarity
from crossid_desktop.matching.craniofacial.model import Prediction


@dataclass(frozen=True)
class TableRow:
    """One landmark of the correspondence table (positions in photo pixels, lengths in ``unit``)."""

    landmark: str
    predicted: tuple[float, float]
    measured: tuple[float, float]
    residual: float
    tolerance: float
    within: bool
    unit: str


@dataclass(frozen=True, eq=False)
class Overlay:
    """Everything drawn on a candidate's photo (pixels of that photo).

    ``xray_to_photo`` warps the X-ray (its pixels) onto the photo; ``skull`` ``(k, 2)`` the skull
    landmarks; ``predicted`` ``(m, 2)`` the face points the skull predicts (names of the
    prediction); ``depth_vectors`` ``(skull point, predicted skin point, name)`` for the paired
    points; ``measured`` the photo's own points by name. ``adjustment`` is the examiner's.
    """

    xray_to_photo: Similarity
    skull: NDArray[np.float64]
    skull_names: tuple[str, ...]
    predicted: NDArray[np.float64]
    predicted_names: tuple[str, ...]
    depth_vectors: tuple[tuple[tuple[float, float], tuple[float, float], str], ...]
    measured: dict[str, tuple[float, float]]
    adjustment: Similarity = IDENTITY
    reliable: bool = True
    note: str | None = None


def build_overlay(prediction: Prediction, fit: Fit, *, adjustment: Similarity = IDENTITY, frame: Similarity = IDENTITY) -> Overlay:
    """The overlay of a fitted photo (``fit`` must be assessable). ``frame`` takes the photo's
    points (as the model read them) into the pixels of the picture shown; the examiner's
    ``adjustment`` (shown pixels to shown pixels) then moves the skull side; measured points stay."""
    if not fit.assessable:
        raise ValueError(f"A photo that was not compared cannot be overlaid: {fit.problem}")
    to_photo = fit.registration.inverse().then(frame).then(adjustment)
    xray_to_photo = prediction.skull_to_canonical.then(to_photo)
    skull = to_photo.apply(prediction.skull)
    predicted = to_photo.apply(prediction.mean)
    pair = prediction.pair
    vectors = tuple((tuple(map(float, skull[pair.skull_names.index(c.skull)])), tuple(map(float, predicted[prediction.names.index(c.face)])), c.face)
                    for c in pair.correspondences)
    photo_points = fit.registration.inverse().then(frame).apply(fit.residuals + prediction.mean[[prediction.names.index(n) for n in fit.names]])
    measured = {n: (float(x), float(y)) for n, (x, y) in zip(fit.names, photo_points)}
    reasons = [_estimated(prediction.imputed, found=False), _estimated(prediction.set_aside, found=True),
               f"the skull landmarks are uncertain ({prediction.uncertainty_ratio:.1f} times the usual spread)"
               if prediction.uncertainty_ratio > 1.5 and not (prediction.imputed or prediction.set_aside) else ""]
    note = "The overlay is less reliable: " + "; ".join(r for r in reasons if r) + "." if any(reasons) else None
    return Overlay(xray_to_photo, skull, pair.skull_names, predicted, prediction.names, vectors, measured, adjustment, note is None, note)


def _estimated(names: tuple[str, ...], *, found: bool) -> str:
    """What became of skull landmarks that were estimated: not found, or (``found``) detected
    but set aside; empty without ``names``."""
    if not names:
        return ""
    verb = "was" if len(names) == 1 else "were"
    subject = f"the {'detected ' if found else ''}skull landmark{'' if len(names) == 1 else 's'} {', '.join(n.replace('_', ' ') for n in names)}"
    return f"{subject} did not fit the others and {verb} estimated from them" if found else f"{subject} {verb} not found and {verb} estimated"


def correspondence_table(prediction: Prediction, fit: Fit, tolerance: Tolerance, *, to_photo: Similarity = IDENTITY) -> list[TableRow]:
    """Per compared landmark: predicted and measured position on the photo, the residual's length
    and the tolerance along its direction (the radius, in that direction, of the ellipse within
    which the landmark's misfit stays under its limit, :meth:`Tolerance.point_limit`), in the
    query's unit (:attr:`Prediction.unit`). ``to_photo`` moves the positions after the fitted
    registration (the examiner's adjustment; the residuals are the fitted registration's)."""
    to_photo = fit.registration.inverse().then(to_photo)
    limit = tolerance.point_limit()
    rows = []
    for name, residual, cov in zip(fit.names, fit.residuals, fit.point_cov):
        j = prediction.names.index(name)
        length = float(np.hypot(*residual))
        direction = residual / length if length > 0 else np.array([1.0, 0.0])
        allowed = math.sqrt(limit / float(direction @ np.linalg.solve(cov, direction)))  # the tolerance ellipse's radius along the residual
        predicted = to_photo.apply(prediction.mean[j][None, :])[0]
        measured = to_photo.apply((prediction.mean[j] + residual)[None, :])[0]
        rows.append(TableRow(name, (float(predicted[0]), float(predicted[1])), (float(measured[0]), float(measured[1])),
                             float(prediction.to_report_units(length)), float(prediction.to_report_units(allowed)),
                             length <= allowed, prediction.unit))
    return rows
