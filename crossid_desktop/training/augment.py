"""Training-time augmentation: the publication's rotation, flip, colour jitter, random affine
and brightness, as batched tensor operations driven by a seeded :class:`torch.Generator`.

Images come in as ``(N, 3, S, S)`` float tensors in [0, 1] (before the backbone's mean/std
normalisation). Each image draws its own parameters:

* one random **affine** map (rotation, scale, translation, shear) applied with
  ``grid_sample`` (bilinear, black outside the image: air on an X-ray);
* a **horizontal flip** with probability ``flip_p`` (a mirrored lateral X-ray still shows a
  plausible skull; faces are roughly symmetric);
* **brightness** and **contrast** factors; for colour photos also **saturation** (a blend with
  the image's grey). ``greyscale=True`` (X-rays) leaves out saturation and applies every
  change equally to the three channels, so a grey X-ray stays grey.

Augmentation is for training only; validation and search never call it. Deterministic for a
given generator state (on the CPU).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["NO_AUGMENTATION", "AugmentParams", "augment_batch"]


@dataclass(frozen=True)
class AugmentParams:
    """Ranges of the random changes.

    ``rotation_deg``: rotation drawn uniformly in +-this many degrees. ``translate``: shift in
    +- this fraction of the image side. ``scale``: zoom factor range. ``shear_deg``: shear
    angle in +- degrees. ``flip_p``: probability of a horizontal flip. ``brightness``,
    ``contrast``, ``saturation``: factors drawn in ``[1 - v, 1 + v]``.

    The defaults keep geometry: no zoom and no shear, a small rotation and shift. The identity
    signal of the skull-to-face task is proportion (face and skull widths of a few per cent
    between people); the publication's +-10 % zoom per image, drawn independently for the
    X-ray and the photo, is larger than that and erases it.
    """

    rotation_deg: float = 3.0
    translate: float = 0.03
    scale: tuple[float, float] = (1.0, 1.0)
    shear_deg: float = 0.0
    flip_p: float = 0.5
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def _affine_matrices(n: int, params: AugmentParams, generator: torch.Generator) -> torch.Tensor:
    """``(n, 2, 3)`` maps from output to input coordinates, in ``affine_grid``'s [-1, 1] units."""
    angle = torch.deg2rad(_uniform(n, -params.rotation_deg, params.rotation_deg, generator))
    shear = torch.deg2rad(_uniform(n, -params.shear_deg, params.shear_deg, generator))
    scale = _uniform(n, params.scale[0], params.scale[1], generator)
    shift = _uniform(2 * n, -2 * params.translate, 2 * params.translate, generator).reshape(n, 2)
    flip = torch.where(torch.rand(n, generator=generator) < params.flip_p, -1.0, 1.0)
    cos, sin, tan = torch.cos(angle), torch.sin(angle), torch.tan(shear)
    # forward map: flip, shear, rotate, scale, shift; the grid needs its inverse
    forward = torch.zeros(n, 3, 3)
    forward[:, 0, 0] = scale * cos * flip
    forward[:, 0, 1] = scale * (cos * tan - sin)
    forward[:, 1, 0] = scale * sin * flip
    forward[:, 1, 1] = scale * (sin * tan + cos)
    forward[:, :2, 2] = shift
    forward[:, 2, 2] = 1.0
    return torch.linalg.inv(forward)[:, :2, :]


def augment_batch(images: torch.Tensor, params: AugmentParams, generator: torch.Generator, *, greyscale: bool) -> torch.Tensor:
    """Randomly changed copies of ``images`` ``(N, 3, S, S)`` float in [0, 1]; same shape,
    values clipped to [0, 1]. Random numbers come from ``generator`` (a CPU generator), so
    the result is reproducible for a given generator state."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (N, 3, S, S), got {tuple(images.shape)}")
    n = images.shape[0]
    if n == 0:
        return images
    theta = _affine_matrices(n, params, generator).to(images.device, images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    brightness = _uniform(n, 1 - params.brightness, 1 + params.brightness, generator).to(images.device, images.dtype)
    contrast = _uniform(n, 1 - params.contrast, 1 + params.contrast, generator).to(images.device, images.dtype)
    saturation = _uniform(n, 1 - params.saturation, 1 + params.saturation, generator).to(images.device, images.dtype)
    out = out * brightness[:, None, None, None]
    grey = (0.299 * out[:, 0] + 0.587 * out[:, 1] + 0.114 * out[:, 2])[:, None]  # (N, 1, S, S)
    mean = grey.mean(dim=(2, 3), keepdim=True)
    out = mean + contrast[:, None, None, None] * (out - mean)
    if not greyscale:
        grey = (0.299 * out[:, 0] + 0.587 * out[:, 1] + 0.114 * out[:, 2])[:, None]
        out = grey + saturation[:, None, None, None] * (out - grey)
    return out.clamp_(0.0, 1.0)


#: the identity check used by tests: no change at all
NO_AUGMENTATION = AugmentParams(rotation_deg=0.0, translate=0.0, scale=(1.0, 1.0), shear_deg=0.0, flip_p=0.0, brightness=0.0, contrast=0.0, saturation=0.0)
