"""The model card: a JSON description that travels beside every checkpoint.

The card says what a model is for (task), how it is built (backbone, embedding size, network
configuration), how its inputs must be prepared (preprocessing), what it was trained on, how
well it did (metrics), and how its scores map to likelihood ratios (calibration). Reports
name the model by its card and fingerprint.

Only the fields in :data:`EMBEDDING_FIELDS` (with the weights) define the *embedding space*
and enter the fingerprint; metrics, calibration, training notes, name and provenance can
change without invalidating gallery embeddings computed with the model.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, Mapping

import crossid_desktop
from crossid_desktop.about import package_version
from crossid_desktop.errors import ModelError

#: version of the card and checkpoint format this code writes and reads
FORMAT_VERSION = 1

TASKS = ("skull2face", "injured")

#: card fields that change what an embedding means (they enter the fingerprint)
EMBEDDING_FIELDS = ("task", "backbone", "embedding_dim", "network", "preprocessing")


def software_versions() -> dict[str, str]:
    """Versions of the software that produced a model (torch, torchvision and dlib when
    installed), from package metadata: naming them loads none of them."""

    versions = {"crossid_desktop": crossid_desktop.__version__, "python": platform.python_version()}
    for name in ("torch", "torchvision", "dlib"):
        found = package_version(name)
        if found is not None:
            versions[name] = found
    return versions


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class ModelCard:
    """Description of a trained model. ``preprocessing`` holds ``{"query": {...}, "gallery": {...}}``
    (see :func:`preprocessing_recipe`); ``calibration`` is the score-to-likelihood-ratio model or
    None; ``weights_sha256`` is written by the checkpoint code to detect swapped weight files."""

    name: str
    task: str
    backbone: str
    embedding_dim: int
    network: dict[str, Any]
    preprocessing: dict[str, Any]
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None
    software: dict[str, str] = field(default_factory=software_versions)
    created: str = field(default_factory=_now)
    format_version: int = FORMAT_VERSION
    weights_sha256: str = ""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ModelError(f"The model card of {self.name!r} names an unknown task {self.task!r}; expected one of {', '.join(TASKS)}.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCard:
        """Build a card from its dict; :class:`ModelError` when fields are missing or unknown."""
        if not isinstance(data, Mapping):
            raise ModelError("The model card is not a JSON object.")
        names = {f.name for f in fields(cls)}
        required = {"name", "task", "backbone", "embedding_dim", "network", "preprocessing"}
        missing = sorted(required - set(data))
        if missing:
            raise ModelError(f"The model card lacks the fields {', '.join(missing)}.")
        version = data.get("format_version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ModelError(f"The model card has format version {version!r}; this version of CrossID Desktop reads up to {FORMAT_VERSION}.")
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ModelError(f"The model card is not valid JSON ({error.msg} at line {error.lineno}).") from error
        return cls.from_dict(data)

    def embedding_space(self) -> dict[str, Any]:
        """The fields that define the embedding space (:data:`EMBEDDING_FIELDS`)."""
        data = self.to_dict()
        return {k: data[k] for k in EMBEDDING_FIELDS}


def preprocessing_recipe(
    task: str,
    *,
    input_size: int,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    soft_tissue: Mapping[str, Any] | None = None,
    aligned_size: int = 256,
) -> dict[str, Any]:
    """The card's ``preprocessing`` entry for a task.

    skull2face queries: soft-tissue suppression of the grey X-ray (``soft_tissue`` = the
    parameters of ``SoftTissueParams``), letterboxed to a square, resized to ``input_size``,
    grey repeated to 3 channels, normalised with ``mean``/``std``. injured queries: aligned to
    the canonical face crop (``aligned_size``), then like gallery faces. Gallery faces: the
    canonical aligned crop, resized to ``input_size``, normalised.
    """
    if task not in TASKS:
        raise ModelError(f"Unknown task {task!r}; expected one of {', '.join(TASKS)}.")
    norm = {"input_size": int(input_size), "mean": [float(m) for m in mean], "std": [float(s) for s in std], "fit": "letterbox"}
    gallery = {"face_alignment": "canonical-5-point", "aligned_size": int(aligned_size), **norm}
    if task == "skull2face":
        query = {"modalities": ["xray_front", "xray_side"], "soft_tissue": dict(soft_tissue or {}), "channels": "grey-repeated", **norm}
    else:
        query = {"modalities": ["injured_face"], "face_alignment": "canonical-5-point", "aligned_size": int(aligned_size), **norm}
    return {"query": query, "gallery": gallery}
