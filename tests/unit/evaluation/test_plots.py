"""Smoke test: every evaluation figure is written as a non-empty PNG, atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.evaluation import plots
from crossid_desktop.evaluation.calibration import tippett_data

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_every_plot_writes_a_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    genuine, impostor = rng.normal(1, 0.5, 40), rng.normal(0, 0.5, 80)
    ks = np.arange(1, 11)
    written = [
        plots.plot_tippett((np.exp(genuine * 3), np.exp(impostor * 3 - 2)), tmp_path / "tippett.png"),
        plots.plot_tippett(tippett_data([10.0, 100.0], [0.1, 10.0]), tmp_path / "tippett2.png"),
        plots.plot_recall_curves(ks, ks / 10, ks / 20, tmp_path / "recall.png", mrr=np.full(10, 0.3)),
        plots.plot_cmc(np.linspace(0.2, 1, 10), tmp_path / "cmc.png"),
        plots.plot_cmc({"SCL": np.linspace(0.3, 1, 10), "triplet": np.linspace(0.2, 1, 10)}, tmp_path / "cmc2.png"),
        plots.plot_score_histograms(genuine, impostor, tmp_path / "hist.png", bins=10),
        plots.plot_roc([0, 0.1, 0.5, 1], [0, 0.6, 0.9, 1], tmp_path / "sub" / "roc.png", log_far=True),
        plots.plot_training_curves(
            [{"epoch": e, "train_loss": 1 / e, "val_acc": 1 - 1 / (e + 1)} for e in range(1, 4)],
            tmp_path / "train.png",
        ),
    ]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000, path
    leftovers = [p.name for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".png"]
    assert leftovers == []


def test_training_curves_reject_an_empty_log(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        plots.plot_training_curves([], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
