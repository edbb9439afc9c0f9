"""The compare view: synchronised zoom, the overlay's alpha blend checked pixel by pixel against
a blend computed here, and opening it from a search in the real window."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QGraphicsPixmapItem, QSlider, QTabWidget, QWidget  # noqa: E402

from crossid_desktop.gui.images import from_qimage  # noqa: E402
from crossid_desktop.gui.job_results import ComparePair
from crossid_desktop.gui.widgets.compare_view import CompareView  # noqa: E402
from crossid_desktop.gui.widgets.image_view import ImageView  # noqa: E402
from crossid_desktop.gui.worker import Worker  # noqa: E402
from crossid_desktop.matching.base import QueryModality  # noqa: E402

SIDE = 100


@pytest.fixture
def view(qtbot):
    worker = Worker(lambda: None)
    widget = CompareView(worker=worker)
    qtbot.addWidget(widget)
    widget.resize(1000, 600)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    assert worker.shutdown(5_000)


def _pair(*, is_xray: bool = False) -> ComparePair:
    rng = np.random.default_rng(3)
    face = rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    query = rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    return ComparePair(query, face, is_xray, "query", "face")


def _shown(view: ImageView) -> np.ndarray:
    """The pixels the view displays (its pixmap item), RGB uint8."""
    [item] = [i for i in view.scene().items() if isinstance(i, QGraphicsPixmapItem)]
    return from_qimage(item.pixmap().toImage())


def _wheel(view: ImageView, steps_up: int) -> None:
    centre = QPointF(view.viewport().rect().center())
    for _ in range(steps_up):
        event = QWheelEvent(centre, QPointF(view.viewport().mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(view.viewport(), event)


def test_zooming_one_side_zooms_the_other(view: CompareView) -> None:
    view.show_pair(_pair())
    query = view.findChild(ImageView, "compareQueryView")
    face = view.findChild(ImageView, "compareFaceView")
    assert query.viewport().size() == face.viewport().size()
    _wheel(query, 3)
    assert query.zoom == pytest.approx(1.25**3)
    assert face.zoom == query.zoom
    assert face.transform().m11() == pytest.approx(query.transform().m11())
    assert face.transform().m22() == pytest.approx(query.transform().m22())
    assert face.relative_centre() == pytest.approx(query.relative_centre(), abs=0.02)
    face.horizontalScrollBar().setValue(face.horizontalScrollBar().minimum())  # pan the other side
    assert query.relative_centre()[0] == pytest.approx(face.relative_centre()[0], abs=0.02)
    assert query.relative_centre()[0] < 0.5
    zoom = query.zoom
    view.findChild(QSlider, "overlayOpacity").setValue(80)  # recomposing the overlay keeps the view
    assert (query.zoom, face.zoom, view.findChild(ImageView, "compareOverlayView").zoom) == (zoom, zoom, zoom)


def test_overlay_opacity_blends_as_computed(qtbot, view: CompareView) -> None:
    pair = _pair()
    view.show_pair(pair)
    view.findChild(QTabWidget, "compareModes").setCurrentIndex(1)
    opacity = view.findChild(QSlider, "overlayOpacity")
    overlay = view.findChild(ImageView, "compareOverlayView")
    face, query = pair.face.astype(np.float64), pair.query.astype(np.float64)
    for value in (0, 30, 100):
        with qtbot.waitSignal(view.overlayUpdated, timeout=2_000):
            opacity.setValue(value if value != opacity.value() else value + 1)
            if opacity.value() != value:
                opacity.setValue(value)
        a = value / 100.0
        expected = np.rint((1.0 - a) * face + a * query)
        shown = _shown(overlay).astype(np.float64)
        assert shown[17, 42].tolist() == expected[17, 42].tolist()
        assert np.abs(shown - expected).max() <= 1.0  # rounding of halves only
    # an offset of 10 % of the 100 px crop moves the query 10 px right; uncovered pixels stay the face's
    opacity.setValue(50)
    with qtbot.waitSignal(view.overlayUpdated, timeout=2_000):
        view.findChild(QSlider, "overlayOffsetX").setValue(10)
    shown = _shown(overlay).astype(np.float64)
    assert shown[:, :10].tolist() == face[:, :10].tolist()
    expected = np.rint(0.5 * face[:, 10:] + 0.5 * query[:, :-10])
    assert np.abs(shown[:, 10:] - expected).max() <= 1.0
    assert "registration" in overlay.toolTip() and "not reliable" in overlay.toolTip()


def test_xray_overlay_places_the_skull_by_proportions(view: CompareView) -> None:
    """A skull block 40 px broad over a 100 px crop: scaled to 70 px, centred, its bottom (not the
    neck's) at the chin."""
    xray = np.zeros((200, 120), np.float32)
    xray[50:150, 40:80] = 1.0  # "skull": columns 40-79, rows 50-149
    xray[150:200, 56:64] = 1.0  # "neck": narrow, not part of the skull's placement
    face = np.zeros((SIDE, SIDE, 3), np.uint8)
    view.show_pair(ComparePair(xray, face, True, "x-ray", "face"))
    view.findChild(QSlider, "overlayOpacity").setValue(100)
    shown = view.overlay_pixels()[:, :, 0]
    cols = np.nonzero(shown[60] > 128)[0]
    assert cols.min() == pytest.approx(15, abs=2) and cols.max() == pytest.approx(84, abs=2)  # 70 px, centred
    rows = np.nonzero(shown[:, 50] > 128)[0]
    assert rows.max() == pytest.approx(97, abs=2)  # the chin level, 0.98 of the crop


def test_compare_opens_from_a_candidate_card(qtbot, window, tiny) -> None:
    subject = tiny.photo_subjects[3]
    with qtbot.waitSignal(window.searchFinished, timeout=60_000):
        window.load_query([str(tiny.photo(subject))], modalities=[QueryModality.INJURED_FACE], search=True)
    card = window.candidates.cards()[0]
    views: list[QWidget] = []
    with qtbot.waitSignal(window.worker.jobFinished, timeout=30_000):
        qtbot.mouseDClick(card, Qt.MouseButton.LeftButton)
        views = [w for w in QApplication.topLevelWidgets() if w.objectName() == "compareView" and w.isVisible()]
        assert views
    compare = views[-1]
    qtbot.waitUntil(lambda: compare.findChild(ImageView, "compareFaceView").has_image(), timeout=10_000)
    assert compare.findChild(ImageView, "compareQueryView").image_size() == (256, 256)
    assert card.candidate.subject_id in compare.face_caption.text()
    compare.close()
