"""``crossid evaluate``: run a publication's evaluation protocol on a model and a data set."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.datasets.skull_faces import read_skull_faces
from crossid_desktop.errors import CrossIDError, DatasetError
from crossid_desktop.evaluation.calibration import model_validation_subjects, validation_test_split, write_calibration
from crossid_desktop.evaluation.craniofacial_protocol import CraniofacialProtocol, evaluate_craniofacial
from crossid_desktop.evaluation.injured import evaluate_injured
from crossid_desktop.evaluation.model_calibration import calibrate_model
from crossid_desktop.evaluation.outputs import main_table, write_outputs
from crossid_desktop.evaluation.skull2face import SkullFaceProtocol, evaluate_skull2face, select_test_subjects
from crossid_desktop.matching.calibration import Calibration
from crossid_desktop.matching.craniofacial.annotations import EXACT, MeasurementNoise
from crossid_desktop.matching.craniofacial.matcher import CraniofacialMatcher, FusedXrayMatcher
from crossid_desktop.matching.matchers import DLIB_MATCHER_NAME, load_matcher
from crossid_desktop.synth.injuries.mix import MIXES

ORDER = 70


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a matcher with the skull-to-face or the injured-face protocol (metrics, plots, report)",
        description=(
            "Skull-to-face: X-ray queries of the test subjects against their face photos (Recall@k, mAP@k, MRR@k, "
            "triplet accuracy). Injured: five subject-disjoint 70/30 splits, one normal gallery photo per test "
            "subject, injured probes (Rank-1/5/10 mean +- std, GAR at FAR 0.1). Writes metrics.json, PNG plots, "
            "report.md and report.json into --out."
        ),
    )
    parser.add_argument("--model", required=True, help="model file (.pt with its .json card), 'dlib' (pretrained face matcher), 'craniofacial', "
                        "'default-xray' (the X-ray matcher of new workspaces: craniofacial fused with the Siamese network) or a craniofacial model (.npz)")
    parser.add_argument("--data", type=Path, required=True, help="data set folder: S2F layout (skull2face), IF layout or a face gallery (injured)")
    parser.add_argument("--protocol", choices=("skull2face", "injured"), default=None, help="default: the model's task")
    parser.add_argument("--extra-gallery", type=Path, default=None, help="faces added as distractors (mixed / extended gallery): gallery folder, S2F or IF set")
    parser.add_argument("--subjects", choices=("all", "test"), default="test",
                        help="skull2face: 'test' = held-out side of the subject split (the trainer's default), 'all' = everyone (a fresh cohort)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the subject split (default 0, as the trainer)")
    parser.add_argument("--test-fraction", type=float, default=0.3, help="fraction of subjects held out (default 0.3, as the trainer)")
    parser.add_argument("--simulate-injuries", action="store_true", help="injured: ordinary photos; first photo per person = gallery, the others get simulated injuries")
    parser.add_argument("--severity", type=float, default=0.6, help="severity of simulated injuries, 0-1 (default 0.6)")
    parser.add_argument("--injury-mix", choices=sorted(MIXES), default=None,
                        help="with --simulate-injuries: several injuries per face from this casework mix (default: the publication's single injury)")
    parser.add_argument("--calibrate", action="store_true",
                        help="fit a score-to-LR calibration on validation subjects (never test subjects), report Cllr and a Tippett plot, and store it in the model card")
    parser.add_argument("--calibration-data", type=Path, default=None, help="data set holding the model's validation subjects (default: --data)")
    parser.add_argument("--max-k", type=int, default=30, help="largest k of the Recall/mAP/MRR curves (default 30)")
    parser.add_argument("--no-tsne", action="store_true", help="skip the 3-D t-SNE picture")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: ./evaluation-<protocol>)")
    cf = parser.add_argument_group("craniofacial matchers (craniofacial, default-xray)")
    cf.add_argument("--landmarks", choices=("simulated", "detected-faces", "exact"), default="simulated",
                    help="simulated (default): the data set's landmark annotations with simulated measurement error; detected-faces: the photos' "
                         "landmarks found by the face detectors, the X-rays' simulated; exact: the annotations as they are")
    cf.add_argument("--xray-error-mm", type=float, default=MeasurementNoise.xray_mre_mm, help="simulated X-ray landmark error, mean radial error in mm at the skull")
    cf.add_argument("--face-error", type=float, default=MeasurementNoise.face_mre, help="simulated photo landmark error, mean radial error as a fraction of the face height")
    cf.add_argument("--spacing-known", action="store_true", help="hand the X-rays' pixel spacing to the matcher (as a DICOM would); default: unknown, residuals in pixels")
    cf.add_argument("--noise-seed", type=int, default=0, help="seed of the simulated landmark errors")
    cf.add_argument("--landmark-cache", type=Path, default=None, metavar="DIR", help="keep the face detections in DIR between runs (detected-faces)")
    parser.set_defaults(run=run)


def _skull2face(args: argparse.Namespace, matcher, progress):
    subjects, cal_subjects, note = args.subjects, None, None
    if args.calibrate:
        if args.calibration_data is not None:
            ids = [s.subject_id for s in read_skull_faces(args.calibration_data, strict=False).subjects]
            cal_subjects = model_validation_subjects(matcher.model_card(), ids)
        elif args.subjects == "test":
            ids = [s.subject_id for s in read_skull_faces(args.data, strict=False).subjects]
            held = select_test_subjects(ids, "test", split_seed=args.split_seed, test_fraction=args.test_fraction)
            cal_subjects, subjects = validation_test_split(held, seed=args.split_seed)
            note = f"The {len(held)} held-out subjects were halved: {len(cal_subjects)} to fit the calibration, {len(subjects)} to test."
        else:
            raise DatasetError("With --subjects all every person is a test subject; name the model's own cohort with --calibration-data to calibrate.")
    protocol = SkullFaceProtocol(subjects=subjects, split_seed=args.split_seed, test_fraction=args.test_fraction, extra_gallery=args.extra_gallery,
                                 max_k=args.max_k, calibration_subjects=cal_subjects, calibration_data=args.calibration_data)
    result = evaluate_skull2face(matcher, args.data, protocol, progress=progress)
    if note:
        result = replace(result, notes=(*result.notes, note))
    return result


def run(args: argparse.Namespace) -> int:
    if not 0.0 < args.test_fraction < 1.0:
        raise CrossIDError(f"--test-fraction must lie strictly between 0 and 1, not {args.test_fraction}.")
    if not 0.0 <= args.severity <= 1.0:
        raise CrossIDError(f"--severity must lie between 0 and 1, not {args.severity}.")
    if args.max_k < 1:
        raise CrossIDError("--max-k must be at least 1.")
    if not args.data.is_dir():
        raise DatasetError(f"The data set folder {args.data} does not exist or is not a folder.")
    matcher = load_matcher(args.model)
    if isinstance(matcher, (CraniofacialMatcher, FusedXrayMatcher)):
        return _craniofacial(args, matcher)
    protocol = args.protocol or ("skull2face" if matcher.model_card().get("task") == "skull2face" else "injured")
    out = args.out or Path(f"evaluation-{protocol}")
    with TextProgress("evaluate") as progress:
        if protocol == "skull2face":
            result = _skull2face(args, matcher, progress)
        else:
            result = evaluate_injured(matcher, args.data, simulate_injuries=args.simulate_injuries, severity=args.severity,
                                      injury_mix=MIXES[args.injury_mix] if args.injury_mix else None,
                                      extra_gallery=args.extra_gallery, test_fraction=args.test_fraction, calibrate=args.calibrate, progress=progress)
        progress(0, 1, "writing report")
        paths = write_outputs(result, out, tsne=not args.no_tsne)
        progress(1, 1, "report written")
    print(main_table(result))
    m = result.metrics
    if "cllr" in m:
        print(f"Cllr {m['cllr']:.3f}, Cllr_min {m['cllr_min']:.3f} on the test pairs (calibration fitted on validation subjects).")
    if args.calibrate and args.model != DLIB_MATCHER_NAME:
        _store_calibration(args, result, protocol)
    print(f"Wrote {paths['metrics']}, {paths['report_md'].name}, {paths['report_json'].name} and {len(paths) - 3} figures to {out}")
    print("Figures from synthetic data or simulated injuries are not directly comparable with the published ones.")
    return 0


def _craniofacial(args: argparse.Namespace, matcher: CraniofacialMatcher | FusedXrayMatcher) -> int:
    """The skull-to-face protocol for the craniofacial matchers (:mod:`crossid_desktop.evaluation.craniofacial_protocol`)."""
    if args.protocol == "injured" or args.calibrate or args.extra_gallery is not None:
        raise CrossIDError("The craniofacial matchers take the skull-to-face protocol only, without --calibrate (their calibration is fitted by crossid train-craniofacial) or --extra-gallery.")
    craniofacial = matcher.craniofacial if isinstance(matcher, FusedXrayMatcher) else matcher
    noise = EXACT if args.landmarks == "exact" else MeasurementNoise(args.xray_error_mm, args.face_error, args.spacing_known)
    protocol = CraniofacialProtocol(subjects=args.subjects, split_seed=args.split_seed, test_fraction=args.test_fraction, noise=noise,
                                    noise_seed=args.noise_seed, max_k=args.max_k, detect_faces=args.landmarks == "detected-faces",
                                    landmark_cache=args.landmark_cache)
    out = args.out or Path("evaluation-skull2face")
    with TextProgress("evaluate") as progress:
        result = evaluate_craniofacial(craniofacial.model, args.data, protocol, fusion=matcher.fusion,
                                       siamese=matcher.siamese if isinstance(matcher, FusedXrayMatcher) else None, progress=progress)
        paths = write_outputs(result, out, tsne=False)
    print(main_table(result))
    m = result.metrics
    for view in ("front", "side", "fused"):
        if f"person/{view}/recall@1" in m:
            print(f"people ranked, {view}: Recall@1 {m[f'person/{view}/recall@1']:.3f}, Recall@10 {m[f'person/{view}/recall@10']:.3f}")
    print(f"exclusion: {m['exclusion/tnr']:.3f} of impostors inconsistent, {m['exclusion/fer']:.3f} of true persons inconsistent")
    if "cllr" in m:
        print(f"Cllr {m['cllr']:.3f}, Cllr_min {m['cllr_min']:.3f} on the test pairs (fusion fitted on validation people).")
    print(f"Landmarks: {m['landmarks']}.")
    print(f"Wrote {paths['metrics']}, {paths['report_md'].name}, {paths['report_json'].name} and {len(paths) - 3} figures to {out}")
    return 0


def _store_calibration(args: argparse.Namespace, result, protocol: str) -> None:
    if protocol == "skull2face" and result.calibration is not None:
        before, after = write_calibration(args.model, Calibration.from_dict(result.calibration["calibration"]))
        n = len(result.calibration["validation_subjects"])
    else:
        outcome = calibrate_model(args.model, args.calibration_data or args.data)
        before, after, n = outcome.fingerprint_before, outcome.fingerprint_after, len(outcome.validation_subjects)
    same = "unchanged" if before == after else "CHANGED"
    print(f"Stored the calibration (fitted on {n} validation subjects) in the model card of {args.model}; fingerprint {after[:12]} {same}.")
