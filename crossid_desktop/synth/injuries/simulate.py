"""Realistic injury simulation on aligned face crops, for training, tests and demonstrations.

The injured-face publication (METHODS.md section 2) annotates injuries in seven regions:
forehead, both eyes, both cheeks, nose and mouth. :func:`simulate_injury` draws one injury (or
two to three, "multiple") into such regions of a face crop in the canonical layout
(``imaging/canonical.py``): a bruise, swelling, laceration, abrasion, burn, dried blood or a
bandage, shaped irregularly inside the region's box, at a random position, size and rotation
drawn from the seed. The effects live in ``synth/injuries/effects.py``, their drawing
primitives in ``synth/injuries/rendering.py``.

The result is deterministic for a seed, leaves the image untouched at severity 0, and returns
a mask of the injured pixels: every pixel the simulation changed lies inside that mask grown
by a small blend margin (:func:`blend_margin`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.canonical import CANONICAL, CanonicalLayout, FaceRegion
from crossid_desktop.synth.injuries import effects as fx
from crossid_desktop.synth.injuries.rendering import Spot

#: the smallest crop side accepted, in pixels
MIN_SIZE = 64
#: the pixels where ``footprint`` >= this count as injured in the returned mask
MASK_LEVEL = 0.04
MULTIPLE = "multiple"


class InjuryKind(str, Enum):
    """What the simulation draws."""

    BRUISE = "bruise"
    SWELLING = "swelling"
    LACERATION = "laceration"
    ABRASION = "abrasion"
    BURN = "burn"
    DRIED_BLOOD = "dried_blood"
    BANDAGE = "bandage"


#: the order in which injuries in several regions are drawn: the warp first, dressings last
_LAYER = {InjuryKind.SWELLING: 0, InjuryKind.BRUISE: 1, InjuryKind.BURN: 2, InjuryKind.ABRASION: 3,
          InjuryKind.LACERATION: 4, InjuryKind.DRIED_BLOOD: 5, InjuryKind.BANDAGE: 6}


@dataclass(frozen=True)
class InjuryResult:
    """An injured face and where it was injured.

    ``image``: ``(H, W, 3) uint8`` RGB. ``mask``: ``(H, W) bool``, True on the injured pixels
    (feathered edges and the swelling's displaced area included). ``kinds`` and ``regions``:
    one entry per injury, in the order drawn (``InjuryKind`` and ``FaceRegion`` values).
    """

    image: NDArray[np.uint8]
    mask: NDArray[np.bool_]
    kinds: tuple[str, ...]
    regions: tuple[str, ...]
    severity: float


def blend_margin(size: int) -> int:
    """The blend margin in pixels for a ``size`` crop: 2 px at 256 px, scaling with the size."""
    return max(1, int(round(2 * size / 256)))


def restore_beyond_margin(img: NDArray[np.float32], mask: NDArray[np.bool_], face: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The drawn image ``img`` (float, 0-255 scale) as uint8, with every pixel farther than the
    blend margin from ``mask`` put back to ``face``: the faint tails of blurs beyond the margin."""
    import cv2  # OpenCV loads on first use

    out = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    m = blend_margin(face.shape[0])
    offsets = np.arange(-m, m + 1)
    disc = (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= m * m).astype(np.uint8)
    near = cv2.dilate(mask.astype(np.uint8), disc)
    out[near == 0] = face[near == 0]
    return out


def simulate_injury(face: NDArray[np.uint8], *, seed: int, severity: float = 0.6,
                    kind: InjuryKind | str | None = None, region: FaceRegion | str | None = None,
                    layout: CanonicalLayout = CANONICAL) -> InjuryResult:
    """Draw an injury onto an aligned square face crop.

    ``face``: ``(S, S, 3) uint8`` RGB in ``layout`` (S >= 64). ``severity`` in [0, 1] scales
    size and intensity; 0 returns the face unchanged with an empty mask. ``kind``: an
    :class:`InjuryKind` (or its value); None draws one from the seed. ``region``: a
    :class:`FaceRegion` (or its value), ``"multiple"`` for two or three distinct regions (with
    different kinds when ``kind`` is None, else that kind in each), or None to draw one.
    Raises ValueError on a malformed face, an unknown kind or region, or a severity outside
    [0, 1]. The same inputs always give the same bytes.
    """
    size = check_face(face)
    severity = check_severity(severity)
    kind_given = None if kind is None else _parse(InjuryKind, kind, "injury kind")
    multiple = isinstance(region, str) and not isinstance(region, FaceRegion) and region.lower() == MULTIPLE
    region_given = None if region is None or multiple else _parse(FaceRegion, region, "face region")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"The injury seed must be an integer, not {seed!r}.")

    seq = np.random.SeedSequence(int(seed) % 2**128)
    plan_rng = np.random.default_rng(seq.spawn(1)[0])
    regions = _draw_regions(plan_rng, region_given, multiple)
    kinds = _draw_kinds(plan_rng, kind_given, len(regions))
    if severity == 0.0:
        empty = np.zeros(face.shape[:2], bool)
        return InjuryResult(face.copy(), empty, tuple(k.value for k in kinds), tuple(r.value for r in regions), 0.0)



    effects: dict[InjuryKind, Callable[..., tuple[NDArray[np.float32], NDArray[np.float32]]]] = {
        InjuryKind.BRUISE: fx.bruise, InjuryKind.SWELLING: fx.swelling, InjuryKind.LACERATION: fx.laceration,
        InjuryKind.ABRASION: fx.abrasion, InjuryKind.BURN: fx.burn, InjuryKind.DRIED_BLOOD: fx.dried_blood,
        InjuryKind.BANDAGE: fx.bandage}
    img = face.astype(np.float32) / 255.0
    footprint = np.zeros((size, size), np.float32)
    rngs = [np.random.default_rng(child) for child in seq.spawn(1 + len(regions))[1:]]
    for i in sorted(range(len(regions)), key=lambda j: _LAYER[kinds[j]]):
        spot = _place(fx, layout, regions[i], kinds[i], size, severity, rngs[i])
        # work in a window around the region: wide enough for blurs, blood running down and tape
        x0, y0, x1, y1 = spot.box
        pad = 0.5 * max(x1 - x0, y1 - y0) + 10 * spot.scale
        wx0, wy0 = max(0, int(x0 - pad)), max(0, int(y0 - pad))
        wx1, wy1 = min(size, int(np.ceil(x1 + pad))), min(size, int(np.ceil(y1 + pad + 1.5 * (y1 - y0))))
        local = replace(spot, shape=(wy1 - wy0, wx1 - wx0), box=(x0 - wx0, y0 - wy0, x1 - wx0, y1 - wy0),
                        center=(spot.center[0] - wx0, spot.center[1] - wy0),
                        eye=None if spot.eye is None else (spot.eye[0] - wx0, spot.eye[1] - wy0))
        window = img[wy0:wy1, wx0:wx1]
        changed, fp = effects[kinds[i]](np.ascontiguousarray(window), local, severity, rngs[i])
        img[wy0:wy1, wx0:wx1] = changed
        footprint[wy0:wy1, wx0:wx1] = np.maximum(footprint[wy0:wy1, wx0:wx1], fp)

    mask = footprint >= MASK_LEVEL
    out = restore_beyond_margin(img, mask, face)
    return InjuryResult(out, mask, tuple(k.value for k in kinds), tuple(r.value for r in regions), severity)


