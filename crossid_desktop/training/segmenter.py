"""Training the injury segmenter (``matching/injury_segmenter.py``) on real faces with
simulated injuries and their masks.

The training set (:func:`build_training_set`) is made of aligned canonical crops of real
people: a share is left clean (nothing to find: the segmenter must stay quiet on uninjured
faces, or it would cost clean searches their accuracy), a share gets generic occluders
(random shapes filled with a flat colour, noise or a patch of another photo: the segmenter
should learn "not this person's skin", not the look of one simulation), and the rest the
casework simulation (``synth/injuries/casework.py``) of an :class:`InjuryMix`, at a severity
drawn from mild to severe. The target is the union of the injuries' masks, without the
invisible part of pure deformations.

:func:`train_segmenter` fits the network with binary cross-entropy plus soft Dice, on
batches re-augmented every epoch (a small random similarity, as the re-alignment of an
injured photo gives, a horizontal flip, brightness, contrast, colour, greyscale), and keeps
the weights of the epoch with the best validation Dice.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from crossid_desktop.matching.injury_segmenter import INPUT_SIZE, InjurySegmenter, network_input
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress
from crossid_desktop.synth.injuries.casework import simulate_casework
from crossid_desktop.synth.injuries.mix import HARSH_MIX, CaseworkKind, InjuryMix

#: side of the crops the injuries are simulated on before they are scaled to the network's size
SIMULATE_SIZE = 128


@dataclass(frozen=True)
class SegmenterTraining:
    """Settings of a segmenter training run."""

    epochs: int = 12
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    widths: tuple[int, ...] = (8, 16, 32, 48)
    size: int = INPUT_SIZE
    clean_fraction: float = 0.15
    occluder_fraction: float = 0.2
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _occluder(face: NDArray[np.uint8], other: NDArray[np.uint8], rng: np.random.Generator) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """A random shape over the face filled with a flat colour, coloured noise or a patch of
    another photo, softly shaded; returns the image and the shape's mask."""
    import cv2  # OpenCV loads on first use

    size = face.shape[0]
    centre = rng.uniform([0.25, 0.3], [0.75, 0.9]) * size
    radius = rng.uniform(0.08, 0.3) * size
    n = int(rng.integers(3, 9))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    pts = centre + (radius * rng.uniform(0.5, 1.0, n))[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    mask = np.zeros((size, size), np.uint8)
    if rng.uniform() < 0.5:
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    else:
        axes = (int(radius), int(radius * rng.uniform(0.3, 1.0)))
        cv2.ellipse(mask, (int(centre[0]), int(centre[1])), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    pick = rng.uniform()
    if pick < 0.35:
        fill = np.broadcast_to(rng.uniform(0, 1, 3), (size, size, 3)) * 255.0
    elif pick < 0.6:
        noise = cv2.resize(rng.uniform(0, 255, (8, 8, 3)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
        fill = noise + rng.normal(0, 12, (size, size, 3))
    else:
        shift = rng.integers(-size // 3, size // 3, 2)
        fill = np.roll(other.astype(np.float32), tuple(int(v) for v in shift), axis=(0, 1))
    yy = np.linspace(0.85, 1.1, size)[:, None, None]
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.8)[..., None]
    out = face.astype(np.float32) * (1 - soft) + np.clip(fill * yy, 0, 255) * soft
    return np.clip(out, 0, 255).astype(np.uint8), mask > 0


def training_sample(face: NDArray[np.uint8], other: NDArray[np.uint8], seed: int, settings: SegmenterTraining,
                    mix: InjuryMix = HARSH_MIX) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """One training pair from a canonical crop (any size): the image at :data:`SIMULATE_SIZE`
    and its target mask (``uint8`` 0/1). ``other`` lends texture to occluders."""
    import cv2  # OpenCV loads on first use

    rng = np.random.default_rng(seed)
    small = cv2.resize(face, (SIMULATE_SIZE, SIMULATE_SIZE), interpolation=cv2.INTER_AREA)
    pick = rng.uniform()
    if pick < settings.clean_fraction:
        return small, np.zeros(small.shape[:2], np.uint8)
    if pick < settings.clean_fraction + settings.occluder_fraction:
        other_small = cv2.resize(other, (SIMULATE_SIZE, SIMULATE_SIZE), interpolation=cv2.INTER_AREA)
        image, mask = _occluder(small, other_small, rng)
        return image, mask.astype(np.uint8)
    result = simulate_casework(small, seed=int(rng.integers(2**31)), severity=float(rng.uniform(0.1, 1.0)), mix=mix)
    visible = [i.mask for i in result.injuries if i.kind != CaseworkKind.DEFORMATION.value]
    mask = np.logical_or.reduce(visible) if visible else np.zeros(small.shape[:2], bool)
    return result.image, mask.astype(np.uint8)


def build_training_set(faces: Sequence[NDArray[np.uint8]], settings: SegmenterTraining, *, mix: InjuryMix = HARSH_MIX,
                       progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """One training pair per face (see :func:`training_sample`): images ``(n, 128, 128, 3)``
    and masks ``(n, 128, 128)`` uint8. Deterministic for ``settings.seed``."""
    progress = progress or no_progress
    images, masks = [], []
    for i, face in enumerate(faces):
        check_cancel(cancel, "Building the segmenter's training set")
        image, mask = training_sample(face, faces[(i * 7919 + 13) % len(faces)], settings.seed * 1_000_003 + i, settings, mix)
        images.append(image)
        masks.append(mask)
        progress(i + 1, len(faces), "simulating injuries")
    return np.stack(images), np.stack(masks)


def augment(images: NDArray[np.uint8], masks: NDArray[np.uint8], size: int, rng: np.random.Generator) -> tuple[list[NDArray[np.uint8]], NDArray[np.float32]]:
    """Augmented crops at ``size`` px and their soft masks ``(n, size, size)`` float32: a random
    similarity (rotation +-8 degrees, scale 0.92-1.08, shift +-5 %), a flip, brightness,
    contrast, saturation and greyscale."""
    import cv2  # OpenCV loads on first use

    out_images, out_masks = [], np.empty((len(images), size, size), np.float32)
    for i, (image, mask) in enumerate(zip(images, masks)):
        side = image.shape[0]
        angle, scale = rng.uniform(-8, 8), rng.uniform(0.92, 1.08) * size / side
        matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, scale)
        matrix[:, 2] += rng.uniform(-0.05, 0.05, 2) * size + (size - side) / 2
        img = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        target = cv2.warpAffine(mask.astype(np.float32), matrix, (size, size), flags=cv2.INTER_AREA)
        if rng.uniform() < 0.5:
            img, target = img[:, ::-1], target[:, ::-1]
        grey = img @ np.float32([0.3, 0.59, 0.11])
        saturation = 0.0 if rng.uniform() < 0.15 else rng.uniform(0.7, 1.3)
        img = grey[..., None] + saturation * (img - grey[..., None])
        img = (img - 128.0) * rng.uniform(0.75, 1.25) + 128.0 + rng.uniform(-30, 30)
        out_images.append(np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8)))
        out_masks[i] = target
    return out_images, out_masks


def dice(prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Soft Dice coefficient per image of ``(N, H, W)`` probabilities and targets; an image with
    an empty target and an empty prediction scores 1."""
    inter = (prob * target).sum(dim=(1, 2))
    total = prob.sum(dim=(1, 2)) + target.sum(dim=(1, 2))
    return (2 * inter + 1.0) / (total + 1.0)


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, target) + (1.0 - dice(torch.sigmoid(logits), target)).mean()


def evaluate_segmenter(model: InjurySegmenter, images: Sequence[NDArray[np.uint8]], masks: NDArray[np.float32], threshold: float = 0.5) -> dict[str, float]:
    """Mean soft Dice, pixel IoU at ``threshold`` over images with something to find, and the
    share of clean images (empty target) on which more than 1 % of the crop is flagged."""
    model.eval()
    with torch.inference_mode():
        prob = torch.cat([torch.sigmoid(model(network_input(images[i:i + 64], masks.shape[1]))[:, 0]) for i in range(0, len(images), 64)])
    target = torch.from_numpy(masks)
    hard, truth = prob >= threshold, target >= 0.5
    has = truth.flatten(1).any(dim=1)
    inter = (hard & truth).flatten(1).sum(1).float()
    union = (hard | truth).flatten(1).sum(1).float().clamp(min=1)
    flagged = hard.flatten(1).float().mean(1) > 0.01
    return {"dice": float(dice(prob, target).mean()), "iou": float((inter / union)[has].mean()) if has.any() else float("nan"),
            "clean_flagged": float(flagged[~has].float().mean()) if (~has).any() else float("nan")}


def train_segmenter(images: NDArray[np.uint8], masks: NDArray[np.uint8], val_images: NDArray[np.uint8], val_masks: NDArray[np.uint8],
                    settings: SegmenterTraining, *, progress: ProgressCallback | None = None,
                    cancel: threading.Event | None = None) -> tuple[InjurySegmenter, dict[str, Any]]:
    """Train a segmenter; returns the weights of the best validation epoch and the per-epoch log."""
    import cv2  # OpenCV loads on first use

    progress = progress or no_progress
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model = InjurySegmenter(settings.widths)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps = settings.epochs * int(np.ceil(len(images) / settings.batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=settings.lr, total_steps=max(steps, 1))
    val_x = [cv2.resize(v, (settings.size, settings.size), interpolation=cv2.INTER_AREA) for v in val_images]
    val_y = np.stack([cv2.resize(m.astype(np.float32), (settings.size, settings.size), interpolation=cv2.INTER_AREA) for m in val_masks])
    best: tuple[float, dict[str, torch.Tensor]] = (-1.0, {})
    log: list[dict[str, float]] = []
    for epoch in range(settings.epochs):
        model.train()
        order = rng.permutation(len(images))
        losses = []
        for start in range(0, len(order), settings.batch_size):
            check_cancel(cancel, "Training the segmenter")
            rows = order[start:start + settings.batch_size]
            x, y = augment(images[rows], masks[rows], settings.size, rng)
            logits = model(network_input(x, settings.size))[:, 0]
            loss = _loss(logits, torch.from_numpy(y))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
        metrics = {"epoch": epoch + 1, "loss": float(np.mean(losses)), **evaluate_segmenter(model, val_x, val_y)}
        log.append(metrics)
        if metrics["dice"] > best[0]:
            best = (metrics["dice"], {k: v.detach().clone() for k, v in model.state_dict().items()})
        progress(epoch + 1, settings.epochs, f"epoch {epoch + 1}: loss {metrics['loss']:.3f}, validation Dice {metrics['dice']:.3f}")
    model.load_state_dict(best[1])
    return model.eval(), {"epochs": log, "best_dice": best[0]}
