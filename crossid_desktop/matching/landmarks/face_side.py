"""Landmarks of a profile photo, from the contour of the head's silhouette.

1. The backdrop is modelled from the photo's border (a smooth colour field: a plane in x and y
   per channel, refitted without the border pixels it does not explain) and the head is the
   largest region unlike it (:func:`silhouette`). A photo whose border is not a plain backdrop
   gets no profile (:class:`~crossid_desktop.errors.NoFaceFoundError`).
2. The face's side is the one where the profile model's face (step 4) lies clearly best on the
   outline; where it does not decide (or without the model), the one whose outline has a chin
   and a throat below its nose, and where both or neither have, the sharper nose. A profile facing the image's left is mirrored,
   found, and mirrored back.
3. The front outline, top of the head to the neck, is the silhouette's contour (smoothed along
   its length), and the points are found on it by the anatomical
   rules of :mod:`crossid_desktop.anatomy.landmarks` (:mod:`~crossid_desktop.matching.landmarks.face_profile_rules`):
   the nose tip is the most prominent protrusion, the lips' meeting point and the labiomental
   fold the deepest notches below it, soft-tissue menton the chin's lowest point before the
   throat, and the rest the extremes or the points farthest from the chord between these.
4. Where the profile model is installed (``resources/models/face_landmarks_side.dat``,
   :mod:`~crossid_desktop.matching.landmarks.face_side_model`), it places the points from the
   photo's pixels in a box set from a candidate nose tip (every protrusion the rules would take
   for one) and the top of the head; the rules alone (without the model, with a warning) are
   three to five times less accurate on synthetic profiles.

Points the rules or the model cannot place (a profile without a clear notch between the lips, a
chin cut by the photo's edge) are missing, with a warning; nothing is clipped. The photo is
assumed upright (a tilt of a few degrees moves the rules' flattest points, glabella and menton,
along the outline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import NoFaceFoundError
from crossid_desktop.imaging.face_detect import as_rgb
from crossid_desktop.matching.landmarks.face_points import FacePoints
from crossid_desktop.matching.landmarks.face_profile_rules import _resample, nose_tip, profile_points, protrusions
from crossid_desktop.matching.landmarks.face_side_model import MODEL_NAME, load_profile_model, profile_model_points

#: a pixel whose colour differs from the modelled backdrop by more than this many standard
#: deviations of the border's fit (and at least :data:`MIN_CONTRAST` levels) is foreground
CONTRAST_SIGMAS, MIN_CONTRAST = 6.0, 24.0
#: the head must cover at least this share of the photo
MIN_HEAD_SHARE = 0.05


def _backdrop(rgb: NDArray[np.float32]) -> tuple[NDArray[np.float32], float]:
    """The backdrop's colour at every pixel (a plane per channel fitted to the border pixels,
    twice without the worst-fitting third) and the fit's residual spread (levels)."""
    h, w = rgb.shape[:2]
    band = max(2, min(h, w) // 50)
    mask = np.zeros((h, w), bool)
    mask[:band], mask[-band:], mask[:, :band], mask[:, -band:] = True, True, True, True
    ys, xs = np.nonzero(mask)
    design = np.column_stack([np.ones(len(ys)), ys / h, xs / w])
    values = rgb[ys, xs]
    keep = np.ones(len(ys), bool)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
        error = np.abs(design @ coef - values).sum(axis=1)
        keep = error <= np.quantile(error, 0.66)
    spread = float(np.median(error[keep])) + 1.0
    yy, xx = np.mgrid[0:h, 0:w]
    field = coef[0] + (yy / h)[..., None] * coef[1] + (xx / w)[..., None] * coef[2]
    return field.astype(np.float32), spread


def silhouette(rgb: NDArray[Any]) -> tuple[NDArray[np.bool_], NDArray[np.float32]]:
    """The head's mask (largest foreground region, holes filled) and the per-pixel contrast
    against the backdrop (levels, summed over the channels)."""
    import cv2  # heavy import kept local

    image = as_rgb(rgb).astype(np.float32)
    field, spread = _backdrop(image)
    contrast = np.abs(image - field).sum(axis=2)
    threshold = max(MIN_CONTRAST, CONTRAST_SIGMAS * spread)
    fore = (contrast > threshold).astype(np.uint8)
    fore = cv2.morphologyEx(fore, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fore)
    if count < 2:
        raise NoFaceFoundError("No head stands out from the photo's backdrop.")
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    mask = (labels == largest).astype(np.uint8)
    if mask.mean() < MIN_HEAD_SHARE:
        raise NoFaceFoundError("No head stands out from the photo's backdrop.")
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros_like(mask)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool), contrast / threshold


