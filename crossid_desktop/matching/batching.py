"""Running an embedding function over a list in batches, with progress and cancellation."""

from __future__ import annotations

import threading
from typing import Callable, Sequence, TypeVar

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.progress import ProgressCallback, check_cancel

T = TypeVar("T")


def encode_in_batches(
    items: Sequence[T],
    embed: Callable[[Sequence[T]], NDArray[np.float32]],
    *,
    batch_size: int,
    dim: int,
    what: str,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> NDArray[np.float32]:
    """Apply ``embed`` (a batch of items -> ``(b, dim)``) to ``items`` in batches of
    ``batch_size``: ``(len(items), dim)`` float32. ``progress(done, total, what)`` is called
    after each batch; :class:`~crossid_desktop.errors.Cancelled` is raised between batches
    when ``cancel`` is set."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    total = len(items)
    out = np.empty((total, dim), dtype=np.float32)
    if progress is not None:
        progress(0, total, what)
    for start in range(0, total, batch_size):
        check_cancel(cancel, what)
        chunk = items[start : start + batch_size]
        out[start : start + len(chunk)] = embed(chunk)
        if progress is not None:
            progress(start + len(chunk), total, what)
    return out
