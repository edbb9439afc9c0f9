"""The mask of unreliable regions over the aligned face: the brush stamps a disc (checked
against a plain loop), marking and clearing by dragging on the view, the overlay toggle, and
the query panel's questions about a photo without a face or with several faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from crossid_desktop.gui.widgets.face_chooser import CentreCropQuestion, FaceChooser  # noqa: E402
from crossid_desktop.gui.widgets.image_view import ImageView  # noqa: E402
from crossid_desktop.gui.widgets.mask_editor import MaskEditor, stamp  # noqa: E402
from crossid_desktop.gui.widgets.query_panel import QueryPanel  # noqa: E402
from crossid_desktop.gui.worker import Worker  # noqa: E402
from crossid_desktop.matching.preprocess import CENTRE_CROP_WARNING  # noqa: E402

TIMEOUT = 90_000  # face detection in the worker; slow on a loaded CPU


def test_a_stamp_sets_the_pixels_whose_centres_lie_in_the_disc() -> None:
    mask = np.zeros((20, 30), bool)
    stamp(mask, 10.2, 7.7, 3.5, True)
    expected = np.zeros_like(mask)
    for y in range(20):
        for x in range(30):
            expected[y, x] = (x + 0.5 - 10.2) ** 2 + (y + 0.5 - 7.7) ** 2 <= 3.5**2
    assert np.array_equal(mask, expected) and mask.sum() > 30
    stamp(mask, 10.2, 7.7, 2.0, False)
    assert not mask[7, 10] and mask[7, 13]
    stamp(mask, -50, -50, 3, True)  # outside: nothing happens
    assert mask.sum() == expected.sum() - (expected & ~mask).sum()


@pytest.fixture
def editor(qtbot):
    view = ImageView()
    view.resize(300, 300)
    image = QImage(256, 256, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.gray)
    view.set_image(image)
    widget = MaskEditor(view)
    qtbot.addWidget(view)
    qtbot.addWidget(widget)
    view.show()
    return view, widget


def test_the_detected_mask_is_drawn_and_can_be_hidden(qtbot, editor) -> None:
    view, widget = editor
    detected = np.zeros((256, 256), bool)
    detected[100:140, 60:120] = True
    widget.set_mask(detected, "detected")
    assert view.has_mask_overlay() and "injury segmenter" in widget.summary.text()
    assert f"{100 * detected.mean():.1f} %" in widget.summary.text()
    assert not widget.reset_button.isEnabled()  # nothing edited yet
    widget.show_box.setChecked(False)
    assert not view.has_mask_overlay() and widget.mask() is not None
    widget.show_box.setChecked(True)
    assert view.has_mask_overlay()


def test_without_a_segmenter_the_empty_mask_invites_the_brush(qtbot, editor) -> None:
    view, widget = editor
    widget.set_mask(np.zeros((256, 256), bool), "detected")  # a recipe without a segmenter
    assert widget.isEnabled() and "Nothing is left out" in widget.summary.text() and "segmenter" not in widget.summary.text()
    assert not widget.reset_button.isEnabled()
    widget.paint(128, 128, mark=True)
    assert widget.mask()[128, 128] and widget.source() == "examiner" and "examiner's brush" in widget.summary.text()


def test_dragging_the_brush_marks_and_clears_the_mask(qtbot, editor) -> None:
    view, widget = editor
    widget.set_mask(np.zeros((256, 256), bool), "detected")
    widget.size_box.setValue(8)
    widget.mark_button.setChecked(True)
    start, end = QPointF(40, 200), QPointF(90, 200)  # crop pixels
    with qtbot.waitSignal(widget.maskEdited, timeout=TIMEOUT):
        viewport = view.viewport()
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=view.mapFromScene(start))
        for t in np.linspace(0, 1, 12):
            qtbot.mouseMove(viewport, view.mapFromScene(start + (end - start) * float(t)))
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=view.mapFromScene(end))
    mask = widget.mask()
    assert mask[200, 45] and mask[200, 85] and not mask[150, 60] and not mask[200, 120]
    assert widget.source() == "examiner" and widget.reset_button.isEnabled()
    widget.clear_button.setChecked(True)
    assert not widget.mark_button.isChecked()  # one brush at a time
    widget.paint(65, 200, mark=False)
    assert not widget.mask()[200, 65] and widget.mask()[200, 45]


@pytest.fixture
def panel(qtbot):
    worker = Worker(lambda: None)
    widget = QueryPanel(worker)
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    widget.show()
    yield widget
    assert worker.shutdown(5_000)


def test_a_photo_without_a_face_asks_before_its_centre_is_searched(qtbot, panel: QueryPanel, tmp_path: Path) -> None:
    import cv2

    picture = tmp_path / "nothing.png"
    cv2.imwrite(str(picture), cv2.resize(np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8), (160, 120)))
    with qtbot.waitSignal(panel.previewReady, timeout=TIMEOUT):
        panel.load([picture], modalities=None)
    question = panel.open_dialog()
    assert isinstance(question, CentreCropQuestion) and question.isVisible()
    assert not panel.processed_view.has_image() and "No face" in panel.note_label.text()
    with qtbot.waitSignal(panel.previewReady, timeout=TIMEOUT):
        question.button(QMessageBox.StandardButton.Yes).click()
    assert panel.images()[0].choice.allow_centre_crop and panel.processed_view.image_size() == (256, 256)
    assert CENTRE_CROP_WARNING in panel.note_label.text() and panel.open_dialog() is None


def test_a_photo_of_two_people_asks_which_face(qtbot, panel: QueryPanel, tmp_path: Path, shared_data: Path) -> None:
    import cv2

    folder = shared_data / "faces" / "lfw_dev"
    a = cv2.imread(str(sorted((folder / "Angelina_Jolie").glob("*.jpg"))[0]))
    b = cv2.imread(str(sorted((folder / "Bill_Clinton").glob("*.jpg"))[0]))[::2, ::2]
    both = np.full((250, 250 + b.shape[1], 3), 128, np.uint8)
    both[:, :250], both[60:60 + b.shape[0], 250:] = a, b
    path = tmp_path / "two.png"
    cv2.imwrite(str(path), both)
    with qtbot.waitSignal(panel.previewReady, timeout=TIMEOUT):
        panel.load([path])
    chooser = panel.open_dialog()
    assert isinstance(chooser, FaceChooser) and panel.original_view.overlay_count() == 4  # two boxes, two numbers
    chooser.findChild(type(chooser.group.button(2)), "face2").setChecked(True)
    with qtbot.waitSignal(panel.previewReady, timeout=TIMEOUT):
        chooser.accept()
    assert panel.images()[0].choice.face == 2 and "face 2 of 2" in panel.note_label.text()
    assert panel.processed_view.image_size() == (256, 256)
