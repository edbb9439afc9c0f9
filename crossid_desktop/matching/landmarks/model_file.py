"""The landmark model on disk: a tensors-only ``.pt`` and its JSON model card beside it.

``NAME.pt`` holds both networks' weights (keys ``global.*`` and ``local.*``), read with
``weights_only=True``; ``NAME.json`` holds the :class:`LandmarkModelCard`: what the model
finds (view, landmark names and labels), how it looks (frames, network shapes), how its
outputs are read (uncertainty scale, confidence thresholds, mean shape), what it was trained
on and how well it does. The card carries the SHA-256 of the weights so that a swapped file is
refused. Weights may be stored as float16 (half the size) and load as float32.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.checkpoint import weights_sha256
from crossid_desktop.matching.model_card import _now, software_versions
from crossid_desktop.paths import atomic_path

if TYPE_CHECKING:
    import torch

FORMAT = "crossid-xray-landmarks-1"
VIEWS = ("xray-front", "xray-side")


@dataclass(frozen=True)
class LandmarkModelCard:
    """Description of a landmark model (see the module docstring).

    Attributes:
        name: model name. view: ``xray-front`` or ``xray-side``.
        landmarks: the output channels' landmark names, in order; labels: ``{name: "l1", ...}``
            for the cephalometric points.
        frames: :class:`~crossid_desktop.matching.landmarks.frames.Frames` as a dict.
        global_net, local_net: the two networks' ``HeatmapNetConfig`` as dicts.
        sigma_global, sigma_local: target spread in output bins the networks were trained on.
        sd_scale: factor from heatmap spread to the reported standard deviation (fitted on tuning images).
        anchor_sd: the global stage's error per axis, in global-canvas pixels: the local heatmap is
            read weighted by a Gaussian of this sd around the global stage's point (0, the
            default of cards written before it: read unweighted).
        shape_anchor: after the shape prior's check, each bony point it covers is read again from
            its local heatmap weighted also by a Gaussian around where the prior puts it given
            the others, of the prior's spread times this factor (0, the default: not read again).
        mirror_average: (a frontal model) each point is the mean of the model's reading of the image
            and of its reading of the image mirrored left to right (its left and right points
            exchanged), where both readings found it (False, the default of cards written before
            it: one reading).
        shape_mean: ``(K, 2)`` mean shape (null where unknown); shape_threshold: residual flagged as implausible.
        shape_prior: a :class:`~.shape_prior.ShapePrior` as a dict (empty: points are not checked
            against the shape of the others).
        thresholds: ``presence`` (below: missing), ``peak_mass`` (below: low confidence),
            ``image_score`` (below: the image as a whole is flagged).
        training: data, split and exact command. metrics: measured figures with their data.
    """

    name: str
    view: str
    landmarks: tuple[str, ...]
    labels: dict[str, str]
    frames: dict[str, Any]
    global_net: dict[str, Any]
    local_net: dict[str, Any]
    sigma_global: float
    sigma_local: float
    sd_scale: float = 1.0
    anchor_sd: float = 0.0
    shape_anchor: float = 0.0
    mirror_average: bool = False
    shape_mean: list[list[float | None]] = field(default_factory=list)
    shape_threshold: float = float("inf")
    shape_prior: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=lambda: {"presence": 0.5, "peak_mass": 0.0, "image_score": 0.0})
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    software: dict[str, str] = field(default_factory=software_versions)
    created: str = field(default_factory=_now)
    format: str = FORMAT
    weights_sha256: str = ""

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ModelError(f"The landmark model card names an unknown view {self.view!r}; expected one of {', '.join(VIEWS)}.")

    def to_json(self) -> str:
        data = asdict(self)
        data["landmarks"] = list(self.landmarks)
        return json.dumps(data, indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LandmarkModelCard:
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ModelError(f"The model card is not a landmark model card of format {FORMAT}.")
        names = {f.name for f in fields(cls)}
        try:
            values = {k: v for k, v in data.items() if k in names}
            values["landmarks"] = tuple(values["landmarks"])
            return cls(**values)
        except (KeyError, TypeError) as error:
            raise ModelError(f"The landmark model card is incomplete ({error}).") from error


def card_path(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")


def save_landmark_model(path: str | Path, state: Mapping[str, torch.Tensor], card: LandmarkModelCard, *, half: bool = False) -> LandmarkModelCard:
    """Write the weights and the card (with the weights' SHA-256 filled in) atomically; return that card."""
    import torch

    stored = {k: (v.detach().cpu().contiguous().clone().half() if half and v.is_floating_point() else v.detach().cpu().contiguous().clone()) for k, v in state.items()}
    card = dataclasses.replace(card, weights_sha256=weights_sha256(_as_float32(stored)))
    with atomic_path(path) as temporary:
        torch.save(stored, temporary)
    with atomic_path(card_path(path)) as temporary:
        temporary.write_text(card.to_json(), encoding="utf-8")
    return card


def read_landmark_model(path: str | Path) -> tuple[dict[str, torch.Tensor], LandmarkModelCard]:
    """The float32 weights and the card; :class:`ModelError` for a missing, corrupt or swapped file."""
    import torch

    path = Path(path)
    if not path.is_file() or not card_path(path).is_file():
        raise ModelError(f"The landmark model {path} or its card {card_path(path).name} is missing.")
    try:
        card = LandmarkModelCard.from_dict(json.loads(card_path(path).read_text(encoding="utf-8")))
    except json.JSONDecodeError as error:
        raise ModelError(f"The model card {card_path(path)} is not valid JSON.") from error
    try:
        raw: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ModelError(f"The landmark model {path} cannot be read ({type(error).__name__}); it is corrupt or not a PyTorch file.") from error
    if not isinstance(raw, Mapping) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise ModelError(f"The landmark model {path} does not hold a table of weights.")
    state = _as_float32(raw)
    if card.weights_sha256 and weights_sha256(state) != card.weights_sha256:
        raise ModelError(f"The weights in {path} are not the ones its model card describes.")
    return state, card


def _as_float32(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    import torch

    return {k: (v.float() if v.dtype in (torch.float16, torch.bfloat16) else v) for k, v in state.items()}
