"""Ground-truth landmark positions of every synthetic image, in the image's own pixels.

A landmark's head-frame position (mm; :mod:`crossid_desktop.synth.truth_skull`,
:mod:`crossid_desktop.synth.truth_face`) goes through the very frame the image was drawn with
(pose, shift and scale nuisance), so the pixel position is where the renderer put the point.
Pixel coordinates are ``(x, y)`` = (column, row) with the centre of the top-left pixel at
``(0, 0)``; a point may lie outside the image (a chin below a tightly framed photo) and is then
given as it is, beyond ``[0, size)``, never clipped.
"""

from __future__ import annotations

from crossid_desktop.anatomy.landmarks import landmark_names
from crossid_desktop.synth.contour import Point
from crossid_desktop.synth.face import frontal_frame
from crossid_desktop.synth.face_profile import side_frame
from crossid_desktop.synth.params import Nuisance, Subject
from crossid_desktop.synth.raster import Frame
from crossid_desktop.synth.skull import xray_front_frame, xray_side_frame
from crossid_desktop.synth.truth_face import face_front_landmarks_mm, face_side_landmarks_mm
from crossid_desktop.synth.truth_skull import xray_front_landmarks_mm, xray_side_landmarks_mm

#: decimals kept for pixel positions (and mm) in params.json
DECIMALS = 2


def subject_landmarks_mm(subject: Subject) -> dict[str, dict[str, Point]]:
    """The head-frame landmarks (mm) of the views whose points do not depend on the image:
    ``xray-front``, ``xray-side`` (bone and skin profile) and ``face-side``, each in table order."""
    profile = face_side_landmarks_mm(subject)
    found = {
        "xray-front": xray_front_landmarks_mm(subject),
        "xray-side": {**xray_side_landmarks_mm(subject), **profile},
        "face-side": profile,
    }
    return {view: _in_table_order(view, marks) for view, marks in found.items()}


def _in_table_order(view: str, marks: dict[str, Point]) -> dict[str, Point]:
    names = landmark_names(view)
    if set(names) != set(marks):
        missing, extra = sorted(set(names) - set(marks)), sorted(set(marks) - set(names))
        raise ValueError(f"The {view} ground truth does not match the landmark table (missing {missing}, extra {extra}).")
    return {name: marks[name] for name in names}


def image_frame(view: str, subject: Subject, nuisance: Nuisance, size: int) -> Frame:
    """The frame (mm to pixels) the image of ``view`` was drawn with."""
    if view == "xray-front":
        return xray_front_frame(nuisance, size)
    if view == "xray-side":
        return xray_side_frame(nuisance, size)
    if view == "face-front":
        return frontal_frame(subject, nuisance, size)
    if view == "face-side":
        return side_frame(nuisance, size)
    raise ValueError(f"There is no landmark view {view!r}.")


def image_landmarks(view: str, subject: Subject, nuisance: Nuisance, size: int,
                    mm: dict[str, dict[str, Point]] | None = None) -> dict[str, Point]:
    """Pixel positions ``{name: (x, y)}`` of the landmarks of one image of ``view``, in table order.

    ``mm`` (from :func:`subject_landmarks_mm`) saves recomputing the head-frame points of a
    person with several images; the frontal photo's points follow its own expression.
    """
    if view == "face-front":
        marks = _in_table_order(view, face_front_landmarks_mm(subject, nuisance))
    else:
        marks = (mm or subject_landmarks_mm(subject))[view]
    pixels = image_frame(view, subject, nuisance, size).px(list(marks.values()))
    return {name: (round(float(x), DECIMALS), round(float(y), DECIMALS)) for name, (x, y) in zip(marks, pixels)}
