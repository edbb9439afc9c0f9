"""The automatic skull-face overlay of one X-ray and one candidate, for the compare view and the report.

The X-ray's skull landmarks (the examiner's, or the detector's) predict the face; the
candidate's photo of the X-ray's view (the given one, else the one most consistent with the
skull: nearest to the exclusion's tolerance, the photo whose decision is the candidate's in that
view) is registered to the prediction with its stored landmarks; the registration carries the
X-ray (soft tissue suppressed, as the matcher's recipe says) onto the photo's aligned crop.
The examiner's hand adjustment is a similarity of the shown crop applied after the fitted one.
A lateral X-ray or a profile facing the image's left is shown mirrored, facing right as the
model reads it (``mirrored``), and its positions are those of the mirrored picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import GalleryError, MatcherMismatchError
from crossid_desktop.gallery.enrol import decode_png
from crossid_desktop.gallery.face_landmarks import face_landmarks
from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.craniofacial.assess import Fit, QueryContext
from crossid_desktop.matching.craniofacial.consistency import Verdict, judge_photo
from crossid_desktop.matching.craniofacial.geometry import IDENTITY, Similarity
from crossid_desktop.matching.craniofacial.matcher import VIEW_OF_MODALITY, CraniofacialMatcher, FusedXrayMatcher
from crossid_desktop.matching.craniofacial.model import Prediction
from crossid_desktop.matching.craniofacial.overlay import Overlay, TableRow, build_overlay, correspondence_table
from crossid_desktop.matching.craniofacial.overlay_figure import render_overlay
from crossid_desktop.matching.craniofacial.points import Landmarks
from crossid_desktop.matching.preprocess import prepare_xray
from crossid_desktop.workspace import Workspace


@dataclass(frozen=True, eq=False)
class CandidateOverlay:
    """One X-ray overlaid on one candidate photo: ``problem`` says why it could not be made (then
    only ``subject_id``, ``view`` and the pictures are set)."""

    subject_id: str
    view: str
    image_id: int | None
    face: NDArray[np.uint8]
    xray: NDArray[np.float32]
    prediction: Prediction | None = None
    fit: Fit | None = None
    overlay: Overlay | None = None
    table: tuple[TableRow, ...] = ()
    verdict: Verdict | None = None
    problem: str | None = None
    adjustment: Similarity = IDENTITY
    mirrored: bool = False  # the photo is shown mirrored (a profile facing left)
    xray_mirrored: bool = False  # the X-ray is shown mirrored (a lateral view facing left)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def adjusted(self, adjustment: Similarity) -> CandidateOverlay:
        """The same overlay moved by the examiner's ``adjustment`` (pixels of the shown photo)."""
        if self.prediction is None or self.fit is None or self.overlay is None:
            return self
        geometry = overlay_geometry(self.prediction, self.fit, self.face.shape[1], self.xray.shape[1], xray_mirrored=self.xray_mirrored,
                                    photo_mirrored=self.mirrored, adjustment=adjustment)
        return replace(self, overlay=geometry, adjustment=adjustment)

    def figure(self, *, opacity: float = 0.5, landmarks: bool = True, scale: int = 2) -> NDArray[np.uint8]:
        """The overlay picture (RGB uint8); the photo alone where no overlay could be made."""
        if self.overlay is None:
            return np.ascontiguousarray(self.face)
        beyond = {row.landmark for row in self.table if not row.within}
        return render_overlay(self.face, self.xray, self.overlay, opacity=opacity, beyond=beyond, scale=scale, landmarks=landmarks)


def _craniofacial(matcher: Any) -> CraniofacialMatcher:
    if isinstance(matcher, FusedXrayMatcher):
        return matcher.craniofacial
    if isinstance(matcher, CraniofacialMatcher):
        return matcher
    raise MatcherMismatchError(f"The matcher {matcher.name} does not compare skulls with faces by their landmarks; no automatic overlay.")


