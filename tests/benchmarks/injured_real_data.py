"""The data of the real-photo injured-face benchmark (``injured_real.py``): the people split,
the aligned crops, the injured probes and the descriptors of every matcher variant, each cached
under the work folder so that a stage runs once.

**Split, made before anything was trained or tuned** (deterministic):

* ``lfw_train`` (1,522 people): 100 *tuning* people among those with 4 or more photos (seed 13),
  500 *distractor* people among the rest (seed 17; their first photo joins the reporting
  gallery, nothing else of them is used), the other 922 people for *training* (segmenter, head,
  average face shape);
* *reporting* people: ``lfw_dev`` (58 people) and ``yale`` (15 people), never used to train or
  tune anything.

**Gallery and probes**: per person the first three photos (file-name order) are the gallery;
the next (at most six) are probes. An injured probe is the probe photo with casework injuries
(``synth/injuries/photo.py``) whose severity and number of injuries come from an even design
(five severities 0.15-0.95 by one to four injuries, drawn per photo by a hash), then found and
aligned on the injured photo as a query is. The clean probe is the same photo uninjured.
"""

from __future__ import annotations

import random
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

GALLERY_PER_PERSON = 3
MAX_PROBES = 6
SEVERITIES = (0.15, 0.35, 0.55, 0.75, 0.95)
COUNTS = (1, 2, 3, 4)
REPORT_SETS = ("lfw_dev", "yale")


def split_lfw_train(root: Path) -> dict[str, list[str]]:
    """The people of ``lfw_train``: ``train``, ``tune`` and ``distractors`` (module docstring)."""
    counts = {p.name: len(list(p.iterdir())) for p in root.iterdir() if p.is_dir()}
    eligible = sorted(p for p, c in counts.items() if c >= 4)
    tune = set(random.Random(13).sample(eligible, 100))
    distractors = set(random.Random(17).sample(sorted(set(counts) - tune), 500))
    return {"train": sorted(set(counts) - tune - distractors), "tune": sorted(tune), "distractors": sorted(distractors)}


def gallery_probe_rows(people: list[str], names: list[str], keep: set[str] | None = None, *, k: int = GALLERY_PER_PERSON,
                       max_probes: int | None = MAX_PROBES) -> tuple[list[int], list[int]]:
    """Rows of the gallery photos (first ``k`` per person in file-name order) and of the probes
    (the next ``max_probes``; None: all the rest)."""
    by: dict[str, list[tuple[str, int]]] = {}
    for i, (person, name) in enumerate(zip(people, names)):
        if keep is None or person in keep:
            by.setdefault(person, []).append((name, i))
    gallery, probes = [], []
    for person in sorted(by):
        rows = [i for _, i in sorted(by[person])]
        gallery += rows[:k]
        probes += rows[k:] if max_probes is None else rows[k:k + max_probes]
    return gallery, probes


def injury_seed(mix: str, person: str, name: str) -> int:
    return zlib.crc32(f"{mix}|{person}|{name}".encode())


