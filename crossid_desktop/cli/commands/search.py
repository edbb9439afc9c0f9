"""``crossid search QUERY...``: rank the gallery against a skull X-ray or an injured face."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from crossid_desktop.cases.case import CaseService
from crossid_desktop.cases.report import export_report
from crossid_desktop.cases.report_sections import query_dicom_pairs
from crossid_desktop.cases.skull_landmarks import case_skull_landmarks
from crossid_desktop.errors import CrossIDError
from crossid_desktop.imaging.canonical import ALIGNED_SIZE
from crossid_desktop.imaging.io import load_image
from crossid_desktop.imaging.masks import read_mask
from crossid_desktop.matching.preprocess import FaceChoice
from crossid_desktop.search.query import MODALITY_OPTIONS, modality_from_option, resolve_modalities
from crossid_desktop.search.service import SearchService
from crossid_desktop.workspace import Workspace

ORDER = 50


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("search", help="rank the gallery against a skull X-ray (front and/or side) or an injured-face photo")
    parser.add_argument("queries", type=Path, nargs="+", metavar="QUERY", help="query image(s); a frontal and a lateral X-ray of one skull are fused")
    parser.add_argument(
        "--modality", choices=sorted(MODALITY_OPTIONS), action="append", default=None,
        help="what the query shows (default: guessed); once for every image, or once per image in their order (e.g. --modality xray-front --modality xray-side)",
    )
    parser.add_argument("--top-k", type=int, default=10, help="number of candidates (default 10)")
    parser.add_argument("--rank", choices=("subject", "image"), default="subject", help="rank subjects (best photo each) or photos")
    parser.add_argument("--exact", action="store_true", help="exact search instead of the approximate index")
    parser.add_argument("--face", type=int, default=None, metavar="N", help="injured-face photo showing several faces: search face N (1 = the largest)")
    parser.add_argument("--centre-crop", action="store_true", help="injured-face photo without a detectable face: search its central square (the result carries a warning)")
    parser.add_argument("--ignore-mask", type=Path, default=None, metavar="MASK.png",
                        help="injured-face photo: a square image drawn on the aligned face crop whose non-black pixels are left out of the search "
                             "(instead of the regions the injury segmenter detects)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--report", type=Path, default=None, metavar="OUT.pdf", help="record the search in a case and write its PDF report")
    parser.add_argument("--case", default=None, metavar="CASE", help="record the search in this case (opened when new); with --report and no --case, a new case is numbered")
    parser.add_argument("--examiner", default=None, metavar="NAME", help="with --case or --report: the examiner's name (logged and printed in the report)")
    parser.add_argument("--frame", type=int, default=1, metavar="N", help="the frame of a multi-frame DICOM query to search (1-based, default 1)")
    parser.add_argument(
        "--patient-identifiers", action="store_true",
        help="with --report: print the patient's name, ID and birth date that a DICOM query names (default: withheld)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.top_k < 1:
        raise CrossIDError("--top-k must be at least 1.")
    if args.report is not None and (args.report.suffix.lower() != ".pdf" or not args.report.expanduser().absolute().parent.is_dir()):
        raise CrossIDError(f"The report file {args.report} should end in .pdf and be in an existing folder.")
    if args.frame < 1:
        raise CrossIDError("--frame counts from 1.")
    if args.face is not None and args.face < 1:
        raise CrossIDError("--face counts faces from 1 (the largest).")
    ignore = read_mask(args.ignore_mask, ALIGNED_SIZE) if args.ignore_mask is not None else None
    choice = FaceChoice(face=args.face, allow_centre_crop=args.centre_crop, ignore=ignore)
    service = SearchService(Workspace.open(args.workspace))
    images = [load_image(path, frame=args.frame - 1) for path in args.queries]
    modality = modality_from_option(args.modality, len(args.queries))
    landmarks = None
    if args.case is not None and CaseService(service.workspace).exists(args.case):  # the examiner's landmark corrections kept in the case
        landmarks = case_skull_landmarks(CaseService(service.workspace), args.case, images, resolve_modalities(images, modality))
    result = service.search(images, modality=modality, top_k=args.top_k, rank_by=args.rank, exact=args.exact,
                            choices=[choice] * len(args.queries), landmarks=landmarks)
    if args.report is not None or args.case is not None:
        _record_and_report(args, service.workspace, result, service.matchers.card_of(result.matcher_fingerprint))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    for warning in result.warnings:
        print(f"WARNING: {warning}")
    for query in result.queries:
        print(f"query {query.path}  sha256 {query.sha256}  ({query.modality.replace('_', ' ')})")
        _print_dicom_lines(query)
        if query.face is not None:
            print(f"  face {query.face['number'] or '-'} of {query.face['found']} found, aligned by {query.face['alignment']}")
        if query.ignored is not None:
            print(f"  left out of the search: {100 * query.ignored['fraction']:.1f} % of the face crop, marked by the {query.ignored['source'].replace('detected', 'injury segmenter')}")
    print(f"matcher {result.matcher_name} ({result.matcher_fingerprint[:12]}), gallery {result.gallery_subjects} subjects / {result.gallery_images} photos, {result.timings_ms['total']:.0f} ms")
    calibrated = any(c.likelihood_ratio is not None for c in result.candidates)
    score = "score" if result.craniofacial is not None else "confidence"  # an X-ray's score: its likelihood ratio as LR/(1+LR)
    header = f"{'rank':>4}  {'subject':<14} {'name':<24} {score:>10} {'distance':>8}" + ("  LR        verbal scale" if calibrated else "")
    print(header)
    for c in result.candidates:
        line = f"{c.rank:>4}  {c.subject_id:<14} {c.name[:24]:<24} {c.confidence * 100:>9.1f}% {c.distance:>8.4f}"
        if c.likelihood_ratio is not None:
            line += f"  {c.likelihood_ratio:<9.3g} {c.verbal_scale}"
        if c.craniofacial is not None:
            line += "  skull: " + _verdict(c.craniofacial)
        print(line)
    if result.craniofacial is not None:
        _print_craniofacial(result.craniofacial)
        print("score: the likelihood ratio that ranks the list, on a 0-100 % scale (LR/(1+LR)); it is not the probability that a candidate is the person sought")
    print("This list is an investigative lead for an examiner to compare, not an identification.")
    for warning in result.warnings:
        print(f"WARNING: {warning}")
    return 0


def _verdict(record: dict) -> str:
    """A candidate's craniofacial verdict in a few words."""
    if record["status"] == "inconsistent":
        ground = "likelihood ratio below the bound: " if record.get("basis") == "likelihood ratio" else ""
        return "inconsistent (" + ground + ", ".join(record["excluding"][:3]) + ")"
    if record["status"] == "not assessable":
        return "not assessable (" + "; ".join(record["reasons"][:1]) + ")"
    return "consistent"


