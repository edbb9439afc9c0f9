"""Gallery scale: build time, memory, recall and the whole ranking step of SearchService against
exact search, on galleries of N synthetic subjects filled through the product's own store and
index code.

Per size N: ``fill_s`` (N subjects, one photo and one unit vector each, stored with
``GalleryStore``), ``build_s`` (the index built from the database with every core,
``open_index(rebuild="always")``), ``rss_mb`` / ``peak_rss_mb`` (resident memory after the
searches, and its peak), ``ranking_ms_median`` (``SearchService.rank_vectors``: the staleness
check, the index query, the exact re-ranking of the shortlist and the records read by id; the
encoding of a query image is excluded), ``index_ms_median`` (the index query alone),
``exact_ms_median`` (the same ranking step with ``exact=True``: every vector compared on the
memory-mapped matrix), ``speedup`` (their ratio, in one run), the same in CPU time
(``*_cpu_ms_median``, ``speedup_cpu``: less distorted than wall time on a loaded machine), ``recall_at_10`` (the top-10
candidates against those of exact search).

Data (``--distribution``):

- ``faces`` (default): Gaussian vectors with the eigenvalue spectrum of real face descriptors,
  normalised: eigenvalue i (1-based) proportional to ``i ** -decay``; a query is a gallery
  vector plus noise of the same spectrum, scaled so that the median distance to its own
  subject is ``same_ratio`` times the median distance to other subjects. Defaults measured on
  dlib's descriptors of LFW photos (see docs/RESULTS.md).
- ``uniform``: uniformly random unit vectors and queries, the hardest case for a graph index
  (no structure at all), and unlike any face embedding.

Run: ``.venv/bin/python tests/benchmarks/gallery_scale.py --sizes 100000,1000000 --dim 128
[--backend hnswlib|milvus] [--json]``. Wall-clock timings on a shared machine are noisy; the
machine's load average is printed with the figures. 1M x 128 needs about 3 GB of memory and
a few GB of disk (``--workdir``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.gallery.backends import SETTING, open_index
from crossid_desktop.gallery.index import HnswParams
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.search.service import SearchService
from crossid_desktop.workspace import Workspace

K = 10
FINGERPRINT = "bench-matcher"
_PNG = b"\x89PNG\r\n\x1a\n"
#: measured on dlib's descriptors of 807 LFW photos of 250 people (lfw_train, used only to shape
#: the synthetic vectors): eigenvalue decay 0.91 over all photos, 1.07 over person means;
#: median same-person distance 0.305, different people 0.568 (ratio 0.54). See docs/RESULTS.md.
FACE_DECAY = 1.0
FACE_SAME_RATIO = 0.54


def face_vectors(rng: np.random.Generator, n: int, dim: int, decay: float) -> NDArray[np.float32]:
    """``n`` unit vectors of a Gaussian whose eigenvalue i is ``i ** -decay``."""
    scale = np.arange(1, dim + 1, dtype=np.float32) ** (-decay / 2)
    block = rng.standard_normal((n, dim), dtype=np.float32) * scale
    return block / np.linalg.norm(block, axis=1, keepdims=True)


def uniform_vectors(rng: np.random.Generator, n: int, dim: int) -> NDArray[np.float32]:
    block = rng.standard_normal((n, dim), dtype=np.float32)
    return block / np.linalg.norm(block, axis=1, keepdims=True)


def gallery_vectors(args: argparse.Namespace, seed: int, n: int) -> NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    return face_vectors(rng, n, args.dim, args.decay) if args.distribution == "faces" else uniform_vectors(rng, n, args.dim)


def fill(store: GalleryStore, args: argparse.Namespace, n: int) -> None:
    """N subjects with one photo each and its vector, through the store, 10,000 per transaction;
    an interrupted fill (whole transactions only) continues where it stopped."""
    store.register_matcher(FINGERPRINT, name="synthetic", card={"embedding_dim": args.dim})
    done = store.counts().images
    if done % 10_000:
        raise SystemExit(f"the workspace holds {done} photos, not a whole number of fill transactions; use a new --workdir")
    for start in range(done, n, 10_000):
        vectors = gallery_vectors(args, start, min(10_000, n - start))
        with store.transaction():
            for offset, vector in enumerate(vectors):
                i = start + offset
                store.ensure_subject(f"S{i:07d}", name=f"Subject {i}")
                store.add_image(
                    f"S{i:07d}", path=Path(f"/photos/{i}.jpg"), sha256=hashlib.sha256(b"%d" % i).hexdigest(), view="front",
                    width=250, height=250, thumbnail_png=_PNG, alignment="synthetic", embeddings={FINGERPRINT: vector},
                )


def queries_for(args: argparse.Namespace, n: int) -> NDArray[np.float32]:
    """Queries: a gallery vector plus same-person noise (faces), or random unit vectors (uniform)."""
    rng = np.random.default_rng(10_000_019)
    if args.distribution == "uniform":
        return uniform_vectors(rng, args.queries, args.dim)
    subjects = rng.choice(n, size=args.queries, replace=False)
    base = np.stack([gallery_vectors(args, (s // 10_000) * 10_000, min(10_000, n - (s // 10_000) * 10_000))[s % 10_000] for s in subjects])
    noise = face_vectors(rng, args.queries, args.dim, args.decay)
    other = np.median(np.linalg.norm(base[:, None] - base[None], axis=2)[np.triu_indices(len(base), 1)])
    # |q - g| for q = normalise(g + t * noise): find t giving the wanted median same-person distance
    t = 0.0
    for t in np.linspace(0.01, 3.0, 300):
        q = base + t * noise
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        if np.median(np.linalg.norm(q - base, axis=1)) >= args.same_ratio * other:
            break
    q = base + t * noise
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def rss_mb() -> tuple[float, float]:
    """Resident memory now and its peak, in MB (Linux /proc; the peak from getrusage elsewhere)."""
    now = peak = float("nan")
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) / 1024
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return round(now, 1), round(peak, 1)


def timed_ranking(service: SearchService, queries: NDArray[np.float32], *, exact: bool) -> tuple[list[float], list[float], list[list[int]]]:
    """Wall and CPU milliseconds (this process, all threads) per query, and the top-k image ids."""
    times, cpu, tops = [], [], []
    for q in queries:
        start, start_cpu = time.perf_counter(), time.process_time()
        candidates = service.rank_vectors(FINGERPRINT, q[None], top_k=K, exact=exact)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        tops.append([c.image_id for c in candidates])
    return times, cpu, tops


def measure(args: argparse.Namespace, n: int, folder: Path) -> dict[str, object]:
    workspace = Workspace.open(folder / f"ws-{n}")
    if args.backend == "milvus":
        workspace.write_setting(SETTING, args.milvus_uri or str(folder / f"vectors-{n}.db"))
    params = replace(HnswParams(), M=args.M, ef_construction=args.ef_construction, ef=args.ef)
    figures: dict[str, object] = {"n": n, "dim": args.dim, "backend": args.backend, "distribution": args.distribution, "params": {"M": params.M, "ef_construction": params.ef_construction, "ef": params.ef, "num_threads": params.num_threads}}
    with GalleryStore(workspace.db_path) as store:
        start = time.perf_counter()
        if store.counts().images != n:
            fill(store, args, n)
        figures["fill_s"] = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        index = open_index(workspace, store, FINGERPRINT, rebuild="always", params=params)
        figures["build_s"] = round(time.perf_counter() - start, 1)
        figures["build_peak_rss_mb"] = rss_mb()[1]
        index.close()
        del index  # the search below loads the saved index, as a fresh process would
    queries = queries_for(args, n)
    with SearchService(workspace) as service:
        fast, fast_cpu, fast_tops = timed_ranking(service, queries, exact=False)
        index = service.index_for(FINGERPRINT)
        index_times = []
        for q in queries:
            start = time.perf_counter()
            index.search(q, max(200, 10 * K))
            index_times.append((time.perf_counter() - start) * 1000)
        slow, slow_cpu, exact_tops = timed_ranking(service, queries[: args.exact_queries], exact=True)
    recall = statistics.mean(len(set(a) & set(b)) / K for a, b in zip(fast_tops, exact_tops))
    figures.update(
        recall_at_10=round(recall, 4), recall_queries=len(exact_tops), ranking_ms_median=round(statistics.median(fast), 2),
        ranking_ms_p99=round(float(np.percentile(fast, 99)), 2), index_ms_median=round(statistics.median(index_times), 2),
        exact_ms_median=round(statistics.median(slow), 1), speedup=round(statistics.median(slow) / statistics.median(fast), 1),
        ranking_cpu_ms_median=round(statistics.median(fast_cpu), 2), exact_cpu_ms_median=round(statistics.median(slow_cpu), 1),
        speedup_cpu=round(statistics.median(slow_cpu) / max(statistics.median(fast_cpu), 1e-3), 1),
    )
    figures["rss_mb"], figures["peak_rss_mb"] = rss_mb()
    figures["load_average"] = [round(x, 1) for x in os.getloadavg()]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated gallery sizes")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--backend", choices=("hnswlib", "milvus"), default="hnswlib")
    parser.add_argument("--milvus-uri", default="", help="milvus://HOST:PORT (default: a Milvus Lite file in the work folder)")
    parser.add_argument("--distribution", choices=("faces", "uniform"), default="faces")
    parser.add_argument("--decay", type=float, default=FACE_DECAY)
    parser.add_argument("--same-ratio", type=float, default=FACE_SAME_RATIO)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--exact-queries", type=int, default=50, help="queries also ranked exactly (recall and the exact timing)")
    parser.add_argument("--M", type=int, default=HnswParams().M)
    parser.add_argument("--ef-construction", type=int, default=HnswParams().ef_construction)
    parser.add_argument("--ef", type=int, default=HnswParams().ef)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the workspaces here (reused when filled)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="crossid-scale-") as scratch:
        folder = args.workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            figures = measure(args, n, folder)
            results.append(figures)
            if not args.json:
                print(json.dumps(figures), flush=True)
    if args.json:
        print(json.dumps({"cpu_count": os.cpu_count(), "python": sys.version.split()[0], "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
