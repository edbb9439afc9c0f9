"""Fitting the craniofacial matcher: correspondence models, exclusion tolerance, fusion with the Siamese network.

Three sets of people, never mixed:

1. **training** people (a paired set with landmark annotations): the correspondence model of
   each view pair is fitted on their exact landmarks (:func:`~crossid_desktop.matching.craniofacial.fit.fit_view_model`);
2. **validation** people (another set), with landmarks as the matcher will meet them (the
   X-rays' with simulated measurement error until an X-ray landmark detector is bundled; the
   photos' simulated too, or found by the face detectors, whose errors are then measured on
   these photos and kept in the card for the application): the exclusion tolerance of each view
   is set so that at most about 0.5 % of them are excluded from their own skull (each view
   takes half of that share), and the fusion rules (craniofacial
   evidence alone, and with the Siamese network's distances when a Siamese matcher is given)
   are fitted on them;
3. **test** people: only ``crossid evaluate`` sees them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from crossid_desktop.datasets.landmark_annotations import read_annotations
from crossid_desktop.errors import DatasetError
from crossid_desktop.evaluation.craniofacial_protocol import detected_faces, detector_profiles, siamese_distances, table_figures
from crossid_desktop.evaluation.craniofacial_scores import view_scores
from crossid_desktop.evaluation.xray_evidence import evidence_table, exclusion_rates, fit_fusion, fit_view_factors
from crossid_desktop.matching.base import Matcher
from crossid_desktop.matching.craniofacial.annotations import MeasurementNoise, paired_people
from crossid_desktop.matching.craniofacial.consistency import Tolerance
from crossid_desktop.matching.craniofacial.fit import FitSettings, fit_view_model
from crossid_desktop.matching.craniofacial.measure import with_profile
from crossid_desktop.matching.craniofacial.model_file import CraniofacialModel, save_model
from crossid_desktop.matching.craniofacial.views import VIEW_PAIRS
from crossid_desktop.matching.model_card import software_versions
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress

#: the share of validation people the tolerance may exclude from their own skull
VALIDATION_FALSE_EXCLUSION = 0.005


def train_craniofacial(training_data: str | Path, validation_data: str | Path, out: str | Path, *, siamese: Matcher | None = None,
                       siamese_spec: str | None = None,
                       settings: FitSettings | None = None, noise: MeasurementNoise | None = None, noise_seed: int = 0,
                       detect_faces: bool = False, landmark_cache: Path | None = None,
                       command: Sequence[str] = (), progress: ProgressCallback | None = None,
                       cancel: threading.Event | None = None) -> CraniofacialModel:
    """Fit, calibrate and write the model ``out`` (``.npz`` and ``.json``); see the module docstring."""
    report = progress or no_progress
    settings, noise = settings or FitSettings(), noise or MeasurementNoise()
    training = read_annotations(training_data)
    validation = read_annotations(validation_data)
    overlap = sorted(set(training) & set(validation))
    if overlap and Path(training_data).resolve() == Path(validation_data).resolve():
        raise DatasetError("The validation people must not be the training people; give another data set with --validation-data.")
    report(0, 5, "fitting the correspondence models")
    people = paired_people(training)
    fits = {name: fit_view_model(pair, people, settings) for name, pair in VIEW_PAIRS.items()}
    check_cancel(cancel, "The craniofacial training")
    views = {name: f.model for name, f in fits.items()}
    val_people = paired_people(validation, noise, noise_seed)
    profiles = None
    if detect_faces:  # the validation photos' landmarks as the application will have them
        report(1, 5, "detecting the validation photos' face landmarks")
        found = detected_faces(val_people, validation_data, cache_dir=landmark_cache, cancel=cancel)
        profiles = detector_profiles(found, paired_people(validation))
        val_people = [replace(p, photos={v: tuple(with_profile(m, profiles) for m in marks) for v, marks in p.photos.items()}) for p in found]
    unit = Tolerance()
    report(2, 5, "scoring the validation people")
    scores = {name: view_scores(vm, unit, val_people, val_people, progress=progress, cancel=cancel) for name, vm in views.items()}
    val_ids = sorted(validation)
    distances = siamese_distances(siamese, validation_data, val_ids, cancel=cancel) if siamese is not None else None
    table = evidence_table(scores, unit, distances)
    factors = fit_view_factors(table, ("front", "side"), false_exclusion=VALIDATION_FALSE_EXCLUSION)
    tolerance = Tolerance(unit.global_level, unit.point_level, max(factors.values()))
    report(3, 5, "fitting the fusion")
    fusion = fit_fusion(table)
    validation_metrics = table_figures(table, fusion, siamese=siamese is not None, craniofacial=True, prefix="person/")[0]
    validation_metrics.update({f"exclusion/{k}": v for k, v in exclusion_rates(table, ("front", "side"), factor=factors).items()})
    card = _card(fits, settings, noise, training_data, validation_data, val_ids, command, siamese, fusion, factors, validation_metrics, len(training))
    card["fusion"]["siamese"] = None if siamese is None else {**card["fusion"]["siamese"], "spec": siamese_spec}
    if profiles is not None:
        card["detector_errors"] = {view: profile.to_dict() for view, profile in profiles.items()}
        card["validation"]["landmarks"] += "; photo landmarks found by the face detectors (their errors measured on these photos)"
    report(4, 5, "writing the model")
    model = save_model(out, CraniofacialModel(views, tolerance, card, view_factors=factors))
    report(5, 5, "done")
    return model


def _card(fits: dict, settings: FitSettings, noise: MeasurementNoise, training_data: str | Path, validation_data: str | Path,
          validation_ids: list[str], command: Sequence[str], siamese: Matcher | None, fusion: Any, factors: dict[str, float],
          validation_metrics: dict[str, Any], n_training: int) -> dict[str, Any]:
    """The model card: what the model is, what it was fitted on, how, and what it achieved."""
    return {
        "name": "craniofacial",
        "description": "Craniofacial correspondence: skull landmarks predict the face's landmarks with their spread "
                       "(soft-tissue depths and a ridge regression), photos scored by Mahalanobis misfit after registration.",
        "training": {"data": str(training_data), "people": n_training, "settings": asdict(settings), "command": " ".join(command),
                     "views": {name: {"people": f.n_people, "photos": f.n_photos} for name, f in fits.items()}},
        "validation": {"data": str(validation_data), "people": len(validation_ids), "landmarks": noise.describe(), "metrics": validation_metrics},
        "depths": {name: list(f.depths) for name, f in fits.items()},
        "tolerance": {"set_on": "validation people, each view on its own", "target_false_exclusion": VALIDATION_FALSE_EXCLUSION, "fitted_factors": factors},
        "fusion": {"siamese": None if siamese is None else {"name": siamese.name, "fingerprint": siamese.fingerprint},
                   "rules": fusion.to_dict(), "fitted_on": "validation people"},
        "software": software_versions(),
        "metrics": {},
    }