def design_cell(mix: str, person: str, name: str) -> tuple[float, int]:
    """(severity, number of injuries) of a reporting probe: an even design over 5 x 4 cells."""
    h = zlib.crc32(f"cell|{mix}|{person}|{name}".encode())
    return SEVERITIES[h % 5], COUNTS[(h // 5) % 4]


class Cache:
    """The work folder: ``crops_<set>.npz``, ``probes/<set>_<part>_<mix>.npz``, ``desc/<spec>__<variant>.npy``."""

    def __init__(self, work: Path, faces: Path) -> None:
        self.work, self.faces = Path(work), Path(faces)
        (self.work / "probes").mkdir(parents=True, exist_ok=True)
        (self.work / "desc").mkdir(parents=True, exist_ok=True)

    def crops(self, set_name: str) -> tuple[Any, list[Path], list[str]]:
        """Every photo of a set aligned as a gallery photo (detections, 68 landmarks, crop)."""
        path = self.work / f"crops_{set_name}.npz"
        if not path.exists():
            _write_crops(self.faces / set_name, path)
        data = np.load(path)
        paths = [Path(p) for p in data["paths"]]
        return data, paths, [p.parent.name for p in paths]

    def probes(self, set_name: str, part: str, mix_name: str) -> Any:
        path = self.work / "probes" / f"{set_name}_{part}_{mix_name}.npz"
        if not path.exists():
            _write_probes(self, set_name, part, mix_name, path)
        return np.load(path)

    def descriptor_path(self, spec: str, variant: str) -> Path:
        return self.work / "desc" / f"{spec.replace(':', '__')}__{variant}.npy"


def _write_crops(folder: Path, out: Path) -> None:
    from crossid_desktop.imaging.face_detect import detect_faces
    from crossid_desktop.imaging.faces import align_face, centre_crop
    from crossid_desktop.imaging.io import load_image

    paths = sorted(p for p in folder.glob("*/*") if p.suffix.lower() in (".jpg", ".png"))
    crops = np.zeros((len(paths), 256, 256, 3), np.uint8)
    marks = np.full((len(paths), 68, 2), np.nan, np.float32)
    transforms, nfaces, methods = np.zeros((len(paths), 2, 3)), np.zeros(len(paths), np.int16), []
    start = time.time()
    for i, path in enumerate(paths):
        rgb = load_image(path).rgb_uint8()
        faces = detect_faces(rgb)
        aligned = align_face(rgb, detection=faces[0]) if faces else centre_crop(rgb)
        crops[i], transforms[i], nfaces[i] = aligned.image, aligned.transform, len(faces)
        methods.append(aligned.method)
        if faces and faces[0].landmarks68 is not None:
            marks[i] = faces[0].landmarks68
        if i % 200 == 0:
            print(f"  aligning {folder.name}: {i}/{len(paths)} ({time.time() - start:.0f} s)", flush=True)
    np.savez(out, paths=np.array([str(p) for p in paths]), crops=crops, marks=marks, transforms=transforms, nfaces=nfaces, method=np.array(methods))


def probe_rows(cache: Cache, set_name: str, part: str) -> list[int]:
    data, paths, people = cache.crops(set_name)
    keep = None
    if part in ("tune", "train"):
        keep = set(split_lfw_train(cache.faces / "lfw_train")[part])
    if part == "train":
        return gallery_probe_rows(people, [p.name for p in paths], keep, k=1, max_probes=None)[1]
    return gallery_probe_rows(people, [p.name for p in paths], keep)[1]


def _write_probes(cache: Cache, set_name: str, part: str, mix_name: str, out: Path) -> None:
    """Injure each probe photo, find and align the face on the injured photo (as a query), and
    keep the injured photo, its crop, landmarks, transform and the true mask in that crop."""
    import cv2

    from crossid_desktop.imaging.faces import align_face, detect_faces, warp_to_crop
    from crossid_desktop.imaging.io import load_image
    from crossid_desktop.synth.injuries.mix import MIXES
    from crossid_desktop.synth.injuries.photo import injure_photo

    data, paths, people = cache.crops(set_name)
    rows = probe_rows(cache, set_name, part)
    rng = np.random.default_rng(7)
    keys = ("photos", "rows", "crops", "masks", "marks", "transforms", "found", "nfaces", "severity", "count", "kinds")
    out_data: dict[str, list[Any]] = {k: [] for k in keys}
    start = time.time()
    for j, i in enumerate(rows):
        person, name = people[i], paths[i].name
        severity, count = design_cell(mix_name, person, name) if part != "train" else (float(rng.uniform(0.1, 1.0)), None)
        injured = injure_photo(load_image(paths[i]).rgb_uint8(), seed=injury_seed(mix_name, person, name), severity=severity, count=count, mix=MIXES[mix_name])
        faces = detect_faces(injured.image)
        aligned = align_face(injured.image, detection=faces[0]) if faces else None
        transform = aligned.transform if aligned is not None else injured.transform  # no face: aligned like the uninjured photo
        crop = aligned.image if aligned is not None else warp_to_crop(injured.image, transform)
        # the true mask carried from the uninjured photo's crop into this crop
        moved = (np.vstack([transform, [0, 0, 1]]) @ np.linalg.inv(np.vstack([injured.transform, [0, 0, 1]])))[:2]
        mask = cv2.warpAffine(injured.crop_mask.astype(np.uint8) * 255, moved, (256, 256), flags=cv2.INTER_LINEAR) > 127
        values = (injured.image, i, crop, np.packbits(mask), faces[0].landmarks68 if faces and faces[0].landmarks68 is not None else np.full((68, 2), np.nan, np.float32),
                  transform, int(bool(faces)), len(faces), severity, len(injured.kinds), "+".join(f"{k}@{s}" for k, s in zip(injured.kinds, injured.sites)))
        for key, value in zip(keys, values):
            out_data[key].append(value)
        if j % 100 == 0:
            print(f"  injuring {set_name}/{part} ({mix_name}): {j}/{len(rows)} ({time.time() - start:.0f} s)", flush=True)
    np.savez(out, **{k: np.array(v) for k, v in out_data.items()})


def probe_masks(probes: Any) -> np.ndarray:
    """The true injury masks ``(n, 256, 256) bool`` of a probe file, in its crops."""
    return np.unpackbits(probes["masks"], axis=1)[:, :256 * 256].reshape(-1, 256, 256).astype(bool)
