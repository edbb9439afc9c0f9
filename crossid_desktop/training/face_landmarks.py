"""Train the refined frontal face-landmark model on synthetic photos with exact landmarks.

The model is a dlib shape predictor (an ensemble of regression trees) for the points of
:data:`~crossid_desktop.matching.landmarks.face_front.REFINED_PARTS`, trained on the frontal
photos of one or more synthetic cohorts (``crossid synth``; their ``params.json`` holds every
photo's exact landmarks). Each photo goes through the same steps as at run time (face box,
generic 68 points, reference box, enlarged crop), so the model learns from the boxes it will
be given; each photo is also used once more turned and scaled at random (up to
``--turn`` degrees and ``--zoom``), so it meets wider poses than the cohort's own.

Run (photos rendered on the fly, as ``crossid synth`` renders its gallery photos; or ``--cohort``
folders written by ``crossid synth``)::

    python -m crossid_desktop.training.face_landmarks --synth-seed 71 --people 400 \\
        --out resources/models/face_landmarks_front.dat

and a JSON card is written beside the model (data, command, options, counts).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import NoFaceFoundError
from crossid_desktop.matching.landmarks.face_front import REFINED_PARTS, WORK_SIDE, _work_crop, crop_rectangle, find_face_box, generic_extras, generic_shape, reference_box


def cohort_photos(root: Path) -> Iterator[tuple[Path, dict[str, tuple[float, float]]]]:
    """``(photo path, {name: (x, y)})`` for every frontal photo of a synthetic cohort."""
    params = json.loads((root / "params.json").read_text(encoding="utf-8"))
    for subject in params["subjects"]:
        for name, image in sorted(subject["images"].items()):
            path = root / "s2f" / subject["subject_id"] / f"{name}.png"
            if image.get("view") == "face-front" and path.is_file():
                yield path, {k: (float(x), float(y)) for k, (x, y) in image["landmarks"].items()}


def synthetic_photos(seed: int, people: int, photos: int, size: int) -> Iterator[tuple[NDArray[np.uint8], dict[str, tuple[float, float]]]]:
    """``(RGB photo, {name: (x, y)})``: ``photos`` frontal photos of each of ``people`` simulated
    people of ``seed``, rendered as ``crossid synth`` renders its gallery photos (same nuisance)."""
    from crossid_desktop.synth.face import render_face_front
    from crossid_desktop.synth.params import draw_nuisance, draw_subject
    from crossid_desktop.synth.truth import image_landmarks

    for index in range(people):
        subject = draw_subject(seed, index)
        rng = np.random.default_rng(np.random.SeedSequence([seed, index, 0xFACE]))
        for _ in range(photos):
            nuisance = draw_nuisance(rng)
            yield render_face_front(subject, nuisance, size), image_landmarks("face-front", subject, nuisance, size)


def real_photos(root: Path, limit: int) -> Iterator[tuple[NDArray[np.uint8], dict[str, tuple[float, float]]]]:
    """``(RGB photo, {name: (x, y)})`` for up to ``limit`` real photos under ``root`` (``*.jpg``,
    ``*.png``), labelled by dlib's generic 68-point model (the extra points read off its points):
    with these the refined model keeps to the generic model's points on real faces."""
    import cv2  # heavy import kept local

    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    for path in paths[:limit]:
        rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        try:
            box, _ = find_face_box(rgb)
        except NoFaceFoundError:
            continue
        yield rgb, generic_extras(generic_shape(rgb, box))


