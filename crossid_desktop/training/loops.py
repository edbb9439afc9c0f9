"""The data side of training: images decoded and prepared once into memory, the examples of an
epoch (triplets, SCL sets) and their losses, and the validation metrics.

Images are prepared exactly as the matchers prepare them at search time
(:mod:`crossid_desktop.matching.preprocess`): X-rays through ``prepare_xray`` (soft-tissue
suppression, computed once per image), face photos through ``prepare_face`` (canonical
alignment), then ``to_network_batch`` at the network's input size without normalisation, so
a bank holds ``(n, 3, S, S)`` float32 in [0, 1]. Augmentation works on these; the backbone's
mean/std normalisation comes last (:meth:`Encoder.embed`). For a head on dlib's descriptor a
bank holds the ``(n, 128)`` descriptors instead.

Roles: the **query** bank holds the X-rays (skull2face) or the injured photos (injured), the
**gallery** bank the face photos or the non-injured photos.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from crossid_desktop.datasets.sampling import ImageRef, InjuredFaceCatalogue, SkullFaceCatalogue, injured_triplets, scl_sets, subject_batches, triplets_from_labels
from crossid_desktop.evaluation import metrics
from crossid_desktop.imaging.canonical import ALIGNED_SIZE
from crossid_desktop.imaging.io import load_image
from crossid_desktop.matching.dlib_matcher import DlibFaceMatcher
from crossid_desktop.matching.losses import ContrastiveLoss, SubclassContrastiveLoss, TripletLoss, semi_hard_triplets
from crossid_desktop.matching.preprocess import FaceChoice, InputRecipe, prepare_face, prepare_xray, to_network_batch
from crossid_desktop.progress import ProgressCallback, check_cancel
from crossid_desktop.training.augment import AugmentParams, augment_batch
from crossid_desktop.training.config import TrainConfig

#: training photos are searched like a query whose examiner chose the largest face, or the
#: central square when none is found (as ``prepare_face`` does for gallery photos)
TRAINING_FACE = FaceChoice(face=1, allow_centre_crop=True)

# --- image banks -----------------------------------------------------------------------------


def load_bank(
    refs: Sequence[ImageRef],
    *,
    kind: str,
    input_size: int,
    soft_tissue: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    what: str = "Preparing images",
) -> torch.Tensor:
    """Decode and prepare images: ``kind = "xray"`` (soft tissue suppressed, grey on three
    channels) or ``"face"`` (aligned canonical crop): ``(n, 3, S, S)`` float32 in [0, 1]."""

    raw = InputRecipe(input_size=input_size, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    out = torch.empty((len(refs), 3, input_size, input_size), dtype=torch.float32)
    for i, ref in enumerate(refs):
        check_cancel(cancel, what)
        image = load_image(ref.path)
        prepared = prepare_xray(image, soft_tissue) if kind == "xray" else prepare_face(image, ALIGNED_SIZE)
        out[i] = torch.from_numpy(to_network_batch([prepared], raw)[0])
        if progress is not None:
            progress(i + 1, len(refs), what)
    return out


def load_descriptors(refs: Sequence[ImageRef], *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None, what: str = "Computing dlib descriptors") -> torch.Tensor:
    """dlib's raw 128-d descriptors of aligned photos, as the dlib matcher computes them:
    ``(n, 128)`` float32."""
    matcher = DlibFaceMatcher()
    rows = []
    for i, ref in enumerate(refs):
        check_cancel(cancel, what)
        rows.append(matcher.descriptors([matcher.preprocess_query(load_image(ref.path), "injured_face", TRAINING_FACE)])[0])
        if progress is not None:
            progress(i + 1, len(refs), what)
    return torch.from_numpy(np.stack(rows).astype(np.float32)) if rows else torch.empty((0, 128))


@dataclass(eq=False)
class Side:
    """One side of a split (training or validation): its catalogue, banks and labels.

    ``eval_gallery`` are the gallery rows of the identification protocol (one photo per
    subject: the first frontal face, or the first non-injured photo)."""

    catalogue: SkullFaceCatalogue | InjuredFaceCatalogue
    query: torch.Tensor
    gallery: torch.Tensor
    query_labels: NDArray[np.int64]
    gallery_labels: NDArray[np.int64]
    eval_gallery: NDArray[np.int64]


def make_side(catalogue: SkullFaceCatalogue | InjuredFaceCatalogue, query: torch.Tensor, gallery: torch.Tensor) -> Side:
    if isinstance(catalogue, SkullFaceCatalogue):
        q_refs, g_refs = catalogue.xrays, catalogue.faces
    else:
        q_refs, g_refs = catalogue.injured, catalogue.normal
    first: dict[int, int] = {}
    for row, ref in enumerate(g_refs):
        if ref.subject not in first or (ref.role == "front" and g_refs[first[ref.subject]].role != "front"):
            first[ref.subject] = row
    return Side(
        catalogue, query, gallery,
        np.array([r.subject for r in q_refs], dtype=np.int64),
        np.array([r.subject for r in g_refs], dtype=np.int64),
        np.array(sorted(first.values()), dtype=np.int64),
    )


# --- embedding -------------------------------------------------------------------------------


class Encoder:
    """Embeds bank rows with the model: a :class:`CrossDomainNet` (query rows through the query
    branch, gallery rows through the gallery branch) or an embedding head on descriptors."""

    def __init__(self, model: torch.nn.Module, *, is_head: bool, mean: Sequence[float], std: Sequence[float], device: torch.device, augment: AugmentParams | None, greyscale_query: bool) -> None:
        self.model, self.is_head, self.device = model, is_head, device
        self.mean = torch.tensor(mean, dtype=torch.float32).reshape(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).reshape(1, 3, 1, 1)
        self.augment = augment
        self.greyscale_query = greyscale_query

    def embed(self, bank: torch.Tensor, rows: NDArray[np.int64], *, branch: str, generator: torch.Generator | None) -> torch.Tensor:
        """Embeddings ``(len(rows), d)`` of the bank rows; augmented when ``generator`` is given
        and augmentation is on."""
        x = bank[torch.from_numpy(np.asarray(rows, dtype=np.int64))]
        if self.is_head:
            return self.model(x.to(self.device))
        if generator is not None and self.augment is not None:
            x = augment_batch(x, self.augment, generator, greyscale=self.greyscale_query and branch == "query")
        x = ((x - self.mean) / self.std).to(self.device)
        if branch == "gallery" and not any(p.requires_grad for p in self.model.gallery.parameters()):
            with torch.no_grad():
                return self.model.embed_gallery(x)
        return self.model.embed_query(x) if branch == "query" else self.model.embed_gallery(x)

    @torch.no_grad()
    def embed_all(self, bank: torch.Tensor, *, branch: str, batch: int = 64) -> torch.Tensor:
        """Every bank row, without augmentation: ``(n, d)`` float32 on the CPU."""
        rows = np.arange(bank.shape[0], dtype=np.int64)
        parts = [self.embed(bank, rows[i : i + batch], branch=branch, generator=None).float().cpu() for i in range(0, len(rows), batch)]
        return torch.cat(parts) if parts else torch.empty((0, 1))


@torch.no_grad()
def recompute_batchnorm(encoder: Encoder, side: Side, *, batch: int = 64) -> None:
    """Set the running statistics of every *trainable* BatchNorm layer to their average over
    the side's images, unaugmented ("precise BatchNorm", Wu and Johnson 2021).

    The running averages a few dozen small batches leave behind are far from the population
    statistics, most of all for a network trained from scratch, whose eval-mode output can
    then collapse to one point. A frozen branch keeps its statistics. Leaves the model in
    eval mode."""
    model = encoder.model
    if encoder.is_head:
        return
    model.train()
    layers = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats]
    saved = [m.momentum for m in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative average over the batches below
    branches = [("query", side.query)]
    if any(p.requires_grad for p in model.gallery.parameters()) and model.query is not None:
        branches.append(("gallery", side.gallery))
    elif model.query is None:
        branches.append(("gallery", side.gallery))  # shared branch: both kinds of photo
    for branch, bank in branches:
        rows = np.arange(bank.shape[0], dtype=np.int64)
        for i in range(0, len(rows), batch):
            if len(rows[i : i + batch]) > 1:
                encoder.embed(bank, rows[i : i + batch], branch=branch, generator=None)
    for layer, momentum in zip(layers, saved):
        layer.momentum = momentum
    model.eval()


# --- the examples of an epoch ----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Step:
    """One optimisation step: which bank rows to embed and how to combine them.

    ``kind = "triplets"``: ``(i0, i1, i2)`` = (anchor in the step's query rows, positive and
    negative in its gallery rows). ``"sets"``: SCL sets, ``i0`` = normal photo (gallery rows),
    ``i1`` = injured photo and ``i2`` = partner (query rows), ``labels`` 0/1. ``"semi-hard"``:
    triplets mined from the embeddings with the local subject labels."""

    kind: str
    query_rows: NDArray[np.int64]
    gallery_rows: NDArray[np.int64]
    i0: NDArray[np.int64] | None = None
    i1: NDArray[np.int64] | None = None
    i2: NDArray[np.int64] | None = None
    labels: NDArray[np.int64] | None = None


def _localise(rows: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Unique rows (sorted) and the position of each original row among them."""
    unique, inverse = np.unique(rows, return_inverse=True)
    return unique.astype(np.int64), inverse.astype(np.int64)


