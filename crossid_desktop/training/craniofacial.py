"""Fitting the craniofacial matcher: correspondence models, exclusion tolerance, fusion with the Siamese network.

Three sets of people, never mixed:

1. **training** people (a paired set with landmark annotations): the correspondence model of
   each view pair is fitted on their exact landmarks (:func:`~crossid_desktop.matching.craniofacial.fit.fit_view_model`);
2. **validation** people (another set), with landmarks as the matcher will meet them (the
   X-rays' with simulated measurement error, or found by the bundled X-ray landmark detectors;
   the photos' simulated too, or found by the face detectors, whose errors are then measured on
   these photos and kept in the card for the application; likewise the X-ray landmark
   detector's error against the deviations it states, per skull point, when the X-rays' are
   found by it; and the face detectors' error covariance in each view model's frame, which
   stands in for the photos' independent deviations when the photos' landmarks are found by
   the detectors): the exclusion tolerance of each view
   is set so that at most about 0.5 % of them are excluded from their own skull (each view
   takes half of that share; the likelihood-ratio bound :data:`~crossid_desktop.matching.craniofacial.consistency.LR_LIMIT`
   is fixed, not fitted), and the fusion rules (craniofacial
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
from crossid_desktop.evaluation.craniofacial_protocol import detected_faces, detected_xrays, siamese_distances, table_figures
from crossid_desktop.evaluation.craniofacial_scores import view_scores
from crossid_desktop.evaluation.detector_errors import cross_fitted_face_errors, detector_profiles, detector_scales, face_errors
from crossid_desktop.evaluation.xray_evidence import evidence_table, exclusion_rates, fit_fusion, fit_view_factors
from crossid_desktop.matching.base import Matcher
from crossid_desktop.matching.craniofacial.annotations import MeasurementNoise, paired_people
from crossid_desktop.matching.craniofacial.consistency import LR_LIMIT, Tolerance
from crossid_desktop.matching.craniofacial.fit import FitSettings, fit_view_model
from crossid_desktop.matching.craniofacial.fusion import Fusion
from crossid_desktop.matching.craniofacial.measure import face_models, with_profile, xray_models
from crossid_desktop.matching.craniofacial.model_file import CraniofacialModel, load_model, save_model, with_detector_scales
from crossid_desktop.matching.craniofacial.views import VIEW_PAIRS
from crossid_desktop.matching.model_card import software_versions
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress

#: the share of validation people the tolerance may exclude from their own skull
VALIDATION_FALSE_EXCLUSION = 0.005
#: how many of each view's leading patterns of variation the exclusion statistic lets free
#: (:attr:`~crossid_desktop.matching.craniofacial.model.ViewModel.free_patterns`): chosen on the
#: validation people of seed 1202 with the detectors' landmarks and confirmed on the check cohort
#: of seed 1203 (0-3 per view; docs/RESULTS.md section 9)
FREE_MODES = {"front": 1, "side": 2}


def train_craniofacial(training_data: str | Path, validation_data: str | Path, out: str | Path, *, siamese: Matcher | None = None,
                       siamese_spec: str | None = None,
                       settings: FitSettings | None = None, noise: MeasurementNoise | None = None, noise_seed: int = 0,
                       detect_faces: bool = False, detect_xrays: bool = False, landmark_cache: Path | None = None,
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
    card = _card(fits, settings, training_data, command, len(training))
    return _validate(views, card, validation_data, out, siamese=siamese, siamese_spec=siamese_spec, noise=noise, noise_seed=noise_seed,
                     detect_faces=detect_faces, detect_xrays=detect_xrays, landmark_cache=landmark_cache, progress=progress, cancel=cancel)


def refit_craniofacial(model_path: str | Path, validation_data: str | Path, out: str | Path, *, siamese: Matcher | None = None,
                       siamese_spec: str | None = None, noise: MeasurementNoise | None = None, noise_seed: int = 0,
                       detect_faces: bool = False, detect_xrays: bool = False, landmark_cache: Path | None = None,
                       command: Sequence[str] = (), progress: ProgressCallback | None = None,
                       cancel: threading.Event | None = None) -> CraniofacialModel:
    """Keep the correspondence models of the model at ``model_path`` and set its exclusion
    tolerance, fusion rules and detector error profiles afresh on the validation people; write
    the result to ``out``. The result is another model (another fingerprint: galleries index it
    again, cases and reports tell the two apart). The card keeps the training block, records the
    refit's command, and drops the old test figures (they described the old rules)."""
    old = load_model(model_path, to_refit=True)
    card = {key: value for key, value in old.card.items()
            if key not in ("validation", "tolerance", "fusion", "detector_errors", "face_models", "xray_detector_errors", "xray_models", "face_errors", "metrics",
                           "software", "notes", "fingerprint")}
    card["refit"] = {"from": str(model_path), "from_fingerprint": old.fingerprint, "command": " ".join(command),
                     "what": "the exclusion tolerance, the fusion rules, the detectors' error profiles and scales and the face error covariance set afresh on the validation people; "
                             "the correspondence models kept"}
    return _validate(dict(old.views), card, validation_data, out, siamese=siamese, siamese_spec=siamese_spec, noise=noise or MeasurementNoise(),
                     noise_seed=noise_seed, detect_faces=detect_faces, detect_xrays=detect_xrays, landmark_cache=landmark_cache,
                     progress=progress, cancel=cancel)


