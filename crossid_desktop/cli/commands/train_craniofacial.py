"""``crossid train-craniofacial``: fit the craniofacial matcher on annotated paired sets."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.errors import CrossIDError
from crossid_desktop.matching.craniofacial.annotations import MeasurementNoise
from crossid_desktop.matching.craniofacial.fit import FitSettings
from crossid_desktop.matching.matchers import load_matcher
from crossid_desktop.matching.selection import resolve_spec
from crossid_desktop.training.craniofacial import refit_craniofacial, train_craniofacial

ORDER = 61


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-craniofacial",
        help="fit the craniofacial skull-to-face matcher (correspondence model, exclusion tolerance, fusion with a Siamese model)",
        description="Fit the correspondence models on the training people's landmark annotations, then set the exclusion "
        "tolerance and fit the fusion rules on other (validation) people whose landmarks carry simulated measurement error or are "
        "found by the detectors (--detect-faces, --detect-xrays). "
        "Writes OUT.npz and its model card OUT.json.",
    )
    parser.add_argument("--data", type=Path, default=None, metavar="DIR", help="training people: a paired skull-face set with params.json annotations")
    parser.add_argument("--refit", type=Path, default=None, metavar="MODEL",
                        help="instead of --data: keep the correspondence models of MODEL (.npz) and only set the tolerance and fit the "
                        "fusion afresh on the validation people (a new model: galleries index it again)")
    parser.add_argument("--validation-data", type=Path, required=True, metavar="DIR", help="validation people: another such set")
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="model file to write (.npz; the card goes beside it as .json)")
    parser.add_argument("--siamese", default=None, metavar="SPEC", help="Siamese skull-to-face model to fuse with (a path or bundled:NAME); default: none")
    parser.add_argument("--ridge", type=float, default=FitSettings.ridge, help=f"ridge penalty of the regression (default {FitSettings.ridge})")
    parser.add_argument("--shrinkage", type=float, default=FitSettings.shrinkage, help=f"covariance shrinkage towards the diagonal (default {FitSettings.shrinkage})")
    parser.add_argument("--xray-error-mm", type=float, default=MeasurementNoise.xray_mre_mm, help="simulated X-ray landmark error of the validation people, mean radial error in mm")
    parser.add_argument("--face-error", type=float, default=MeasurementNoise.face_mre, help="simulated photo landmark error, mean radial error as a fraction of the face height")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated errors")
    parser.add_argument("--detect-faces", action="store_true",
                        help="find the validation photos' landmarks with the face detectors (their errors measured against the annotations and kept in the card)")
    parser.add_argument("--detect-xrays", action="store_true",
                        help="find the validation X-rays' skull landmarks with the bundled X-ray landmark detectors, as the application does "
                        "(instead of simulating their error)")
    parser.add_argument("--landmark-cache", type=Path, default=None, metavar="DIR", help="keep the face and X-ray detections in DIR between runs")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if (args.data is None) == (args.refit is None):
        raise CrossIDError("Give either --data (training people) or --refit MODEL (keep that model's correspondence models).")
    if args.refit is not None and (args.ridge != FitSettings.ridge or args.shrinkage != FitSettings.shrinkage):
        raise CrossIDError("--ridge and --shrinkage set how the correspondence models are fitted; --refit keeps them as they are.")
    if args.refit is not None and not Path(args.refit).with_suffix(".npz").is_file():
        raise CrossIDError(f"The model to refit, {Path(args.refit).with_suffix('.npz')}, does not exist.")
    for folder in (args.data, args.validation_data):
        if folder is not None and not Path(folder).is_dir():
            raise CrossIDError(f"The data set folder {folder} does not exist.")
    siamese = load_matcher(resolve_spec(args.siamese)) if args.siamese else None
    settings = FitSettings(ridge=args.ridge, shrinkage=args.shrinkage)
    noise = MeasurementNoise(args.xray_error_mm, args.face_error)
    common = {"siamese": siamese, "siamese_spec": args.siamese, "noise": noise, "noise_seed": args.seed, "detect_faces": args.detect_faces,
              "detect_xrays": args.detect_xrays, "landmark_cache": args.landmark_cache, "command": ["crossid", *args.argv]}
    with TextProgress("train-craniofacial") as progress:
        if args.refit is not None:
            model = refit_craniofacial(args.refit, args.validation_data, args.out, progress=progress, **common)
        else:
            model = train_craniofacial(args.data, args.validation_data, args.out, settings=settings, progress=progress, **common)
    metrics = model.card["validation"]["metrics"]
    for key in ("person/front/recall@1", "person/side/recall@1", "person/fused/recall@1", "person/fused/recall@10", "exclusion/tnr", "exclusion/fer"):
        if key in metrics:
            print(f"validation {key}: {metrics[key]:.3f}")
    factors = ", ".join(f"{view} {model.tolerance_of(view).factor:.3f}" for view in model.views)
    print(f"tolerance factors {factors}; wrote {Path(args.out).with_suffix('.npz')} and its card (fingerprint {model.fingerprint[:12]})")
    return 0
