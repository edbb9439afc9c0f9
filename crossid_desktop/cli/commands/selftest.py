"""``crossid selftest``: qualify this installation (installation and operational checks) and
write the record as PDF and JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

ORDER = 95


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "selftest",
        help="check this installation against its manifest and a reference set, and write the record (PDF and JSON)",
        description=(
            "Installation check: every bundled model, font and resource file against the SHA-256 digests of the "
            "installation's manifest, and the runtime pieces. Operational check: a bundled reference set of simulated "
            "people enrolled into a temporary workspace, searched, recorded in a case, audited and reported. "
            "Exit status 0 only when every check passes."
        ),
    )
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="folder for the record (default: 'selftest' beside the user workspace)")
    parser.add_argument("--installation-only", action="store_true", help="only the installation checks (seconds; no reference searches)")
    parser.add_argument("--device", default=None, help="compute device of the reference searches: cpu, cuda or mps (default: as searches use)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from crossid_desktop.cli.progressbar import TextProgress
    from crossid_desktop.selftest import INSTALLATION, PARTS, run_selftest

    parts = (INSTALLATION,) if args.installation_only else PARTS
    with TextProgress("selftest") as progress:
        outcome = run_selftest(args.out, parts=parts, device=args.device, progress=progress)
    for check in outcome.record.checks:
        print(check.line())
    print(outcome.record.verdict())
    print(f"record: {outcome.pdf_path}\n        {outcome.json_path}")
    return 0 if outcome.passed else 1
