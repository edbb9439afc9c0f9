"""Training a matcher: :func:`train` starts a run, :func:`resume` continues one.

A run folder holds:

* ``config.json``: the :class:`~crossid_desktop.training.config.TrainConfig`;
* ``log.csv``: one row per epoch (:data:`~crossid_desktop.training.run_log.LOG_COLUMNS`);
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

import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from crossid_desktop.errors import ModelError
from crossid_desktop.evaluation.plots import plot_training_curves
from crossid_desktop.imaging.xray import SoftTissueParams
from crossid_desktop.matching.backbones import backbone_spec
from crossid_desktop.matching.checkpoint import read_checkpoint, save_checkpoint
from crossid_desktop.matching.device import select_device
from crossid_desktop.matching.dlib_matcher import _default_card
from crossid_desktop.matching.model_card import ModelCard, preprocessing_recipe
from crossid_desktop.progress import ProgressCallback, check_cancel
from crossid_desktop.training.config import DLIB, TrainConfig
from crossid_desktop.training.data import TrainingData, input_size, prepare_data
from crossid_desktop.training.run_log import EpochRecord, TrainResult, read_log, score, write_log

if TYPE_CHECKING:
    import torch


__all__ = ["resume", "train"]


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
    import torch  # torch loads only when a model runs

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


# --- model and checkpoints ---------------------------------------------------------------------


def _build_model(config: TrainConfig) -> torch.nn.Module:
    if config.backbone == DLIB:
        from crossid_desktop.matching.embedding_head import EmbeddingHead  # loads torch: only when a model is used

        return EmbeddingHead(128, config.embedding_dim)
    from crossid_desktop.matching.networks import CrossDomainNet  # loads torch: only when a model is used

    weights = None if config.weights in (None, "none") else config.weights
    if config.task == "injured":
        return CrossDomainNet(config.backbone, embedding_dim=config.embedding_dim, weights=weights, freeze_gallery=False, shared=True)
    return CrossDomainNet(config.backbone, embedding_dim=config.embedding_dim, weights=weights, freeze_gallery=config.gallery_frozen)


def _card(config: TrainConfig, run_dir: Path, data: TrainingData, command: list[str], epoch: int, record: EpochRecord) -> ModelCard:
    if config.backbone == DLIB:
        preprocessing = _default_card().preprocessing
    else:
        spec = backbone_spec(config.backbone)
        soft = SoftTissueParams(config.soft_tissue_strength).to_dict() if config.task == "skull2face" else None
        preprocessing = preprocessing_recipe(config.task, input_size=input_size(config), mean=spec.mean, std=spec.std, soft_tissue=soft)
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
        from crossid_desktop.matching.embedding_head import save_head  # loads torch: only when a model is used

        return save_head(path, model, card)  # type: ignore[arg-type]

    return save_checkpoint(path, model, card)  # type: ignore[arg-type]


def _load_weights(model: torch.nn.Module, path: Path) -> None:
    state, _ = read_checkpoint(path)
    model.load_state_dict(state, strict=True)


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
    import torch  # torch loads only when a model runs

    previous_determinism = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        return _loop(config, run_dir, command=command, resume_state=resume_state, progress=progress, cancel=cancel, on_epoch=on_epoch)
    finally:
        torch.use_deterministic_algorithms(previous_determinism)


@dataclass(eq=False)
class _Training:
    """What one run trains with: the model and its optimiser, the encoder that embeds image
    banks, the loss and the validation examples."""

    device: Any
    data: TrainingData
    model: Any
    optimiser: Any
    scaler: Any
    use_amp: bool
    encoder: Any
    loss_fn: Any
    val_loss_step: Any
    val_triplets: Any


@dataclass
class _Progress:
    """Counters that survive from epoch to epoch (and, through ``last_state.pt``, a resume)."""

    history: list[EpochRecord]
    start: int = 1
    best_epoch: int = 0
    best_score: tuple[float, float, float] = (-2.0, -2.0, -2.0)
    stale: int = 0


def _loop(config: TrainConfig, run_dir: Path, *, command: list[str], resume_state: dict[str, Any] | None, progress: ProgressCallback | None, cancel: threading.Event | None, on_epoch: Callable[[EpochRecord], None] | None) -> TrainResult:
    from crossid_desktop.training.loops import epoch_steps  # loads torch: only when a model is used

    run = _set_up(config, progress, cancel)
    state = _restore(run, run_dir, resume_state)
    write_log(run_dir / "log.csv", state.history)
    steps_per_epoch = len(epoch_steps(config, run.data.train, np.random.default_rng([config.seed, 0]), fixed_triplets=run.data.fixed_train))
    total = max(config.epochs - state.start + 1, 0) * steps_per_epoch
    done, last_summary, stopped_early = 0, "", False
    for epoch in range(state.start, config.epochs + 1):
        if config.patience is not None and state.stale >= config.patience:
            stopped_early = True
            break
        began = time.perf_counter()
        losses, done = _train_epoch(run, config, epoch, done, total, last_summary, progress, cancel)
        record = _validate_epoch(run, config, epoch, losses, began, cancel)
        state.history.append(record)
        last_summary = f" | val R@1 {record.val_recall_at_1:.3f} R@10 {record.val_recall_at_10:.3f} acc {record.val_triplet_accuracy:.3f}"
        _save_epoch(run, config, run_dir, command, record, state)
        if progress is not None:
            progress(min(done, total), total, f"epoch {epoch}/{config.epochs}{last_summary}")
        if on_epoch is not None:
            on_epoch(record)
    if not (run_dir / "best.pt").is_file():
        raise ModelError(f"The run in {run_dir} finished no epoch; nothing was saved.")
    return TrainResult(run_dir, run_dir / "best.pt", state.best_epoch, tuple(state.history), stopped_early, run.model.eval())


def _set_up(config: TrainConfig, progress: ProgressCallback | None, cancel: threading.Event | None) -> _Training:
    """Read the data, build the model, its optimiser and the encoder (seeded)."""
    import torch  # heavy: loaded only when a model is trained

    from crossid_desktop.training.augment import AugmentParams  # loads torch: only when a model is used
    from crossid_desktop.training.loops import Encoder, make_loss, validation_examples  # loads torch: only when a model is used

    device = select_device(config.device)
    data = prepare_data(config, progress, cancel)
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
        spec = backbone_spec(config.backbone)
        mean, std = spec.mean, spec.std
    encoder = Encoder(model, is_head=is_head, mean=mean, std=std, device=device, augment=AugmentParams() if config.augment and not is_head else None, greyscale_query=config.task == "skull2face")
    val_loss_step, val_triplets = validation_examples(config, data.val, config.seed, data.fixed_val)
    return _Training(device, data, model, optimiser, scaler, use_amp, encoder, make_loss(config), val_loss_step, val_triplets)


def _restore(run: _Training, run_dir: Path, resume_state: dict[str, Any] | None) -> _Progress:
    """The counters of a new run, or those of the run being resumed with its weights and
    optimiser state loaded back."""
    if resume_state is None:
        return _Progress(history=[])
    _load_weights(run.model, run_dir / "last.pt")
    run.optimiser.load_state_dict(resume_state["optimizer"])
    if run.use_amp and resume_state.get("scaler"):
        run.scaler.load_state_dict(resume_state["scaler"])
    start = int(resume_state["epoch"]) + 1
    history = [r for r in read_log(run_dir / "log.csv") if r.epoch < start]
    best_score = tuple(float(v) for v in resume_state["best_score"])
    return _Progress(history, start, int(resume_state["best_epoch"]), best_score, int(resume_state["stale"]))  # type: ignore[arg-type]


def _train_epoch(run: _Training, config: TrainConfig, epoch: int, done: int, total: int, last_summary: str,
                 progress: ProgressCallback | None, cancel: threading.Event | None) -> tuple[list[float], int]:
    """One pass over the training steps of ``epoch`` (order, batches and augmentation seeded by
    ``(seed, epoch)``); returns the step losses and the updated step count."""
    import torch  # heavy: loaded only when a model is trained

    from crossid_desktop.training.loops import epoch_steps, step_loss  # loads torch: only when a model is used

    rng = np.random.default_rng([config.seed, epoch])
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    torch.manual_seed(config.seed * 1_000_003 + epoch)
    run.model.train()
    losses: list[float] = []
    for step in epoch_steps(config, run.data.train, rng, fixed_triplets=run.data.fixed_train):
        check_cancel(cancel, "Training")
        with torch.autocast(device_type=run.device.type, dtype=torch.float16, enabled=run.use_amp):
            q = run.encoder.embed(run.data.train.query, step.query_rows, branch="query", generator=generator)
            g = run.encoder.embed(run.data.train.gallery, step.gallery_rows, branch="gallery", generator=generator)
        loss = step_loss(step, q.float(), g.float(), run.loss_fn, config)
        run.optimiser.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        run.scaler.step(run.optimiser)
        run.scaler.update()
        losses.append(float(loss.detach()))
        done += 1
        if progress is not None:
            progress(min(done, total), total, f"epoch {epoch}/{config.epochs} loss {np.mean(losses):.4f}{last_summary}")
    return losses, done


def _validate_epoch(run: _Training, config: TrainConfig, epoch: int, losses: list[float], began: float, cancel: threading.Event | None) -> EpochRecord:
    """BatchNorm statistics recomputed over the training images, then the validation figures."""
    from crossid_desktop.training.loops import recompute_batchnorm, validate  # loads torch: only when a model is used

    check_cancel(cancel, "Training")
    recompute_batchnorm(run.encoder, run.data.train)
    run.model.eval()
    result = validate(run.encoder, run.data.val, run.val_loss_step, run.val_triplets, run.loss_fn, config)
    return EpochRecord(epoch, float(np.mean(losses)) if losses else float("nan"), result.loss, result.triplet_accuracy,
                       result.recall_at_1, result.recall_at_5, result.recall_at_10, float(run.optimiser.param_groups[0]["lr"]),
                       round(time.perf_counter() - began, 3))


def _save_epoch(run: _Training, config: TrainConfig, run_dir: Path, command: list[str], record: EpochRecord, state: _Progress) -> None:
    """``best.pt`` when the epoch is the best so far, ``last.pt``, ``last_state.pt``, the log and the curves."""
    import torch  # heavy: loaded only when a model is trained

    epoch = record.epoch
    if score(record) > state.best_score:
        state.best_score, state.best_epoch, state.stale = score(record), epoch, 0
        _save(run_dir / "best.pt", run.model, _card(config, run_dir, run.data, command, epoch, record))
    else:
        state.stale += 1
    _save(run_dir / "last.pt", run.model, _card(config, run_dir, run.data, command, epoch, record))
    torch.save({"optimizer": run.optimiser.state_dict(), "scaler": run.scaler.state_dict() if run.use_amp else {}, "epoch": epoch,
                "best_epoch": state.best_epoch, "best_score": list(state.best_score), "stale": state.stale}, run_dir / "last_state.pt")
    write_log(run_dir / "log.csv", state.history)
    plot_training_curves([{k: v for k, v in asdict(r).items() if k not in ("lr", "seconds")} for r in state.history], run_dir / "curves.png", title=f"Training {config.task} {config.backbone}")
