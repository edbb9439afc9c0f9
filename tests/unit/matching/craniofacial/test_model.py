"""The correspondence model on a simulated world whose skull-to-face relation is known (conftest)."""

from __future__ import annotations

import numpy as np
import pytest
from craniofacial_world import XRAY_MM_PER_PX, World, depth_of

from crossid_desktop.matching.craniofacial import model as model_module
from crossid_desktop.matching.craniofacial.assess import QueryContext, assess_photo
from crossid_desktop.matching.craniofacial.consistency import CONSISTENT, INCONSISTENT, Tolerance, judge_photo
from crossid_desktop.matching.craniofacial.model import predict
from crossid_desktop.matching.craniofacial.points import Landmarks


def test_refitted_depths_are_the_worlds(world: World, fitted) -> None:
    for row, pair in zip(fitted.depths, world.pair.correspondences):
        assert row["depth_mm"] == pytest.approx(depth_of(pair), abs=0.4), row
        assert row["slip_mm"] == pytest.approx(0.0, abs=0.4), row
    zygion = next(r for r in fitted.depths if r["skull"] == "zygion_right")
    assert zygion["published"]["mean_mm"] > 0  # the table's value travels with the refitted one


def test_genuine_misfits_follow_chi_square_and_impostors_do_not(world: World, fitted) -> None:
    rng = np.random.default_rng(5)
    people = [world.person(rng, f"Q{i}") for i in range(40)]
    model = fitted.model
    genuine, impostor, ranks = [], [], []
    for i, person in enumerate(people):
        context = QueryContext(model, predict(model, person.skulls[world.pair.skull_view]))
        fits = [context.assess(other.photos[world.pair.face_view][0]) for other in people]
        genuine.append(fits[i].misfit / fits[i].dof)
        impostor += [f.misfit / f.dof for j, f in enumerate(fits) if j != i]
        llr = np.array([f.llr for f in fits])
        ranks.append(int((llr >= llr[i]).sum()))
    assert 0.75 < np.mean(genuine) < 1.25  # E[chi2 / dof] = 1 when the spread is right
    assert np.median(impostor) > 3 * np.median(genuine)
    assert np.mean(np.array(ranks) == 1) >= 0.95


def test_registration_undoes_the_photos_view(world: World, fitted) -> None:
    rng = np.random.default_rng(6)
    person = world.person(rng, "R")
    model = fitted.model
    prediction = predict(model, person.skulls[world.pair.skull_view])
    photo = person.photos[world.pair.face_view][0]
    fit = assess_photo(model, prediction, photo)
    registered = fit.registration.apply(photo.xy)
    # the registered photo lies on the prediction within the tissue variation
    assert np.sqrt(np.mean((registered - prediction.mean) ** 2)) < 2.0 * world.tissue_sd
    # a photo twice as large and turned gives the same misfit and a registration half as large
    turned = Landmarks(photo.view, photo.names, photo.xy @ np.array([[0.0, 2.0], [-2.0, 0.0]]), photo.sd * 2, "test")
    other = assess_photo(model, prediction, turned)
    assert other.misfit == pytest.approx(fit.misfit, rel=1e-6)
    assert other.registration.scale == pytest.approx(fit.registration.scale / 2, rel=1e-6)


def test_units_follow_the_xray_spacing(world: World, fitted) -> None:
    rng = np.random.default_rng(7)
    skull = world.person(rng, "U").skulls[world.pair.skull_view]
    prediction = predict(fitted.model, skull)
    assert prediction.unit == "mm"
    # the canonical frame is mm of an average skull: close to this skull's own mm
    assert prediction.mm_per_unit == pytest.approx(1.0, abs=0.1)
    assert prediction.px_per_unit == pytest.approx(1.0 / XRAY_MM_PER_PX, rel=0.1)
    unknown = Landmarks(skull.view, skull.names, skull.xy, skull.sd, "test")
    assert predict(fitted.model, unknown).unit == "px"


def test_missing_and_uncertain_skull_points_widen_the_prediction(world: World, fitted) -> None:
    rng = np.random.default_rng(8)
    skull = world.person(rng, "M").skulls[world.pair.skull_view]
    model = fitted.model
    full = predict(model, skull)
    xy = skull.xy.copy()
    xy[[3, 9, 15]] = np.nan
    holes = predict(model, Landmarks(skull.view, skull.names, xy, skull.sd, "test"))
    assert holes.imputed == tuple(skull.names[i] for i in (3, 9, 15))
    assert np.trace(holes.cov) > np.trace(full.cov)
    assert np.sqrt(np.mean((holes.mean - full.mean) ** 2)) < 3.0
    vague = predict(model, Landmarks(skull.view, skull.names, skull.xy, np.full(len(xy), 40.0), "test"))
    assert vague.problem is not None and "too uncertain" in vague.problem
    few = xy.copy()
    few[:15] = np.nan
    assert "only" in predict(model, Landmarks(skull.view, skull.names, few, skull.sd, "test")).problem


