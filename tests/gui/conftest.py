"""GUI test fixtures: settings isolated in a temporary INI file, a tiny workspace whose answers
are known, and a check that no test leaves a worker thread or an active timer behind."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from builders import save_untrained_matcher, write_photo  # noqa: E402
from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from crossid_desktop.gui import errors as gui_errors  # noqa: E402
from crossid_desktop.gui.settings import Settings  # noqa: E402
from crossid_desktop.gui.worker import running_threads  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path) -> Path:
    """Every QSettings of the test lives in ``tmp_path/settings``, never in the user's home."""
    folder = tmp_path / "settings"
    folder.mkdir()
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, str(folder))
    return folder


@pytest.fixture(autouse=True)
def no_dangling_threads_or_timers(qapp: QApplication):
    """Fail a test that leaves a worker thread running or a timer active (as napari does)."""
    yield
    threads = running_threads()
    for thread in threads:  # stop them so the next tests are not disturbed
        thread.requestInterruption()
    timers = [t for w in QApplication.topLevelWidgets() if w.isVisible() for t in w.findChildren(QTimer) if t.isActive() and t.interval() > 0]
    assert not threads, f"{len(threads)} worker thread(s) still running after the test"
    assert not timers, f"{len(timers)} timer(s) still active after the test: {[t.objectName() for t in timers]}"


@pytest.fixture
def settings(isolated_settings: Path) -> Settings:
    return Settings()


@pytest.fixture
def error_dialogs(monkeypatch: pytest.MonkeyPatch) -> list:
    """Error dialogs captured instead of shown: a list of QMessageBox."""
    shown: list = []
    monkeypatch.setattr(gui_errors, "present", shown.append)
    return shown


class TinyWorkspace:
    """A gallery of 24 people: 12 of a synthetic cohort (their X-rays are the X-ray queries) and
    12 with smooth random pictures as photos (an enrolled one, queried as an injured face, must
    rank its owner first: an untrained network tells the cohort's faces apart too little)."""

    def __init__(self, root: Path) -> None:
        from crossid_desktop.gallery.enrol import enrol
        from crossid_desktop.matching.selection import MatcherCache, write_config
        from crossid_desktop.synth.cohort import CohortConfig, generate_cohort
        from crossid_desktop.workspace import Workspace

        self.cohort = generate_cohort(root / "cohort", CohortConfig(n_subjects=12, seed=1, image_size=96))
        self.workspace = Workspace.open(root / "ws")
        write_config(self.workspace.root, "injured", str(save_untrained_matcher(root / "injured.pt", "injured")))
        write_config(self.workspace.root, "xray", str(save_untrained_matcher(root / "skull.pt", "skull2face")))
        manifest = root / "gallery.csv"
        with open(manifest, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "subject_id", "name", "view"])
            for subject in self.cohort.subject_ids:
                for photo in sorted((self.cohort.s2f_root / subject).glob("face_*.png")):
                    writer.writerow([str(photo), subject, f"Person {subject}", "side" if "side" in photo.stem else "front"])
            for index in range(12):
                for photo in range(2):
                    path = root / "photos" / f"P{index:03d}_{photo}.png"
                    write_photo(path, seed=index * 10 + photo)
                    writer.writerow([str(path), f"P{index:03d}", f"Pat {index:03d}", "front"])
        enrol(self.workspace, manifest, matchers=MatcherCache().configured(self.workspace.root), allow_centre_crop=True)

    @property
    def root(self) -> Path:
        return self.workspace.root

    photo_subjects = tuple(f"P{index:03d}" for index in range(12))

    def photo(self, subject: str) -> Path:
        """An enrolled photo of ``subject`` (one of :attr:`photo_subjects`)."""
        return self.workspace.root.parent / "photos" / f"{subject}_1.png"

    def xrays(self, subject: str) -> list[Path]:
        return [self.cohort.s2f_root / subject / "xray_front.png", self.cohort.s2f_root / subject / "xray_side.png"]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyWorkspace:
    return TinyWorkspace(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def window(qtbot, tiny: TinyWorkspace, settings: Settings):
    """The main window on the tiny workspace, its startup job done; closed (worker joined) after."""
    from crossid_desktop.gui.main_window import MainWindow

    win = MainWindow(workspace=tiny.root, settings=settings)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.worker.busyChanged, timeout=60_000, check_params_cb=lambda busy: not busy):
        win.show()
    yield win
    win.close()
