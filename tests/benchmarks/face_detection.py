"""Face detection and alignment on real photos: detection rate, alignment methods, time per
photo and where the eyes land in the aligned crop.

Data: ``../shared/data/faces/lfw_dev/<Name>/*.jpg`` (LFW, colour 250x250) and
``../shared/data/faces/yale/subjectNN/<condition>.png`` (Yale A, greyscale 320x243). Skips with
a message when absent.

Two eye-position figures, both as a fraction of the canonical eye distance:

- *fit*: the landmarks used for the alignment, mapped into the crop, against the template. For
  ``dlib-5pt`` this is only the residual of the five-point least-squares fit (the face's own
  shape against the template), not an independent check.
- *re-detected*: the aligned crop is searched again from scratch and the eye centres found
  there are compared with the template, plus the roll (degrees) of the line through them. This
  is the independent measure of where the eyes really land. The same measure on the plain
  central square of each photo (no alignment) is the baseline.

Detection baseline: OpenCV's frontal Haar cascade alone, in the same process (rate and time).

Run: ``.venv/bin/python tests/benchmarks/face_detection.py [--per-person N]``; ``--calibrate``
prints where Haar frontal boxes land in the canonical crop (the constant in ``faces.py``) and
``--contact-sheet docs/faces/contact_sheet.png`` draws detections and aligned crops.
Timings are wall-clock on whatever machine runs it; on a shared CPU they are noisy.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from crossid_desktop.errors import NoFaceFoundError
from crossid_desktop.imaging.canonical import ALIGNED_SIZE, CANONICAL
from crossid_desktop.imaging.face_detect import detect_frontal_haar
from crossid_desktop.imaging.faces import align_face, centre_crop, detect_faces

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "faces"


def load(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L") if image.mode in ("L", "P", "1") else image.convert("RGB"))


def photos(per_person: int) -> list[tuple[str, str, Path]]:
    """(data set, group, path): LFW grouped as "lfw", Yale by condition (the file stem)."""
    found: list[tuple[str, str, Path]] = []
    for person in sorted((FACES / "lfw_dev").glob("*")):
        found += [("lfw", "lfw", p) for p in sorted(person.glob("*.jpg"))[:per_person]]
    for subject in sorted((FACES / "yale").glob("subject*")):
        found += [("yale", p.stem, p) for p in sorted(subject.glob("*.png"))[:per_person]]
    return found


def eye_errors(eyes: np.ndarray, size: int) -> tuple[float, float, float]:
    """(right-eye error, left-eye error, roll in degrees) of (2, 2) eye centres in a crop."""
    template = np.asarray(CANONICAL.points(size)[:2])
    distance = CANONICAL.eye_distance * size
    errors = np.linalg.norm(eyes - template, axis=1) / distance
    roll = math.degrees(math.atan2(eyes[1, 1] - eyes[0, 1], eyes[1, 0] - eyes[0, 0]))
    return float(errors[0]), float(errors[1]), roll


def summarise(values: list[float]) -> str:
    if not values:
        return "n/a"
    array = np.asarray(values)
    return f"mean {array.mean():.3f}  median {np.median(array):.3f}  p95 {np.percentile(array, 95):.3f}  max {array.max():.3f}  (n={len(array)})"


def calibrate(per_person: int) -> None:
    """Where OpenCV's frontal Haar box lands in crops aligned with dlib landmarks (LFW)."""
    placements = []
    for dataset, _, path in photos(per_person):
        if dataset != "lfw":
            continue
        rgb = load(path)
        faces = detect_faces(rgb)
        if not faces or faces[0].landmarks is None:
            continue
        aligned = align_face(rgb, detection=faces[0])
        boxes = detect_frontal_haar(rgb)
        if not boxes:
            continue
        box = boxes[0].box
        corners = np.array([[box[0], box[1]], [box[2], box[3]]]) @ aligned.transform[:, :2].T + aligned.transform[:, 2]
        centre = corners.mean(axis=0) / ALIGNED_SIZE
        side = math.dist(corners[0], corners[1]) / math.sqrt(2) / ALIGNED_SIZE
        placements.append((centre[0], centre[1], side))
    array = np.asarray(placements)
    print(f"Haar frontal box in the canonical crop over {len(array)} LFW photos:")
    print(f"  centre x {array[:, 0].mean():.3f} +- {array[:, 0].std():.3f}, centre y {array[:, 1].mean():.3f} +- {array[:, 1].std():.3f}, side {array[:, 2].mean():.3f} +- {array[:, 2].std():.3f}")


