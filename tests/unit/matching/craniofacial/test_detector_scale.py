"""The X-ray landmark detector's stated deviations brought to its measured error (``DetectorScale``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from craniofacial_world import World

from crossid_desktop.errors import ModelError
from crossid_desktop.evaluation.detector_errors import detector_scales
from crossid_desktop.matching.craniofacial.consistency import Tolerance
from crossid_desktop.matching.craniofacial.model import DetectorScale, predict, skull_points
from crossid_desktop.matching.craniofacial.model_file import CraniofacialModel, load_model, save_model

DETECTOR = "xray-landmarks-test"


def _detected(world: World, rng: np.random.Generator, n: int, stated: float, factors: dict[str, float]) -> tuple[list, list]:
    """``n`` people with their true skull landmarks, and the same X-rays as a detector finds them:
    each point off by a Gaussian error of ``factors[name] * stated`` px per axis, stated as ``stated``."""
    truth, found = [], []
    for i in range(n):
        person = world.person(rng, f"P{i:03d}")
        skull = person.skulls[world.pair.skull_view]
        sd_true = np.array([factors.get(name, 1.0) * stated for name in skull.names])
        moved = skull.xy + rng.normal(size=skull.xy.shape) * sd_true[:, None]
        truth.append(person)
        found.append(replace(person, skulls={skull.view: replace(skull, xy=moved, sd=np.full(len(skull.names), stated), source=DETECTOR)}))
    return found, truth


def test_the_measured_scale_is_the_ratio_of_the_true_error_to_the_stated_one_and_never_narrows(world: World) -> None:
    names = world.pair.skull_names
    factors = {names[0]: 3.0, names[1]: 0.5}  # one point overconfident three times, one twice too cautious, the rest honest
    found, truth = _detected(world, np.random.default_rng(11), 600, 2.0, factors)
    scale = detector_scales(found, truth)[world.pair.skull_view]
    assert scale.detector == DETECTOR and "600 validation X-rays" in scale.source
    assert scale.scales[names[0]] == pytest.approx(3.0, rel=0.08)
    assert scale.scales[names[1]] == 1.0  # too cautious: left as stated (never narrowed)
    assert all(1.0 <= scale.scales[n] <= 1.08 for n in names[2:])


def test_only_the_detectors_own_points_are_scaled_and_the_examiners_stay_exact(world: World, fitted) -> None:
    names = world.pair.skull_names
    scale = DetectorScale(DETECTOR, {names[0]: 4.0, names[1]: 0.25})
    model = replace(fitted.model, detector_scale=scale)
    skull = world.person(np.random.default_rng(5), "Z").skulls[world.pair.skull_view]
    found = replace(skull, sd=np.full(len(skull.names), 2.0), source=DETECTOR)
    _, sd = skull_points(model, found)
    np.testing.assert_allclose(sd, [8.0, 0.5] + [2.0] * (len(names) - 2))
    _, other = skull_points(model, replace(found, source="annotation + simulated error"))
    np.testing.assert_allclose(other, 2.0)  # a simulated error is what it says
    examiner = found.with_point(names[0], float(found.xy[0, 0]) + 1.0, float(found.xy[0, 1]))
    assert skull_points(model, examiner)[1][0] == 0.0  # a point the examiner placed has no deviation to scale
    # a point stated four times less certain weighs less: the prediction's spread grows
    assert np.trace(predict(model, found).cov) > np.trace(predict(fitted.model, found).cov)


def test_the_scales_live_in_the_card_enter_the_fingerprint_and_need_their_xray_models(tmp_path: Path, world: World, fitted, monkeypatch) -> None:
    from crossid_desktop.matching.craniofacial import matcher as matcher_module

    names = world.pair.skull_names
    view = world.pair.skull_view
    models = {view: "xray_landmarks_front.pt 0123456789abcdef; xray_landmarks_front.json 0123456789abcdef"}
    base = {"name": "test-cf", "tolerance": {"set_on": "test"}}
    errors = {view: DetectorScale(DETECTOR, {names[0]: 2.0}, "test").to_dict()}
    plain = save_model(tmp_path / "a.npz", CraniofacialModel({"front": fitted.model}, Tolerance(), dict(base)))
    scaled = save_model(tmp_path / "b.npz", CraniofacialModel({"front": fitted.model}, Tolerance(), {**base, "xray_detector_errors": errors, "xray_models": models}))
    other = save_model(tmp_path / "c.npz", CraniofacialModel({"front": fitted.model}, Tolerance(), {
        **base, "xray_detector_errors": {view: DetectorScale(DETECTOR, {names[0]: 2.5}, "test").to_dict()}, "xray_models": models}))
    assert len({plain.fingerprint, scaled.fingerprint, other.fingerprint}) == 3
    loaded = load_model(tmp_path / "b.npz")
    assert loaded.fingerprint == scaled.fingerprint
    assert loaded.views["front"].detector_scale.scales == {names[0]: 2.0}
    assert load_model(tmp_path / "a.npz").views["front"].detector_scale is None
    monkeypatch.setattr(matcher_module, "xray_models", lambda: dict(models))
    matcher_module.CraniofacialMatcher(loaded)
    monkeypatch.setattr(matcher_module, "xray_models", lambda: {view: "xray_landmarks_front.pt 1111111111111111; xray_landmarks_front.json 0123456789abcdef"})
    with pytest.raises(ModelError, match="other X-ray landmark models than the installed ones.*crossid train-craniofacial --refit"):
        matcher_module.CraniofacialMatcher(loaded)
    matcher_module.CraniofacialMatcher(load_model(tmp_path / "a.npz"))  # no scales: nothing to check


def test_the_x_ray_models_are_checked_where_they_are_installed_and_old_detected_cards_are_refused(tmp_path: Path, world: World, fitted, monkeypatch) -> None:
    from crossid_desktop.matching.craniofacial import matcher as matcher_module

    view = world.pair.skull_view
    models = {view: "xray_landmarks_front.pt 0123456789abcdef; xray_landmarks_front.json 0123456789abcdef"}
    errors = {view: DetectorScale(DETECTOR, {world.pair.skull_names[0]: 2.0}, "test").to_dict()}
    detected = {"landmarks": "every landmark found by the detectors: the X-rays' found by the bundled X-ray landmark detectors (pixel spacing unknown)"}
    base = {"name": "test-cf", "tolerance": {"set_on": "test"}}
    scaled = save_model(tmp_path / "a.npz", CraniofacialModel({"front": fitted.model}, Tolerance(), {**base, "xray_detector_errors": errors, "xray_models": models}))
    monkeypatch.setattr(matcher_module, "xray_models", lambda: {view: "none"})
    matcher_module.CraniofacialMatcher(scaled)  # no X-ray landmark model installed: the queries' landmarks come from elsewhere, unscaled
    old = save_model(tmp_path / "b.npz", CraniofacialModel({"front": fitted.model}, Tolerance(), {**base, "validation": detected}))
    monkeypatch.setattr(matcher_module, "xray_models", lambda: dict(models))
    with pytest.raises(ModelError, match="X-ray landmark models its card does not record.*--refit"):
        matcher_module.CraniofacialMatcher(old)  # validated on detected X-rays before the models were recorded
    simulated = save_model(tmp_path / "c.npz", CraniofacialModel({"front": fitted.model}, Tolerance(), {**base, "validation": {"landmarks": "simulated"}}))
    matcher_module.CraniofacialMatcher(simulated)  # validated on simulated X-ray errors: nothing to check


def test_a_cards_identity_follows_its_settings_not_its_line_endings_or_figures(tmp_path: Path) -> None:
    import json

    from crossid_desktop.matching.craniofacial.measure import card_identity

    card = {"name": "xray-landmarks-side", "anchor_sd": 1.25, "thresholds": {"presence": 0.5}, "metrics": {"tune": 1.5}}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(card, indent=1), encoding="utf-8")
    first = card_identity(path)
    path.write_bytes(json.dumps(card, indent=1, sort_keys=True).replace("\n", "\r\n").encode())
    assert card_identity(path) == first  # a Windows checkout's line endings, another key order
    path.write_text(json.dumps({**card, "metrics": {"tune": 1.4, "held_out": 1.41}}), encoding="utf-8")
    assert card_identity(path) == first  # figures added to the metrics move no point
    path.write_text(json.dumps({**card, "anchor_sd": 1.0}), encoding="utf-8")
    assert card_identity(path) != first and card_identity(path).startswith("model.json ")
    assert card_identity(tmp_path / "absent.json") == "none"
