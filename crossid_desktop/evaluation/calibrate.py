"""Fitting a model's score-to-likelihood-ratio calibration on validation subjects and storing
it in the model card.

A calibration (:mod:`crossid_desktop.evaluation.calibration`) is fitted on genuine and
impostor scores (``-distance``) of **validation** subjects, never on the subjects a figure is
reported for. :func:`calibrate_model` takes a model's validation subjects on a data set (by
default the held-out side of the trainer's subject split, ``val_fraction`` and ``seed`` read
from the card's training settings, 0.3 and 0 otherwise), fits, and writes
``card.calibration`` with :func:`~crossid_desktop.matching.checkpoint.save_state`: the
weights are written back unchanged, so the embedding fingerprint (weights and embedding
fields of the card, not the calibration) stays the same and gallery embeddings stay valid.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossid_desktop.errors import DatasetError, ModelError
from crossid_desktop.progress import ProgressCallback

if TYPE_CHECKING:
    from crossid_desktop.evaluation.calibration import Calibration

__all__ = ["CalibrationOutcome", "calibrate_model", "fit_on_distances", "model_validation_subjects", "test_calibration", "validation_test_split", "write_calibration"]


@dataclass(frozen=True)
class CalibrationOutcome:
    """What :func:`calibrate_model` did: the calibration, the subjects it was fitted on, and
    the model's fingerprint before and after (equal unless something is badly wrong)."""

    calibration: Calibration
    validation_subjects: tuple[str, ...]
    fingerprint_before: str
    fingerprint_after: str


def fit_on_distances(genuine: ArrayLike, impostor: ArrayLike, *, method: str = "logistic") -> Calibration:
    """A calibration of ``score = -distance`` fitted on genuine / impostor distances."""
    from crossid_desktop.evaluation.calibration import fit_calibration

    g, i = np.asarray(genuine, dtype=np.float64), np.asarray(impostor, dtype=np.float64)
    if g.size == 0 or i.size == 0:
        raise DatasetError("A calibration needs both same-person and different-person pairs among the validation subjects.")
    return fit_calibration(-g, -i, method=method, score_name="-distance")


