"""Metric-learning losses of the two published methods, batched and vectorised (torch).

* :class:`TripletLoss`: the skull-to-face method (METHODS.md section 1), plus
  :func:`semi_hard_triplets`, online semi-hard negative mining.
* :class:`ContrastiveLoss`: Hadsell, Chopra and LeCun (2006), the injured-face baseline.
* :class:`SubclassContrastiveLoss`: the injured-face method (METHODS.md section 2).

Every distance is Euclidean between embeddings as they come in (no normalisation here: the
networks L2-normalise their output). Label convention for pairs and sets, as in Hadsell et
al. and the SCL publication: ``y = 0`` genuine (same person), ``y = 1`` impostor.

As in pytorch-metric-learning, :class:`EmbeddingLoss` checks shapes, dtypes and devices once
and the subclasses implement only :meth:`EmbeddingLoss.compute_loss` (one loss per item).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

__all__ = [
    "ContrastiveLoss",
    "EmbeddingLoss",
    "SubclassContrastiveLoss",
    "TripletLoss",
    "euclidean",
    "semi_hard_triplets",
]


def euclidean(x: Tensor, y: Tensor) -> Tensor:
    """Row-wise Euclidean distance ``||x_i - y_i||`` of two ``(N, d)`` tensors: ``(N,)``.

    The gradient at a zero distance is 0 (not NaN, as a plain ``sqrt`` would give).
    """
    squared = (x - y).pow(2).sum(dim=1)
    positive = squared > 0
    safe = torch.sqrt(torch.where(positive, squared, torch.ones_like(squared)))
    return torch.where(positive, safe, torch.zeros_like(squared))


def _squared_euclidean(x: Tensor, y: Tensor) -> Tensor:
    """Row-wise squared Euclidean distance of two ``(N, d)`` tensors: ``(N,)``."""
    return (x - y).pow(2).sum(dim=1)


class EmbeddingLoss(nn.Module):
    """Base class: validates the inputs, calls :meth:`compute_loss`, reduces.

    A subclass names its embedding arguments in ``embedding_names`` (each a ``(N, d)``
    floating tensor; all the same N, d, dtype and device), says whether a label tensor
    follows them (``needs_labels``; ``(N,)`` with values 0 = genuine, 1 = impostor), and
    implements :meth:`compute_loss` returning the ``(N,)`` per-item losses.

    ``reduction``: ``"mean"`` (the publications' loss, a scalar), ``"sum"`` or ``"none"``
    (the ``(N,)`` per-item losses). An empty batch gives a zero scalar that still has a
    gradient path (``"mean"``/``"sum"``) so a training loop needs no special case.
    """

    embedding_names: ClassVar[tuple[str, ...]] = ()
    needs_labels: ClassVar[bool] = False

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}.")
        self.reduction = reduction

    def compute_loss(self, *embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        """The ``(N,)`` per-item losses of validated inputs."""
        raise NotImplementedError

    def forward(self, *inputs: Tensor) -> Tensor:
        expected = len(self.embedding_names) + int(self.needs_labels)
        signature = ", ".join(self.embedding_names + (("labels",) if self.needs_labels else ()))
        if len(inputs) != expected:
            raise ValueError(f"{type(self).__name__} takes ({signature}); got {len(inputs)} tensors.")
        embeddings = inputs[: len(self.embedding_names)]
        self._check_embeddings(embeddings)
        labels = None
        if self.needs_labels:
            labels = self._check_labels(inputs[-1], embeddings[0])
        per_item = self.compute_loss(*embeddings, labels=labels)
        if self.reduction == "none":
            return per_item
        if per_item.numel() == 0:
            return embeddings[0].sum() * 0.0
        return per_item.mean() if self.reduction == "mean" else per_item.sum()

    def _check_embeddings(self, embeddings: tuple[Tensor, ...]) -> None:
        first_name, first = self.embedding_names[0], embeddings[0]
        for name, tensor in zip(self.embedding_names, embeddings):
            if not isinstance(tensor, Tensor):
                raise ValueError(f"{name} must be a torch.Tensor, not {type(tensor).__name__}.")
            if tensor.dim() != 2:
                raise ValueError(f"{name} must be 2-D (N, d); got shape {tuple(tensor.shape)}.")
            if not tensor.is_floating_point():
                raise ValueError(f"{name} must be a floating-point tensor; got {tensor.dtype}.")
            if tensor.shape != first.shape:
                raise ValueError(
                    f"{name} has shape {tuple(tensor.shape)} but {first_name} has "
                    f"{tuple(first.shape)}; every embedding tensor needs the same (N, d)."
                )
            if tensor.dtype != first.dtype:
                raise ValueError(f"{name} is {tensor.dtype} but {first_name} is {first.dtype}.")
            if tensor.device != first.device:
                raise ValueError(f"{name} is on {tensor.device} but {first_name} is on {first.device}.")

    @staticmethod
    def _check_labels(labels: Tensor, reference: Tensor) -> Tensor:
        if not isinstance(labels, Tensor):
            raise ValueError(f"labels must be a torch.Tensor, not {type(labels).__name__}.")
        if labels.dim() != 1 or labels.shape[0] != reference.shape[0]:
            raise ValueError(
                f"labels must have shape ({reference.shape[0]},); got {tuple(labels.shape)}."
            )
        if labels.device != reference.device:
            raise ValueError(f"labels are on {labels.device} but the embeddings are on {reference.device}.")
        if labels.numel() and not bool(((labels == 0) | (labels == 1)).all()):
            raise ValueError("labels must be 0 (genuine) or 1 (impostor).")
        return labels.to(reference.dtype)


class TripletLoss(EmbeddingLoss):
    """``L = mean_i max(0, d(a_i, p_i) - d(a_i, n_i) + margin)``, d Euclidean.

    Call as ``loss(anchor, positive, negative)``, three ``(N, d)`` tensors. In the
    skull-to-face method the anchor is the skull embedding from the trainable branch and
    positive/negative are faces of the same/another person from the frozen face branch.
    Equals pytorch-metric-learning's ``TripletMarginLoss(margin, distance=LpDistance(
    normalize_embeddings=False), reducer=MeanReducer())`` on the same triplets.
    """

    embedding_names = ("anchor", "positive", "negative")

    def __init__(self, margin: float = 0.4, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        if margin < 0:
            raise ValueError(f"The triplet margin must be >= 0; got {margin}.")
        self.margin = float(margin)

    def compute_loss(self, *embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        anchor, positive, negative = embeddings
        return torch.relu(euclidean(anchor, positive) - euclidean(anchor, negative) + self.margin)


class ContrastiveLoss(EmbeddingLoss):
    """Hadsell, Chopra and LeCun (2006) contrastive loss over pairs, ``y = 1`` impostor.

    With ``D = ||x1 - x2||`` (Euclidean) and margin ``m``:

    * ``squared=True`` (the paper, the default):
      ``L = mean (1 - y) * 0.5 * D^2 + y * 0.5 * max(0, m - D)^2``
    * ``squared=False``: ``L = mean (1 - y) * D + y * max(0, m - D)``. Per pair this is
      pytorch-metric-learning's ``ContrastiveLoss(pos_margin=0, neg_margin=m)`` with
      ``LpDistance(normalize_embeddings=False)``; that class, however, averages the genuine
      and the impostor pairs separately and adds the two means (and its default reducer
      skips zero losses), whereas this one averages over all pairs.

    Call as ``loss(x1, x2, labels)``: two ``(N, d)`` tensors and ``(N,)`` labels in {0, 1}.
    """

    embedding_names = ("x1", "x2")
    needs_labels = True

    def __init__(self, margin: float = 2.0, *, squared: bool = True, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ValueError(f"The contrastive margin must be > 0; got {margin}.")
        self.margin = float(margin)
        self.squared = bool(squared)

    def compute_loss(self, *embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        x1, x2 = embeddings
        assert labels is not None
        distance = euclidean(x1, x2)
        hinge = torch.relu(self.margin - distance)
        if self.squared:
            return (1 - labels) * 0.5 * _squared_euclidean(x1, x2) + labels * 0.5 * hinge.pow(2)
        return (1 - labels) * distance + labels * hinge


class SubclassContrastiveLoss(EmbeddingLoss):
    """Subclass Contrastive Loss (SCL) of the injured-face method, over sets of three images.

    Set layout, three ``(N, d)`` tensors plus ``(N,)`` labels; row k is one set:

    * ``normal[k]``  = embedding of a non-injured image ``N_i`` of subject i,
    * ``injured[k]`` = embedding of an injured image ``I_i`` of the same subject i,
    * ``partner[k]`` = embedding of a further injured image: another injured image ``I_i'``
      of subject i when ``labels[k] = 0`` (genuine set), an injured image ``I_j`` of a
      different subject ``j != i`` when ``labels[k] = 1`` (impostor set).

    With ``D`` the **squared** Euclidean distance and margins ``m1, m2 > 0``:

    * genuine (y = 0): ``L_intra = D(N_i, I_i) + D(I_i, I_i')``
      = ``D(normal, injured) + D(injured, partner)``
    * impostor (y = 1): ``L_inter = max(0, m1 - D(N_i, I_j)) + max(0, m2 - D(I_i, I_j))``
      = ``max(0, m1 - D(normal, partner)) + max(0, m2 - D(injured, partner))``
    * ``L_SCL = mean over sets of (1 - y) * L_intra + y * L_inter``

    m1 separates non-injured from injured images of different people, m2 injured images of
    different people (paper: m1 = 2, m2 = 3.1). The publication writes the second impostor
    image as ``I_j'``; METHODS.md describes the pair as (injured of i, injured of j), which is
    what this layout gives with ``I_j' = I_j``. A subject with a single injured image can
    form a genuine set with ``partner = injured`` (its second term is then 0).
    """

    embedding_names = ("normal", "injured", "partner")
    needs_labels = True

    def __init__(self, m1: float = 2.0, m2: float = 3.1, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        if m1 <= 0 or m2 <= 0:
            raise ValueError(f"The SCL margins must be > 0; got m1={m1}, m2={m2}.")
        self.m1 = float(m1)
        self.m2 = float(m2)

    def compute_loss(self, *embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        normal, injured, partner = embeddings
        assert labels is not None
        intra = _squared_euclidean(normal, injured) + _squared_euclidean(injured, partner)
        inter = torch.relu(self.m1 - _squared_euclidean(normal, partner)) + torch.relu(
            self.m2 - _squared_euclidean(injured, partner)
        )
        return (1 - labels) * intra + labels * inter


@torch.no_grad()
def semi_hard_triplets(
    anchor_emb: Tensor,
    anchor_labels: Tensor,
    gallery_emb: Tensor,
    gallery_labels: Tensor,
    margin: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """Online semi-hard negative mining (Schroff et al. 2015, FaceNet), vectorised.

    Anchors (e.g. skull embeddings, ``(A, d)``, labels ``(A,)``) and the gallery they are
    compared with (e.g. face embeddings, ``(G, d)``, labels ``(G,)``) may be different sets.
    Every (anchor, positive) pair with equal labels gives one triplet; its negative is the
    *hardest semi-hard* gallery item of another label, i.e. the one with the smallest
    ``d(a, n)`` among those with ``d(a, p) < d(a, n) < d(a, p) + margin``; when there is
    none, the hardest negative overall (smallest ``d(a, n)``). Ties go to the lowest
    gallery index. Anchors without any positive or any negative give no triplet.

    Returns ``(anchor_idx, positive_idx, negative_idx)``, three ``(T,)`` int64 tensors on
    the anchors' device, ``positive_idx``/``negative_idx`` indexing the gallery; ordered by
    anchor, then positive index. Runs without gradient.
    """
    if anchor_emb.dim() != 2 or gallery_emb.dim() != 2 or anchor_emb.shape[1] != gallery_emb.shape[1]:
        raise ValueError(
            f"anchor_emb (A, d) and gallery_emb (G, d) need the same d; got "
            f"{tuple(anchor_emb.shape)} and {tuple(gallery_emb.shape)}."
        )
    if anchor_labels.shape != (anchor_emb.shape[0],) or gallery_labels.shape != (gallery_emb.shape[0],):
        raise ValueError("anchor_labels must be (A,) and gallery_labels (G,), one label per embedding.")
    if anchor_emb.device != gallery_emb.device:
        raise ValueError(f"anchor_emb is on {anchor_emb.device} but gallery_emb is on {gallery_emb.device}.")
    anchor_labels = anchor_labels.to(anchor_emb.device)
    gallery_labels = gallery_labels.to(anchor_emb.device)
    distances = torch.cdist(anchor_emb, gallery_emb.to(anchor_emb.dtype))  # (A, G)
    same = anchor_labels[:, None] == gallery_labels[None, :]
    anchor_idx, positive_idx = torch.nonzero(same, as_tuple=True)  # row-major: by anchor
    d_ap = distances[anchor_idx, positive_idx][:, None]  # (T, 1)
    d_an = distances[anchor_idx]  # (T, G)
    negative = ~same[anchor_idx]
    inf = torch.full_like(d_an, float("inf"))
    semi_hard = negative & (d_an > d_ap) & (d_an < d_ap + margin)
    best_semi_hard = torch.where(semi_hard, d_an, inf).argmin(dim=1)
    hardest = torch.where(negative, d_an, inf).argmin(dim=1)
    negative_idx = torch.where(semi_hard.any(dim=1), best_semi_hard, hardest)
    keep = negative.any(dim=1)
    return anchor_idx[keep], positive_idx[keep], negative_idx[keep]
