"""Preparing an injured-face query so that its injuries weigh as little as possible.

The recipe (:class:`InjuryAwareRecipe`, stored in the model card's ``preprocessing.query``
entry under ``"injury_aware"``) chains:

1. the face found and aligned as any query (``matching/preprocess.py``: which face, a centre
   crop only when asked for);
2. the injury segmenter (``matching/injury_segmenter.py``) on that crop: where the face is
   unreliable;
3. with ``robust_alignment``, a second alignment from all 68 landmarks with the unreliable
   ones left out and the rest fitted robustly (``imaging/robust_align.py``), and the
   segmenter again on the new crop;
4. the mask of the parts to leave out: the examiner's (``FaceChoice.ignore``) when given, else
   the segmenter's probabilities above ``threshold``, grown by ``grow`` (a fraction of the crop
   side) to take in the injuries' soft edges;
5. at description time (:func:`described_faces`) the masked parts completed from the face's
   other side or inpainted (``matching/completion.py``), and, with ``flip``, the completed face
   and its mirror image both described (the matcher averages the two descriptors);
6. with ``transplant_k`` > 0, at search time the query's ``transplant_k`` nearest gallery
   photos (``transplant_scope="subjects"``: every photo of its ``transplant_k`` nearest
   subjects) re-ranked by the occlusion transplant (``matching/transplant.py``): the mask's
   pixels of the query pasted into each photo's crop, the composite described; a subject's
   score fused over its re-ranked photos as ``transplant_fusion`` says.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping, Protocol

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import ModelError
from crossid_desktop.imaging.canonical import ALIGNED_SIZE
from crossid_desktop.imaging.face_detect import as_rgb
from crossid_desktop.imaging.faces import AlignedFace, warp_to_crop
from crossid_desktop.imaging.robust_align import landmark_reliability, robust_transform
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.completion import complete_face
from crossid_desktop.matching.preprocess import FaceChoice, PreparedQuery, prepare_query
from crossid_desktop.matching.transplant import TransplantRanking

COMPLETIONS = ("mirror", "inpaint", "none")


class Segmenter(Protocol):
    """What the preparation needs of the injury segmenter."""

    def probabilities(self, faces: Any) -> NDArray[np.float32]: ...


@dataclass(frozen=True)
class InjuryAwareRecipe:
    """How an injured-face query is prepared (see the module docstring)."""

    threshold: float = 0.5
    grow: float = 0.0
    robust_alignment: bool = True
    completion: str = "mirror"
    flip: bool = True
    segmenter: str = "bundled"  # "bundled", a weights path, or "none" (only the examiner's mask)
    segmenter_sha256: str = ""  # the weights the matcher was measured with ("" : not checked)
    transplant_k: int = 0  # nearest gallery photos re-ranked by the occlusion transplant (0: none)
    transplant_score: str = "mean"
    transplant_feather: float = 2.0 / 256
    transplant_scope: str = "photos"  # "photos": the k nearest photos re-ranked; "subjects": every photo of the k nearest subjects
    transplant_fusion: str = "min"  # a subject's score from its re-scored photos (matching/transplant.py FUSIONS)

    def __post_init__(self) -> None:
        if self.completion not in COMPLETIONS:
            raise ModelError(f"Unknown completion {self.completion!r}; the model card should name one of {', '.join(COMPLETIONS)}.")
        if not 0.0 < self.threshold < 1.0 or not 0.0 <= self.grow < 0.2:
            raise ModelError(f"The injury-aware recipe's threshold {self.threshold} or growth {self.grow} is out of range.")
        _ = self.transplant  # ModelError when not valid

    @property
    def transplant(self) -> TransplantRanking:
        """The occlusion transplant's settings (``k = 0``: no re-ranking)."""
        return TransplantRanking(self.transplant_k, self.transplant_feather, self.transplant_score, self.transplant_scope, self.transplant_fusion)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_card(cls, entry: Mapping[str, Any]) -> InjuryAwareRecipe:
        try:
            return cls(**{k: entry[k] for k in cls.__dataclass_fields__ if k in entry})
        except TypeError as error:
            raise ModelError(f"The model card's injury-aware recipe {dict(entry)} is not valid ({error}).") from error