def front_outline(mask: NDArray[np.bool_]) -> NDArray[np.float64]:
    """The silhouette's outline from the top of the head down its right side to the lowest row,
    ``(n, 2)`` (x, y) pixels, smoothed along its length (Gaussian, 1 px) for sub-pixel places."""
    import cv2  # heavy import kept local

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float64)
    n = len(contour)
    top = int(np.lexsort((-contour[:, 0], contour[:, 1]))[0])  # highest, then rightmost
    bottom = int(np.lexsort((-contour[:, 0], -contour[:, 1]))[0])  # lowest, then rightmost
    forward = contour[(top + np.arange((bottom - top) % n + 1)) % n]
    backward = contour[(top - np.arange((top - bottom) % n + 1)) % n]
    path = forward if forward[:, 0].mean() > backward[:, 0].mean() else backward
    kernel = np.exp(-0.5 * np.arange(-3, 4) ** 2)
    kernel /= kernel.sum()
    smooth = np.column_stack([np.convolve(np.pad(path[:, k], 3, mode="edge"), kernel, mode="valid") for k in (0, 1)])
    return smooth


#: the model's face must lie this many times better on one side's outline than on the other's to
#: decide the side on its own (else the contour rules' chin and nose decide)
SIDE_MARGIN = 2.0


class _Side(NamedTuple):
    """One way the profile may look: the photo as it is or mirrored, with its front outline (and
    that outline resampled), the contour rules' points and warnings on it, and the rules' order
    of preference (no chin and throat below the nose last, then the blunter nose)."""

    mirrored: bool
    outline: NDArray[np.float64]
    path: NDArray[np.float64]
    points: dict[str, tuple[float, float]]
    warnings: list[str]

    @property
    def preference(self) -> tuple[bool, float]:
        return "menton_soft" not in self.points, nose_tip(self.path)[1]


def _model_side(predictor: Any, rgb: NDArray[np.uint8], sides: list[_Side]) -> tuple[dict[str, tuple[float, float]], list[str], bool]:
    """The profile model's points, warnings and side (mirrored or not): the side where the model's
    face lies clearly best on the outline (:data:`SIDE_MARGIN`), else the one with a chin and
    throat below the nose, then the sharper nose. Where the model places no face on either side,
    no points, with a warning."""
    fitted = []
    for side in sides:
        tips = [(float(side.path[k, 0]), float(side.path[k, 1])) for k in protrusions(side.path)]
        if not tips:
            continue
        found, notes, misfit = profile_model_points(predictor, np.ascontiguousarray(rgb[:, ::-1]) if side.mirrored else rgb, side.outline, tips)
        fitted.append((misfit, side.preference, found, notes, side.mirrored))
    fitted = [side for side in fitted if np.isfinite(side[0])]
    if not fitted:  # no points rather than the rules' far less certain ones
        return {}, ["The profile model found no face on the head's outline: no profile landmarks."], False
    fitted.sort(key=lambda side: side[0])
    if len(fitted) == 1 or fitted[0][0] * SIDE_MARGIN < fitted[1][0]:
        return fitted[0][2], fitted[0][3], fitted[0][4]
    _, _, found, notes, mirrored = min(fitted, key=lambda side: side[1])
    return found, notes, mirrored


def detect_face_side(rgb: NDArray[Any], *, model: Path | None = None) -> FacePoints:
    """The profile landmarks of the head in ``rgb`` (module docstring); ``model``: the profile
    model's file (default the installed one, :mod:`.face_side_model`)."""
    rgb = as_rgb(rgb)
    mask, _ = silhouette(rgb)
    width, height = rgb.shape[1], rgb.shape[0]
    sides = [_Side(mirrored, outline, _resample(outline), *profile_points(outline, image_height=height))
             for mirrored, outline in ((False, front_outline(mask)), (True, front_outline(mask[:, ::-1])))]
    predictor = load_profile_model(model)
    if predictor is None:  # a chin and throat below the nose, then the sharper nose
        chosen = min(sides, key=lambda side: side.preference)
        mirrored, points = chosen.mirrored, chosen.points
        warnings = [*chosen.warnings, f"The profile landmark model ({MODEL_NAME}) is not installed: the contour rules placed the points."]
        detector = "profile contour"
    else:
        points, warnings, mirrored = _model_side(predictor, rgb, sides)
        detector = "profile contour + profile model"
    if mirrored:
        points = {name: (width - 1 - x, y) for name, (x, y) in points.items()}
    return FacePoints.from_dict("face-side", points, detector, tuple(warnings), mirrored=mirrored)
