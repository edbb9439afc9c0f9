"""Write a synthetic cohort: paired skull X-rays and face photos of simulated people.

Layouts (ARCHITECTURE.md, "Data sets on disk")::
    OUT/s2f/<subject_id>/xray_front.png, xray_side.png, xray_front_clean.png,
                         xray_side_clean.png, face_front.png, face_side.png, face_front_2.png, ...
    OUT/s2f/subjects.csv                     subject_id,name,sex,age
    OUT/if/<subject_id>/normal/face_front*.png
    OUT/if/<subject_id>/injured/injured_01_<kinds>_<regions>.png
    OUT/if/subjects.csv
    OUT/params.json                          every parameter, nuisance, landmark and injury

``params.json`` holds, per person, ``landmarks_mm`` (head-frame positions of the X-ray and
profile landmarks, per view) and, per image, its ``view`` and ``landmarks``: ``{name: [x, y]}``
in that image's pixels (:mod:`crossid_desktop.synth.truth`), named by the landmark table
(:mod:`crossid_desktop.anatomy.landmarks`).

The output is deterministic for a seed: the same seed gives the same bytes in every file
(fixed PNG compression, no timestamps, JSON with sorted keys). Each person is drawn from
their own random streams, so the first people of a larger cohort equal a smaller cohort's.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import DatasetError
from crossid_desktop.paths import write_bytes_atomic
from crossid_desktop.progress import ProgressCallback, check_cancel
from crossid_desktop.spreadsheet import csv_text
from crossid_desktop.synth.face import render_face_front
from crossid_desktop.synth.face_profile import render_face_side
from crossid_desktop.synth.injuries.simulate import simulate_injury
from crossid_desktop.synth.params import draw_nuisance, draw_subject, face_geometry
from crossid_desktop.synth.skull import render_xray_front, render_xray_side
from crossid_desktop.synth.truth import image_landmarks, subject_landmarks_mm

#: bumped whenever the same seed would give different images
GENERATOR_VERSION = "1.2"
_PNG_COMPRESSION = 1


@dataclass(frozen=True)
class CohortConfig:
    """What to generate: ``n_subjects`` people from ``seed``, images ``image_size`` pixels square,
    ``extra_gallery_photos`` frontal photos beyond ``face_front``, ``injured_per_subject``
    injured frontal photos per person; ``nuisance_factor`` widens (or narrows) the ranges of
    every image's pose, shift and scale (1: the defaults of :func:`draw_nuisance`)."""

    n_subjects: int
    seed: int
    image_size: int = 256
    extra_gallery_photos: int = 2
    injured_per_subject: int = 3
    nuisance_factor: float = 1.0


@dataclass(frozen=True)
class CohortManifest:
    """Where the cohort was written and how much of it there is."""

    root: Path
    s2f_root: Path
    if_root: Path
    params_path: Path
    subject_ids: tuple[str, ...]
    n_files: int
    injuries_available: bool


def generate_cohort(out_dir: Path, config: CohortConfig, *, progress: ProgressCallback | None = None,
                    cancel: threading.Event | None = None) -> CohortManifest:
    """Render and write the cohort described by ``config`` under ``out_dir`` (created if needed).

    Raises :class:`DatasetError` when ``out_dir`` cannot be used, :class:`Cancelled` when
    ``cancel`` is set between two people.
    """
    _check_config(config)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DatasetError(f"The output path {out_dir} exists and is not a folder.")
    s2f_root, if_root = out_dir / "s2f", out_dir / "if"
    try:
        s2f_root.mkdir(parents=True, exist_ok=True)
        if_root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(f"The output folder {out_dir} cannot be created ({error.strerror}).") from error
    injure = simulate_injury
    records: list[dict[str, Any]] = []
    rows: list[tuple[str, str, str, int]] = []
    n_files = 0
    for index in range(config.n_subjects):
        check_cancel(cancel, "Generating the synthetic cohort")
        record, files = render_subject(config, index, injure)
        for relative, data in files.items():
            _write_atomic(out_dir / relative, data)
        n_files += len(files)
        records.append(record)
        rows.append((record["subject_id"], record["name"], record["sex"], record["age"]))
        if progress is not None:
            progress(index + 1, config.n_subjects, record["subject_id"])
    table = _csv_bytes(rows)
    _write_atomic(s2f_root / "subjects.csv", table)
    _write_atomic(if_root / "subjects.csv", table)
    params = {
        "generator": "crossid_desktop.synth",
        "generator_version": GENERATOR_VERSION,
        "seed": config.seed,
        "n_subjects": config.n_subjects,
        "image_size": config.image_size,
        "extra_gallery_photos": config.extra_gallery_photos,
        "injured_per_subject": config.injured_per_subject if injure is not None else 0,
        **({"nuisance_factor": config.nuisance_factor} if config.nuisance_factor != 1.0 else {}),
        "units": "lengths in mm (head frame: nasion origin, x to the subject's left, y down, z forwards); "
                 "landmarks in pixels (x, y) of their image, the centre of the top-left pixel at (0, 0), "
                 "possibly outside the image; landmarks_mm in the head frame ((x, y) frontal, (z, y) lateral); "
                 "angles in degrees",
        "landmark_table": "crossid_desktop.anatomy.landmarks",
        "subjects": records,
    }
    params_path = out_dir / "params.json"
    _write_atomic(params_path, json.dumps(params, indent=1, sort_keys=True).encode("utf-8"))
    return CohortManifest(out_dir, s2f_root, if_root, params_path, tuple(r[0] for r in rows), n_files + 3, injure is not None)


