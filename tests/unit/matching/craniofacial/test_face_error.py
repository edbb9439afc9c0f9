"""The face detectors' measured error covariance (``FaceError``): measured, used for their photos only, kept in the card."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from craniofacial_world import World

from crossid_desktop.errors import ModelError
from crossid_desktop.evaluation.craniofacial_scores import view_scores
from crossid_desktop.evaluation.detector_errors import cross_fitted_face_errors, face_errors
from crossid_desktop.matching.craniofacial.assess import QueryContext
from crossid_desktop.matching.craniofacial.consistency import Tolerance
from crossid_desktop.matching.craniofacial.geometry import design, fit_similarity, fit_similarity_gls
from crossid_desktop.matching.craniofacial.model import FaceError, predict
from crossid_desktop.matching.craniofacial.model_file import CraniofacialModel, load_model, save_model, update_card

DETECTOR = "face detector under test"


def _block_covariance(world: World, block: int, slide: float, jitter: float) -> np.ndarray:
    """A detector's error covariance in the canonical frame: the first ``block`` points slide
    together along x by ``slide`` (sd), every coordinate also moves on its own by ``jitter``."""
    m = len(world.pair.face_names)
    shared = np.zeros(2 * m)
    shared[0 : 2 * block : 2] = 1.0
    return slide**2 * np.outer(shared, shared) + jitter**2 * np.eye(2 * m)


def _found(world: World, model, person, cov: np.ndarray, rng: np.random.Generator, source: str = DETECTOR, whole: bool = False):
    """The person's photos as the detector finds them: an error drawn from ``cov`` in the
    canonical frame, carried into each photo by the similarity that registers it there; with
    ``whole``, the detector also misjudges the whole face's place, size and turn (a similarity
    of a few pixels, per cent and degrees), which a registration takes up."""
    view = world.pair.face_view
    shots = []
    for photo in person.photos[view]:
        to_frame = fit_similarity(photo.xy, model.face_mean)
        error = rng.multivariate_normal(np.zeros(len(cov)), cov).reshape(-1, 2)
        moved = to_frame.inverse().apply(to_frame.apply(photo.xy) + error)
        if whole:
            scale, turn = 1.0 + rng.normal(0.0, 0.03), np.radians(rng.normal(0.0, 2.0))
            centre = moved.mean(axis=0)
            rotation = scale * np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
            moved = (moved - centre) @ rotation.T + centre + rng.normal(0.0, 5.0, 2)
        shots.append(replace(photo, xy=moved, sd=np.full(len(photo.names), 0.5), source=source))
    return replace(person, photos={view: tuple(shots)})


def _without_similarity(model, people, cov: np.ndarray) -> np.ndarray:
    """What a registration leaves of ``cov``: its mean projection off the four directions of a
    similarity at each photo's true points in the frame (a linear-algebra expectation, not the
    code under test)."""
    out = np.zeros_like(cov)
    photos = [p for person in people for p in person.photos[model.pair.face_view]]
    for photo in photos:
        points = fit_similarity(photo.xy, model.face_mean).apply(photo.xy)
        d = design(points)
        keep = np.eye(len(cov)) - d @ np.linalg.solve(d.T @ d, d.T)
        out += keep @ cov @ keep.T
    return out / len(photos)


def test_the_measured_covariance_is_the_detectors_less_what_a_registration_takes_up(world: World, fitted) -> None:
    rng = np.random.default_rng(4)
    cov = _block_covariance(world, block=6, slide=3.0, jitter=0.5)
    truth = [world.person(rng, f"V{i:03d}", photos=2) for i in range(400)]
    found = [_found(world, fitted.model, p, cov, rng, source=f"{DETECTOR} (finder {i % 3})", whole=True) for i, p in enumerate(truth)]
    raw = face_errors({"front": fitted.model}, found, truth, shrinkage=0.0)["front"]
    assert raw.sources == frozenset({DETECTOR}) and "800 validation photos" in raw.source  # one detector, whichever finder
    expected = _without_similarity(fitted.model, truth, cov)  # the whole face's misplacement not counted
    sliding = np.ix_(range(0, 12, 2), range(0, 12, 2))
    np.testing.assert_allclose(raw.cov[sliding], expected[sliding], rtol=0.15, atol=0.3)  # the block moves as one
    assert np.abs(raw.cov - expected).max() < 0.15 * np.abs(expected).max()
    assert np.diag(raw.cov).mean() < np.diag(cov).mean()  # a registration takes up part of the slide
    circular = face_errors({"front": fitted.model}, found, truth, shrinkage=1.0)["front"].cov
    assert np.count_nonzero(circular - np.diag(np.diag(circular))) == 0
    variances = np.diag(circular).reshape(-1, 2)
    assert variances[:, 0] == pytest.approx(variances[:, 1])  # each point as wide across as along
    assert variances[0, 0] == pytest.approx((raw.cov[0, 0] + raw.cov[1, 1]) / 2)
    half = face_errors({"front": fitted.model}, found, truth, shrinkage=0.5)["front"].cov
    np.testing.assert_allclose(half, (raw.cov + circular) / 2, atol=1e-5)  # (the raw one kept just positive definite)
    assert np.linalg.eigvalsh(half).min() > 0


def test_too_few_photos_or_people_out_of_order_give_no_covariance(world: World, fitted) -> None:
    rng = np.random.default_rng(5)
    cov = _block_covariance(world, 4, 2.0, 0.5)
    truth = [world.person(rng, f"V{i}", photos=1) for i in range(10)]
    found = [_found(world, fitted.model, p, cov, rng) for p in truth]
    assert face_errors({"front": fitted.model}, found, truth) == {}  # 10 photos: too few to measure
    more = [world.person(rng, f"W{i}", photos=1) for i in range(30)]
    with pytest.raises(ValueError, match="not in the same order"):
        face_errors({"front": fitted.model}, [_found(world, fitted.model, p, cov, rng) for p in more][::-1], more)


def test_a_detected_photo_is_scored_under_the_measured_covariance_and_others_under_their_deviations(world: World, fitted) -> None:
    rng = np.random.default_rng(6)
    cov = _block_covariance(world, 6, 3.0, 0.5)
    model = replace(fitted.model, face_error=FaceError(cov, frozenset({DETECTOR}), "test"))
    query = world.person(rng, "Q", photos=1)
    prediction = predict(model, query.skulls[world.pair.skull_view])
    detected = _found(world, model, query, cov, rng).photos[world.pair.face_view][0]
    annotated = replace(detected, source="annotation + simulated error")
    context = QueryContext(model, prediction)
    target = prediction.mean
    for photo, extra in ((detected, cov), (annotated, None)):
        fit = context.assess(photo)
        if extra is None:  # its own stated deviations, brought to the frame by the registration's scale
            extra = np.diag(np.repeat((fit_similarity(photo.xy, target).scale * photo.sd) ** 2, 2))
        expected, misfit = fit_similarity_gls(photo.xy, target, np.linalg.inv(prediction.cov + extra))
        assert fit.misfit == pytest.approx(misfit, rel=1e-6)
        assert fit.registration.a == pytest.approx(expected.a, rel=1e-6)
        m = len(prediction.names)
        blocks = (prediction.cov + extra).reshape(m, 2, m, 2)[np.arange(m), :, np.arange(m), :]
        np.testing.assert_allclose(fit.point_cov, blocks, rtol=1e-9)
        batch = context.assess_many([photo, photo])
        assert batch[1].misfit == pytest.approx(fit.misfit, rel=1e-9) and batch[1].llr == pytest.approx(fit.llr, rel=1e-9)


def test_with_correlated_detector_errors_the_measured_covariance_finds_more_people(world: World, fitted) -> None:
    """A detector whose contour points slide together: weighing that slide as independent
    errors of each point mistakes it for the face's shape; the covariance knows better."""
    rng = np.random.default_rng(7)
    cov = _block_covariance(world, 16, 10.0, 0.4)
    truth = [world.person(rng, f"V{i:03d}", photos=2) for i in range(200)]
    measured = face_errors({"front": fitted.model}, [_found(world, fitted.model, p, cov, rng) for p in truth], truth)["front"]
    people = [world.person(rng, f"P{i:02d}", photos=1) for i in range(60)]
    photos = [_found(world, fitted.model, p, cov, rng).photos[world.pair.face_view][0] for p in people]
    ranks = {}
    for name, model in (("stated", fitted.model), ("measured", replace(fitted.model, face_error=measured))):
        # the stated deviations: each point's own error as the covariance's diagonal puts it
        stated = [replace(p, sd=np.full(len(p.names), float(np.sqrt(np.diag(measured.cov).mean())) / fit_similarity(p.xy, model.face_mean).scale))
                  for p in photos]
        found = []
        for q, person in enumerate(people):
            fits = QueryContext(model, predict(model, person.skulls[world.pair.skull_view])).assess_many(stated)
            llr = np.array([f.llr for f in fits])
            found.append(int((llr > llr[q]).sum()) + 1)
        ranks[name] = np.array(found)
    assert np.mean(ranks["measured"] == 1) >= np.mean(ranks["stated"] == 1) + 0.1
    assert np.mean(np.log(ranks["measured"])) < np.mean(np.log(ranks["stated"]))


