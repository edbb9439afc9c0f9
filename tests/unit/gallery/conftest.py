"""Gallery fixtures: a store with two registered matchers, synthetic photos with vectors, and
every index backend (the embedded hnswlib index and Milvus Lite), so that one test runs
against each."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.gallery.index import GalleryIndex, HnswParams
from crossid_desktop.gallery.index_base import GalleryIndexBase
from crossid_desktop.gallery.store import GalleryStore

PNG = b"\x89PNG\r\n\x1a\n"
FP = "a" * 64
OTHER_FP = "b" * 64
# smaller graph settings keep the tests quick on a shared CPU; recall is still checked
PARAMS = HnswParams(M=16, ef_construction=100, ef=100)

OpenIndex = Callable[..., GalleryIndexBase]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GalleryStore]:
    with GalleryStore(tmp_path / "gallery.db") as s:
        s.register_matcher(FP, name="matcher", card={})
        s.register_matcher(OTHER_FP, name="other matcher", card={})
        s.upsert_subject("s")
        yield s


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


@pytest.fixture(params=["hnswlib", "milvus-lite"])
def open_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenIndex]:
    """``open_index(store, fingerprint=FP, **options)`` on one backend; closed afterwards."""
    opened: list[GalleryIndexBase] = []
    if request.param == "milvus-lite":
        pytest.importorskip("pymilvus")
        pytest.importorskip("milvus_lite")
        from crossid_desktop.gallery.milvus_index import MilvusGalleryIndex

        def open_(store: GalleryStore, fingerprint: str = FP, **options: object) -> GalleryIndexBase:
            options.setdefault("params", PARAMS)
            opened.append(MilvusGalleryIndex.open(str(tmp_path / "vectors.db"), store, fingerprint, **options))
            return opened[-1]
    else:

        def open_(store: GalleryStore, fingerprint: str = FP, **options: object) -> GalleryIndexBase:
            options.setdefault("params", PARAMS)
            opened.append(GalleryIndex.open(tmp_path / "indexes", store, fingerprint, **options))
            return opened[-1]

    yield open_
    for index in opened:
        index.close()
