"""Points that do not fit the shape of the others, placed again from them (matching/landmarks/shape_prior.py),
in the detector, on a real cephalogram, and the command that gives a model its prior."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.cli import main
from crossid_desktop.errors import ModelError
from crossid_desktop.matching.landmarks.shape_prior import ShapePrior

K = 12


def _family(seed: int, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A mean shape ``(K, 2)`` and three modes of variation ``(3, K, 2)``."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(0.0, 1.0, (K, 2)) + offset
    modes = rng.normal(0.0, 0.05, (3, K, 2))
    return mean, modes


def _draw(family: tuple[np.ndarray, np.ndarray], rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """``n`` shapes of the family, each with a little noise, placed by a random similarity."""
    mean, modes = family
    out = []
    for _ in range(n):
        shape = mean + np.tensordot(rng.normal(0.0, 1.0, 3), modes, axes=1) + rng.normal(0.0, 0.004, (K, 2))
        angle, scale, shift = rng.uniform(-0.4, 0.4), rng.uniform(50.0, 400.0), rng.uniform(-500.0, 500.0, 2)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        out.append(scale * shape @ rotation.T + shift)
    return out


NAMES = tuple(f"p{k}" for k in range(K))


@pytest.fixture(scope="module")
def prior() -> ShapePrior:
    rng = np.random.default_rng(0)
    return ShapePrior.fit(NAMES, {"a": (_draw(_family(1), rng, 300), "family a"), "b": (_draw(_family(2), rng, 300), "family b")})


def test_a_shape_that_fits_is_left_as_it_is(prior: ShapePrior) -> None:
    shape = _draw(_family(1), np.random.default_rng(5), 1)[0]
    result = prior.correct(shape)
    assert result.replaced == () and np.array_equal(result.xy, shape) and result.component == "a"


@pytest.mark.parametrize("family, name", [(1, "a"), (2, "b")])
def test_a_point_moved_off_the_shape_is_placed_back_near_where_it_belongs(prior: ShapePrior, family: int, name: str) -> None:
    rng = np.random.default_rng(10 + family)
    true = _draw(_family(family), rng, 1)[0]
    size = float(np.sqrt(((true - true.mean(axis=0)) ** 2).sum(axis=1).mean()))
    found = true.copy()
    found[4] += np.array([0.6, -0.5]) * size  # a neighbouring structure, far off
    result = prior.correct(found)
    assert result.replaced == (4,) and result.component == name
    moved_error, placed_error = np.hypot(*(found[4] - true[4])), np.hypot(*(result.xy[4] - true[4]))
    assert placed_error < 0.15 * moved_error
    assert 0.0 < result.sd[4] < moved_error / 5 and np.isnan(np.delete(result.sd, 4)).all()
    assert np.array_equal(np.delete(result.xy, 4, axis=0), np.delete(found, 4, axis=0))  # the others untouched


def test_a_kept_point_is_never_moved_and_still_tells_where_the_others_lie(prior: ShapePrior) -> None:
    rng = np.random.default_rng(12)
    true = _draw(_family(1), rng, 1)[0]
    keeping = dataclasses.replace(prior, kept=("p4",))
    found = true.copy()
    found[4] += 200.0
    assert prior.correct(found).replaced == (4,)
    result = keeping.correct(found)
    assert 4 not in result.replaced and np.array_equal(result.xy[4], found[4])
    found = true.copy()
    found[7] += 200.0
    assert keeping.correct(found).replaced == (7,)


def test_where_the_shape_puts_each_point_given_the_others(prior: ShapePrior) -> None:
    """A shape lying exactly on a component's mean puts every point where it is; the spread
    follows the shape's size (pixels); placed and kept points are not among those expected."""
    mean = prior.components[0].mean.reshape(-1, 2)
    angle = 0.3
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    kept_prior = dataclasses.replace(prior, kept=(NAMES[7],))
    spreads = {}
    for size in (100.0, 300.0):
        shape = size * mean @ rotation.T + np.array([400.0, -50.0])
        correction = kept_prior.correct(shape)
        assert correction.replaced == () and correction.component == "a"
        expected = kept_prior.expected(shape, correction)
        assert set(expected) == set(range(K)) - {7}
        for index, (centre, cov) in expected.items():
            np.testing.assert_allclose(centre, shape[index], atol=1e-6 * size)
            assert np.all(np.linalg.eigvalsh(cov) > 0)
        spreads[size] = np.array([np.trace(cov) for _, cov in expected.values()])
    np.testing.assert_allclose(spreads[300.0], 9.0 * spreads[100.0], rtol=1e-6)  # three times the size, nine times the variance
    found = 100.0 * mean @ rotation.T
    found[4] += np.array([60.0, -50.0])
    correction = kept_prior.correct(found)
    assert correction.replaced == (4,) and 4 not in kept_prior.expected(found, correction)


