"""The DICOM browser: a disc listed in the worker, views pre-filled from the headers and
changed by the examiner, a frame of a multi-frame image picked, missing files listed."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

pytest.importorskip("pytestqt")

from builders import write_dicom_disc  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from crossid_desktop.gui.widgets.dicom_browser import DicomBrowser, DicomChoice  # noqa: E402
from crossid_desktop.gui.worker import Worker  # noqa: E402
from crossid_desktop.matching.base import QueryModality  # noqa: E402

TIMEOUT = 30_000


@pytest.fixture
def worker():
    worker = Worker(lambda: None)
    yield worker
    assert worker.shutdown(5_000)


def open_browser(qtbot, worker: Worker, path: Path) -> DicomBrowser:
    browser = DicomBrowser(worker, path)
    qtbot.addWidget(browser)
    with qtbot.waitSignal(browser.listed, timeout=TIMEOUT):
        browser.show()
    return browser


def header(path: str):
    return pydicom.dcmread(path, stop_before_pixels=True)


def test_views_are_prefilled_then_chosen_with_a_frame(qtbot, worker: Worker, tmp_path: Path) -> None:
    disc = write_dicom_disc(tmp_path)
    browser = DicomBrowser(worker, disc)
    qtbot.addWidget(browser)
    with qtbot.waitSignals([browser.listed, browser.thumbnailsShown], timeout=TIMEOUT):
        browser.show()
    assert browser.tree.topLevelItemCount() == 2
    series = browser.series_items()
    assert len(series) == 5
    # pre-filled from ViewPosition: the PA image frontal, the LL image lateral
    front, side = browser.choices()
    assert (front.modality, side.modality) == (QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE)
    assert header(front.path).ViewPosition == "PA" and header(side.path).ViewPosition == "LL"
    assert "pre-filled from ViewPosition PA" in browser.front_label.text()

    with_pixels = [item for item in series if item.text(5) != "0"]
    assert all(not item.icon(0).isNull() for item in with_pixels)
    assert all(item.icon(0).isNull() for item in series if item.text(5) == "0")  # the report

    multi = next(item for item in series if item.text(0).startswith("Series 3"))
    browser.tree.setCurrentItem(multi)
    assert browser.images_list.count() == 1 and browser.frame_spin.maximum() == 3 and browser.frame_spin.isEnabled()
    browser.frame_spin.setValue(3)
    qtbot.mouseClick(browser.side_button, Qt.MouseButton.LeftButton)
    assert "frame 3 (chosen)" in browser.side_label.text()
    path = browser.choices()[1].path
    assert browser.choices()[1] == DicomChoice(path, 2, QueryModality.XRAY_SIDE) and int(header(path).NumberOfFrames) == 3

    report = next(item for item in series if item.text(1) == "SR")
    browser.tree.setCurrentItem(report)
    assert not browser.front_button.isEnabled() and not browser.side_button.isEnabled()

    with qtbot.waitSignal(browser.chosen, timeout=TIMEOUT) as blocker:
        qtbot.mouseClick(browser.open_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == [front, DicomChoice(path, 2, QueryModality.XRAY_SIDE)]


def test_missing_files_are_listed(qtbot, worker: Worker, tmp_path: Path) -> None:
    disc = write_dicom_disc(tmp_path)
    lost = sorted(p for p in disc.rglob("IM*") if p.is_file())[-1]
    lost.unlink()
    browser = open_browser(qtbot, worker, disc / "DICOMDIR")
    assert browser.problems_label.isVisibleTo(browser)
    assert "1 file(s) the DICOMDIR references are missing" in browser.problems_label.text() and str(lost) in browser.problems_label.text()
    assert len(browser.series_items()) == 4


def test_a_path_without_dicom_is_an_error_dialog(qtbot, worker: Worker, tmp_path: Path, error_dialogs: list) -> None:
    (tmp_path / "empty").mkdir()
    browser = DicomBrowser(worker, tmp_path / "empty")
    qtbot.addWidget(browser)
    with qtbot.waitSignal(worker.jobFailed, timeout=TIMEOUT):
        browser.show()
    assert len(error_dialogs) == 1 and "holds no readable DICOM file" in error_dialogs[0].text()
    assert "holds no readable DICOM file" in browser.state_label.text()
    assert not browser.open_button.isEnabled()
