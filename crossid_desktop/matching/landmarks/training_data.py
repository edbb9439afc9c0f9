"""Training samples for the X-ray landmark detector and their augmented batches (numpy, cv2).

A :class:`LandmarkSample` holds one image twice, prepared for each stage (normalised, stored
as ``uint8`` to save memory): at about 1.25 times the global canvas and at the local scale.
Each landmark is PRESENT (with its position), ABSENT (not in the image) or UNKNOWN (nobody
marked it: no loss). A negative sample (an image that is not this view of a skull) has every
landmark ABSENT: it teaches the null bin to say "not here".

Augmentation simulates what differs between radiographs: scale, rotation and position of the
head, exposure (gamma, contrast, offset), noise and blur, and a cut-off edge of the image
(collimation, a cropped scan: points beyond the cut become ABSENT).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.xray import normalise_xray
from crossid_desktop.matching.landmarks.frames import Affine, Frames, about, apply, compose, resize, warp
from crossid_desktop.matching.landmarks.heatmaps import ABSENT, PRESENT, UNKNOWN

#: the global stage's stored copy is this much larger than its canvas (room for zooming in)
_GLOBAL_MARGIN = 1.25


@dataclass(frozen=True)
class LandmarkSample:
    """One training image.

    Attributes:
        name: where it came from (for logs).
        global_image: ``uint8`` copy, longer side ``1.25 x frames.size``; global_map: image -> it.
        local_image: ``uint8`` copy at the local scale; local_map: image -> it.
        points: ``(K, 2)`` float64 positions in the original image (x, y); NaN where not PRESENT.
        state: ``(K,)`` int8 PRESENT / UNKNOWN / ABSENT.
    """

    name: str
    global_image: NDArray[np.uint8]
    global_map: Affine
    local_image: NDArray[np.uint8]
    local_map: Affine
    points: NDArray[np.float64]
    state: NDArray[np.int8]


def make_sample(name: str, image: NDArray[np.generic], points: NDArray[np.float64], state: NDArray[np.int8], frames: Frames) -> LandmarkSample:
    """Prepare one image (any dtype :func:`normalise_xray` takes) with its landmarks."""
    grey = normalise_xray(image)
    height, width = grey.shape
    small, small_map = resize(grey, _GLOBAL_MARGIN * frames.global_scale(height, width))
    local, local_map = frames.local_image(grey)
    to_uint8 = lambda a: np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)  # noqa: E731
    points = np.where((state == PRESENT)[:, None], points, np.nan)
    return LandmarkSample(name, to_uint8(small), small_map, to_uint8(local), local_map, points, state.astype(np.int8))


def negative_sample(name: str, image: NDArray[np.generic], n_landmarks: int, frames: Frames) -> LandmarkSample:
    """An image that shows none of the landmarks."""
    return make_sample(name, image, np.full((n_landmarks, 2), np.nan), np.full(n_landmarks, ABSENT, np.int8), frames)


def random_texture(rng: np.random.Generator, size: int = 256) -> NDArray[np.float32]:
    """A negative image that is no radiograph: smooth random blobs, stripes or a near-blank field."""
    kind = rng.integers(3)
    if kind == 0:
        coarse = rng.random((rng.integers(3, 12), rng.integers(3, 12))).astype(np.float32)
        image = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    elif kind == 1:
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        angle, period = rng.uniform(0, np.pi), rng.uniform(8, 80)
        image = 0.5 + 0.5 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    else:
        image = np.full((size, size), rng.uniform(0.2, 0.8), np.float32)
    image = image + rng.normal(0, rng.uniform(0.005, 0.1), image.shape).astype(np.float32)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def _exposure(image: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    """Random gamma, contrast, offset, blur and noise on a [0, 1] image."""
    out = np.power(np.clip(image, 0.0, 1.0), np.exp(rng.normal(0.0, 0.25)))
    out = out * rng.uniform(0.75, 1.25) + rng.uniform(-0.08, 0.08)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.5))
    out = out + rng.normal(0.0, rng.uniform(0.0, 0.04), out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _cut_edge(image: NDArray[np.float32], rng: np.random.Generator) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Blank a band along one side (a cut-off image): the image and the mask of what remains."""
    side = image.shape[0]
    keep = np.ones(image.shape, bool)
    depth = int(rng.uniform(0.1, 0.45) * side)
    edge = rng.integers(4)
    if edge == 0:
        keep[:depth] = False
    elif edge == 1:
        keep[-depth:] = False
    elif edge == 2:
        keep[:, :depth] = False
    else:
        keep[:, -depth:] = False
    return np.where(keep, image, 0.0).astype(np.float32), keep


