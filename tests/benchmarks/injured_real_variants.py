"""The matcher variants of the real-photo injured-face benchmark (``injured_real.py``), each a
way to turn an aligned crop into a dlib descriptor, built from the project's own pieces:

* ``dlib``: the crop as the standard alignment cut it (the plain dlib matcher);
* ``oracle`` / ``oracle-inpaint``: the true injury mask completed by mirror symmetry (and
  inpainting) or by inpainting alone (an upper bound for the segmenter);
* ``seg`` / ``seg-inpaint``: the same with the injury segmenter's mask;
* ``robust-only``: re-aligned from the 68 landmarks with the segmenter's reliabilities, not
  completed; ``robust-seg``: re-aligned, then completed with the segmenter's mask;
  ``robust-oracle``: re-aligned with the true mask's reliabilities, then completed with it;
  ``robust-oracle-only``: re-aligned with the true mask's reliabilities, not completed;
* any variant ``+ -flip``: the mean of the descriptors of the crop and of its mirror image
  (stored as ``(2, n, 128)``).

The steps are those of :func:`~crossid_desktop.matching.injured_query.prepare_injured` and
:func:`~crossid_desktop.matching.injured_query.described_faces`, applied to the detections the
probe files keep (so a face is detected once, not once per variant).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from injured_real_data import Cache, gallery_probe_rows, probe_masks, split_lfw_train

_MODELS: dict[str, Any] = {}


def matcher() -> Any:
    if "dlib" not in _MODELS:
        from crossid_desktop.matching.dlib_matcher import DlibFaceMatcher

        _MODELS["dlib"] = DlibFaceMatcher()
    return _MODELS["dlib"]


def segmenter(path: Path | None) -> Any:
    key = f"seg:{path}"
    if key not in _MODELS:
        from crossid_desktop.matching.injury_segmenter import load_segmenter

        _MODELS[key] = load_segmenter(path)
    return _MODELS[key]


def spec_crops(cache: Cache, spec: str) -> tuple[np.ndarray, Any]:
    """The crops of ``gallery:<set>[-tune|-distractors]``, ``clean:<probe file>`` or
    ``probes:<probe file>``, and the probe file (None for galleries)."""
    kind, name = spec.split(":")
    if kind == "gallery":
        set_name = name.split("-")[0]
        data, paths, people = cache.crops(set_name)
        names = [p.name for p in paths]
        if name.endswith("-distractors"):
            rows, _ = gallery_probe_rows(people, names, set(split_lfw_train(cache.faces / "lfw_train")["distractors"]), k=1, max_probes=0)
        else:
            keep = set(split_lfw_train(cache.faces / "lfw_train")["tune"]) if name.endswith("-tune") else None
            rows, _ = gallery_probe_rows(people, names, keep)
        return data["crops"][rows], None
    probes = np.load(cache.work / "probes" / f"{name}.npz")
    if kind == "clean":  # the same photos uninjured: their own detections, photos read again
        from crossid_desktop.imaging.io import load_image

        set_name = "lfw_train" if name.startswith("lfw_train") else name.split("_report")[0]
        data, paths, _ = cache.crops(set_name)
        rows = probes["rows"]
        meta = {"photos": _LazyPhotos([paths[i] for i in rows], load_image), "marks": data["marks"][rows], "transforms": data["transforms"][rows]}
        return data["crops"][rows], meta
    return probes["crops"], probes


class _LazyPhotos:
    """Photos read from their files when a variant needs them."""

    def __init__(self, paths: list[Path], load: Any) -> None:
        self.paths, self.load = paths, load

    def __getitem__(self, i: int) -> np.ndarray:
        return self.load(self.paths[i]).rgb_uint8()


def _robust(photo: np.ndarray, marks: np.ndarray, transform: np.ndarray, unreliable: np.ndarray) -> np.ndarray | None:
    from crossid_desktop.imaging.faces import warp_to_crop
    from crossid_desktop.imaging.robust_align import landmark_reliability, robust_transform

    if not np.isfinite(marks).all():
        return None
    return warp_to_crop(photo, robust_transform(marks, reliability=landmark_reliability(marks, transform, unreliable)))


def _robust_oracle(crop: np.ndarray, mask: np.ndarray, probes: Any, i: int) -> tuple[np.ndarray, np.ndarray]:
    """The probe re-aligned with the true mask's landmark reliabilities, and the mask moved into
    the new crop (the crop and mask as they were when the face has no 68 landmarks)."""
    import cv2

    from crossid_desktop.imaging.faces import warp_to_crop
    from crossid_desktop.imaging.robust_align import landmark_reliability, robust_transform

    marks, transform = probes["marks"][i], probes["transforms"][i]
    if not np.isfinite(marks).all():
        return crop, mask
    matrix = robust_transform(marks, reliability=landmark_reliability(marks, transform, mask.astype(np.float32)))
    moved = (np.vstack([matrix, [0, 0, 1]]) @ np.linalg.inv(np.vstack([transform, [0, 0, 1]])))[:2]
    return warp_to_crop(probes["photos"][i], matrix), cv2.warpAffine(mask.astype(np.float32), moved, mask.shape[::-1]) >= 0.5


def variant_faces(crops: np.ndarray, probes: Any, variant: str, seg_path: Path | None, threshold: float = 0.5) -> list[np.ndarray]:
    """The crops the descriptor sees for a (non-flip) variant."""
    from crossid_desktop.matching.completion import complete_face

    mirror = not variant.endswith("-inpaint")
    base = variant.removesuffix("-inpaint")
    if base == "dlib":
        return list(crops)
    if base == "oracle":
        return [complete_face(c, m, use_mirror=mirror) for c, m in zip(crops, probe_masks(probes))]
    if base == "robust-oracle":
        return [complete_face(*_robust_oracle(c, m, probes, i), use_mirror=mirror) for i, (c, m) in enumerate(zip(crops, probe_masks(probes)))]
    if base == "robust-oracle-only":
        return [_robust_oracle(c, m, probes, i)[0] for i, (c, m) in enumerate(zip(crops, probe_masks(probes)))]
    regions = segmenter(seg_path)
    out = []
    for i, crop in enumerate(crops):
        prob = regions.probabilities([crop])[0]
        if base.startswith("robust"):
            again = _robust(probes["photos"][i], probes["marks"][i], probes["transforms"][i], prob)
            if again is not None:
                crop, prob = again, regions.probabilities([again])[0]
        out.append(crop if base == "robust-only" else complete_face(crop, prob >= threshold, use_mirror=mirror))
    return out


def descriptors(cache: Cache, spec: str, variant: str, seg_path: Path | None) -> np.ndarray:
    """The (cached) descriptors of a spec under a variant: ``(n, 128)``, or ``(2, n, 128)`` for ``-flip``."""
    path = cache.descriptor_path(spec, variant)
    if path.exists():
        return np.load(path)
    if spec.startswith("clean:") and variant.removesuffix("-flip").removesuffix("-inpaint") in ("oracle", "robust-oracle", "robust-oracle-only"):
        return descriptors(cache, spec, "dlib-flip" if variant.endswith("-flip") else "dlib", seg_path)  # the true mask of a clean photo is empty
    crops, probes = spec_crops(cache, spec)
    start = time.time()
    base = variant.removesuffix("-flip")
    if variant.endswith("-flip"):
        plain = descriptors(cache, spec, base, seg_path)
        faces = variant_faces(crops, probes, base, seg_path)
        mirrored = _describe([np.ascontiguousarray(f[:, ::-1]) for f in faces])
        result = np.stack([plain, mirrored])
    else:
        result = _describe(variant_faces(crops, probes, base, seg_path))
    np.save(path, result)
    print(f"  described {spec} ({variant}): {len(crops)} faces in {time.time() - start:.0f} s", flush=True)
    return result


def _describe(faces: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([matcher().descriptors(faces[i:i + 64]) for i in range(0, len(faces), 64)]) if faces else np.empty((0, 128), np.float32)
