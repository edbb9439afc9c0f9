"""``crossid preprocess xray|face IN OUT``: the preprocessing a search applies, on one file."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossid_desktop.errors import CrossIDError, NoFaceFoundError
from crossid_desktop.imaging.canonical import ALIGNED_SIZE
from crossid_desktop.imaging.faces import align_face
from crossid_desktop.imaging.io import load_image
from crossid_desktop.imaging.writing import save_image
from crossid_desktop.imaging.xray import SoftTissueParams, suppress_soft_tissue

ORDER = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("preprocess", help="soft-tissue suppression of an X-ray, or alignment of a face photo")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)

    xray = kinds.add_parser("xray", help="suppress the soft tissue of a skull X-ray")
    xray.add_argument("input", type=Path, help="X-ray image (DICOM, PNG, TIFF, JPEG, ...)")
    xray.add_argument("output", type=Path, help="output image (.png or .tif)")
    xray.add_argument("--strength", type=float, default=None, help="suppression strength in [0, 1] (default: the recommended one)")
    xray.set_defaults(run=run_xray)

    face = kinds.add_parser("face", help="detect a face and align it to the canonical crop")
    face.add_argument("input", type=Path, help="face photo")
    face.add_argument("output", type=Path, help="output image (.png or .jpg)")
    face.add_argument("--size", type=int, default=None, help="side of the aligned crop in pixels (default 256)")
    face.add_argument("--centre-crop", action="store_true", help="when no face is found, write a centred crop instead of failing")
    face.set_defaults(run=run_face)


def run_xray(args: argparse.Namespace) -> int:
    image = load_image(args.input)
    try:
        params = SoftTissueParams() if args.strength is None else SoftTissueParams(strength=args.strength)
    except ValueError as error:
        raise CrossIDError(str(error)) from error
    result = suppress_soft_tissue(image.pixels, params)
    save_image(args.output, result)
    print(f"{args.input} (sha256 {image.sha256[:16]}...) -> {args.output}: soft tissue suppressed at strength {params.strength:g}")
    return 0


def run_face(args: argparse.Namespace) -> int:
    image = load_image(args.input)
    try:
        aligned = align_face(image.rgb_uint8(), size=args.size or ALIGNED_SIZE, allow_centre_crop=args.centre_crop)
    except NoFaceFoundError as error:
        raise NoFaceFoundError(f"{args.input}: {error} Use --centre-crop to write a centred crop instead.") from error
    save_image(args.output, aligned.image)
    found = "no face found, centred crop" if aligned.detection is None else f"face found by {aligned.detection.detector}"
    print(f"{args.input} (sha256 {image.sha256[:16]}...) -> {args.output}: {found}, aligned by {aligned.method}")
    return 0