def triplet_step(anchor: NDArray[np.int64], positive: NDArray[np.int64], negative: NDArray[np.int64]) -> Step:
    q_rows, a = _localise(anchor)
    g_rows, pn = _localise(np.concatenate([positive, negative]))
    return Step("triplets", q_rows, g_rows, a, pn[: len(positive)], pn[len(positive) :])


def epoch_steps(config: TrainConfig, side: Side, rng: np.random.Generator, *, fixed_triplets: tuple[NDArray[np.int64], ...] | None = None) -> list[Step]:
    """The steps of one training epoch (see :class:`TrainConfig` ``sampling``); shuffled with
    ``rng``. ``fixed_triplets`` are the training triplets of the triplet-level split."""
    steps: list[Step] = []
    if config.task == "skull2face" and config.sampling in ("batch-all", "semi-hard") and fixed_triplets is None:
        for subjects in subject_batches(len(side.catalogue.subject_ids), config.subjects_per_batch, rng):
            q_rows = np.flatnonzero(np.isin(side.query_labels, subjects)).astype(np.int64)
            g_rows = np.flatnonzero(np.isin(side.gallery_labels, subjects)).astype(np.int64)
            if config.sampling == "semi-hard":
                steps.append(Step("semi-hard", q_rows, g_rows, labels=np.concatenate([side.query_labels[q_rows], side.gallery_labels[g_rows]])))
            else:
                t = triplets_from_labels(side.query_labels[q_rows], side.gallery_labels[g_rows])
                steps.append(Step("triplets", q_rows, g_rows, t.anchor, t.positive, t.negative))
    else:
        if fixed_triplets is not None:
            columns: tuple[NDArray[np.int64], ...] = fixed_triplets
        elif config.task == "skull2face":
            t = triplets_from_labels(side.query_labels, side.gallery_labels)
            columns = (t.anchor, t.positive, t.negative)
        elif config.loss == "triplet":
            columns = injured_triplets(side.catalogue, rng)  # type: ignore[arg-type]
        else:
            s = scl_sets(side.catalogue, rng, impostors_per_genuine=config.impostors_per_genuine)  # type: ignore[arg-type]
            columns = (s.normal, s.injured, s.partner, s.label)
        order = rng.permutation(len(columns[0]))
        for start in range(0, len(order), config.batch_size):
            rows = order[start : start + config.batch_size]
            if len(columns) == 3:
                steps.append(triplet_step(*(c[rows] for c in columns)))
            else:
                normal, injured, partner, label = (c[rows] for c in columns)
                g_rows, n_local = _localise(normal)
                q_rows, ip = _localise(np.concatenate([injured, partner]))
                steps.append(Step("sets", q_rows, g_rows, n_local, ip[: len(rows)], ip[len(rows) :], label))
    if config.max_steps_per_epoch is not None:
        steps = steps[: config.max_steps_per_epoch]
    return steps