# ----------------------------------------------------------------------------- validation


def check_face(face: object) -> int:
    if not isinstance(face, np.ndarray) or face.dtype != np.uint8 or face.ndim != 3 or face.shape[2] != 3:
        desc = f"{face.dtype} array of shape {face.shape}" if isinstance(face, np.ndarray) else type(face).__name__
        raise ValueError(f"The face to injure must be an RGB uint8 array of shape (S, S, 3), not a {desc}.")
    h, w = face.shape[:2]
    if h != w:
        raise ValueError(f"The face to injure must be an aligned square crop, not {w}x{h} pixels.")
    if h < MIN_SIZE:
        raise ValueError(f"The face crop is {h} pixels wide; injuries need at least {MIN_SIZE}.")
    return int(h)


def check_severity(severity: object) -> float:
    try:
        value = float(severity)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"The injury severity must be a number in [0, 1], not {severity!r}.") from None
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"The injury severity must lie in [0, 1], not {value}.")
    return value


def _parse(enum: type[InjuryKind] | type[FaceRegion], value: object, what: str) -> object:
    try:
        return enum(value.lower() if isinstance(value, str) else value)
    except ValueError:
        names = ", ".join(e.value for e in enum)
        extra = f", or '{MULTIPLE}'" if enum is FaceRegion else ""
        raise ValueError(f"Unknown {what} {value!r}: use one of {names}{extra}.") from None


