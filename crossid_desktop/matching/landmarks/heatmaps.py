"""Heatmap targets, the training loss, and reading a point and its spread back out (torch).

Coordinates: a pixel's centre has integer coordinates (x = column, y = row). An output grid
of stride ``s`` has bin ``j`` centred on input coordinate ``j * s + (s - 1) / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from crossid_desktop.matching.landmarks.heatmap_net import log_probabilities

#: per-landmark state in a training target
PRESENT, UNKNOWN, ABSENT = 1, 0, -1


def gaussian_targets(points: torch.Tensor, state: torch.Tensor, shape: tuple[int, int], stride: int, sigma: float) -> torch.Tensor:
    """Normalised Gaussian targets on the output grid.

    Args:
        points: ``(B, K, 2)`` input-pixel coordinates (x, y); state: ``(B, K)`` PRESENT/UNKNOWN/ABSENT.
        shape: output grid ``(h, w)``; stride: input pixels per output bin; sigma: in output bins.

    Returns:
        ``(B, K, h, w)``, each present landmark's map summing to 1, others 0.
    """
    h, w = shape
    ys = torch.arange(h, dtype=torch.float32) * stride + (stride - 1) / 2.0
    xs = torch.arange(w, dtype=torch.float32) * stride + (stride - 1) / 2.0
    dx = (xs.view(1, 1, 1, w) - points[..., 0:1].unsqueeze(-1)) / (sigma * stride)
    dy = (ys.view(1, 1, h, 1) - points[..., 1:2].unsqueeze(-1)) / (sigma * stride)
    maps = torch.exp(-0.5 * (dx * dx + dy * dy))
    maps = maps / maps.sum(dim=(2, 3), keepdim=True).clamp_min(1e-12)
    return maps * (state == PRESENT).float().view(*state.shape, 1, 1)


def heatmap_loss(grid: torch.Tensor, null: torch.Tensor, targets: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the network's distribution (grid + null bin) against the targets: a
    present landmark against its Gaussian, an absent one against the null bin, an unknown one
    not at all. Mean over the landmarks that count."""
    log_grid, log_null = log_probabilities(grid, null)
    present = (state == PRESENT).float()
    absent = (state == ABSENT).float()
    per_landmark = -(targets * log_grid).sum(dim=(2, 3)) * present - log_null * absent
    return per_landmark.sum() / (present + absent).sum().clamp_min(1.0)


@dataclass(frozen=True)
class Readout:
    """What a heatmap says about each landmark, in input-pixel units of the network.

    Attributes:
        xy: ``(K, 2)`` position (x, y): the probability-weighted mean within ``window`` bins of the peak.
        sd: ``(K,)`` spread: the root mean of the two axis variances there (pixels).
        presence: ``(K,)`` 1 - probability of the null bin.
        peak_mass: ``(K,)`` share of the in-image probability inside the window (1: one sharp peak).

    Read with ``weights`` (:func:`read_heatmaps`), the peak, the mean and the spread are those of
    the probabilities times the weights; ``presence`` and ``peak_mass`` stay the network's own
    (the mass of its unweighted probabilities in the window around that peak).
    """

    xy: NDArray[np.float64]
    sd: NDArray[np.float64]
    presence: NDArray[np.float64]
    peak_mass: NDArray[np.float64]


def read_heatmaps(grid: torch.Tensor, null: torch.Tensor, stride: int, window: int, weights: NDArray[np.float64] | None = None) -> Readout:
    """Read one image's output (``grid (K, h, w)``, ``null (K,)``): see :class:`Readout`.

    ``weights`` ``(K, h, w)`` (optional, non-negative, not all 0 per landmark): what else is
    known of where each point lies (a prior), multiplied into the probabilities before the
    peak, the mean and the spread are read."""
    log_grid, log_null = log_probabilities(grid.unsqueeze(0).float(), null.unsqueeze(0).float())
    prob = log_grid[0].exp().numpy().astype(np.float64)
    presence = 1.0 - log_null[0].exp().numpy().astype(np.float64)
    posterior = prob if weights is None else prob * np.asarray(weights, np.float64).reshape(prob.shape)
    k, h, w = prob.shape
    xy = np.zeros((k, 2))
    sd = np.zeros(k)
    peak_mass = np.zeros(k)
    for i in range(k):
        row, col = np.unravel_index(int(np.argmax(posterior[i])), (h, w))
        r0, r1, c0, c1 = max(0, row - window), min(h, row + window + 1), max(0, col - window), min(w, col + window + 1)
        mass = float(prob[i, r0:r1, c0:c1].sum())
        patch = posterior[i, r0:r1, c0:c1]
        patch = patch / max(float(patch.sum()), 1e-300)
        yy, xx = np.mgrid[r0:r1, c0:c1]
        mx, my = float((patch * xx).sum()), float((patch * yy).sum())
        var = float((patch * ((xx - mx) ** 2 + (yy - my) ** 2)).sum()) / 2.0
        xy[i] = (mx * stride + (stride - 1) / 2.0, my * stride + (stride - 1) / 2.0)
        sd[i] = np.sqrt(var) * stride
        peak_mass[i] = mass / max(presence[i], 1e-12)
    return Readout(xy=xy, sd=sd, presence=presence, peak_mass=np.clip(peak_mass, 0.0, 1.0))
