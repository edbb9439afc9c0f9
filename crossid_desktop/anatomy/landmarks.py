"""The named landmarks of the four views: one table for the whole project.

Every point a skull X-ray or a face photo can carry is named here once per view, with the
tissue it lies on, its counterpart across the soft tissue (a skull point's skin point and the
reverse, where craniofacial practice pairs them), and its label in a published scheme:

- ``xray-side`` (lateral cephalogram): the 19 landmarks of the ISBI 2015 challenge, labels
  ``l1``-``l19`` in the challenge's order (the order of ``data/xray/ceph_dev/landmarks.csv``),
  then further craniometric and soft-tissue profile points without a label.
- ``xray-front`` (postero-anterior skull radiograph): craniometric points of the frontal norm.
- ``face-front`` (frontal photo): the 68 points of the iBUG 300-W scheme (dlib's shape
  predictor), labels ``p1``-``p68`` in that scheme's 1-based numbering (dlib's part index is
  the number minus one), then soft-tissue points outside the scheme.
- ``face-side`` (profile photo): the soft-tissue points of the profile contour.

Names are snake_case; ``_right`` and ``_left`` are the *subject's* sides (in a frontal image the
subject's right lies on the image's left). A skin point that has a skull point of the same name
carries the suffix ``_soft`` (``nasion_soft`` lies over ``nasion``); skin points with names of
their own in anthropometry keep them (``subnasale``, ``pronasale``, ``labrale_superius``, ...).
The same name in two views is the same anatomical point seen in two images (``subnasale`` is
ISBI ``l15`` on the cephalogram and ``p34`` on the frontal photo).
"""

from __future__ import annotations

from dataclasses import dataclass

#: the views, as the command line names them
VIEWS: tuple[str, ...] = ("xray-front", "xray-side", "face-front", "face-side")
#: what a landmark lies on
TISSUES: tuple[str, ...] = ("bone", "tooth", "skin")


@dataclass(frozen=True)
class Landmark:
    """One named point of one view.

    ``counterpart`` is the name of the point across the soft tissue (for a skull point its skin
    point, for a skin point its skull point), or None where practice pairs none; it may lie in
    another view of the same person. ``label`` is the point's label in the view's published
    scheme (``l1``-``l19`` ISBI 2015, ``p1``-``p68`` iBUG 300-W) or None.
    """

    name: str
    view: str
    tissue: str
    counterpart: str | None
    label: str | None
    description: str


