"""Enrolment: atomic per photo (a photo is stored with every matcher's vector or not at all),
indexes that agree with the database after a kill at any point, and worker processes that
embed exactly as the enrolling process does."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from builders import write_photo

from crossid_desktop.errors import GalleryError
from crossid_desktop.gallery import enrol as enrol_module
from crossid_desktop.gallery.backends import open_index
from crossid_desktop.gallery.enrol import enrol
from crossid_desktop.gallery.faults import FAULT_VARIABLE
from crossid_desktop.gallery.maintenance import index_status
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.matching.matchers import load_matcher
from crossid_desktop.workspace import Workspace

REPO = Path(__file__).resolve().parents[3]

#: enrols ROOT into WORKSPACE with dlib's matcher, two photos per batch (so that a run has many
#: fault points), in this process
ENROL_SCRIPT = """
import sys
from pathlib import Path
from crossid_desktop.gallery import enrol as e
from crossid_desktop.matching.matchers import load_matcher
from crossid_desktop.workspace import Workspace
e.ENROL_BATCH = e.LOCAL_BATCH = 2
report = e.enrol(Workspace.open(Path(sys.argv[1])), Path(sys.argv[2]), matchers=[load_matcher("dlib")], allow_centre_crop=True, workers=1)
print(report.added)
"""


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "gallery"
    for subject in range(3):
        for photo in range(2):
            write_photo(root / f"P{subject:03d}" / f"photo_{photo}.png", seed=subject * 10 + photo)
    return root


def run_enrolment(workspace: Path, photos: Path, kill_at: int | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    env.pop(FAULT_VARIABLE, None)
    if kill_at is not None:
        env[FAULT_VARIABLE] = str(kill_at)
    return subprocess.run([sys.executable, "-c", ENROL_SCRIPT, str(workspace), str(photos)], env=env, capture_output=True, text=True, timeout=300)


def check_store_and_index_agree(workspace: Workspace) -> int:
    """The invariant after any kill: every stored photo has a vector from the matcher, the
    index says so or names its repair, and once opened it finds every stored photo."""
    with sqlite3.connect(workspace.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        images = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        assert conn.execute("SELECT COUNT(*) FROM thumbnails").fetchone()[0] == images
        half_stored = conn.execute("SELECT COUNT(*) FROM images i WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.image_id = i.image_id)")
        assert half_stored.fetchone()[0] == 0
    with GalleryStore(workspace.db_path) as store:
        for matcher in store.matchers():
            status = index_status(workspace, store, matcher.fingerprint)
            assert status.matches_db or "crossid gallery rebuild-index" in status.reason or not status.exists
            index = open_index(workspace, store, matcher.fingerprint)
            ids, vectors = store.embeddings(matcher.fingerprint)
            assert index.count == len(ids) == images
            if len(ids):
                for exact in (False, True):
                    found, distances = index.search(vectors, 1, exact=exact)
                    assert np.array_equal(found[:, 0], ids) and np.allclose(distances, 0, atol=1e-5)
            assert index_status(workspace, store, matcher.fingerprint).matches_db
            index.close()
    return images


def kill_points_survive(tmp_path: Path, photos: Path, points: list[int], *, finish: set[int]) -> None:
    """Kill an enrolment at each point and check the invariant; at the points in ``finish``,
    enrol again and check that the gallery is then complete."""
    for point in points:
        root = tmp_path / f"ws-{point}"
        killed = run_enrolment(root, photos, kill_at=point)
        assert killed.returncode != 0, f"fault point {point} was never reached: {killed.stdout}"
        stored = check_store_and_index_agree(Workspace.open(root))
        assert 0 <= stored <= 6
        if point in finish:
            finished = run_enrolment(root, photos, kill_at=None)  # enrolling again completes the gallery
            assert finished.returncode == 0, finished.stderr
            assert int(finished.stdout.split()[-1]) == 6 - stored
            assert check_store_and_index_agree(Workspace.open(root)) == 6


def test_a_kill_at_some_points_of_enrolment_leaves_store_and_index_agreeing(tmp_path: Path, photos: Path) -> None:
    # inside a batch, after a commit, after an index update
    kill_points_survive(tmp_path, photos, [2, 4, 7], finish={4})


@pytest.mark.slow
def test_a_kill_at_every_point_of_enrolment_leaves_store_and_index_agreeing(tmp_path: Path, photos: Path) -> None:
    # 3 batches x (2 photos stored, 1 commit, 1 index update), then the save's 3 points
    last = 3 * 4 + 3
    kill_points_survive(tmp_path, photos, [p for p in range(1, last + 1) if p not in (2, 4, 7)], finish={last})
    assert run_enrolment(tmp_path / "beyond", photos, kill_at=last + 1).returncode == 0  # no further point


def test_a_photo_is_stored_with_every_vector_or_not_at_all(tmp_path: Path, photos: Path) -> None:
    workspace = Workspace.open(tmp_path / "ws")
    matcher = load_matcher("dlib")
    with GalleryStore(workspace.db_path) as store:
        store.register_matcher(matcher.fingerprint, name=matcher.name, card=matcher.model_card())
        store.ensure_subject("P1")
        with pytest.raises(GalleryError, match="not registered"):
            store.add_image(
                "P1", path=Path("/x.png"), sha256="0" * 64, view="front", width=5, height=5, thumbnail_png=b"\x89PNG\r\n\x1a\n",
                alignment="x", embeddings={matcher.fingerprint: np.zeros(128, np.float32), "unknown": np.zeros(4, np.float32)},
            )
        assert store.counts().images == 0 and store.matcher_state(matcher.fingerprint).embeddings == 0


@pytest.mark.slow
def test_worker_processes_embed_as_this_process_does(tmp_path: Path, photos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enrol_module, "ENROL_BATCH", 1)  # 6 batches: enough for 2 workers
    matcher = load_matcher("dlib")
    reports, vectors = [], []
    for name, workers in (("here", 1), ("workers", 2)):
        workspace = Workspace.open(tmp_path / name)
        reports.append(enrol(workspace, photos, matchers=[matcher], allow_centre_crop=True, workers=workers))
        with GalleryStore(workspace.db_path) as store:
            images = store.images()
            vectors.append([store.embeddings(matcher.fingerprint, [r.image_id])[1][0] for r in images])
            assert [r.path.name for r in images] == [p.name for p in sorted(photos.rglob("*.png"))]
    assert reports[0].added == reports[1].added == 6 and reports[0].embedded == reports[1].embedded == {matcher.name: 6}
    np.testing.assert_array_equal(np.stack(vectors[0]), np.stack(vectors[1]))


def test_cancel_keeps_what_was_stored_and_searchable(tmp_path: Path, photos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from crossid_desktop.errors import Cancelled

    monkeypatch.setattr(enrol_module, "ENROL_BATCH", 2)
    workspace = Workspace.open(tmp_path / "ws")
    cancel = threading.Event()

    def progress(done: int, total: int, message: str = "") -> None:
        if done >= 2:
            cancel.set()

    with pytest.raises(Cancelled):
        enrol(workspace, photos, matchers=[load_matcher("dlib")], allow_centre_crop=True, workers=1, progress=progress, cancel=cancel)
    assert 2 <= check_store_and_index_agree(workspace) < 6