def test_calibration(calibration: Calibration, genuine: ArrayLike, impostor: ArrayLike) -> tuple[dict[str, Any], tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Apply ``calibration`` to test distances: a summary (``test_cllr``, ``test_cllr_min``,
    the fit's own figures) and the test likelihood ratios ``(genuine, impostor)``."""
    from crossid_desktop.evaluation.calibration import cllr, cllr_min

    lr_g = calibration.likelihood_ratio_from_distance(np.asarray(genuine, dtype=np.float64))
    lr_i = calibration.likelihood_ratio_from_distance(np.asarray(impostor, dtype=np.float64))
    summary = {
        "method": calibration.method,
        "score_name": calibration.score_name,
        "calibration": calibration.to_dict(),
        "validation_cllr": float(calibration.cllr),
        "validation_cllr_min": float(calibration.cllr_min),
        "test_cllr": cllr(lr_g, lr_i),
        "test_cllr_min": cllr_min(-np.asarray(genuine, dtype=np.float64), -np.asarray(impostor, dtype=np.float64)),
    }
    return summary, (lr_g, lr_i)


def validation_test_split(held_out: Sequence[str], *, seed: int = 0) -> tuple[list[str], list[str]]:
    """Halve held-out subjects into ``(validation, test)``, disjoint and sorted: how a model
    evaluated on its own cohort gets calibration subjects that are not test subjects."""
    from crossid_desktop.training.datasets import subject_split

    if len(set(held_out)) < 4:
        raise DatasetError(f"Calibrating and testing on the held-out subjects needs at least 4 of them; there are {len(set(held_out))}.")
    return subject_split(held_out, test_fraction=0.5, seed=seed)


def model_validation_subjects(card: Mapping[str, Any], subject_ids: Sequence[str]) -> list[str]:
    """The validation subjects of a model among ``subject_ids``: the card's
    ``training.val_subjects`` (or ``validation_subjects``) when recorded, else the held-out
    side of the subject split with the card's ``val_fraction`` and ``seed`` (0.3 and 0)."""
    from crossid_desktop.training.datasets import subject_split

    training = dict(card.get("training") or {})
    for key in ("val_subjects", "validation_subjects"):
        if isinstance(training.get(key), (list, tuple)) and training[key]:
            return sorted(set(map(str, training[key])) & set(subject_ids))
    config = training.get("config") if isinstance(training.get("config"), Mapping) else training
    val_fraction = float(config.get("val_fraction", 0.3))
    seed = int(config.get("seed", 0))
    return subject_split(list(subject_ids), test_fraction=val_fraction, seed=seed)[1]


def write_calibration(checkpoint_path: str | Path, calibration: Calibration) -> tuple[str, str]:
    """Store ``calibration`` in the card of the checkpoint at ``checkpoint_path`` (atomically,
    weights unchanged, in their stored precision); returns the fingerprint before and after."""
    import torch

    from crossid_desktop.matching.checkpoint import fingerprint, read_checkpoint, save_state

    path = Path(checkpoint_path)
    state, card = read_checkpoint(path)
    before = fingerprint(state, card)
    raw = torch.load(path, map_location="cpu", weights_only=True)
    half = any(t.dtype == torch.float16 for t in raw.values())
    card.calibration = calibration.to_dict()
    after = save_state(path, state, card, half=half)
    if after != before:  # save_state keeps the embedding space; anything else is a bug
        raise ModelError(f"Writing the calibration into {path} would change the model's fingerprint; nothing sensible was saved.")
    return before, after


def calibrate_model(
    checkpoint_path: str | Path,
    data_dir: str | Path,
    *,
    validation_subjects: Sequence[str] | None = None,
    exclude_subjects: Sequence[str] = (),
    method: str = "logistic",
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> CalibrationOutcome:
    """Fit a calibration on the model's validation subjects of ``data_dir`` and write it into
    the model card.

    ``data_dir`` is an S2F set for a skull-to-face model and an IF set (or a gallery folder,
    whose probes then get simulated injuries) for an injured-face model. ``validation_subjects``
    overrides :func:`model_validation_subjects`; ``exclude_subjects`` (e.g. the test subjects
    of an evaluation) must not overlap them.
    """
    from crossid_desktop.evaluation.protocols import distance_matrix, genuine_impostor
    from crossid_desktop.matching.matchers import load_matcher

    path = Path(checkpoint_path)
    if not path.is_file():
        raise ModelError(f"The model file {path} does not exist; the pretrained dlib matcher has no card to hold a calibration.")
    matcher = load_matcher(path)
    card = matcher.model_card()
    if card.get("task") == "skull2face":
        from crossid_desktop.evaluation.skull2face import S2FEmbeddings
        from crossid_desktop.training.datasets import read_s2f

        dataset = read_s2f(data_dir, strict=False)
        ids = [s.subject_id for s in dataset.subjects]
    else:
        from crossid_desktop.evaluation.injured import read_injured_set

        injured_set = read_injured_set(data_dir, simulate_injuries=None)
        ids = list(injured_set.subject_ids)
    subjects = sorted(set(validation_subjects) & set(ids)) if validation_subjects is not None else model_validation_subjects(card, ids)
    overlap = sorted(set(subjects) & set(exclude_subjects))
    if overlap:
        raise DatasetError(f"The validation subjects overlap the excluded (test) subjects ({', '.join(overlap[:3])}); a calibration is fitted on validation subjects only.")
    if len(subjects) < 2:
        raise DatasetError(f"A calibration needs at least two validation subjects in {Path(data_dir)}; it found {len(subjects)}.")
    if card.get("task") == "skull2face":
        emb = S2FEmbeddings.compute(matcher, dataset, subjects, progress=progress, cancel=cancel)
        genuine, impostor = genuine_impostor(distance_matrix(emb.query, emb.gallery), emb.query_labels, emb.gallery_labels)
    else:
        from crossid_desktop.evaluation.injured import InjuredEmbeddings

        emb_if = InjuredEmbeddings.compute(matcher, injured_set.restricted(subjects), progress=progress, cancel=cancel)
        genuine, impostor = genuine_impostor(distance_matrix(emb_if.probes, emb_if.first_normal), emb_if.probe_labels, emb_if.subject_ids)
    calibration = fit_on_distances(genuine, impostor, method=method)
    before, after = write_calibration(path, calibration)
    return CalibrationOutcome(calibration, tuple(subjects), before, after)
