"""Training a matcher: :func:`train` starts a run, :func:`resume` continues one.

A run folder holds:

* ``config.json``: the :class:`~crossid_desktop.training.config.TrainConfig`;
* ``log.csv``: one row per epoch (:data:`LOG_COLUMNS`);
* ``best.pt`` + ``best.json``: the model of the best validation epoch (Recall@1, then
  Recall@10, then triplet accuracy) and its model card (configuration, command line, data
  description, validation metrics, software versions);
* ``last.pt`` + ``last.json`` and ``last_state.pt`` (optimiser, gradient scaler, counters):
  written after every epoch, so a stopped run resumes where it was;
* ``curves.png``: the training curves.

On the CPU a run is deterministic for its seed: the model is initialised after
``torch.manual_seed(seed)``, every epoch draws its order, batches and augmentation from
generators seeded with ``(seed, epoch)`` (so a resumed run continues exactly), and torch's
deterministic algorithms are switched on for the run. After each epoch the trainable
BatchNorm layers get their statistics recomputed over the training images
(:func:`~crossid_desktop.training.loops.recompute_batchnorm`) before validation and saving. On CUDA, mixed precision (float16 with
a gradient scaler) is used when ``amp`` is set.
"""

from __future__ import annotations

import csv
import json
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from crossid_desktop.errors import DatasetError, ModelError
from crossid_desktop.progress import check_cancel
from crossid_desktop.training.config import DLIB, TrainConfig

if TYPE_CHECKING:
    import torch

    from crossid_desktop.matching.model_card import ModelCard
    from crossid_desktop.progress import ProgressCallback
    from crossid_desktop.training.loops import Side

__all__ = ["LOG_COLUMNS", "EpochRecord", "TrainResult", "resume", "train"]

LOG_COLUMNS = ("epoch", "train_loss", "val_loss", "val_triplet_accuracy", "val_recall_at_1", "val_recall_at_5", "val_recall_at_10", "lr", "seconds")


@dataclass(frozen=True)
class EpochRecord:
    """One row of ``log.csv``: mean training loss over the epoch's steps, validation loss,
    triplet accuracy and Recall@1/5/10 (fractions), learning rate and wall time (s)."""

    epoch: int
    train_loss: float
    val_loss: float
    val_triplet_accuracy: float
    val_recall_at_1: float
    val_recall_at_5: float
    val_recall_at_10: float
    lr: float
    seconds: float

    def summary(self) -> str:
        return (f"epoch {self.epoch} loss {self.train_loss:.4f} val loss {self.val_loss:.4f} acc {self.val_triplet_accuracy:.3f} "
                f"R@1 {self.val_recall_at_1:.3f} R@5 {self.val_recall_at_5:.3f} R@10 {self.val_recall_at_10:.3f}")


@dataclass(frozen=True)
class TrainResult:
    """What a run produced: its folder, the best checkpoint and its epoch, every epoch's
    record, whether early stopping ended it, and the final model (as in ``last.pt``, eval
    mode)."""

    run_dir: Path
    best_checkpoint: Path
    best_epoch: int
    history: tuple[EpochRecord, ...]
    stopped_early: bool
    model: Any = None


@dataclass(eq=False)
class _Data:
    train: Side
    val: Side
    fixed_train: tuple[Any, ...] | None
    fixed_val: tuple[Any, ...] | None
    description: dict[str, Any]


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    command: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> TrainResult:
    """Train a new model into ``run_dir`` (created; it must not hold a run already).
    ``progress(done, total, message)`` follows data preparation and then every step, the
    message carrying the loss and the last validation figures; ``on_epoch`` receives each
    epoch's record. :class:`~crossid_desktop.errors.Cancelled` leaves the last finished epoch
    in ``last.pt``, to resume."""
    run_dir = Path(run_dir)
    if (run_dir / "config.json").exists():
        raise ModelError(f"The folder {run_dir} already holds a training run; resume it or choose another folder.")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(config.to_json(), encoding="utf-8")
    return _run(config, run_dir, command=list(command or sys.argv), resume_state=None, progress=progress, cancel=cancel, on_epoch=on_epoch)


def resume(
    run_dir: str | Path,
    *,
    epochs: int | None = None,
    command: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> TrainResult:
    """Continue the run in ``run_dir`` from its ``last.pt`` (weights, optimiser state, epoch
    counter, best result so far); ``epochs`` raises the total number of epochs."""
    import torch

    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir / "config.json")
    if epochs is not None and epochs != config.epochs:
        config = config.with_changes(epochs=epochs)
        (run_dir / "config.json").write_text(config.to_json(), encoding="utf-8")
    state_file = run_dir / "last_state.pt"
    if not state_file.is_file() or not (run_dir / "last.pt").is_file():
        raise ModelError(f"The run folder {run_dir} holds no finished epoch (last.pt and last_state.pt) to resume from.")
    state = torch.load(state_file, map_location="cpu", weights_only=True)
    return _run(config, run_dir, command=list(command or sys.argv), resume_state=state, progress=progress, cancel=cancel, on_epoch=on_epoch)


