"""A compact convolutional feature extractor for training from scratch on a CPU.

Four stride-2 blocks (each ``conv 3x3 stride 2 -> BN -> ReLU -> conv 3x3 -> BN -> ReLU``) with
16, 32, 48 and 64 channels take a 64 px image to a ``4 x 4 x 64`` map, which is **flattened**
(no global pooling: where a feature lies is kept, so face and skull widths at known places of
the canonical layout stay measurable) and projected by ``Linear + BatchNorm1d`` to
``feature_dim`` features. Other input sizes are average-pooled to the same ``4 x 4`` map first
(an identity at 64 px).

On the synthetic skull-to-face cohorts, this network trained from random weights is the one of
the registry that leaves chance level behind on held-out people at 64 px (ImageNet-sized
backbones trained from scratch for a few CPU epochs stay at chance). It has no ImageNet
weights.
"""

from __future__ import annotations

import torch
from torch import nn

#: channels of the four stride-2 blocks
CHANNELS: tuple[int, ...] = (16, 32, 48, 64)
#: side of the feature map that is flattened (64 px / 2^4)
GRID: int = 4


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class CompactCNN(nn.Module):
    """``(N, 3, S, S)`` normalised float images -> ``(N, feature_dim)`` float features.

    ``features`` holds the convolutional blocks, ``pool`` brings their output to ``GRID x GRID``
    (identity at S = 64), ``project`` is ``Flatten -> Linear(GRID^2 * 64, feature_dim) ->
    BatchNorm1d(feature_dim)``. BatchNorm1d needs more than one image per batch in train mode.
    """

    def __init__(self, feature_dim: int = 64, channels: tuple[int, ...] = CHANNELS) -> None:
        super().__init__()
        if feature_dim < 1 or not channels:
            raise ValueError(f"feature_dim must be positive and channels non-empty, got {feature_dim}, {channels}")
        layers: list[nn.Module] = []
        c_in = 3
        for c_out in channels:
            layers += _block(c_in, c_out)
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d((GRID, GRID))
        self.project = nn.Sequential(nn.Flatten(), nn.Linear(c_in * GRID * GRID, feature_dim), nn.BatchNorm1d(feature_dim))
        self.feature_dim = feature_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.pool(self.features(x)))
