"""Face detection and alignment (``imaging/faces.py``, ``imaging/face_detect.py``).

Alignment is checked against the canonical template itself: the aligned crop is searched again
from scratch and the eyes found there must lie within :data:`EYE_TOLERANCE` of the crop size of
the template's eye positions, and level. Real photos come from ``../shared/data/faces``; those
tests skip when the folder is absent.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.errors import InvalidImageError, NoFaceFoundError
from crossid_desktop.imaging.canonical import ALIGNED_SIZE, CANONICAL
from crossid_desktop.imaging.face_detect import detect_eyes, detect_frontal_haar, detect_profiles
from crossid_desktop.imaging.faces import (
    AlignedFace,
    align_face,
    centre_crop,
    detect_faces,
    eye_levelled_transform,
    similarity_transform,
)

FACES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "faces"
LFW_PHOTO = FACES / "lfw_dev" / "Adrien_Brody" / "Adrien_Brody_0005.jpg"
YALE_PHOTO = FACES / "yale" / "subject01" / "normal.png"
#: a strongly turned face (nose far towards the image's right)
TURNED_PHOTO = FACES / "lfw_dev" / "Spencer_Abraham" / "Spencer_Abraham_0002.jpg"

#: largest allowed distance of a re-detected eye centre from the template, as a fraction of the crop side
EYE_TOLERANCE = 0.08
#: largest allowed tilt of the re-detected eye line, degrees
LEVEL_TOLERANCE_DEG = 3.0


def _load(path: Path) -> np.ndarray:
    if not path.exists():
        pytest.skip(f"real face data absent: {path}")
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L") if image.mode in ("L", "P") else image.convert("RGB"))


def _rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    import cv2

    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def _redetected_eyes(aligned: AlignedFace) -> np.ndarray:
    """Eye centres (subject's right, left) found again, from scratch, in the aligned crop."""
    again = [d for d in detect_faces(aligned.image) if d.landmarks is not None]
    assert again, "no face with landmarks found in the aligned crop"
    return again[0].landmarks[:2].astype(np.float64)


def _assert_eyes_on_template(eyes: np.ndarray, size: int, tolerance: float = EYE_TOLERANCE) -> None:
    template = np.asarray(CANONICAL.points(size)[:2])
    errors = np.linalg.norm(eyes - template, axis=1) / size
    assert errors.max() < tolerance, f"eyes {eyes.tolist()} off the template {template.tolist()} by {errors.tolist()} of the crop"
    roll = math.degrees(math.atan2(eyes[1, 1] - eyes[0, 1], eyes[1, 0] - eyes[0, 0]))
    assert abs(roll) < LEVEL_TOLERANCE_DEG, f"eye line tilted by {roll:.1f} degrees"


# ------------------------------------------------------------------- transforms (no data needed)


def test_similarity_transform_recovers_a_known_similarity() -> None:
    angle, scale, shift = math.radians(17.0), 1.7, np.array([12.0, -5.0])
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    source = np.array([[10.0, 20.0], [60.0, 22.0], [35.0, 50.0], [15.0, 80.0], [55.0, 78.0]])
    target = source @ (scale * rotation).T + shift
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_similarity_transform_matches_opencv_on_noisy_points() -> None:
    import cv2

    rng = np.random.default_rng(3)
    source = rng.uniform(0, 200, size=(5, 2))
    target = source * 0.8 + rng.normal(0, 3.0, size=(5, 2)) + 40
    reference, _ = cv2.estimateAffinePartial2D(source.astype(np.float32), target.astype(np.float32), method=cv2.LMEDS)
    # LMEDS with 5 points returns the least-squares refinement on its inliers; compare residuals
    matrix = similarity_transform(source, target)
    ours = np.linalg.norm(source @ matrix[:, :2].T + matrix[:, 2] - target, axis=1)
    theirs = np.linalg.norm(source @ reference[:, :2].T + reference[:, 2] - target, axis=1)
    assert (ours**2).sum() <= (theirs**2).sum() + 1e-6


def test_eye_levelled_transform_puts_the_eyes_on_the_template_line() -> None:
    # a tilted face: eyes 30 degrees off level, mouth shifted sideways as in a turned head
    source = np.array([[100.0, 100.0], [100 + 60 * math.cos(0.5236), 100 + 60 * math.sin(0.5236)], [110.0, 150.0], [70.0, 170.0], [110.0, 195.0]])
    target = np.asarray(CANONICAL.points(ALIGNED_SIZE))
    matrix = eye_levelled_transform(source, target)
    eyes = source[:2] @ matrix[:, :2].T + matrix[:, 2]
    template_angle = math.atan2(target[1, 1] - target[0, 1], target[1, 0] - target[0, 0])
    assert math.atan2(eyes[1, 1] - eyes[0, 1], eyes[1, 0] - eyes[0, 0]) == pytest.approx(template_angle, abs=1e-9)
    # a similarity: equal singular values, positive determinant
    singular = np.linalg.svd(matrix[:, :2], compute_uv=False)
    assert singular[0] == pytest.approx(singular[1]) and np.linalg.det(matrix[:, :2]) > 0


# --------------------------------------------------------------------- no face, centre crop


@pytest.mark.parametrize("kind", ["blank", "noise"])
def test_no_face_raises_a_one_sentence_error(kind: str) -> None:
    rng = np.random.default_rng(0)
    image = np.full((240, 320, 3), 128, np.uint8) if kind == "blank" else rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    with pytest.raises(NoFaceFoundError) as caught:
        align_face(image)
    message = str(caught.value)
    assert message.startswith("No face") and message.endswith(".") and message.count(". ") == 0


def test_centre_crop_when_allowed() -> None:
    # a 200x300 photo with a bright square in its middle and a bright bar in its left margin
    image = np.zeros((200, 300, 3), np.uint8)
    image[90:110, 140:160] = 255
    image[:, :40] = 200
    aligned = align_face(image, size=100, allow_centre_crop=True)
    assert aligned.method == "centre-crop" and aligned.detection is None and aligned.landmarks is None
    assert aligned.image.shape == (100, 100, 3) and aligned.image.dtype == np.uint8
    # the central 200x200 square scaled by 1/2: the middle square lands at 45..55, the bar is cut off
    assert aligned.image[50, 50].tolist() == [255, 255, 255]
    assert aligned.image[:, :5].max() == 0 and aligned.image[5, 5].tolist() == [0, 0, 0]
    np.testing.assert_allclose(aligned.transform, [[0.5, 0.0, -25.0], [0.0, 0.5, 0.0]])


def test_centre_crop_of_a_canonical_render_keeps_the_layout() -> None:
    size = 128
    render = np.zeros((2 * size, 2 * size), np.uint8)  # greyscale, square, canonical layout
    for x, y in CANONICAL.points(2 * size)[:2]:
        render[round(y) - 2 : round(y) + 3, round(x) - 2 : round(x) + 3] = 255
    crop = centre_crop(render, size=size)
    for x, y in CANONICAL.points(size)[:2]:
        assert crop.image[round(y), round(x)].min() > 200


def test_bad_array_is_an_invalid_image() -> None:
    with pytest.raises(InvalidImageError):
        align_face(np.zeros((4, 4, 3), np.uint8))


# ------------------------------------------------------------------------------ real photos


def test_face_found_in_a_real_photo_with_the_subjects_eyes_the_right_way_round() -> None:
    rgb = _load(LFW_PHOTO)
    faces = detect_faces(rgb)
    assert faces and faces[0].detector == "dlib-hog" and faces[0].pose == "frontal"
    x0, y0, x1, y1 = faces[0].box
    assert x0 < 125 < x1 and y0 < 125 < y1  # LFW faces are centred in the 250x250 photo
    right_eye, left_eye, nose, mouth_right, mouth_left = faces[0].landmarks
    assert right_eye[0] < nose[0] < left_eye[0]  # the subject's right eye is on the image left
    assert mouth_right[0] < mouth_left[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(mouth_right[1], mouth_left[1])


def test_aligned_crop_has_level_eyes_at_the_template_positions() -> None:
    aligned = align_face(_load(LFW_PHOTO))
    assert aligned.method == "dlib-5pt" and aligned.image.shape == (ALIGNED_SIZE, ALIGNED_SIZE, 3)
    _assert_eyes_on_template(_redetected_eyes(aligned), ALIGNED_SIZE)


def test_alignment_checked_by_an_independent_eye_detector() -> None:
    aligned = align_face(_load(YALE_PHOTO))
    eyes = detect_eyes(aligned.image, (0, 0, ALIGNED_SIZE, ALIGNED_SIZE))
    assert eyes is not None, "OpenCV's eye cascade found no eye pair in the aligned crop"
    _assert_eyes_on_template(eyes.astype(np.float64), ALIGNED_SIZE, tolerance=0.1)


@pytest.mark.parametrize("degrees", [20.0, -20.0, 45.0, -55.0])
def test_rotated_photo_is_levelled(degrees: float) -> None:
    aligned = align_face(_rotate(_load(LFW_PHOTO), degrees), size=160)
    assert aligned.image.shape == (160, 160, 3)
    _assert_eyes_on_template(_redetected_eyes(aligned), 160)


def test_greyscale_photo_accepted() -> None:
    grey = _load(YALE_PHOTO)
    assert grey.ndim == 2
    aligned = align_face(grey)
    assert aligned.image.shape == (ALIGNED_SIZE, ALIGNED_SIZE, 3) and aligned.method == "dlib-5pt"
    assert np.array_equal(aligned.image[..., 0], aligned.image[..., 1])
    _assert_eyes_on_template(_redetected_eyes(aligned), ALIGNED_SIZE)


def test_haar_fallback_alignment_on_a_real_face() -> None:
    rgb = _load(YALE_PHOTO)
    haar = detect_frontal_haar(rgb)
    assert len(haar) == 1 and haar[0].landmarks is None and haar[0].detector == "haar-frontal"
    aligned = align_face(rgb, detection=haar[0])
    assert aligned.method == "haar-eyes" and aligned.detection is haar[0]
    _assert_eyes_on_template(_redetected_eyes(aligned), ALIGNED_SIZE)


def test_haar_box_alignment_without_eyes_on_a_real_face() -> None:
    # blank the eyes so the eye cascade finds none; the box alone must then put the real eye
    # centres (dlib's, taken before blanking) near the template's
    rgb = _load(LFW_PHOTO)
    haar = detect_frontal_haar(rgb)[0]
    reference = align_face(rgb)  # dlib landmarks: where the eyes really are
    eyes_in_photo = reference.detection.landmarks[:2]
    hidden = rgb.copy()
    for x, y in eyes_in_photo:
        hidden[round(y) - 8 : round(y) + 8, round(x) - 12 : round(x) + 12] = 0
    aligned = align_face(hidden, detection=haar)
    assert aligned.method == "haar-box"
    eyes = eyes_in_photo.astype(np.float64) @ aligned.transform[:, :2].T + aligned.transform[:, 2]
    template = np.asarray(CANONICAL.points(ALIGNED_SIZE)[:2])
    assert (np.linalg.norm(eyes - template, axis=1) / ALIGNED_SIZE).max() < 0.12


def test_profile_cascade_tells_the_direction_of_a_turned_face() -> None:
    rgb = _load(TURNED_PHOTO)
    frontal = detect_faces(rgb)[0]
    right_eye, left_eye, nose = frontal.landmarks[:3]
    # independent expectation from dlib's landmarks: the nose lies far towards the image right
    assert nose[0] - (right_eye[0] + left_eye[0]) / 2 > 0.4 * (left_eye[0] - right_eye[0])
    profiles = detect_profiles(rgb)
    assert [p.pose for p in profiles] == ["profile_right"]
    mirrored = detect_profiles(np.ascontiguousarray(rgb[:, ::-1]))
    assert [p.pose for p in mirrored] == ["profile_left"]
    # the profile box and dlib's box cover the same face
    (px0, py0, px1, py1), (fx0, fy0, fx1, fy1) = profiles[0].box, frontal.box
    overlap = max(0, min(px1, fx1) - max(px0, fx0)) * max(0, min(py1, fy1) - max(py0, fy0))
    assert overlap > 0.4 * min(profiles[0].area, frontal.area)
    aligned = align_face(rgb, detection=profiles[0], size=128)
    assert aligned.method == "profile-box" and aligned.image.shape == (128, 128, 3)
    centre = np.array([(px0 + px1) / 2, (py0 + py1) / 2]) @ aligned.transform[:, :2].T + aligned.transform[:, 2]
    assert abs(centre[0] - 64) < 2 and 0.45 * 128 < centre[1] < 0.65 * 128


def test_concurrent_calls_give_the_same_crops() -> None:
    rgb = _load(LFW_PHOTO)
    expected = align_face(rgb, size=96).image
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(align_face(rgb, size=96).image)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 4
    assert all(np.array_equal(result, expected) for result in results)
