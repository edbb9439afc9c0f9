"""Gallery test data: matcher fingerprints, index parameters and photos stored with vectors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from crossid_desktop.gallery.index import HnswParams
from crossid_desktop.gallery.index_base import GalleryIndexBase
from crossid_desktop.gallery.store import GalleryStore

PNG = b"\x89PNG\r\n\x1a\n"
FP = "a" * 64
OTHER_FP = "b" * 64
# smaller graph settings keep the tests quick on a shared CPU; recall is still checked
PARAMS = HnswParams(M=16, ef_construction=100, ef=100)

OpenIndex = Callable[..., GalleryIndexBase]


def enrol_vectors(store: GalleryStore, vectors: np.ndarray, *, fingerprint: str = FP, start: int = 0) -> np.ndarray:
    """Store one photo per vector (subject "s") with its embedding; returns the image ids."""
    with store.transaction():
        ids = [
            store.add_image(
                "s", path=Path(f"/p/{i}.jpg"), sha256=hashlib.sha256(str(i).encode()).hexdigest(), view="front",
                width=9, height=9, thumbnail_png=PNG, alignment="x",
            ).image_id
            for i in range(start, start + len(vectors))
        ]
        store.put_embeddings(fingerprint, ids, vectors)
    return np.array(ids)