# --- data --------------------------------------------------------------------------------------


def _input_size(config: TrainConfig) -> int:
    from crossid_desktop.matching.backbones import backbone_spec

    return config.input_size or backbone_spec(config.backbone).input_size


def _provenance(root: Path) -> dict[str, Any] | None:
    """The synthetic cohort's ``params.json`` summary (in the data folder or its parent)."""
    for candidate in (root / "params.json", root.parent / "params.json"):
        if candidate.is_file():
            try:
                params = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                return {"params_json": str(candidate), "readable": False}
            keep = {k: v for k, v in params.items() if not isinstance(v, (list, dict))} if isinstance(params, dict) else {}
            if isinstance(params, dict) and isinstance(params.get("config"), dict):
                keep["config"] = params["config"]
            return {"params_json": str(candidate), **keep}
    return None


def _prepare(config: TrainConfig, progress: ProgressCallback | None, cancel: threading.Event | None) -> _Data:
    from crossid_desktop.imaging.xray import SoftTissueParams
    from crossid_desktop.training.datasets import read_if, read_s2f
    from crossid_desktop.training.loops import load_bank, load_descriptors, make_side
    from crossid_desktop.training.sampling import IFCatalogue, S2FCatalogue, all_triplets, split_subjects, split_triplets

    root = Path(config.data)
    dataset = read_s2f(root) if config.task == "skull2face" else read_if(root)
    if len(dataset.subjects) < 4:
        raise DatasetError(f"The data set {root} holds {len(dataset.subjects)} usable subjects; training needs at least 4.")
    size = _input_size(config) if config.backbone != DLIB else 0
    soft = SoftTissueParams(config.soft_tissue_strength).to_dict()

    def banks(catalogue: Any, label: str) -> tuple[Any, Any]:
        if config.task == "skull2face":
            q = load_bank(catalogue.xrays, kind="xray", input_size=size, soft_tissue=soft, progress=progress, cancel=cancel, what=f"Preparing {label} X-rays")
            g = load_bank(catalogue.faces, kind="face", input_size=size, progress=progress, cancel=cancel, what=f"Aligning {label} faces")
        elif config.backbone == DLIB:
            q = load_descriptors(catalogue.injured, progress=progress, cancel=cancel, what=f"Describing {label} injured faces")
            g = load_descriptors(catalogue.normal, progress=progress, cancel=cancel, what=f"Describing {label} faces")
        else:
            q = load_bank(catalogue.injured, kind="face", input_size=size, progress=progress, cancel=cancel, what=f"Aligning {label} injured faces")
            g = load_bank(catalogue.normal, kind="face", input_size=size, progress=progress, cancel=cancel, what=f"Aligning {label} faces")
        return q, g

    fixed_train = fixed_val = None
    if config.split == "triplet":
        catalogue = S2FCatalogue.from_dataset(dataset)  # type: ignore[arg-type]
        train_t, val_t = split_triplets(all_triplets(catalogue), val_fraction=config.val_fraction, seed=config.seed)
        fixed_train, fixed_val = (train_t.anchor, train_t.positive, train_t.negative), (val_t.anchor, val_t.positive, val_t.negative)
        train_side = val_side = make_side(catalogue, *banks(catalogue, "all"))
        train_ids = val_ids = list(catalogue.subject_ids)
    else:
        train_ids, val_ids = split_subjects(dataset, val_fraction=config.val_fraction, seed=config.seed)
        make = S2FCatalogue.from_dataset if config.task == "skull2face" else IFCatalogue.from_dataset
        train_cat, val_cat = make(dataset, subjects=train_ids), make(dataset, subjects=val_ids)  # type: ignore[operator]
        train_side = make_side(train_cat, *banks(train_cat, "training"))
        val_side = make_side(val_cat, *banks(val_cat, "validation"))
    description = {
        "path": str(root.resolve()),
        "layout": "s2f" if config.task == "skull2face" else "if",
        "n_subjects": len(dataset.subjects),
        "split": config.split,
        "n_train_subjects": len(train_ids),
        "n_val_subjects": len(val_ids),
        "val_subjects": list(val_ids) if config.split == "subject" else "all (triplet-level split: identities shared)",
        "n_train_queries": int(train_side.query.shape[0]),
        "n_val_queries": int(val_side.query.shape[0]),
        "synthetic_cohort": _provenance(root),
    }
    return _Data(train_side, val_side, fixed_train, fixed_val, description)


