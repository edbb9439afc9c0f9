"""Training the two networks of the X-ray landmark detector (torch, CPU-friendly).

A run folder holds ``config.json``, and for each stage (``global``, ``local``):
``<stage>_last.pt`` (weights, optimiser and step, written every ``eval_every`` steps, so a
stopped run resumes), ``<stage>_best.pt`` (the weights with the lowest tuning error so far)
and ``<stage>_log.csv`` (step, training loss, tuning error in image pixels, seconds). The two
stages are independent (the local stage learns on crops around the true points, offset at
random as the global stage's errors would) and can run in two processes at once.

Tuning error: the global stage's mean radial error on the tuning images, the whole pipeline
but without refinement; the local stage's, starting from the reference points moved by a
fixed random offset (the same for every evaluation). Both are in the tuning images' own pixels.
Finally :func:`~crossid_desktop.matching.landmarks.assemble.assemble` puts the best weights
of both stages into one model file.
"""

from __future__ import annotations

import csv
import math
import threading
import time
from pathlib import Path

import numpy as np
import torch

from crossid_desktop.errors import DatasetError
from crossid_desktop.matching.landmarks.frames import apply, invert, warp
from crossid_desktop.matching.landmarks.heatmap_net import HeatmapNet, HeatmapNetConfig
from crossid_desktop.matching.landmarks.heatmaps import PRESENT, gaussian_targets, heatmap_loss, read_heatmaps
from crossid_desktop.matching.landmarks.train_config import LandmarkTrainConfig, TrainingSets
from crossid_desktop.matching.landmarks.training_data import LandmarkSample, global_example, local_example, negative_sample, network_input, random_texture
from crossid_desktop.paths import atomic_path, write_text_atomic
from crossid_desktop.progress import ProgressCallback, check_cancel

STAGES = ("global", "local")


def build_net(config: LandmarkTrainConfig, stage: str, n_landmarks: int) -> HeatmapNet:
    widths = config.global_widths if stage == "global" else config.local_widths
    return HeatmapNet(HeatmapNetConfig(n_landmarks, tuple(widths), 2 if stage == "global" else 1))


def train_stage(config: LandmarkTrainConfig, sets: TrainingSets, run_dir: Path, stage: str, *,
                progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> Path:
    """Train (or resume) one stage; return the path of its best weights."""
    if stage not in STAGES:
        raise DatasetError(f"Unknown training stage {stage!r}; expected one of {', '.join(STAGES)}.")
    run_dir.mkdir(parents=True, exist_ok=True)
    config_file = run_dir / "config.json"
    if not config_file.is_file():
        write_text_atomic(config_file, config.to_json())
    torch.manual_seed(config.seed)
    net = build_net(config, stage, len(sets.names))
    steps = config.global_steps if stage == "global" else config.local_steps
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)))
    last, best_path, log = run_dir / f"{stage}_last.pt", run_dir / f"{stage}_best.pt", run_dir / f"{stage}_log.csv"
    step, best = 0, float("inf")
    if last.is_file():
        saved = torch.load(last, map_location="cpu", weights_only=True)
        net.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        schedule.load_state_dict(saved["schedule"])
        step, best = int(saved["step"]), float(saved["best"])
    sigma = config.sigma_global if stage == "global" else config.sigma_local
    losses: list[float] = []
    started = time.perf_counter()
    while step < steps:
        check_cancel(cancel, "Training the landmark model")
        rng = np.random.default_rng([config.seed, step, STAGES.index(stage)])
        images, points, state = _batch(config, sets, stage, rng)
        net.train()
        grid, null = net(torch.from_numpy(network_input(images)))
        targets = gaussian_targets(torch.from_numpy(points).float(), torch.from_numpy(state), tuple(grid.shape[2:]), net.config.output_stride, sigma)
        loss = heatmap_loss(grid, null, targets, torch.from_numpy(state))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(float(loss.detach()))
        step += 1
        if step % config.eval_every == 0 or step == steps:
            error = tune_error(net, config, sets, stage)
            if error < best:
                best = error
                _save(best_path, {"model": net.state_dict(), "step": torch.tensor(step), "tune_error": torch.tensor(error)})
            _save(last, {"model": net.state_dict(), "optimiser": optimiser.state_dict(), "schedule": schedule.state_dict(), "step": step, "best": best})
            _append_log(log, step, float(np.mean(losses)), error, time.perf_counter() - started)
            losses = []
            if progress is not None:
                progress(step, steps, f"{stage}: tuning error {error:.1f} px (best {best:.1f})")
    return best_path


