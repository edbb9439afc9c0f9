"""Face alignment: map the face in a photo to the canonical crop of
:mod:`crossid_desktop.imaging.canonical`.

The method depends on what detection gives (:mod:`crossid_desktop.imaging.face_detect`):

- ``"dlib-5pt"``: the five canonical landmarks (eye centres, nose tip, mouth corners, located
  by dlib's 68-point shape predictor) are fitted to the template's five points by a
  similarity transform (rotation, uniform scale, translation) whose rotation levels the eyes
  exactly and whose scale and shift fit all five points by least squares
  (:func:`eye_levelled_transform`). Eyes end up level and near the template's positions, off
  by the face's own proportions and its turn. (The name is the five-point fit's; the 68-point
  predictor only locates those five points.)
- ``"haar-eyes"``: a Haar frontal box in which the eye cascade found one pair of eyes; the two
  eye centres fix the similarity transform exactly.
- ``"haar-box"``: a Haar frontal box without eyes; the box is mapped to where such boxes fall
  in the canonical crop (measured on real photos, see :data:`HAAR_FRONTAL_BOX`).
- ``"profile-box"``: a Haar profile box, mapped the same way so the face fills the crop about
  as a frontal one does (there is no eye pair to level).
- ``"centre-crop"``: no face found and the caller allowed it: the central square of the photo.

Every result carries the (2, 3) affine from photo pixels to crop pixels, so callers can map
any point of the photo into the crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import NoFaceFoundError
from crossid_desktop.imaging.canonical import ALIGNED_SIZE, CANONICAL
from crossid_desktop.imaging.face_detect import FaceDetection, as_rgb, detect_eyes, detect_faces

__all__ = ["AlignedFace", "FaceDetection", "align_face", "centre_crop", "detect_faces", "eye_levelled_transform", "similarity_transform", "warp_to_crop"]

#: where a Haar frontal box lands in the canonical crop, as (centre x, centre y, side) in crop
#: fractions; the mean over LFW photos where dlib also found the face (``tests/benchmarks/
#: face_detection.py --calibrate`` prints it).
HAAR_FRONTAL_BOX = (0.50, 0.56, 0.86)
#: the same for a profile box; no reference landmarks exist for profiles, so the frontal box's
#: placement is reused: the face fills the crop about as much as a frontal one does.
PROFILE_BOX = HAAR_FRONTAL_BOX


@dataclass(frozen=True)
class AlignedFace:
    """A face mapped to the canonical layout.

    ``image`` is the ``(size, size, 3)`` RGB ``uint8`` crop. ``method`` says how it was
    aligned (see the module docstring). ``detection`` is the face it came from, None for a
    centre crop. ``transform`` is the (2, 3) float64 affine from photo pixels (x, y) to crop
    pixels. ``landmarks`` is ``(5, 2)`` float32 in crop pixels (canonical order) when the
    detection had all five (``"dlib-5pt"``), else None.
    """

    image: NDArray[np.uint8]
    method: str
    detection: FaceDetection | None
    transform: NDArray[np.float64]
    landmarks: NDArray[np.float32] | None


def similarity_transform(source: NDArray[Any], target: NDArray[Any], weights: NDArray[Any] | None = None) -> NDArray[np.float64]:
    """The least-squares similarity (rotation, uniform scale, translation; no reflection) that
    maps ``source`` points onto ``target`` points, as a (2, 3) float64 affine (Umeyama 1991).

    ``source`` and ``target`` are ``(n, 2)`` with n >= 2; with n == 2 the fit is exact.
    ``weights`` ``(n,)`` >= 0 weight each point's squared error (None: all equal).
    """
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    src_mean, dst_mean = w @ src, w @ dst
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = (dst_c * w[:, None]).T @ src_c
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    variance = float(w @ (src_c**2).sum(axis=1))
    scale = float((singular * np.diag(sign)).sum() / variance)
    matrix = np.empty((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def eye_levelled_transform(source: NDArray[Any], target: NDArray[Any]) -> NDArray[np.float64]:
    """A similarity from ``source`` to ``target`` (both ``(5, 2)``, canonical order) whose
    rotation turns the source eye line onto the target eye line exactly, with scale and
    translation then fitted to all five points by least squares, as a (2, 3) float64 affine.

    A plain five-point fit lets the nose and mouth of a turned head tilt the eyes by several
    degrees; this keeps the eyes level while the five points still set the size and position
    (the eye distance alone shrinks as the head turns; the eye-to-mouth height does not).
    """
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    src_eye, dst_eye = src[1] - src[0], dst[1] - dst[0]
    angle = np.arctan2(dst_eye[1], dst_eye[0]) - np.arctan2(src_eye[1], src_eye[0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    turned = (src - src_mean) @ rotation.T
    scale = float((turned * (dst - dst_mean)).sum() / (turned**2).sum())
    matrix = np.empty((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def _box_transform(box: tuple[int, int, int, int], placement: tuple[float, float, float], size: int) -> NDArray[np.float64]:
    """The scale-and-shift affine putting a box's centre at ``placement`` (cx, cy, side; crop
    fractions) with its larger side spanning ``side`` of the crop."""
    x0, y0, x1, y1 = box
    cx, cy, side = placement
    scale = side * size / max(1, max(x1 - x0, y1 - y0))
    return np.array(
        [[scale, 0.0, cx * size - scale * (x0 + x1) / 2.0], [0.0, scale, cy * size - scale * (y0 + y1) / 2.0]],
        dtype=np.float64,
    )


def warp_to_crop(rgb: NDArray[np.uint8], matrix: NDArray[np.float64], size: int = ALIGNED_SIZE) -> NDArray[np.uint8]:
    """The ``size`` x ``size`` crop an affine ``matrix`` (photo pixels to crop pixels) cuts from
    an RGB photo, edges replicated where it reaches past the photo."""
    return _warp(as_rgb(rgb), np.asarray(matrix, dtype=np.float64), size)


def _warp(rgb: NDArray[np.uint8], matrix: NDArray[np.float64], size: int) -> NDArray[np.uint8]:
    import cv2  # OpenCV loads on first use

    interpolation = cv2.INTER_AREA if abs(np.linalg.det(matrix[:, :2])) < 1.0 else cv2.INTER_LINEAR
    return cv2.warpAffine(rgb, matrix, (size, size), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)


def _apply(matrix: NDArray[np.float64], points: NDArray[Any]) -> NDArray[np.float32]:
    return (np.asarray(points, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def centre_crop(rgb: NDArray[Any], *, size: int = ALIGNED_SIZE) -> AlignedFace:
    """The largest central square of the photo, resized to ``size`` x ``size``; method
    ``"centre-crop"``. For a photo already in the canonical layout (a square face render) this
    is the canonical crop itself."""
    rgb = as_rgb(rgb)
    height, width = rgb.shape[:2]
    side = min(height, width)
    scale = size / side
    matrix = np.array([[scale, 0.0, -scale * (width - side) / 2.0], [0.0, scale, -scale * (height - side) / 2.0]])
    return AlignedFace(_warp(rgb, matrix, size), "centre-crop", None, matrix, None)


def align_face(
    rgb: NDArray[Any],
    *,
    size: int = ALIGNED_SIZE,
    allow_centre_crop: bool = False,
    detection: FaceDetection | None = None,
) -> AlignedFace:
    """Align the face in a photo to the canonical ``size`` x ``size`` crop.

    ``rgb`` is an RGB ``(H, W, 3)`` or greyscale ``(H, W)`` photo. Uses ``detection`` when given,
    else the first face :func:`detect_faces` finds (the largest of the best detector). Raises
    :class:`NoFaceFoundError` when there is no face, unless ``allow_centre_crop`` is set, in
    which case the central square is returned with method ``"centre-crop"``.
    """
    rgb = as_rgb(rgb)
    if detection is None:
        faces = detect_faces(rgb)
        if not faces:
            if allow_centre_crop:
                return centre_crop(rgb, size=size)
            raise NoFaceFoundError("No face was found in the photo (neither frontal nor in profile).")
        detection = faces[0]

    template = np.asarray(CANONICAL.points(size), dtype=np.float64)
    if detection.landmarks is not None:
        matrix = eye_levelled_transform(detection.landmarks, template)
        return AlignedFace(_warp(rgb, matrix, size), "dlib-5pt", detection, matrix, _apply(matrix, detection.landmarks))

    if detection.pose == "frontal":
        eyes = detect_eyes(rgb, detection.box)
        if eyes is not None:
            matrix = similarity_transform(eyes, template[:2])  # exact: the eyes land on the template
            return AlignedFace(_warp(rgb, matrix, size), "haar-eyes", detection, matrix, None)
        matrix = _box_transform(detection.box, HAAR_FRONTAL_BOX, size)
        return AlignedFace(_warp(rgb, matrix, size), "haar-box", detection, matrix, None)

    matrix = _box_transform(detection.box, PROFILE_BOX, size)
    return AlignedFace(_warp(rgb, matrix, size), "profile-box", detection, matrix, None)
