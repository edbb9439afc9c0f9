"""Landmarks of one query image: the plain-Python service behind ``crossid landmarks`` and the GUI.

:func:`find_landmarks` takes a loaded image and its view and returns a :class:`LandmarkResult`
in the image's own pixel coordinates, with a standard deviation per point, the points that
were not found marked missing (never clipped to the border), and every doubt as a sentence in
``warnings``. Skull X-rays use the bundled models ``resources/models/xray_landmarks_front.pt``
and ``xray_landmarks_side.pt`` (loaded once and kept); face photos use
:func:`~crossid_desktop.matching.landmarks.face_front.detect_face_front` (the 68 iBUG points
and the soft-tissue points of the frontal scheme) and
:func:`~crossid_desktop.matching.landmarks.face_side.detect_face_side` (the profile contour and the
profile model ``resources/models/face_landmarks_side.dat``),
which give no per-point uncertainty (``sd`` and ``confidence`` None). A blank image is refused
with :class:`~crossid_desktop.errors.UnsuitableImageError`; a photo without a face with
:class:`~crossid_desktop.errors.NoFaceFoundError`; an X-ray that does not look like a skull of
that view comes back with ``refused`` set and a warning saying so.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from crossid_desktop.anatomy.landmarks import landmarks_of
from crossid_desktop.errors import ModelError, UnsuitableImageError
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.matching.landmarks.face_front import detect_face_front
from crossid_desktop.matching.landmarks.face_side import detect_face_side
from crossid_desktop.paths import resource_path

if TYPE_CHECKING:
    from crossid_desktop.matching.landmarks.detector import Detection, XrayLandmarkDetector

VIEWS = ("xray-front", "xray-side", "face-front", "face-side")
XRAY_VIEWS = ("xray-front", "xray-side")
#: an image whose 1st-99th percentile range is below this (of full scale) is blank
BLANK_RANGE = 2.0 / 255.0


@dataclass(frozen=True)
class Landmark:
    """One point: ``x``, ``y`` and ``sd`` (per-axis standard deviation) in the image's pixels,
    all None when the point is missing. ``corrected``: placed by the examiner, not the model.
    ``from_shape``: the detector placed it from the shape of the other points, because where its
    networks put it did not fit them (always also ``low_confidence``). ``left_out``: found, but
    reported missing because it kept the others from a skull's arrangement (the warnings say
    where the others put it)."""

    name: str
    label: str | None
    x: float | None
    y: float | None
    sd: float | None
    confidence: float | None
    low_confidence: bool = False
    corrected: bool = False
    from_shape: bool = False
    left_out: bool = False

    @property
    def missing(self) -> bool:
        return self.x is None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "x": _round(self.x), "y": _round(self.y), "sd": _round(self.sd),
                "missing": self.missing, "confidence": _round(self.confidence, 3), "low_confidence": self.low_confidence,
                "corrected": self.corrected, "from_shape": self.from_shape, "left_out": self.left_out}


@dataclass(frozen=True)
class LandmarkResult:
    """The landmarks of one image and what is known about how far to trust them.

    Attributes:
        image: the file (None for pixels given directly); sha256: of the file's bytes.
        view: one of :data:`VIEWS`. landmarks: in the model's order.
        warnings: sentences for the examiner. refused: the image does not look like this view
            (the points are shown only so that the examiner sees why).
        model: name and weights SHA-256 of the model. mirrored: a lateral X-ray facing left.
        image_score: the detector's score of the image in [0, 1].
    """

    image: str | None
    sha256: str
    view: str
    landmarks: tuple[Landmark, ...]
    warnings: tuple[str, ...] = ()
    refused: bool = False
    model: dict[str, str] = field(default_factory=dict)
    mirrored: bool = False
    image_score: float | None = None

    @property
    def low_confidence(self) -> bool:
        return self.refused or any(p.low_confidence for p in self.landmarks)

    def point(self, name: str) -> Landmark:
        for landmark in self.landmarks:
            if landmark.name == name:
                return landmark
        raise KeyError(name)

    def with_correction(self, name: str, x: float | None, y: float | None, detected: LandmarkResult | None = None) -> LandmarkResult:
        """A copy with ``name`` moved to (x, y) by the examiner; ``x = None`` resets it to the
        point in ``detected`` (the model's original result)."""
        self.point(name)
        if x is None or y is None:
            if detected is None:
                raise ValueError("Resetting a landmark needs the detected result.")
            new = detected.point(name)
        else:
            new = replace(self.point(name), x=float(x), y=float(y), sd=0.0, confidence=1.0, low_confidence=False, corrected=True, from_shape=False, left_out=False)
        return replace(self, landmarks=tuple(new if p.name == name else p for p in self.landmarks))

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form: ``{"image", "sha256", "view", "landmarks": [...], ...}``."""
        return {"image": self.image, "sha256": self.sha256, "view": self.view, "landmarks": [p.to_dict() for p in self.landmarks],
                "low_confidence": self.low_confidence, "refused": self.refused, "warnings": list(self.warnings),
                "mirrored": self.mirrored, "image_score": _round(self.image_score, 3), "model": dict(self.model)}


def bundled_model(view: str) -> Path:
    """The bundled landmark model of an X-ray view."""
    return resource_path("models", f"xray_landmarks_{view.removeprefix('xray-')}.pt")


_LOCK = threading.Lock()
_DETECTORS: dict[Path, XrayLandmarkDetector] = {}


def xray_detector(view: str, model: Path | None = None) -> XrayLandmarkDetector:
    """The detector of an X-ray view, loaded once per model file."""
    from crossid_desktop.matching.landmarks.detector import XrayLandmarkDetector  # imports torch: only when a model is needed

    path = Path(model) if model is not None else bundled_model(view)
    with _LOCK:
        if path not in _DETECTORS:
            if not path.is_file():
                raise ModelError(f"The landmark model for {view} X-rays is not installed ({path.name} is missing).")
            detector = XrayLandmarkDetector.load(path)
            if detector.card.view != view:
                raise ModelError(f"The landmark model {path.name} is for {detector.card.view} X-rays, not {view}.")
            _DETECTORS[path] = detector
        return _DETECTORS[path]


def find_landmarks(image: LoadedImage, view: str, *, model: Path | None = None) -> LandmarkResult:
    """The landmarks of ``image`` seen in ``view`` (module docstring).

    Raises:
        ValueError: an unknown view.
        UnsuitableImageError: a blank image.
        ModelError: no model for the view.
        NoFaceFoundError: a face view of a photo in which no face is found.
    """
    if view not in VIEWS:
        raise ValueError(f"Unknown view {view!r}; expected one of {', '.join(VIEWS)}.")
    grey = image.grey_float()
    low, high = np.percentile(grey[:: max(1, grey.shape[0] // 512), :: max(1, grey.shape[1] // 512)], [1, 99])
    if high - low < BLANK_RANGE:
        name = f" {image.path.name}" if image.path is not None else ""
        raise UnsuitableImageError(f"The image{name} is blank (a single grey level); it shows no landmarks.")
    if view not in XRAY_VIEWS:
        return _face_result(image, view)
    import torch  # loaded only when landmarks are asked for

    detector = xray_detector(view, model)
    with torch.inference_mode():
        detection = detector.detect(grey)
    return _result(image, view, detection, detector)


def _result(image: LoadedImage, view: str, detection: Detection, detector: XrayLandmarkDetector) -> LandmarkResult:
    points = tuple(Landmark(p.name, p.label, p.x, p.y, p.sd, p.confidence, p.low_confidence, from_shape=p.from_shape, left_out=p.left_out)
                   for p in detection.points)
    refused = detection.image_score < detector.card.thresholds["image_score"]
    return LandmarkResult(
        image=str(image.path) if image.path is not None else None, sha256=image.sha256, view=view, landmarks=points,
        warnings=detection.warnings, refused=refused, model={"name": detector.card.name, "weights_sha256": detector.card.weights_sha256},
        mirrored=detection.mirrored, image_score=detection.image_score,
    )


def _face_result(image: LoadedImage, view: str) -> LandmarkResult:
    """Landmarks of a face photo by the face modules (no uncertainty per point)."""
    found = detect_face_front(image.rgb_uint8()) if view == "face-front" else detect_face_side(image.rgb_uint8())
    labels = {mark.name: mark.label for mark in landmarks_of(view)}
    points = tuple(
        Landmark(name, labels.get(name), None if np.isnan(x) else float(x), None if np.isnan(y) else float(y), None, None)
        for name, (x, y) in zip(found.names, found.xy)
    )
    return LandmarkResult(image=str(image.path) if image.path is not None else None, sha256=image.sha256, view=view, landmarks=points,
                          warnings=found.warnings, model={"name": found.detector}, mirrored=found.mirrored)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)
