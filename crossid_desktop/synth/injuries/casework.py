"""Casework injury simulation: several injuries on one aligned face, as faces look after an
assault, a fall or a road accident, from mildly to severely hurt.

:func:`simulate_casework` draws ``count`` injuries (or a number drawn from the mix) of the
kinds of an :class:`~crossid_desktop.synth.injuries.mix.InjuryMix`: haematomas by colour
stage, oedema that closes an eye or pushes a cheek out, asymmetric deformation (deviated
nose, dropped eye, displaced jaw), open and sutured lacerations, abrasions, burns, fresh and
dried blood, red eyes, and dressings of realistic size and place (eye pad, nasal splint, jaw
and head bandages, cheek dressings, plasters). Each injury is placed on a site of the face
(``synth/injuries/sites.py``) where it occurs in practice, and comes with its own mask. The
warping injuries come first (the skin moves, and the landmarks with it), then skin colour,
wounds, blood, and the dressings last, on top.

The result is deterministic for a seed and returns the union mask: every pixel the simulation
changed lies inside it, grown by the blend margin of ``simulate.py``. The single-injury
simulation of the publication's regions (``simulate.py``) stays as it is; the synthetic cohort
uses that one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.canonical import CANONICAL, CanonicalLayout
from crossid_desktop.synth.injuries.mix import HARSH_MIX, CaseworkKind, InjuryMix
from crossid_desktop.synth.injuries.simulate import MASK_LEVEL, check_face, check_severity, restore_beyond_margin
from crossid_desktop.synth.injuries.sites import CHEEKS, EYES, FaceFrame, Site

#: the most injuries one face may be given
MAX_COUNT = 6
_ALL = tuple(Site)
_NOT_MOUTH = tuple(s for s in Site if s is not Site.MOUTH)
#: per kind: the sites it occurs on and its layer (lower layers are drawn first)
PLACES: dict[CaseworkKind, tuple[tuple[Site, ...], int]] = {
    CaseworkKind.OEDEMA: (_ALL, 0),
    CaseworkKind.DEFORMATION: (_ALL, 0),
    CaseworkKind.HAEMATOMA: (_ALL, 1),
    CaseworkKind.ABRASION: ((Site.FOREHEAD, *CHEEKS, Site.NOSE, Site.JAW), 2),
    CaseworkKind.BURN: ((Site.FOREHEAD, *CHEEKS, Site.NOSE, Site.JAW), 2),
    CaseworkKind.SUBCONJUNCTIVAL: (EYES, 2),
    CaseworkKind.LACERATION: (_ALL, 3),
    CaseworkKind.SUTURED_WOUND: (_ALL, 3),
    CaseworkKind.FRESH_BLOOD: ((Site.NOSE, Site.MOUTH, Site.FOREHEAD, *EYES, *CHEEKS), 4),
    CaseworkKind.DRIED_BLOOD: ((Site.FOREHEAD, *CHEEKS, Site.NOSE, Site.MOUTH, Site.JAW), 4),
    CaseworkKind.EYE_DRESSING: (EYES, 5),
    CaseworkKind.NOSE_DRESSING: ((Site.NOSE,), 5),
    CaseworkKind.JAW_BANDAGE: ((Site.JAW,), 5),
    CaseworkKind.HEAD_BANDAGE: ((Site.FOREHEAD,), 5),
    CaseworkKind.CHEEK_DRESSING: ((*CHEEKS, Site.FOREHEAD, Site.JAW), 5),
    CaseworkKind.PLASTER: (_NOT_MOUTH, 5),
}


@dataclass(frozen=True)
class Injury:
    """One injury: its kind and site (``CaseworkKind`` and ``Site`` values), its own severity in
    (0, 1] and its mask ``(S, S) bool`` (where it changed the face, under later injuries too)."""

    kind: str
    site: str
    severity: float
    mask: NDArray[np.bool_]


@dataclass(frozen=True)
class CaseworkResult:
    """An injured face: ``image`` ``(S, S, 3) uint8`` RGB, ``mask`` ``(S, S) bool`` (the union of
    the injuries' masks), the ``injuries`` in the order drawn, the face's ``severity``, the
    five canonical ``landmarks`` ``(5, 2)`` float32 px where the warping injuries moved them,
    and the name of the ``mix``."""

    image: NDArray[np.uint8]
    mask: NDArray[np.bool_]
    injuries: tuple[Injury, ...]
    severity: float
    landmarks: NDArray[np.float32]
    mix: str

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(i.kind for i in self.injuries)

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(i.site for i in self.injuries)


def plan_injuries(rng: np.random.Generator, severity: float, count: int, mix: InjuryMix) -> list[tuple[CaseworkKind, Site]]:
    """``count`` (kind, site) pairs: kinds by the mix's weights at ``severity``, each dressing
    at most once, no dressing on a site another dressing covers, sites where the kind occurs."""
    weights = mix.weights(severity)
    plan: list[tuple[CaseworkKind, Site]] = []
    dressed: set[Site] = set()
    for _ in range(count):
        kinds = [k for k in weights if not (k.is_dressing and k is not CaseworkKind.PLASTER and any(k is p for p, _ in plan))]
        kinds = [k for k in kinds if any(s not in dressed for s in PLACES[k][0])]
        w = np.array([weights[k] for k in kinds])
        kind = kinds[int(rng.choice(len(kinds), p=w / w.sum()))]
        sites = [s for s in PLACES[kind][0] if s not in dressed]
        site = sites[int(rng.integers(len(sites)))]
        if kind.is_dressing:
            dressed.add(site)
        plan.append((kind, site))
    return plan


def simulate_casework(face: NDArray[np.uint8], *, seed: int, severity: float = 0.7, count: int | None = None,
                      mix: InjuryMix = HARSH_MIX, layout: CanonicalLayout = CANONICAL) -> CaseworkResult:
    """Draw several injuries onto an aligned square face crop.

    ``face``: ``(S, S, 3) uint8`` RGB in ``layout`` (S >= 64). ``severity`` in [0, 1] (mild to
    severe) scales every injury's size and strength and how often faces are dressed (0 returns
    the face unchanged). ``count``: the number of injuries (1 to :data:`MAX_COUNT`), or None to
    draw it from the mix. Raises ValueError on a malformed face, severity, count or seed. The
    same inputs always give the same bytes.
    """
    size = check_face(face)
    severity = check_severity(severity)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"The injury seed must be an integer, not {seed!r}.")
    if count is not None and (isinstance(count, bool) or not isinstance(count, (int, np.integer)) or not 1 <= count <= MAX_COUNT):
        raise ValueError(f"The number of injuries must be an integer from 1 to {MAX_COUNT}, not {count!r}.")
    seq = np.random.SeedSequence([int(seed) % 2**63, 0x1C0DE])
    plan_rng = np.random.default_rng(seq.spawn(1)[0])
    drawn = 1 + int(plan_rng.choice(len(mix.counts), p=np.asarray(mix.counts) / sum(mix.counts)))
    plan = plan_injuries(plan_rng, severity, int(count) if count is not None else drawn, mix)
    frame = FaceFrame.canonical(size, layout)
    if severity == 0.0:
        empty = np.zeros((size, size), bool)
        return CaseworkResult(face.copy(), empty, tuple(Injury(k.value, s.value, 0.0, empty) for k, s in plan), 0.0,
                              frame.points().astype(np.float32), mix.name)
    return _draw(face, frame, plan, severity, seq, mix)


def _effects() -> dict[CaseworkKind, Callable[..., Any]]:
    from crossid_desktop.synth.injuries import deform, dressings, effects, wounds  # OpenCV loads on first use

    def old(effect: Callable[..., Any], shape: str) -> Callable[..., Any]:
        def run(img: Any, frame: FaceFrame, site: Site, severity: float, rng: np.random.Generator, mix: InjuryMix) -> Any:
            return effect(img, wounds.spot_for(frame, site, severity, rng, mix, shape), severity, rng)
        return run

    return {
        CaseworkKind.OEDEMA: deform.oedema, CaseworkKind.DEFORMATION: deform.deformation,
        CaseworkKind.HAEMATOMA: wounds.haematoma, CaseworkKind.SUBCONJUNCTIVAL: wounds.subconjunctival,
        CaseworkKind.SUTURED_WOUND: wounds.sutured_wound, CaseworkKind.FRESH_BLOOD: wounds.fresh_blood,
        CaseworkKind.LACERATION: old(effects.laceration, "cut"), CaseworkKind.ABRASION: old(effects.abrasion, "patch"),
        CaseworkKind.BURN: old(effects.burn, "patch"), CaseworkKind.DRIED_BLOOD: old(effects.dried_blood, "box"),
        CaseworkKind.EYE_DRESSING: dressings.eye_dressing, CaseworkKind.NOSE_DRESSING: dressings.nose_dressing,
        CaseworkKind.JAW_BANDAGE: dressings.jaw_bandage, CaseworkKind.HEAD_BANDAGE: dressings.head_bandage,
        CaseworkKind.CHEEK_DRESSING: dressings.cheek_dressing, CaseworkKind.PLASTER: dressings.plaster,
    }


def _draw(face: NDArray[np.uint8], frame: FaceFrame, plan: list[tuple[CaseworkKind, Site]], severity: float,
          seq: np.random.SeedSequence, mix: InjuryMix) -> CaseworkResult:
    effects = _effects()
    rngs = [np.random.default_rng(child) for child in seq.spawn(1 + len(plan))[1:]]
    img = face.astype(np.float32) / 255.0
    points = frame.points()
    masks: list[NDArray[np.bool_] | None] = [None] * len(plan)
    severities = [0.0] * len(plan)
    for i in sorted(range(len(plan)), key=lambda j: PLACES[plan[j][0]][1]):
        kind, site = plan[i]
        severities[i] = float(np.clip(severity * rngs[i].uniform(0.85, 1.15), 0.05, 1.0))
        result = effects[kind](img, frame.moved(points), site, severities[i], rngs[i], mix)
        img, footprint = np.clip(result[0], 0.0, 1.5).astype(np.float32), result[1]
        if len(result) == 3:  # a warp: the landmarks move with the skin
            points = result[2].forward(points)
        masks[i] = footprint >= MASK_LEVEL
    union = np.logical_or.reduce([m for m in masks if m is not None])
    out = restore_beyond_margin(img, union, face)
    injuries = tuple(Injury(k.value, s.value, severities[i], masks[i]) for i, (k, s) in enumerate(plan))  # type: ignore[arg-type]
    return CaseworkResult(out, union, injuries, severity, points.astype(np.float32), mix.name)
