"""Identity parameters of a simulated person: skull, soft tissue, appearance, and per-image nuisance.

All lengths are in millimetres in a head frame with its origin at nasion: ``x`` runs to the
subject's left, ``y`` downwards and ``z`` forwards. Skull measurements are drawn from adult
anthropometric ranges, shifted by sex and (for tissue) by age and a body-build factor. A
shared size factor couples the skull measurements as real skulls are coupled; independent
shape factors give each person a configuration of their own.

The face geometry *follows* from the skull and the tissue thickness (see :class:`FaceGeometry`),
so identity is shared by the X-rays and the photos. Appearance (skin, hair, eyes) is drawn from
a separate random stream and is independent of the skull.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: (male mean, female mean, standard deviation, loading on the shared size factor)
_SKULL_RANGES: dict[str, tuple[float, float, float, float]] = {
    "cranial_width": (141.0, 135.0, 5.5, 0.5),  # eurion-eurion
    "cranial_length": (186.0, 178.0, 6.5, 0.5),  # glabella-opisthocranion
    "cranial_height": (136.0, 129.0, 5.5, 0.5),  # basion-bregma
    "face_height": (121.0, 111.0, 6.0, 0.45),  # nasion-gnathion
    "bizygomatic_width": (133.0, 124.0, 5.5, 0.45),
    "orbit_width": (40.5, 39.0, 1.7, 0.3),
    "orbit_height": (33.5, 33.5, 1.8, 0.2),
    "interorbital_breadth": (21.5, 20.5, 2.2, 0.2),  # dacryon-dacryon
    "nasal_width": (24.5, 23.5, 2.0, 0.2),  # piriform aperture
    "nasal_height": (53.0, 49.0, 3.0, 0.4),  # nasion-nasospinale
    "maxilla_width": (97.0, 92.0, 4.5, 0.4),  # zygomaxillare breadth
    "bigonial_width": (101.0, 93.0, 6.0, 0.4),
    "gonial_angle": (121.0, 126.0, 5.5, 0.0),  # degrees
    "ramus_height": (60.0, 54.0, 4.0, 0.4),
    "chin_width": (46.0, 42.0, 3.5, 0.3),
    "chin_projection": (4.0, 2.5, 2.5, 0.0),  # pogonion ahead of the incisor line
}

#: mean soft-tissue thickness (mm) at the craniometric points (adult, normal build)
_TISSUE_MEANS: dict[str, float] = {
    "glabella": 5.5,
    "nasion": 6.5,
    "rhinion": 2.8,
    "mid_philtrum": 11.5,
    "upper_lip": 12.0,
    "lower_lip": 13.0,
    "pogonion": 11.0,
    "menton": 7.5,
    "gonion": 13.0,
    "zygion": 7.0,
    "supraorbital": 6.0,
    "infraorbital": 6.5,
    "alare": 10.0,
    "scalp": 5.5,
}

SKIN_TONES: tuple[tuple[int, int, int], ...] = (
    (241, 205, 180), (232, 190, 160), (224, 172, 138), (198, 144, 108),
    (171, 117, 84), (141, 92, 63), (110, 70, 48), (236, 198, 170),
)
HAIR_COLOURS: tuple[tuple[int, int, int], ...] = (
    (30, 24, 22), (60, 42, 30), (100, 70, 45), (150, 110, 70), (200, 170, 110),
    (120, 50, 30), (150, 150, 150), (210, 210, 205),
)
EYE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (70, 45, 30), (110, 75, 40), (60, 110, 150), (90, 130, 90), (120, 120, 130), (40, 30, 25),
)
HAIR_STYLES: tuple[str, ...] = ("short", "long", "bald", "fringe", "bun")

_FIRST_NAMES = {
    "F": ("Ayla", "Marisol", "Ingrid", "Keiko", "Amara", "Zofia", "Leilani", "Noor", "Saoirse", "Thandi", "Priya", "Elin"),
    "M": ("Tariq", "Björn", "Kenji", "Mateo", "Obinna", "Pavel", "Rangi", "Idris", "Ciarán", "Arjun", "Luca", "Sipho"),
}
_SURNAMES = ("Quillmore", "Varrow", "Oshendi", "Brannock", "Nakamora", "Velisar", "Ternholt", "Abadeyo",
             "Lindqvern", "Castrel", "Mbeluzi", "Hartwyn", "Sorvanen", "Delacourt", "Ferrazi", "Kowalind")


@dataclass(frozen=True)
class SkullParams:
    """Skull measurements in mm (angles in degrees); names follow craniometry."""

    cranial_width: float
    cranial_length: float
    cranial_height: float
    face_height: float
    bizygomatic_width: float
    orbit_width: float
    orbit_height: float
    interorbital_breadth: float
    nasal_width: float
    nasal_height: float
    maxilla_width: float
    bigonial_width: float
    gonial_angle: float
    ramus_height: float
    chin_width: float
    chin_projection: float


@dataclass(frozen=True)
class TissueParams:
    """Soft-tissue thickness in mm at the craniometric points."""

    glabella: float
    nasion: float
    rhinion: float
    mid_philtrum: float
    upper_lip: float
    lower_lip: float
    pogonion: float
    menton: float
    gonion: float
    zygion: float
    supraorbital: float
    infraorbital: float
    alare: float
    scalp: float


@dataclass(frozen=True)
class Appearance:
    """Surface appearance, independent of the skull: colours are RGB uint8 triples."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str
    eye: tuple[int, int, int]
    eyebrow_thickness: float  # mm
    lip_tint: float  # 0..1, how red the lips are against the skin
    ear_protrusion: float  # mm beyond the head outline in a frontal view


