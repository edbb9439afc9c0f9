"""Small real things the tests build: an untrained (but real) checkpoint, a picture, a drawn face.

``tests/`` is on ``sys.path`` during a test run (it holds the root ``conftest.py``), so test
modules import these as ``from builders import ...``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.canonical import CANONICAL


def save_untrained_matcher(path: Path, task: str, *, embedding_dim: int = 32, input_size: int = 64) -> Path:
    """A real checkpoint of an untrained mobilenet_v3_small (fast, deterministic): it gives
    distinct embeddings to distinct pictures and identical ones to identical pictures."""
    import torch

    from crossid_desktop.matching.backbones import IMAGENET_MEAN, IMAGENET_STD
    from crossid_desktop.matching.checkpoint import save_checkpoint
    from crossid_desktop.matching.model_card import ModelCard, preprocessing_recipe
    from crossid_desktop.matching.networks import CrossDomainNet

    torch.manual_seed(0)
    model = CrossDomainNet("mobilenet_v3_small", embedding_dim=embedding_dim, shared=(task == "injured"))
    card = ModelCard(
        name=f"untrained-{task}",
        task=task,
        backbone="mobilenet_v3_small",
        embedding_dim=embedding_dim,
        network={},
        preprocessing=preprocessing_recipe(task, input_size=input_size, mean=IMAGENET_MEAN, std=IMAGENET_STD, soft_tissue={"strength": 0.7}),
    )
    save_checkpoint(path, model, card)
    return path


def write_photo(path: Path, seed: int) -> None:
    """A smooth random colour picture, 160 px: untrained networks embed these far apart."""
    import cv2
    import numpy as np

    small = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.resize(small, (160, 160), interpolation=cv2.INTER_CUBIC))


def synthetic_face(size: int = 256) -> NDArray[np.uint8]:
    """A skin-coloured ellipse lit from the upper left with darker eyes and mouth, on grey."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    inside = ((xx - 0.5) / 0.42) ** 2 + ((yy - 0.55) / 0.5) ** 2
    light = 0.75 + 0.3 * (1 - xx) * 0.5 + 0.25 * (1 - yy) * 0.5 - 0.25 * np.clip(inside, 0, 1) ** 2
    skin = np.array([0.86, 0.64, 0.52])[None, None, :] * light[..., None]
    img = np.where((inside < 1)[..., None], skin, 0.45)
    for ex, ey in (CANONICAL.right_eye, CANONICAL.left_eye):
        eye = ((xx - ex) / 0.06) ** 2 + ((yy - ey) / 0.025) ** 2 < 1
        img[eye] = (0.95, 0.95, 0.93)
        img[((xx - ex) / 0.02) ** 2 + ((yy - ey) / 0.02) ** 2 < 1] = (0.25, 0.18, 0.12)
    my = (CANONICAL.mouth_left[1] + CANONICAL.mouth_right[1]) / 2
    img[((xx - 0.5) / 0.12) ** 2 + ((yy - my) / 0.025) ** 2 < 1] = (0.7, 0.35, 0.35)
    rng = np.random.default_rng(0)  # a little skin texture
    img = img + rng.normal(0, 0.01, img.shape)
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def dilate(mask: NDArray[np.bool_], r: int) -> NDArray[np.bool_]:
    """Binary dilation by a disc of radius ``r``, as a plain loop over offsets."""
    out = mask.copy()
    h, w = mask.shape
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy > r * r:
                continue
            shifted = np.zeros_like(mask)
            shifted[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = mask[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
            out |= shifted
    return out
