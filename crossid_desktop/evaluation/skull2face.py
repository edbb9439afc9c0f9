"""The skull-to-face protocol (METHODS.md section 1): X-ray queries of the test subjects
against their face photos.

Every frontal and every lateral X-ray of a test subject is one query; with ``fused`` the two
views of a subject are also searched together (the mean of their two distances to each photo,
as the search service fuses them). The gallery holds every face photo of the test subjects
(a photo is relevant to a query when it shows the same person), plus, for the publication's
*mixed gallery*, the photos of an extra set as distractors. Reported: Recall@k, mAP@k and
MRR@k for k = 1..30, Rank-1/5/10, triplet accuracy on the publication's triplets of the test
subjects (X-ray anchor, first photo of each face view of the same person as positive, of every
other test subject as negative: ``d(a, p) < d(a, n)``), and the genuine / impostor distance
distributions.

Test subjects: ``"test"`` takes the held-out side of the subject-disjoint split
(:func:`~crossid_desktop.datasets.splits.subject_split` with ``test_fraction`` and
``split_seed``; 0.3 and 0 are the trainer's defaults, so a model evaluated on its own cohort
meets only people it did not train on); ``"all"`` takes everyone (a fresh cohort of another
seed); a list names them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossid_desktop.datasets.sampling import SkullFaceCatalogue, all_triplets
from crossid_desktop.datasets.skull_faces import SkullFaceDataset, read_skull_faces
from crossid_desktop.datasets.splits import subject_split
from crossid_desktop.errors import DatasetError, MatcherMismatchError
from crossid_desktop.evaluation.calibration import fit_on_distances, test_calibration
from crossid_desktop.evaluation.protocols import (
    EmbeddingView,
    EvaluationResult,
    distance_matrix,
    encode_faces,
    genuine_impostor,
    load_aligned_faces,
    load_images,
    model_info,
    rank_by_distance,
    read_extra_faces,
)
from crossid_desktop.evaluation.retrieval import cmc, first_relevant_rank, retrieval_curves, triplet_accuracy
from crossid_desktop.matching.base import Matcher, QueryModality
from crossid_desktop.progress import ProgressCallback, check_cancel

__all__ = ["REPORTED_KS", "SkullFaceEmbeddings", "evaluate_skull2face", "retrieval_figures", "select_test_subjects", "triplet_rows"]

#: the k of Recall@k, mAP@k and MRR@k written to metrics.json (the curves hold every k)
REPORTED_KS = (1, 5, 10, 20, 30)


def select_test_subjects(subject_ids: Sequence[str], subjects: str | Sequence[str] = "test", *, split_seed: int = 0, test_fraction: float = 0.3) -> list[str]:
    """The test subjects (sorted): ``"all"``, ``"test"`` (held-out side of the subject split)
    or an explicit list (each must exist)."""

    ids = sorted(set(subject_ids))
    if isinstance(subjects, str):
        if subjects == "all":
            return ids
        if subjects == "test":
            return subject_split(ids, test_fraction=test_fraction, seed=split_seed)[1]
        raise ValueError(f"subjects must be 'all', 'test' or a list of ids, not {subjects!r}.")
    missing = sorted(set(subjects) - set(ids))
    if missing:
        raise DatasetError(f"The data set has no subjects {', '.join(missing[:5])}.")
    return sorted(set(subjects))


def retrieval_figures(distances: ArrayLike, query_labels: ArrayLike, gallery_labels: ArrayLike, *, max_k: int = 30, prefix: str = "") -> tuple[dict[str, float], dict[str, list[float]]]:
    """Recall@k, mAP@k, MRR@k (k in :data:`REPORTED_KS`), Rank-1/5/10 and the curves
    (``recall``, ``map``, ``mrr`` for k = 1..max_k, ``cmc``) of a ``(Q, G)`` distance matrix,
    ranked in full (so mAP counts every relevant photo). Keys get ``prefix``."""
    ranking = rank_by_distance(distances)
    ranked = ranking.labels(gallery_labels)
    labels = np.asarray(query_labels)
    curves = retrieval_curves(ranked, labels, max_k)
    metrics: dict[str, float] = {}
    for k in REPORTED_KS:
        if k <= max_k:
            metrics[f"{prefix}recall@{k}"] = float(curves.recall[k - 1])
            metrics[f"{prefix}map@{k}"] = float(curves.map[k - 1])
            metrics[f"{prefix}mrr@{k}"] = float(curves.mrr[k - 1])
    cmc_curve = cmc(ranked, labels, max_k)
    for r in (1, 5, 10):
        metrics[f"{prefix}rank{r}"] = float(cmc_curve[min(r, max_k) - 1])
    ranks = first_relevant_rank(ranked, labels)
    metrics[f"{prefix}mean_rank"] = float(ranks[ranks > 0].mean()) if (ranks > 0).any() else float("nan")
    named = {"recall": curves.recall, "map": curves.map, "mrr": curves.mrr, "cmc": cmc_curve}
    return metrics, {f"{prefix}{name}": [float(v) for v in values] for name, values in named.items()}


def triplet_rows(dataset: SkullFaceDataset, test_subjects: Sequence[str], query_paths: Sequence[Path], gallery_paths: Sequence[Path]) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """The publication's triplets of the test subjects as rows of the query / gallery lists:
    ``(anchor_rows, positive_cols, negative_cols)``, each ``(T,)`` int64."""

    catalogue = SkullFaceCatalogue.from_dataset(dataset, subjects=test_subjects, faces_per_view=1)
    triplets = all_triplets(catalogue)
    q_row = {Path(p): i for i, p in enumerate(query_paths)}
    g_col = {Path(p): i for i, p in enumerate(gallery_paths)}
    anchors = np.array([q_row[catalogue.xrays[a].path] for a in triplets.anchor.tolist()], dtype=np.int64)
    positives = np.array([g_col[catalogue.faces[p].path] for p in triplets.positive.tolist()], dtype=np.int64)
    negatives = np.array([g_col[catalogue.faces[n].path] for n in triplets.negative.tolist()], dtype=np.int64)
    return anchors, positives, negatives


class SkullFaceEmbeddings:
    """Query (X-ray) and gallery (face) embeddings of some subjects of an S2F set, with labels,
    paths and views; built by :meth:`compute`."""

    def __init__(self, query: NDArray[np.float32], query_labels: list[str], query_views: list[str], query_paths: list[Path],
                 gallery: NDArray[np.float32], gallery_labels: list[str], gallery_paths: list[Path]) -> None:
        self.query, self.query_labels, self.query_views, self.query_paths = query, query_labels, query_views, query_paths
        self.gallery, self.gallery_labels, self.gallery_paths = gallery, gallery_labels, gallery_paths

    @classmethod
    def compute(cls, matcher: Matcher, dataset: SkullFaceDataset, subjects: Sequence[str], *, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> SkullFaceEmbeddings:
        wanted = set(subjects)
        chosen = [s for s in dataset.subjects if s.subject_id in wanted]
        vectors, labels, views, paths = [], [], [], []
        for view, modality in (("front", QueryModality.XRAY_FRONT), ("side", QueryModality.XRAY_SIDE)):
            items = [(s.subject_id, getattr(s, f"xray_{view}")) for s in chosen if getattr(s, f"xray_{view}") is not None]
            if not items:
                continue
            images = load_images([p for _, p in items], what=f"Loading {view} X-rays", progress=progress, cancel=cancel)
            vectors.append(np.asarray(matcher.encode_query(images, modality, progress=progress, cancel=cancel), dtype=np.float32))
            labels += [sid for sid, _ in items]
            views += [view] * len(items)
            paths += [p for _, p in items]
        gallery_items = [(s.subject_id, p) for s in chosen for view in ("front", "side") for p in s.faces[view]]
        faces = load_aligned_faces([p for _, p in gallery_items], what="Aligning face photos", progress=progress, cancel=cancel)
        gallery = encode_faces(matcher, faces, progress=progress, cancel=cancel)
        query = np.concatenate(vectors) if vectors else np.empty((0, matcher.embedding_dim), np.float32)
        return cls(query, labels, views, paths, gallery, [sid for sid, _ in gallery_items], [p for _, p in gallery_items])


def fused_queries(distances: NDArray[np.float64], labels: Sequence[str], views: Sequence[str]) -> tuple[NDArray[np.float64], list[str]]:
    """Rows of the subjects with both X-ray views: the mean of their front and side rows."""
    rows: dict[str, dict[str, int]] = {}
    for i, (label, view) in enumerate(zip(labels, views)):
        rows.setdefault(label, {})[view] = i
    pairs = [(label, r["front"], r["side"]) for label, r in rows.items() if "front" in r and "side" in r]
    if not pairs:
        return np.empty((0, distances.shape[1])), []
    fused = np.stack([(distances[f] + distances[s]) / 2.0 for _, f, s in pairs])
    return fused, [label for label, _, _ in pairs]


@dataclass(frozen=True)
class SkullFaceProtocol:
    """The settings of one skull-to-face evaluation.

    ``subjects``: ``"test"`` (the held-out side of the subject split with ``split_seed`` and
    ``test_fraction``), ``"all"``, or explicit subject ids. ``extra_gallery``: a face folder
    whose photos join the gallery as distractors (the publication's mixed gallery).
    ``fused``: also rank the mean of each subject's frontal and lateral rows. ``max_k``: the
    largest k of the retrieval curves. With ``calibration_subjects`` a score-to-LR calibration
    is fitted on those subjects of ``calibration_data`` (default: the evaluated set), which must
    not include a test subject of the same data set, and its Cllr is measured on the test pairs.
    """

    subjects: str | Sequence[str] = "test"
    split_seed: int = 0
    test_fraction: float = 0.3
    extra_gallery: str | Path | None = None
    fused: bool = True
    max_k: int = 30
    calibration_subjects: Sequence[str] | None = None
    calibration_data: str | Path | None = None
    calibration_method: str = "logistic"


def evaluate_skull2face(
    matcher: Matcher,
    data_dir: str | Path,
    protocol: SkullFaceProtocol = SkullFaceProtocol(),
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> EvaluationResult:
    """Run the skull-to-face protocol on the S2F set ``data_dir`` (see the module docstring)."""
    if QueryModality.XRAY_FRONT not in matcher.query_modalities and QueryModality.XRAY_SIDE not in matcher.query_modalities:
        raise MatcherMismatchError(f"The matcher {matcher.name!r} does not take skull X-ray queries; the skull-to-face protocol needs a skull-to-face model.")
    dataset = read_skull_faces(data_dir, strict=False)
    if not dataset.subjects:
        raise DatasetError(f"The folder {dataset.root} holds no usable subject of the skull-to-face layout.")
    test = select_test_subjects([s.subject_id for s in dataset.subjects], protocol.subjects, split_seed=protocol.split_seed, test_fraction=protocol.test_fraction)
    if len(test) < 2:
        raise DatasetError(f"The skull-to-face protocol needs at least two test subjects in {dataset.root}; it found {len(test)}.")
    emb = SkullFaceEmbeddings.compute(matcher, dataset, test, progress=progress, cancel=cancel)
    if emb.query.shape[0] == 0:
        raise DatasetError(f"The test subjects of {dataset.root} have no X-ray.")
    check_cancel(cancel, "The evaluation")
    d = distance_matrix(emb.query, emb.gallery)
    metrics, curves = _retrieval(d, emb, dataset, test, protocol)
    genuine, impostor = genuine_impostor(d, emb.query_labels, emb.gallery_labels)
    notes: list[str] = []
    extra_emb = np.empty((0, emb.gallery.shape[1]), np.float32)
    if protocol.extra_gallery is not None:
        extra_emb, note = _mixed_gallery(matcher, d, emb, protocol, metrics, curves, progress, cancel)
        notes.append(note)
    lrs, calibration = None, None
    if protocol.calibration_subjects is not None:
        lrs, calibration = _calibrate(matcher, dataset, test, genuine, impostor, protocol, progress, cancel)
        metrics["cllr"], metrics["cllr_min"] = calibration["test_cllr"], calibration["test_cllr_min"]
    metrics.update(
        protocol="skull2face",
        model=model_info(matcher),
        data={"root": str(dataset.root), "layout": "s2f", "n_subjects": len(dataset.subjects), "subjects": protocol.subjects if isinstance(protocol.subjects, str) else "list",
              "split_seed": protocol.split_seed, "test_fraction": protocol.test_fraction, "test_subjects": test,
              "extra_gallery": str(protocol.extra_gallery) if protocol.extra_gallery else None},
        n_queries=int(emb.query.shape[0]),
        gallery_size=int(emb.gallery.shape[0]),
        n_test_subjects=len(test),
        genuine_mean_distance=float(genuine.mean()),
        impostor_mean_distance=float(impostor.mean()),
    )
    view = EmbeddingView(np.concatenate([emb.query, emb.gallery, extra_emb[:400]]),
                         ("query",) * len(emb.query_labels) + ("true face",) * len(emb.gallery_labels) + ("gallery",) * min(400, extra_emb.shape[0]))
    return EvaluationResult("skull2face", metrics, curves, genuine, impostor, view, lrs, calibration, (), tuple(notes))


def _retrieval(d: NDArray[np.float64], emb: SkullFaceEmbeddings, dataset: SkullFaceDataset, test: Sequence[str],
               protocol: SkullFaceProtocol) -> tuple[dict[str, Any], dict[str, Any]]:
    """Retrieval figures of every query, of each view alone, of the fused views, and triplet accuracy."""
    max_k = protocol.max_k
    metrics, curves = retrieval_figures(d, emb.query_labels, emb.gallery_labels, max_k=max_k)
    anchors, positives, negatives = triplet_rows(dataset, test, emb.query_paths, emb.gallery_paths)
    metrics["triplet_accuracy"] = triplet_accuracy(d[anchors, positives], d[anchors, negatives]) if anchors.size else float("nan")
    metrics["n_triplets"] = int(anchors.size)
    for view in ("front", "side"):
        rows = [i for i, v in enumerate(emb.query_views) if v == view]
        if rows:
            view_metrics, _ = retrieval_figures(d[rows], [emb.query_labels[i] for i in rows], emb.gallery_labels, max_k=max_k, prefix=f"{view}/")
            metrics.update({k: v for k, v in view_metrics.items() if k.split("/")[1] in ("recall@1", "recall@10", "recall@30", "map@30", "mrr@30", "rank1")})
    if protocol.fused:
        fd, flabels = fused_queries(d, emb.query_labels, emb.query_views)
        if flabels:
            fused_metrics, fused_curves = retrieval_figures(fd, flabels, emb.gallery_labels, max_k=max_k, prefix="fused/")
            metrics.update(fused_metrics)
            curves.update(fused_curves)
            metrics["fused/n_queries"] = len(flabels)
    return metrics, curves


def _mixed_gallery(matcher: Matcher, d: NDArray[np.float64], emb: SkullFaceEmbeddings, protocol: SkullFaceProtocol, metrics: dict[str, Any],
                   curves: dict[str, Any], progress: ProgressCallback | None, cancel: threading.Event | None) -> tuple[NDArray[np.float32], str]:
    """The figures with the extra gallery's photos added as distractors (into ``metrics`` and
    ``curves``); returns the extra embeddings and a note."""
    extra = read_extra_faces(protocol.extra_gallery, one_per_subject=False)
    faces = load_aligned_faces([p for _, p in extra], what="Aligning extra gallery faces", progress=progress, cancel=cancel)
    extra_emb = encode_faces(matcher, faces, progress=progress, cancel=cancel)
    mixed_labels = [*emb.gallery_labels, *(label for label, _ in extra)]
    mixed_d = np.concatenate([d, distance_matrix(emb.query, extra_emb)], axis=1)
    mixed_metrics, mixed_curves = retrieval_figures(mixed_d, emb.query_labels, mixed_labels, max_k=protocol.max_k, prefix="mixed/")
    metrics.update(mixed_metrics)
    curves.update(mixed_curves)
    metrics["mixed/gallery_size"] = len(mixed_labels)
    metrics["mixed/extra_subjects"] = len({label for label, _ in extra})
    return extra_emb, f"Mixed gallery: {len(extra)} extra photos of {metrics['mixed/extra_subjects']} people from {Path(protocol.extra_gallery)} added as distractors."


def _calibrate(matcher: Matcher, dataset: SkullFaceDataset, test: Sequence[str], genuine: NDArray[np.float64], impostor: NDArray[np.float64],
               protocol: SkullFaceProtocol, progress: ProgressCallback | None,
               cancel: threading.Event | None) -> tuple[tuple[NDArray[np.float64], NDArray[np.float64]], dict[str, Any]]:
    subjects, calibration_data, method = protocol.calibration_subjects or (), protocol.calibration_data, protocol.calibration_method

    cal_set = dataset if calibration_data is None else read_skull_faces(calibration_data, strict=False)
    if cal_set.root == dataset.root and set(subjects) & set(test):
        raise DatasetError(f"The calibration subjects overlap the test subjects of {dataset.root} ({', '.join(sorted(set(subjects) & set(test))[:3])}); calibrate on validation subjects only.")
    available = {s.subject_id for s in cal_set.subjects}
    subjects = sorted(set(subjects) & available)
    if len(subjects) < 2:
        raise DatasetError(f"A calibration needs at least two validation subjects in {cal_set.root}; it found {len(subjects)}.")
    val = SkullFaceEmbeddings.compute(matcher, cal_set, subjects, progress=progress, cancel=cancel)
    val_gen, val_imp = genuine_impostor(distance_matrix(val.query, val.gallery), val.query_labels, val.gallery_labels)
    calibration = fit_on_distances(val_gen, val_imp, method=method)
    summary, lrs = test_calibration(calibration, genuine, impostor)
    summary |= {"data": str(cal_set.root), "validation_subjects": subjects}
    return lrs, summary