def test_two_moved_landmarks_exclude_and_are_named_one_alone_does_not(world: World, fitted) -> None:
    rng = np.random.default_rng(9)
    person = world.person(rng, "X")
    model = fitted.model
    prediction = predict(model, person.skulls[world.pair.skull_view])
    photo = person.photos[world.pair.face_view][0]
    tolerance = Tolerance()
    assert judge_photo(assess_photo(model, prediction, photo), tolerance).status == CONSISTENT
    scale = assess_photo(model, prediction, photo).registration.scale

    def moved(*names: str) -> Landmarks:
        xy = photo.xy.copy()
        for name in names:
            xy[photo.names.index(name), 0] += 15.0 / scale  # 15 mm outwards
        return Landmarks(photo.view, photo.names, xy, photo.sd, "test")

    assert judge_photo(assess_photo(model, prediction, moved("zygion_soft_left")), tolerance).status == CONSISTENT
    verdict = judge_photo(assess_photo(model, prediction, moved("zygion_soft_left", "gonion_soft_left")), tolerance)
    assert verdict.status == INCONSISTENT
    assert set(verdict.excluding[:2]) == {"zygion_soft_left", "gonion_soft_left"}
    assert "zygion soft left" in verdict.sentence() and "gonion soft left" in verdict.sentence()


def test_fast_registration_equals_the_explicit_generalised_least_squares(world: World, fitted) -> None:
    from crossid_desktop.matching.craniofacial.geometry import fit_similarity, fit_similarity_gls

    rng = np.random.default_rng(10)
    person, other = world.person(rng, "A"), world.person(rng, "B")
    model = fitted.model
    prediction = predict(model, person.skulls[world.pair.skull_view])
    photo = other.photos[world.pair.face_view][0]
    xy = photo.xy.copy()
    xy[[0, 5]] = np.nan  # two points missing
    sd = rng.uniform(0.5, 3.0, len(xy))  # every point its own deviation
    noisy = Landmarks(photo.view, photo.names, xy, sd, "test")
    fit = assess_photo(model, prediction, noisy)
    keep = ~np.isnan(xy[:, 0])
    idx = np.flatnonzero(np.repeat(keep, 2))
    scale = fit_similarity(xy[keep], prediction.mean[keep]).scale
    noise = np.diag(np.repeat((scale * sd[keep]) ** 2, 2))
    same = prediction.cov[np.ix_(idx, idx)] + noise
    other_cov = model.impostor_cov[np.ix_(idx, idx)] + (prediction.cov - model.residual_cov)[np.ix_(idx, idx)] + noise
    transform, misfit = fit_similarity_gls(xy[keep], prediction.mean[keep], np.linalg.inv(same))
    _, other_misfit = fit_similarity_gls(xy[keep], prediction.mean[keep], np.linalg.inv(other_cov))
    llr = 0.5 * (other_misfit - misfit) + 0.5 * (np.linalg.slogdet(other_cov)[1] - np.linalg.slogdet(same)[1])
    assert fit.misfit == pytest.approx(misfit, rel=1e-7)
    assert fit.llr == pytest.approx(llr, rel=1e-7, abs=1e-7)
    assert fit.dof == 2 * int(keep.sum()) - 4
    np.testing.assert_allclose(fit.registration.matrix, transform.matrix, rtol=1e-7, atol=1e-9)


def test_many_photos_at_once_give_the_same_numbers(world: World, fitted) -> None:
    rng = np.random.default_rng(12)
    model = fitted.model
    context = QueryContext(model, predict(model, world.person(rng, "Q").skulls[world.pair.skull_view]))
    photos = [p.photos[world.pair.face_view][0] for p in (world.person(rng, f"M{i}") for i in range(6))]
    holes = photos[2].xy.copy()
    holes[[1, 4]] = np.nan
    photos[2] = Landmarks(photos[2].view, photos[2].names, holes, photos[2].sd * 3.0, "test")
    photos.append(Landmarks.failed("face-front", "no face", source="test"))
    one_by_one, together = [context.assess(p) for p in photos], context.assess_many(photos)
    for a, b in zip(one_by_one, together):
        assert a.assessable == b.assessable and a.problem == b.problem
        if a.assessable:
            assert b.misfit == pytest.approx(a.misfit, rel=1e-9) and b.llr == pytest.approx(a.llr, rel=1e-9, abs=1e-9)
            np.testing.assert_allclose(b.point_misfit, a.point_misfit, rtol=1e-8)
            np.testing.assert_allclose(b.registration.matrix, a.registration.matrix, rtol=1e-9, atol=1e-12)