def _validation_people(validation_data: str | Path, noise: MeasurementNoise, noise_seed: int, *, detect_faces: bool, detect_xrays: bool,
                       landmark_cache: Path | None, report: ProgressCallback, cancel: threading.Event | None) -> tuple[list, list, dict | None, dict | None]:
    """The validation people with their landmarks as the matcher will meet them, the same people
    with their exact annotations, the face detectors' error profiles measured on them (None when
    the photos' error is simulated) and the X-ray landmark detector's error scales (None when the
    X-rays' error is simulated)."""
    validation = read_annotations(validation_data)
    people, annotated = paired_people(validation, noise, noise_seed), paired_people(validation)
    profiles = scales = None
    if detect_faces:  # the validation photos' landmarks as the application will have them
        report(1, 5, "detecting the validation photos' face landmarks")
        found = detected_faces(people, validation_data, cache_dir=landmark_cache, cancel=cancel)
        profiles = detector_profiles(found, annotated)
        people = [replace(p, photos={v: tuple(with_profile(m, profiles) for m in marks) for v, marks in p.photos.items()}) for p in found]
    if detect_xrays:  # the validation X-rays' skull landmarks as the application finds them
        report(1, 5, "detecting the validation X-rays' skull landmarks")
        people = detected_xrays(people, validation_data, cache_dir=landmark_cache, cancel=cancel)
        scales = detector_scales(people, annotated)
    return people, annotated, profiles, scales


def _validate(views: dict, card: dict[str, Any], validation_data: str | Path, out: str | Path, *, siamese: Matcher | None, siamese_spec: str | None,
              noise: MeasurementNoise, noise_seed: int, detect_faces: bool, detect_xrays: bool, landmark_cache: Path | None,
              progress: ProgressCallback | None, cancel: threading.Event | None) -> CraniofacialModel:
    """Set the tolerance and fit the fusion of ``views`` on the validation people, complete the card and write the model."""
    report = progress or no_progress
    val_people, annotated, profiles, scales = _validation_people(validation_data, noise, noise_seed, detect_faces=detect_faces,
                                                                 detect_xrays=detect_xrays, landmark_cache=landmark_cache, report=report, cancel=cancel)
    if scales is not None:
        card["xray_detector_errors"] = {view: scale.to_dict() for view, scale in sorted(scales.items())}
        card["xray_models"] = xray_models()  # the error scales hold for these models only
    views = with_detector_scales(views, card)  # the validation X-rays are scored as the application will score its queries
    measured, held_out = {}, {}
    if profiles is not None:  # the face detectors' error covariance: measured on every validation photo for the model, and
        # for scoring them, each person's measured without them
        measured = face_errors(views, val_people, annotated)
        held_out = cross_fitted_face_errors(views, val_people, annotated)
    views = {name: replace(vm, face_error=measured.get(name), free_modes=FREE_MODES.get(name, 0))  # and the photos as it will score them
             for name, vm in views.items()}
    unit = Tolerance()
    report(2, 5, "scoring the validation people")
    scores = {name: view_scores(vm, unit, val_people, val_people, photo_errors=held_out.get(name), progress=progress, cancel=cancel)
              for name, vm in views.items()}
    val_ids = sorted(p.subject_id for p in val_people)
    distances = siamese_distances(siamese, validation_data, val_ids, cancel=cancel) if siamese is not None else None
    table = evidence_table(scores, unit, distances)
    factors = fit_view_factors(table, ("front", "side"), false_exclusion=VALIDATION_FALSE_EXCLUSION)
    report(3, 5, "fitting the fusion")
    fusion = fit_fusion(table)
    if not fusion.rules:
        raise DatasetError(f"The {len(val_ids)} validation people are too few to fit the fusion: each rule needs at least 10 assessable true pairs.")
    lr_limit, bound_note = _fitted_bound(fusion)
    tolerance = Tolerance(unit.global_level, unit.point_level, max(factors.values()), lr_limit)
    metrics = table_figures(table, fusion, siamese=siamese is not None, craniofacial=True, prefix="person/")[0]
    metrics.update({f"exclusion/{k}": v for k, v in exclusion_rates(table, ("front", "side"), factor=factors, fusion=fusion, lr_limit=lr_limit).items()})
    metrics.update({f"exclusion_tolerance_alone/{k}": v for k, v in exclusion_rates(table, ("front", "side"), factor=factors).items() if k in ("tnr", "fer")})
    if profiles is not None:
        card["detector_errors"] = {view: profile.to_dict() for view, profile in profiles.items()}
        card["face_models"] = face_models()  # the error profiles hold for these models only
    landmarks = _validation_landmarks(noise, detect_faces=detect_faces, detect_xrays=detect_xrays)
    card.update({
        "validation": {"data": str(validation_data), "people": len(val_ids), "landmarks": landmarks, "metrics": metrics},
        "tolerance": {"set_on": "validation people, each view on its own", "target_false_exclusion": VALIDATION_FALSE_EXCLUSION, "fitted_factors": factors,
                      "factor_estimate": "the tail of the validation true persons' statistics fitted (Hill, largest 20 %) and extrapolated (Weissman) "
                                         "to the target share per view, never below the empirical quantile",
                      "lr_limit_note": bound_note},
        "fusion": {"siamese": None if siamese is None else {"name": siamese.name, "fingerprint": siamese.fingerprint, "spec": siamese_spec},
                   "rules": fusion.to_dict(), "fitted_on": "validation people"},
        "software": software_versions(),
        "metrics": {},
    })
    report(4, 5, "writing the model")
    model = save_model(out, CraniofacialModel(views, tolerance, card, view_factors=factors))
    report(5, 5, "done")
    return model