def _visible_state(state: NDArray[np.int8], xy: NDArray[np.float64], keep: NDArray[np.bool_]) -> NDArray[np.int8]:
    """PRESENT points that fall off the canvas or into a blanked band become ABSENT."""
    side = keep.shape[0]
    out = state.copy()
    for i in np.flatnonzero(state == PRESENT):
        col, row = int(round(xy[i, 0])), int(round(xy[i, 1]))
        if not (0 <= col < side and 0 <= row < side) or not keep[row, col]:
            out[i] = ABSENT
    return out


def global_example(sample: LandmarkSample, frames: Frames, rng: np.random.Generator, *, augment: bool = True) -> tuple[NDArray[np.float32], NDArray[np.float64], NDArray[np.int8]]:
    """One augmented global-stage example: ``(size, size)`` canvas, ``(K, 2)`` points on it, ``(K,)`` state."""
    image = sample.global_image.astype(np.float32) / 255.0
    height, width = image.shape
    scale = frames.size / max(height, width)
    nominal = np.array([[scale, 0.0, (frames.size - scale * width) / 2.0], [0.0, scale, (frames.size - scale * height) / 2.0]])
    centre = np.array([(frames.size - 1) / 2.0] * 2)
    if augment:
        jitter = about(centre, rng.uniform(0.85, 1.15), rng.uniform(-10, 10), rng.normal(0, 0.05 * frames.size, 2))
        nominal = compose(jitter, nominal)
        image = _exposure(image, rng)
    canvas = warp(image, nominal, frames.size)
    keep = np.ones(canvas.shape, bool)
    if augment and rng.random() < 0.25:
        canvas, keep = _cut_edge(canvas, rng)
    xy = apply(compose(nominal, sample.global_map), np.nan_to_num(sample.points))
    return canvas, xy, _visible_state(sample.state, xy, keep)


def local_example(sample: LandmarkSample, frames: Frames, rng: np.random.Generator, *, spread: float = 12.0, augment: bool = True) -> tuple[NDArray[np.float32], NDArray[np.float64], NDArray[np.int8]] | None:
    """One local-stage example: a ``(crop, crop)`` crop near a random PRESENT point (offset by
    a Gaussian of ``spread`` crop pixels, clipped to a third of the crop), its ``(K, 2)``
    points and ``(K,)`` state (PRESENT inside the crop, every other point UNKNOWN). None for a
    sample without points."""
    present = np.flatnonzero(sample.state == PRESENT)
    if present.size == 0:
        return None
    k = int(rng.choice(present))
    limit = frames.crop / 3.0
    centre = apply(sample.local_map, sample.points[k])[0] + np.clip(rng.normal(0.0, spread, 2), -limit, limit)
    to_crop = frames.crop_map(centre)
    image = sample.local_image.astype(np.float32) / 255.0
    if augment:
        half = np.array([(frames.crop - 1) / 2.0] * 2)
        to_crop = compose(about(half, rng.uniform(0.9, 1.1), rng.uniform(-10, 10), np.zeros(2)), to_crop)
    crop = warp(image, to_crop, frames.crop)
    if augment:
        crop = _exposure(crop, rng)
    xy = apply(compose(to_crop, sample.local_map), np.nan_to_num(sample.points))
    state = _visible_state(sample.state, xy, np.ones(crop.shape, bool))
    # only the points inside the crop count: the local stage is read only where the global
    # stage found a point, and "not in this crop" would drown the placing of the few that are
    state[state != PRESENT] = UNKNOWN
    return crop, xy, state


def network_input(batch: list[NDArray[np.float32]]) -> NDArray[np.float32]:
    """``(B, 1, H, W)`` network input from [0, 1] images: centred and scaled to about unit spread."""
    return ((np.stack(batch)[:, None] - 0.5) / 0.25).astype(np.float32)