# (name, tissue, counterpart, label, description); "{side}" rows expand to _right and _left
_XRAY_SIDE: tuple[tuple[str, str, str | None, str | None, str], ...] = (
    ("sella", "bone", None, "l1", "centre of the sella turcica"),
    ("nasion", "bone", "nasion_soft", "l2", "frontonasal junction: deepest point of the bony profile between glabella and the nasal bones"),
    ("orbitale", "bone", None, "l3", "lowest point of the inferior orbital margin"),
    ("porion", "bone", None, "l4", "top of the external acoustic meatus"),
    ("subspinale", "bone", None, "l5", "A point: deepest point of the anterior maxilla between the nasal spine and prosthion"),
    ("supramentale", "bone", "sublabiale", "l6", "B point: deepest point of the anterior mandible between infradentale and pogonion"),
    ("pogonion", "bone", "pogonion_soft", "l7", "most anterior point of the bony chin"),
    ("menton", "bone", "menton_soft", "l8", "lowest point of the mandibular symphysis"),
    ("gnathion", "bone", "gnathion_soft", "l9", "most anterior-inferior point of the bony chin, between pogonion and menton"),
    ("gonion", "bone", None, "l10", "most posterior-inferior point of the angle of the mandible"),
    ("lower_incisor_tip", "tooth", None, "l11", "incisal edge of the most prominent lower incisor"),
    ("upper_incisor_tip", "tooth", None, "l12", "incisal edge of the most prominent upper incisor"),
    ("labrale_superius", "skin", "prosthion", "l13", "most anterior point of the upper lip"),
    ("labrale_inferius", "skin", "infradentale", "l14", "most anterior point of the lower lip"),
    ("subnasale", "skin", "anterior_nasal_spine", "l15", "junction of the columella and the upper lip"),
    ("pogonion_soft", "skin", "pogonion", "l16", "most anterior point of the soft-tissue chin"),
    ("posterior_nasal_spine", "bone", None, "l17", "tip of the posterior nasal spine"),
    ("anterior_nasal_spine", "bone", "subnasale", "l18", "tip of the anterior nasal spine"),
    ("articulare", "bone", None, "l19", "crossing of the posterior border of the ramus with the cranial base outline"),
    ("vertex", "bone", None, None, "highest point of the vault"),
    ("opisthocranion", "bone", None, None, "most posterior point of the vault"),
    ("glabella", "bone", "glabella_soft", None, "most prominent point of the frontal bone above the nasal root"),
    ("rhinion", "bone", None, None, "lower end of the nasal bones"),
    ("prosthion", "bone", "labrale_superius", None, "lowest, most anterior point of the upper alveolar process"),
    ("infradentale", "bone", "labrale_inferius", None, "highest, most anterior point of the lower alveolar process"),
    ("glabella_soft", "skin", "glabella", None, "most prominent point of the forehead above the nasal root"),
    ("nasion_soft", "skin", "nasion", None, "deepest point of the soft-tissue nasal root"),
    ("pronasale", "skin", None, None, "tip of the nose: its most anterior point"),
    ("stomion", "skin", None, None, "meeting point of the lips"),
    ("sublabiale", "skin", "supramentale", None, "deepest point of the labiomental fold"),
    ("gnathion_soft", "skin", "gnathion", None, "most anterior-inferior point of the soft-tissue chin"),
    ("menton_soft", "skin", "menton", None, "lowest point of the soft-tissue chin"),
)

_XRAY_FRONT: tuple[tuple[str, str, str | None, str | None, str], ...] = (
    ("vertex", "bone", None, None, "highest point of the vault"),
    ("glabella", "bone", None, None, "midline point between the brow ridges, 10 mm above nasion"),
    ("nasion", "bone", None, None, "frontonasal junction on the midline"),
    ("euryon_{side}", "bone", None, None, "most lateral point of the vault"),
    ("zygion_{side}", "bone", "zygion_soft_{side}", None, "most lateral point of the zygomatic arch"),
    ("gonion_{side}", "bone", "gonion_soft_{side}", None, "most lateral-inferior point of the angle of the mandible"),
    ("supraorbitale_{side}", "bone", None, None, "highest point of the upper orbital margin"),
    ("orbitale_{side}", "bone", None, None, "lowest point of the lower orbital margin"),
    ("ectoconchion_{side}", "bone", "exocanthion_{side}", None, "most lateral point of the orbital margin"),
    ("dacryon_{side}", "bone", "endocanthion_{side}", None, "most medial point of the orbital margin"),
    ("alare_{side}", "bone", None, None, "most lateral point of the piriform aperture"),
    ("rhinion", "bone", None, None, "top of the piriform aperture on the midline (lower end of the nasal bones)"),
    ("nasospinale", "bone", "subnasale", None, "lowest point of the piriform aperture's lower margin on the midline"),
    ("prosthion", "bone", "labrale_superius", None, "lowest point of the upper alveolar process on the midline"),
    ("menton", "bone", "menton_soft", None, "lowest point of the mandible on the midline"),
)

