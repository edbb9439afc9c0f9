"""Heatmap targets, loss and read-out (matching/landmarks/heatmaps.py) against plain loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from crossid_desktop.matching.landmarks.heatmaps import ABSENT, PRESENT, UNKNOWN, gaussian_targets, heatmap_loss, read_heatmaps


def test_gaussian_target_is_a_normalised_gaussian_at_the_point() -> None:
    points = torch.tensor([[[9.0, 5.0], [0.0, 0.0], [0.0, 0.0]]])
    state = torch.tensor([[PRESENT, UNKNOWN, ABSENT]])
    maps = gaussian_targets(points, state, (8, 10), stride=2, sigma=1.0)
    assert maps.shape == (1, 3, 8, 10)
    assert float(maps[0, 0].sum()) == pytest.approx(1.0, abs=1e-6)
    assert float(maps[0, 1:].abs().sum()) == 0.0
    # by hand: bin (row i, col j) is centred on input (2j + 0.5, 2i + 0.5); sigma 1 bin = 2 input px
    expected = np.array([[math.exp(-((2 * j + 0.5 - 9) ** 2 + (2 * i + 0.5 - 5) ** 2) / (2 * 2.0 ** 2)) for j in range(10)] for i in range(8)])
    expected /= expected.sum()
    assert np.abs(maps[0, 0].numpy() - expected).max() < 1e-6


def test_loss_is_the_cross_entropy_over_grid_and_null_bin() -> None:
    torch.manual_seed(0)
    grid, null = torch.randn(2, 3, 4, 5), torch.randn(2, 3)
    state = torch.tensor([[PRESENT, ABSENT, UNKNOWN], [UNKNOWN, PRESENT, PRESENT]])
    targets = torch.rand(2, 3, 4, 5)
    targets = targets / targets.sum(dim=(2, 3), keepdim=True)
    total, count = 0.0, 0
    for b in range(2):
        for k in range(3):
            logits = [float(v) for v in grid[b, k].reshape(-1)] + [float(null[b, k])]
            log_z = math.log(sum(math.exp(v) for v in logits))
            if state[b, k] == PRESENT:
                total += -sum(float(t) * (v - log_z) for t, v in zip(targets[b, k].reshape(-1), logits[:-1]))
                count += 1
            elif state[b, k] == ABSENT:
                total += -(logits[-1] - log_z)
                count += 1
    assert float(heatmap_loss(grid, null, targets, state)) == pytest.approx(total / count, rel=1e-5)


def _gaussian_logits(x: float, y: float, sigma: float, shape: tuple[int, int]) -> torch.Tensor:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return torch.tensor(-((cols - x) ** 2 + (rows - y) ** 2) / (2 * sigma**2), dtype=torch.float32)


def test_read_out_finds_a_subpixel_peak_its_spread_and_presence() -> None:
    # a Gaussian of sd 1.5 bins at bin (x 12.3, y 7.6) on a stride-2 grid: input px 2 * bin + 0.5
    grid = _gaussian_logits(12.3, 7.6, 1.5, (20, 30)).unsqueeze(0)
    reading = read_heatmaps(grid, torch.tensor([-50.0]), stride=2, window=6)
    assert reading.xy[0] == pytest.approx([2 * 12.3 + 0.5, 2 * 7.6 + 0.5], abs=0.05)
    assert reading.sd[0] == pytest.approx(2 * 1.5, rel=0.05)
    assert reading.presence[0] == pytest.approx(1.0, abs=1e-6)
    assert reading.peak_mass[0] > 0.99


def test_a_winning_null_bin_means_absent_and_a_flat_map_little_peak_mass() -> None:
    flat = torch.zeros(1, 20, 20)
    reading = read_heatmaps(flat, torch.tensor([20.0]), stride=1, window=3)
    assert reading.presence[0] < 1e-6
    reading = read_heatmaps(flat, torch.tensor([-50.0]), stride=1, window=3)
    # the peak of a flat map is its first bin (0, 0): the 7x7 window is cut to 4x4 by the corner
    assert reading.peak_mass[0] == pytest.approx(16 / 400, abs=1e-6)


def test_weights_choose_the_peak_near_the_prior_and_read_the_product_of_both() -> None:
    # two Gaussian peaks: the taller at bin (x 8, y 10), a lower one at (x 30, y 12), sd 2 bins;
    # a Gaussian prior of sd 3 bins at (x 27, y 14) weights the map. The product of two Gaussians
    # is a Gaussian: mean (a/2^2 + p/3^2) / (1/2^2 + 1/3^2), variance 1 / (1/2^2 + 1/3^2) per axis.
    shape = (24, 40)
    tall, low = _gaussian_logits(8.0, 10.0, 2.0, shape).exp(), 0.6 * _gaussian_logits(30.0, 12.0, 2.0, shape).exp()
    grid = torch.log(tall + low).unsqueeze(0)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    weights = np.exp(-((cols - 27.0) ** 2 + (rows - 14.0) ** 2) / (2 * 3.0**2))[None]
    plain = read_heatmaps(grid, torch.tensor([-50.0]), stride=1, window=9)
    assert plain.xy[0] == pytest.approx([8.0, 10.0], abs=0.05)
    weighted = read_heatmaps(grid, torch.tensor([-50.0]), stride=1, window=9, weights=weights)
    precision = 1 / 2.0**2 + 1 / 3.0**2
    expected = [(30.0 / 2.0**2 + 27.0 / 3.0**2) / precision, (12.0 / 2.0**2 + 14.0 / 3.0**2) / precision]
    assert weighted.xy[0] == pytest.approx(expected, abs=0.05)
    assert weighted.sd[0] == pytest.approx(math.sqrt(1 / precision), rel=0.03)
    # presence and peak mass stay the network's own: the lower peak holds 0.6 / 1.6 of the map
    assert weighted.presence[0] == pytest.approx(plain.presence[0])
    assert weighted.peak_mass[0] == pytest.approx(0.6 / 1.6, abs=0.01)
    # uniform weights read the map as it is
    same = read_heatmaps(grid, torch.tensor([-50.0]), stride=1, window=9, weights=np.full((1, *shape), 0.3))
    assert same.xy == pytest.approx(plain.xy) and same.sd == pytest.approx(plain.sd) and same.peak_mass == pytest.approx(plain.peak_mass)
