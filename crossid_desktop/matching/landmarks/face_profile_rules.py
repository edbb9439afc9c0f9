"""The profile's soft-tissue landmarks on its outline, by their anatomical rules.

The outline runs from the top of the head down the face to the neck, face towards +x, ``y``
down (image pixels). Lengths are judged against the outline's height ``H``. The rules, in the
order they are applied:

- pronasale: among the peaks of x standing out by 2 % of ``H`` on both sides, with room for a
  forehead above and a chin below (22 % and 15 % of ``H``), and nearly as sharp as the sharpest
  (within 30 degrees), the one nearest the nose's usual height, two thirds of the way from the
  top of the outline to the chin (the nose, even where the lips or the chin reach further
  forward or the hair's edge is as sharp; not the broad curve of the back of the head). Where
  the hair does not stand out from the backdrop the outline starts lower and a full upper lip
  can be taken for the nose;
- glabella': the most forward point between the forehead (the outline 22 % of ``H`` above the
  nose tip) and the nasal root (the point farthest behind the chord forehead-nose tip);
  nasion': the deepest (least forward) point between glabella' and the nose tip;
- menton': going down from 15 % of ``H`` below the nose tip, the first lowest point after which
  the outline rises (towards the throat) by at least 0.6 % of ``H``;
- below the nose, measured as shares of the height from menton' up to the nose tip (faces'
  usual proportions): pogonion', the most forward point in the lowest 30 %; the upper and lower
  lip's fullest points, the most forward in 60-85 % and 40-62 %; subnasale, stomion and
  sublabiale, the points farthest behind the chords nose tip-upper lip, upper lip-lower lip and
  lower lip-pogonion'; labrale superius and inferius, the points farthest in front of the chords
  subnasale-stomion and stomion-sublabiale; gnathion', the point farthest from the chord
  pogonion'-menton', forwards and down.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Point = tuple[float, float]

#: outline resampling step (pixels) and the smoothing (pixels along the outline) before peaks are read
STEP, SMOOTH = 0.5, 1.0
#: thresholds as shares of the outline's height
NOSE_PROMINENCE, THROAT_RISE = 0.02, 0.006
#: the chin lies at least this share of ``H`` below the nose tip
CHIN_DROP = 0.15
#: the nose's prominence is judged within this share of ``H`` along the outline on each side
#: (a sharp protrusion: not the broad curve of the back of the head)
NOSE_REACH = 0.25
#: the nose tip's sharpness is judged between the outline points this share of ``H`` away; of
#: protrusions within this many degrees of the sharpest, the uppermost is the nose (a full lip
#: can be as sharp)
NOSE_SPAN, NOSE_MARGIN = 0.04, 30.0
#: the nose tip's usual height as a share of the distance from the top of the outline to the chin
NOSE_HEIGHT = 0.66
#: a protrusion sharper than this (degrees) is no nose (a lock of hair, a collar's corner)
NOSE_SHARPEST = 60.0
#: the forehead point: this share of the outline's height above the nose tip
FOREHEAD = 0.22
#: bands below the nose, as shares of the height from menton' (0) to the nose tip (1)
CHIN_BAND, UPPER_LIP_BAND, LOWER_LIP_BAND = (0.0, 0.3), (0.6, 0.85), (0.4, 0.62)


def _resample(outline: NDArray[np.float64]) -> NDArray[np.float64]:
    """The outline at equal steps of :data:`STEP` pixels along it, smoothed by :data:`SMOOTH`."""
    length = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(outline, axis=0).T))])
    at = np.arange(0.0, length[-1], STEP)
    path = np.column_stack([np.interp(at, length, outline[:, 0]), np.interp(at, length, outline[:, 1])])
    radius = int(3 * SMOOTH / STEP)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) * STEP / SMOOTH) ** 2)
    kernel /= kernel.sum()
    return np.column_stack([np.convolve(np.pad(path[:, k], radius, mode="edge"), kernel, mode="valid") for k in (0, 1)])


def _two_sided_prominence(x: NDArray[np.float64], i: int) -> float:
    """How far ``x[i]`` stands above the lowest value on each side before a higher value (the
    smaller of the two drops)."""
    drops = []
    for side in (x[i::-1], x[i:]):
        higher = np.flatnonzero(side > x[i])
        reach = side[: higher[0]] if higher.size else side
        drops.append(x[i] - float(reach.min()))
    return min(drops)


def _local_maxima(x: NDArray[np.float64]) -> NDArray[np.intp]:
    return np.flatnonzero((x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])) + 1


def _walk(values: NDArray[np.float64], start: int, step: int, turn: float, find_min: bool) -> int | None:
    """From ``start`` moving by ``step``, the running minimum (maximum) of ``values`` at the moment
    the values have come back from it by ``turn``; None when they never do."""
    best, best_i, i = values[start], start, start
    while 0 <= i + step < len(values):
        i += step
        v = values[i]
        if (v < best) if find_min else (v > best):
            best, best_i = v, i
        elif (v - best if find_min else best - v) >= turn:
            return best_i
    return None


def _farthest(path: NDArray[np.float64], i: int, j: int, towards: Point) -> int:
    """Between ``i`` and ``j``, the point farthest from their chord on the side of ``towards``."""
    a, b = path[i], path[j]
    d = b - a
    normal = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9)
    if normal @ np.asarray(towards) < 0:
        normal = -normal
    lo, hi = min(i, j), max(i, j)
    return lo + int(np.argmax((path[lo:hi + 1] - a) @ normal))


def _opening(path: NDArray[np.float64], k: int, span: int) -> float:
    """The angle (degrees) at ``path[k]`` between the chords to the points ``span`` steps before
    and after it: small at a sharp protrusion, near 180 along a straight stretch."""
    a, b = path[max(0, k - span)] - path[k], path[min(len(path) - 1, k + span)] - path[k]
    cosine = float(a @ b) / max(float(np.hypot(*a) * np.hypot(*b)), 1e-9)
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))


def protrusions(path: NDArray[np.float64]) -> dict[int, float]:
    """The protrusions of the resampled ``path`` that could be the nose tip, by index, with their
    opening angles (degrees): peaks of x standing out by :data:`NOSE_PROMINENCE` of the outline's
    height within :data:`NOSE_REACH` of it on both sides, with a forehead above and a chin below,
    not sharper than :data:`NOSE_SHARPEST` (a spike of hair)."""
    x, height = path[:, 0], float(np.ptp(path[:, 1]))
    reach, span = int(NOSE_REACH * height / STEP), max(2, int(NOSE_SPAN * height / STEP))

    def prominence(k: int) -> float:
        lo, hi = max(0, k - reach), min(len(x), k + reach + 1)
        return _two_sided_prominence(x[lo:hi], k - lo)

    y = path[:, 1]
    room = (y >= y.min() + FOREHEAD * height) & (y <= y.max() - CHIN_DROP * height)  # a forehead above, a chin below
    peaks = [int(k) for k in _local_maxima(x) if room[k] and prominence(int(k)) >= NOSE_PROMINENCE * height]
    openings = {k: _opening(path, k, span) for k in peaks}
    return {k: angle for k, angle in openings.items() if angle >= NOSE_SHARPEST}


def nose_tip(path: NDArray[np.float64]) -> tuple[int, float]:
    """The nose tip's index on the resampled ``path`` and its opening angle (degrees; 180 when
    no protrusion stands out): of the :func:`protrusions`, the sharpest (the smallest angle
    between the chords to the outline :data:`NOSE_SPAN` of the height away), or of those nearly
    as sharp the one at the nose's usual height."""
    y, height = path[:, 1], float(np.ptp(path[:, 1]))
    openings = protrusions(path)
    if not openings:
        return 0, 180.0
    sharpest = min(openings, key=openings.get)
    candidates = [k for k, angle in openings.items() if angle <= openings[sharpest] + NOSE_MARGIN]
    chin = _chin(path, sharpest, height)
    if chin is None:
        return sharpest, openings[sharpest]
    # of protrusions nearly as sharp, the one at the nose's usual height between the top of the
    # outline and the chin (a full lip can be as sharp, and so can the edge of the hair)
    share = {k: (y[k] - y.min()) / max(y[chin] - y.min(), 1e-9) for k in candidates}
    tip = min(candidates, key=lambda k: abs(share[k] - NOSE_HEIGHT))
    return tip, openings[tip]