def _batch(config: LandmarkTrainConfig, sets: TrainingSets, stage: str, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Images, ``(B, K, 2)`` points and ``(B, K)`` states of one augmented batch."""
    frames = config.frames
    size = config.batch_global if stage == "global" else config.batch_local
    images, points, states = [], [], []
    while len(images) < size:
        sample = _draw(config, sets, stage, rng)
        example = global_example(sample, frames, rng) if stage == "global" else local_example(sample, frames, rng)
        if example is None:
            continue
        images.append(example[0])
        points.append(np.nan_to_num(example[1]))
        states.append(example[2])
    return images, np.stack(points), np.stack(states)


def _draw(config: LandmarkTrainConfig, sets: TrainingSets, stage: str, rng: np.random.Generator) -> LandmarkSample:
    """A random training sample: a negative (global stage only), a real or a synthetic image."""
    if stage == "global" and rng.random() < config.negative_fraction:
        if sets.negatives and rng.random() < 0.6:
            return sets.negatives[int(rng.integers(len(sets.negatives)))]
        return negative_sample("texture", random_texture(rng), len(sets.names), config.frames)
    pools = [p for p in (sets.real, sets.synthetic) if p]
    pool = pools[0] if len(pools) == 1 else (sets.real if rng.random() < config.real_fraction else sets.synthetic)
    return pool[int(rng.integers(len(pool)))]


@torch.no_grad()
def tune_error(net: HeatmapNet, config: LandmarkTrainConfig, sets: TrainingSets, stage: str) -> float:
    """Mean radial error (image pixels) of the stage on the tuning samples (module docstring)."""
    net.eval()
    errors = []
    frames = config.frames
    rng = np.random.default_rng(12345)
    for sample in sets.tune:
        present = np.flatnonzero(sample.state == PRESENT)
        if stage == "global":
            canvas, xy, _ = global_example(sample, frames, rng, augment=False)
            grid, null = net(torch.from_numpy(network_input([canvas])))
            reading = read_heatmaps(grid[0], null[0], net.config.output_stride, max(2, round(3 * config.sigma_global)))
            scale = frames.size / max(sample.global_image.shape) * sample.global_map[0, 0]
            found = reading.xy[present]
            errors.extend(np.hypot(*(found - xy[present]).T) / scale)
            continue
        image = sample.local_image.astype(np.float32) / 255.0
        truth = apply(sample.local_map, sample.points[present])
        starts = truth + rng.normal(0.0, 10.0, truth.shape)
        maps = [frames.crop_map(c) for c in starts]
        grid, null = net(torch.from_numpy(network_input([warp(image, m, frames.crop) for m in maps])))
        for row, (k, to_crop) in enumerate(zip(present, maps)):
            reading = read_heatmaps(grid[row, k: k + 1], null[row, k: k + 1], 1, max(2, round(3 * config.sigma_local)))
            found = apply(invert(to_crop), reading.xy)[0]
            errors.append(float(np.hypot(*(found - truth[row]))) / sample.local_map[0, 0])
    return float(np.mean(errors)) if errors else float("nan")


def _save(path: Path, payload: dict) -> None:
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def _append_log(path: Path, step: int, loss: float, error: float, seconds: float) -> None:
    new = not path.is_file()
    with path.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(["step", "train_loss", "tune_error_px", "seconds"])
        writer.writerow([step, f"{loss:.5f}", f"{error:.3f}", f"{seconds:.0f}"])
