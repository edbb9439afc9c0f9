"""``crossid train``: train a skull-to-face or injured-face matcher, or resume a run."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.errors import DatasetError
from crossid_desktop.training.config import DEFAULT_M1, DEFAULT_M2, TrainConfig
from crossid_desktop.training.trainer import resume, train

ORDER = 60


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a matcher on a paired skull-face or injured-face data set",
        description="Train a matcher and write a run folder (config.json, log.csv, best.pt with its model card, "
        "last.pt to resume, curves.png). Validation people are kept apart from training people unless "
        "--split triplet (the publication's protocol) is chosen.",
    )
    parser.add_argument("--task", choices=("skull2face", "injured"), help="skull X-ray queries (S2F folder) or injured-face queries (IF folder)")
    parser.add_argument("--data", type=Path, metavar="DIR", help="data set folder (S2F layout for skull2face, IF layout for injured)")
    parser.add_argument("--out", type=Path, metavar="RUN_DIR", help="new run folder")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR from its last epoch (other settings come from its config.json; --epochs may raise the total)")
    parser.add_argument("--backbone", default="resnet18_112", help="backbone name (see 'crossid info'), or 'dlib' for a head on dlib's face descriptor (injured task); default resnet18_112")
    parser.add_argument("--weights", default="none", help="backbone initialisation: none, imagenet or a state-dict path (default none)")
    parser.add_argument("--input-size", type=int, help="square network input in pixels (default: the backbone's)")
    parser.add_argument("--embedding-dim", type=int, default=128)
    parser.add_argument("--face-branch", choices=("auto", "frozen", "trained"), default="auto", help="skull2face: keep the face branch fixed as published (frozen) or train it too; auto (default) freezes it only with pretrained weights")
    parser.add_argument("--loss", choices=("triplet", "contrastive", "scl"), help="default: triplet for skull2face, scl for injured")
    parser.add_argument("--margin", type=float, help="triplet margin (default 0.4) or contrastive margin (default 1.0), Euclidean on L2-normalised embeddings")
    parser.add_argument("--m1", type=float, help="SCL margin on squared distances, normal vs other's injured (default 1.0; the paper's 2 was set for unnormalised features)")
    parser.add_argument("--m2", type=float, help="SCL margin on squared distances, injured vs other's injured (default 1.55; paper 3.1)")
    parser.add_argument("--sampling", choices=("batch-all", "semi-hard", "triplets"), default="batch-all", help="skull2face: every triplet among a batch of people (default), online semi-hard mining, or the published triplet list")
    parser.add_argument("--subjects-per-batch", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=32, help="triplets or SCL sets per step (sampling 'triplets' and the injured task)")
    parser.add_argument("--max-steps", type=int, help="at most this many steps per epoch")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=None, help="a new run's epochs (default: the training's); with --resume, raises its total")
    parser.add_argument("--mean-over-all-triplets", action="store_true", help="batch-all: average the triplet loss over every triplet, not only the active ones (loss > 0)")
    parser.add_argument("--no-augment", action="store_true", help="switch off rotation, flip, affine and colour changes")
    parser.add_argument("--split", choices=("subject", "triplet"), default="subject", help="subject: people disjoint (default); triplet: the publication's 70:30 split of triplets, identities leak")
    parser.add_argument("--val-fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N or mps")
    parser.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    parser.add_argument("--patience", type=int, default=5, help="stop after this many epochs without a better validation result (0: never)")
    parser.add_argument("--soft-tissue", type=float, default=0.7, help="soft-tissue suppression strength of the X-rays, 0..1 (default 0.7)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    command = ["crossid", *args.argv]
    with TextProgress("train") as progress:
        if args.resume is not None:
            result = resume(args.resume, epochs=args.epochs, command=command, progress=progress)
        else:
            missing = [flag for flag, value in (("--task", args.task), ("--data", args.data), ("--out", args.out)) if value is None]
            if missing:
                raise DatasetError(f"crossid train needs {', '.join(missing)} (or --resume RUN_DIR).")
            sampling = "triplets" if args.split == "triplet" else args.sampling
            config = TrainConfig(
                task=args.task,
                data=str(args.data),
                backbone=args.backbone,
                weights=None if args.weights in (None, "none") else args.weights,
                input_size=args.input_size,
                embedding_dim=args.embedding_dim,
                freeze_gallery={"auto": None, "frozen": True, "trained": False}[args.face_branch],
                loss=args.loss or ("triplet" if args.task == "skull2face" else "scl"),
                margin=args.margin,
                m1=DEFAULT_M1 if args.m1 is None else args.m1,
                m2=DEFAULT_M2 if args.m2 is None else args.m2,
                sampling=sampling,
                subjects_per_batch=args.subjects_per_batch,
                batch_size=args.batch_size,
                max_steps_per_epoch=args.max_steps,
                lr=args.lr,
                epochs=TrainConfig.epochs if args.epochs is None else args.epochs,
                augment=not args.no_augment,
                split=args.split,
                val_fraction=args.val_fraction,
                seed=args.seed,
                device=args.device,
                amp=not args.no_amp,
                patience=args.patience or None,
                soft_tissue_strength=args.soft_tissue,
                average_active=not args.mean_over_all_triplets,
            )
            result = train(config, args.out, command=command, progress=progress)
    for record in result.history:
        print(record.summary())
    best = result.history[[r.epoch for r in result.history].index(result.best_epoch)]
    if result.stopped_early:
        print(f"stopped early after epoch {result.history[-1].epoch}: no better validation result for the patience set")
    print(f"best epoch {result.best_epoch}: validation Recall@1 {best.val_recall_at_1:.3f}, Recall@10 {best.val_recall_at_10:.3f}, triplet accuracy {best.val_triplet_accuracy:.3f}")
    print(f"best checkpoint: {result.best_checkpoint} (model card {result.best_checkpoint.with_suffix('.json')})")
    return 0
