"""Adult facial soft-tissue thickness between paired skull and skin landmarks (mm, mean and spread).

Craniofacial superimposition places each skin landmark at a distance from its skull landmark
(the soft-tissue thickness, or depth) that varies between people; a pair is a distance with a
spread, not a point. This module holds the reference depths the software starts from, as
priors: a matcher refits them from paired data where it has any.

Sources and their limits:

- ``T-Table``: C. N. Stephan and E. K. Simpson, "Facial soft tissue depths in craniofacial
  identification (part I): an analytical review of the published adult data", J. Forensic Sci.
  53(6):1257-1272 (2008), and its update, C. N. Stephan, "The application of the central limit
  theorem and the law of large numbers to facial soft tissue depths: T-Table robustness and
  trends since 2008", J. Forensic Sci. 59(2):454-462 (2014; the "2013 T-Table"). Grand means of
  all published adult studies, sexes, ages and builds pooled; spreads are between-person
  standard deviations. The authors show that sex and ancestry shift most depths by 1-2 mm at
  most, less than the spread between studies' measurement methods, and recommend the pooled
  values for casework.
- S. De Greef et al., "Large-scale in-vivo Caucasian facial soft tissue thickness database for
  craniofacial reconstruction", Forensic Sci. Int. 159S:S126-S146 (2006): ultrasound at 52
  landmarks on 967 adults, tabulated by sex, age and body-mass index; and De Greef et al.,
  Forensic Sci. Med. Pathol. 5:60-65 (2009): build (BMI) is the dominant factor, age and sex
  matter at some landmarks only.

The values below were entered from those tables without the tables at hand (this build had no
access to the papers), rounded to 0.5 mm; every entry is marked ``verified=False`` until someone
checks it against the source. Sex-, age- and build-specific values (De Greef 2006, Tables 3-5)
are not entered for the same reason: :func:`tissue_depth` says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

T_TABLE = "Stephan & Simpson 2008; Stephan 2014 (2013 T-Table), adults, sexes pooled"


@dataclass(frozen=True)
class TissueDepth:
    """Soft-tissue thickness (mm) between a skull landmark and the skin over it.

    ``skin`` is the skin landmark of :mod:`crossid_desktop.anatomy.landmarks` where one is
    named, or None where the published depth is measured at a skin point the table does not
    name (over rhinion, mid-philtrum over A point, over the orbital margins). ``group`` is who
    the figures describe; ``verified`` says whether the entry was checked against its source.
    """

    bone: str
    skin: str | None
    mean_mm: float
    sd_mm: float
    group: str
    source: str
    verified: bool = False


def _pooled(bone: str, skin: str | None, mean: float, sd: float) -> TissueDepth:
    return TissueDepth(bone, skin, mean, sd, "adults", T_TABLE)


#: the reference depths, midline first; bilateral points under the subject's right-side names
#: (the published depths are unilateral; the left side takes the same values)
DEPTHS: tuple[TissueDepth, ...] = (
    _pooled("glabella", "glabella_soft", 5.5, 1.5),
    _pooled("nasion", "nasion_soft", 6.5, 1.5),
    _pooled("rhinion", None, 3.0, 1.0),
    _pooled("subspinale", None, 11.5, 2.5),  # mid-philtrum, measured towards A point
    _pooled("prosthion", "labrale_superius", 12.0, 2.5),
    _pooled("infradentale", "labrale_inferius", 13.0, 2.5),
    _pooled("supramentale", "sublabiale", 11.0, 2.0),  # mentolabial sulcus
    _pooled("pogonion", "pogonion_soft", 11.0, 2.5),
    _pooled("gnathion", "gnathion_soft", 8.0, 2.0),
    _pooled("menton", "menton_soft", 7.0, 2.0),
    _pooled("supraorbitale_right", None, 6.0, 1.5),
    _pooled("orbitale_right", None, 6.5, 2.0),  # infraorbital
    _pooled("zygion_right", "zygion_soft_right", 6.5, 2.0),
    _pooled("gonion_right", "gonion_soft_right", 14.0, 4.5),
)


def _mirror(name: str) -> str:
    return name.replace("_left", "_right")


def tissue_depth(bone: str, *, sex: str | None = None, build: str | None = None) -> TissueDepth:
    """The reference depth over the skull landmark ``bone`` (either side for bilateral points).

    ``sex`` and ``build`` ask for a group-specific value; none is entered yet (see the module
    notes), so asking for one raises ValueError rather than silently giving the pooled value.
    """
    if sex is not None or build is not None:
        raise ValueError("Sex- and build-specific soft-tissue depths are not entered yet; use the pooled adult values.")
    for depth in DEPTHS:
        if depth.bone == _mirror(bone):
            if bone.endswith("_left"):
                skin = depth.skin.replace("_right", "_left") if depth.skin else None
                return TissueDepth(bone, skin, depth.mean_mm, depth.sd_mm, depth.group, depth.source, depth.verified)
            return depth
    raise ValueError(f"No published soft-tissue depth is entered for the landmark {bone!r}.")


def paired_landmarks() -> tuple[tuple[str, str], ...]:
    """``(bone, skin)`` name pairs with a reference depth, both sides of bilateral points."""
    pairs = []
    for depth in DEPTHS:
        if depth.skin is None:
            continue
        pairs.append((depth.bone, depth.skin))
        if depth.bone.endswith("_right"):
            pairs.append((depth.bone.replace("_right", "_left"), depth.skin.replace("_right", "_left")))
    return tuple(pairs)
