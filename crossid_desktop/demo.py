"""The embedded demo: a workspace built on first run from a synthetic cohort and the bundled
demo models, and queries whose true identity is known.

The cohort's seed differs from the seeds the demo models were trained on, so the demo's people
are new to the models. Everything is deterministic: every new user sees the same demo.
"""

from __future__ import annotations

import csv
import json
import shutil
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from crossid_desktop.datasets.landmark_annotations import read_annotations
from crossid_desktop.errors import CrossIDError, ModelError
from crossid_desktop.gallery.enrol import enrol
from crossid_desktop.gallery.maintenance import rebuild_indexes
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.imaging.io import sha256_of_file
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.craniofacial.annotations import MeasurementNoise, measured
from crossid_desktop.matching.craniofacial.points import write_sidecar
from crossid_desktop.matching.matchers import DEFAULT_XRAY_NAME
from crossid_desktop.matching.selection import MatcherCache, resolve_spec, spec_available, write_config
from crossid_desktop.paths import default_workspace_dir, write_text_atomic
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress
from crossid_desktop.spreadsheet import csv_text
from crossid_desktop.synth.cohort import CohortConfig, generate_cohort
from crossid_desktop.workspace import Workspace

DEMO_SEED = 20261123
DEMO_SUBJECTS = 80
DEMO_IMAGE_SIZE = 256
DEMO_FORMAT = 2
#: written first into a demo folder: only a folder carrying it is ever cleared for a rebuild
OWNER_MARKER = ".crossid-demo"
#: the demo's skull X-ray and injured-face queries: people of the demo cohort (0-based index)
XRAY_QUERY_SUBJECT = 17
#: where the demo X-rays' skull landmarks come from, in the words every record of them carries
DEMO_LANDMARK_SOURCE = "demo: the synthetic cohort's annotated points with a simulated 2 mm placement error (as an examiner might place them)"
INJURED_QUERY_SUBJECT = 42


class DemoFolderError(CrossIDError):
    """A demo folder that holds someone else's files."""


@dataclass(frozen=True)
class DemoQuery:
    """A demo query with the identity the examiner is meant to find (shown with a green frame)."""

    label: str
    paths: tuple[str, ...]
    modality: str  # a QueryModality value, or "xray" for a frontal + lateral pair
    true_subject_id: str

    def query_modality(self) -> QueryModality | None:
        """The modality to search with; None lets the search pair a frontal and a lateral view."""
        return None if self.modality == "xray" else QueryModality(self.modality)


@dataclass(frozen=True)
class Demo:
    root: Path
    queries: tuple[DemoQuery, ...]

    def workspace(self):
        return Workspace.open(self.root / "workspace")


def default_demo_dir() -> Path:
    """Beside the user's workspace: ``<user data>/demo``."""

    return default_workspace_dir().parent / "demo"


def build_demo(root: Path | None = None, *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
               matchers: MatcherCache | None = None) -> Demo:
    """Open the demo, building it the first time (a few tens of seconds on a CPU); ``matchers``:
    the cache the caller searches with (so that the models are loaded once)."""
    root = Path(root) if root is not None else default_demo_dir()
    marker = root / "demo.json"
    if marker.is_file():
        try:
            data = json.loads(marker.read_text(encoding="utf-8"))
            if data.get("format") == DEMO_FORMAT and data.get("seed") == DEMO_SEED:
                demo = Demo(root, tuple(DemoQuery(q["label"], tuple(q["paths"]), q["modality"], q["true_subject_id"]) for q in data["queries"]))
                _up_to_date(demo, matchers or MatcherCache(), progress or no_progress, cancel)
                return demo
        except (OSError, ValueError, KeyError, TypeError):
            pass  # an unfinished or older demo: build it again
    return _build(root, progress or no_progress, cancel)


def _up_to_date(demo: Demo, cache: MatcherCache, progress: ProgressCallback, cancel: threading.Event | None) -> None:
    """A demo built before a bundled model changed (a refitted matcher is another model) lacks the
    new model's vectors: embed what its gallery lacks for the matchers it uses now and rebuild
    their indexes, as ``crossid gallery rebuild-index`` does."""
    workspace = demo.workspace()
    matchers = cache.configured(workspace.root)
    with GalleryStore(workspace.db_path) as store:
        stale = [m for m in matchers if store.images_without_embeddings(m.fingerprint)]
    if stale:
        rebuild_indexes(workspace, matchers, progress=progress, cancel=cancel)