def test_photos_whose_deviations_differ_by_rounding_share_one_decomposition(world: World, fitted, monkeypatch: pytest.MonkeyPatch) -> None:
    """A detector's photos carry the same profile of deviations up to rounding noise: compared in
    one batch they share one decomposition per set of points (not one each), and their numbers
    stay those of each photo compared on its own (to the sharing's tolerance)."""
    from crossid_desktop.matching.craniofacial import assess

    rng = np.random.default_rng(21)
    model = fitted.model
    context = QueryContext(model, predict(model, world.person(rng, "Q").skulls[world.pair.skull_view]))
    base = rng.uniform(0.8, 2.5, len(world.pair.face_names))
    photos = []
    for i in range(12):
        photo = world.person(rng, f"N{i}").photos[world.pair.face_view][0]
        photos.append(Landmarks(photo.view, photo.names, photo.xy, base * rng.uniform(0.5, 2.0) * (1 + rng.normal(0, 4e-4, len(base))), "test"))
    photos.append(Landmarks(photos[0].view, photos[0].names, photos[0].xy, base * 1.3 * np.where(np.arange(len(base)) == 3, 1.5, 1.0), "test"))
    made = []
    original = assess._Gaussian.__init__
    monkeypatch.setattr(assess._Gaussian, "__init__", lambda self, cov, profile: made.append(1) or original(self, cov, profile))
    together = context.assess_many(photos)
    assert len(made) == 4  # two hypotheses x two profiles: the twelve alike, and the one whose point 3 deviates by 50 %
    for photo, b in zip(photos, together):
        a = QueryContext(model, context.prediction).assess(photo)
        assert b.misfit == pytest.approx(a.misfit, rel=5e-3) and b.llr == pytest.approx(a.llr, rel=5e-3, abs=5e-3)


def test_one_misplaced_detected_point_is_set_aside_and_named_two_are_refused(world: World, fitted, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(10)
    skull = world.person(rng, "A").skulls[world.pair.skull_view]
    model = fitted.model
    names = skull.names
    width = float(np.nanmax(skull.xy[:, 0]) - np.nanmin(skull.xy[:, 0]))
    i, j = 0, len(names) // 2

    def marks(xy, sd=skull.sd, **extra) -> Landmarks:
        return Landmarks(skull.view, names, xy, sd, "test", **extra)

    wrong = skull.xy.copy()
    wrong[i] += (0.3 * width, 0.3 * width)  # a point placed a third of the skull away, stated as precise
    without = skull.xy.copy()
    without[i] = np.nan
    kept = predict(model, marks(wrong))
    alone = predict(model, marks(without))  # what the query gives had the detector not found the point
    assert kept.problem is None and kept.set_aside == (names[i],) and kept.imputed == ()
    for field in ("mean", "cov", "skull"):
        np.testing.assert_allclose(getattr(kept, field), getattr(alone, field), atol=1e-9)
    assert kept.skull_to_canonical == pytest.approx(alone.skull_to_canonical) and kept.px_per_unit == pytest.approx(alone.px_per_unit)
    assert kept.uncertainty_ratio == pytest.approx(alone.uncertainty_ratio)
    slight = wrong.copy()
    slight[j] += (0.01 * width, 0.0)  # a second point off by little: the one far off is still the one left out
    assert predict(model, marks(slight)).set_aside == (names[i],)
    assert predict(model, marks(skull.xy)).set_aside == ()  # a plausible skull keeps every point
    # the examiner's own placement (named as corrected, or with deviation 0) is never overruled,
    # and one point left out cannot hide two misplaced
    tried = "leaving out any one of the detected points does not make the rest plausible"
    assert tried in predict(model, marks(wrong, corrected=frozenset({names[i]}))).problem
    assert tried in predict(model, marks(wrong, sd=np.where(np.arange(len(names)) == i, 0.0, skull.sd))).problem
    both = wrong.copy()
    both[j] -= (0.3 * width, 0.3 * width)
    assert tried in predict(model, marks(both)).problem
    # a query with no point to spare is refused as before
    few = wrong.copy()
    spare = int((~np.isnan(few[:, 0])).sum()) - max(3, int(np.ceil(model_module.MIN_SKULL_FRACTION * len(names))))
    few[[k for k in range(len(names)) if k != i][:spare]] = np.nan
    refused = predict(model, marks(few))
    assert "plausible skull" in refused.problem and tried not in refused.problem and refused.set_aside == ()
    # a point left out that leaves the rest too uncertain: refused for the shape, nothing set aside
    monkeypatch.setattr(model_module, "MAX_UNCERTAINTY_RATIO", 0.5)
    strict = predict(model, marks(wrong))
    assert "plausible skull" in strict.problem and strict.set_aside == ()


def test_the_evaluation_counts_the_queries_with_a_point_set_aside(world: World, fitted) -> None:
    from dataclasses import replace

    from crossid_desktop.evaluation.craniofacial_scores import view_scores

    rng = np.random.default_rng(11)
    people = [world.person(rng, f"E{i}") for i in range(3)]
    view = world.pair.skull_view
    skull = people[1].skulls[view]
    width = float(np.nanmax(skull.xy[:, 0]) - np.nanmin(skull.xy[:, 0]))
    xy = skull.xy.copy()
    xy[2] += (0.3 * width, -0.3 * width)
    people[1] = replace(people[1], skulls={**people[1].skulls, view: Landmarks(skull.view, skull.names, xy, skull.sd, "test")})
    scores = view_scores(fitted.model, Tolerance(), people, people)
    assert scores.set_aside == {"E1": (skull.names[2],)} and scores.problems == {}
