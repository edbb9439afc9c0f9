"""The record of a training run: one :class:`EpochRecord` per epoch in ``log.csv``, the
:class:`TrainResult`, and the order in which epochs compete to be the best."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crossid_desktop.spreadsheet import csv_text

__all__ = ["LOG_COLUMNS", "EpochRecord", "TrainResult", "read_log", "score", "write_log"]

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


def read_log(path: Path) -> list[EpochRecord]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [EpochRecord(int(row["epoch"]), *(float(row[c]) for c in LOG_COLUMNS[1:])) for row in csv.DictReader(handle)]


def write_log(path: Path, history: Sequence[EpochRecord]) -> None:
    path.write_text(csv_text((asdict(record) for record in history), fieldnames=LOG_COLUMNS), encoding="utf-8")


def score(record: EpochRecord) -> tuple[float, float, float]:
    """The validation result to maximise; NaN counts as worst."""
    return tuple(-1.0 if v != v else v for v in (record.val_recall_at_1, record.val_recall_at_10, record.val_triplet_accuracy))  # type: ignore[return-value]
