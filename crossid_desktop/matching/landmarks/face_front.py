"""Landmarks of a frontal face photo: the 68 points of the iBUG 300-W scheme and the soft-tissue
zygion, gonion, menton and pupils of :mod:`crossid_desktop.anatomy.landmarks`.

Steps (each model loaded once, on first use):

1. The face is found by :func:`crossid_desktop.imaging.face_detect.detect_faces` (dlib's HOG
   detector, rotated retries, OpenCV's cascades); when nothing is found the photo is tried again
   on a copy with a border around it (a face filling the whole photo, as in a tight crop, is
   often missed). No face: :class:`~crossid_desktop.errors.NoFaceFoundError`.
2. dlib's generic 68-point predictor runs on the face enlarged to :data:`WORK_SIDE` pixels
   (dlib rounds its points to whole pixels).
3. Where the refined model (``resources/models/face_landmarks_front.dat``, a dlib shape
   predictor trained on synthetic photos with exact landmarks, see
   :mod:`crossid_desktop.training.face_landmarks`) is installed, it runs in a box set
   from the generic eyes and mouth (:func:`reference_box`) and gives all points, including the
   zygion, gonion and pupils the generic scheme lacks. Without it the generic points are used,
   with the extra points taken from them (and a warning). A learned shape predictor's points are
   the mean of its runs in its box and in the box shrunk and grown by 5 % (:data:`BOX_SCALES`):
   a cascade of regression trees starts from the mean shape placed in the box, and where it
   ends depends on that start; averaging three starts halves part of that dependence (chosen on
   synthetic photos of seed 6161 for the frontal model, 6464 for the profile model: mean radial
   error 0.86 -> 0.80 % and 1.30 -> 1.27 % of the face's height; docs/RESULTS.md section 6.2).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.anatomy.landmarks import FACE_68_LANDMARKS
from crossid_desktop.errors import ModelError, NoFaceFoundError
from crossid_desktop.imaging.face_detect import as_rgb, detect_faces, face_shape_68
from crossid_desktop.matching.landmarks.face_points import FacePoints
from crossid_desktop.paths import resource_path

#: the face box is enlarged (or shrunk) to this side before a predictor runs, in a crop this
#: many times wider (the rest is margin)
WORK_SIDE = 256
CROP_FACTOR = 1.5
#: what the refined model predicts, in its order: the 68 scheme points, then the extra points
REFINED_PARTS: tuple[str, ...] = (*(m.name for m in FACE_68_LANDMARKS), "zygion_soft_right", "zygion_soft_left",
                                  "gonion_soft_right", "gonion_soft_left", "pupil_right", "pupil_left")
MODEL_NAME = "face_landmarks_front.dat"
#: a learned shape predictor runs in its box scaled by each of these (about the box's centre); its points are their mean
BOX_SCALES = (0.95, 1.0, 1.05)
#: how the learned predictors are run, in words: part of the face landmark models' identity (a change moves every point)
INFERENCE = "points averaged over the box scaled 0.95, 1, 1.05"
_SCHEME = tuple(m.name for m in FACE_68_LANDMARKS)
_LOCK = threading.Lock()
_MODELS: dict[Path, Any] = {}


def bundled_model() -> Path:
    """Where the refined frontal model is installed."""
    return resource_path("models", MODEL_NAME)


def find_face_box(rgb: NDArray[np.uint8]) -> tuple[tuple[float, float, float, float], str]:
    """The largest frontal face's box (x0, y0, x1, y1 pixels) and the detector that found it."""
    import cv2  # heavy import kept local

    faces = [f for f in detect_faces(rgb) if f.pose == "frontal"]
    if faces:
        return tuple(float(v) for v in faces[0].box), faces[0].detector  # type: ignore[return-value]
    pad = max(rgb.shape[:2]) // 4
    framed = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    faces = [f for f in detect_faces(framed) if f.pose == "frontal"]
    if not faces:
        raise NoFaceFoundError("No frontal face was found in the photo.")
    x0, y0, x1, y1 = faces[0].box
    return (float(x0 - pad), float(y0 - pad), float(x1 - pad), float(y1 - pad)), faces[0].detector + "-framed"