# ----------------------------------------------------------------------------- placement


def _draw_regions(rng: np.random.Generator, region: object, multiple: bool) -> list[FaceRegion]:
    all_regions = list(FaceRegion)
    count = int(rng.integers(2, 4))  # drawn always, so one seed plans the same whatever is asked
    order = [all_regions[i] for i in rng.permutation(len(all_regions))]
    if multiple:
        return order[:count]
    if isinstance(region, FaceRegion):
        return [region]
    return order[:1]


def _draw_kinds(rng: np.random.Generator, kind: object, count: int) -> list[InjuryKind]:
    all_kinds = list(InjuryKind)
    order = [all_kinds[i] for i in rng.permutation(len(all_kinds))]
    if isinstance(kind, InjuryKind):
        return [kind] * count
    return order[:count]


def _place(fx: object, layout: CanonicalLayout, region: FaceRegion, kind: InjuryKind, size: int,
           severity: float, rng: np.random.Generator) -> Spot:
    """Where the injury goes inside the region's box: an ellipse of random size, rotation and
    position that fits in the box (the effect then shapes it irregularly)."""
    box = layout.region_box(region)
    x0, y0, x1, y1 = box.x0 * size, box.y0 * size, box.x1 * size, box.y1 * size
    w, h = (x1 - x0) / 2, (y1 - y0) / 2
    eye_pt = {FaceRegion.LEFT_EYE: layout.left_eye, FaceRegion.RIGHT_EYE: layout.right_eye}.get(region)
    eye = None if eye_pt is None else (eye_pt[0] * size, eye_pt[1] * size)
    grow = 0.7 + 0.3 * severity
    draw = rng.uniform(size=4)  # fraction, angle, x, y: drawn for every kind alike
    angle = float((draw[1] - 0.5) * 0.8)
    frac = 0.8 + 0.2 * draw[0]
    if kind is InjuryKind.BANDAGE:
        ra, rb, angle = w, h, 0.0
    elif kind is InjuryKind.LACERATION:
        angle = float((draw[1] - 0.5) * (0.8 if region in (FaceRegion.FOREHEAD, FaceRegion.LEFT_EYE, FaceRegion.RIGHT_EYE) else 2.4))
        ra, rb = frac * w * grow, 0.25 * h
    elif kind is InjuryKind.ABRASION:
        angle = float((draw[1] - 0.5) * np.pi)
        ra, rb = frac * max(w, h) * grow, 0.8 * frac * min(w, h) * grow
    elif kind is InjuryKind.BRUISE and eye is not None:
        ra, rb = 1.05 * w, 1.2 * h
    elif kind in (InjuryKind.BRUISE, InjuryKind.SWELLING):  # round-ish, as wide as the box allows
        rb = frac * min(w, h) * grow
        ra = min(frac * w * grow, 1.4 * rb)
    else:
        ra, rb = frac * w * grow, frac * h * grow
    # shrink the rotated ellipse until it fits, then slide it within the room left
    c, s = abs(np.cos(angle)), abs(np.sin(angle))
    ex, ey = np.hypot(ra * c, rb * s), np.hypot(ra * s, rb * c)
    room = 0.97 if kind in (InjuryKind.BANDAGE, InjuryKind.LACERATION) else 0.85  # rough edges need room
    shrink = min(1.0, room * w / ex, room * h / ey)
    ra, rb, ex, ey = ra * shrink, rb * shrink, ex * shrink, ey * shrink
    cx = (x0 + x1) / 2 + (draw[2] - 0.5) * 2 * max(0.0, w - ex)
    cy = (y0 + y1) / 2 + (draw[3] - 0.5) * 2 * max(0.0, h - ey)
    if eye is not None and kind in (InjuryKind.BRUISE, InjuryKind.SWELLING, InjuryKind.BANDAGE):
        cx, cy = eye[0], eye[1] + (0.1 * h if kind is InjuryKind.BRUISE else 0.0)
    elif eye is not None and kind is InjuryKind.LACERATION:  # the classic split eyebrow
        cx, cy = eye[0] + (draw[2] - 0.5) * 0.3 * w, y0 + 0.3 * h
    return fx.Spot(region=region.value, size=size, shape=(size, size), box=(x0, y0, x1, y1), center=(float(cx), float(cy)),  # type: ignore[attr-defined]
                   radii=(float(ra), float(rb)), angle=angle, eye=eye, eye_distance=layout.eye_distance * size)