def _chin(path: NDArray[np.float64], start: int, height: float) -> int | None:
    """Going down from :data:`CHIN_DROP` of ``height`` below ``start``, the first lowest point
    after which the outline rises (towards the throat) by :data:`THROAT_RISE` of ``height``."""
    y = path[:, 1]
    below = np.flatnonzero(y[start:] >= y[start] + CHIN_DROP * height)
    return _walk(-y, start + int(below[0]), 1, THROAT_RISE * height, find_min=True) if below.size else None


def profile_points(outline: NDArray[np.float64], *, image_height: int) -> tuple[dict[str, Point], list[str]]:
    """The profile landmarks found on ``outline`` (module docstring) and the warnings."""
    path = _resample(outline)
    y = path[:, 1]
    height = float(y.max() - y.min())
    tip, opening = nose_tip(path)
    if opening >= 180.0:
        return {}, ["The outline shows no clear nose: no profile landmarks."]
    found: dict[str, int] = {"pronasale": tip}
    warnings: list[str] = []
    above = np.flatnonzero(y[:tip] <= y[tip] - FOREHEAD * height)
    if above.size:
        forehead = int(above[-1])
        first = _farthest(path, forehead, tip, (-1.0, 0.0))  # the nasal root, roughly
        glabella = forehead + int(np.argmax(path[forehead:first + 1, 0]))
        found["glabella_soft"] = glabella
        found["nasion_soft"] = glabella + int(np.argmin(path[glabella:tip + 1, 0]))
    else:
        warnings.append("The forehead is cut by the photo's edge: glabella and nasion are missing.")
    menton = _chin(path, tip, height)
    if menton is None or y[menton] >= image_height - 2:
        warnings.append("The chin's lowest point was not found (the outline does not rise towards the throat, "
                        "or the chin is cut by the photo's edge): menton and the points between lips and chin are missing.")
    else:
        found.update(_lower_face(path, tip, menton))
    return {name: (float(path[i, 0]), float(path[i, 1])) for name, i in found.items()}, warnings