# --- model and checkpoints ---------------------------------------------------------------------


def _build_model(config: TrainConfig) -> torch.nn.Module:
    if config.backbone == DLIB:
        from crossid_desktop.matching.embedding_head import EmbeddingHead

        return EmbeddingHead(128, config.embedding_dim)
    from crossid_desktop.matching.networks import CrossDomainNet

    weights = None if config.weights in (None, "none") else config.weights
    if config.task == "injured":
        return CrossDomainNet(config.backbone, embedding_dim=config.embedding_dim, weights=weights, freeze_gallery=False, shared=True)
    return CrossDomainNet(config.backbone, embedding_dim=config.embedding_dim, weights=weights, freeze_gallery=config.gallery_frozen)


def _card(config: TrainConfig, run_dir: Path, data: _Data, command: list[str], epoch: int, record: EpochRecord) -> ModelCard:
    from crossid_desktop.matching.model_card import ModelCard, preprocessing_recipe

    if config.backbone == DLIB:
        from crossid_desktop.matching.dlib_matcher import _default_card

        preprocessing = _default_card().preprocessing
    else:
        from crossid_desktop.imaging.xray import SoftTissueParams
        from crossid_desktop.matching.backbones import backbone_spec

        spec = backbone_spec(config.backbone)
        soft = SoftTissueParams(config.soft_tissue_strength).to_dict() if config.task == "skull2face" else None
        preprocessing = preprocessing_recipe(config.task, input_size=_input_size(config), mean=spec.mean, std=spec.std, soft_tissue=soft)
    notes = "validation people never seen in training" if config.split == "subject" else "triplet-level 70:30 split as published: validation people also appear in training (optimistic figures)"
    return ModelCard(
        name=f"{config.task}-{config.backbone}-{run_dir.name}",
        task=config.task,
        backbone=config.backbone,
        embedding_dim=config.embedding_dim,
        network={},
        preprocessing=preprocessing,
        training={"config": config.to_dict(), "command": command, "data": data.description, "epoch": epoch, "notes": notes},
        metrics={"validation": {k: v for k, v in asdict(record).items() if k.startswith("val_")}, "epoch": epoch, "split": config.split},
    )


def _save(path: Path, model: torch.nn.Module, card: ModelCard) -> str:
    if card.backbone == DLIB:
        from crossid_desktop.matching.embedding_head import save_head

        return save_head(path, model, card)  # type: ignore[arg-type]
    from crossid_desktop.matching.checkpoint import save_checkpoint

    return save_checkpoint(path, model, card)  # type: ignore[arg-type]


def _load_weights(model: torch.nn.Module, path: Path) -> None:
    from crossid_desktop.matching.checkpoint import read_checkpoint

    state, _ = read_checkpoint(path)
    model.load_state_dict(state, strict=True)


def _read_log(path: Path) -> list[EpochRecord]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [EpochRecord(int(row["epoch"]), *(float(row[c]) for c in LOG_COLUMNS[1:])) for row in csv.DictReader(handle)]


def _write_log(path: Path, history: Sequence[EpochRecord]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=LOG_COLUMNS)
        writer.writeheader()
        for record in history:
            writer.writerow(asdict(record))


def _score(record: EpochRecord) -> tuple[float, float, float]:
    """The validation result to maximise; NaN counts as worst."""
    return tuple(-1.0 if v != v else v for v in (record.val_recall_at_1, record.val_recall_at_10, record.val_triplet_accuracy))  # type: ignore[return-value]


# --- the loop ----------------------------------------------------------------------------------


def _run(
    config: TrainConfig,
    run_dir: Path,
    *,
    command: list[str],
    resume_state: dict[str, Any] | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    on_epoch: Callable[[EpochRecord], None] | None,
) -> TrainResult:
    import torch

    previous_determinism = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        return _loop(config, run_dir, command=command, resume_state=resume_state, progress=progress, cancel=cancel, on_epoch=on_epoch)
    finally:
        torch.use_deterministic_algorithms(previous_determinism)


