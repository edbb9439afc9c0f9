"""The skull-face overlay and the correspondence table on the simulated world."""

from __future__ import annotations

import numpy as np
import pytest
from craniofacial_world import World, depth_of

from crossid_desktop.matching.craniofacial.assess import assess_photo
from crossid_desktop.matching.craniofacial.consistency import Tolerance, judge_photo
from crossid_desktop.matching.craniofacial.geometry import Similarity
from crossid_desktop.matching.craniofacial.model import predict
from crossid_desktop.matching.craniofacial.overlay import build_overlay, correspondence_table
from crossid_desktop.matching.craniofacial.points import Landmarks


def _case(world: World, fitted, seed: int):
    rng = np.random.default_rng(seed)
    person = world.person(rng, "O")
    model = fitted.model
    skull = person.skulls[world.pair.skull_view]
    prediction = predict(model, skull)
    photo = person.photos[world.pair.face_view][0]
    return skull, photo, prediction, assess_photo(model, prediction, photo)


def test_the_xray_lands_on_the_photo_at_tissue_depth(world: World, fitted) -> None:
    skull, _, prediction, fit = _case(world, fitted, 11)
    overlay = build_overlay(prediction, fit)
    # the warp carries the X-ray's own skull points to where the overlay draws them
    np.testing.assert_allclose(overlay.xray_to_photo.apply(skull.xy), overlay.skull, atol=0.5)
    px_per_mm = 1.0 / fit.registration.scale  # photo pixels per canonical mm (about mm of this skull)
    for c in world.pair.correspondences:
        skull_point = overlay.skull[world.pair.skull_names.index(c.skull)]
        skin = np.asarray(overlay.measured[c.face])
        gap_mm = np.hypot(*(skin - skull_point)) / px_per_mm
        assert gap_mm == pytest.approx(depth_of(c), abs=3.5 * world.tissue_sd + 1.0), c.face
    assert overlay.reliable and overlay.note is None
    moved = build_overlay(prediction, fit, adjustment=Similarity(1.0, 0.0, 5.0, -3.0))
    np.testing.assert_allclose(moved.skull - overlay.skull, np.tile([5.0, -3.0], (len(overlay.skull), 1)), atol=1e-9)
    assert moved.measured == overlay.measured


def test_table_agrees_with_the_verdict(world: World, fitted) -> None:
    _, photo, prediction, fit = _case(world, fitted, 12)
    tolerance = Tolerance()
    rows = correspondence_table(prediction, fit, tolerance)
    assert [r.landmark for r in rows] == list(fit.names)
    assert all(r.unit == "mm" and r.tolerance > 0 for r in rows)
    assert all(r.within == (d <= tolerance.point_limit()) for r, d in zip(rows, fit.point_misfit))
    row = photo.names.index("gonion_soft_left")
    xy = photo.xy.copy()
    xy[row, 0] += 25.0 / fit.registration.scale * (1.0 / 1.0)
    moved = assess_photo(fitted.model, prediction, Landmarks(photo.view, photo.names, xy, photo.sd, "test"))
    table = {r.landmark: r for r in correspondence_table(prediction, moved, tolerance)}
    verdict = judge_photo(moved, tolerance)
    assert not table["gonion_soft_left"].within and "gonion_soft_left" in verdict.excluding
    assert table["gonion_soft_left"].residual > table["gonion_soft_left"].tolerance