def _grown(mask: NDArray[np.bool_], grow: float) -> NDArray[np.bool_]:
    import cv2  # OpenCV loads on first use

    radius = int(round(grow * mask.shape[0]))
    if radius < 1 or not mask.any():
        return mask
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), disc) > 0


def _robustly_aligned(rgb: NDArray[np.uint8], aligned: AlignedFace, unreliable: NDArray[np.float32], size: int) -> AlignedFace | None:
    """The face aligned again from its 68 landmarks with the unreliable ones left out, or None
    when the detection has no 68 landmarks."""
    detection = aligned.detection
    if detection is None or detection.landmarks68 is None:
        return None
    reliability = landmark_reliability(detection.landmarks68, aligned.transform, unreliable)
    matrix = robust_transform(detection.landmarks68, reliability=reliability, size=size)
    five = detection.landmarks
    points = None if five is None else (np.asarray(five, np.float64) @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)
    return AlignedFace(warp_to_crop(rgb, matrix, size), "robust-68", detection, matrix, points)


def prepare_injured(image: Any, choice: FaceChoice | None, recipe: InjuryAwareRecipe, segmenter: Segmenter | None,
                    size: int = ALIGNED_SIZE) -> PreparedQuery:
    """Steps 1 to 4 of the module docstring: the aligned crop (``pixels``), the segmenter's
    probabilities (``unreliable``) and the mask to leave out (``ignored``, ``ignore_source``).
    Without a segmenter (``segmenter="none"`` in the recipe) nothing is left out until the
    examiner marks it: ``ignored`` is then an empty mask and ``unreliable`` None."""
    base = prepare_query(image, QueryModality.INJURED_FACE, {"aligned_size": size}, choice)
    unreliable = None if segmenter is None else segmenter.probabilities([base.pixels])[0]
    prepared = base
    if segmenter is not None and unreliable is not None and recipe.robust_alignment and base.alignment is not None and base.alignment.method != "centre-crop":
        rgb = as_rgb(image.rgb_uint8() if hasattr(image, "rgb_uint8") else np.asarray(image))
        again = _robustly_aligned(rgb, base.alignment, unreliable, size)
        if again is not None:
            unreliable = segmenter.probabilities([again.image])[0]
            prepared = replace(base, pixels=again.image, alignment=again, caption=base.caption.replace("aligned to", "aligned robustly (68 landmarks, unreliable ones left out) to"))
    examiner = choice.ignore if choice is not None else None
    if examiner is not None:
        if examiner.shape != (size, size):
            raise ModelError(f"The examiner's mask is {examiner.shape[1]}x{examiner.shape[0]} pixels; it must cover the {size}x{size} aligned face.")
        return replace(prepared, unreliable=unreliable, ignored=np.asarray(examiner, bool), ignore_source="examiner")
    if unreliable is None:
        return replace(prepared, ignored=np.zeros((size, size), bool), ignore_source="detected")
    mask = _grown(unreliable >= recipe.threshold, recipe.grow)
    return replace(prepared, unreliable=unreliable, ignored=mask, ignore_source="detected")


def described_faces(prepared: PreparedQuery, recipe: InjuryAwareRecipe) -> list[NDArray[np.uint8]]:
    """The crops the descriptor sees for one prepared query (step 5): the completed face, and
    with ``flip`` also its mirror image."""
    face = prepared.pixels
    if prepared.ignored is not None and recipe.completion != "none":
        face = complete_face(face, prepared.ignored, use_mirror=recipe.completion == "mirror")
    faces = [np.ascontiguousarray(face)]
    if recipe.flip:
        faces.append(np.ascontiguousarray(face[:, ::-1]))
    return faces