def _loop(config: TrainConfig, run_dir: Path, *, command: list[str], resume_state: dict[str, Any] | None, progress: ProgressCallback | None, cancel: threading.Event | None, on_epoch: Callable[[EpochRecord], None] | None) -> TrainResult:
    import torch

    from crossid_desktop.evaluation.plots import plot_training_curves
    from crossid_desktop.matching.device import select_device
    from crossid_desktop.training.augment import AugmentParams
    from crossid_desktop.training.loops import Encoder, epoch_steps, make_loss, recompute_batchnorm, step_loss, validate, validation_examples

    device = select_device(config.device)
    data = _prepare(config, progress, cancel)
    torch.manual_seed(config.seed)
    model = _build_model(config).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ModelError("Nothing to train: every layer of this network is frozen.")
    optimiser = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    use_amp = bool(config.amp and device.type == "cuda" and config.backbone != DLIB)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    is_head = config.backbone == DLIB
    if is_head:
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    else:
        from crossid_desktop.matching.backbones import backbone_spec

        spec = backbone_spec(config.backbone)
        mean, std = spec.mean, spec.std
    encoder = Encoder(model, is_head=is_head, mean=mean, std=std, device=device, augment=AugmentParams() if config.augment and not is_head else None, greyscale_query=config.task == "skull2face")
    loss_fn = make_loss(config)
    val_loss_step, val_triplets = validation_examples(config, data.val, config.seed, data.fixed_val)

    history = _read_log(run_dir / "log.csv") if resume_state is not None else []
    start, best_epoch, best_score, stale = 1, 0, (-2.0, -2.0, -2.0), 0
    if resume_state is not None:
        _load_weights(model, run_dir / "last.pt")
        optimiser.load_state_dict(resume_state["optimizer"])
        if use_amp and resume_state.get("scaler"):
            scaler.load_state_dict(resume_state["scaler"])
        start = int(resume_state["epoch"]) + 1
        best_epoch, stale = int(resume_state["best_epoch"]), int(resume_state["stale"])
        best_score = tuple(float(v) for v in resume_state["best_score"])  # type: ignore[assignment]
        history = [r for r in history if r.epoch < start]
    _write_log(run_dir / "log.csv", history)

    steps_per_epoch = len(epoch_steps(config, data.train, np.random.default_rng([config.seed, 0]), fixed_triplets=data.fixed_train))
    total = max(config.epochs - start + 1, 0) * steps_per_epoch
    done, last_summary, stopped_early = 0, "", False
    for epoch in range(start, config.epochs + 1):
        if config.patience is not None and stale >= config.patience:
            stopped_early = True
            break
        began = time.perf_counter()
        rng = np.random.default_rng([config.seed, epoch])
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        torch.manual_seed(config.seed * 1_000_003 + epoch)
        model.train()
        losses = []
        for step in epoch_steps(config, data.train, rng, fixed_triplets=data.fixed_train):
            check_cancel(cancel, "Training")
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                q = encoder.embed(data.train.query, step.query_rows, branch="query", generator=generator)
                g = encoder.embed(data.train.gallery, step.gallery_rows, branch="gallery", generator=generator)
            loss = step_loss(step, q.float(), g.float(), loss_fn, config)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            losses.append(float(loss.detach()))
            done += 1
            if progress is not None:
                progress(min(done, total), total, f"epoch {epoch}/{config.epochs} loss {np.mean(losses):.4f}{last_summary}")
        check_cancel(cancel, "Training")
        recompute_batchnorm(encoder, data.train)
        model.eval()
        result = validate(encoder, data.val, val_loss_step, val_triplets, loss_fn, config)
        record = EpochRecord(epoch, float(np.mean(losses)) if losses else float("nan"), result.loss, result.triplet_accuracy,
                             result.recall_at_1, result.recall_at_5, result.recall_at_10, float(optimiser.param_groups[0]["lr"]),
                             round(time.perf_counter() - began, 3))
        history.append(record)
        last_summary = f" | val R@1 {record.val_recall_at_1:.3f} R@10 {record.val_recall_at_10:.3f} acc {record.val_triplet_accuracy:.3f}"
        if _score(record) > best_score:
            best_score, best_epoch, stale = _score(record), epoch, 0
            _save(run_dir / "best.pt", model, _card(config, run_dir, data, command, epoch, record))
        else:
            stale += 1
        _save(run_dir / "last.pt", model, _card(config, run_dir, data, command, epoch, record))
        torch.save({"optimizer": optimiser.state_dict(), "scaler": scaler.state_dict() if use_amp else {}, "epoch": epoch,
                    "best_epoch": best_epoch, "best_score": list(best_score), "stale": stale}, run_dir / "last_state.pt")
        _write_log(run_dir / "log.csv", history)
        plot_training_curves([{k: v for k, v in asdict(r).items() if k not in ("lr", "seconds")} for r in history], run_dir / "curves.png", title=f"Training {config.task} {config.backbone}")
        if progress is not None:
            progress(min(done, total), total, f"epoch {epoch}/{config.epochs}{last_summary}")
        if on_epoch is not None:
            on_epoch(record)
    if not (run_dir / "best.pt").is_file():
        raise ModelError(f"The run in {run_dir} finished no epoch; nothing was saved.")
    return TrainResult(run_dir, run_dir / "best.pt", best_epoch, tuple(history), stopped_early, model.eval())
