"""Casework injury simulation (several injuries per face): determinism, severity 0, every
change inside the union mask, per-injury masks, counts and the dressing rules, realistic sizes
and places of dressings, landmarks moved by deformation, haematoma colour stages, the two
mixes, input validation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from builders import dilate as _dilate
from builders import synthetic_face as _synthetic_face
from numpy.typing import NDArray

from crossid_desktop.imaging.canonical import CANONICAL
from crossid_desktop.synth.injuries.casework import MAX_COUNT, PLACES, _draw, plan_injuries, simulate_casework
from crossid_desktop.synth.injuries.mix import HARSH_MIX, HELD_OUT_MIX, CaseworkKind
from crossid_desktop.synth.injuries.simulate import blend_margin
from crossid_desktop.synth.injuries.sites import FaceFrame, Site

SIZE = 128


@pytest.fixture(scope="module")
def face() -> NDArray[np.uint8]:
    return _synthetic_face(SIZE)


def _one(face: NDArray[np.uint8], kind: CaseworkKind, site: Site, severity: float = 0.8, seed: int = 3, mix=HARSH_MIX):
    """One injury of a given kind and site, drawn as the simulation draws it."""
    return _draw(face, FaceFrame.canonical(face.shape[0]), [(kind, site)], severity, np.random.SeedSequence(seed), mix)


def test_same_seed_same_bytes_different_seed_differs(face: NDArray[np.uint8]) -> None:
    a = simulate_casework(face, seed=11, severity=0.7, count=3)
    b = simulate_casework(face, seed=11, severity=0.7, count=3)
    c = simulate_casework(face, seed=12, severity=0.7, count=3)
    assert a.image.tobytes() == b.image.tobytes() and np.array_equal(a.mask, b.mask) and a.kinds == b.kinds
    assert a.image.tobytes() != c.image.tobytes()


def test_severity_zero_leaves_the_face_unchanged(face: NDArray[np.uint8]) -> None:
    r = simulate_casework(face, seed=1, severity=0.0, count=4)
    assert r.image.tobytes() == face.tobytes() and not r.mask.any() and len(r.injuries) == 4


@pytest.mark.parametrize("seed", range(6))
def test_every_change_lies_in_the_union_mask_and_each_injury_has_its_own(face: NDArray[np.uint8], seed: int) -> None:
    r = simulate_casework(face, seed=seed, severity=0.9, count=4)
    changed = np.any(r.image != face, axis=2)
    assert changed.any()
    assert not (changed & ~_dilate(r.mask, blend_margin(SIZE))).any()
    union = np.zeros_like(r.mask)
    for injury in r.injuries:
        assert injury.mask.shape == (SIZE, SIZE) and injury.mask.any(), injury.kind
        union |= injury.mask
    assert np.array_equal(union, r.mask)


def test_count_is_obeyed_and_drawn_from_the_mix_when_absent(face: NDArray[np.uint8]) -> None:
    for count in (1, 2, 5):
        assert len(simulate_casework(face, seed=count, severity=0.5, count=count).injuries) == count
    drawn = {len(simulate_casework(face, seed=s, severity=0.0).injuries) for s in range(40)}
    assert drawn <= set(range(1, len(HARSH_MIX.counts) + 1)) and len(drawn) >= 3


def test_plans_dress_each_site_once_and_put_injuries_where_they_occur() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        plan = plan_injuries(rng, float(rng.uniform(0, 1)), MAX_COUNT, HARSH_MIX)
        dressings = [(k, s) for k, s in plan if k.is_dressing]
        assert len({s for _, s in dressings}) == len(dressings)  # no dressing on a dressed site
        non_plaster = [k for k, _ in dressings if k is not CaseworkKind.PLASTER]
        assert len(non_plaster) == len(set(non_plaster))
        for kind, site in plan:
            assert site in PLACES[kind][0]


def test_severe_faces_are_dressed_more_often_than_mild_ones() -> None:
    rng = np.random.default_rng(1)

    def dressed(severity: float) -> float:
        return float(np.mean([any(k.is_dressing and k is not CaseworkKind.PLASTER for k, _ in plan_injuries(rng, severity, 2, HARSH_MIX)) for _ in range(400)]))

    assert dressed(0.95) > dressed(0.1) + 0.2


def test_an_eye_dressing_covers_the_eye_the_brow_and_has_a_realistic_size() -> None:
    face = _synthetic_face(256)
    r = _one(face, CaseworkKind.EYE_DRESSING, Site.LEFT_EYE, severity=0.5)
    e = CANONICAL.eye_distance * 256
    ex, ey = (round(v * 256) for v in CANONICAL.left_eye)
    assert r.mask[ey, ex] and r.mask[round(ey - 0.28 * e), ex]  # the eye and the brow above it
    assert not r.mask[ey, round(CANONICAL.right_eye[0] * 256)]  # the other eye stays free
    area = r.mask.sum() / e**2  # an eye pad of about 6 x 5 cm with its tape: 0.5 to 1.6 square eye distances
    assert 0.5 < area < 1.6
    pad = r.image[ey - 3:ey + 4, ex - 3:ex + 4].astype(float).mean()
    assert pad > face[ey - 3:ey + 4, ex - 3:ex + 4].astype(float).mean() + 40  # white gauze over the dark eye


def test_a_deviated_nose_moves_the_nose_tip_sideways_and_nothing_else_much() -> None:
    face = _synthetic_face(256)
    r = _one(face, CaseworkKind.DEFORMATION, Site.NOSE, severity=1.0)
    before = FaceFrame.canonical(256).points()
    shift = r.landmarks - before
    e = CANONICAL.eye_distance * 256
    assert abs(shift[2, 0]) > 0.05 * e  # the nose tip
    assert np.abs(shift[[0, 1]]).max() < 0.03 * e  # the eyes barely move


def test_a_swollen_eye_closes_it_and_moves_pixels() -> None:
    face = _synthetic_face(256)
    r = _one(face, CaseworkKind.OEDEMA, Site.RIGHT_EYE, severity=1.0)
    ex, ey = (round(v * 256) for v in CANONICAL.right_eye)
    e = CANONICAL.eye_distance * 256
    opening = (r.image[ey - 6:ey + 7, ex - 12:ex + 13].astype(float) > 200).all(axis=2).mean()
    before = (face[ey - 6:ey + 7, ex - 12:ex + 13].astype(float) > 200).all(axis=2).mean()
    assert opening < 0.5 * before  # less of the white eyeball shows
    assert r.mask[ey, ex] and r.mask.sum() > 0.2 * e * e


@pytest.mark.parametrize("stage, darkest, lightest", [(0, 1, 0), (3, 2, 0)])
def test_haematoma_stages_absorb_the_colours_of_their_pigments(stage: int, darkest: int, lightest: int) -> None:
    """Fresh blood absorbs green most and red least; a yellow-brown old bruise absorbs blue most."""
    face = np.full((SIZE, SIZE, 3), 200, np.uint8)
    stages = [0.0, 0.0, 0.0, 0.0]
    stages[stage] = 1.0
    r = _one(face, CaseworkKind.HAEMATOMA, Site.LEFT_CHEEK, mix=replace(HARSH_MIX, stages=tuple(stages)))
    core = r.mask & (r.image.astype(int).sum(axis=2) < 500)
    drop = 200 - r.image[core].astype(float).mean(axis=0)
    assert core.sum() > 20 and int(np.argmax(drop)) == darkest and int(np.argmin(drop)) == lightest


def test_the_held_out_mix_draws_other_faces_from_the_same_seed(face: NDArray[np.uint8]) -> None:
    a = simulate_casework(face, seed=5, severity=0.8, count=3, mix=HARSH_MIX)
    b = simulate_casework(face, seed=5, severity=0.8, count=3, mix=HELD_OUT_MIX)
    assert a.mix != b.mix and a.image.tobytes() != b.image.tobytes()
    assert HELD_OUT_MIX.weights(0.5) != HARSH_MIX.weights(0.5) and HELD_OUT_MIX.counts != HARSH_MIX.counts


@pytest.mark.parametrize("kwargs, words", [
    ({"count": 0}, "from 1 to"), ({"count": MAX_COUNT + 1}, "from 1 to"), ({"count": True}, "from 1 to"),
    ({"severity": 1.5}, "severity"), ({"seed": 1.5}, "seed"),
])
def test_invalid_inputs_raise_value_error(face: NDArray[np.uint8], kwargs: dict[str, object], words: str) -> None:
    args = {"seed": 1, "severity": 0.5} | kwargs
    with pytest.raises(ValueError, match=words):
        simulate_casework(face, **args)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="square"):
        simulate_casework(face[:, :100], seed=1)
