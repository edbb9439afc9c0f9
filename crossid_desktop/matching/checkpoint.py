"""Saving and loading trained models: a tensors-only ``.pt`` file and a JSON model card beside it.

``model.pt`` holds the state dict (``torch.save`` of tensors only, read back with
``weights_only=True`` so a checkpoint can never run code); ``model.json`` holds the
:class:`~crossid_desktop.matching.model_card.ModelCard`. Both are written atomically
(temporary file, then ``os.replace``). ``half=True`` stores floating tensors as float16 (half
the size); they are converted back to float32 on load.

The **fingerprint** names an embedding space: SHA-256 over the weights (sorted keys, each
with dtype, shape and bytes) and the canonical JSON of the card's embedding fields (task,
backbone, embedding size, network configuration, preprocessing). Metrics, calibration,
training notes, name and dates do not enter it: recalibrating a model keeps its gallery
embeddings valid.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.backbones import BACKBONES
from crossid_desktop.matching.model_card import ModelCard, preprocessing_recipe
from crossid_desktop.paths import atomic_path

if TYPE_CHECKING:
    import torch

    from crossid_desktop.matching.networks import CrossDomainNet

__all__ = [
    "ModelCard",
    "preprocessing_recipe",
    "card_path",
    "save_checkpoint",
    "load_checkpoint",
    "save_state",
    "read_checkpoint",
    "fingerprint",
    "weights_sha256",
]


def card_path(path: str | Path) -> Path:
    """The model card beside a checkpoint: ``<stem>.json``."""
    return Path(path).with_suffix(".json")


def weights_sha256(state_dict: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over the weights: for each key in sorted order, the key, dtype, shape and bytes.
    An empty state (dlib's matcher without a head) hashes without loading torch."""
    digest = hashlib.sha256()
    if not state_dict:
        return digest.hexdigest()
    import torch  # torch loads only when a model runs

    for key in sorted(state_dict):
        tensor = state_dict[key].detach().cpu().contiguous()
        digest.update(key.encode())
        digest.update(f"|{str(tensor.dtype).removeprefix('torch.')}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def fingerprint(state_dict: Mapping[str, torch.Tensor], card: ModelCard) -> str:
    """Hex SHA-256 of the embedding space: the weights and the card's embedding fields.

    Changes when any weight changes or when the task, backbone, embedding size, network
    configuration or preprocessing change; not when metrics, calibration, training notes,
    name, software versions or dates change.
    """
    digest = hashlib.sha256()
    digest.update(b"crossid-embedding-space-v1\n")
    digest.update(weights_sha256(state_dict).encode())
    digest.update(json.dumps(card.embedding_space(), sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    with atomic_path(path) as temporary:
        write(temporary)


def _as_stored(state_dict: Mapping[str, torch.Tensor], half: bool) -> dict[str, torch.Tensor]:
    import torch  # torch loads only when a model runs

    stored = {}
    for key, tensor in state_dict.items():
        tensor = tensor.detach().cpu().contiguous().clone()
        if half and tensor.is_floating_point():
            tensor = tensor.to(torch.float16)
        stored[key] = tensor
    return stored


def _as_loaded(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    import torch  # torch loads only when a model runs

    return {k: (v.to(torch.float32) if v.dtype in (torch.float16, torch.bfloat16) else v) for k, v in state_dict.items()}


def save_state(path: str | Path, state_dict: Mapping[str, torch.Tensor], card: ModelCard, *, half: bool = False) -> str:
    """Write ``state_dict`` to ``path`` and ``card`` to ``<stem>.json``, atomically; return the
    fingerprint of the model as it will load (after the float16 round trip when ``half``).
    Sets ``card.weights_sha256``."""
    import torch  # torch loads only when a model runs

    path = Path(path)
    stored = _as_stored(state_dict, half)
    loaded = _as_loaded(stored)
    card.weights_sha256 = weights_sha256(loaded)
    _atomic_write(path, lambda tmp: torch.save(stored, tmp))
    _atomic_write(card_path(path), lambda tmp: tmp.write_text(card.to_json(), encoding="utf-8"))
    return fingerprint(loaded, card)


def save_checkpoint(path: str | Path, model: CrossDomainNet, card: ModelCard, *, half: bool = False) -> str:
    """Save a :class:`CrossDomainNet` and its card (network, backbone and embedding size are
    taken from the model); return its fingerprint."""
    card.network = model.config.to_dict()
    card.backbone = model.config.backbone
    card.embedding_dim = model.config.embedding_dim
    return save_state(path, model.state_dict(), card, half=half)


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], ModelCard]:
    """Read the state dict (float32) and the card of a checkpoint, checking that the weights
    are the ones the card was written for. :class:`ModelError` on any problem."""
    import torch  # torch loads only when a model runs

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"The model file {path} does not exist.")
    card_file = card_path(path)
    if not card_file.is_file():
        raise ModelError(f"The model file {path} has no model card {card_file.name} beside it.")
    try:
        raw: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ModelError(f"The model file {path} cannot be read ({type(error).__name__}); it is corrupt, truncated or not a PyTorch file.") from error
    if not isinstance(raw, Mapping) or not raw or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in raw.items()):
        raise ModelError(f"The model file {path} does not hold a CrossID state dict (a mapping of parameter names to tensors).")
    try:
        card = ModelCard.from_json(card_file.read_text(encoding="utf-8"))
    except ModelError as error:
        raise ModelError(f"The model card {card_file} cannot be used: {error}") from error
    except (OSError, UnicodeDecodeError, TypeError) as error:
        raise ModelError(f"The model card {card_file} cannot be read ({type(error).__name__}).") from error
    state = _as_loaded(raw)
    if card.weights_sha256 and weights_sha256(state) != card.weights_sha256:
        raise ModelError(f"The weights in {path} are not the ones its model card {card_file.name} describes (the file was changed or swapped).")
    return state, card


def load_checkpoint(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[CrossDomainNet, ModelCard]:
    """Load a :class:`CrossDomainNet` in eval mode on ``device`` and its card."""
    from crossid_desktop.matching.networks import CrossDomainNet  # loads torch: only when a model is used

    path = Path(path)
    state, card = read_checkpoint(path)
    if card.backbone not in BACKBONES:
        raise ModelError(f"The model card of {path} names the backbone {card.backbone!r}, which is not a network backbone of this version.")
    network = dict(card.network)
    if network.get("backbone") != card.backbone or network.get("embedding_dim") != card.embedding_dim:
        raise ModelError(f"The model card of {path} contradicts itself: backbone/embedding size {card.backbone!r}/{card.embedding_dim} vs network {network}.")
    model = CrossDomainNet.from_config(network)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        first = (missing or unexpected or wrong)[0]
        raise ModelError(
            f"The weights in {path} do not fit the {card.backbone!r} network its card describes "
            f"({len(missing)} missing, {len(unexpected)} unexpected, {len(wrong)} wrong-shape tensors, e.g. {first!r})."
        )
    model.load_state_dict(state, strict=True)
    model.to(device)
    model.eval()
    return model, card
