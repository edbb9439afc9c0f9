"""Gallery search: hnswlib index against exact numpy search on random embeddings.

For every size N and dimension d: build time of :class:`GalleryIndex` (``add`` of all vectors),
bytes per face on disk (index file + meta, and the SQLite embedding rows measured on a sample),
then, for each search breadth ``ef``, single-query top-10 latency (median and 99th percentile,
one thread, through ``GalleryIndex.search``) and recall@10 against exact search, and the
speed-up over exact search of one query in the same run.

Data: L2-normalised Gaussian vectors (uniform directions), float32, with queries drawn the
same way. This is close to the hardest case for a graph index: real face embeddings have a
much lower intrinsic dimension, and reach a given recall with a smaller ``ef``.

Run: ``.venv/bin/python tests/benchmarks/index_search.py [--sizes 10000,100000] [--dims 128]
[--ef 100,300,800] [--build-threads 2]``. Timings are wall-clock on whatever machine runs
it; on a shared CPU they are noisy. 1M x 512 needs about 6 GB of memory.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.gallery.exact import exact_search
from crossid_desktop.gallery.index import GalleryIndex, HnswParams
from crossid_desktop.gallery.store import GalleryStore

K = 10
_PNG = b"\x89PNG\r\n\x1a\n"


def unit_vectors(rng: np.random.Generator, n: int, dim: int) -> NDArray[np.float32]:
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):  # in pieces: float64 draws of 1M x 512 would take 4 GB
        block = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def sqlite_bytes_per_face(vectors: NDArray[np.float32], folder: Path) -> float:
    """Growth of gallery.db per embedding, measured by storing a sample of ``vectors``."""
    with GalleryStore(folder / "gallery.db") as store:
        store.register_matcher("bench", name="bench", card={})
        store.upsert_subject("s")
        with store.transaction():
            ids = [
                store.add_image(
                    "s", path=Path(f"/p/{i}"), sha256=hashlib.sha256(b"%d" % i).hexdigest(), view="front",
                    width=1, height=1, thumbnail_png=_PNG, alignment="x",
                ).image_id
                for i in range(len(vectors))
            ]
        store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = (folder / "gallery.db").stat().st_size
        store.put_embeddings("bench", ids, vectors)
        store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        after = (folder / "gallery.db").stat().st_size
    return (after - before) / len(vectors)


def percentile_ms(times: list[float], q: float) -> float:
    return float(np.percentile(times, q) * 1e3)


def run_one(n: int, dim: int, args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    vectors = unit_vectors(rng, n, dim)
    queries = unit_vectors(rng, args.queries, dim)
    ids = np.arange(1, n + 1, dtype=np.int64)
    params = HnswParams(M=args.M, ef_construction=args.ef_construction, num_threads=args.build_threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # a store is needed only for the constructor; add() and save() do not touch it
        with GalleryStore(folder / "unused.db") as store:
            index = GalleryIndex(folder / "indexes", store, "bench", params)
            start = time.perf_counter()
            index.add(ids, vectors)
            build_s = time.perf_counter() - start
            index.save()
        disk = sum(p.stat().st_size for p in (folder / "indexes").iterdir())
        sqlite_bpf = sqlite_bytes_per_face(vectors[: min(n, args.sqlite_sample)], folder)
        # searches run on one thread from here on
        index._params = replace(params, num_threads=1)  # noqa: SLF001 (benchmark only)

        start = time.perf_counter()
        truth, _ = exact_search(queries, vectors, K)
        exact_batch_ms = (time.perf_counter() - start) / len(queries) * 1e3
        exact_single = []
        for q in queries[: args.exact_singles]:
            start = time.perf_counter()
            exact_search(q[None], vectors, K)
            exact_single.append(time.perf_counter() - start)
        exact_median_ms = percentile_ms(exact_single, 50)
        print(
            f"\nN={n:,} d={dim}: build {build_s:.1f} s ({args.build_threads} threads, M={args.M}, "
            f"ef_construction={args.ef_construction}); disk {disk / n:.0f} B/face index+meta, "
            f"{sqlite_bpf:.0f} B/face SQLite embedding (sample of {min(n, args.sqlite_sample):,}); "
            f"exact numpy search {exact_median_ms:.2f} ms/query single, {exact_batch_ms:.2f} ms/query in a batch of {len(queries)}"
        )
        print(f"  {'ef':>5} {'median ms':>10} {'p99 ms':>8} {'recall@10':>10} {'speed-up':>9}")
        for ef in args.ef:
            found = np.empty((len(queries), K), np.int64)
            times = []
            for i, q in enumerate(queries):
                start = time.perf_counter()
                found[i] = index.search(q, K, ef=ef)[0][0]
                times.append(time.perf_counter() - start)
            recall = np.mean([len(set(f) & set(t)) / K for f, t in zip(found, ids[truth])])
            median = percentile_ms(times, 50)
            print(
                f"  {ef:>5} {median:>10.3f} {percentile_ms(times, 99):>8.3f} {recall:>10.4f} "
                f"{exact_median_ms / median:>8.0f}x",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated gallery sizes")
    parser.add_argument("--dims", default="128,512", help="comma-separated embedding lengths")
    parser.add_argument("--ef", default=",".join(str(e) for e in sorted({100, 300, HnswParams().ef})), help="comma-separated search breadths")
    parser.add_argument("--M", type=int, default=HnswParams().M)
    parser.add_argument("--ef-construction", type=int, default=HnswParams().ef_construction)
    parser.add_argument("--build-threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--queries", type=int, default=200, help="queries with exact ground truth")
    parser.add_argument("--exact-singles", type=int, default=20, help="single exact queries timed")
    parser.add_argument("--sqlite-sample", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.ef = [int(x) for x in args.ef.split(",")]
    print(f"numpy {np.__version__}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs; timings are wall-clock")
    for dim in (int(x) for x in args.dims.split(",")):
        for n in (int(x) for x in args.sizes.split(",")):
            run_one(n, dim, args)


if __name__ == "__main__":
    main()