def _fitted_bound(fusion: Fusion) -> tuple[float | None, str]:
    """The exclusion's likelihood-ratio bound for a model with this fusion, and the card's note:
    :data:`LR_LIMIT`, or None when a craniofacial rule is missing or its validation people are
    too few for a ratio below the bound (its ratios are clipped at ``1 / n_genuine``)."""
    patterns = ("cf_front", "cf_side", "cf_front+cf_side")
    missing = [p for p in patterns if p not in fusion.rules]
    short = [p for p in patterns if p in fusion.rules and fusion.rules[p].n_genuine <= 1.0 / LR_LIMIT]
    if missing or short:
        why = (f"no craniofacial fusion rule for {', '.join(missing)}" if missing else
               f"the craniofacial fusion rules {', '.join(short)} rest on {min(fusion.rules[p].n_genuine for p in short)} true pairs, too few "
               f"to support a ratio below {LR_LIMIT:g}")
        return None, f"no likelihood-ratio bound: {why}; the exclusion uses the tolerance alone"
    return LR_LIMIT, ("a person is also inconsistent when the calibrated craniofacial likelihood ratio of all the skull's X-rays together is below "
                      f"{LR_LIMIT:g}: for a calibrated ratio at most that share of true persons falls below it (the bound's choice: docs/RESULTS.md section 9)")


def _validation_landmarks(noise: MeasurementNoise, *, detect_faces: bool, detect_xrays: bool) -> str:
    """How the validation people's landmarks were had, in words (the card's ``validation.landmarks``)."""
    faces = "the photos' found by the face detectors (their errors measured on these photos)"
    xrays = "the X-rays' found by the bundled X-ray landmark detectors (pixel spacing unknown)"
    if detect_faces and detect_xrays:
        return f"every landmark found by the detectors: {xrays}, {faces}"
    if detect_faces:
        return f"{noise.describe()}; {faces}"
    if detect_xrays:
        return f"{noise.describe()}; {xrays} (the simulated X-ray error not used)"
    return noise.describe()


def _card(fits: dict, settings: FitSettings, training_data: str | Path, command: Sequence[str], n_training: int) -> dict[str, Any]:
    """The model card's training part: what the model is, what it was fitted on and how (the validation part is added by :func:`_validate`)."""
    return {
        "name": "craniofacial",
        "description": "Craniofacial correspondence: skull landmarks predict the face's landmarks with their spread "
                       "(soft-tissue depths and a ridge regression), photos scored by Mahalanobis misfit after registration.",
        "training": {"data": str(training_data), "people": n_training, "settings": asdict(settings), "command": " ".join(command),
                     "views": {name: {"people": f.n_people, "photos": f.n_photos} for name, f in fits.items()}},
        "depths": {name: list(f.depths) for name, f in fits.items()},
    }
