"""``crossid train-segmenter``: train the injury and occlusion segmenter on real face photos
with simulated casework injuries (``training/segmenter.py``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.errors import CrossIDError, DatasetError

ORDER = 62


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-segmenter",
        help="train the injury segmenter on face photos with simulated injuries",
        description="Align one photo of each of the people in a face folder (<person>/*.jpg), give each a simulated casework "
        "injury (or a generic occluder, or nothing), and train the small U-Net that marks the unreliable parts of an aligned "
        "face. Validation people are kept apart. Writes the weights and their JSON card.",
    )
    parser.add_argument("--faces", type=Path, required=True, metavar="DIR", help="face folder: one sub-folder of photos per person")
    parser.add_argument("--skip-people", type=Path, default=None, metavar="FILE", help="a text file of person folder names to leave out (one a line)")
    parser.add_argument("--out", type=Path, required=True, metavar="MODEL.pt", help="the weights; the card is written beside them (.json)")
    parser.add_argument("--samples", type=int, default=3000, help="training photos (default 3000)")
    parser.add_argument("--val-fraction", type=float, default=0.08, help="share of the people kept for validation (default 0.08)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--mix", default="harsh", help="the injury mix (default harsh)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np  # numpy, OpenCV and torch load only when the command runs

    from crossid_desktop.datasets.splits import subject_split
    from crossid_desktop.imaging.faces import align_face
    from crossid_desktop.imaging.io import load_image
    from crossid_desktop.matching.injury_segmenter import SegmenterCard, save_segmenter
    from crossid_desktop.synth.injuries.mix import MIXES
    from crossid_desktop.training.segmenter import SegmenterTraining, build_training_set, train_segmenter

    if args.mix not in MIXES:
        raise CrossIDError(f"Unknown injury mix {args.mix!r}; choose one of {', '.join(MIXES)}.")
    skip = set(args.skip_people.read_text(encoding="utf-8").split()) if args.skip_people else set()
    people = sorted(p.name for p in args.faces.iterdir() if p.is_dir() and p.name not in skip) if args.faces.is_dir() else []
    if len(people) < 10:
        raise DatasetError(f"The face folder {args.faces} holds {len(people)} usable people; the segmenter needs at least 10.")
    fit, val = subject_split(people, test_fraction=args.val_fraction, seed=5)
    photos = {side: sorted(p for person in group for p in (args.faces / person).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
              for side, group in (("fit", fit), ("val", val))}
    rng = np.random.default_rng(args.seed)  # photos drawn in path order: fit first, then 300 for validation
    chosen = {side: [photos[side][i] for i in sorted(rng.choice(len(photos[side]), min(n, len(photos[side])), replace=False))]
              for side, n in (("fit", args.samples), ("val", 300))}
    settings = SegmenterTraining(epochs=args.epochs, seed=args.seed)
    with TextProgress("train-segmenter") as bar:
        faces = {side: [align_face(load_image(p).rgb_uint8(), allow_centre_crop=True).image for p in paths] for side, paths in chosen.items()}
        x, y = build_training_set(faces["fit"], settings, mix=MIXES[args.mix], progress=bar)
        vx, vy = build_training_set(faces["val"], SegmenterTraining(seed=args.seed + 1), mix=MIXES[args.mix], progress=bar)
        model, log = train_segmenter(x, y, vx, vy, settings, progress=bar)
    card = SegmenterCard(settings.widths, settings.size, 0.5, training={
        "data": f"{args.faces}: {len(fit)} people, {len(chosen['fit'])} photos with simulated injuries (mix {args.mix}); validation {len(val)} other people, {len(chosen['val'])} photos",
        "command": "crossid train-segmenter " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k in ("faces", "skip_people", "out", "samples", "epochs", "mix", "seed") and v is not None),
        "settings": settings.to_dict()}, metrics={"validation": log["epochs"][-1] if log["epochs"] else {}, "best_dice": log["best_dice"], "log": log["epochs"]})
    save_segmenter(args.out, model, card)
    print(json.dumps({"weights": str(args.out), "best_validation_dice": round(log["best_dice"], 4), "people": len(fit)}, indent=1))
    return int(not np.isfinite(log["best_dice"]))
