"""``crossid landmarks IMAGE``: the landmarks of a skull X-ray or face photo;
``crossid train-landmarks``: train the X-ray landmark model."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.errors import CrossIDError
from crossid_desktop.imaging.io import load_image
from crossid_desktop.imaging.writing import save_image
from crossid_desktop.matching.landmarks.overlay import draw_landmarks
from crossid_desktop.matching.landmarks.service import LandmarkResult, find_landmarks
from crossid_desktop.paths import write_text_atomic
from crossid_desktop.search.query import guess_modality

if TYPE_CHECKING:
    from crossid_desktop.matching.landmarks.train_config import LandmarkTrainConfig

ORDER = 15


#: exit status when the image does not look like the view asked for (the result is still printed)
EXIT_REFUSED = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "landmarks",
        help="find the named landmarks of a skull X-ray or a face photo",
        description="Find the named landmarks of a skull X-ray (frontal, or lateral with the cephalometric points l1..l19) or of "
        "a face photo (frontal: the 68 points p1..p68 and soft-tissue points; profile: the soft-tissue profile points), in the "
        "image's own pixel coordinates; X-ray points carry a standard deviation (pixels). A point that is not in the image is "
        "reported missing; doubts are printed as warnings. When an X-ray does not look like a skull of the view, the result is "
        f"printed flagged and the exit status is {EXIT_REFUSED}.",
    )
    parser.add_argument("image", type=Path, help="the image (DICOM, PNG, TIFF, JPEG, ...)")
    parser.add_argument("--view", choices=("xray-front", "xray-side", "face-front", "face-side"), help="what the image shows (default: guessed)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--out", type=Path, metavar="OVERLAY.png", help="write the image with the landmarks drawn on it")
    parser.add_argument("--model", type=Path, help="a landmark model file instead of the bundled one")
    parser.set_defaults(run=run_landmarks)
    _register_train(subparsers)


def run_landmarks(args: argparse.Namespace) -> int:
    image = load_image(args.image)
    view = args.view
    if view is None:
        guessed = guess_modality(image)
        view = {"xray_front": "xray-front", "xray_side": "xray-side"}.get(guessed.value, "face-front")  # a colour photo: a face
    result = find_landmarks(image, view, model=args.model)
    if args.out is not None:
        save_image(args.out, draw_landmarks(image.rgb_uint8(), result))
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    else:
        _print_table(result, guessed=args.view is None)
        if args.out is not None:
            print(f"overlay: {args.out}")
    for warning in result.warnings:
        print(f"crossid: warning: {warning}", file=sys.stderr)
    return EXIT_REFUSED if result.refused else 0


#: the settings a command line may give again to a recorded run (None: not given; a new run then
#: takes :class:`LandmarkTrainConfig`'s default)
STEP_KEYS = ("global_steps", "local_steps", "eval_every")


def _resumed(config: LandmarkTrainConfig, args: argparse.Namespace) -> LandmarkTrainConfig:
    """The stored configuration of a run, with the number of steps of the stage being trained
    (``--stage all``: both) or the steps between tuning evaluations, given again on the command
    line, replacing the stored one; the change, with the command and the steps reached, is
    recorded in the run (``changes``). The evaluation interval is one setting of the run: the last
    one given, each change noted. Every other setting is the run's first."""
    stage_keys = {"global": ("global_steps",), "local": ("local_steps",), "all": ("global_steps", "local_steps")}.get(args.stage, ())
    keys = (*stage_keys, "eval_every") if stage_keys else ()
    given = {key: getattr(args, key) for key in keys if getattr(args, key) is not None and getattr(args, key) != getattr(config, key)}
    if not given:
        return config
    reached = {}
    for stage in ("global", "local"):
        log = args.out / f"{stage}_log.csv"
        lines = log.read_text().splitlines() if log.is_file() else []
        reached[stage] = int(lines[-1].split(",")[0]) if len(lines) > 1 else 0
    note = f"{' '.join(['crossid', *args.argv])} (at global step {reached['global']}, local step {reached['local']})"
    config = dataclasses.replace(config, **given, changes=(*config.changes, note))
    write_text_atomic(args.out / "config.json", config.to_json())
    return config


