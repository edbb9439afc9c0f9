"""Which skull points predict which face points: the two view pairs of craniofacial comparison.

A frontal skull X-ray is compared with frontal face photos, a lateral one with profile photos.
Each :class:`ViewPair` names the skull landmarks it reads (bone and teeth, never the X-ray's
own skin line: the skull is the evidence), the face landmarks it predicts, and the pairs of
corresponding points across the soft tissue (:data:`CORRESPONDENCES`): a skin point lies at
a soft-tissue depth from its skull point, in a direction fixed in the canonical frame (the
frame the skull is brought to before anything is predicted):

* frontal: origin at nasion, ``x`` along the line from the right to the left orbitale (image
  right; the subject's left), ``y`` downwards;
* lateral: origin at nasion, ``x`` along the Frankfort horizontal from porion to orbitale
  (forwards: the face looks along +x), ``y`` downwards.

The published depth (:mod:`crossid_desktop.anatomy.soft_tissue`) applies where the depth is
measured across the line of sight (a frontal view sees the cheek's and the jaw's depth, not
the lips'); the other pairs are corresponding points with a learned offset (the eye corners
lie inside the orbit's margins, subnasale below the nasal spine).
"""

from __future__ import annotations

from dataclasses import dataclass

from crossid_desktop.anatomy.landmarks import landmarks_of
from crossid_desktop.anatomy.soft_tissue import TissueDepth, tissue_depth


@dataclass(frozen=True)
class Correspondence:
    """A skull point and the skin point over it: ``direction`` is the unit vector (canonical
    frame) along which the published ``depth`` is measured, or None for a pair without one."""

    skull: str
    face: str
    direction: tuple[float, float]
    published: bool

    def depth(self) -> TissueDepth | None:
        """The published depth over the skull point, where it applies in this view."""
        return tissue_depth(self.skull) if self.published else None


@dataclass(frozen=True)
class ViewPair:
    """``skull_view`` X-ray compared with ``face_view`` photos."""

    name: str  # "front" | "side"
    skull_view: str
    face_view: str
    skull_names: tuple[str, ...]
    face_names: tuple[str, ...]
    #: the two skull points whose line is the canonical x axis (from, to)
    axis: tuple[str, str]
    correspondences: tuple[Correspondence, ...]


_OUT_RIGHT, _OUT_LEFT, _DOWN, _FORWARD = (-1.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 0.0)
_DIAGONAL = (0.7071067811865476, 0.7071067811865476)

_FRONT_PAIRS = (
    Correspondence("zygion_right", "zygion_soft_right", _OUT_RIGHT, True),
    Correspondence("zygion_left", "zygion_soft_left", _OUT_LEFT, True),
    Correspondence("gonion_right", "gonion_soft_right", _OUT_RIGHT, True),
    Correspondence("gonion_left", "gonion_soft_left", _OUT_LEFT, True),
    Correspondence("menton", "jaw_09", _DOWN, True),
    Correspondence("ectoconchion_right", "exocanthion_right", _OUT_LEFT, False),
    Correspondence("ectoconchion_left", "exocanthion_left", _OUT_RIGHT, False),
    Correspondence("dacryon_right", "endocanthion_right", _OUT_RIGHT, False),
    Correspondence("dacryon_left", "endocanthion_left", _OUT_LEFT, False),
    Correspondence("nasospinale", "subnasale", _DOWN, False),
    Correspondence("prosthion", "labrale_superius", _DOWN, False),
)
_SIDE_PAIRS = (
    Correspondence("glabella", "glabella_soft", _FORWARD, True),
    Correspondence("nasion", "nasion_soft", _FORWARD, True),
    Correspondence("anterior_nasal_spine", "subnasale", _FORWARD, False),
    Correspondence("prosthion", "labrale_superius", _FORWARD, True),
    Correspondence("infradentale", "labrale_inferius", _FORWARD, True),
    Correspondence("supramentale", "sublabiale", _FORWARD, True),
    Correspondence("pogonion", "pogonion_soft", _FORWARD, True),
    Correspondence("gnathion", "gnathion_soft", _DIAGONAL, True),
    Correspondence("menton", "menton_soft", _DOWN, True),
)

#: frontal-photo points left out: ``menton_soft`` is ``jaw_09`` under another name, and the
#: inner lip line's centre and thirds are one point each for a closed mouth
_FRONT_FACE_EXCLUDED = ("menton_soft", "inner_lower_lip_centre", "inner_lower_lip_right", "inner_lower_lip_left")


def _skull_points(view: str) -> tuple[str, ...]:
    return tuple(m.name for m in landmarks_of(view) if m.tissue != "skin")


FRONT = ViewPair(
    name="front",
    skull_view="xray-front",
    face_view="face-front",
    skull_names=_skull_points("xray-front"),
    face_names=tuple(m.name for m in landmarks_of("face-front") if m.name not in _FRONT_FACE_EXCLUDED),
    axis=("orbitale_right", "orbitale_left"),
    correspondences=_FRONT_PAIRS,
)
SIDE = ViewPair(
    name="side",
    skull_view="xray-side",
    face_view="face-side",
    skull_names=_skull_points("xray-side"),
    face_names=tuple(m.name for m in landmarks_of("face-side")),
    axis=("porion", "orbitale"),
    correspondences=_SIDE_PAIRS,
)
VIEW_PAIRS: dict[str, ViewPair] = {"front": FRONT, "side": SIDE}


def view_pair(name: str) -> ViewPair:
    """The view pair ``"front"`` or ``"side"``."""
    try:
        return VIEW_PAIRS[name]
    except KeyError:
        raise ValueError(f"There is no craniofacial view {name!r}; the views are front and side.") from None


def pair_for_skull_view(skull_view: str) -> ViewPair:
    """The view pair of an X-ray view (``xray-front`` or ``xray-side``)."""
    for pair in VIEW_PAIRS.values():
        if pair.skull_view == skull_view:
            return pair
    raise ValueError(f"{skull_view!r} is not a skull X-ray view.")


def pair_for_face_view(face_view: str) -> ViewPair:
    """The view pair of a photo view (``face-front`` or ``face-side``)."""
    for pair in VIEW_PAIRS.values():
        if pair.face_view == face_view:
            return pair
    raise ValueError(f"{face_view!r} is not a face-photo view.")
