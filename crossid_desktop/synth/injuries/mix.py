"""Injury mixes: what the casework simulation (``synth/injuries/casework.py``) draws, and how.

A mix fixes which kinds of injury occur and how often (each kind's weight can grow or shrink
with severity: a severely hurt face is more often dressed, a mildly hurt one more often under a
plaster), how many injuries a face carries, and the look of the materials (dressings, tape,
suture thread) and of haematomas (the share of each colour stage). Two mixes are defined, with
the same effects and different parameters:

* :data:`HARSH_MIX`, the mix models are trained and tuned on;
* :data:`HELD_OUT_MIX`, another parameterisation (other kind frequencies, sizes, colours,
  stages, more injuries per face) kept for held-out checks: nothing is tuned on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

RGB = tuple[float, float, float]


class CaseworkKind(str, Enum):
    """The injuries the casework simulation draws."""

    HAEMATOMA = "haematoma"
    OEDEMA = "oedema"
    DEFORMATION = "deformation"
    LACERATION = "laceration"
    SUTURED_WOUND = "sutured_wound"
    ABRASION = "abrasion"
    BURN = "burn"
    FRESH_BLOOD = "fresh_blood"
    DRIED_BLOOD = "dried_blood"
    SUBCONJUNCTIVAL = "subconjunctival_haemorrhage"
    EYE_DRESSING = "eye_dressing"
    NOSE_DRESSING = "nose_dressing"
    JAW_BANDAGE = "jaw_bandage"
    HEAD_BANDAGE = "head_bandage"
    CHEEK_DRESSING = "cheek_dressing"
    PLASTER = "plaster"

    @property
    def is_dressing(self) -> bool:
        return self in DRESSINGS


DRESSINGS = frozenset({CaseworkKind.EYE_DRESSING, CaseworkKind.NOSE_DRESSING, CaseworkKind.JAW_BANDAGE,
                       CaseworkKind.HEAD_BANDAGE, CaseworkKind.CHEEK_DRESSING, CaseworkKind.PLASTER})

#: haematoma colour stages in the order they follow each other as a bruise ages
STAGES = ("fresh", "blue_black", "green", "yellow_brown")


@dataclass(frozen=True)
class KindWeight:
    """How often a kind is drawn: ``weight * (1 + tilt * (severity - 0.5))``, at least a tenth
    of ``weight``."""

    weight: float
    tilt: float = 0.0

    def at(self, severity: float) -> float:
        return max(0.1 * self.weight, self.weight * (1.0 + self.tilt * (severity - 0.5)))


@dataclass(frozen=True)
class InjuryMix:
    """The parameters of one injury mix (see the module docstring). Colours are linear RGB in
    [0, 1]; ``counts`` are the probabilities of 1, 2, 3, ... injuries on a face."""

    name: str
    kinds: tuple[tuple[CaseworkKind, KindWeight], ...]
    counts: tuple[float, ...]
    size: float = 1.0
    intensity: float = 1.0
    stages: tuple[float, float, float, float] = (0.3, 0.35, 0.2, 0.15)
    gauze: tuple[RGB, ...] = ((0.95, 0.94, 0.91),)
    tape: tuple[RGB, ...] = ((0.93, 0.91, 0.86),)
    crepe: tuple[RGB, ...] = ((0.9, 0.82, 0.7),)
    splint: tuple[RGB, ...] = ((0.95, 0.95, 0.95),)
    thread: tuple[RGB, ...] = ((0.05, 0.05, 0.07),)
    steri_strips: float = 0.3
    blood: float = 1.0
    seep: float = 0.5

    def weights(self, severity: float) -> dict[CaseworkKind, float]:
        """Each kind's drawing weight at ``severity``."""
        return {kind: w.at(severity) for kind, w in self.kinds}


HARSH_MIX = InjuryMix(
    name="harsh",
    kinds=(
        (CaseworkKind.HAEMATOMA, KindWeight(1.0)),
        (CaseworkKind.OEDEMA, KindWeight(0.8, 0.8)),
        (CaseworkKind.DEFORMATION, KindWeight(0.4, 1.2)),
        (CaseworkKind.LACERATION, KindWeight(0.6, 0.4)),
        (CaseworkKind.SUTURED_WOUND, KindWeight(0.6)),
        (CaseworkKind.ABRASION, KindWeight(0.6)),
        (CaseworkKind.BURN, KindWeight(0.3)),
        (CaseworkKind.FRESH_BLOOD, KindWeight(0.8, 0.6)),
        (CaseworkKind.DRIED_BLOOD, KindWeight(0.4)),
        (CaseworkKind.SUBCONJUNCTIVAL, KindWeight(0.3)),
        (CaseworkKind.EYE_DRESSING, KindWeight(0.6, 1.8)),
        (CaseworkKind.NOSE_DRESSING, KindWeight(0.5, 1.8)),
        (CaseworkKind.JAW_BANDAGE, KindWeight(0.3, 1.8)),
        (CaseworkKind.HEAD_BANDAGE, KindWeight(0.5, 1.6)),
        (CaseworkKind.CHEEK_DRESSING, KindWeight(0.5, 1.4)),
        (CaseworkKind.PLASTER, KindWeight(0.4, -1.4)),
    ),
    counts=(0.2, 0.3, 0.3, 0.2),
)

HELD_OUT_MIX = InjuryMix(
    name="held-out",
    kinds=(
        (CaseworkKind.HAEMATOMA, KindWeight(0.8)),
        (CaseworkKind.OEDEMA, KindWeight(0.6, 1.0)),
        (CaseworkKind.DEFORMATION, KindWeight(0.8, 1.0)),
        (CaseworkKind.LACERATION, KindWeight(0.8, 0.2)),
        (CaseworkKind.SUTURED_WOUND, KindWeight(0.4)),
        (CaseworkKind.ABRASION, KindWeight(1.0)),
        (CaseworkKind.BURN, KindWeight(0.8, 0.6)),
        (CaseworkKind.FRESH_BLOOD, KindWeight(0.6, 0.8)),
        (CaseworkKind.DRIED_BLOOD, KindWeight(0.8)),
        (CaseworkKind.SUBCONJUNCTIVAL, KindWeight(0.5)),
        (CaseworkKind.EYE_DRESSING, KindWeight(0.4, 1.6)),
        (CaseworkKind.NOSE_DRESSING, KindWeight(0.6, 1.0)),
        (CaseworkKind.JAW_BANDAGE, KindWeight(0.5, 1.0)),
        (CaseworkKind.HEAD_BANDAGE, KindWeight(0.7, 1.0)),
        (CaseworkKind.CHEEK_DRESSING, KindWeight(0.3, 1.4)),
        (CaseworkKind.PLASTER, KindWeight(0.5, -1.0)),
    ),
    counts=(0.1, 0.25, 0.35, 0.3),
    size=1.12,
    intensity=0.85,
    stages=(0.15, 0.25, 0.3, 0.3),
    gauze=((0.9, 0.93, 0.95), (0.97, 0.96, 0.93)),
    tape=((0.96, 0.86, 0.84), (0.85, 0.85, 0.83)),
    crepe=((0.96, 0.95, 0.92), (0.82, 0.72, 0.6)),
    splint=((0.55, 0.7, 0.9), (0.75, 0.76, 0.78)),
    thread=((0.1, 0.12, 0.45), (0.05, 0.05, 0.07)),
    steri_strips=0.6,
    blood=1.25,
    seep=0.7,
)

MIXES = {mix.name: mix for mix in (HARSH_MIX, HELD_OUT_MIX)}
