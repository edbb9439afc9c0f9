"""The automatic skull-face overlay panel and the consistency badge, on the simulated world."""

from __future__ import annotations

import numpy as np
import pytest
from craniofacial_world import make_world

from crossid_desktop.gui.widgets.consistency_badge import ConsistencyBadge, badge_text
from crossid_desktop.gui.widgets.skull_face_overlay import SkullFaceOverlayPanel
from crossid_desktop.matching.craniofacial.assess import assess_photo
from crossid_desktop.matching.craniofacial.consistency import Tolerance, judge_photo
from crossid_desktop.matching.craniofacial.fit import FitSettings, fit_view_model
from crossid_desktop.matching.craniofacial.geometry import IDENTITY
from crossid_desktop.matching.craniofacial.model import predict
from crossid_desktop.matching.craniofacial.overlay import correspondence_table
from crossid_desktop.search.xray_overlay import CandidateOverlay, overlay_geometry


@pytest.fixture(scope="module")
def overlay() -> CandidateOverlay:
    world = make_world(seed=4)
    rng = np.random.default_rng(1)
    model = fit_view_model(world.pair, [world.person(rng, f"T{i}", photos=2) for i in range(100)], FitSettings(ridge=0.01)).model
    person = world.person(rng, "P")
    prediction = predict(model, person.skulls[world.pair.skull_view])
    fit = assess_photo(model, prediction, person.photos[world.pair.face_view][0])
    face, xray = np.full((256, 256, 3), 90, np.uint8), np.zeros((300, 300), np.float32)
    geometry = overlay_geometry(prediction, fit, 256, 300, xray_mirrored=False, photo_mirrored=False, adjustment=IDENTITY)
    table = tuple(correspondence_table(prediction, fit, Tolerance()))
    return CandidateOverlay("P", "front", 7, face, xray, prediction, fit, geometry, table, judge_photo(fit, Tolerance()))


def test_panel_shows_the_table_and_records_a_hand_adjustment(qtbot, overlay: CandidateOverlay) -> None:
    panel = SkullFaceOverlayPanel()
    qtbot.addWidget(panel)
    panel.show_overlay(overlay)
    assert panel.table.rowCount() == len(overlay.table)
    assert "consistent" in panel.statement.text() and "millimetres" in panel.statement.text()
    assert not panel.record_button.isEnabled()
    before = panel.picture()
    panel.dx.setValue(6.0)
    assert panel.record_button.isEnabled()
    assert not np.array_equal(before, panel.picture())
    with qtbot.waitSignal(panel.adjustmentRecorded) as recorded:
        panel.record_button.click()
    details = recorded.args[0]
    assert details["shift_px"] == [6.0, 0.0] and details["subject_id"] == "P" and details["image_id"] == 7
    assert details["matrix"][0][2] == pytest.approx(6.0)
    panel.reset()
    np.testing.assert_array_equal(panel.picture(), before)


def test_the_panel_says_the_persons_exclusion_under_a_photo_that_does_not_exclude(qtbot, overlay: CandidateOverlay) -> None:
    panel = SkullFaceOverlayPanel()
    qtbot.addWidget(panel)
    assert overlay.verdict.status == "consistent"
    for basis in ("likelihood ratio", "tolerance"):  # excluded by the bound, or by the other X-ray's view: said under this photo's verdict
        panel.show_overlay(overlay, {"status": "inconsistent", "basis": basis, "statement": "The face is not consistent with the skull: ... 1 : 250 ..."})
        text = panel.statement.text()
        assert "Overall decision for this candidate:</b> The face is not consistent" in text and "1 : 250" in text and overlay.verdict.sentence() in text
    for person in ({"status": "consistent"}, None):
        panel.show_overlay(overlay, person)
        assert "Overall decision" not in panel.statement.text()


def test_badge_words() -> None:
    assert badge_text({"status": "consistent"}) == "skull: consistent"
    assert badge_text({"status": "inconsistent", "excluding": ["zygion_soft_left"]}) == "skull: inconsistent (zygion soft left)"
    assert badge_text({"status": "inconsistent", "excluding": ["nasion_soft"], "basis": "likelihood ratio"}) == (
        "skull: inconsistent (by likelihood ratio: nasion soft)")
    from crossid_desktop.cli.commands.search import _verdict  # the command line's few words say the ground too

    assert _verdict({"status": "inconsistent", "excluding": ["a", "b", "c", "d"], "basis": "tolerance"}) == "inconsistent (a, b, c)"
    assert _verdict({"status": "inconsistent", "excluding": ["a"], "basis": "likelihood ratio"}) == "inconsistent (likelihood ratio below the bound: a)"
    assert "no frontal photo" in badge_text({"status": "not assessable", "reasons": ["no frontal photo"]})


def test_badge_hidden_without_a_record(qtbot) -> None:
    badge = ConsistencyBadge(None)
    qtbot.addWidget(badge)
    assert badge.isHidden()
    shown = ConsistencyBadge({"status": "inconsistent", "excluding": ["gonion_soft_right"], "statement": "The face is not consistent..."})
    qtbot.addWidget(shown)
    assert shown.property("status") == "inconsistent" and shown.toolTip().startswith("The face is not")


def test_the_summary_and_the_command_line_name_a_point_set_aside(capsys: pytest.CaptureFixture[str]) -> None:
    from crossid_desktop.cli.commands.search import _print_craniofacial
    from crossid_desktop.gui.widgets.candidates_panel import craniofacial_summary

    record = {"queries": [{"view": "front", "problem": None, "unit": "px", "set_aside": ["euryon_left"], "landmarks": {"source": "xray-landmarks-front"}},
                          {"view": "side", "problem": None, "unit": "px", "set_aside": [], "landmarks": {"source": "xray-landmarks-side"}}],
              "not_assessed": []}
    summary = craniofacial_summary(record)
    assert "frontal X-ray: skull landmarks from xray-landmarks-front; <b>left out as not fitting the others:</b> euryon left." in summary
    assert "lateral X-ray: skull landmarks from xray-landmarks-side." in summary
    _print_craniofacial(record)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["front X-ray: skull landmarks from xray-landmarks-front; euryon left left out as not fitting the others; residuals in px",
                     "side X-ray: skull landmarks from xray-landmarks-side; residuals in px"]