def _band_front(path: NDArray[np.float64], tip: int, menton: int, band: tuple[float, float]) -> int:
    """The most forward point between ``tip`` and ``menton`` at heights within ``band`` (shares of
    the height from menton' up to the tip)."""
    y_tip, y_menton = path[tip, 1], path[menton, 1]
    share = (y_menton - path[tip:menton + 1, 1]) / max(y_menton - y_tip, 1e-9)
    inside = np.flatnonzero((share >= band[0]) & (share <= band[1]))
    if inside.size == 0:
        return menton
    return tip + int(inside[np.argmax(path[tip + inside, 0])])


def _lower_face(path: NDArray[np.float64], tip: int, menton: int) -> dict[str, int]:
    """Subnasale, the lips, stomion, sublabiale, pogonion', gnathion' and menton'."""
    pogonion = _band_front(path, tip, menton, CHIN_BAND)
    upper = _band_front(path, tip, menton, UPPER_LIP_BAND)
    lower = _band_front(path, tip, menton, LOWER_LIP_BAND)
    subnasale = _farthest(path, tip, upper, (-1.0, 0.0))
    stomion = _farthest(path, upper, lower, (-1.0, 0.0))
    fold = _farthest(path, lower, pogonion, (-1.0, 0.0))
    return {
        "subnasale": subnasale,
        "labrale_superius": _farthest(path, subnasale, stomion, (1.0, 0.0)),
        "stomion": stomion,
        "labrale_inferius": _farthest(path, stomion, fold, (1.0, 0.0)),
        "sublabiale": fold,
        "pogonion_soft": pogonion,
        "gnathion_soft": _farthest(path, pogonion, menton, (1.0, 1.0)),
        "menton_soft": menton,
    }
