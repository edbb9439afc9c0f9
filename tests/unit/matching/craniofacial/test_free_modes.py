"""The exclusion statistic's free patterns: the registration may also move the prediction along
the model's leading patterns of variation (``ViewModel.free_modes``), which a skull cannot tell."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from craniofacial_world import World

from crossid_desktop.matching.craniofacial.assess import QueryContext
from crossid_desktop.matching.craniofacial.consistency import CONSISTENT, INCONSISTENT, Tolerance, judge_photo
from crossid_desktop.matching.craniofacial.geometry import Similarity, design
from crossid_desktop.matching.craniofacial.model import predict
from crossid_desktop.matching.craniofacial.model_file import CraniofacialModel, load_model, save_model


def test_the_free_patterns_are_the_directions_of_largest_spread(fitted) -> None:
    model = replace(fitted.model, free_modes=3)
    u = model.free_patterns
    assert u.shape == (model.residual_cov.shape[0], 3)
    np.testing.assert_allclose(u.T @ u, np.eye(3), atol=1e-10)
    spread = np.einsum("ik,ij,jk->k", u, model.residual_cov, u)
    assert spread[0] >= spread[1] >= spread[2] > 0
    rng = np.random.default_rng(0)
    for _ in range(200):  # no direction spreads more than the first pattern, nor, orthogonal to it, more than the second
        v = rng.normal(size=u.shape[0])
        v /= np.linalg.norm(v)
        assert v @ model.residual_cov @ v <= spread[0] + 1e-9
        w = v - u[:, 0] * (u[:, 0] @ v)
        w /= np.linalg.norm(w)
        assert w @ model.residual_cov @ w <= spread[1] + 1e-9
    assert replace(fitted.model, free_modes=0).free_patterns.shape[1] == 0


def test_the_exclusion_misfit_is_that_of_a_registration_moving_along_the_patterns_too(world: World, fitted) -> None:
    rng = np.random.default_rng(3)
    query, other = world.person(rng, "Q", photos=1), world.person(rng, "O", photos=1)
    for k in (1, 2):
        model = replace(fitted.model, free_modes=k)
        prediction = predict(model, query.skulls[world.pair.skull_view])
        context = QueryContext(model, prediction)
        for photo in (query.photos[world.pair.face_view][0], other.photos[world.pair.face_view][0]):
            fit = context.assess(photo)
            # the same registration solved here as one generalised least-squares problem over the similarity and the k amounts
            extra = np.diag(np.repeat((_ols_scale(photo.xy, prediction.mean) * photo.sd) ** 2, 2))
            cov = prediction.cov + extra
            x = np.hstack([design(photo.xy), -model.free_patterns])
            chol = np.linalg.cholesky(cov)
            theta = np.linalg.lstsq(np.linalg.solve(chol, x), np.linalg.solve(chol, prediction.mean.reshape(-1)), rcond=None)[0]
            r = (x @ theta - prediction.mean.reshape(-1)).reshape(-1, 2)
            expected = np.einsum("ni,nij,nj->n", r, np.linalg.inv(fit.point_cov), r)
            np.testing.assert_allclose(fit.exclusion_misfit, expected, rtol=1e-6, atol=1e-9)
            assert fit.exclusion_dof == fit.dof - k and fit.decision_misfit[1] == fit.dof - k
            batch = context.assess_many([photo, photo])[1]
            np.testing.assert_allclose(batch.exclusion_misfit, fit.exclusion_misfit, rtol=1e-9)
            assert batch.llr == pytest.approx(QueryContext(fitted.model, prediction).assess(photo).llr, rel=1e-9)  # the ranking is unchanged
    plain = QueryContext(fitted.model, predict(fitted.model, query.skulls[world.pair.skull_view])).assess(query.photos[world.pair.face_view][0])
    assert plain.exclusion_misfit is None and plain.decision_misfit[0] is plain.point_misfit


def test_a_face_off_only_along_a_free_pattern_is_not_excluded_and_one_off_elsewhere_is(world: World, fitted) -> None:
    rng = np.random.default_rng(4)
    query = world.person(rng, "Q", photos=1)
    free = replace(fitted.model, free_modes=1)
    prediction = predict(free, query.skulls[world.pair.skull_view])
    template = query.photos[world.pair.face_view][0]
    lead = free.free_patterns[:, 0]
    values, vectors = np.linalg.eigh(free.residual_cov)
    second = vectors[:, -2]  # the second pattern, not let free with one
    to_photo = Similarity(2.0, 0.3, 40.0, 25.0)
    tolerance = Tolerance()

    def photo_off(pattern: np.ndarray, mm: float):
        face = prediction.mean + mm * pattern.reshape(-1, 2)
        return replace(template, xy=to_photo.apply(face), sd=np.full(len(template.names), 0.05))

    along = photo_off(lead, 8.0 * float(np.sqrt(values[-1])))  # eight spreads of the first pattern
    for model, status in ((fitted.model, INCONSISTENT), (free, CONSISTENT)):
        fit = QueryContext(model, prediction).assess(along)
        assert judge_photo(fit, tolerance).status == status
    elsewhere = QueryContext(free, prediction).assess(photo_off(second, 8.0 * float(np.sqrt(values[-2]))))  # as far along the second
    assert judge_photo(elsewhere, tolerance).status == INCONSISTENT
    assert judge_photo(QueryContext(replace(free, free_modes=2), prediction).assess(photo_off(second, 8.0 * float(np.sqrt(values[-2])))),
                       tolerance).status == CONSISTENT


def test_the_free_patterns_are_in_the_card_and_the_fingerprint(tmp_path: Path, fitted) -> None:
    base = {"name": "test-cf", "tolerance": {"set_on": "test"}}
    none = save_model(tmp_path / "a.npz", CraniofacialModel({"front": fitted.model}, Tolerance(), dict(base)))
    two = save_model(tmp_path / "b.npz", CraniofacialModel({"front": replace(fitted.model, free_modes=2)}, Tolerance(), dict(base)))
    assert none.fingerprint != two.fingerprint
    assert json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))["tolerance"]["free_modes"] == {"front": 2}
    assert load_model(tmp_path / "b.npz").views["front"].free_modes == 2
    assert load_model(tmp_path / "a.npz").views["front"].free_modes == 0


def _ols_scale(points: np.ndarray, target: np.ndarray) -> float:
    p, t = points - points.mean(axis=0), target - target.mean(axis=0)
    norm = float((p**2).sum())
    return float(np.hypot((p * t).sum() / norm, (p[:, 0] * t[:, 1] - p[:, 1] * t[:, 0]).sum() / norm))


def test_a_pattern_lying_on_points_the_photo_lacks_is_not_let_free(world: World, fitted) -> None:
    model = replace(fitted.model, free_modes=2)
    rng = np.random.default_rng(5)
    query = world.person(rng, "Q", photos=1)
    prediction = predict(model, query.skulls[world.pair.skull_view])
    photo = query.photos[world.pair.face_view][0]
    weight = (model.free_patterns.reshape(len(world.pair.face_names), 2, 2) ** 2).sum(axis=1)  # each point's share of each pattern
    order = np.argsort(-weight[:, 0])
    dropped, share = [], 1.0
    for point in order:  # remove the first pattern's heaviest points until less than half of it is left on the photo
        if share < 0.5:
            break
        dropped.append(point)
        share -= weight[point, 0]
    assert len(dropped) <= 0.4 * len(world.pair.face_names)  # the photo can still be compared
    xy = photo.xy.copy()
    xy[dropped] = np.nan
    cut = replace(photo, xy=xy, sd=np.where(np.isnan(xy[:, 0]), np.nan, photo.sd))
    fit = QueryContext(model, prediction).assess(cut)
    assert fit.assessable
    keep = np.flatnonzero(~np.isnan(xy[:, 0]))
    idx = np.repeat(2 * keep, 2) + np.tile([0, 1], len(keep))
    free = model.free_patterns[idx]
    kept = free[:, (free**2).sum(axis=0) >= 0.5]
    assert kept.shape[1] == (1 if weight[keep, 1].sum() >= 0.5 else 0)
    assert fit.exclusion_dof == fit.dof - kept.shape[1]
    extra = np.diag(np.repeat((_ols_scale(xy[keep], prediction.mean[keep]) * photo.sd[keep]) ** 2, 2))
    chol = np.linalg.cholesky(prediction.cov[np.ix_(idx, idx)] + extra)
    x = np.hstack([design(xy[keep]), -kept])
    y = prediction.mean[keep].reshape(-1)
    theta = np.linalg.lstsq(np.linalg.solve(chol, x), np.linalg.solve(chol, y), rcond=None)[0]
    r = (x @ theta - y).reshape(-1, 2)
    np.testing.assert_allclose(fit.exclusion_misfit, np.einsum("ni,nij,nj->n", r, np.linalg.inv(fit.point_cov), r), rtol=1e-6, atol=1e-9)


def test_a_card_with_impossible_free_modes_is_refused(tmp_path: Path, fitted) -> None:
    from crossid_desktop.errors import ModelError

    saved = save_model(tmp_path / "m.npz", CraniofacialModel({"front": replace(fitted.model, free_modes=1)}, Tolerance(), {"name": "t", "tolerance": {}}))
    card = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    for bad in ({"front": 10**6}, {"front": -1}, {"front": 1.5}, [1]):
        card["tolerance"]["free_modes"] = bad
        card.pop("fingerprint", None)
        (tmp_path / "m.json").write_text(json.dumps(card), encoding="utf-8")
        with pytest.raises(ModelError, match="free_modes"):
            load_model(tmp_path / "m.npz")
    assert saved.views["front"].free_modes == 1
