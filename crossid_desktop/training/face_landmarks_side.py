"""Train the profile-photo landmark model on synthetic profile photos with exact landmarks.

The model is a dlib shape predictor for the points of
:data:`~crossid_desktop.matching.landmarks.face_side_model.PARTS`, trained on profile photos of
simulated people rendered as ``crossid synth`` renders them (``params.json`` truth). Each photo
goes through the same steps as at run time (silhouette, front outline, nose tip by the contour
rules, the box of :func:`~crossid_desktop.matching.landmarks.face_side_model.reference_box`), so
the model learns from the boxes it will be given. Half of the photos are drawn with the pose,
shift and scale ranges doubled, and every photo is also used once more turned and scaled at
random (up to ``--turn`` degrees and ``--zoom``) at a random size between ``--min-size`` and
``--size`` pixels, so it meets wider poses and smaller photos than the cohort's own.

Run::

    python -m crossid_desktop.training.face_landmarks_side --synth-seed 73 --people 1500 --depth 5 \\
        --cascade 15 --oversampling 20 --out resources/models/face_landmarks_side.dat   # the bundled model

and a JSON card is written beside the model (data, command, options, counts).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import NoFaceFoundError
from crossid_desktop.matching.landmarks.face_front import _work_crop, crop_rectangle
from crossid_desktop.matching.landmarks.face_side_model import PARTS, reference_box
from crossid_desktop.paths import atomic_path, write_text_atomic
from crossid_desktop.training.face_landmarks import PREDICTOR_OPTIONS, _turned, add_predictor_arguments, gather_samples, train_predictor


def synthetic_profiles(seed: int, people: int, size: int) -> Iterator[tuple[NDArray[np.uint8], NDArray[np.float64]]]:
    """``(RGB profile photo, (len(PARTS), 2) exact points)`` for ``people`` simulated people of
    ``seed``: the odd-numbered people with the pose, shift and scale ranges doubled."""
    from crossid_desktop.synth.face_profile import render_face_side
    from crossid_desktop.synth.params import draw_nuisance, draw_subject
    from crossid_desktop.synth.truth import image_landmarks

    for index in range(people):
        subject = draw_subject(seed, index)
        rng = np.random.default_rng(np.random.SeedSequence([seed, index, 0x51DE]))
        factor = 2.0 if index % 2 else 1.0
        nuisance = draw_nuisance(rng, max_angle=4.0 * factor, max_shift=0.02 * factor, max_scale=0.03 * factor)
        marks = image_landmarks("face-side", subject, nuisance, size)
        yield render_face_side(subject, nuisance, size), np.array([marks[name] for name in PARTS], dtype=np.float64)


def training_sample(rgb: NDArray[np.uint8], points: NDArray[np.float64]) -> tuple[NDArray[np.uint8], object] | None:
    """One dlib training sample (grey crop, full_object_detection) with the run-time box, or None
    where the contour rules find no profile."""
    import cv2  # heavy import kept local
    import dlib  # heavy import kept local

    from crossid_desktop.matching.landmarks.face_profile_rules import profile_points
    from crossid_desktop.matching.landmarks.face_side import front_outline, silhouette

    try:
        mask, _ = silhouette(rgb)
    except NoFaceFoundError:
        return None
    outline = front_outline(mask)
    found, _ = profile_points(outline, image_height=rgb.shape[0])
    if "pronasale" not in found:
        return None
    box = reference_box(outline, found["pronasale"])
    crop, matrix = _work_crop(rgb, box)
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    parts = [dlib.point(int(round(x)), int(round(y))) for x, y in points @ matrix[:, :2].T + matrix[:, 2]]
    return grey, dlib.full_object_detection(crop_rectangle(matrix, box), parts)


def _resized(rgb: NDArray[np.uint8], points: NDArray[np.float64], side: int) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    import cv2  # heavy import kept local

    factor = side / rgb.shape[0]
    return cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA), (points + 0.5) * factor - 0.5


def build_samples(photos: Iterator[tuple[NDArray[np.uint8], NDArray[np.float64]]], *, turn: float, zoom: float, min_size: int,
                  seed: int) -> tuple[list, list, int]:
    """Training crops and shapes (each photo as it is and once turned, scaled and resized), and
    the number of those crops skipped because the rules found no profile on them."""
    rng = np.random.default_rng(seed)

    def copies(rgb: NDArray[np.uint8], points: NDArray[np.float64]) -> tuple[tuple[NDArray[np.uint8], NDArray[np.float64]], ...]:
        turned, moved = _turned(rgb, points, rng, turn, zoom)
        side = int(rng.integers(min_size, rgb.shape[0] + 1))
        return (rgb, points), _resized(turned, moved, side)

    return gather_samples((copies(rgb, points) for rgb, points in photos), training_sample)


def main(argv: list[str] | None = None) -> int:
    from crossid_desktop.matching.landmarks.face_front import WORK_SIDE

    parser = argparse.ArgumentParser(description="Train the profile-photo landmark model on synthetic profile photos.")
    parser.add_argument("--synth-seed", type=int, required=True, help="render profile photos of simulated people of this seed")
    parser.add_argument("--people", type=int, default=600, help="simulated people (one profile photo each)")
    parser.add_argument("--size", type=int, default=256, help="rendered photo side in pixels")
    parser.add_argument("--min-size", type=int, default=128, help="smallest side of the extra copies")
    parser.add_argument("--out", type=str, required=True, help="model file (.dat); its card goes beside it (.json)")
    add_predictor_arguments(parser, oversampling=10)
    args = parser.parse_args(argv)
    photos = synthetic_profiles(args.synth_seed, args.people, args.size)
    images, shapes, skipped = build_samples(photos, turn=args.turn, zoom=args.zoom, min_size=args.min_size, seed=args.seed)
    predictor = train_predictor(images, shapes, args)
    with atomic_path(args.out) as temporary:
        predictor.save(str(temporary))
    card = {"name": "face_landmarks_side", "kind": "dlib shape predictor", "parts": list(PARTS), "work_side": WORK_SIDE,
            "data": {"synthetic_seed": args.synth_seed, "people": args.people, "photo_size": args.size, "min_size": args.min_size,
                     "description": f"{args.people} profile photos of simulated people (seed {args.synth_seed}, {args.size} px, "
                                    "rendered as crossid synth renders them; every second person with the pose, shift and scale "
                                    "ranges doubled) with their exact landmarks; each photo also once turned, scaled and resized"},
            "training_crops": len(images), "crops_without_profile": skipped,
            "options": {k: getattr(args, k) for k in PREDICTOR_OPTIONS},
            "command": "python -m crossid_desktop.training.face_landmarks_side " + " ".join(argv or sys.argv[1:])}
    write_text_atomic(args.out.removesuffix(".dat") + ".json", json.dumps(card, indent=1) + "\n")
    print(f"Trained on {len(images)} crops ({skipped} crops without a profile found); wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