def _turned(rgb: NDArray[np.uint8], points: NDArray[np.float64], rng: np.random.Generator, turn: float,
            zoom: float) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    """The photo and its points turned and scaled about the photo's centre at random."""
    import cv2  # heavy import kept local

    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-turn, turn)), float(np.exp(rng.uniform(-zoom, zoom))))
    out = cv2.warpAffine(rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, points @ matrix[:, :2].T + matrix[:, 2]


def training_sample(rgb: NDArray[np.uint8], points: NDArray[np.float64]) -> tuple[NDArray[np.uint8], Any] | None:
    """One dlib training sample (grey crop, full_object_detection), or None when no face is found."""
    import cv2  # heavy import kept local
    import dlib  # heavy import kept local

    try:
        box, _ = find_face_box(rgb)
    except NoFaceFoundError:
        return None
    reference = reference_box(generic_shape(rgb, box))
    crop, matrix = _work_crop(rgb, reference)
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    rect = crop_rectangle(matrix, reference)
    parts = [dlib.point(int(round(x)), int(round(y))) for x, y in points @ matrix[:, :2].T + matrix[:, 2]]
    return grey, dlib.full_object_detection(rect, parts)


def build_samples(photos: Iterator[tuple[NDArray[np.uint8], dict[str, tuple[float, float]]]], *, turn: float, zoom: float,
                  seed: int) -> tuple[list, list, int]:
    """Training crops and shapes from frontal photos with exact landmarks (each photo as it is and
    once turned); and the number of those copies skipped because no face was found on them."""
    rng = np.random.default_rng(seed)

    def copies(rgb: NDArray[np.uint8], marks: dict[str, tuple[float, float]]) -> tuple[tuple[NDArray[np.uint8], NDArray[np.float64]], ...]:
        points = np.array([marks[name] for name in REFINED_PARTS], dtype=np.float64)
        return (rgb, points), _turned(rgb, points, rng, turn, zoom)

    return gather_samples((copies(rgb, marks) for rgb, marks in photos), training_sample)


def gather_samples(photos: Iterable[Sequence[tuple[NDArray[np.uint8], NDArray[np.float64]]]],
                   training_sample: Callable[[NDArray[np.uint8], NDArray[np.float64]], tuple[NDArray[np.uint8], Any] | None]) -> tuple[list, list, int]:
    """dlib's training lists from each photo's copies ``(image, points)``: the crops and shapes
    ``training_sample`` makes of them, and how many copies it could make none of (progress on
    standard error every 100 photos). Shared by both face-landmark trainers."""
    images, shapes, skipped = [], [], 0
    for count, copies in enumerate(photos, 1):
        for image, xy in copies:
            sample = training_sample(image, xy)
            if sample is None:
                skipped += 1
                continue
            images.append(sample[0])
            shapes.append([sample[1]])
        if count % 100 == 0:
            print(f"  {count} photos", file=sys.stderr, flush=True)
    return images, shapes, skipped


#: the options of a dlib shape predictor's training that both face-landmark trainers take and
#: record in their model cards
PREDICTOR_OPTIONS = ("turn", "zoom", "trees", "cascade", "depth", "oversampling", "seed")


def add_predictor_arguments(parser: argparse.ArgumentParser, *, oversampling: int) -> None:
    """The command-line options of :data:`PREDICTOR_OPTIONS` (and the training threads)."""
    parser.add_argument("--turn", type=float, default=8.0, help="largest random turn of the extra copies (degrees)")
    parser.add_argument("--zoom", type=float, default=0.06, help="largest random log-scale of the extra copies")
    parser.add_argument("--trees", type=int, default=100, help="regression trees per cascade level")
    parser.add_argument("--cascade", type=int, default=10, help="cascade levels")
    parser.add_argument("--depth", type=int, default=4, help="tree depth")
    parser.add_argument("--oversampling", type=int, default=oversampling, help="initial shapes per training crop")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)


def train_predictor(images: list, shapes: list, args: argparse.Namespace) -> Any:
    """A dlib shape predictor trained on the crops and shapes with the options of ``args``."""
    import dlib  # heavy import kept local

    options = dlib.shape_predictor_training_options()
    options.tree_depth, options.cascade_depth, options.num_trees_per_cascade_level = args.depth, args.cascade, args.trees
    options.oversampling_amount, options.num_threads, options.nu = args.oversampling, args.threads, 0.1
    options.feature_pool_size, options.num_test_splits, options.be_verbose = 400, 20, True
    options.random_seed = str(args.seed)
    return dlib.train_shape_predictor(images, shapes, options)


def _photos(args: argparse.Namespace) -> Iterator[tuple[NDArray[np.uint8], dict[str, tuple[float, float]]]]:
    import cv2  # heavy import kept local

    for root in args.cohort or []:
        for path, marks in cohort_photos(root):
            yield cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), marks
    if args.synth_seed is not None:
        yield from synthetic_photos(args.synth_seed, args.people, args.photos, args.size)
    if args.real_faces is not None:
        yield from real_photos(args.real_faces, args.real_limit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the refined frontal face-landmark model on synthetic cohorts.")
    parser.add_argument("--cohort", type=Path, action="append", help="synthetic cohort folder (repeatable)")
    parser.add_argument("--synth-seed", type=int, default=None, help="also render photos of simulated people of this seed")
    parser.add_argument("--people", type=int, default=400, help="simulated people to render (with --synth-seed)")
    parser.add_argument("--photos", type=int, default=3, help="frontal photos per simulated person")
    parser.add_argument("--size", type=int, default=256, help="rendered photo side in pixels")
    parser.add_argument("--real-faces", type=Path, default=None, help="folder of real face photos, labelled by dlib's generic model")
    parser.add_argument("--real-limit", type=int, default=800, help="real photos to use at most")
    parser.add_argument("--out", type=Path, required=True, help="model file (.dat); its card goes beside it (.json)")
    add_predictor_arguments(parser, oversampling=8)
    args = parser.parse_args(argv)
    images, shapes, skipped = build_samples(_photos(args), turn=args.turn, zoom=args.zoom, seed=args.seed)
    predictor = train_predictor(images, shapes, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    predictor.save(str(args.out))
    card = {"name": args.out.stem, "kind": "dlib shape predictor", "parts": list(REFINED_PARTS), "work_side": WORK_SIDE,
            "data": {"cohorts": [str(p) for p in args.cohort or []], "synthetic_seed": args.synth_seed, "people": args.people,
                     "photos_per_person": args.photos, "photo_size": args.size,
                     "real_faces": str(args.real_faces) if args.real_faces else None, "real_limit": args.real_limit},
            "training_crops": len(images), "photos_without_face": skipped,
            "options": {k: getattr(args, k) for k in PREDICTOR_OPTIONS},
            "command": "python -m crossid_desktop.training.face_landmarks " + " ".join(argv or sys.argv[1:])}
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    print(f"Trained on {len(images)} crops ({skipped} photos without a face found); wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