def test_missing_points_stay_missing_and_too_few_points_are_not_judged(prior: ShapePrior) -> None:
    found = _draw(_family(1), np.random.default_rng(7), 1)[0]
    found[[0, 9]] = np.nan
    result = prior.correct(found)
    assert np.isnan(result.xy[[0, 9]]).all() and 0 not in result.replaced and 9 not in result.replaced
    found[3:] = np.nan
    assert prior.correct(found).replaced == ()


def test_at_most_max_replaced_points_are_placed_again(prior: ShapePrior) -> None:
    rng = np.random.default_rng(8)
    found = _draw(_family(1), rng, 1)[0]
    found[:6] += rng.normal(0.0, 150.0, (6, 2))
    assert len(dataclasses.replace(prior, max_replaced=2).correct(found).replaced) == 2


def test_the_prior_survives_its_card_and_a_damaged_one_is_refused(prior: ShapePrior) -> None:
    again = ShapePrior.from_dict(json.loads(json.dumps(prior.to_dict())))
    shape = _draw(_family(2), np.random.default_rng(9), 1)[0]
    shape[2] += 300.0
    assert np.allclose(again.correct(shape).xy, prior.correct(shape).xy)
    data = prior.to_dict()
    data["points"] = data["points"][:-1]
    with pytest.raises(ModelError, match="does not match its list of points"):
        ShapePrior.from_dict(data)
    with pytest.raises(ModelError, match="incomplete"):
        ShapePrior.from_dict({"points": list(NAMES)})


@pytest.mark.shared_data
def test_on_a_real_cephalogram_the_points_placed_from_the_shape_are_closer_and_said(shared_data: Path, tmp_path: Path,
                                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A lateral model given a shape prior from the real training cephalograms (``--stage
    shape-prior``; the bundled model's assembly left its prior out, its networks rarely stray):
    when a network puts nasion 19 mm off on a real image, as a network straying onto a
    look-alike structure does, the prior places it back from the other points, flags it, and
    says so in the warnings and in what ``crossid landmarks --json`` prints."""
    from crossid_desktop.imaging.io import load_image
    from crossid_desktop.matching.landmarks.assemble import add_shape_prior
    from crossid_desktop.matching.landmarks.cephalograms import read_cephalograms
    from crossid_desktop.matching.landmarks.detector import XrayLandmarkDetector
    from crossid_desktop.matching.landmarks.points import label_of
    from crossid_desktop.matching.landmarks.service import bundled_model, find_landmarks

    ceph_dir = shared_data / "xray" / "ceph_dev"
    with_prior = tmp_path / "with_prior.pt"
    card = add_shape_prior(bundled_model("xray-side"), with_prior, ceph_dir=ceph_dir, cohort_dirs=(), command=("test",))
    assert len(card.shape_prior["points"]) == 19 and [c["name"] for c in card.shape_prior["components"]] == ["real"]
    assert set(card.shape_prior["kept"]) == {"labrale_superius", "labrale_inferius", "subnasale", "pogonion_soft"}  # the skin's points
    original = XrayLandmarkDetector._local

    def straying(self, grey, start, channels, maps_out=None):
        xy, sd, confidence = original(self, grey, start, channels, maps_out)
        rows = list(channels)
        xy[rows.index(self.card.landmarks.index("nasion"))] += (0.0, 150.0)  # 150 px = 19 mm below, down the nasal bones
        return xy, sd, confidence

    monkeypatch.setattr(XrayLandmarkDetector, "_local", straying)
    detector, without = XrayLandmarkDetector.load(with_prior), XrayLandmarkDetector.load(bundled_model("xray-side"))
    assert without.prior is None and detector.prior is not None
    # a tuning image (no network trained on it); test images are for the benchmark only
    ceph = next(c for c in read_cephalograms(ceph_dir, ("tune",)) if c.name == "011.png")
    image = load_image(ceph.path).pixels
    found, plain = detector.detect(image), without.detect(image)
    placed = [p for p in found.points if p.from_shape]
    assert "nasion" in {p.name for p in placed} and all(p.low_confidence and p.sd > 0 for p in placed)
    assert any(w.startswith(f"{len(placed)} landmark(s) did not fit the shape") and "nasion" in w for w in found.warnings)
    before = {p.name: p for p in plain.points}

    def error(point) -> float:
        x, y = ceph.reference[label_of(point.name, "xray-side")]
        return float(np.hypot(point.x - x, point.y - y))

    assert error(before["nasion"]) > 120.0  # the straying network's point, unchecked
    assert np.mean([error(p) for p in placed]) < 0.5 * np.mean([error(before[p.name]) for p in placed])
    assert all(p.x == before[p.name].x for p in found.points if not p.from_shape)
    said = find_landmarks(load_image(ceph.path), "xray-side", model=with_prior).to_dict()  # what `crossid landmarks --json` prints
    assert {p["name"] for p in said["landmarks"] if p["from_shape"]} == {p.name for p in placed}
    assert all(p["low_confidence"] for p in said["landmarks"] if p["from_shape"])


def test_the_command_needs_a_model_to_start_from(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train-landmarks", "--view", "xray-side", "--stage", "shape-prior", "--out", str(tmp_path / "run")]) != 0
    assert "--from-model" in capsys.readouterr().err