def step_loss(step: Step, q: torch.Tensor, g: torch.Tensor, loss_fn: torch.nn.Module, config: TrainConfig) -> torch.Tensor:
    """The loss of a step from its query and gallery embeddings (triplet steps of batch-all
    sampling averaged over their active triplets when ``config.average_active``)."""

    if step.kind == "sets":
        n, a, partner = (torch.from_numpy(v).to(q.device) for v in (step.i0, step.i1, step.i2))  # type: ignore[arg-type]
        y = torch.from_numpy(step.labels).to(q.device)  # type: ignore[arg-type]
        if isinstance(loss_fn, SubclassContrastiveLoss):
            return loss_fn(g[n], q[a], q[partner], y)
        # contrastive: (normal, injured) genuine pairs and (normal, other's injured) impostor pairs
        second = torch.where((y == 0)[:, None], q[a], q[partner])
        return loss_fn(g[n], second, y)
    if step.kind == "semi-hard":
        labels = torch.from_numpy(step.labels)  # type: ignore[arg-type]
        nq = len(step.query_rows)
        a, p, n = semi_hard_triplets(q.detach(), labels[:nq].to(q.device), g.detach(), labels[nq:].to(q.device), config.effective_margin)
    else:
        a, p, n = (torch.from_numpy(v).to(q.device) for v in (step.i0, step.i1, step.i2))  # type: ignore[arg-type]
    if config.average_active and config.task == "skull2face" and config.sampling == "batch-all" and isinstance(loss_fn, TripletLoss):
        per_triplet = torch.relu(torch.linalg.vector_norm(q[a] - g[p], dim=1) - torch.linalg.vector_norm(q[a] - g[n], dim=1) + loss_fn.margin)
        return per_triplet.sum() / (per_triplet > 0).sum().clamp(min=1)
    if isinstance(loss_fn, ContrastiveLoss):
        x1 = torch.cat([q[a], q[a]])
        x2 = torch.cat([g[p], g[n]])
        y = torch.cat([torch.zeros(len(a)), torch.ones(len(a))]).to(q.device)
        return loss_fn(x1, x2, y)
    return loss_fn(q[a], g[p], g[n])


