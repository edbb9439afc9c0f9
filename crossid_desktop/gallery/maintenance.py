"""Gallery upkeep shared by ``crossid gallery`` and the GUI's gallery manager: the state of
each matcher's index (without repairing it), removal of subjects, and rebuilding indexes."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery.backends import index_location, open_index
from crossid_desktop.gallery.enrol import sync_embeddings
from crossid_desktop.gallery.index import index_files
from crossid_desktop.gallery.index_base import IndexStatus
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.matching.base import Matcher
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress
from crossid_desktop.workspace import Workspace


def index_status(workspace: Workspace, store: GalleryStore, fingerprint: str) -> IndexStatus:
    """How a matcher's index stands against the database; never rewrites a file."""

    try:
        index = open_index(workspace, store, fingerprint, rebuild="never")
    except GalleryError as error:
        exists = index_location_is_local(workspace) and any(path.exists() for path in index_files(workspace.indexes_dir, fingerprint))
        return IndexStatus(exists=exists, count=0, matches_db=False, reason=str(error))
    try:
        return index.status()
    finally:
        index.close()


def index_location_is_local(workspace: Workspace) -> bool:
    try:
        return index_location(workspace).backend == "hnswlib"
    except GalleryError:
        return False


def remove_subjects(
    workspace: Workspace,
    subject_ids: Sequence[str],
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, int]:
    """Remove subjects with their photos and embeddings, and their faces from every index;
    returns the photos removed per subject. An unknown id stops it before anything changes."""

    progress = progress or no_progress
    removed: dict[str, int] = {}
    with GalleryStore(workspace.db_path) as store:
        for subject_id in subject_ids:
            store.subject(subject_id)
        # opened while they still match the database, so that removal is incremental
        indexes = [open_index(workspace, store, m.fingerprint) for m in store.matchers()]
        try:
            for done, subject_id in enumerate(subject_ids):
                check_cancel(cancel, "Removing subjects")
                progress(done, len(subject_ids), f"removing {subject_id}")
                removed[subject_id] = store.remove_subject(subject_id)
                for index in indexes:
                    index.sync()
        finally:
            for index in indexes:
                index.save()
                index.close()
        progress(len(subject_ids), len(subject_ids), "removed")
    return removed


def rebuild_indexes(
    workspace: Workspace,
    matchers: Sequence[Matcher],
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, int]:
    """Embed what ``matchers`` lack, then rebuild every registered matcher's index from the
    database; returns the vectors of each rebuilt index by matcher name."""

    counts: dict[str, int] = {}
    with GalleryStore(workspace.db_path) as store:
        for matcher in matchers:
            sync_embeddings(workspace, store, matcher, progress=progress, cancel=cancel)
        for record in store.matchers():
            index = open_index(workspace, store, record.fingerprint, rebuild="always", progress=progress, cancel=cancel)
            counts[record.name] = index.count
            index.close()
    return counts
