"""The model on disk: a round trip keeps every prediction, a changed array is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from craniofacial_world import World

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.craniofacial.consistency import Tolerance
from crossid_desktop.matching.craniofacial.features import VIEW_OFFSET, FeatureSpace
from crossid_desktop.matching.craniofacial.model import predict
from crossid_desktop.matching.craniofacial.model_file import CraniofacialModel, load_model, save_model, update_card


def test_round_trip_and_tampering(tmp_path: Path, world: World, fitted) -> None:
    model = CraniofacialModel({"front": fitted.model}, Tolerance(factor=1.7), {"name": "test-cf", "tolerance": {"set_on": "test"}},
                              view_factors={"front": 0.6})
    saved = save_model(tmp_path / "cf.npz", model)
    loaded = load_model(tmp_path / "cf.npz")
    assert loaded.fingerprint == saved.fingerprint and len(saved.fingerprint) == 64
    assert loaded.tolerance.factor == 1.7 and loaded.card["tolerance"]["set_on"] == "test"
    assert loaded.tolerance_of("front").factor == 0.6 and loaded.tolerance_of("side").factor == 1.7  # a view without its own: the overall factor
    update_card(tmp_path / "cf.npz", metrics={"test": {"recall@1": 0.5}})
    assert load_model(tmp_path / "cf.npz").card["metrics"] == {"test": {"recall@1": 0.5}}
    assert load_model(tmp_path / "cf.npz").fingerprint == saved.fingerprint
    skull = world.person(np.random.default_rng(3), "Z").skulls[world.pair.skull_view]
    a, b = predict(fitted.model, skull), predict(loaded.views["front"], skull)
    np.testing.assert_allclose(a.mean, b.mean)
    np.testing.assert_allclose(a.cov, b.cov)
    card = json.loads((tmp_path / "cf.json").read_text())
    card["fingerprint"] = "0" * 64
    (tmp_path / "cf.json").write_text(json.dumps(card))
    with pytest.raises(ModelError):
        load_model(tmp_path / "cf.npz")
    with pytest.raises(ModelError):
        load_model(tmp_path / "missing.npz")


def test_first_stage_distance_tracks_the_misfit(world: World, fitted) -> None:
    model = fitted.model
    space = FeatureSpace({"front": model})
    rng = np.random.default_rng(4)
    people = [world.person(rng, f"F{i}") for i in range(25)]
    photos = np.stack([space.photo_vector(p.photos[world.pair.face_view][0]) for p in people])
    assert np.all(photos[:, -1] == VIEW_OFFSET)
    hits = 0
    for i, person in enumerate(people):
        query = space.query_vector(predict(model, person.skulls[world.pair.skull_view]))
        distance = np.linalg.norm(photos - query, axis=1)
        hits += int(np.argmin(distance) == i)
    assert hits >= 23  # the fast stage already finds nearly everyone in this easy world
    side_photo = np.zeros(space.dim, np.float32)
    side_photo[-1] = -VIEW_OFFSET  # what a profile photo's vector looks like in the last coordinate
    assert np.linalg.norm(side_photo - query) > 1.9 * VIEW_OFFSET


def test_face_models_enter_the_fingerprint_and_a_model_fitted_with_others_is_refused(tmp_path: Path, fitted, monkeypatch) -> None:
    from crossid_desktop.matching.craniofacial import matcher as matcher_module
    from crossid_desktop.matching.craniofacial import measure

    models = {"face-front": "face_landmarks_front.dat 0123456789abcdef", "face-side": "face_landmarks_side.dat fedcba9876543210"}
    errors = {"face-front": {"view": "face-front", "fractions": {}, "default": 0.01, "source": "test"}}
    base = {"name": "test-cf", "tolerance": {"set_on": "test"}}
    assumed = save_model(tmp_path / "a.npz", CraniofacialModel({"front": fitted.model}, Tolerance(), dict(base)))
    recorded = save_model(tmp_path / "b.npz", CraniofacialModel({"front": fitted.model}, Tolerance(),
                                                                {**base, "detector_errors": errors, "face_models": models}))
    unrecorded = save_model(tmp_path / "c.npz", CraniofacialModel({"front": fitted.model}, Tolerance(), {**base, "detector_errors": errors}))
    assert recorded.fingerprint != save_model(tmp_path / "d.npz", CraniofacialModel(
        {"front": fitted.model}, Tolerance(), {**base, "detector_errors": errors, "face_models": {**models, "face-front": "none"}})).fingerprint
    assert load_model(tmp_path / "b.npz").fingerprint == recorded.fingerprint  # galleries measured with other detectors are indexed again
    monkeypatch.setattr(matcher_module, "face_models", lambda: dict(models))
    matcher_module.CraniofacialMatcher(recorded)  # the models it was fitted with: accepted
    matcher_module.CraniofacialMatcher(assumed)  # error profiles assumed, not measured: nothing to check
    with pytest.raises(ModelError, match="before its card recorded the face landmark models"):
        matcher_module.CraniofacialMatcher(unrecorded)
    monkeypatch.setattr(matcher_module, "face_models", lambda: {**models, "face-side": "none"})
    matcher_module.CraniofacialMatcher(recorded)  # a front-only model does not use the profile model
    monkeypatch.setattr(matcher_module, "face_models", lambda: {**models, "face-front": "face_landmarks_front.dat 1111111111111111"})
    with pytest.raises(ModelError, match="face-front: fitted with face_landmarks_front.dat 0123456789abcdef, installed face_landmarks_front.dat 1111"):
        matcher_module.CraniofacialMatcher(recorded)
    monkeypatch.setattr(matcher_module, "face_models", lambda: {**models, "face-front": "none"})
    with pytest.raises(ModelError, match="is missing .*install the application again"):
        matcher_module.CraniofacialMatcher(recorded)
    # the identity of an installed model follows its bytes
    first = tmp_path / "m.dat"
    first.write_bytes(b"one")
    one = measure.file_identity(first)
    first.write_bytes(b"two, longer")
    assert measure.file_identity(first) != one and one.startswith("m.dat ")
    assert measure.file_identity(tmp_path / "absent.dat") == "none"


def test_the_likelihood_ratio_bound_is_in_the_card_and_the_fingerprint(tmp_path: Path, fitted) -> None:
    """The bound is saved, read back, enters the fingerprint (another bound is another model), and
    a card stating an impossible one is refused."""
    base = {"name": "test-cf", "tolerance": {"set_on": "test"}}
    none = save_model(tmp_path / "a.npz", CraniofacialModel({"front": fitted.model}, Tolerance(), dict(base)))
    bound = save_model(tmp_path / "b.npz", CraniofacialModel({"front": fitted.model}, Tolerance(lr_limit=0.01), dict(base)))
    assert none.fingerprint != bound.fingerprint
    assert load_model(tmp_path / "b.npz").tolerance.lr_limit == 0.01
    assert load_model(tmp_path / "b.npz").tolerance_of("front").lr_limit == 0.01
    assert load_model(tmp_path / "a.npz").tolerance.lr_limit is None
    older = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    del older["tolerance"]["lr_limit"]  # a card written before the bound existed: the same model, the tolerance alone
    (tmp_path / "a.json").write_text(json.dumps(older), encoding="utf-8")
    assert load_model(tmp_path / "a.npz").fingerprint == none.fingerprint and load_model(tmp_path / "a.npz").tolerance.lr_limit is None
    card = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    card["tolerance"]["lr_limit"] = 0.02  # changed by hand: the fingerprint no longer matches
    (tmp_path / "b.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(tmp_path / "b.npz")
    for bad in (0.0, 1.0, -0.5, "0.01", True):
        card["tolerance"]["lr_limit"] = bad
        card.pop("fingerprint", None)
        (tmp_path / "b.json").write_text(json.dumps(card), encoding="utf-8")
        with pytest.raises(ModelError, match="lr_limit"):
            load_model(tmp_path / "b.npz")
