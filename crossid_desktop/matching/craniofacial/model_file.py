"""The craniofacial model on disk: arrays in ``NAME.npz`` (no pickles), its card in ``NAME.json``.

The card says what the model is (its views and landmarks), what it was fitted on and with which
command, the soft-tissue depths it uses (published and refitted), the exclusion tolerance and
how it was set, and what it achieved. The fingerprint (a SHA-256 of the arrays, the landmark
lists and the calibration: exclusion rule and tolerance, fusion rules, the face and X-ray
landmark models its error profiles were measured with, the X-ray detector's measured error
scales and the face detectors the measured face error covariances hold for, :func:`calibration_of`) names the model in
reports and in the gallery's index of first-stage vectors; metrics and notes in the card can
change without changing it.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.craniofacial.consistency import RULE, Tolerance
from crossid_desktop.matching.craniofacial.model import DetectorScale, FaceError, ViewModel
from crossid_desktop.matching.craniofacial.views import view_pair
from crossid_desktop.paths import atomic_path

FORMAT_VERSION = 1
TASK = "craniofacial"
_ARRAYS = ("skull_mean", "skull_cov", "covariate_mean", "covariate_cov", "counterpart", "offset", "coef", "residual_cov", "impostor_cov")
#: the array of a view's measured face error covariance (models refitted since 2026-12-02), its card entry ``face_errors``
FACE_ERROR_ARRAY = "face_error_cov"


@dataclass(frozen=True, eq=False)
class CraniofacialModel:
    """The view models (``"front"``, ``"side"``; each with the X-ray detector's error scales of
    the card's ``xray_detector_errors``, :func:`with_detector_scales`), the exclusion tolerance and the card.
    ``view_factors``: each view's own tolerance factor (set on validation people per view: the
    photo landmarks of a profile are found less reliably than a frontal face's); a view without
    one uses ``tolerance.factor``."""

    views: Mapping[str, ViewModel]
    tolerance: Tolerance
    card: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    view_factors: Mapping[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.card.get("name", TASK))

    def tolerance_of(self, view: str) -> Tolerance:
        """The exclusion tolerance of one view (``"front"`` or ``"side"``)."""
        return replace(self.tolerance, factor=float(self.view_factors.get(view, self.tolerance.factor)))


def _arrays(model: CraniofacialModel) -> dict[str, np.ndarray]:
    out = {}
    for view, vm in model.views.items():
        for key in _ARRAYS:
            out[f"{view}/{key}"] = np.asarray(getattr(vm, key))
        if vm.face_error is not None:
            out[f"{view}/{FACE_ERROR_ARRAY}"] = np.asarray(vm.face_error.cov, dtype=np.float64)
    return out


def calibration_of(card: Mapping[str, Any]) -> dict[str, Any]:
    """What, besides the arrays, decides a model's answers: the exclusion rule and its tolerance
    (levels and factors), the fusion rules, the face landmark models the photos are measured
    with, the X-ray detector's error scales and the X-ray landmark models they were measured
    with, and the face detectors each view's measured face error covariance holds for, as the
    card states them."""
    tolerance = card.get("tolerance", {}) if isinstance(card.get("tolerance"), Mapping) else {}
    fusion = card.get("fusion", {}) if isinstance(card.get("fusion"), Mapping) else {}
    out = {"tolerance": {k: tolerance.get(k) for k in ("rule", "global_level", "point_level", "factor", "view_factors")}, "fusion": fusion.get("rules")}
    if "free_modes" in tolerance:  # the patterns the exclusion lets free (cards since 2026-12-02)
        out["tolerance"]["free_modes"] = tolerance["free_modes"]
    if tolerance.get("lr_limit") is not None:  # the likelihood-ratio bound (cards since 2026-12-03)
        out["tolerance"]["lr_limit"] = tolerance["lr_limit"]
    if "face_models" in card:  # the face landmark models its error profiles were measured with (cards since they were recorded)
        out["face_models"] = card["face_models"]
    for key in ("xray_detector_errors", "xray_models", "face_errors"):  # measured X-ray error scales and face error covariances (cards since 2026-12-02)
        if key in card:
            out[key] = card[key]
    return out


def compute_fingerprint(arrays: Mapping[str, np.ndarray], views: Mapping[str, ViewModel], calibration: Mapping[str, Any] | None = None) -> str:
    """SHA-256 over the arrays (name, dtype, shape, bytes in name order), each view's landmark
    names and the calibration (:func:`calibration_of`): a model refitted on other validation
    people is another model, and galleries, cases and reports tell it apart by this."""
    digest = hashlib.sha256(b"crossid-craniofacial-v2\n" if calibration is not None else b"crossid-craniofacial-v1\n")
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{value.dtype.str}:{value.shape}\n".encode())
        digest.update(value.tobytes())
    for view in sorted(views):
        pair = views[view].pair
        digest.update(json.dumps([view, pair.skull_names, pair.face_names]).encode())
    if calibration is not None:  # (v1 fingerprints, of models before the rule was recorded, covered the arrays alone)
        digest.update(json.dumps(calibration, sort_keys=True).encode())
    return digest.hexdigest()


def save_model(path: str | Path, model: CraniofacialModel) -> CraniofacialModel:
    """Write ``path`` (``.npz``) and its card (``.json`` beside it); returns the model with its fingerprint."""
    path = Path(path).with_suffix(".npz")
    arrays = _arrays(model)
    card = {**model.card, "task": TASK, "format_version": FORMAT_VERSION,
            "tolerance": {**_tolerance_notes(model.card), "rule": RULE, "global_level": model.tolerance.global_level,
                          "point_level": model.tolerance.point_level, "factor": model.tolerance.factor,
                          "view_factors": {view: float(v) for view, v in sorted(model.view_factors.items())},
                          "free_modes": {view: int(vm.free_modes) for view, vm in sorted(model.views.items())},
                          "lr_limit": model.tolerance.lr_limit},
            "views": {view: {"skull_view": vm.pair.skull_view, "face_view": vm.pair.face_view, "skull_names": list(vm.pair.skull_names),
                             "face_names": list(vm.pair.face_names)} for view, vm in model.views.items()}}
    card.pop("face_errors", None)
    measured = {view: {"sources": sorted(vm.face_error.sources), "source": vm.face_error.source} for view, vm in model.views.items() if vm.face_error is not None}
    if measured:
        card["face_errors"] = measured
    card = json.loads(json.dumps(card))  # the card as it will be read back (floats and keys as JSON gives them)
    fingerprint = card["fingerprint"] = compute_fingerprint(arrays, model.views, calibration_of(card))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    with atomic_path(path) as temporary:
        temporary.write_bytes(buffer.getvalue())
    with atomic_path(path.with_suffix(".json")) as temporary:
        temporary.write_text(json.dumps(card, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return CraniofacialModel(model.views, model.tolerance, card, fingerprint, dict(model.view_factors))


def _tolerance_notes(card: Mapping[str, Any]) -> dict[str, Any]:
    """What the card says about how the tolerance was set (everything but its three numbers)."""
    notes = card.get("tolerance", {})
    fixed = ("rule", "global_level", "point_level", "factor", "view_factors", "free_modes", "lr_limit")
    return {k: v for k, v in notes.items() if k not in fixed} if isinstance(notes, Mapping) else {}


def load_model(path: str | Path, *, to_refit: bool = False) -> CraniofacialModel:
    """Read a model written by :func:`save_model`; :class:`ModelError` when it is missing or
    damaged, or when its tolerance was set for another exclusion rule (``to_refit``: read such a
    model too, for its correspondence models, whose fingerprint is checked as it was written)."""
    path = Path(path).with_suffix(".npz")
    card_file = path.with_suffix(".json")
    if not path.is_file() or not card_file.is_file():
        raise ModelError(f"The craniofacial model {path} (with its card {card_file.name}) is missing.")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        if card.get("task") != TASK or int(card.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(f"the card describes a {card.get('task')!r} model of format {card.get('format_version')}")
        views = with_detector_scales({view: _view_model(view, arrays, card) for view in card["views"]}, card)
        tol = card["tolerance"]
        current = tol.get("rule") == RULE
        if not current and not to_refit:
            raise ModelError(f"The craniofacial model {path} was calibrated for another exclusion rule ({tol.get('rule') or 'an older one'}); "
                             f"set its tolerance and fusion again with: crossid train-craniofacial --refit {path} --validation-data DIR ...")
        tolerance = Tolerance(float(tol["global_level"]), float(tol["point_level"]), float(tol["factor"]), _lr_limit(tol.get("lr_limit")))
        views = {view: replace(vm, free_modes=_free_modes(tol.get("free_modes"), view)) for view, vm in views.items()}
        view_factors = {str(view): float(v) for view, v in (tol.get("view_factors") or {}).items()}
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise ModelError(f"The craniofacial model {path} cannot be read ({error}).") from error
    fingerprint = compute_fingerprint(arrays, views, calibration_of(card) if current or "rule" in tol else None)
    if card.get("fingerprint") not in (None, fingerprint):
        raise ModelError(f"The craniofacial model {path} does not match its card (the arrays, the tolerance or the fusion rules were changed).")
    return CraniofacialModel(views, tolerance, card, fingerprint, view_factors)


def _lr_limit(stated: Any) -> float | None:
    """The card's likelihood-ratio bound (None where it states none); ValueError unless a number in (0, 1)."""
    if stated is None:
        return None
    if isinstance(stated, bool) or not isinstance(stated, (int, float)) or not 0.0 < float(stated) < 1.0:
        raise ValueError(f"the tolerance's lr_limit must be a number between 0 and 1, not {stated!r}")
    return float(stated)


#: the most patterns of variation a card may let free in one view
MAX_FREE_MODES = 8


def _free_modes(stated: Any, view: str) -> int:
    """A view's ``tolerance.free_modes`` from the card (0 where the card states none); ValueError
    for anything but a whole number from 0 to :data:`MAX_FREE_MODES`."""
    if stated is None:
        return 0
    if not isinstance(stated, Mapping):
        raise ValueError("the tolerance's free_modes is not a table of views")
    value = stated.get(view, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FREE_MODES:
        raise ValueError(f"the {view} view's free_modes must be a whole number from 0 to {MAX_FREE_MODES}, not {value!r}")
    return value


def with_detector_scales(views: Mapping[str, ViewModel], card: Mapping[str, Any]) -> dict[str, ViewModel]:
    """The view models with the X-ray detector's error scales the card states (``xray_detector_errors``,
    by X-ray view; none where it states none)."""
    stated = card.get("xray_detector_errors") or {}
    return {view: replace(vm, detector_scale=DetectorScale.from_dict(stated[vm.pair.skull_view]) if vm.pair.skull_view in stated else None)
            for view, vm in views.items()}


def _view_model(view: str, arrays: Mapping[str, np.ndarray], card: Mapping[str, Any]) -> ViewModel:
    pair = view_pair(view)
    values = {key: np.asarray(arrays[f"{view}/{key}"]) for key in _ARRAYS}
    m, k = len(pair.face_names), len(pair.skull_names)
    if values["skull_mean"].shape != (k, 2) or values["coef"].shape != (2 * m, 2 * k + 2) or values["residual_cov"].shape != (2 * m, 2 * m):
        raise ValueError(f"the {view} arrays do not fit the {view} landmark lists of this version")
    values["counterpart"] = values["counterpart"].astype(np.int64)
    stated = (card.get("face_errors") or {}).get(view)
    has_array = f"{view}/{FACE_ERROR_ARRAY}" in arrays
    if (stated is None) != (not has_array):
        raise ValueError(f"the {view} face error covariance and its card entry (face_errors) do not go together")
    face_error = None
    if stated is not None:
        cov = np.asarray(arrays[f"{view}/{FACE_ERROR_ARRAY}"], dtype=np.float64)
        if cov.shape != (2 * m, 2 * m):
            raise ValueError(f"the {view} face error covariance does not fit the {view} landmark lists of this version")
        face_error = FaceError(cov, frozenset(str(s) for s in stated["sources"]), str(stated.get("source", "")))
    return ViewModel(pair, **values, face_error=face_error)


def update_card(path: str | Path, **fields: Any) -> dict[str, Any]:
    """Set top-level fields of a saved model's card (metrics measured later, notes); the arrays,
    the calibration and so the fingerprint stay as they are. Returns the new card."""
    fixed = sorted(set(fields) & {"tolerance", "fusion", "fingerprint", "views", "task", "format_version", "face_models", "xray_detector_errors",
                                  "xray_models", "face_errors"})
    if fixed:
        raise ValueError(f"update_card does not change {', '.join(fixed)}: they make the model (refit it instead)")
    card_file = Path(path).with_suffix(".json")
    load_model(path)  # refuses a damaged or mismatched model before anything is written
    card = json.loads(card_file.read_text(encoding="utf-8"))
    card.update(fields)
    with atomic_path(card_file) as temporary:
        temporary.write_text(json.dumps(card, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return card
