"""``crossid batch QUERY_DIR --out DIR``: search every query image of a folder, one case and report each."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossid_desktop.cases.batch import run_batch
from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.search.query import MODALITY_OPTIONS
from crossid_desktop.workspace import Workspace

ORDER = 52


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch", help="search every query image in a folder (many unknowns at once): one case and PDF report each, summary CSV/JSON/PDF; resumable"
    )
    parser.add_argument("query_dir", type=Path, metavar="QUERY_DIR", help="folder of query images (its sub-folders are not searched)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder: reports/, summary.csv, summary.json, summary.pdf, batch-state.json")
    parser.add_argument("--top-k", type=int, default=10, help="number of candidates per query (default 10)")
    parser.add_argument("--modality", choices=sorted(k for k in MODALITY_OPTIONS if k != "xray"), default=None, help="what the queries show (default: guessed per image)")
    parser.add_argument("--examiner", default="", metavar="NAME", help="examiner named in the cases and reports")
    parser.add_argument("--agency", default="", help="agency named in the cases")
    parser.add_argument("--centre-crop", action="store_true", help="search the central square of face photos without a detectable face (their reports carry a warning)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    modality = MODALITY_OPTIONS[args.modality] if args.modality else None
    workspace = Workspace.open(args.workspace)
    with TextProgress("batch") as bar:
        summary = run_batch(workspace, args.query_dir, args.out, top_k=args.top_k, modality=modality, examiner=args.examiner, agency=args.agency,
                            allow_centre_crop=args.centre_crop, progress=bar)
    done = sum(1 for i in summary.items if i.status == "done")
    print(f"{len(summary.items)} query files: {done} done ({summary.searched} searched now, {summary.skipped} done before), "
          f"{len(summary.failed)} failed")
    for item in summary.failed:
        print(f"  failed: {item.query}: {item.error}")
    for kind, path in summary.files.items():
        print(f"summary {kind}: {path}")
    return 1 if summary.failed else 0
