"""The query panel: modality guessed and corrected, previews computed off the GUI thread at the
slider's strength (a superseded request never reaches the screen), faces drawn on photos, and
the two views zoomed together."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from crossid_desktop.gui.images import from_qimage
from crossid_desktop.gui.widgets.query_panel import QueryPanel
from crossid_desktop.gui.worker import Worker
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.paths import resource_path

TIMEOUT = 30_000


@pytest.fixture
def panel(qtbot):
    worker = Worker(lambda: None)
    widget = QueryPanel(worker, strength_percent=50)
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    widget.show()
    yield widget
    assert worker.shutdown(5_000)


@pytest.fixture
def xray_file(tmp_path: Path) -> Path:
    """A left-right symmetric greyscale 'skull': a bright ring in a dimmer disc, on air."""
    import cv2

    y, x = np.mgrid[0:160, 0:160]
    r = np.hypot(x - 80, y - 80)
    image = np.where(r < 60, 90, 10) + np.where(np.abs(r - 50) < 6, 140, 0)
    path = tmp_path / "skull.png"
    cv2.imwrite(str(path), image.astype(np.uint8))
    return path


def open_query(qtbot, panel: QueryPanel, paths) -> None:
    with qtbot.waitSignal(panel.previewReady, timeout=TIMEOUT):
        with qtbot.waitSignal(panel.queryLoaded, timeout=TIMEOUT):
            panel.load(paths)


def test_xray_preview_follows_the_slider_and_a_superseded_request_is_dropped(qtbot, panel: QueryPanel, xray_file: Path) -> None:
    from crossid_desktop.imaging.io import load_image
    from crossid_desktop.imaging.xray import SoftTissueParams, suppress_soft_tissue

    open_query(qtbot, panel, [xray_file])
    assert panel.images()[0].modality == QueryModality.XRAY_FRONT  # symmetric greyscale
    assert panel.strength_slider.isEnabled()
    shown: list[int] = []
    panel.previewReady.connect(shown.append)
    panel.strength_slider.setValue(20)
    older = panel.request_preview()  # the request made by the slider is this one's predecessor
    with qtbot.waitSignal(panel.previewReady, timeout=TIMEOUT, check_params_cb=lambda job: job == older + 1):
        panel.strength_slider.setValue(90)
    assert shown == [older + 1]  # neither older request reached the screen
    grey = load_image(xray_file).grey_float()
    card = json.loads(resource_path("models", "skull2face.json").read_text(encoding="utf-8"))["preprocessing"]["query"]["soft_tissue"]
    ratio = 0.9 / card["strength"]  # the bundled matcher's parameters moved to the slider's strength
    moved = SoftTissueParams(strength=0.9, amount=0.99, soft_ceiling=card["soft_ceiling"] * ratio, knee=card["knee"] * ratio, lift=card["lift"] * ratio)
    expected = np.round(suppress_soft_tissue(grey, moved) * 255).astype(np.uint8)
    shown_pixels = from_qimage(panel.processed_view.image())[:, :, 0]
    assert np.array_equal(shown_pixels, expected)
    weaker = np.round(suppress_soft_tissue(grey, SoftTissueParams(strength=0.2)) * 255).astype(np.uint8)
    assert not np.array_equal(shown_pixels, weaker)
    assert panel.strength_label.text() == "0.90"


def test_the_views_zoom_and_pan_together(qtbot, panel: QueryPanel, xray_file: Path) -> None:
    open_query(qtbot, panel, [xray_file])
    original, processed = panel.original_view, panel.processed_view
    centre = original.viewport().rect().center()
    for _ in range(3):
        event = QWheelEvent(QPointF(centre), QPointF(original.viewport().mapToGlobal(centre)), QPoint(0, 0), QPoint(0, 120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(original.viewport(), event)
    assert original.zoom == pytest.approx(1.25**3)
    assert processed.zoom == pytest.approx(original.zoom)
    original.horizontalScrollBar().setValue(original.horizontalScrollBar().maximum())  # pan to the right edge
    assert processed.relative_centre() == pytest.approx(original.relative_centre(), abs=0.02)
    assert original.relative_centre()[0] > 0.6


def test_a_face_photo_shows_its_detections_and_the_modality_can_be_corrected(qtbot, panel: QueryPanel, shared_data: Path) -> None:
    from crossid_desktop.imaging.faces import detect_faces
    from crossid_desktop.imaging.io import load_image

    photo = sorted((shared_data / "faces" / "lfw_dev").glob("*/*.jpg"))[0]
    open_query(qtbot, panel, [photo])
    assert panel.images()[0].modality == QueryModality.INJURED_FACE
    assert not panel.strength_slider.isEnabled()  # no soft tissue to suppress on a photo
    faces = detect_faces(load_image(photo).rgb_uint8())
    assert faces, "the reference detector finds the LFW face"
    expected = len(faces) + sum(len(f.landmarks) for f in faces if f.landmarks is not None)
    assert panel.original_view.overlay_count() == expected
    assert panel.processed_view.image_size() == (256, 256)  # the canonical aligned crop
    with qtbot.waitSignal(panel.previewReady, timeout=TIMEOUT):
        panel.modality_combo.setCurrentIndex(panel.modality_combo.findData(QueryModality.XRAY_SIDE.value))
        panel.modality_combo.activated.emit(panel.modality_combo.currentIndex())
    assert panel.images()[0].modality == QueryModality.XRAY_SIDE and panel.images()[0].guessed == QueryModality.INJURED_FACE
    assert panel.strength_slider.isEnabled() and panel.original_view.overlay_count() == 0
