"""``crossid dicom list PATH``: what a DICOMDIR, a disc or a folder of DICOM files holds."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.errors import CrossIDError, InvalidImageError
from crossid_desktop.imaging.dicom_media import DicomImage, DicomMedia, open_media, thumbnail
from crossid_desktop.imaging.writing import save_image
from crossid_desktop.search.query import guess_from_dicom

ORDER = 25


def register(subparsers: argparse._SubParsersAction) -> None:
    dicom = subparsers.add_parser("dicom", help="list the patients, studies, series and images of a DICOMDIR or a folder of DICOM files")
    actions = dicom.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", help="patients > studies > series (modality, body part, view, date, image count) and the view each pre-fills"
    )
    listing.add_argument("path", type=Path, metavar="PATH", help="a DICOMDIR, a folder holding one, or a folder of DICOM files")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.add_argument("--images", action="store_true", help="list every image, not only the series and the multi-frame images")
    listing.add_argument("--thumbnails", type=Path, default=None, metavar="DIR", help="write a PNG thumbnail of each series into DIR (series-NNN.png)")
    listing.set_defaults(run=run_list)


def run_list(args: argparse.Namespace) -> int:
    if args.thumbnails is not None and not args.thumbnails.expanduser().is_dir():
        raise CrossIDError(f"The folder {args.thumbnails} for the thumbnails does not exist.")
    with TextProgress("reading") as bar:
        media = open_media(args.path, progress=bar)
    thumbnails = _write_thumbnails(media, args.thumbnails.expanduser()) if args.thumbnails is not None else {}
    listing = media_listing(media, thumbnails)
    if args.json:
        print(json.dumps(listing, indent=2, ensure_ascii=False))
        return 0
    _print_listing(listing, every_image=args.images)
    return 0


def media_listing(media: DicomMedia, thumbnails: dict[int, str] | None = None) -> dict[str, Any]:
    """The listing as plain data (``--json``); series are numbered from 1 across the media.
    The patient's identifiers are included: this goes to the examiner's screen."""
    thumbnails = thumbnails or {}
    patients, number = [], 0
    for patient in media.patients:
        studies = []
        for study in patient.studies:
            series_list = []
            for series in study.series:
                number += 1
                first = series.first_image()
                guess = guess_from_dicom(first.tags) if first is not None else None
                series_list.append({
                    "number": number, "series_number": series.number, "modality": series.modality, "body_part": series.body_part,
                    "description": series.description, "view_position": series.view_positions, "image_count": series.image_count,
                    "prefill": {"modality": guess.modality.value, "basis": guess.basis} if guess else None,
                    "thumbnail": thumbnails.get(number), "images": [_image(image) for image in series.images],
                })
            studies.append({"date": study.date, "description": study.description, "study_uid": study.study_uid, "series": series_list})
        patients.append({"patient": patient.identity.to_dict() if patient.identity else None, "studies": studies})
    return {
        "root": str(media.root), "kind": media.kind, "patients": patients,
        "missing": [str(path) for path in media.missing],
        "unreadable": [{"path": str(path), "reason": reason} for path, reason in media.unreadable],
    }


def _image(image: DicomImage) -> dict[str, Any]:
    guess = guess_from_dicom(image.tags) if image.has_pixels else None
    return {
        "path": str(image.path), "instance_number": image.instance_number, "frames": image.frames, "rows": image.rows, "columns": image.columns,
        "has_pixels": image.has_pixels, "note": image.note,
        "tags": {key: image.tags[key] for key in ("ViewPosition", "ImageLaterality", "PatientOrientation", "ViewCodeMeaning", "TransferSyntax") if key in image.tags},
        "prefill": {"modality": guess.modality.value, "basis": guess.basis} if guess else None,
    }


def _write_thumbnails(media: DicomMedia, folder: Path) -> dict[int, str]:
    """One PNG per series, named by its number in the listing (never by anything of the patient)."""
    written = {}
    for number, (_, _, series) in enumerate(media.series(), start=1):
        first = series.first_image()
        if first is None:
            continue
        try:
            path = folder / f"series-{number:03d}.png"
            save_image(path, thumbnail(first))
            written[number] = str(path)
        except InvalidImageError:
            continue  # the series line says the image cannot be shown when it is opened
    return written


def _print_listing(listing: dict[str, Any], *, every_image: bool) -> None:
    series_count = sum(len(study["series"]) for patient in listing["patients"] for study in patient["studies"])
    image_count = sum(s["image_count"] for p in listing["patients"] for st in p["studies"] for s in st["series"])
    print(f"{listing['kind']} {listing['root']}: {len(listing['patients'])} patient(s), {series_count} series, {image_count} image(s)")
    for n, patient in enumerate(listing["patients"], start=1):
        identity = patient["patient"]
        who = "; ".join(filter(None, [identity["name"], f"ID {identity['patient_id']}" if identity["patient_id"] else "", identity["birth_date"]])) if identity else ""
        print(f"patient {n}: {who or 'not named in the files'}")
        for study in patient["studies"]:
            print(f"  study {study['date'] or 'date not given'}  {study['description']}")
            for series in study["series"]:
                _print_series(series, every_image=every_image)
    if listing["missing"]:
        print(f"missing: {len(listing['missing'])} file(s) the DICOMDIR references are not there (the rest opens):")
        for path in listing["missing"]:
            print(f"  {path}")
    for entry in listing["unreadable"]:
        print(f"unreadable: {entry['reason']}")


def _print_series(series: dict[str, Any], *, every_image: bool) -> None:
    prefill = series["prefill"]
    view = f"view {series['view_position']}" if series["view_position"] else "view not stated"
    line = (f"    series {series['number']}: {series['modality'] or '?'} {series['body_part'] or ''}  {view}  "
            f"{series['image_count']} image(s)  {series['description']}").rstrip()
    if prefill:
        line += f"  -> {prefill['modality'].replace('_', ' ')} ({prefill['basis']})"
    if series["thumbnail"]:
        line += f"  [{series['thumbnail']}]"
    print(line)
    for image in series["images"]:
        if every_image or image["frames"] > 1 or not image["has_pixels"]:
            detail = f"{image['frames']} frames (search one with --frame N)" if image["frames"] > 1 else (image["note"] or f"{image['columns']}x{image['rows']}")
            print(f"      {image['path']}  {detail}")
