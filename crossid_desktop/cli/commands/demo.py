"""``crossid demo``: build the demo workspace (first run) and search its demo queries."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.matching.selection import MatcherCache
from crossid_desktop.search.service import SearchService

ORDER = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="search the demo gallery with a demo skull X-ray and a demo injured face")
    parser.add_argument("--demo-dir", type=Path, default=None, help="where the demo lives (default: beside the user workspace)")
    parser.add_argument("--top-k", type=int, default=10)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from crossid_desktop.demo import build_demo  # builds the cohort with OpenCV: only when this command runs

    matchers = MatcherCache()  # loaded once: the demo's freshness check and the searches
    with TextProgress("demo") as bar:
        demo = build_demo(args.demo_dir, progress=bar, matchers=matchers)
    service = SearchService(demo.workspace(), matchers=matchers)
    for query in demo.queries:
        result = service.search(list(query.paths), modality=query.query_modality(), top_k=args.top_k)
        print(f"\n== {query.label}: {', '.join(Path(p).name for p in query.paths)} (true identity {query.true_subject_id})")
        print(f"   matcher {result.matcher_name}, gallery {result.gallery_subjects} people / {result.gallery_images} photos, {result.timings_ms['total']:.0f} ms")
        for c in result.candidates:
            mark = "  <== true identity" if c.subject_id == query.true_subject_id else ""
            lr = f"  LR {c.likelihood_ratio:.3g} ({c.verbal_scale})" if c.likelihood_ratio is not None else ""
            score = "score LR/(1+LR)" if c.craniofacial is not None else "confidence"  # an X-ray's score is its ratio on a 0-100 % scale
            print(f"   {c.rank:>2}. {c.subject_id}  {c.name:<28} {score} {c.confidence * 100:5.1f}%  distance {c.distance:.3f}{lr}{mark}")
        if result.rank_of(query.true_subject_id) is None:
            rank, _ = service.locate(query.true_subject_id, list(query.paths), modality=query.query_modality(), result=result)
            where = f"at rank {rank} of {result.gallery_subjects}" if rank is not None else "not in the gallery"
            print(f"   the true identity {query.true_subject_id} is not in the top {args.top_k}: it is {where}")
    print("\nThese lists are investigative leads for an examiner to compare, not identifications.")
    return 0