def render_subject(config: CohortConfig, index: int, injure: Any | None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Render person ``index``: their parameter record and ``{relative path: PNG bytes}``."""

    subject = draw_subject(config.seed, index)
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, index, 0x1A6E]))
    mm = subject_landmarks_mm(subject)
    files: dict[str, bytes] = {}
    images: dict[str, Any] = {}
    _render_xrays(subject, config.image_size, rng, mm, files, images, config.nuisance_factor)
    gallery_names = ["face_front"] + [f"face_front_{k}" for k in range(2, config.extra_gallery_photos + 2)]
    _render_photos(subject, config.image_size, rng, mm, gallery_names, files, images, config.nuisance_factor)
    injuries: list[dict[str, Any]] = []
    if injure is not None and config.injured_per_subject > 0:
        injuries = _render_injured(subject, config, rng, injure, files, images)
    record = subject.to_json()
    record["face_geometry"] = _geometry_json(subject)
    record["landmarks_mm"] = {view: _points_json(marks) for view, marks in mm.items()}
    record["images"] = images
    record["injuries"] = injuries
    return record, files


def _photo_nuisance(rng: np.random.Generator, factor: float) -> Any:
    """A photo's nuisance with the default ranges times ``factor``."""
    return draw_nuisance(rng, max_angle=4.0 * factor, max_shift=0.02 * factor, max_scale=0.03 * factor)


def _render_xrays(subject: Any, size: int, rng: np.random.Generator, mm: dict[str, Any], files: dict[str, bytes],
                  images: dict[str, Any], factor: float = 1.0) -> None:
    """The frontal and lateral radiographs, with and without soft tissue, and their landmarks."""

    sid = subject.subject_id
    for view, render in (("front", render_xray_front), ("side", render_xray_side)):
        nuisance = draw_nuisance(rng, max_angle=3.0 * factor, max_shift=0.015 * factor, max_scale=0.02 * factor)
        hazy, clean = render(subject, nuisance, size)
        files[f"s2f/{sid}/xray_{view}.png"] = _png(hazy)
        files[f"s2f/{sid}/xray_{view}_clean.png"] = _png(clean)
        marks = _points_json(image_landmarks(f"xray-{view}", subject, nuisance, size, mm))
        images[f"xray_{view}"] = {"nuisance": nuisance.to_json(), "view": f"xray-{view}", "landmarks": marks}
        images[f"xray_{view}_clean"] = {"nuisance": nuisance.to_json(), "same_exposure_as": f"xray_{view}",
                                        "view": f"xray-{view}", "landmarks": marks}


def _render_photos(subject: Any, size: int, rng: np.random.Generator, mm: dict[str, Any], gallery_names: list[str],
                   files: dict[str, bytes], images: dict[str, Any], factor: float = 1.0) -> None:
    """The frontal gallery photos and the profile photo, and their landmarks."""

    sid = subject.subject_id
    for name in gallery_names:
        nuisance = _photo_nuisance(rng, factor)
        data = _png(render_face_front(subject, nuisance, size))
        files[f"s2f/{sid}/{name}.png"] = data
        files[f"if/{sid}/normal/{name}.png"] = data
        marks = image_landmarks("face-front", subject, nuisance, size)
        images[name] = {"nuisance": nuisance.to_json(), "view": "face-front", "landmarks": _points_json(marks)}
    nuisance = _photo_nuisance(rng, factor)
    files[f"s2f/{sid}/face_side.png"] = _png(render_face_side(subject, nuisance, size))
    marks = image_landmarks("face-side", subject, nuisance, size, mm)
    images["face_side"] = {"nuisance": nuisance.to_json(), "view": "face-side", "landmarks": _points_json(marks)}


def _render_injured(subject: Any, config: CohortConfig, rng: np.random.Generator, injure: Any, files: dict[str, bytes],
                    images: dict[str, Any]) -> list[dict[str, Any]]:
    """One unseen frontal photo (not in the gallery) carrying the person's injuries; its records."""

    sid = subject.subject_id
    nuisance = _photo_nuisance(rng, config.nuisance_factor)
    photo = render_face_front(subject, nuisance, config.image_size)
    marks = image_landmarks("face-front", subject, nuisance, config.image_size)
    images["injured_base"] = {"nuisance": nuisance.to_json(), "view": "face-front", "landmarks": _points_json(marks)}
    injuries = []
    for k in range(1, config.injured_per_subject + 1):
        injury_seed = int(rng.integers(0, 2**31 - 1))
        severity = round(float(rng.uniform(0.35, 0.9)), 3)
        result = injure(photo, seed=injury_seed, severity=severity)
        name = f"injured_{k:02d}_{'-'.join(result.kinds)}_{'-'.join(result.regions)}"
        files[f"if/{sid}/injured/{name}.png"] = _png(result.image)
        injuries.append({"file": f"{name}.png", "kinds": list(result.kinds), "regions": list(result.regions),
                         "severity": severity, "injury_seed": injury_seed, "base": "injured_base",
                         "injured_fraction": round(float(result.mask.mean()), 4)})
    return injuries


def _geometry_json(subject: Any) -> dict[str, float]:
    return {key: round(float(value), 3) for key, value in asdict(face_geometry(subject)).items()}


def _points_json(marks: dict[str, tuple[float, float]]) -> dict[str, list[float]]:
    """``{name: [x, y]}`` rounded to the decimals params.json keeps."""
    return {name: [round(float(x), 2), round(float(y), 2)] for name, (x, y) in marks.items()}


def _check_config(config: CohortConfig) -> None:
    if config.n_subjects < 1:
        raise DatasetError(f"A cohort needs at least one subject, not {config.n_subjects}.")
    if config.n_subjects > 9999:
        raise DatasetError(f"A cohort holds at most 9999 subjects (ids S0001-S9999), not {config.n_subjects}.")
    if not 64 <= config.image_size <= 2048:
        raise DatasetError(f"The image size must be between 64 and 2048 pixels, not {config.image_size}.")
    if not 0.0 < config.nuisance_factor <= 5.0:
        raise DatasetError(f"The nuisance factor must lie in (0, 5], not {config.nuisance_factor}.")
    if config.extra_gallery_photos < 0 or config.injured_per_subject < 0:
        raise DatasetError("The numbers of extra gallery photos and injured photos cannot be negative.")


def _png(image: NDArray[np.uint8]) -> bytes:
    """PNG bytes (RGB input for colour images) with a fixed compression level."""
    import cv2  # OpenCV loads on first use

    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    options = [cv2.IMWRITE_PNG_COMPRESSION, _PNG_COMPRESSION, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
    ok, encoded = cv2.imencode(".png", pixels, options)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 array
        raise DatasetError("An image of the synthetic cohort could not be encoded as PNG.")
    return encoded.tobytes()


def _csv_bytes(rows: list[tuple[str, str, str, int]]) -> bytes:
    return csv_text([("subject_id", "name", "sex", "age"), *rows]).encode("utf-8")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    try:
        write_bytes_atomic(path, data)
    except OSError as error:
        raise DatasetError(f"The file {path} cannot be written ({error.strerror}).") from error