# the iBUG 300-W 68-point scheme in its order (p1 first)
_FACE_68: tuple[tuple[str, str | None, str], ...] = (
    *((f"jaw_{k:02d}", None, "jaw line from the subject's right ear level over the chin to the left") for k in range(1, 9)),
    ("jaw_09", None, "chin: the jaw line's lowest point"),
    *((f"jaw_{k:02d}", None, "jaw line from the subject's right ear level over the chin to the left") for k in range(10, 18)),
    *((f"brow_right_{k}", None, "upper edge of the right eyebrow, outer end (1) to inner end (5)") for k in range(1, 6)),
    *((f"brow_left_{k}", None, "upper edge of the left eyebrow, inner end (5) to outer end (1)") for k in range(5, 0, -1)),
    *((f"nose_bridge_{k}", None, "nasal bridge on the midline, from eye level down") for k in range(1, 4)),
    ("pronasale", None, "tip of the nose"),
    ("nostril_right_outer", None, "outer lower end of the right nostril"),
    ("nostril_right", None, "lower edge of the right nostril"),
    ("subnasale", "nasospinale", "junction of the columella and the upper lip"),
    ("nostril_left", None, "lower edge of the left nostril"),
    ("nostril_left_outer", None, "outer lower end of the left nostril"),
    ("exocanthion_right", "ectoconchion_right", "outer corner of the right eye"),
    ("upper_lid_right_1", None, "right upper eyelid, outer third"),
    ("upper_lid_right_2", None, "right upper eyelid, inner third"),
    ("endocanthion_right", "dacryon_right", "inner corner of the right eye"),
    ("lower_lid_right_2", None, "right lower eyelid, inner third"),
    ("lower_lid_right_1", None, "right lower eyelid, outer third"),
    ("endocanthion_left", "dacryon_left", "inner corner of the left eye"),
    ("upper_lid_left_2", None, "left upper eyelid, inner third"),
    ("upper_lid_left_1", None, "left upper eyelid, outer third"),
    ("exocanthion_left", "ectoconchion_left", "outer corner of the left eye"),
    ("lower_lid_left_1", None, "left lower eyelid, outer third"),
    ("lower_lid_left_2", None, "left lower eyelid, inner third"),
    ("cheilion_right", None, "right mouth corner"),
    ("upper_lip_right_1", None, "upper lip's outer edge, right, halfway to the corner"),
    ("upper_lip_right_2", None, "upper lip's outer edge, right peak of the Cupid's bow"),
    ("labrale_superius", "prosthion", "upper lip's outer edge on the midline"),
    ("upper_lip_left_2", None, "upper lip's outer edge, left peak of the Cupid's bow"),
    ("upper_lip_left_1", None, "upper lip's outer edge, left, halfway to the corner"),
    ("cheilion_left", None, "left mouth corner"),
    ("lower_lip_left_1", None, "lower lip's outer edge, left outer third"),
    ("lower_lip_left_2", None, "lower lip's outer edge, left inner third"),
    ("labrale_inferius", None, "lower lip's outer edge on the midline"),
    ("lower_lip_right_2", None, "lower lip's outer edge, right inner third"),
    ("lower_lip_right_1", None, "lower lip's outer edge, right outer third"),
    ("mouth_inner_right", None, "inner end of the lip line, right"),
    ("inner_upper_lip_right", None, "upper lip's inner edge, right third"),
    ("inner_upper_lip_centre", None, "upper lip's inner edge on the midline"),
    ("inner_upper_lip_left", None, "upper lip's inner edge, left third"),
    ("mouth_inner_left", None, "inner end of the lip line, left"),
    ("inner_lower_lip_left", None, "lower lip's inner edge, left third"),
    ("inner_lower_lip_centre", None, "lower lip's inner edge on the midline"),
    ("inner_lower_lip_right", None, "lower lip's inner edge, right third"),
)

_FACE_FRONT_EXTRA: tuple[tuple[str, str, str | None, str | None, str], ...] = (
    ("zygion_soft_{side}", "skin", "zygion_{side}", None, "most lateral point of the cheek over the zygomatic arch"),
    ("gonion_soft_{side}", "skin", "gonion_{side}", None, "jaw contour at the level of the mandibular angle"),
    ("menton_soft", "skin", "menton", None, "lowest point of the chin (the jaw line's jaw_09)"),
    ("pupil_{side}", "skin", None, None, "centre of the pupil"),
)

