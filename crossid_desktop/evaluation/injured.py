"""The injured-face protocol (METHODS.md section 2).

Five subject-disjoint 70/30 splits (:func:`~crossid_desktop.datasets.splits.subject_split`
with seeds 0..4). In each, the gallery holds **one non-injured photo per test subject** (the
first, in file-name order) and the probes are **all injured photos of the test subjects**.
Reported as mean and standard deviation (population, ``ddof = 0``) over the splits: Rank-1/5/10
(CMC), verification GAR at FAR = 0.1 on probe-gallery pairs (score ``-distance``), both over
*all* pairs and over the publication's 50 genuine / 50 impostor pairs drawn at random (seed =
split seed), and the mean inter-class distance of the test embeddings (probes and gallery).
With an extra gallery, the *extended gallery* run adds one photo of each extra person.

**Simulated injuries** (``simulate_injuries=True``) turn a set of ordinary face photos (a
gallery folder ``ROOT/<subject>/*``, the normal photos of an IF set, or the frontal photos of an
S2F set) into an injured-face set: per subject, the first photo is the gallery photo and every
other photo gets the project's injury simulation on its face
(:func:`~crossid_desktop.synth.injuries.photo.injure_photo`: the publication's single injury,
or with ``injury_mix`` the casework simulation of that mix, several injuries per face; seed
:func:`~crossid_desktop.evaluation.protocols.injury_seed` of subject and file name, so every
run and split sees the same probes). Subjects with a single photo give no probe and are left
out. Injured probes, simulated or real, are searched as queries (``encode_query``): the face is
found and aligned on the injured photo, and an injury-aware matcher does its own preparation,
as in casework. A probe photo with several faces is searched with its largest; one without a
detectable face with its central square.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossid_desktop.datasets.gallery_sources import read_gallery_source
from crossid_desktop.datasets.injured_faces import read_injured_faces
from crossid_desktop.datasets.skull_faces import read_skull_faces
from crossid_desktop.datasets.splits import subject_split
from crossid_desktop.datasets.summary import detect_layout
from crossid_desktop.errors import DatasetError, MatcherMismatchError
from crossid_desktop.evaluation.calibration import fit_on_distances, test_calibration
from crossid_desktop.evaluation.protocols import (
    EmbeddingView,
    EvaluationResult,
    distance_matrix,
    encode_faces,
    genuine_impostor,
    injury_seed,
    load_aligned_faces,
    load_images,
    model_info,
    rank_by_distance,
    read_extra_faces,
)
from crossid_desktop.evaluation.retrieval import cmc
from crossid_desktop.evaluation.verification import gar_at_far, mean_interclass_distance
from crossid_desktop.matching.base import Matcher, QueryModality
from crossid_desktop.matching.preprocess import FaceChoice
from crossid_desktop.progress import ProgressCallback, check_cancel
from crossid_desktop.synth.injuries.mix import InjuryMix

__all__ = ["InjuredEmbeddings", "InjuredSet", "evaluate_injured", "injured_splits", "read_injured_set", "split_metrics"]

N_SPLITS = 5
#: a real injured probe is searched with its largest face, or its central square when none is found
EVALUATION_FACE = FaceChoice(face=1, allow_centre_crop=True)
SAMPLED_PAIRS = 50
TARGET_FAR = 0.1


@dataclass(frozen=True)
class InjuredSet:
    """Per subject: ``normal`` photos (the first is the gallery photo) and ``injured`` photos
    (probes; with ``simulated`` these are ordinary photos that get a simulated injury)."""

    root: Path
    layout: str
    subject_ids: tuple[str, ...]
    normal: Mapping[str, tuple[Path, ...]]
    injured: Mapping[str, tuple[Path, ...]]
    simulated: bool
    severity: float = 0.6
    left_out: tuple[str, ...] = ()
    mix: InjuryMix | None = None

    def restricted(self, subjects: Sequence[str]) -> InjuredSet:
        keep = tuple(s for s in self.subject_ids if s in set(subjects))
        return replace(self, subject_ids=keep, normal={s: self.normal[s] for s in keep}, injured={s: self.injured[s] for s in keep})


def read_injured_set(data_dir: str | Path, *, simulate_injuries: bool | None = None, severity: float = 0.6,
                     injury_mix: InjuryMix | None = None) -> InjuredSet:
    """Read an IF set, or (``simulate_injuries``) a set of ordinary photos to injure (with the
    single-injury simulation, or the casework simulation of ``injury_mix``).

    ``None`` chooses: real injuries for an IF set, simulated ones for anything else.
    """

    layout = detect_layout(data_dir)
    root = Path(data_dir).expanduser().absolute()
    if simulate_injuries is None:
        simulate_injuries = layout != "if"
    if not simulate_injuries:
        if layout != "if":
            raise DatasetError(f"The folder {root} holds no injured photos (the IF layout <subject>/normal, <subject>/injured); use simulated injuries for ordinary face photos.")
        data = read_injured_faces(root, strict=False)
        if not data.subjects:
            raise DatasetError(f"The folder {root} holds no subject with both normal and injured photos.")
        return InjuredSet(root, "if", tuple(s.subject_id for s in data.subjects), {s.subject_id: s.normal for s in data.subjects},
                          {s.subject_id: s.injured for s in data.subjects}, simulated=False)
    photos: dict[str, list[Path]] = {}
    if layout == "if":
        for subject in read_injured_faces(root, strict=False).subjects:
            photos[subject.subject_id] = list(subject.normal)
    elif layout == "s2f":
        for s2f_subject in read_skull_faces(root, strict=False).subjects:
            photos[s2f_subject.subject_id] = list(s2f_subject.faces["front"])
    else:
        for entry in read_gallery_source(root):
            photos.setdefault(entry.subject_id, []).append(entry.path)
    usable = sorted(s for s, p in photos.items() if len(p) >= 2)
    if len(usable) < 2:
        raise DatasetError(f"The folder {root} has fewer than two people with two or more photos; simulated injuries need a gallery photo and a probe per person.")
    return InjuredSet(root, layout, tuple(usable), {s: (photos[s][0],) for s in usable}, {s: tuple(photos[s][1:]) for s in usable},
                      simulated=True, severity=severity, left_out=tuple(sorted(set(photos) - set(usable))), mix=injury_mix)


@dataclass(frozen=True)
class InjuredEmbeddings:
    """``first_normal`` ``(S, d)``: the gallery photo of each of ``subject_ids``; ``probes``
    ``(P, d)`` with ``probe_labels`` ``(P,)`` (float32, the matcher's embedding space)."""

    subject_ids: tuple[str, ...]
    first_normal: NDArray[np.float32]
    probes: NDArray[np.float32]
    probe_labels: tuple[str, ...]

    @classmethod
    def compute(cls, matcher: Matcher, data: InjuredSet, *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> InjuredEmbeddings:
        if QueryModality.INJURED_FACE not in matcher.query_modalities:
            raise MatcherMismatchError(f"The matcher {matcher.name!r} does not take injured-face queries; the injured-face protocol needs an injured-face model or 'dlib'.")
        ids = data.subject_ids
        normal = load_aligned_faces([data.normal[s][0] for s in ids], what="Aligning gallery photos", progress=progress, cancel=cancel)
        gallery = encode_faces(matcher, normal, progress=progress, cancel=cancel)
        items = [(s, p) for s in ids for p in data.injured[s]]
        images = load_images([p for _, p in items], what="Loading injured photos" if not data.simulated else "Injuring probe photos", progress=progress, cancel=cancel)
        if data.simulated:
            images = [_injured(data, subject, path, image, cancel) for (subject, path), image in zip(items, images)]
        choices = [EVALUATION_FACE] * len(images)
        probes = np.asarray(matcher.encode_query(images, QueryModality.INJURED_FACE, choices=choices, progress=progress, cancel=cancel), dtype=np.float32)
        return cls(ids, gallery, probes, tuple(s for s, _ in items))


def _injured(data: InjuredSet, subject: str, path: Path, image: Any, cancel: threading.Event | None) -> Any:
    """The probe photo with its simulated injuries (see the module docstring), as a loaded
    image whose hash is that of the injured pixels."""
    from crossid_desktop.synth.injuries.photo import injure_photo  # loads OpenCV: only when injuries are simulated

    check_cancel(cancel, "The evaluation")
    injured = injure_photo(image.rgb_uint8(), seed=injury_seed(subject, path.name), severity=data.severity, mix=data.mix).image
    injured.setflags(write=False)
    return replace(image, pixels=injured, sha256=hashlib.sha256(injured.tobytes()).hexdigest())


def injured_splits(subject_ids: Sequence[str], *, n_splits: int = N_SPLITS, test_fraction: float = 0.3) -> list[list[str]]:
    """The test subjects of the protocol's splits: seeds ``0 .. n_splits - 1``."""

    return [subject_split(list(subject_ids), test_fraction=test_fraction, seed=seed)[1] for seed in range(n_splits)]


def _sampled_gar(genuine: NDArray[np.float64], impostor: NDArray[np.float64], seed: int, n: int = SAMPLED_PAIRS) -> float:
    rng = np.random.default_rng(seed)
    g = rng.choice(genuine, size=min(n, genuine.size), replace=False)
    i = rng.choice(impostor, size=min(n, impostor.size), replace=False)
    return gar_at_far(-g, -i, TARGET_FAR)


def split_metrics(
    gallery: ArrayLike,
    gallery_labels: Sequence[str],
    probes: ArrayLike,
    probe_labels: Sequence[str],
    test_subjects: Sequence[str],
    *,
    seed: int,
    max_rank: int = 20,
    extra: ArrayLike | None = None,
    extra_labels: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, NDArray[np.float64]]]:
    """The figures of one split. ``gallery`` ``(S, d)`` holds one photo per subject of
    ``gallery_labels``; only rows and probes of ``test_subjects`` are used. Returns the
    metrics and ``{"cmc", "genuine", "impostor"[, "extended_cmc"]}`` arrays."""
    test = set(test_subjects)
    g_rows = [i for i, s in enumerate(gallery_labels) if s in test]
    p_rows = [i for i, s in enumerate(probe_labels) if s in test]
    if not g_rows or not p_rows:
        raise DatasetError("A split has no gallery photo or no probe among its test subjects.")
    g = np.asarray(gallery, dtype=np.float64)[g_rows]
    p = np.asarray(probes, dtype=np.float64)[p_rows]
    g_labels = np.asarray(gallery_labels)[g_rows]
    p_labels = np.asarray(probe_labels)[p_rows]
    d = distance_matrix(p, g)
    curve = cmc(rank_by_distance(d).labels(g_labels), p_labels, max_rank)
    genuine, impostor = genuine_impostor(d, p_labels, g_labels)
    metrics: dict[str, Any] = {
        "seed": seed, "n_test_subjects": len(g_rows), "n_probes": len(p_rows), "gallery_size": len(g_rows),
        "rank1": float(curve[0]), "rank5": float(curve[min(5, max_rank) - 1]), "rank10": float(curve[min(10, max_rank) - 1]),
        "gar@far0.1": gar_at_far(-genuine, -impostor, TARGET_FAR),
        "gar@far0.1_sampled": _sampled_gar(genuine, impostor, seed),
        "interclass_distance": mean_interclass_distance(np.concatenate([g, p]), np.concatenate([g_labels, p_labels])),
    }
    arrays = {"cmc": curve, "genuine": genuine, "impostor": impostor}
    if extra is not None and len(extra_labels):
        e = np.asarray(extra, dtype=np.float64)
        d_ext = np.concatenate([d, distance_matrix(p, e)], axis=1)
        ext_labels = np.concatenate([g_labels, np.asarray(extra_labels)])
        ext_curve = cmc(rank_by_distance(d_ext).labels(ext_labels), p_labels, max_rank)
        metrics |= {"extended/rank1": float(ext_curve[0]), "extended/rank5": float(ext_curve[min(5, max_rank) - 1]),
                    "extended/rank10": float(ext_curve[min(10, max_rank) - 1]), "extended/gallery_size": len(ext_labels)}
        arrays["extended_cmc"] = ext_curve
    return metrics, arrays


def evaluate_injured(
    matcher: Matcher,
    data_dir: str | Path,
    *,
    simulate_injuries: bool = False,
    severity: float = 0.6,
    injury_mix: InjuryMix | None = None,
    extra_gallery: str | Path | None = None,
    n_splits: int = N_SPLITS,
    test_fraction: float = 0.3,
    calibrate: bool = False,
    calibration_method: str = "logistic",
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> EvaluationResult:
    """Run the injured-face protocol on ``data_dir`` (see the module docstring).

    With ``calibrate``, each split fits a calibration on its *non-test* subjects (the 70 %:
    validation data for a pretrained matcher or a model trained on another cohort) and
    measures Cllr on its test pairs.
    """
    data = read_injured_set(data_dir, simulate_injuries=simulate_injuries, severity=severity, injury_mix=injury_mix)
    splits = injured_splits(data.subject_ids, n_splits=n_splits, test_fraction=test_fraction)
    if min(len(t) for t in splits) < 2:
        raise DatasetError(f"The injured-face protocol needs at least two test subjects per split; {data.root} gives {min(len(t) for t in splits)} of {len(data.subject_ids)} people.")
    emb = InjuredEmbeddings.compute(matcher, data, progress=progress, cancel=cancel)
    extra, extra_labels = None, ()
    if extra_gallery is not None:
        faces_list = read_extra_faces(extra_gallery, one_per_subject=True)
        faces = load_aligned_faces([p for _, p in faces_list], what="Aligning extra gallery faces", progress=progress, cancel=cancel)
        extra, extra_labels = encode_faces(matcher, faces, progress=progress, cancel=cancel), tuple(label for label, _ in faces_list)
    max_rank = 20  # cmc() holds the last value beyond the gallery size
    rows, arrays = [], []
    lrs_g, lrs_i = [], []
    for seed, test in enumerate(splits):
        check_cancel(cancel, "The evaluation")
        metrics, arr = split_metrics(emb.first_normal, emb.subject_ids, emb.probes, emb.probe_labels, test, seed=seed, max_rank=max_rank, extra=extra, extra_labels=extra_labels)
        if calibrate:
            metrics, lr = _calibrate_split(emb, test, metrics, arr, calibration_method)
            lrs_g.append(lr[0])
            lrs_i.append(lr[1])
        rows.append(metrics)
        arrays.append(arr)
    summary, curves = _mean_over_splits(rows, arrays)
    notes = [f"Rank-k and GAR are means over {n_splits} subject-disjoint splits ({round(100 * (1 - test_fraction))}/{round(100 * test_fraction)}, seeds 0-{n_splits - 1}); std is the population standard deviation over splits."]
    if extra is not None:
        curves["extended_cmc"] = np.mean([a["extended_cmc"] for a in arrays], axis=0).tolist()
        summary["extended/gallery_size"] = int(rows[0]["extended/gallery_size"])
        summary["extended/extra_subjects"] = len(extra_labels)
        notes.append(f"Extended gallery: one photo of each of {len(extra_labels)} people from {Path(extra_gallery)} added.")
    if data.simulated:
        simulation = f"the casework simulation, mix {data.mix.name!r}" if data.mix is not None else "one simulated injury each"
        notes.append(f"Probes are real photos with {simulation} (severity {severity}), found and aligned on the injured photo; "
                     f"{len(data.left_out)} people with a single photo were left out.")
    if calibrate:
        notes.append("Calibration: fitted per split on the non-test subjects' pairs, Cllr measured on the test pairs "
                     "(for a model trained on this very data set the non-test subjects include its training subjects: evaluate on a fresh cohort).")
        summary["cllr"], summary["cllr_min"] = summary.pop("cllr"), summary.pop("cllr_min")
    genuine = np.concatenate([a["genuine"] for a in arrays])
    impostor = np.concatenate([a["impostor"] for a in arrays])
    summary.update(
        protocol="injured",
        model=model_info(matcher),
        data={"root": str(data.root), "layout": data.layout, "simulated_injuries": data.simulated, "severity": data.severity if data.simulated else None,
              "injury_mix": data.mix.name if data.simulated and data.mix is not None else None,
              "n_subjects": len(data.subject_ids), "left_out": list(data.left_out), "n_splits": n_splits, "test_fraction": test_fraction,
              "test_subjects": splits, "extra_gallery": str(extra_gallery) if extra_gallery else None},
        n_queries=float(np.mean([r["n_probes"] for r in rows])),
        n_probes_total=int(len(emb.probe_labels)),
        gallery_size=int(rows[0]["gallery_size"]),
        n_test_subjects=int(rows[0]["n_test_subjects"]),
        max_rank=max_rank,
    )
    view = _first_split_view(emb, splits[0], extra)
    lrs = (np.concatenate(lrs_g), np.concatenate(lrs_i)) if calibrate else None
    return EvaluationResult("injured", summary, curves, genuine, impostor, view, lrs, None, tuple(rows), tuple(notes))


def _mean_over_splits(rows: Sequence[Mapping[str, Any]], arrays: Sequence[Mapping[str, NDArray[np.float64]]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Mean and population standard deviation of every split figure, and the mean CMC curve."""
    summary: dict[str, Any] = {}
    for key in [k for k in rows[0] if k not in ("seed", "n_test_subjects", "n_probes", "gallery_size", "extended/gallery_size")]:
        values = np.array([float(r[key]) for r in rows])
        summary[key], summary[f"{key}_std"] = float(values.mean()), float(values.std())
    curves = {"cmc": np.mean([a["cmc"] for a in arrays], axis=0).tolist(), "cmc_std": np.std([a["cmc"] for a in arrays], axis=0).tolist()}
    return summary, curves


def _first_split_view(emb: InjuredEmbeddings, test: Sequence[str], extra: NDArray[np.float32] | None) -> EmbeddingView:
    """The embeddings the t-SNE plot shows: the first split's probes and gallery, and up to 400 extra photos."""
    first = set(test)
    p0 = [i for i, s in enumerate(emb.probe_labels) if s in first]
    g0 = [i for i, s in enumerate(emb.subject_ids) if s in first]
    extra_view = np.empty((0, emb.probes.shape[1]), np.float32) if extra is None else extra[:400]
    return EmbeddingView(np.concatenate([emb.probes[p0], emb.first_normal[g0], extra_view]),
                         ("query",) * len(p0) + ("true face",) * len(g0) + ("gallery",) * extra_view.shape[0])


def _calibrate_split(emb: InjuredEmbeddings, test: Sequence[str], metrics: dict[str, Any], arrays: Mapping[str, NDArray[np.float64]], method: str) -> tuple[dict[str, Any], tuple[NDArray[np.float64], NDArray[np.float64]]]:
    validation = [s for s in emb.subject_ids if s not in set(test)]
    g_rows = [i for i, s in enumerate(emb.subject_ids) if s in set(validation)]
    p_rows = [i for i, s in enumerate(emb.probe_labels) if s in set(validation)]
    d = distance_matrix(emb.probes[p_rows], emb.first_normal[g_rows])
    val_g, val_i = genuine_impostor(d, np.asarray(emb.probe_labels)[p_rows], np.asarray(emb.subject_ids)[g_rows])
    summary, lrs = test_calibration(fit_on_distances(val_g, val_i, method=method), arrays["genuine"], arrays["impostor"])
    return metrics | {"cllr": summary["test_cllr"], "cllr_min": summary["test_cllr_min"], "validation_subjects": len(validation)}, lrs
