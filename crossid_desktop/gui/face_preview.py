"""The preview of an injured-face photo in the query panel: the faces found, the face the
workspace's injured-face matcher would search, aligned as it aligns it, and the parts it would
leave out (the segmenter's or the examiner's mask)."""

from __future__ import annotations

from typing import Any

from crossid_desktop.errors import CrossIDError, NoFaceFoundError, SeveralFacesError
from crossid_desktop.gui.images import to_qimage
from crossid_desktop.gui.job_results import Preview
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.preprocess import FaceChoice, prepare_query


def face_preview(context: Any, image: LoadedImage, choice: FaceChoice | None) -> Preview:
    """A face photo's preview; a photo without a face, or with several and none chosen, comes
    back with its ``problem`` and the faces found, for the panel to ask the examiner."""
    matcher = _injured_matcher(context)
    prepare = getattr(matcher, "prepare", None)
    try:
        if prepare is not None:
            prepared = prepare(image, QueryModality.INJURED_FACE, choice)
        else:
            prepared = prepare_query(image, QueryModality.INJURED_FACE, None, choice)
    except NoFaceFoundError:
        return Preview(None, note="No face was found in this photo. Search its central square instead (the result will carry a warning), or open another photo.", problem="no_face")
    except SeveralFacesError as error:
        faces = error.faces
        boxes = tuple(tuple(float(v) for v in face.box) for face in faces)
        return Preview(None, boxes, note=f"This photo shows {len(faces)} faces, numbered from the largest: choose the one to search.", problem="several_faces")
    faces = prepared.faces
    boxes = tuple(tuple(float(v) for v in face.box) for face in faces)
    marks = tuple(tuple((float(x), float(y)) for x, y in face.landmarks) for face in faces if face.landmarks is not None)
    method = prepared.alignment.method if prepared.alignment is not None else ""
    which = f" (face {prepared.face_number} of {len(faces)})" if len(faces) > 1 else ""
    note = f"{len(faces)} face(s) found by {faces[0].detector}; aligned by {method}{which}." if faces else " ".join(prepared.warnings)
    detected = None if prepared.unreliable is None else prepared.unreliable >= _threshold(matcher)
    if prepared.ignored is not None and prepared.ignored.any():
        who = "the examiner" if prepared.ignore_source == "examiner" else "the injury segmenter"
        recipe = getattr(matcher, "recipe", None)
        targets = ("every photo of the {k} nearest gallery people" if recipe is not None and recipe.transplant_scope == "subjects"
                   else "the {k} nearest gallery photos")
        done = (f"pasted into {targets.format(k=recipe.transplant_k)} before they are compared" if recipe is not None and recipe.transplant_k
                else "left out of the search")
        note += f" {100 * prepared.ignored.mean():.0f} % of the face is judged unreliable (marked by {who}): {done}."
    return Preview(to_qimage(prepared.pixels), boxes, marks, note, detected, prepared.ignored, prepared.ignore_source)


def _injured_matcher(context: Any) -> Any:
    """The workspace's injured-face matcher, or None when none is configured or it cannot load
    (the preview then aligns the face plainly; the search reports the problem)."""
    try:
        return context.search.matcher_for(QueryModality.INJURED_FACE) if context is not None else None
    except CrossIDError:
        return None


def _threshold(matcher: Any) -> float:
    recipe = getattr(matcher, "recipe", None)
    return recipe.threshold if recipe is not None else 0.5
