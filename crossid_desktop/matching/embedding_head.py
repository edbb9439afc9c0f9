"""A small trainable head on top of a fixed face descriptor (dlib's 128-d ResNet).

The head maps a descriptor to an L2-normalised embedding. It is trained with the subclass
contrastive loss on injured faces while the descriptor network stays fixed, and saved in the
project's checkpoint format (card task ``"injured"``, backbone :data:`DLIB_BACKBONE`).
A single linear head starts as the identity, so an untrained head ranks like the plain
descriptor (up to the normalisation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.checkpoint import read_checkpoint, save_state
from crossid_desktop.matching.model_card import ModelCard

#: the ``backbone`` a model card names for heads on dlib's face descriptor
DLIB_BACKBONE = "dlib-resnet-128"


class EmbeddingHead(nn.Module):
    """``(N, in_dim)`` descriptors -> ``(N, out_dim)`` L2-normalised embeddings.

    ``hidden=None``: one ``Linear(in_dim, out_dim)`` (identity-initialised when square);
    otherwise ``Linear -> ReLU -> Linear`` with ``hidden`` units.
    """

    def __init__(self, in_dim: int = 128, out_dim: int = 128, hidden: int | None = None) -> None:
        super().__init__()
        self.in_dim, self.out_dim, self.hidden = in_dim, out_dim, hidden
        if hidden is None:
            linear = nn.Linear(in_dim, out_dim)
            if in_dim == out_dim:
                with torch.no_grad():
                    linear.weight.copy_(torch.eye(in_dim))
                    linear.bias.zero_()
            self.layers: nn.Module = linear
        else:
            self.layers = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.layers(x), dim=1)

    def config(self) -> dict[str, Any]:
        """The network entry of the model card."""
        return {"kind": "embedding_head", "backbone": DLIB_BACKBONE, "in_dim": self.in_dim, "out_dim": self.out_dim, "hidden": self.hidden, "embedding_dim": self.out_dim}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EmbeddingHead:
        if config.get("kind") != "embedding_head":
            raise ModelError(f"The network entry {dict(config)} does not describe an embedding head.")
        return cls(int(config["in_dim"]), int(config["out_dim"]), None if config.get("hidden") is None else int(config["hidden"]))


def save_head(path: str | Path, head: EmbeddingHead, card: ModelCard, *, half: bool = False) -> str:
    """Save ``head`` with ``card`` (its network, backbone and size are filled in); return the
    fingerprint of the head's weights and card."""
    card.network = head.config()
    card.backbone = DLIB_BACKBONE
    card.embedding_dim = head.out_dim
    return save_state(path, head.state_dict(), card, half=half)


def load_head(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[EmbeddingHead, ModelCard, dict[str, torch.Tensor]]:
    """Load a head saved by :func:`save_head`: the head (eval mode), its card and its state dict
    (for the fingerprint). :class:`ModelError` for any other checkpoint."""
    state, card = read_checkpoint(path)
    if card.backbone != DLIB_BACKBONE or card.network.get("kind") != "embedding_head":
        raise ModelError(f"The model {path} is not a head for dlib's face descriptor (its card names the backbone {card.backbone!r}).")
    head = EmbeddingHead.from_config(card.network)
    try:
        head.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelError(f"The weights in {path} do not fit the embedding head its card describes.") from error
    return head.to(device).eval(), card, state
