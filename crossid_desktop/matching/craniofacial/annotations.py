"""Landmarks from a data set's annotations, exact or with simulated measurement error.

Training reads the annotations exactly. Evaluating before (or beside) the landmark detectors
needs landmarks as a detector would give them: each point moved by Gaussian noise of a stated
size, a point outside the image reported missing (a detector cannot see it), and each point's
standard deviation stated, as a detector states it. :class:`MeasurementNoise` sets the size:
X-ray points in millimetres at the skull (automatic cephalometric detectors reach a mean radial
error of 1.2-1.9 mm, METHODS.md section 4), photo points as a fraction of the face's height
(eye-level midline to chin on a frontal photo, soft-tissue nasion to chin on a profile; the
bundled frontal face detector's mean radial error on unseen synthetic people is 0.74 %,
docs/RESULTS.md section 6.2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from crossid_desktop.datasets.landmark_annotations import AnnotatedImage, AnnotatedPerson
from crossid_desktop.matching.craniofacial.fit import PairedPerson
from crossid_desktop.matching.craniofacial.points import Landmarks

#: mean radial error of an isotropic 2-D Gaussian per unit of its per-axis deviation
MRE_PER_SD = math.sqrt(math.pi / 2.0)
_FACE_HEIGHT = {"face-front": ("nose_bridge_1", "jaw_09"), "face-side": ("nasion_soft", "menton_soft")}


@dataclass(frozen=True)
class MeasurementNoise:
    """Simulated landmark error as mean radial errors: ``xray_mre_mm`` (mm at the skull) and
    ``face_mre`` (fraction of the face's height). ``spacing_known``: whether the X-ray's pixel
    spacing is handed over (a DICOM with a calibrated spacing) or not (a plain image file)."""

    xray_mre_mm: float = 2.0
    face_mre: float = 0.01
    spacing_known: bool = False

    def describe(self) -> str:
        return (f"simulated landmark error: X-ray mean radial error {self.xray_mre_mm:g} mm, photo {100 * self.face_mre:g} % of the "
                f"face height; X-ray pixel spacing {'known' if self.spacing_known else 'unknown'}")


EXACT = MeasurementNoise(0.0, 0.0, True)


def face_height(image: AnnotatedImage) -> float:
    """The face's height in the photo's pixels (see the module docstring)."""
    top, bottom = _FACE_HEIGHT[image.view]
    (x0, y0), (x1, y1) = image.points[top], image.points[bottom]
    return float(math.hypot(x1 - x0, y1 - y0))


def measured(image: AnnotatedImage, noise: MeasurementNoise, rng: np.random.Generator | None) -> Landmarks:
    """The annotated points of ``image`` as :class:`Landmarks`, moved by ``noise`` (exact when its
    error is 0 or ``rng`` is None); points outside the image are missing when noise is simulated."""
    if image.view.startswith("xray"):
        if image.spacing_mm is None:
            raise ValueError(f"The X-ray {image.name} has no known pixel spacing to size its simulated error.")
        sd = noise.xray_mre_mm / MRE_PER_SD / image.spacing_mm
    else:
        sd = noise.face_mre / MRE_PER_SD * face_height(image)
    names = list(image.points)
    xy = np.array([image.points[n] for n in names], dtype=np.float64)
    simulated = rng is not None and sd > 0
    if simulated:
        xy = xy + rng.normal(0.0, sd, size=xy.shape)
        if image.image_size:
            outside = ((xy < -0.5) | (xy > image.image_size - 0.5)).any(axis=1)
            xy[outside] = np.nan
    points = {n: None if np.isnan(p[0]) else (float(p[0]), float(p[1])) for n, p in zip(names, xy)}
    spacing = image.spacing_mm if (image.view.startswith("xray") and (noise.spacing_known or not simulated)) else None
    return Landmarks.from_points(image.view, points, sd=float(sd), source="annotation" if not simulated else "annotation + simulated error",
                                 spacing_mm=spacing, spacing_source="annotation" if spacing else None)


def paired_person(person: AnnotatedPerson, noise: MeasurementNoise = EXACT, rng: np.random.Generator | None = None) -> PairedPerson:
    """A person's X-rays and photos as landmarks (``noise`` applied to every image)."""
    skulls: dict[str, Landmarks] = {}
    photos: dict[str, list[Landmarks]] = {}
    names: dict[str, list[str]] = {}
    for image in person.images.values():
        marks = measured(image, noise, rng)
        if image.view.startswith("xray"):
            skulls[image.view] = marks
        else:
            photos.setdefault(image.view, []).append(marks)
            names.setdefault(image.view, []).append(image.name)
    return PairedPerson(person.subject_id, person.sex, person.age, skulls, {view: tuple(p) for view, p in photos.items()},
                        {view: tuple(n) for view, n in names.items()})


def paired_people(people: Mapping[str, AnnotatedPerson], noise: MeasurementNoise = EXACT, seed: int = 0) -> list[PairedPerson]:
    """Every person of an annotated set, in subject order (noise drawn from ``seed``)."""
    rng = np.random.default_rng(seed) if noise != EXACT else None
    return [paired_person(people[sid], noise, rng) for sid in sorted(people)]