def make_loss(config: TrainConfig) -> torch.nn.Module:
    if config.loss == "scl":
        return SubclassContrastiveLoss(config.m1, config.m2)
    if config.loss == "contrastive":
        return ContrastiveLoss(config.effective_margin)
    return TripletLoss(config.effective_margin)


# --- validation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationResult:
    """Validation figures of one epoch (fractions in [0, 1]; loss in loss units)."""

    loss: float
    triplet_accuracy: float
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float


def validation_examples(config: TrainConfig, side: Side, seed: int, fixed_triplets: tuple[NDArray[np.int64], ...] | None) -> tuple[Step, Step]:
    """The fixed validation examples, each as one step over the whole side: ``(for the
    loss, for the triplet accuracy)``. Triplets: every published triplet of the side, or the
    triplet-level split's validation triplets (skull2face); for the injured task triplets, and
    SCL sets for the SCL and contrastive losses, drawn once with ``seed``."""
    rng = np.random.default_rng(seed)
    if fixed_triplets is not None:
        a, p, n = fixed_triplets
    elif config.task == "skull2face":
        t = triplets_from_labels(side.query_labels, side.gallery_labels)
        a, p, n = t.anchor, t.positive, t.negative
    else:
        a, p, n = injured_triplets(side.catalogue, rng)  # type: ignore[arg-type]
    all_q = np.arange(side.query.shape[0], dtype=np.int64)
    all_g = np.arange(side.gallery.shape[0], dtype=np.int64)
    if config.task == "injured" and config.loss != "triplet":
        s = scl_sets(side.catalogue, rng, impostors_per_genuine=config.impostors_per_genuine)  # type: ignore[arg-type]
        return Step("sets", all_q, all_g, s.normal, s.injured, s.partner, s.label), Step("triplets", all_q, all_g, a, p, n)
    step = Step("triplets", all_q, all_g, a, p, n)
    return step, step


@torch.no_grad()
def validate(encoder: Encoder, side: Side, loss_step: Step, triplet_step_: Step, loss_fn: torch.nn.Module, config: TrainConfig) -> ValidationResult:
    """Loss, triplet accuracy and Recall@1/5/10 of the side's queries against its gallery (one
    photo per subject), without augmentation."""

    q = encoder.embed_all(side.query, branch="query")
    g = encoder.embed_all(side.gallery, branch="gallery")
    loss = float(step_loss(loss_step, q, g, loss_fn, config)) if len(loss_step.query_rows) else float("nan")
    a, p, n = (torch.from_numpy(v) for v in (triplet_step_.i0, triplet_step_.i1, triplet_step_.i2))  # type: ignore[arg-type]
    d_ap = torch.linalg.vector_norm(q[a] - g[p], dim=1).numpy()
    d_an = torch.linalg.vector_norm(q[a] - g[n], dim=1).numpy()
    accuracy = metrics.triplet_accuracy(d_ap, d_an) if len(d_ap) else float("nan")
    gallery_rows = side.eval_gallery
    ranking = metrics.rank_gallery(q.numpy(), g[torch.from_numpy(gallery_rows)].numpy())
    ranked = ranking.labels(side.gallery_labels[gallery_rows])
    recalls = [metrics.recall_at_k(ranked, side.query_labels, k) for k in (1, 5, 10)]
    return ValidationResult(loss, accuracy, *recalls)
