"""Small real things the tests build: an untrained (but real) checkpoint and a picture.

``tests/`` is on ``sys.path`` during a test run (it holds the root ``conftest.py``), so test
modules import these as ``from builders import ...``.
"""

from __future__ import annotations

from pathlib import Path


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
