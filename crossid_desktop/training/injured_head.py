"""Training the Subclass Contrastive Loss head on face descriptors already computed.

The trainer of ``training/trainer.py`` reads an IF-layout folder and describes every photo with
plain dlib alignment. The injury-aware matcher describes an injured query after its own
preparation (segmenter, robust alignment, completion, flips; ``matching/injured_query.py``), so
its head must learn on those descriptors: :func:`train_head` takes the descriptors of normal
photos and of injured photos (``(n, 128)`` arrays with subject labels), draws the SCL sets of
the publication (``datasets/sampling.py``: genuine ``(N_i, I_i, I_i')``, impostor
``(N_i, I_i, I_j)``), and fits an :class:`~crossid_desktop.matching.embedding_head.EmbeddingHead`
with :class:`~crossid_desktop.matching.losses.SubclassContrastiveLoss` (Adam, fresh sets every
epoch). A validation share of the subjects (never trained on) is ranked after every epoch:
each injured descriptor against one normal descriptor per subject; the best epoch's weights are
kept, and an untrained head (the identity) is measured the same way for comparison.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from crossid_desktop.datasets.sampling import ImageRef, InjuredFaceCatalogue, scl_sets
from crossid_desktop.datasets.splits import subject_split
from crossid_desktop.matching.embedding_head import EmbeddingHead
from crossid_desktop.matching.losses import SubclassContrastiveLoss
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress


@dataclass(frozen=True)
class HeadTraining:
    """Settings of a head training run (the publication's margins m1 = 2, m2 = 3.1)."""

    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    hidden: int | None = None
    m1: float = 2.0
    m2: float = 3.1
    impostors_per_genuine: int = 2
    val_fraction: float = 0.15
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Descriptors:
    """Descriptors ``(n, 128)`` float32 of normal and of injured photos, and the subject of
    each row."""

    normal: NDArray[np.float32]
    normal_subjects: tuple[str, ...]
    injured: NDArray[np.float32]
    injured_subjects: tuple[str, ...]

    def restricted(self, subjects: Sequence[str]) -> Descriptors:
        keep = set(subjects)
        n = [i for i, s in enumerate(self.normal_subjects) if s in keep]
        j = [i for i, s in enumerate(self.injured_subjects) if s in keep]
        return Descriptors(self.normal[n], tuple(self.normal_subjects[i] for i in n), self.injured[j], tuple(self.injured_subjects[i] for i in j))


def _catalogue(data: Descriptors) -> InjuredFaceCatalogue:
    ids = tuple(sorted(set(data.normal_subjects) | set(data.injured_subjects)))
    index = {s: k for k, s in enumerate(ids)}
    normal = tuple(ImageRef(Path(f"normal/{k}"), index[s], "normal") for k, s in enumerate(data.normal_subjects))
    injured = tuple(ImageRef(Path(f"injured/{k}"), index[s], "injured") for k, s in enumerate(data.injured_subjects))
    return InjuredFaceCatalogue(Path("."), ids, normal, injured)


def identification_rank1(head: torch.nn.Module | None, data: Descriptors) -> float:
    """Rank-1 of each injured descriptor against the first normal descriptor of every subject
    (the publication's gallery), in the head's space (``None``: raw descriptors)."""
    first: dict[str, int] = {}
    for k, s in enumerate(data.normal_subjects):
        first.setdefault(s, k)
    subjects = sorted(first)
    gallery = torch.from_numpy(data.normal[[first[s] for s in subjects]])
    probes = torch.from_numpy(data.injured)
    with torch.inference_mode():
        if head is not None:
            gallery, probes = head(gallery), head(probes)
        best = torch.cdist(probes, gallery).argmin(dim=1).numpy()
    return float(np.mean([subjects[b] == s for b, s in zip(best, data.injured_subjects)]))


def train_head(data: Descriptors, settings: HeadTraining, *, progress: ProgressCallback | None = None,
               cancel: threading.Event | None = None) -> tuple[EmbeddingHead, dict[str, Any]]:
    """Fit a head on ``data`` (see the module docstring); returns the best epoch's head (eval
    mode) and the log: per-epoch loss and validation rank-1, the identity's rank-1, the split."""
    progress = progress or no_progress
    subjects = sorted(set(data.normal_subjects) & set(data.injured_subjects))
    train_ids, val_ids = subject_split(subjects, test_fraction=settings.val_fraction, seed=settings.seed)
    train, val = data.restricted(train_ids), data.restricted(val_ids)
    catalogue = _catalogue(train)
    normal, injured = torch.from_numpy(train.normal), torch.from_numpy(train.injured)
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    head = EmbeddingHead(normal.shape[1], normal.shape[1], settings.hidden)
    loss_fn = SubclassContrastiveLoss(settings.m1, settings.m2)
    optimiser = torch.optim.Adam(head.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    best = (identification_rank1(head.eval(), val), {k: v.clone() for k, v in head.state_dict().items()}, 0)
    log: dict[str, Any] = {"train_subjects": len(train_ids), "val_subjects": len(val_ids), "settings": settings.to_dict(),
                           "untrained_val_rank1": best[0], "raw_val_rank1": identification_rank1(None, val), "epochs": []}
    for epoch in range(1, settings.epochs + 1):
        head.train()
        sets = scl_sets(catalogue, rng, impostors_per_genuine=settings.impostors_per_genuine)
        order = rng.permutation(len(sets))
        losses = []
        for start in range(0, len(order), settings.batch_size):
            check_cancel(cancel, "Training the head")
            rows = sets.take(order[start:start + settings.batch_size])
            loss = loss_fn(head(normal[rows.normal]), head(injured[rows.injured]), head(injured[rows.partner]), torch.from_numpy(rows.label))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        rank1 = identification_rank1(head.eval(), val)
        log["epochs"].append({"epoch": epoch, "loss": float(np.mean(losses)), "val_rank1": rank1})
        if rank1 > best[0]:
            best = (rank1, {k: v.clone() for k, v in head.state_dict().items()}, epoch)
        progress(epoch, settings.epochs, f"epoch {epoch}: loss {np.mean(losses):.3f}, validation rank-1 {rank1:.3f}")
    head.load_state_dict(best[1])
    log.update(best_epoch=best[2], best_val_rank1=best[0])
    return head.eval(), log
