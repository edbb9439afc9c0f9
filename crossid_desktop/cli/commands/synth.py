"""``crossid synth``: write a synthetic cohort of paired skull X-rays and face photos."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossid_desktop.cli.progressbar import TextProgress

ORDER = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic cohort: skull X-rays, face photos and injured faces of simulated people",
        description=(
            "Render simulated people with paired skull X-rays (front, side, with and without soft tissue) "
            "and face photos, plus injured variants, in the S2F and IF data-set layouts. "
            "The same seed gives the same files."
        ),
    )
    parser.add_argument("--subjects", type=int, required=True, help="number of simulated people")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (s2f/, if/ and params.json go here)")
    parser.add_argument("--image-size", type=int, default=256, help="image side in pixels (default 256)")
    parser.add_argument("--gallery-photos", type=int, default=2, help="extra frontal photos per person (default 2)")
    parser.add_argument("--injured", type=int, default=3, help="injured frontal photos per person (default 3)")
    parser.add_argument("--nuisance-factor", type=float, default=1.0,
                        help="multiply the ranges of every image's pose, shift and scale variation (default 1; 2 = twice the default variation)")
    parser.add_argument("--contact-sheet", type=Path, default=None, help="also write a PNG contact sheet of the first six people")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # the renderer loads OpenCV: only when this command runs, so that `crossid --help` stays light
    from crossid_desktop.synth.cohort import CohortConfig, generate_cohort  # loads torch: only when a model is used
    from crossid_desktop.synth.sheet import write_contact_sheet  # loads torch: only when a model is used

    config = CohortConfig(n_subjects=args.subjects, seed=args.seed, image_size=args.image_size,
                          extra_gallery_photos=args.gallery_photos, injured_per_subject=args.injured, nuisance_factor=args.nuisance_factor)
    with TextProgress("synth") as progress:
        manifest = generate_cohort(args.out, config, progress=progress)
    print(f"Wrote {len(manifest.subject_ids)} simulated people ({manifest.n_files} files) to {manifest.root}")
    print(f"  paired skull/face set (S2F): {manifest.s2f_root}")
    print(f"  injured-face set (IF):       {manifest.if_root}")
    print(f"  parameters:                  {manifest.params_path}")
    if args.contact_sheet is not None:
        write_contact_sheet(manifest.root, manifest.subject_ids[:6], args.contact_sheet)
        print(f"  contact sheet:               {args.contact_sheet}")
    return 0
