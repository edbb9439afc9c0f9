"""``crossid dataset info DIR``: what a data set folder holds and what is wrong with it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.datasets.summary import summarize

ORDER = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dataset", help="inspect a data set folder (paired skull-face, injured-face or gallery)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser(
        "info",
        help="layout, subjects, images per role and problems; exit status 1 when problems are found",
    )
    info.add_argument("root", type=Path, metavar="DIR", help="data set folder (or a gallery CSV manifest)")
    info.add_argument("--check", action="store_true", help="also decode every image and list those that cannot be read")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(run=run_info)


def run_info(args: argparse.Namespace) -> int:
    if args.check:
        with TextProgress("checking images") as progress:
            summary = summarize(args.root, check_readable=True, progress=progress)
    else:
        summary = summarize(args.root)
    if args.json:
        print(json.dumps({
            "layout": summary.layout,
            "root": str(summary.root),
            "n_subjects": summary.n_subjects,
            "images_per_role": dict(summary.images_per_role),
            "problems": list(summary.problems),
        }, indent=2))
    else:
        names = {"s2f": "paired skull-face (S2F)", "if": "injured face (IF)", "gallery": "gallery source"}
        print(f"layout    {names.get(summary.layout, summary.layout)}")
        print(f"root      {summary.root}")
        print(f"subjects  {summary.n_subjects}")
        print("images per role:")
        width = max((len(role) for role in summary.images_per_role), default=0)
        for role, count in summary.images_per_role.items():
            print(f"  {role.ljust(width)}  {count}")
        if summary.problems:
            print(f"problems ({len(summary.problems)}):")
            for problem in summary.problems:
                print(f"  - {problem}")
        else:
            print("no problems found")
    return 1 if summary.problems else 0
