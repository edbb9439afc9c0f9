"""Image-to-network maps of the landmark detector (matching/landmarks/frames.py)."""

from __future__ import annotations

import numpy as np
import pytest

from crossid_desktop.matching.landmarks.frames import Frames, about, apply, compose, invert, warp


def _dot(shape: tuple[int, int], x: int, y: int) -> np.ndarray:
    image = np.zeros(shape, np.float32)
    image[y - 2 : y + 3, x - 2 : x + 3] = 1.0
    return image


def _centroid(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    return float((cols * image).sum() / image.sum()), float((rows * image).sum() / image.sum())


@pytest.mark.parametrize("shape", [(1671, 1340), (500, 800), (256, 256)])
def test_global_canvas_puts_a_point_where_its_map_says(shape: tuple[int, int]) -> None:
    frames = Frames()
    image = _dot(shape, x=shape[1] // 3, y=shape[0] // 2)
    canvas, to_canvas = frames.global_canvas(image)
    assert canvas.shape == (frames.size, frames.size)
    predicted = apply(to_canvas, np.array([[shape[1] // 3, shape[0] // 2]]))[0]
    assert _centroid(canvas) == pytest.approx(tuple(predicted), abs=0.3)
    # the longer side spans the canvas
    assert to_canvas[0, 0] * max(shape) == pytest.approx(frames.size, rel=0.01)


def test_local_crop_is_centred_on_its_point() -> None:
    frames = Frames()
    image = _dot((1000, 800), x=500, y=300)
    resized, to_resized = frames.local_image(image)
    centre = apply(to_resized, np.array([[500.0, 300.0]]))[0]
    crop = warp(resized, frames.crop_map(centre), frames.crop)
    assert _centroid(crop) == pytest.approx(((frames.crop - 1) / 2, (frames.crop - 1) / 2), abs=0.3)


def test_compose_and_invert_agree_with_applying_maps_in_turn() -> None:
    rng = np.random.default_rng(0)
    inner = about(np.array([10.0, 20.0]), 1.3, 17.0, np.array([3.0, -4.0]))
    outer = about(np.array([-5.0, 2.0]), 0.7, -40.0, np.array([1.0, 1.0]))
    points = rng.normal(0, 50, (6, 2))
    assert np.allclose(apply(compose(outer, inner), points), apply(outer, apply(inner, points)))
    assert np.allclose(apply(invert(inner), apply(inner, points)), points)
