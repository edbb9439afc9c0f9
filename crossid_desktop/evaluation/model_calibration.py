"""Fitting a model's score-to-likelihood-ratio calibration on its validation subjects of a data
set and storing it in the model card (``crossid evaluate --calibrate``).

:func:`calibrate_model` takes a model's validation subjects on a data set (by default the
held-out side of the trainer's subject split, ``val_fraction`` and ``seed`` read from the
card's training settings, 0.3 and 0 otherwise), fits, and writes ``card.calibration`` with
:func:`~crossid_desktop.evaluation.calibration.write_calibration`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crossid_desktop.datasets.skull_faces import read_skull_faces
from crossid_desktop.errors import DatasetError, ModelError
from crossid_desktop.evaluation.calibration import fit_on_distances, model_validation_subjects, write_calibration
from crossid_desktop.evaluation.injured import InjuredEmbeddings, read_injured_set
from crossid_desktop.evaluation.protocols import distance_matrix, genuine_impostor
from crossid_desktop.evaluation.skull2face import SkullFaceEmbeddings
from crossid_desktop.matching.calibration import Calibration
from crossid_desktop.matching.matchers import load_matcher
from crossid_desktop.progress import ProgressCallback

__all__ = ["CalibrationOutcome", "calibrate_model"]


@dataclass(frozen=True)
class CalibrationOutcome:
    """What :func:`calibrate_model` did: the calibration, the subjects it was fitted on, and
    the model's fingerprint before and after (equal unless something is badly wrong)."""

    calibration: Calibration
    validation_subjects: tuple[str, ...]
    fingerprint_before: str
    fingerprint_after: str


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

    path = Path(checkpoint_path)
    if not path.is_file():
        raise ModelError(f"The model file {path} does not exist; the pretrained dlib matcher has no card to hold a calibration.")
    matcher = load_matcher(path)
    card = matcher.model_card()
    if card.get("task") == "skull2face":
        dataset = read_skull_faces(data_dir, strict=False)
        ids = [s.subject_id for s in dataset.subjects]
    else:
        injured_set = read_injured_set(data_dir, simulate_injuries=None)
        ids = list(injured_set.subject_ids)
    subjects = sorted(set(validation_subjects) & set(ids)) if validation_subjects is not None else model_validation_subjects(card, ids)
    overlap = sorted(set(subjects) & set(exclude_subjects))
    if overlap:
        raise DatasetError(f"The validation subjects overlap the excluded (test) subjects ({', '.join(overlap[:3])}); a calibration is fitted on validation subjects only.")
    if len(subjects) < 2:
        raise DatasetError(f"A calibration needs at least two validation subjects in {Path(data_dir)}; it found {len(subjects)}.")
    if card.get("task") == "skull2face":
        emb = SkullFaceEmbeddings.compute(matcher, dataset, subjects, progress=progress, cancel=cancel)
        genuine, impostor = genuine_impostor(distance_matrix(emb.query, emb.gallery), emb.query_labels, emb.gallery_labels)
    else:
        injured_embeddings = InjuredEmbeddings.compute(matcher, injured_set.restricted(subjects), progress=progress, cancel=cancel)
        genuine, impostor = genuine_impostor(distance_matrix(injured_embeddings.probes, injured_embeddings.first_normal), injured_embeddings.probe_labels, injured_embeddings.subject_ids)
    calibration = fit_on_distances(genuine, impostor, method=method)
    before, after = write_calibration(path, calibration)
    return CalibrationOutcome(calibration, tuple(subjects), before, after)
