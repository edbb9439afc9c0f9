"""Gallery fixtures: a store with two registered matchers, synthetic photos with vectors, and
every index backend (the embedded hnswlib index and Milvus Lite), so that one test runs
against each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gallery_vectors import FP, OTHER_FP, PARAMS, OpenIndex

from crossid_desktop.gallery.index import GalleryIndex
from crossid_desktop.gallery.index_base import GalleryIndexBase
from crossid_desktop.gallery.store import GalleryStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GalleryStore]:
    with GalleryStore(tmp_path / "gallery.db") as s:
        s.register_matcher(FP, name="matcher", card={})
        s.register_matcher(OTHER_FP, name="other matcher", card={})
        s.upsert_subject("s")
        yield s


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