_FACE_SIDE: tuple[tuple[str, str, str | None, str | None, str], ...] = (
    ("glabella_soft", "skin", "glabella", None, "most prominent point of the forehead above the nasal root"),
    ("nasion_soft", "skin", "nasion", None, "deepest point of the soft-tissue nasal root"),
    ("pronasale", "skin", None, None, "tip of the nose: its most anterior point"),
    ("subnasale", "skin", "anterior_nasal_spine", None, "junction of the columella and the upper lip"),
    ("labrale_superius", "skin", "prosthion", None, "most anterior point of the upper lip"),
    ("stomion", "skin", None, None, "meeting point of the lips"),
    ("labrale_inferius", "skin", "infradentale", None, "most anterior point of the lower lip"),
    ("sublabiale", "skin", "supramentale", None, "deepest point of the labiomental fold"),
    ("pogonion_soft", "skin", "pogonion", None, "most anterior point of the soft-tissue chin"),
    ("gnathion_soft", "skin", "gnathion", None, "most anterior-inferior point of the soft-tissue chin"),
    ("menton_soft", "skin", "menton", None, "lowest point of the soft-tissue chin"),
)


def _expand(view: str, rows: tuple[tuple[str, str, str | None, str | None, str], ...]) -> list[Landmark]:
    """Table rows to landmarks, a ``{side}`` row becoming its ``_right`` and ``_left`` points."""
    out = []
    for name, tissue, counterpart, label, description in rows:
        for side in ("right", "left") if "{side}" in name else ("",):
            partner = counterpart.format(side=side) if counterpart else None
            text = f"{description} ({side})" if side else description
            out.append(Landmark(name.format(side=side), view, tissue, partner, label, text))
    return out


def _face_front() -> list[Landmark]:
    scheme = [Landmark(name, "face-front", "skin", partner, f"p{k}", text) for k, (name, partner, text) in enumerate(_FACE_68, 1)]
    return scheme + _expand("face-front", _FACE_FRONT_EXTRA)


#: every landmark of every view, in each view's table order
LANDMARKS: tuple[Landmark, ...] = (
    *_expand("xray-front", _XRAY_FRONT),
    *_expand("xray-side", _XRAY_SIDE),
    *_face_front(),
    *_expand("face-side", _FACE_SIDE),
)


def landmarks_of(view: str) -> tuple[Landmark, ...]:
    """The landmarks of ``view`` (one of :data:`VIEWS`) in table order."""
    if view not in VIEWS:
        raise ValueError(f"There is no landmark view {view!r}; the views are {', '.join(VIEWS)}.")
    return tuple(mark for mark in LANDMARKS if mark.view == view)


def landmark_names(view: str) -> tuple[str, ...]:
    """The names of the landmarks of ``view`` in table order."""
    return tuple(mark.name for mark in landmarks_of(view))


def find_landmark(view: str, name: str) -> Landmark:
    """The landmark ``name`` of ``view``; ValueError when the view has no such point."""
    for mark in landmarks_of(view):
        if mark.name == name:
            return mark
    raise ValueError(f"The view {view} has no landmark named {name!r}.")


#: the 19 ISBI 2015 cephalometric landmarks of a lateral X-ray, in label order l1..l19
ISBI_LANDMARKS: tuple[Landmark, ...] = tuple(
    sorted((m for m in LANDMARKS if m.view == "xray-side" and m.label), key=lambda m: int(m.label[1:]))  # type: ignore[index]
)
#: the 68 iBUG 300-W points of a frontal photo, in scheme order p1..p68
FACE_68_LANDMARKS: tuple[Landmark, ...] = tuple(m for m in LANDMARKS if m.view == "face-front" and m.label)