def _print_craniofacial(record: dict) -> None:
    """Where each X-ray's skull landmarks came from, why a query was not assessed, who was set apart."""
    for query in record["queries"]:
        source = (query.get("landmarks") or {}).get("source", "none")
        aside = "".join(f"; {n.replace('_', ' ')} left out as not fitting the others" for n in query.get("set_aside") or [])
        print(f"{query['view']} X-ray: skull landmarks from {source}" + (f"; NOT ASSESSED: {query['problem']}" if query["problem"] else f"{aside}; residuals in {query['unit']}"))
    for entry in record["not_assessed"]:
        print(f"not ranked: {entry['subject_id']}: {'; '.join(entry['reasons'])}")


def _print_dicom_lines(query) -> None:
    """The frame, pixel spacing and patient a DICOM query names (to the examiner's screen only)."""
    if query.meta.get("format") != "DICOM":
        return
    for label, value in query_dicom_pairs(query.meta, xray=query.modality.startswith("xray"), patient_identifiers=True):
        print(f"  {label.lower()}: {value}")


def _record_and_report(args: argparse.Namespace, workspace, result, card: dict | None) -> None:
    """Open or reuse the case, record the search in it (with the matcher's model ``card`` when
    the gallery does not keep it) and, with ``--report``, write its report."""
    cases = CaseService(workspace)
    if args.case is None or not cases.exists(args.case):
        case_number = cases.create_case(case_number=args.case, examiner=args.examiner or "", actor=args.examiner).case_number
    else:
        case_number = args.case
    cases.record_search(case_number, result, actor=args.examiner, matcher_card=card)
    where = sys.stderr if args.json else sys.stdout
    if args.report is None:
        print(f"case {case_number}: search recorded", file=where)
        return
    path = export_report(workspace, case_number, args.report, actor=args.examiner, patient_identifiers=args.patient_identifiers)
    print(f"case {case_number}: search recorded, report written to {path}", file=where)