def _claim(config_file: Path, text: str) -> bool:
    """Write the run's record unless one exists, atomically (a reader never sees it half
    written); False when another process recorded the run first."""
    config_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = config_file.with_name(f".{config_file.name}.{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    try:
        os.link(temporary, config_file)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links (FAT, some network shares): create it exclusively, in one write
        try:
            with open(config_file, "x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            return False
    finally:
        temporary.unlink()
    return True


def _read_record(config_file: Path) -> str:
    """The run's record, waiting a little while a record created without a hard link (:func:`_claim`)
    is still being written by the process that claimed it."""
    for _ in range(50):
        text = config_file.read_text(encoding="utf-8")
        try:
            json.loads(text)
            return text
        except ValueError:
            time.sleep(0.1)
    return text  # still not whole: the loader's error says so


def _print_table(result: LandmarkResult, *, guessed: bool) -> None:
    print(f"{result.image} (sha256 {result.sha256[:16]}...), view {result.view}{' (guessed)' if guessed else ''}"
          f"{', facing left (read mirrored)' if result.mirrored else ''}; model {result.model.get('name', '?')}")
    print(f"{'label':>5} {'name':<24} {'x':>8} {'y':>8} {'sd':>6}  note")
    for p in result.landmarks:
        if p.missing:
            why = "left out, it does not fit the other points: see the warning" if p.left_out else "not in the image"
            print(f"{p.label or '':>5} {p.name:<24} {'-':>8} {'-':>8} {'-':>6}  missing ({why})")
        else:
            note = "placed from the other points' shape" if p.from_shape else "low confidence" if p.low_confidence else ""
            sd = f"{p.sd:6.1f}" if p.sd is not None else f"{'-':>6}"
            print(f"{p.label or '':>5} {p.name:<24} {p.x:8.1f} {p.y:8.1f} {sd}  {note}")


def _run_shape_prior(args: argparse.Namespace) -> int:
    from crossid_desktop.matching.landmarks.assemble import add_shape_prior

    if args.from_model is None:
        raise CrossIDError("--stage shape-prior needs --from-model MODEL.pt, the landmark model to give a shape prior.")
    args.out.mkdir(parents=True, exist_ok=True)
    card = add_shape_prior(args.from_model, args.out / "model.pt", ceph_dir=args.ceph_dir, cohort_dirs=args.cohort, command=("crossid", *args.argv))
    groups = "; ".join(f"{c['name']}: {c['shapes']} shapes" for c in card.shape_prior["components"])
    print(f"model: {args.out / 'model.pt'} with a shape prior over {len(card.shape_prior['points'])} points ({groups})")
    return 0


def _register_train(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-landmarks",
        help="train the skull X-ray landmark model (global and local heatmap networks)",
        description="Train the two networks of the X-ray landmark detector on real lateral cephalograms (their 'train' images; "
        "'tune' images choose checkpoints; 'test' images are never read) and/or synthetic cohorts, then assemble the model file "
        "RUN_DIR/model.pt with its card. Stages can run separately (--stage global / local in two processes) and resume.",
    )
    parser.add_argument("--view", choices=("xray-side", "xray-front"), required=True)
    parser.add_argument("--out", type=Path, required=True, metavar="RUN_DIR", help="run folder (created; an existing one is resumed)")
    parser.add_argument("--ceph-dir", type=Path, help="folder of real lateral cephalograms with landmarks.csv (xray-side only)")
    parser.add_argument("--cohort", type=Path, action="append", default=[], metavar="DIR", help="synthetic cohort folder (crossid synth), repeatable")
    parser.add_argument("--negatives-from", type=Path, action="append", default=[], metavar="DIR", help="synthetic cohort whose other-view X-rays and face photos serve as negatives, repeatable")
    parser.add_argument("--stage", choices=("global", "local", "assemble", "all", "shape-prior"), default="all",
                        help="shape-prior: give the model --from-model a shape prior fitted on --ceph-dir's train images and --cohort's "
                        "generator points, written to RUN_DIR/model.pt (no network is trained)")
    parser.add_argument("--from-model", type=Path, metavar="MODEL.pt", help="the model --stage shape-prior starts from")
    parser.add_argument("--prior-cohort", type=Path, action="append", default=[], metavar="DIR",
                        help="--stage assemble/all: fit the shape prior's synthetic component on this cohort's X-rays (repeatable) "
                        "instead of the training cohorts'; the anchor widths are then chosen with that prior")
    parser.add_argument("--global-steps", type=int, default=None)
    parser.add_argument("--local-steps", type=int, default=None)
    parser.add_argument("--batch-global", type=int, default=8)
    parser.add_argument("--batch-local", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--real-fraction", type=float, default=0.5, help="share of real images in batches when both kinds are given")
    parser.add_argument("--eval-every", type=int, default=None, help="steps between checkpoints and tuning evaluations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    parser.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    # torch, imported by these modules, loads only when training is asked for
    import torch

    from crossid_desktop.matching.landmarks.assemble import assemble
    from crossid_desktop.matching.landmarks.train_config import LandmarkTrainConfig, training_sets
    from crossid_desktop.matching.landmarks.training import train_stage

    torch.set_num_threads(max(1, args.threads))
    if args.stage == "shape-prior":
        return _run_shape_prior(args)
    config_file = args.out / "config.json"
    fresh = not config_file.is_file()
    if fresh:
        config = LandmarkTrainConfig(
            view=args.view, ceph_dir=str(args.ceph_dir) if args.ceph_dir else None, cohort_dirs=tuple(str(c) for c in args.cohort),
            negative_dirs=tuple(str(c) for c in args.negatives_from),
            **{key: getattr(args, key) for key in STEP_KEYS if getattr(args, key) is not None},
            batch_global=args.batch_global, batch_local=args.batch_local,
            lr=args.lr, seed=args.seed, real_fraction=args.real_fraction, command=("crossid", *args.argv),
        )
        sets = training_sets(config)  # the inputs are checked before anything is recorded
        # the run's record is claimed before training: a stage started alongside in another
        # process (--stage local beside --stage global) that finds it records its own step
        # count as a change, instead of the first to train writing its settings over the other's
        fresh = _claim(config_file, config.to_json())
    if not fresh:
        config = _resumed(LandmarkTrainConfig.from_json(_read_record(config_file)), args)
        sets = training_sets(config)
    print(f"{len(sets.real)} real and {len(sets.synthetic)} synthetic training images, {len(sets.tune)} tuning images, {len(sets.negatives)} negatives")
    stages = ("global", "local") if args.stage == "all" else (args.stage,) if args.stage != "assemble" else ()
    for stage in stages:
        with TextProgress(stage) as progress:
            best = train_stage(config, sets, args.out, stage, progress=progress)
        print(f"{stage} stage: best weights {best}")
    if args.stage in ("assemble", "all"):
        model = assemble(config, sets, args.out, prior_cohorts=args.prior_cohort)
        print(f"model: {model} (card {model.with_suffix('.json')})")
    return 0
