"""The gallery manager: import with progress, cancel, removal, index states and rebuild, all
through the real worker thread and the real services on a tiny workspace."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from builders import save_untrained_matcher, write_photo  # noqa: E402
from PySide6.QtWidgets import QMessageBox, QPushButton, QTableView  # noqa: E402

from crossid_desktop.errors import Cancelled  # noqa: E402
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.gui.widgets.gallery_manager import GalleryManager  # noqa: E402
from crossid_desktop.gui.worker import JobContext, Worker  # noqa: E402
from crossid_desktop.matching.selection import write_config  # noqa: E402
from crossid_desktop.workspace import Workspace  # noqa: E402

SUBJECTS, PHOTOS = 6, 2


@pytest.fixture(scope="module")
def gallery_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gallery")
    for subject in range(SUBJECTS):
        for photo in range(PHOTOS):
            write_photo(root / f"P{subject:03d}" / f"photo_{photo}.png", seed=subject * 10 + photo)
    return root


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_untrained_matcher(tmp_path_factory.mktemp("models") / "injured.pt", "injured")


def _configure(root: Path, checkpoint: Path) -> None:
    """Only the untrained matcher: no role falls back to a bundled model."""
    write_config(root, "injured", str(checkpoint))
    write_config(root, "xray", str(checkpoint))


@pytest.fixture(scope="module")
def enrolled_template(tmp_path_factory: pytest.TempPathFactory, checkpoint: Path, gallery_folder: Path) -> Path:
    """A workspace with the gallery enrolled through the service, copied by the tests that
    start from a full gallery (enrolling once keeps the file fast)."""
    from crossid_desktop.gallery.enrol import enrol
    from crossid_desktop.matching.selection import MatcherCache

    ws = Workspace.open(tmp_path_factory.mktemp("template") / "ws")
    _configure(ws.root, checkpoint)
    enrol(ws, gallery_folder, matchers=MatcherCache().configured(ws.root), allow_centre_crop=True)
    return ws.root


@pytest.fixture
def workspace(tmp_path: Path, checkpoint: Path) -> Workspace:
    ws = Workspace.open(tmp_path / "ws")
    _configure(ws.root, checkpoint)
    return ws


@pytest.fixture
def enrolled(tmp_path: Path, enrolled_template: Path) -> Workspace:
    shutil.copytree(enrolled_template, tmp_path / "enrolled")
    return Workspace.open(tmp_path / "enrolled")


def _open_manager(qtbot, workspace: Workspace):
    worker = Worker(lambda: JobContext(workspace.root))
    dialog = GalleryManager(worker=worker)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.refreshed, timeout=20_000):
        pass  # the first read, submitted by the constructor
    return dialog, worker


@pytest.fixture
def manager(qtbot, workspace: Workspace):
    dialog, worker = _open_manager(qtbot, workspace)
    yield dialog
    assert worker.shutdown(20_000)


@pytest.fixture
def full_manager(qtbot, enrolled: Workspace):
    dialog, worker = _open_manager(qtbot, enrolled)
    yield dialog
    assert worker.shutdown(20_000)


def _stored_photos(workspace: Workspace) -> int:
    with GalleryStore(workspace.db_path) as store:
        return store.counts().images


def _import(qtbot, dialog: GalleryManager, source: Path) -> None:
    dialog.findChild(type(dialog.centre_crop), "allowCentreCrop").setChecked(True)
    with qtbot.waitSignal(dialog.refreshed, timeout=60_000):
        with qtbot.waitSignal(dialog.galleryChanged, timeout=60_000):
            dialog.import_source(source)


def test_import_grows_the_table_and_indexes_are_up_to_date(qtbot, manager: GalleryManager, gallery_folder: Path) -> None:
    table = manager.findChild(QTableView, "galleryTable")
    assert table.model().rowCount() == 0
    _import(qtbot, manager, gallery_folder)
    model = table.model()
    assert model.rowCount() == SUBJECTS
    assert [model.index(r, 0).data() for r in range(SUBJECTS)] == [f"P{s:03d}" for s in range(SUBJECTS)]
    assert [model.index(r, 2).data() for r in range(SUBJECTS)] == [PHOTOS] * SUBJECTS
    assert f"Imported {SUBJECTS * PHOTOS} photos of {SUBJECTS} subjects" in manager.progress_label.text()
    assert manager.index_states() == [("untrained-injured", "up to date")]


def test_cancel_keeps_what_was_stored_and_the_dialog_stays_usable(qtbot, manager: GalleryManager, gallery_folder: Path, workspace: Workspace) -> None:
    manager.centre_crop.setChecked(True)
    cancel = manager.findChild(QPushButton, "cancelGalleryJob")
    failures: list[object] = []
    manager._worker.jobFailed.connect(lambda job_id, error: failures.append(error))
    manager._worker.jobProgress.connect(lambda *args: cancel.click() if cancel.isEnabled() else None)
    with qtbot.waitSignal(manager.refreshed, timeout=60_000):
        manager.import_source(gallery_folder)
    assert any(isinstance(error, Cancelled) for error in failures)
    stored = _stored_photos(workspace)
    assert stored < SUBJECTS * PHOTOS
    assert manager.model.total_photos() == stored
    assert "cancelled" in manager.progress_label.text()
    assert manager.findChild(QPushButton, "importFolderButton").isEnabled()
    manager._worker.jobProgress.disconnect()
    _import(qtbot, manager, gallery_folder)  # the rest comes in; what was stored is skipped
    assert manager.model.total_photos() == SUBJECTS * PHOTOS == _stored_photos(workspace)


def test_remove_selected_subject_after_confirmation(qtbot, full_manager: GalleryManager, enrolled: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    manager, workspace = full_manager, enrolled
    assert manager.model.rowCount() == SUBJECTS
    table = manager.findChild(QTableView, "galleryTable")
    table.selectRow(3)
    remove = manager.findChild(QPushButton, "removeSubjectsButton")
    assert remove.isEnabled()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *args, **kwargs: QMessageBox.StandardButton.No))
    remove.click()
    assert not manager.busy()  # declined: nothing happens
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *args, **kwargs: QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(manager.refreshed, timeout=30_000):
        remove.click()
    ids = manager.model.subject_ids()
    assert "P003" not in ids and len(ids) == SUBJECTS - 1
    with GalleryStore(workspace.db_path) as store:
        assert "P003" not in {s.subject_id for s in store.subjects()}
    assert manager.index_states() == [("untrained-injured", "up to date")]


def test_missing_index_is_stale_then_rebuilt(qtbot, full_manager: GalleryManager, enrolled: Workspace) -> None:
    manager, workspace = full_manager, enrolled
    assert manager.index_states() == [("untrained-injured", "up to date")]
    for path in workspace.indexes_dir.glob("*.hnsw"):
        path.unlink()
    with qtbot.waitSignal(manager.refreshed, timeout=30_000):
        manager.refresh()
    [(name, state)] = manager.index_states()
    assert state.startswith("stale:")
    with qtbot.waitSignal(manager.refreshed, timeout=60_000):
        manager.findChild(QPushButton, "rebuildIndexButton").click()
    assert manager.index_states() == [("untrained-injured", "up to date")]
    assert list(workspace.indexes_dir.glob("*.hnsw"))


def test_opens_from_the_window(qtbot, window) -> None:
    """The Import gallery action opens the manager on the window's worker and workspace."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QApplication

    window.findChild(QAction, "importGalleryAction").trigger()
    [dialog] = [w for w in QApplication.topLevelWidgets() if isinstance(w, GalleryManager) and w.isVisible()]
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=20_000)
    assert dialog.model.rowCount() == 24  # the tiny workspace's people
    assert "24 subjects" in dialog.summary.text()
    dialog.close()
