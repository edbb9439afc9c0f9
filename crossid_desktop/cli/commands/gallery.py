"""``crossid enroll`` and ``crossid gallery list|remove|rebuild-index``."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from crossid_desktop.cli.progressbar import TextProgress
from crossid_desktop.gallery.backends import IndexLocation, index_location, set_index_location
from crossid_desktop.gallery.enrol import enrol
from crossid_desktop.gallery.maintenance import index_status, rebuild_indexes, remove_subjects
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.matching.selection import MatcherCache
from crossid_desktop.workspace import Workspace

ORDER = 40


def register(subparsers: argparse._SubParsersAction) -> None:
    enroll = subparsers.add_parser("enroll", help="enrol face photos into the gallery (a folder ROOT/<subject_id>/* or a CSV manifest)")
    enroll.add_argument("source", type=Path, help="gallery folder, or a CSV manifest with columns path,subject_id,name,view")
    enroll.add_argument("--centre-crop", action="store_true", help="enrol a centred crop of photos in which no face is found")
    enroll.add_argument("--rename", action="store_true", help="let the source's names replace those of subjects already enrolled under another name")
    enroll.set_defaults(run=run_enroll)

    gallery = subparsers.add_parser("gallery", help="list the gallery, remove subjects, rebuild indexes")
    actions = gallery.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="subjects and their photo counts, and the index of each matcher")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)
    remove = actions.add_parser("remove", help="remove subjects (their photos and embeddings) from the gallery")
    remove.add_argument("subject_ids", nargs="+")
    remove.set_defaults(run=run_remove)
    rebuild = actions.add_parser("rebuild-index", help="re-embed what is missing and rebuild every matcher's index from the database")
    rebuild.set_defaults(run=run_rebuild)
    backend = actions.add_parser("backend", help="show or choose where the gallery index lives: hnswlib (in the workspace), milvus://HOST:PORT, or a Milvus Lite file")
    backend.add_argument("location", nargs="?", help="hnswlib | milvus://HOST:PORT | PATH.db (Milvus Lite); omit to show the current one")
    backend.set_defaults(run=run_backend)


def run_enroll(args: argparse.Namespace) -> int:
    workspace = Workspace.open(args.workspace)
    matchers = MatcherCache().configured(workspace.root)
    with TextProgress("enrolling") as bar:
        report = enrol(workspace, args.source, matchers=matchers, allow_centre_crop=args.centre_crop, rename=args.rename, progress=bar)
    print(f"added {report.added} photos of {len(report.subjects)} subjects; skipped {report.skipped_duplicates} already enrolled; {len(report.failures)} failed")
    for name, count in report.embedded.items():
        print(f"  embedded {count} photos with {name}")
    for failure in report.failures:
        print(f"  failed: {failure.path}: {failure.reason}")
    return 1 if report.failures and not report.added else 0


def run_list(args: argparse.Namespace) -> int:
    workspace = Workspace.open(args.workspace)
    store = GalleryStore(workspace.db_path)
    try:
        subjects = store.subjects()
        indexes = [(m, index_status(workspace, store, m.fingerprint)) for m in store.matchers()]
    finally:
        store.close()
    if args.json:
        print(json.dumps({
            "subjects": [asdict(s) for s in subjects],
            "index_backend": asdict(index_location(workspace)),
            "indexes": [{"matcher": m.name, "fingerprint": m.fingerprint, **asdict(s)} for m, s in indexes],
        }, indent=2, default=str))
        return 0
    print(f"{len(subjects)} subjects, {sum(s.n_images for s in subjects)} photos in {workspace.root}")
    print(f"gallery index: {_describe(index_location(workspace))}")
    for subject in subjects:
        print(f"  {subject.subject_id:<16} {subject.n_images:>3} photos  {subject.name}")
    for matcher, status in indexes:
        state = "up to date" if status.matches_db else f"stale: {status.reason}"
        print(f"index {matcher.name} ({matcher.fingerprint[:12]}): {status.count} vectors, {state}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    removed = remove_subjects(Workspace.open(args.workspace), args.subject_ids)
    for subject_id, photos in removed.items():
        print(f"removed {subject_id} ({photos} photos)")
    return 0


def run_rebuild(args: argparse.Namespace) -> int:
    workspace = Workspace.open(args.workspace)
    with TextProgress("rebuilding") as bar:
        counts = rebuild_indexes(workspace, MatcherCache().configured(workspace.root), progress=bar)
    for name, count in counts.items():
        print(f"index {name}: {count} vectors")
    return 0


def run_backend(args: argparse.Namespace) -> int:
    workspace = Workspace.open(args.workspace)
    if args.location is None:
        print(_describe(index_location(workspace)))
        return 0
    location = set_index_location(workspace, args.location)
    print(f"gallery index: {_describe(location)}")
    if location.backend != "hnswlib":
        print("the index is filled from the gallery on the next search or enrolment (or now: crossid gallery rebuild-index)")
    return 0


def _describe(location: IndexLocation) -> str:
    if location.backend == "hnswlib":
        return f"hnswlib, in {location.uri}"
    kind = "Milvus server" if location.shared else "Milvus Lite file"
    return f"{kind} {location.uri} (only vectors and image ids are stored there)"
