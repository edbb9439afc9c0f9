"""The main window: status bar, actions and shortcuts, error dialogs, drag and drop, settings
remembered between two windows, and a clean close with a job running."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QAction, QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication

from crossid_desktop.errors import InvalidImageError
from crossid_desktop.gui.main_window import MainWindow
from crossid_desktop.gui.settings import Settings
from crossid_desktop.gui.worker import running_threads
from crossid_desktop.matching.base import QueryModality

TIMEOUT = 60_000


def test_status_bar_and_actions(window, tiny) -> None:
    import torch

    expected_device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    assert window.status.device_label.text() == f"device: {expected_device}"
    assert window.status.gallery_label.text() == "gallery: 24 people, 72 photos"
    shortcuts = {a.objectName(): {s.toString() for s in a.shortcuts()} for a in window.findChildren(QAction) if a.objectName()}
    assert shortcuts["openQueryAction"] == {QKeySequence("Ctrl+O").toString()}
    assert shortcuts["runSearchAction"] == {QKeySequence("Ctrl+R").toString(), QKeySequence("F5").toString()}
    assert shortcuts["compareAction"] == {QKeySequence("Ctrl+M").toString()}
    assert shortcuts["importGalleryAction"] == {QKeySequence("Ctrl+I").toString()}
    assert shortcuts["exportReportAction"] == {QKeySequence("Ctrl+E").toString()}


def test_a_corrupt_file_gives_an_error_dialog_and_the_window_stays_usable(qtbot, window, tiny, error_dialogs, tmp_path: Path) -> None:
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with qtbot.waitSignal(window.worker.jobFailed, timeout=TIMEOUT):
        window.load_query([str(corrupt)])
    assert len(error_dialogs) == 1
    box = error_dialogs[0]
    assert "broken.jpg" in box.text() and "Traceback" not in box.text()
    assert "InvalidImageError" in box.detailedText() and "Traceback" in box.detailedText()
    with qtbot.waitSignal(window.query_panel.queryLoaded, timeout=TIMEOUT):
        window.load_query([str(tiny.photo(tiny.photo_subjects[0]))])
    assert window.query_panel.images()[0].image.path.name == "P000_1.png"


def test_an_unexpected_error_reads_as_such(qtbot, window, error_dialogs) -> None:
    def bug(context, progress, cancel):
        return {}["missing"]

    with qtbot.waitSignal(window.worker.jobFailed, timeout=TIMEOUT):
        window.worker.submit("bug", bug)
    assert error_dialogs[0].text() == "An unexpected error occurred: KeyError"
    assert "'missing'" in error_dialogs[0].detailedText()
    assert isinstance(InvalidImageError("x"), Exception)


def test_dropping_two_xrays_opens_a_frontal_and_lateral_pair(qtbot, window, tiny) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in tiny.xrays(tiny.cohort.subject_ids[3])])
    drop = QDropEvent(QPoint(50, 50).toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.query_panel.queryLoaded, timeout=TIMEOUT):
        window.dropEvent(drop)
    assert [q.modality for q in window.query_panel.images()] == [QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE]
    assert window.query_panel.image_combo.count() == 2


def test_choices_are_remembered_between_two_windows(qtbot, tiny, settings: Settings, isolated_settings: Path) -> None:
    first = MainWindow(workspace=tiny.root, settings=settings)
    qtbot.addWidget(first)
    first.show()
    first.resize(first.minimumSizeHint().width(), 620)
    first.candidates.top_k_spin.setValue(7)
    first.query_panel.strength_slider.setValue(35)
    photo = tiny.photo(tiny.photo_subjects[1])
    with qtbot.waitSignal(first.query_panel.queryLoaded, timeout=TIMEOUT):
        first.load_query([str(photo)])
    first.close()
    assert Path(settings.file_name).is_relative_to(isolated_settings)  # never the user's file

    second = MainWindow(workspace=tiny.root, settings=Settings())
    qtbot.addWidget(second)
    try:
        assert second.candidates.top_k() == 7
        assert second.query_panel.strength_slider.value() == 35
        assert second.height() == 620  # restored, not the default 900 (the offscreen screen may clamp the width)
        recent = [a.text() for a in second.actions_.recent_menu.actions()]
        assert recent == [photo.name]
        assert Settings().last_folder == str(photo.parent)
    finally:
        second.close()


def test_closing_with_a_job_running_cancels_and_joins_the_worker(qtbot, window) -> None:
    started, noticed = threading.Event(), threading.Event()

    def long_job(context, progress, cancel):
        started.set()
        cancel.wait(TIMEOUT / 1000)
        noticed.set()

    window.worker.submit("long", long_job)
    assert started.wait(TIMEOUT / 1000)
    window.close()
    assert noticed.is_set() and not running_threads()
    assert QApplication.instance() is not None