def _build(root: Path, progress: ProgressCallback, cancel: threading.Event | None) -> Demo:
    if root.exists() and any(root.iterdir()):
        if not (root / OWNER_MARKER).is_file():
            raise DemoFolderError(f"The folder {root} is not empty and was not made by the demo; choose an empty or new folder for the demo.")
        shutil.rmtree(root)  # an unfinished or older demo of ours
    skull_model = resolve_spec("bundled:skull2face")
    if not Path(skull_model).is_file():
        raise ModelError(f"The demo model {skull_model} is missing; reinstall CrossID Desktop or train it (see docs/RESULTS.md).")
    root.mkdir(parents=True, exist_ok=True)
    (root / OWNER_MARKER).write_text("This folder holds the CrossID Desktop demo and may be rebuilt by it.\n", encoding="utf-8")
    cohort_dir = root / "cohort"

    def cohort_progress(done: int, total: int, message: str = "") -> None:
        progress(done, total * 2, f"simulating people: {message}")

    cohort = generate_cohort(cohort_dir, CohortConfig(DEMO_SUBJECTS, DEMO_SEED, DEMO_IMAGE_SIZE), progress=cohort_progress, cancel=cancel)
    check_cancel(cancel, "Building the demo")
    workspace = Workspace.open(root / "workspace")
    write_config(workspace.root, "xray", DEFAULT_XRAY_NAME if spec_available(DEFAULT_XRAY_NAME) else "bundled:skull2face")
    injured_spec = "bundled:injured" if Path(resolve_spec("bundled:injured")).is_file() else "dlib"
    write_config(workspace.root, "injured", injured_spec)
    manifest = _gallery_manifest(cohort.s2f_root)

    def enrol_progress(done: int, total: int, message: str = "") -> None:
        progress(DEMO_SUBJECTS + done * DEMO_SUBJECTS // max(total, 1), DEMO_SUBJECTS * 2, f"enrolling the gallery: {message}")

    cache = MatcherCache()
    enrol(workspace, manifest, matchers=cache.configured(workspace.root), allow_centre_crop=True, progress=enrol_progress, cancel=cancel)
    xray_subject = cohort.subject_ids[XRAY_QUERY_SUBJECT]
    _place_skull_landmarks(cohort.s2f_root, xray_subject)
    injured_subject = cohort.subject_ids[INJURED_QUERY_SUBJECT]
    injured_photo = sorted((cohort.if_root / injured_subject / "injured").iterdir())[0]
    queries = (
        DemoQuery("Skull X-ray, frontal and lateral", (str(_one(cohort.s2f_root / xray_subject, "xray_front")), str(_one(cohort.s2f_root / xray_subject, "xray_side"))), "xray", xray_subject),
        DemoQuery("Skull X-ray, lateral", (str(_one(cohort.s2f_root / xray_subject, "xray_side")),), QueryModality.XRAY_SIDE.value, xray_subject),
        DemoQuery("Injured face", (str(injured_photo),), QueryModality.INJURED_FACE.value, injured_subject),
    )
    data = {"format": DEMO_FORMAT, "seed": DEMO_SEED, "subjects": DEMO_SUBJECTS, "queries": [asdict(q) for q in queries]}
    write_text_atomic(root / "demo.json", json.dumps(data, indent=2))  # written last: its presence means the demo is complete
    progress(1, 1, "demo ready")
    return Demo(root, queries)


def _place_skull_landmarks(s2f_root: Path, subject_id: str) -> None:
    """Keep the demo X-rays' skull landmarks beside them, as an examiner would place them: the
    cohort's annotated points moved by a simulated placement error (2 mm mean radial error,
    fixed seed), so the demo shows the craniofacial comparison without an X-ray landmark
    detector. The landmarks' source says so wherever they are shown."""
    person = read_annotations(s2f_root)[subject_id]
    rng = np.random.default_rng(DEMO_SEED)
    for view in ("xray_front", "xray_side"):
        image = person.images[view]
        marks = replace(measured(image, MeasurementNoise(xray_mre_mm=2.0), rng), source=DEMO_LANDMARK_SOURCE)
        path = _one(s2f_root / subject_id, view)
        write_sidecar(path, sha256_of_file(path), marks)


def _one(folder: Path, stem: str) -> Path:
    return next(p for p in sorted(folder.iterdir()) if p.stem == stem)


def _gallery_manifest(s2f_root: Path) -> Path:
    """A CSV manifest of every face photo of the cohort (the X-rays stay out of the gallery)."""
    names = {}
    with open(s2f_root / "subjects.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names[row["subject_id"]] = row.get("name", "")
    manifest = s2f_root.parent / "gallery.csv"
    rows: list[tuple[str, str, str, str]] = [("path", "subject_id", "name", "view")]
    for subject in sorted(names):
        for photo in sorted((s2f_root / subject).iterdir()):
            if photo.stem.startswith("face_"):
                view = "side" if photo.stem.startswith("face_side") else "front"
                rows.append((str(photo.relative_to(manifest.parent)), subject, names[subject], view))
    manifest.write_text(csv_text(rows), encoding="utf-8")
    return manifest
