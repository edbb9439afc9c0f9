"""Choosing the device the networks run on: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from crossid_desktop.errors import ModelError

if TYPE_CHECKING:
    import torch

_CUDA = re.compile(r"^cuda(?::(\d+))?$")


def select_device(preference: str | None = None) -> torch.device:
    """The device to run on.

    ``None`` or ``"auto"``: the first CUDA GPU, else Apple MPS, else the CPU. Otherwise one of
    ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``; :class:`ModelError` when the requested
    device does not exist on this machine or the name is not understood.
    """
    import torch  # torch loads only when a model runs

    name = (preference or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise ModelError("The device 'mps' was requested but Apple's Metal (MPS) backend is not available on this machine; use 'cpu'.")
        return torch.device("mps")
    match = _CUDA.match(name)
    if match:
        if not torch.cuda.is_available():
            raise ModelError(f"The device {preference!r} was requested but no CUDA GPU is available on this machine; use 'cpu'.")
        index = int(match.group(1) or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise ModelError(f"The device {preference!r} was requested but this machine has {count} CUDA GPU(s) (cuda:0 to cuda:{count - 1}).")
        return torch.device("cuda", index)
    raise ModelError(f"Unknown device {preference!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'.")


def _mps_available() -> bool:
    import torch  # torch loads only when a model runs

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The reduced precision used for inference on ``device``: bfloat16 on CUDA GPUs that
    support it, else float16 on CUDA; None (full float32) on the CPU and MPS."""
    import torch  # torch loads only when a model runs

    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