#: (photo, in-plane rotation in degrees applied before detection, to show tilted photos)
SHEET_PHOTOS = (
    ("lfw_dev/Adrien_Brody/Adrien_Brody_0005.jpg", 0.0),
    ("lfw_dev/Angelina_Jolie/Angelina_Jolie_0012.jpg", 0.0),
    ("lfw_dev/Naomi_Watts/Naomi_Watts_0012.jpg", 0.0),
    ("lfw_dev/Spencer_Abraham/Spencer_Abraham_0002.jpg", 0.0),
    ("lfw_dev/Muhammad_Ali/Muhammad_Ali_0008.jpg", 0.0),
    ("lfw_dev/Jackie_Chan/Jackie_Chan_0001.jpg", 25.0),
    ("yale/subject01/normal.png", 0.0),
    ("yale/subject02/leftlight.png", 0.0),
    ("yale/subject07/rightlight.png", 0.0),
    ("yale/subject05/centerlight.png", 0.0),
    ("yale/subject11/glasses.png", 0.0),
    ("yale/subject09/surprised.png", -20.0),
)


def contact_sheet(out: Path, cell: int = 176) -> None:
    """Originals with the detection box and landmarks (top of each pair: red the subject's
    right eye, blue the left eye, yellow the nose tip, magenta and cyan the mouth corners) over
    their aligned crops with the template eye positions as green crosses on the template's eye
    line (bottom)."""
    import cv2
    from PIL import Image

    columns = 6
    pairs = []
    for relative, degrees in SHEET_PHOTOS:
        path = FACES / relative
        if not path.exists():
            continue
        rgb = load(path)
        rgb = rgb if rgb.ndim == 3 else np.repeat(rgb[:, :, None], 3, axis=2)
        if degrees:
            height, width = rgb.shape[:2]
            rotation = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
            rgb = cv2.warpAffine(rgb, rotation, (width, height), borderMode=cv2.BORDER_REPLICATE)
        aligned = align_face(rgb, allow_centre_crop=True)
        photo = rgb.copy()
        scale = cell / max(photo.shape[:2])
        photo = cv2.resize(photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        if aligned.detection is not None:
            x0, y0, x1, y1 = (round(v * scale) for v in aligned.detection.box)
            cv2.rectangle(photo, (x0, y0), (x1, y1), (255, 200, 0), 1)
            if aligned.detection.landmarks is not None:
                colours = [(255, 0, 0), (0, 120, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255)]
                for (x, y), colour in zip(aligned.detection.landmarks * scale, colours):
                    cv2.circle(photo, (round(x), round(y)), 3, (0, 0, 0), -1)
                    cv2.circle(photo, (round(x), round(y)), 2, colour, -1)
        top = np.full((cell, cell, 3), 40, dtype=np.uint8)
        oy, ox = (cell - photo.shape[0]) // 2, (cell - photo.shape[1]) // 2
        top[oy : oy + photo.shape[0], ox : ox + photo.shape[1]] = photo
        caption = Path(relative).stem if relative.startswith("lfw") else f"{Path(relative).parent.name} {Path(relative).stem}"
        top[cell - 18 :] = (top[cell - 18 :] * 0.3).astype(np.uint8)
        cv2.putText(top, caption, (4, cell - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (255, 255, 0), 1, cv2.LINE_AA)
        if degrees:
            cv2.putText(top, f"rotated {degrees:+.0f} deg", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
        crop = cv2.resize(aligned.image, (cell, cell), interpolation=cv2.INTER_AREA)
        template = np.asarray(CANONICAL.points(cell)[:2])
        cv2.line(crop, (0, round(template[:, 1].mean())), (cell - 1, round(template[:, 1].mean())), (0, 160, 0), 1)
        for x, y in template:
            cv2.drawMarker(crop, (round(x), round(y)), (0, 255, 0), cv2.MARKER_CROSS, 12, 1)
        label = f"{aligned.method} / {aligned.detection.detector if aligned.detection else '-'}"
        crop[cell - 18 :] = (crop[cell - 18 :] * 0.3).astype(np.uint8)
        cv2.putText(crop, label, (4, cell - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
        pairs.append(np.vstack([top, crop]))
    rows = [np.hstack(pairs[i : i + columns] + [np.zeros_like(pairs[0])] * (columns - len(pairs[i : i + columns]))) for i in range(0, len(pairs), columns)]
    sheet = np.vstack([np.pad(row, ((0, 6), (0, 0), (0, 0)), constant_values=255) for row in rows])
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG).save(out, optimize=True)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB, {len(pairs)} photos)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-person", type=int, default=20, help="photos per person at most (default 20)")
    parser.add_argument("--calibrate", action="store_true", help="print where Haar frontal boxes land in dlib-aligned crops")
    parser.add_argument("--contact-sheet", type=Path, metavar="PNG", help="write a contact sheet of detections and aligned crops")
    args = parser.parse_args()
    if not (FACES / "lfw_dev").is_dir() and not (FACES / "yale").is_dir():
        print(f"skipped: no face data under {FACES}")
        return 0
    if args.contact_sheet:
        contact_sheet(args.contact_sheet)
        return 0
    if args.calibrate:
        calibrate(args.per_person)
        return 0

    items = photos(args.per_person)
    detect_faces(load(items[0][2]))  # load the models before timing
    found: dict[str, list[bool]] = defaultdict(list)
    by_condition: dict[str, list[bool]] = defaultdict(list)
    methods: dict[str, Counter[str]] = defaultdict(Counter)
    fit_errors: dict[str, list[float]] = defaultdict(list)
    redetected_errors: dict[str, list[float]] = defaultdict(list)
    rolls: dict[str, list[float]] = defaultdict(list)
    redetected: dict[str, list[bool]] = defaultdict(list)
    seconds: dict[str, list[float]] = defaultdict(list)
    baseline_found: dict[str, list[bool]] = defaultdict(list)
    baseline_seconds: dict[str, list[float]] = defaultdict(list)
    for dataset, group, path in items:
        rgb = load(path)
        start = time.perf_counter()
        try:
            aligned = align_face(rgb)
        except NoFaceFoundError:
            aligned = None
        seconds[dataset].append(time.perf_counter() - start)
        start = time.perf_counter()
        baseline_found[dataset].append(bool(detect_frontal_haar(rgb)))
        baseline_seconds[dataset].append(time.perf_counter() - start)
        # the alignment baseline: no alignment at all, the central square of the photo
        plain = [d for d in detect_faces(centre_crop(rgb).image) if d.landmarks is not None]
        if plain:
            right, left, roll = eye_errors(plain[0].landmarks[:2].astype(np.float64), ALIGNED_SIZE)
            redetected_errors[f"{dataset} (centre-crop baseline)"] += [right, left]
            rolls[f"{dataset} (centre-crop baseline)"].append(abs(roll))
        found[dataset].append(aligned is not None)
        if dataset == "yale":
            by_condition[group].append(aligned is not None)
        if aligned is None:
            methods[dataset]["none"] += 1
            continue
        methods[dataset][aligned.method] += 1
        if aligned.landmarks is not None:
            right, left, _ = eye_errors(aligned.landmarks[:2].astype(np.float64), ALIGNED_SIZE)
            fit_errors[f"{dataset} {aligned.method}"] += [right, left]
        again = [d for d in detect_faces(aligned.image) if d.landmarks is not None]
        redetected[dataset].append(bool(again))
        if again:
            right, left, roll = eye_errors(again[0].landmarks[:2].astype(np.float64), ALIGNED_SIZE)
            redetected_errors[f"{dataset} {aligned.method}"] += [right, left]
            rolls[f"{dataset} {aligned.method}"].append(abs(roll))

    print(f"Face detection and alignment, crop {ALIGNED_SIZE} px, data under {FACES}")
    for dataset in found:
        rate = np.mean(found[dataset])
        print(f"\n[{dataset}] {len(found[dataset])} photos: detection rate {rate:.3f}, mean time per photo {1000 * np.mean(seconds[dataset]):.1f} ms (detect + align)")
        print(f"  baseline, OpenCV's Haar frontal cascade alone: detection rate {np.mean(baseline_found[dataset]):.3f}, time ratio (ours / baseline) {np.mean(seconds[dataset]) / np.mean(baseline_seconds[dataset]):.2f}")
        print(f"  methods: {dict(methods[dataset])}")
        print(f"  aligned crops where dlib finds landmarks again: {np.mean(redetected[dataset]):.3f}")
    if by_condition:
        print("\n[yale] detection rate per condition:")
        for condition, hits in sorted(by_condition.items()):
            print(f"  {condition:<12} {np.mean(hits):.3f} ({sum(hits)}/{len(hits)})")
    print("\nEye error (distance from the template eye / canonical eye distance), each eye counted:")
    for key in sorted(set(fit_errors) | set(redetected_errors)):
        print(f"  {key:<28} fit:         {summarise(fit_errors.get(key, []))}")
        print(f"  {key:<28} re-detected: {summarise(redetected_errors.get(key, []))}")
        print(f"  {key:<28} |roll| deg:  {summarise(rolls.get(key, []))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