@dataclass(frozen=True)
class Subject:
    """One simulated person."""

    subject_id: str
    name: str
    sex: str  # "F" or "M"
    age: int  # years
    skull: SkullParams
    tissue: TissueParams
    appearance: Appearance

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FaceGeometry:
    """Where the face surface lies, derived from skull + tissue (mm, nasion origin).

    ``eye_y`` is the level of the orbit (and eye) centres; ``eye_dx`` half their distance.
    """

    eye_y: float
    eye_dx: float
    cheek_half_width: float  # (bizygomatic + 2 * zygion tissue) / 2
    cheek_y: float
    jaw_half_width: float  # (bigonial + 2 * gonion tissue) / 2
    jaw_y: float
    chin_half_width: float
    chin_y: float  # soft-tissue menton
    head_half_width: float  # cranial width / 2 + scalp
    vertex_y: float  # top of the head (negative: above nasion)
    nose_half_width: float  # alar half-width
    nose_y: float  # subnasale
    nose_projection: float  # pronasale ahead of the nasion
    mouth_y: float
    mouth_half_width: float
    brow_y: float


def face_geometry(subject: Subject) -> FaceGeometry:
    """The face surface implied by the skull and the tissue thickness of ``subject``."""
    s, t = subject.skull, subject.tissue
    eye_y = 0.32 * s.orbit_height
    eye_dx = (s.interorbital_breadth + s.orbit_width) / 2
    upper_face = s.nasal_height + 0.3 * (s.face_height - s.nasal_height)  # nasion-stomion level
    return FaceGeometry(
        eye_y=eye_y,
        eye_dx=eye_dx,
        cheek_half_width=s.bizygomatic_width / 2 + t.zygion,
        cheek_y=eye_y + 12.0,
        jaw_half_width=s.bigonial_width / 2 + t.gonion,
        jaw_y=mandible_profile(s)[1][1],
        chin_half_width=s.chin_width / 2 + 0.5 * t.pogonion,
        chin_y=s.face_height + t.menton,
        head_half_width=s.cranial_width / 2 + t.scalp,
        vertex_y=-(s.cranial_height - 27.0) - t.scalp,
        nose_half_width=s.nasal_width / 2 + t.alare * 0.55,
        nose_y=s.nasal_height + 0.25 * t.mid_philtrum,
        nose_projection=0.55 * s.nasal_height * 0.45 + t.rhinion + 8.0,
        mouth_y=upper_face + 0.35 * t.upper_lip,
        mouth_half_width=0.27 * s.maxilla_width,
        brow_y=eye_y - 0.62 * s.orbit_height - 0.3 * t.supraorbital,
    )


def mandible_profile(skull: SkullParams) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """Condylion, gonion and menton as ``(z, y)`` in mm (lateral view, nasion origin).

    The ramus runs down from the condyle (tilted 6 degrees back) for ``ramus_height``; the
    body leaves the gonion at ``gonial_angle`` to the ramus and ends at the menton, at
    ``face_height`` below nasion.
    """
    tilt = np.radians(6.0)
    cz, cy = -60.0 - 0.15 * (skull.cranial_length - 180.0), 18.0
    gz, gy = cz - skull.ramus_height * np.sin(tilt), cy + skull.ramus_height * np.cos(tilt)
    direction = np.arctan2(-np.cos(tilt), np.sin(tilt)) + np.radians(skull.gonial_angle)
    t = (skull.face_height - gy) / max(np.sin(direction), 0.2)
    mz = float(np.clip(gz + t * np.cos(direction), -40.0, 5.0))
    return (float(cz), float(cy)), (float(gz), float(gy)), (mz, float(skull.face_height))


