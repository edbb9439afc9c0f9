"""The cross-domain Siamese network of the skull-to-face method, and its shared variant.

``CrossDomainNet`` has two branches of the same architecture (backbone + embedding head):

* the **gallery** (face) branch: pretrained, and frozen by default (``requires_grad`` False
  and held in eval mode, so its BatchNorm statistics and dropout stay fixed even while the
  network trains);
* the **query** (skull) branch: its own trainable copy, initialised from the gallery branch.

With ``shared=True`` one branch serves queries and gallery faces alike: the injured-face
(SCL) setting, where probes and gallery are both face photos.

Both branches end in ``Linear(feature_dim, embedding_dim)`` (after optional dropout) and
L2 normalisation, so distances lie in [0, 2] and the confidence ``exp(-d^2)`` in [e^-4, 1].
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.backbones import BackboneSpec, build_backbone


@dataclass(frozen=True)
class NetworkConfig:
    """Everything needed to rebuild a :class:`CrossDomainNet` (weights aside); stored in the
    model card. ``gallery_head_trainable`` lets a frozen gallery branch still learn its
    projection head (the publication freezes the whole face branch: False)."""

    backbone: str
    embedding_dim: int = 128
    freeze_gallery: bool = True
    shared: bool = False
    dropout: float = 0.0
    gallery_head_trainable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown or "backbone" not in data:
            raise ModelError(f"The network configuration {dict(data)} is not one this version understands (unknown: {unknown or 'none'}; backbone given: {'backbone' in data}).")
        return cls(**dict(data))


class EmbeddingBranch(nn.Module):
    """Backbone + (dropout) + ``Linear(feature_dim, embedding_dim)``; returns raw embeddings."""

    def __init__(self, backbone: nn.Module, feature_dim: int, embedding_dim: int, dropout: float) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, embedding_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class CrossDomainNet(nn.Module):
    """Siamese network with a (frozen) gallery branch and a trainable query branch.

    ``embed_query`` and ``embed_gallery`` take ``(N, 3, S, S)`` normalised float images
    (S = the backbone's input size) and return ``(N, embedding_dim)`` L2-normalised embeddings.
    ``weights`` initialises the backbone (``None``, ``"imagenet"`` or a state-dict path, see
    :func:`~crossid_desktop.matching.backbones.build_backbone`); a checkpoint overwrites it.
    With ``shared=True`` and ``freeze_gallery=True`` nothing is trainable: a pretrained baseline.
    """

    def __init__(
        self,
        backbone: str,
        *,
        embedding_dim: int = 128,
        weights: None | str | Path = None,
        freeze_gallery: bool = True,
        shared: bool = False,
        dropout: float = 0.0,
        gallery_head_trainable: bool = False,
    ) -> None:
        super().__init__()
        if embedding_dim < 1:
            raise ValueError(f"embedding_dim must be positive, got {embedding_dim}")
        self.config = NetworkConfig(backbone, embedding_dim, freeze_gallery, shared, dropout, gallery_head_trainable)
        features, spec = build_backbone(backbone, weights=weights)
        self.spec: BackboneSpec = spec
        self.gallery = EmbeddingBranch(features, spec.feature_dim, embedding_dim, dropout)
        self.query: EmbeddingBranch | None = None if shared else copy.deepcopy(self.gallery)
        if freeze_gallery:
            for parameter in self.gallery.backbone.parameters():
                parameter.requires_grad_(False)
            for parameter in self.gallery.head.parameters():
                parameter.requires_grad_(gallery_head_trainable)
        self.train(True)

    @classmethod
    def from_config(cls, config: NetworkConfig | Mapping[str, Any]) -> CrossDomainNet:
        """A randomly initialised network of the given configuration (weights load after)."""
        if not isinstance(config, NetworkConfig):
            config = NetworkConfig.from_dict(config)
        return cls(
            config.backbone,
            embedding_dim=config.embedding_dim,
            freeze_gallery=config.freeze_gallery,
            shared=config.shared,
            dropout=config.dropout,
            gallery_head_trainable=config.gallery_head_trainable,
        )

    @property
    def embedding_dim(self) -> int:
        return self.config.embedding_dim

    @property
    def query_branch(self) -> EmbeddingBranch:
        """The branch that embeds queries (the gallery branch itself when shared)."""
        return self.gallery if self.query is None else self.query

    def train(self, mode: bool = True) -> CrossDomainNet:
        """Set train/eval mode, keeping a frozen gallery backbone (and frozen head) in eval mode."""
        super().train(mode)
        if self.config.freeze_gallery:
            (self.gallery.backbone if self.config.gallery_head_trainable else self.gallery).eval()
        return self

    def embed_query(self, x: torch.Tensor) -> torch.Tensor:
        """Query images ``(N, 3, S, S)`` -> ``(N, embedding_dim)`` L2-normalised."""
        return F.normalize(self.query_branch(x).float(), dim=1)

    def embed_gallery(self, x: torch.Tensor) -> torch.Tensor:
        """Gallery face images ``(N, 3, S, S)`` -> ``(N, embedding_dim)`` L2-normalised."""
        return F.normalize(self.gallery(x).float(), dim=1)

    def forward(self, x: torch.Tensor, *, branch: str = "query") -> torch.Tensor:
        if branch == "query":
            return self.embed_query(x)
        if branch == "gallery":
            return self.embed_gallery(x)
        raise ValueError(f"branch must be 'query' or 'gallery', got {branch!r}")

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters an optimiser should update (empty for a fully frozen network)."""
        return [p for p in self.parameters() if p.requires_grad]