def _work_crop(rgb: NDArray[np.uint8], box: tuple[float, float, float, float]) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    """The region around ``box`` scaled so the box is :data:`WORK_SIDE` wide; and the (2, 3)
    affine from photo pixels to crop pixels."""
    import cv2  # heavy import kept local

    x0, y0, x1, y1 = box
    scale = WORK_SIDE / max(x1 - x0, 1.0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    side = int(round(CROP_FACTOR * WORK_SIDE))
    matrix = np.array([[scale, 0.0, side / 2 - scale * cx], [0.0, scale, side / 2 - scale * cy]])
    crop = cv2.warpAffine(rgb, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, matrix


def _to_photo(matrix: NDArray[np.float64], points: NDArray[np.float64]) -> NDArray[np.float64]:
    return (points - matrix[:, 2]) / matrix[0, 0]


def generic_shape(rgb: NDArray[np.uint8], box: tuple[float, float, float, float]) -> NDArray[np.float64]:
    """dlib's generic 68 points for the face in ``box``, ``(68, 2)`` photo pixels."""
    crop, matrix = _work_crop(rgb, box)
    x0, y0, x1, y1 = box
    inner = np.array([[x0, y0], [x1, y1]]) * matrix[0, 0] + matrix[:, 2]
    points = face_shape_68(crop, (inner[0, 0], inner[0, 1], inner[1, 0], inner[1, 1])).astype(np.float64)
    return _to_photo(matrix, points)


def reference_box(points68: NDArray[np.float64]) -> tuple[float, float, float, float]:
    """The box the refined model runs in, set from the eyes and the mouth of 68 points: square,
    centred a third of the way from the eyes to the mouth, 3.2 eye-to-mouth distances wide."""
    eyes = (points68[36:42].mean(axis=0) + points68[42:48].mean(axis=0)) / 2
    mouth = points68[48:68].mean(axis=0)
    span = float(np.hypot(*(mouth - eyes)))
    cx, cy = eyes + (mouth - eyes) / 3
    half = 1.6 * span
    return (float(cx - half), float(cy - half), float(cx + half), float(cy + half))


def load_refined(path: Path | None = None) -> Any | None:
    """The refined dlib shape predictor (loaded once), or None where it is not installed."""
    return load_shape_predictor(Path(path) if path is not None else bundled_model(), "face landmark model")


def load_shape_predictor(path: Path, what: str, parts: int | None = None) -> Any | None:
    """The dlib shape predictor at ``path`` (loaded once per process and kept), or None where the
    file is absent; ``what`` names it in the error of an unreadable file, and with ``parts`` a
    predictor that gives another number of points is refused."""
    import dlib  # heavy import kept local

    with _LOCK:
        if path not in _MODELS:
            if not path.is_file():
                return None
            try:
                predictor = dlib.shape_predictor(str(path))
            except RuntimeError as error:
                raise ModelError(f"The {what} {path.name} cannot be read ({error}).") from error
            found = predictor(np.zeros((16, 16), np.uint8), dlib.rectangle(0, 0, 15, 15)).num_parts if parts is not None else None
            if found is not None and found != parts:
                raise ModelError(f"The {what} {path.name} gives {found} points, not the {parts} of its scheme.")
            _MODELS[path] = predictor
        return _MODELS[path]


def crop_rectangle(matrix: NDArray[np.float64], box: tuple[float, float, float, float]) -> Any:
    """``box`` (photo pixels) as a dlib rectangle in the crop made with ``matrix``."""
    import dlib  # heavy import kept local

    x0, y0, x1, y1 = (np.array([[box[0], box[1]], [box[2], box[3]]]) * matrix[0, 0] + matrix[:, 2]).ravel()
    return dlib.rectangle(int(round(x0)), int(round(y0)), int(round(x1)) - 1, int(round(y1)) - 1)


def refined_shape(rgb: NDArray[np.uint8], box: tuple[float, float, float, float], predictor: Any,
                  scales: tuple[float, ...] = BOX_SCALES) -> NDArray[np.float64]:
    """A shape predictor's points (its own order: :data:`REFINED_PARTS` for the refined model),
    photo pixels, for the face in ``box``, run in the enlarged crop of :func:`_work_crop`: the
    mean of its runs in ``box`` scaled by each of ``scales`` about its centre (module docstring)."""
    import cv2  # heavy import kept local

    crop, matrix = _work_crop(rgb, box)
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    x0, y0, x1, y1 = box
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    runs = []
    for scale in scales:
        shape = predictor(gray, crop_rectangle(matrix, (cx - scale * hw, cy - scale * hh, cx + scale * hw, cy + scale * hh)))
        runs.append([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)])
    return _to_photo(matrix, np.mean(np.asarray(runs, dtype=np.float64), axis=0))


def detect_face_front(rgb: NDArray[Any], *, model: Path | None = None, refine: bool = True) -> FacePoints:
    """The frontal landmarks of the largest face in ``rgb`` (module docstring)."""
    rgb = as_rgb(rgb)
    box, finder = find_face_box(rgb)
    generic = generic_shape(rgb, box)
    predictor = load_refined(model) if refine else None
    warnings: list[str] = []
    if finder != "dlib-hog":
        warnings.append(f"The face was found by a fallback detector ({finder}); its landmarks may be less precise.")
    if predictor is not None:
        refined = refined_shape(rgb, reference_box(generic), predictor)
        if len(refined) != len(REFINED_PARTS):
            raise ModelError(f"The face landmark model gives {len(refined)} points, not {len(REFINED_PARTS)}.")
        points = dict(zip(REFINED_PARTS, map(tuple, refined)))
        points["menton_soft"] = points["jaw_09"]
        method = f"refined dlib shape predictor ({finder})"
    else:
        warnings.append("Generic 68-point model: soft-tissue zygion, gonion and the pupils are approximated from it.")
        points, method = generic_extras(generic), f"dlib 68-point predictor ({finder})"
    height, width = rgb.shape[:2]
    outside = sorted(n for n, (x, y) in points.items() if not (0 <= x < width and 0 <= y < height))
    if outside:
        warnings.append(f"Outside the photo, so missing: {', '.join(outside)}.")
        points = {n: p for n, p in points.items() if n not in outside}
    return FacePoints.from_dict("face-front", points, method, tuple(warnings))


def generic_extras(points68: NDArray[np.float64]) -> dict[str, tuple[float, float]]:
    """The 68 points by name plus the extra points read off them: pupils at the eye points'
    centre, zygion at the widest of the upper jaw points, gonion at the jaw points 5 and 13,
    menton at the chin point 9 (1-based)."""
    points = dict(zip(_SCHEME, map(tuple, points68)))
    points["pupil_right"] = tuple(points68[36:42].mean(axis=0))
    points["pupil_left"] = tuple(points68[42:48].mean(axis=0))
    axis = points68[42:48].mean(axis=0) - points68[36:42].mean(axis=0)
    axis /= max(float(np.hypot(*axis)), 1e-9)
    points["zygion_soft_right"] = tuple(points68[int(np.argmin(points68[0:5] @ axis))])
    points["zygion_soft_left"] = tuple(points68[12 + int(np.argmax(points68[12:17] @ axis))])
    points["gonion_soft_right"], points["gonion_soft_left"] = tuple(points68[4]), tuple(points68[12])
    points["menton_soft"] = tuple(points68[8])
    return points  # type: ignore[return-value]