def draw_subject(seed: int, index: int) -> Subject:
    """Draw person number ``index`` (0-based) of the cohort with ``seed``.

    Each person has their own random streams (skull, appearance), so a person does not depend
    on how many others are drawn, and appearance is independent of the skull.
    """
    root = np.random.SeedSequence([seed, index, 0x5EED])
    skull_seq, look_seq, who_seq = root.spawn(3)
    who = np.random.default_rng(who_seq)
    sex = "F" if who.random() < 0.5 else "M"
    age = int(who.integers(18, 81))
    first = _FIRST_NAMES[sex][int(who.integers(len(_FIRST_NAMES[sex])))]
    last = _SURNAMES[int(who.integers(len(_SURNAMES)))]
    name = f"{first} {last}"

    rng = np.random.default_rng(skull_seq)
    size = rng.standard_normal()
    skull_values: dict[str, float] = {}
    for key, (male, female, sd, loading) in _SKULL_RANGES.items():
        mean = male if sex == "M" else female
        z = loading * size + np.sqrt(1.0 - loading**2) * rng.standard_normal()
        skull_values[key] = round(float(mean + sd * np.clip(z, -2.8, 2.8)), 2)
    skull = SkullParams(**skull_values)

    build = rng.standard_normal()  # body build: thicker tissue everywhere
    age_gain = 1.0 + 0.004 * (age - 40)  # tissue slowly thickens (and sags) with age
    tissue_values = {
        key: round(float(mean * age_gain * np.exp(0.18 * build + 0.12 * rng.standard_normal())), 2)
        for key, mean in _TISSUE_MEANS.items()
    }
    if sex == "M":
        tissue_values["upper_lip"] = round(tissue_values["upper_lip"] * 1.08, 2)
    tissue = TissueParams(**tissue_values)

    look = np.random.default_rng(look_seq)
    appearance = Appearance(
        skin=_jitter(SKIN_TONES[int(look.integers(len(SKIN_TONES)))], look, 8),
        hair=_jitter(HAIR_COLOURS[int(look.integers(len(HAIR_COLOURS)))], look, 10),
        hair_style=HAIR_STYLES[int(look.integers(len(HAIR_STYLES)))],
        eye=_jitter(EYE_COLOURS[int(look.integers(len(EYE_COLOURS)))], look, 10),
        eyebrow_thickness=round(float(look.uniform(2.0, 6.0)), 2),
        lip_tint=round(float(look.uniform(0.2, 0.8)), 3),
        ear_protrusion=round(float(look.uniform(3.0, 8.0)), 2),
    )
    return Subject(f"S{index + 1:04d}", name, sex, age, skull, tissue, appearance)


def _jitter(colour: tuple[int, int, int], rng: np.random.Generator, amount: int) -> tuple[int, int, int]:
    """Vary a colour's brightness by up to ``amount`` percent, and each channel by a few levels."""
    brightness = 1.0 + rng.uniform(-amount, amount) / 100.0
    values = np.clip(np.asarray(colour) * brightness + rng.integers(-3, 4, size=3), 0, 255).round()
    return (int(values[0]), int(values[1]), int(values[2]))


@dataclass(frozen=True)
class Nuisance:
    """Per-image variation that says nothing about identity.

    ``angle`` in degrees (in-plane), ``shift`` in fractions of the image side, ``scale`` a
    factor, ``light`` a unit-ish direction (x, y, z) for photos, ``gamma``/``contrast`` for
    X-ray exposure, ``smile`` and ``brow_raise`` in -1..1, ``background`` two RGB colours.
    """

    angle: float
    shift: tuple[float, float]
    scale: float
    light: tuple[float, float, float]
    gamma: float
    contrast: float
    smile: float
    brow_raise: float
    background: tuple[tuple[int, int, int], tuple[int, int, int]]
    noise_seed: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_BACKGROUNDS = ((200, 205, 212), (120, 140, 170), (225, 225, 220), (90, 100, 110), (170, 190, 200), (60, 70, 90))


def draw_nuisance(rng: np.random.Generator, *, max_angle: float = 4.0, max_shift: float = 0.02, max_scale: float = 0.03) -> Nuisance:
    """Draw the per-image variation of one photo or X-ray."""
    lx, ly = rng.uniform(-0.7, 0.7), rng.uniform(-0.6, 0.2)
    lz = 1.0
    norm = float(np.sqrt(lx * lx + ly * ly + lz * lz))
    a, b = rng.choice(len(_BACKGROUNDS), size=2, replace=False)
    return Nuisance(
        angle=round(float(rng.uniform(-max_angle, max_angle)), 3),
        shift=(round(float(rng.uniform(-max_shift, max_shift)), 4), round(float(rng.uniform(-max_shift, max_shift)), 4)),
        scale=round(float(np.exp(rng.uniform(-max_scale, max_scale))), 4),
        light=(round(lx / norm, 4), round(ly / norm, 4), round(lz / norm, 4)),
        gamma=round(float(rng.uniform(0.8, 1.25)), 3),
        contrast=round(float(rng.uniform(0.85, 1.1)), 3),
        smile=round(float(rng.uniform(-0.3, 1.0)), 3),
        brow_raise=round(float(rng.uniform(-1.0, 1.0)), 3),
        background=(_BACKGROUNDS[int(a)], _BACKGROUNDS[int(b)]),
        noise_seed=int(rng.integers(0, 2**31 - 1)),
    )
