"""The ruler: two clicks on the image, the distance in pixels or millimetres, a calibration
from a known length (and a refusal of one that cannot be made), and the query panel keeping
the calibrated spacing with its image."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from builders import write_dicom  # noqa: E402
from PySide6.QtCore import QPointF, Qt  # noqa: E402

from crossid_desktop.gui.images import to_qimage  # noqa: E402
from crossid_desktop.gui.widgets.image_view import ImageView  # noqa: E402
from crossid_desktop.gui.widgets.query_panel import QueryPanel  # noqa: E402
from crossid_desktop.gui.widgets.ruler import Ruler  # noqa: E402
from crossid_desktop.gui.worker import Worker  # noqa: E402
from crossid_desktop.imaging.io import sha256_of_file  # noqa: E402
from crossid_desktop.imaging.spacing import PixelSpacing, SpacingSource  # noqa: E402

TIMEOUT = 30_000


def click(qtbot, view: ImageView, x: float, y: float) -> None:
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(QPointF(x, y)))


@pytest.fixture
def ruler(qtbot):
    view = ImageView()
    view.resize(420, 240)
    ruler = Ruler(view)
    qtbot.addWidget(view)
    qtbot.addWidget(ruler)
    view.show()
    view.set_image(to_qimage(np.zeros((100, 200), np.uint8)))
    ruler.show_image(None)
    return view, ruler


def test_two_clicks_measure_and_calibrate(qtbot, ruler) -> None:
    view, tool = ruler
    tool.place_button.setChecked(True)
    assert not tool.calibrate_button.isEnabled()
    click(qtbot, view, 20, 50)
    with qtbot.waitSignal(tool.pointsChanged, timeout=TIMEOUT):
        click(qtbot, view, 180, 50)
    (x0, y0), (x1, y1) = tool.points()
    assert abs(x0 - 20) < 1.5 and abs(x1 - 180) < 1.5 and abs(y0 - 50) < 1.5 and abs(y1 - 50) < 1.5
    pixels = math.hypot(x1 - x0, y1 - y0)
    assert tool.distance_label.text() == f"{pixels:.1f} px (pixels: the image has no known pixel spacing)"
    tool.known_spin.setValue(16.0)
    with qtbot.waitSignal(tool.calibrated, timeout=TIMEOUT) as blocker:
        qtbot.mouseClick(tool.calibrate_button, Qt.MouseButton.LeftButton)
    calibration = blocker.args[0]
    assert calibration.known_mm == 16.0 and calibration.points == ((x0, y0), (x1, y1))
    assert calibration.spacing.source is SpacingSource.RULER and calibration.spacing.row_mm == pytest.approx(16.0 / pixels)
    assert tool.distance_label.text() == "16.0 mm"
    click(qtbot, view, 20, 20)  # a third click starts a new segment
    assert len(tool.points()) == 1


def test_a_known_spacing_measures_in_millimetres_and_says_where(qtbot, ruler) -> None:
    view, tool = ruler
    tool.set_spacing(PixelSpacing(0.5, 0.5, SpacingSource.DETECTOR, "ImagerPixelSpacing"))
    tool.place(0, 0)
    tool.place(30, 40)
    assert tool.distance_label.text() == "25.0 mm (mm at the detector plane, not corrected for magnification)"


def test_points_too_close_are_refused_in_a_dialog(qtbot, ruler, error_dialogs: list) -> None:
    view, tool = ruler
    tool.place(10, 10)
    tool.place(12, 11)
    with qtbot.assertNotEmitted(tool.calibrated):
        qtbot.mouseClick(tool.calibrate_button, Qt.MouseButton.LeftButton)
    assert len(error_dialogs) == 1 and "pixels apart" in error_dialogs[0].text()


def test_the_query_keeps_the_calibrated_spacing(qtbot, tmp_path: Path) -> None:
    worker = Worker(lambda: None)
    panel = QueryPanel(worker)
    qtbot.addWidget(panel)
    panel.resize(700, 500)
    panel.show()
    path = write_dicom(tmp_path / "ceph.dcm", np.tile(np.linspace(100, 4000, 120), (90, 1)))
    with qtbot.waitSignal(panel.queryLoaded, timeout=TIMEOUT):
        panel.load([path])
    assert panel.images()[0].image.meta.spacing is None
    panel.ruler.place(10, 10)
    panel.ruler.place(110, 10)
    panel.ruler.known_spin.setValue(25.0)
    with qtbot.waitSignal(panel.spacingCalibrated, timeout=TIMEOUT) as blocker:
        panel.ruler.calibrate()
    assert blocker.args[0] == 0
    spacing = panel.images()[0].image.meta.spacing
    assert spacing.source is SpacingSource.RULER and spacing.row_mm == pytest.approx(0.25)
    assert blocker.args[1].spacing == spacing and panel.images()[0].image.sha256 == sha256_of_file(path)  # the same file
    assert worker.shutdown(5_000)
