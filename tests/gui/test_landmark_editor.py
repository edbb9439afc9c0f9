"""The landmark editor in the real window: landmarks drawn on the query X-ray (toggle), a point
dragged with the mouse becomes a correction kept until a case exists, then stored with the case
and logged in its audit trail; a reset goes the same way; a reopened image shows the case's
correction."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton  # noqa: E402

from crossid_desktop.cases import CaseService  # noqa: E402
from crossid_desktop.cases.landmarks import CaseLandmarks  # noqa: E402
from crossid_desktop.gui.widgets.case_panel import CasePanel  # noqa: E402
from crossid_desktop.gui.widgets.landmark_editor import LandmarkEditor  # noqa: E402
from crossid_desktop.matching.base import QueryModality  # noqa: E402
from crossid_desktop.matching.landmarks.service import bundled_model  # noqa: E402

pytestmark = pytest.mark.skipif(not bundled_model("xray-side").is_file(), reason="the bundled landmark model is absent")
TIMEOUT = 60_000


def _drag(view, start: QPoint, end: QPoint) -> None:
    """Press, move and release the left button on the view's viewport (view coordinates)."""
    viewport = view.viewport()
    for kind, pos, buttons in ((QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton),
                               (QEvent.Type.MouseMove, (start + end) / 2, Qt.MouseButton.LeftButton),
                               (QEvent.Type.MouseMove, end, Qt.MouseButton.LeftButton),
                               (QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)):
        button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
        event = QMouseEvent(kind, QPointF(pos), QPointF(viewport.mapToGlobal(pos)), button, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)


def test_drag_correct_record_and_reset(qtbot, window, tiny) -> None:
    editor = window.findChild(LandmarkEditor, "landmarkEditor")
    assert editor is not None
    with qtbot.waitSignal(window.query_panel.queryLoaded, timeout=TIMEOUT):
        window.load_query([str(tiny.xrays(tiny.cohort.subject_ids[0])[1])], modalities=[QueryModality.XRAY_SIDE])
    with qtbot.waitSignal(editor.landmarksShown, timeout=TIMEOUT) as shown:
        editor.toggle.setChecked(True)
    result = shown.args[0]
    found = [p for p in result.landmarks if not p.missing]
    assert found and all(editor.layer.marker(p.name).isVisible() for p in found)

    view = window.query_panel.original_view
    point = found[0]
    marker = editor.layer.marker(point.name)
    start = view.mapFromScene(marker.pos())
    with qtbot.waitSignal(editor.layer.pointMoved, timeout=5_000) as moved:
        _drag(view, start, start + QPoint(12, 7))
    name, x, y = moved.args
    assert name == point.name and (x, y) != (point.x, point.y)
    sha = window.query_panel.images()[0].image.sha256
    shown_now = editor.landmarks(sha, "xray-side").point(name)
    assert shown_now.corrected and (shown_now.x, shown_now.y) == (x, y)
    assert editor.pending() == 1  # no case yet: kept

    panel = window.findChild(CasePanel, "casePanel")
    panel.findChild(QLineEdit, "caseNumberEdit").setText("LM-1")
    with qtbot.waitSignal(editor.correctionsRecorded, timeout=TIMEOUT):
        panel.findChild(QPushButton, "newCaseButton").click()
    assert editor.pending() == 0
    cases = CaseService(tiny.workspace)
    stored = CaseLandmarks(cases).corrections("LM-1", sha, "xray-side")
    assert [(c.name, round(c.x, 3), round(c.y, 3)) for c in stored] == [(name, round(x, 3), round(y, 3))]
    assert stored[0].detected == pytest.approx((point.x, point.y))
    assert cases.audit_log("LM-1")[-1].action == "landmark_corrected" and cases.verify("LM-1").ok

    with qtbot.waitSignal(editor.correctionsRecorded, timeout=TIMEOUT):
        editor.layer.resetRequested.emit(name)
    assert not editor.landmarks(sha, "xray-side").point(name).corrected
    assert CaseLandmarks(cases).corrections("LM-1") == [] and cases.audit_log("LM-1")[-1].action == "landmark_reset"

    # a correction made with the case open is stored at once, and comes back when the image is opened again
    marker = editor.layer.marker(point.name)
    start = view.mapFromScene(marker.pos())
    with qtbot.waitSignal(editor.correctionsRecorded, timeout=TIMEOUT):
        _drag(view, start, start + QPoint(-9, 5))
    corrected = editor.landmarks(sha, "xray-side").point(name)
    with qtbot.waitSignal(editor.landmarksShown, timeout=TIMEOUT) as shown:
        window.load_query([str(tiny.xrays(tiny.cohort.subject_ids[0])[1])], modalities=[QueryModality.XRAY_SIDE])
    again = shown.args[0].point(name)
    assert again.corrected and (round(again.x, 3), round(again.y, 3)) == (round(corrected.x, 3), round(corrected.y, 3))

    editor.toggle.setChecked(False)
    assert editor.layer.marker(point.name) is None
