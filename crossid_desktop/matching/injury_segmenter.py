"""The injury and occlusion segmenter: which parts of an aligned face are unreliable.

A small U-Net (:class:`InjurySegmenter`, about 0.1 M weights) looks at the canonical face crop
(``imaging/canonical.py``) at :data:`INPUT_SIZE` px, together with its mirror image across the
face's midline (six input channels: injuries are mostly one-sided, so the difference between
the two halves is a strong cue), and gives the probability that each pixel shows an injury,
a dressing, blood or another occluder rather than the person's face. It is trained on real
faces with simulated casework injuries and their masks (``training/segmenter.py``).

The weights live in ``resources/models/injury_segmenter.pt`` (tensors only, loaded with
``weights_only=True``) with a JSON card beside them (``injury_segmenter.json``: training data,
command, metrics, the probability threshold). This module imports torch at the top: import it
lazily.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.completion import midline_x
from crossid_desktop.paths import resource_path, write_text_atomic

#: side in pixels of the crop the network sees
INPUT_SIZE = 64
#: probability above which a pixel counts as unreliable, unless the card says otherwise
DEFAULT_THRESHOLD = 0.5
BUNDLED_NAME = "injury_segmenter"
_MEAN, _STD = 0.5, 0.25


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class InjurySegmenter(nn.Module):
    """``(N, 6, H, W)`` (a crop and its mirror, normalised) -> ``(N, 1, H, W)`` logits.
    ``widths``: channels of the four levels (H and W divisible by 8)."""

    def __init__(self, widths: Sequence[int] = (8, 16, 32, 48)) -> None:
        super().__init__()
        w = tuple(int(v) for v in widths)
        self.widths = w
        self.down = nn.ModuleList([_block(6, w[0]), _block(w[0], w[1]), _block(w[1], w[2]), _block(w[2], w[3])])
        self.up = nn.ModuleList([_block(w[3] + w[2], w[2]), _block(w[2] + w[1], w[1]), _block(w[1] + w[0], w[0])])
        self.head = nn.Conv2d(w[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)


@dataclass(frozen=True)
class SegmenterCard:
    """The JSON card beside the weights: ``widths``, ``input_size``, ``threshold``, and free-form
    ``training`` (data, command) and ``metrics``."""

    widths: tuple[int, ...]
    input_size: int = INPUT_SIZE
    threshold: float = DEFAULT_THRESHOLD
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"kind": "injury_segmenter", "widths": list(self.widths), "input_size": self.input_size, "threshold": self.threshold,
                           "training": self.training, "metrics": self.metrics}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SegmenterCard:
        try:
            data = json.loads(text)
            if data.get("kind") != "injury_segmenter":
                raise ValueError("not an injury segmenter card")
            return cls(tuple(int(v) for v in data["widths"]), int(data["input_size"]), float(data["threshold"]),
                       dict(data.get("training", {})), dict(data.get("metrics", {})))
        except (ValueError, KeyError, TypeError) as error:
            raise ModelError(f"The injury segmenter's card is not valid ({error}).") from error


def network_input(faces: Sequence[NDArray[np.uint8]], size: int = INPUT_SIZE) -> torch.Tensor:
    """Canonical crops ``(S, S, 3) uint8`` -> ``(N, 6, size, size)`` float32: each crop and its
    mirror across the face's midline, scaled to ``size`` and normalised."""
    import cv2  # OpenCV loads on first use

    batch = np.empty((len(faces), 6, size, size), np.float32)
    # the network was trained with this reflection (about the template's midline, x -> 2 c - 1 - x):
    # it defines the input, half a pixel of the 64 px crop off the alignment's own convention
    reflect = np.float32([[-1, 0, 2 * midline_x(size) - 1], [0, 1, 0]])
    for i, face in enumerate(faces):
        small = cv2.resize(np.ascontiguousarray(face), (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        mirrored = cv2.warpAffine(small, reflect, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        both = np.concatenate([small, mirrored], axis=2)
        batch[i] = ((both - _MEAN) / _STD).transpose(2, 0, 1)
    return torch.from_numpy(batch)


class UnreliableRegions:
    """A loaded segmenter: :meth:`probabilities` and :meth:`mask` of canonical crops."""

    def __init__(self, model: InjurySegmenter, card: SegmenterCard, path: Path | None = None, sha256: str = "") -> None:
        self.model = model.eval()
        self.card = card
        self.path = path
        self.sha256 = sha256  # of the weights file

    def probabilities(self, faces: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
        """``(N, S, S)`` float32: the probability that each pixel of each crop is unreliable."""
        import cv2  # OpenCV loads on first use

        if not faces:
            return np.empty((0, 0, 0), np.float32)
        with torch.inference_mode():
            logits = self.model(network_input(faces, self.card.input_size))
        prob = torch.sigmoid(logits)[:, 0].numpy()
        return np.stack([cv2.resize(p, (f.shape[1], f.shape[0]), interpolation=cv2.INTER_LINEAR) for p, f in zip(prob, faces)]).astype(np.float32)

    def mask(self, faces: Sequence[NDArray[np.uint8]]) -> NDArray[np.bool_]:
        """``(N, S, S)`` bool: the pixels above the card's threshold."""
        return self.probabilities(faces) >= self.card.threshold


def save_segmenter(path: str | Path, model: InjurySegmenter, card: SegmenterCard) -> None:
    """Write the weights (float32, tensors only) and the card ``<stem>.json`` beside them."""
    from crossid_desktop.paths import atomic_path

    path = Path(path)
    with atomic_path(path) as temporary:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, temporary)
    write_text_atomic(path.with_suffix(".json"), card.to_json())


def load_segmenter(path: str | Path | None = None) -> UnreliableRegions:
    """Load a segmenter (the bundled one when ``path`` is None). :class:`ModelError` when the
    files are missing or do not fit."""
    path = Path(path) if path is not None else resource_path("models", BUNDLED_NAME + ".pt")
    card_file = path.with_suffix(".json")
    if not path.is_file() or not card_file.is_file():
        raise ModelError(f"The injury segmenter {path} (or its card {card_file.name}) is missing; reinstall CrossID Desktop.")
    card = SegmenterCard.from_json(card_file.read_text(encoding="utf-8"))
    model = InjurySegmenter(card.widths)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except Exception as error:  # a corrupt, truncated or foreign file: torch raises many kinds
        raise ModelError(f"The injury segmenter {path} cannot be read ({type(error).__name__}); it is corrupt or not a segmenter.") from error
    return UnreliableRegions(model, card, path, hashlib.sha256(path.read_bytes()).hexdigest())
