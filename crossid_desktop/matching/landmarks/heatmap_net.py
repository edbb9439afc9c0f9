"""A compact U-Net that turns a greyscale image into one heatmap per landmark (torch).

Each landmark's output is a distribution over the output grid **plus one "not in the image"
bin**: the logits of the grid and a per-landmark null logit (from the globally pooled
bottleneck) go through one softmax. The grid part says where the point lies and how sure the
network is (its spread); the null bin says that the point is not in view (a cropped image, a
view that does not show it, an image that is not a skull), which a plain heatmap cannot say.

The same class serves both stages of :mod:`~crossid_desktop.matching.landmarks.detector`:
the global stage (the whole image at low resolution, output at half the input resolution)
and the local stage (crops around each point at higher resolution, output at full
resolution). A few hundred thousand parameters: trainable on a CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class HeatmapNetConfig:
    """Shape of a :class:`HeatmapNet`.

    Attributes:
        n_landmarks: output channels, one per landmark.
        widths: channels of the encoder levels; level ``i`` works at 1/2^i of the input.
        output_stride: 1 (heatmaps at input resolution) or 2 (half).
    """

    n_landmarks: int
    widths: tuple[int, ...] = (16, 24, 32, 48, 64, 96)
    output_stride: int = 2

    def __post_init__(self) -> None:
        if self.output_stride not in (1, 2) or len(self.widths) < 2 or self.n_landmarks < 1:
            raise ValueError(f"Invalid heatmap network configuration {self!r}.")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["widths"] = list(self.widths)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeatmapNetConfig:
        return cls(n_landmarks=int(data["n_landmarks"]), widths=tuple(int(w) for w in data["widths"]), output_stride=int(data["output_stride"]))

    @property
    def divisor(self) -> int:
        """Input sides must be multiples of this."""
        return 2 ** (len(self.widths) - 1)


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    )


class HeatmapNet(nn.Module):
    """U-Net: ``(B, 1, H, W)`` image -> ``(B, K, H/s, W/s)`` grid logits and ``(B, K)`` null logits."""

    def __init__(self, config: HeatmapNetConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        self.encoder = nn.ModuleList([_block(1 if i == 0 else widths[i - 1], w) for i, w in enumerate(widths)])
        # decoder levels from the bottleneck up to the output level
        top = 0 if config.output_stride == 1 else 1
        self.decoder = nn.ModuleList([_block(widths[i + 1] + widths[i], widths[i]) for i in range(len(widths) - 2, top - 1, -1)])
        self.head = nn.Conv2d(widths[top], config.n_landmarks, 1)
        self.null = nn.Linear(widths[-1], config.n_landmarks)
        self._top = top

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        skips = []
        x = image
        for level, block in enumerate(self.encoder):
            if level > 0:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        null = self.null(x.mean(dim=(2, 3)))
        for offset, block in enumerate(self.decoder):
            skip = skips[len(skips) - 2 - offset]
            x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x), null


def log_probabilities(grid: torch.Tensor, null: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One softmax over each landmark's grid and its null bin.

    Args:
        grid: ``(B, K, h, w)`` logits; null: ``(B, K)`` logits.

    Returns:
        ``(B, K, h, w)`` and ``(B, K)`` log-probabilities that sum (as probabilities) to 1 per landmark.
    """
    b, k, h, w = grid.shape
    joint = torch.cat([grid.reshape(b, k, h * w), null.unsqueeze(2)], dim=2)
    log_p = torch.log_softmax(joint, dim=2)
    return log_p[:, :, : h * w].reshape(b, k, h, w), log_p[:, :, h * w]
