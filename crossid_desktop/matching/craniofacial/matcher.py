"""The craniofacial matcher as the application uses it, alone or fused with the Siamese network.

:class:`CraniofacialMatcher` fulfils the :class:`~crossid_desktop.matching.base.Matcher` contract
for the gallery's first stage: a photo's "embedding" is its scale-free landmark vector
(:mod:`.features`), measured when the photo is enrolled; a query's is the face its skull
predicts. The exact stage (registration, misfit, verdict) works on the stored landmarks
themselves (``crossid_desktop.search.xray_ranking``). :class:`FusedXrayMatcher` adds the Siamese
network and the fusion rules fitted with it (the default X-ray matcher of new workspaces).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import MatcherMismatchError, ModelError
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.matching.base import Matcher, QueryModality
from crossid_desktop.matching.craniofacial.features import FeatureSpace
from crossid_desktop.matching.craniofacial.fusion import Fusion
from crossid_desktop.matching.craniofacial.measure import ErrorProfile, detect_face_landmarks, face_models, xray_models
from crossid_desktop.matching.craniofacial.model import Prediction, predict
from crossid_desktop.matching.craniofacial.model_file import CraniofacialModel
from crossid_desktop.matching.craniofacial.points import Landmarks, from_detection, pixel_spacing, read_sidecar
from crossid_desktop.matching.landmarks.service import find_landmarks
from crossid_desktop.matching.preprocess import prepare_xray
from crossid_desktop.progress import ProgressCallback, check_cancel

VIEW_OF_MODALITY = {QueryModality.XRAY_FRONT: "front", QueryModality.XRAY_SIDE: "side"}
#: what the face detectors are assumed to miss by where the model card measured nothing
#: (per-axis deviation, fraction of the face height): the previous frontal model's 0.94 % mean radial error with one run
#: (cautious for today's model: 0.74 % averaged)
ASSUMED_PROFILES = {"face-front": ErrorProfile("face-front", {}, 0.0094 / 1.2533, "assumed: the frontal detector's card"),
                    "face-side": ErrorProfile("face-side", {}, 0.015 / 1.2533, "assumed")}


REFIT = "Refit it with: crossid train-craniofacial --refit MODEL --validation-data DIR --detect-faces --detect-xrays --out NEW.npz"


def _check_face_models(model: CraniofacialModel) -> None:
    """Refuse a model whose detector error profiles were measured with other face landmark
    models than the installed ones, or before the models were recorded (its tolerances and
    likelihood ratios would not hold, and a gallery's stored landmarks would mix two detectors)."""
    if "detector_errors" not in model.card:
        return  # error profiles assumed, not measured: nothing to disagree with
    recorded = model.card.get("face_models")
    if not isinstance(recorded, dict):
        raise ModelError(f"The craniofacial model {model.name} was fitted before its card recorded the face landmark models its error "
                         f"profiles were measured with, so they cannot be checked against the installed ones. {REFIT}")
    installed = face_models()
    views = [f"face-{view}" for view in model.views]
    missing = [view for view in views if recorded.get(view, "none") != "none" and installed.get(view) == "none"]
    if missing:
        raise ModelError(f"The face landmark model the craniofacial model {model.name} was fitted with is missing "
                         f"({', '.join(f'{v}: {recorded[v]}' for v in missing)}): install the application again.")
    changed = [view for view in views if recorded.get(view) != installed.get(view)]
    if changed:
        raise ModelError(f"The craniofacial model {model.name} was fitted with other face landmark models than the installed ones "
                         f"({', '.join(f'{v}: fitted with {recorded.get(v)}, installed {installed.get(v)}' for v in changed)}). {REFIT}")


def _check_xray_models(model: CraniofacialModel) -> None:
    """Refuse a model whose tolerance, fusion and X-ray detector error scales were set on X-rays
    whose landmarks other X-ray landmark models than the installed ones found (the scales would
    weigh another detector's points; the tolerance would hold for another detector's errors), or
    one fitted on detected X-rays before its card recorded the models. A view whose X-ray
    landmark model is not installed is not checked: its queries' landmarks then come from the
    examiner or beside the X-ray, which the scales do not touch."""
    recorded = model.card.get("xray_models")
    detected = "X-ray landmark detectors" in str((model.card.get("validation") or {}).get("landmarks", ""))
    if "xray_detector_errors" not in model.card and not detected:
        return  # validated on X-rays with a simulated error: nothing to disagree with
    if not isinstance(recorded, dict):
        raise ModelError(f"The craniofacial model {model.name} was fitted on X-ray landmarks found by X-ray landmark models its card does "
                         f"not record, so they cannot be checked against the installed ones. {REFIT}")
    installed = xray_models()
    views = [model.views[view].pair.skull_view for view in model.views]
    changed = [view for view in views if installed.get(view, "none") != "none" and recorded.get(view) != installed.get(view)]
    if changed:
        raise ModelError(f"The craniofacial model {model.name} was fitted with other X-ray landmark models than the installed ones "
                         f"({', '.join(f'{v}: fitted with {recorded.get(v)}, installed {installed.get(v)}' for v in changed)}). {REFIT}")


class CraniofacialMatcher:
    """The craniofacial model behind the matcher contract (module docstring)."""

    def __init__(self, model: CraniofacialModel) -> None:
        self.model = model
        self.space = FeatureSpace(model.views)
        self.name: str = model.name
        self.fingerprint: str = model.fingerprint
        self.embedding_dim: int = self.space.dim
        self.query_modalities: frozenset[QueryModality] = frozenset(m for m, v in VIEW_OF_MODALITY.items() if v in model.views)
        _check_face_models(model)
        _check_xray_models(model)
        stored = model.card.get("detector_errors", {})
        self.profiles = {view: ErrorProfile.from_dict(stored[view]) if view in stored else ASSUMED_PROFILES[view] for view in ASSUMED_PROFILES}

    @functools.cached_property
    def fusion(self) -> Fusion:
        """The card's fusion rules (the craniofacial-only ones serve this matcher alone), read once."""
        rules = self.model.card.get("fusion", {}).get("rules")
        return Fusion.from_dict(rules) if rules else Fusion.uncalibrated()

    def model_card(self) -> dict[str, Any]:
        return {**self.model.card, **reported(self.model.card, "cf", ("cf_front", "cf_front+cf_side")), "embedding_dim": self.embedding_dim, "task": "craniofacial",
                "preprocessing": {"query": {"modalities": sorted(m.value for m in self.query_modalities), "landmarks": "skull X-ray landmarks"},
                                  "gallery": {"landmarks": "face landmarks measured at enrolment"}}}

    def preprocess_query(self, image: LoadedImage | NDArray[Any], modality: QueryModality) -> NDArray[np.float32]:
        """The X-ray with its soft tissue suppressed (default strength), for display and the overlay."""
        self._view(modality)
        return prepare_xray(image, {})

    def measure_face(self, rgb: NDArray[Any], view: str) -> Landmarks:
        """A photo's face landmarks with deviations (``view``: front, side or unknown)."""
        return detect_face_landmarks(rgb, view, self.profiles)

    def encode_landmarks(self, photos: Sequence[Landmarks]) -> NDArray[np.float32]:
        """First-stage vectors ``(n, embedding_dim)`` of photos' landmarks."""
        return np.stack([self.space.photo_vector(p) for p in photos]) if photos else np.zeros((0, self.embedding_dim), np.float32)

    def encode_gallery(self, faces: Sequence[NDArray[np.uint8]], *, progress: ProgressCallback | None = None,
                       cancel: threading.Event | None = None) -> NDArray[np.float32]:
        """Vectors of aligned crops whose landmarks were not stored at enrolment (measured here, view unknown)."""
        marks = []
        for done, face in enumerate(faces):
            check_cancel(cancel, "Measuring face landmarks")
            if progress is not None:
                progress(done, len(faces), "measuring face landmarks")
            marks.append(self.measure_face(face, "unknown"))
        return self.encode_landmarks(marks)

    def skull_landmarks(self, image: LoadedImage, modality: QueryModality) -> Landmarks:
        """The skull landmarks of an X-ray: those kept beside it (placed by an examiner in another
        session or tool, :func:`~.points.read_sidecar`), else the X-ray landmark detector's."""
        view = self._view(modality)
        kept = read_sidecar(image.path, image.sha256, f"xray-{view}")
        if kept is not None:
            return kept
        spacing, source = pixel_spacing(image.meta)
        return from_detection(find_landmarks(image, f"xray-{view}"), spacing_mm=spacing, spacing_source=source)

    def predict(self, skull: Landmarks, *, sex: str | None = None, age: float | None = None) -> Prediction:
        """The face the skull predicts (view from the landmarks)."""
        view = skull.view.removeprefix("xray-")
        if view not in self.model.views:
            raise MatcherMismatchError(f"The craniofacial model has no {skull.view} view.")
        return predict(self.model.views[view], skull, sex=sex, age=age)

    def query_vector(self, prediction: Prediction) -> NDArray[np.float32]:
        return self.space.query_vector(prediction)

    def encode_query(self, images: Sequence[LoadedImage], modality: QueryModality, *, progress: ProgressCallback | None = None,
                     cancel: threading.Event | None = None) -> NDArray[np.float32]:
        """First-stage vectors of X-ray queries (their landmarks detected)."""
        rows = []
        for image in images:
            check_cancel(cancel, "Encoding the query")
            rows.append(self.query_vector(self.predict(self.skull_landmarks(image, modality))))
        return np.stack(rows)

    def _view(self, modality: QueryModality | str) -> str:
        modality = QueryModality(modality)
        if modality not in self.query_modalities:
            raise MatcherMismatchError(f"The craniofacial matcher takes skull X-rays, not {modality.value.replace('_', ' ')} queries.")
        return VIEW_OF_MODALITY[modality]


class FusedXrayMatcher:
    """The craniofacial matcher and a Siamese network, their evidence fused by the card's rules."""

    def __init__(self, craniofacial: CraniofacialMatcher, siamese: Matcher) -> None:
        fusion_card = craniofacial.model.card.get("fusion", {})
        expected = (fusion_card.get("siamese") or {}).get("fingerprint")
        if expected != siamese.fingerprint:
            raise ModelError(f"The craniofacial model's fusion was fitted with another Siamese model than {siamese.name}; refit it with crossid train-craniofacial --siamese.")
        self.craniofacial, self.siamese = craniofacial, siamese
        self.fusion = Fusion.from_dict(fusion_card["rules"])
        self.name = "default-xray"
        self.fingerprint = hashlib.sha256(f"{craniofacial.fingerprint}+{siamese.fingerprint}".encode()).hexdigest()
        self.query_modalities = craniofacial.query_modalities & siamese.query_modalities
        self.components: tuple[Matcher, ...] = (siamese, craniofacial)  # type: ignore[assignment]

    @property
    def embedding_dim(self) -> int:
        return self.siamese.embedding_dim

    def preprocess_query(self, image: LoadedImage | NDArray[Any], modality: QueryModality) -> NDArray[Any]:
        """The query as the Siamese network prepares it (soft tissue suppressed by its recipe)."""
        return self.siamese.preprocess_query(image, modality)  # type: ignore[attr-defined]

    def model_card(self) -> dict[str, Any]:
        card = self.craniofacial.model.card
        summary = reported(card, "fusion", ("cf_front+cf_side+siamese_front+siamese_side", "cf_front+siamese_front"))
        return {"name": self.name, "task": "skull2face", "method": "craniofacial-fused", "embedding_dim": self.embedding_dim, **summary,
                "format_version": card.get("format_version"), "software": card.get("software"),
                "description": "Craniofacial correspondence fused with the Siamese network by logistic regression on validation people.",
                "components": {"craniofacial": {"name": self.craniofacial.name, "fingerprint": self.craniofacial.fingerprint},
                               "siamese": {"name": self.siamese.name, "fingerprint": self.siamese.fingerprint}},
                "fusion": card.get("fusion", {}),
                "preprocessing": self.siamese.model_card().get("preprocessing", {})}


def reported(card: dict[str, Any], prefix: str, rules: Sequence[str]) -> dict[str, Any]:
    """What a case report reads of a matcher's card (``training``, ``metrics`` with a test block of
    flat figures first, ``calibration``), from a craniofacial model's card: the test figures of
    the cohort measured with the application's own detectors under ``prefix`` (``cf`` alone,
    ``fusion`` fused), the people the model was fitted on, and the fusion rules' counts."""
    metrics = dict(card.get("metrics", {}))
    tested = metrics.get("test_fresh_cohorts", {})
    figures = next((f for label, f in tested.get("figures", {}).items() if label.endswith("| detectors")), None)
    out: dict[str, Any] = {}
    if figures:
        flat = {key.removeprefix(f"{prefix}/"): value for key, value in figures.items() if key.startswith(f"{prefix}/")}
        flat["n_test_subjects"] = int(figures.get(f"{prefix}/front/n_queries", 0)) or None
        if prefix == "fusion":  # the card's Cllr is that of the fused ratios
            flat.update(cllr=figures.get("cllr"), cllr_min=figures.get("cllr_min"))
        people = flat["n_test_subjects"]
        flat["gallery_size"] = 4 * people if people else None  # 3 frontal photos and 1 profile per person (the card's note)
        block = {"command": tested.get("command", ""), "notes": tested.get("note", ""), "data": "synthetic cohort written by crossid synth, landmarks "
                 "found by the application's own detectors", "figures": {k: v for k, v in flat.items() if v is not None}}
        metrics = {"test_detectors": block, **metrics}
    out["metrics"] = metrics
    training = card.get("training", {})
    if isinstance(training, dict) and training.get("people"):
        out["training"] = {**training, "data": {"n_subjects": int(training["people"]), "synthetic": True, "path": training.get("data")}}
    fusion = card.get("fusion", {})
    rule = next((fusion["rules"][name] for name in rules if name in fusion.get("rules", {})), None)
    if isinstance(rule, dict) and rule.get("calibrated"):
        out["calibration"] = {"method": "logistic fusion", "n_genuine": rule.get("n_genuine"), "n_impostor": rule.get("n_impostor"),
                              "score_name": "the craniofacial likelihood ratios and the Siamese network's distances of the X-rays searched"
                              if prefix == "fusion" else "the craniofacial likelihood ratios of the X-rays searched",
                              "fitted_on": fusion.get("fitted_on"), "several_queries": True}
    return out


def components(matcher: Matcher) -> tuple[Matcher, ...]:
    """The matchers whose gallery vectors a matcher needs (itself, or a fused matcher's parts)."""
    return tuple(getattr(matcher, "components", (matcher,)))


def measures_faces(matcher: Any) -> bool:
    """Whether a matcher measures face landmarks at enrolment."""
    return callable(getattr(matcher, "measure_face", None))


__all__ = ["CraniofacialMatcher", "FusedXrayMatcher", "components", "measures_faces"]