def test_the_covariance_lives_in_the_arrays_and_card_and_enters_the_fingerprint(tmp_path: Path, world: World, fitted) -> None:
    cov = _block_covariance(world, 6, 3.0, 0.5)
    base = {"name": "test-cf", "tolerance": {"set_on": "test"}}
    plain = save_model(tmp_path / "a.npz", CraniofacialModel({"front": fitted.model}, Tolerance(), dict(base)))
    one = save_model(tmp_path / "b.npz", CraniofacialModel({"front": replace(fitted.model, face_error=FaceError(cov, frozenset({DETECTOR}), "measured"))},
                                                           Tolerance(), dict(base)))
    other = save_model(tmp_path / "c.npz", CraniofacialModel({"front": replace(fitted.model, face_error=FaceError(cov, frozenset({"another"}), "measured"))},
                                                             Tolerance(), dict(base)))
    assert len({plain.fingerprint, one.fingerprint, other.fingerprint}) == 3
    assert one.card["face_errors"] == {"front": {"sources": [DETECTOR], "source": "measured"}} and "face_errors" not in plain.card
    loaded = load_model(tmp_path / "b.npz")
    assert loaded.fingerprint == one.fingerprint
    np.testing.assert_array_equal(loaded.views["front"].face_error.cov, cov)
    assert loaded.views["front"].face_error.sources == frozenset({DETECTOR})
    assert load_model(tmp_path / "a.npz").views["front"].face_error is None
    with pytest.raises(ValueError, match="face_errors"):
        update_card(tmp_path / "b.npz", face_errors={})
    card = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    del card["face_errors"]
    (tmp_path / "b.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="face error covariance and its card entry"):
        load_model(tmp_path / "b.npz")


def test_a_detectors_error_applies_to_its_photos_whichever_finder_and_not_to_corrected_ones(world: World, fitted) -> None:
    error = FaceError(np.eye(2 * len(world.pair.face_names)), frozenset({DETECTOR}), "test")
    photo = world.person(np.random.default_rng(8), "Q").photos[world.pair.face_view][0]
    assert error.applies(replace(photo, source=DETECTOR)) and error.applies(replace(photo, source=f"{DETECTOR} (haar-frontal-framed)"))
    assert not error.applies(replace(photo, source="annotation + simulated error"))
    corrected = replace(photo, source=DETECTOR).with_point(photo.names[0], 10.0, 10.0)
    assert not error.applies(corrected)  # the examiner's point has no detector error


def test_validation_people_are_scored_under_a_covariance_measured_without_them(world: World, fitted) -> None:
    rng = np.random.default_rng(9)
    cov = _block_covariance(world, 6, 3.0, 0.5)
    truth = [world.person(rng, f"V{i:03d}", photos=1) for i in range(60)]
    found = [_found(world, fitted.model, p, cov, rng) for p in truth]
    held_out = cross_fitted_face_errors({"front": fitted.model}, found, truth, folds=2)["front"]
    odd = face_errors({"front": fitted.model}, found[1::2], truth[1::2])["front"]  # what the even people get
    np.testing.assert_array_equal(held_out["V000"].cov, odd.cov)
    np.testing.assert_array_equal(held_out["V002"].cov, odd.cov)
    assert not np.allclose(held_out["V001"].cov, odd.cov)
    alone = cross_fitted_face_errors({"front": fitted.model}, found, truth)["front"]  # the default: each person left out alone
    np.testing.assert_allclose(alone["V007"].cov, face_errors({"front": fitted.model}, found[:7] + found[8:], truth[:7] + truth[8:])["front"].cov)
    queries = found[:3]
    scores = view_scores(fitted.model, Tolerance(), queries, found, photo_errors=held_out)
    photos = [p.photos[world.pair.face_view][0] for p in found]
    for q, person in enumerate(queries):
        prediction = predict(fitted.model, person.skulls[world.pair.skull_view])
        for g in (0, 1, 7):
            own = QueryContext(replace(fitted.model, face_error=held_out[found[g].subject_id]), prediction).assess(photos[g])
            assert scores.llr[q, g] == pytest.approx(own.llr, rel=1e-9)
    with pytest.raises(KeyError):  # a gallery person without their own covariance is an error, not silently another model
        view_scores(fitted.model, Tolerance(), queries, found, photo_errors={k: v for k, v in held_out.items() if k != "V005"})