def _photo(store: GalleryStore, craniofacial: CraniofacialMatcher, subject_id: str, view: str, image_id: int | None,
           context: QueryContext) -> tuple[int, Landmarks, Fit] | str:
    """The photo to overlay and its fit, or why there is none."""
    records = [r for r in store.images(subject_id) if image_id is None or r.image_id == image_id]
    if not records:
        return f"the gallery has no photo {image_id} of {subject_id}" if image_id else f"the gallery has no photo of {subject_id}"
    marks = face_landmarks(store, craniofacial.fingerprint, [r.image_id for r in records])
    face_view = craniofacial.model.views[view].pair.face_view
    chosen = [r.image_id for r in records if r.image_id in marks and marks[r.image_id].view == face_view]
    fits = list(zip(chosen, [marks[i] for i in chosen], context.assess_many([marks[i] for i in chosen])))
    usable = [item for item in fits if item[2].assessable]
    if not usable:
        reasons = [f.problem for _, _, f in fits if f.problem] or [f"no {'frontal' if view == 'front' else 'profile'} photo with measured landmarks"]
        return "; ".join(dict.fromkeys(reasons))
    tolerance = craniofacial.model.tolerance_of(view)  # the photo that speaks for the view in the exclusion (judge_view): nearest to tolerance
    return min(usable, key=lambda item: (tolerance.statistic(item[2]), -item[2].llr))


def candidate_overlay(workspace: Workspace, matcher: Any, image: LoadedImage, modality: QueryModality, subject_id: str, *,
                      landmarks: Landmarks | None = None, image_id: int | None = None, adjustment: Similarity = IDENTITY) -> CandidateOverlay:
    """The overlay of one X-ray on a candidate (module docstring)."""
    craniofacial = _craniofacial(matcher)
    view = VIEW_OF_MODALITY[QueryModality(modality)]
    marks = landmarks if landmarks is not None else craniofacial.skull_landmarks(image, modality)
    xray = prepare_xray(image, craniofacial_soft_tissue(matcher))
    prediction = craniofacial.predict(marks)
    with GalleryStore(workspace.db_path) as store:
        records = store.images(subject_id)
        if not records:
            raise GalleryError(f"The gallery has no subject {subject_id!r}.")
        chosen = _photo(store, craniofacial, subject_id, view, image_id, QueryContext(craniofacial.model.views[view], prediction)) if prediction.problem is None else prediction.problem
        shown = chosen[0] if not isinstance(chosen, str) else (image_id or records[0].image_id)
        face = decode_png(store.thumbnail(shown))
    if isinstance(chosen, str):
        return CandidateOverlay(subject_id, view, shown, face, xray, prediction, problem=chosen)
    photo_id, photo, fit = chosen
    tolerance = craniofacial.model.tolerance_of(view)
    overlay = overlay_geometry(prediction, fit, face.shape[1], xray.shape[1], xray_mirrored=marks.mirrored, photo_mirrored=photo.mirrored, adjustment=adjustment)
    xray = np.ascontiguousarray(xray[:, ::-1]) if marks.mirrored else xray
    face = np.ascontiguousarray(face[:, ::-1]) if photo.mirrored else face
    frame = Similarity(1.0, 0.0, face.shape[1] - 1.0, 0.0) if photo.mirrored else IDENTITY
    table = tuple(correspondence_table(prediction, fit, tolerance, to_photo=frame))
    notes = tuple(n for n in (overlay.note, "The photo is shown mirrored, facing right as the skull model reads profiles." if photo.mirrored else None) if n)
    return CandidateOverlay(subject_id, view, photo_id, face, xray, prediction, fit, overlay, table, judge_photo(fit, tolerance), None,
                            adjustment, photo.mirrored, marks.mirrored, notes)


def overlay_geometry(prediction: Prediction, fit: Fit, face_width: int, xray_width: int, *, xray_mirrored: bool, photo_mirrored: bool,
                     adjustment: Similarity) -> Overlay:
    """The overlay in the pixels of the pictures as shown: a mirrored X-ray or photo was read with
    x -> -x and is shown flipped, facing right."""
    frame = Similarity(1.0, 0.0, face_width - 1.0, 0.0) if photo_mirrored else IDENTITY
    overlay = build_overlay(prediction, fit, adjustment=adjustment, frame=frame)
    if xray_mirrored:
        overlay = replace(overlay, xray_to_photo=Similarity(1.0, 0.0, -(xray_width - 1.0), 0.0).then(overlay.xray_to_photo))
    return overlay


def craniofacial_soft_tissue(matcher: Any) -> dict[str, Any]:
    """The soft-tissue suppression the Siamese part of a fused matcher uses (defaults otherwise)."""
    siamese = getattr(matcher, "siamese", None)
    recipe = siamese.model_card().get("preprocessing", {}).get("query", {}) if siamese is not None else {}
    return dict(recipe.get("soft_tissue") or {})
