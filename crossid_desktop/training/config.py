"""The settings of one training run: :class:`TrainConfig`, saved as ``config.json`` in the run
folder and in every model card, so a model can be retrained exactly.

Margin defaults, chosen for the networks' **L2-normalised** embeddings (Euclidean distances
in [0, 2], squared distances in [0, 4]; two random unit vectors of 128 dimensions lie at a
squared distance of about 2):

* triplet margin 0.4 (Euclidean): the injured-face publication's triplet baseline and the
  default of :class:`~crossid_desktop.matching.losses.TripletLoss`; the skull-to-face
  publication does not give its alpha. 0.4 is a fifth of the distance range, between
  FaceNet's 0.2 (on squared distances) and the 0.5 commonly used on plain ones.
* contrastive margin 1.0 (Euclidean): Hadsell's margin 2 is the diameter of the unit sphere,
  which only antipodal pairs reach, so the impostor term would never vanish.
* SCL ``m1 = 1.0``, ``m2 = 1.55`` (squared): the publication's 2 and 3.1 (for LightCNN's
  unnormalised features) halved, keeping their ratio. On the unit sphere 3.1 exceeds the
  largest mean squared distance many points can have (``2 n / (n - 1)``), so it would keep
  every impostor term active for ever; ``--m1 2 --m2 3.1`` restores the paper's values.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.backbones import backbone_spec

TASKS = ("skull2face", "injured")
LOSSES = ("triplet", "contrastive", "scl")
SPLITS = ("subject", "triplet")
SAMPLINGS = ("batch-all", "semi-hard", "triplets")
DLIB = "dlib"

DEFAULT_MARGINS: dict[str, float] = {"triplet": 0.4, "contrastive": 1.0}
DEFAULT_M1 = 1.0
DEFAULT_M2 = 1.55


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (paths as strings, so it round-trips through JSON).

    * ``task``: ``"skull2face"`` (X-ray queries, S2F folder) or ``"injured"`` (injured-face
      queries, IF folder). ``data``: the data set folder.
    * ``backbone``: a registry name (:data:`~crossid_desktop.matching.backbones.BACKBONES`), or
      ``"dlib"`` (injured task only: a small head trained on dlib's fixed 128-d descriptors).
      ``weights``: None (random), ``"imagenet"`` or a state-dict path. ``input_size``: square
      network input in pixels, None for the backbone's own.
    * ``freeze_gallery``: the skull-to-face face branch stays fixed (True, the publication) or
      trains too (False); None (the default) freezes it only when it starts from pretrained
      weights: a frozen *random* network maps every face to nearly the same point, which no
      training of the skull branch can repair. The injured task uses one shared, trainable
      branch for probes and gallery.
    * ``loss``: ``"triplet"``, ``"contrastive"`` or ``"scl"`` (injured task); ``margin`` for the
      first two (None: :data:`DEFAULT_MARGINS`), ``m1``/``m2`` for SCL (squared distances).
    * ``sampling`` (skull-to-face): ``"batch-all"`` (each step takes ``subjects_per_batch``
      people and every published triplet among them), ``"semi-hard"`` (the same people, one
      mined negative per anchor-positive pair) or ``"triplets"`` (the published triplet list in
      shuffled batches of ``batch_size``; forced by ``split="triplet"``).
      ``max_steps_per_epoch`` caps the steps of an epoch (None: a full pass).
      ``average_active``: the triplet loss of a batch-all step is the mean over its *active*
      triplets (loss > 0, pytorch-metric-learning's ``AvgNonZeroReducer``) rather than over
      all of them; the mean over all is diluted by the many easy triplets of a batch of many
      people and lets a network trained from scratch settle at the margin (every embedding
      alike).
    * ``split``: ``"subject"`` (people disjoint, the default) or ``"triplet"`` (the
      publication's 70:30 split of triplets; people appear on both sides).
    * ``amp``: mixed precision on CUDA (ignored elsewhere). ``patience``: stop after this many
      epochs without a better validation result (None: never).
    """

    task: str
    data: str
    backbone: str = "resnet18_112"
    weights: str | None = None
    input_size: int | None = None
    embedding_dim: int = 128
    freeze_gallery: bool | None = None
    loss: str = "triplet"
    margin: float | None = None
    m1: float = DEFAULT_M1
    m2: float = DEFAULT_M2
    sampling: str = "batch-all"
    subjects_per_batch: int = 16
    batch_size: int = 32
    max_steps_per_epoch: int | None = None
    lr: float = 1e-4
    weight_decay: float = 0.0
    epochs: int = 15
    augment: bool = True
    split: str = "subject"
    val_fraction: float = 0.3
    seed: int = 0
    device: str | None = None
    amp: bool = True
    patience: int | None = 5
    soft_tissue_strength: float = 0.7
    impostors_per_genuine: int = 1
    average_active: bool = True

    def __post_init__(self) -> None:
        def bad(message: str) -> None:
            raise ModelError(f"Training settings: {message}")

        if self.task not in TASKS:
            bad(f"unknown task {self.task!r}; choose {' or '.join(TASKS)}.")
        if self.loss not in LOSSES:
            bad(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}.")
        if self.split not in SPLITS:
            bad(f"unknown split {self.split!r}; choose {' or '.join(SPLITS)}.")
        if self.sampling not in SAMPLINGS:
            bad(f"unknown sampling {self.sampling!r}; choose one of {', '.join(SAMPLINGS)}.")
        if self.task == "skull2face" and self.loss == "scl":
            bad("the subclass contrastive loss needs injured and non-injured photos (task 'injured').")
        if self.task == "skull2face" and self.backbone == DLIB:
            bad("dlib's face descriptor cannot embed X-rays; choose a network backbone for task 'skull2face'.")
        if self.backbone != DLIB:
            spec = backbone_spec(self.backbone)
            if self.input_size is not None and not spec.min_input_size <= self.input_size:
                bad(f"the backbone {self.backbone!r} needs an input of at least {spec.min_input_size} px, not {self.input_size}.")
        if self.task == "injured" and self.split == "triplet":
            bad("the triplet-level split is the skull-to-face protocol; the injured task splits by subject.")
        if self.task == "skull2face" and self.split == "triplet" and self.sampling != "triplets":
            bad("the triplet-level split trains on its list of triplets; use sampling 'triplets'.")
        for name in ("embedding_dim", "subjects_per_batch", "batch_size", "epochs"):
            if int(getattr(self, name)) < 1:
                bad(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.subjects_per_batch < 2:
            bad("a batch needs at least 2 subjects (one has no negatives).")
        if not self.lr > 0:
            bad(f"the learning rate must be positive, got {self.lr}.")
        if not 0.0 < self.val_fraction < 1.0:
            bad(f"the validation fraction must lie between 0 and 1, got {self.val_fraction}.")
        if self.margin is not None and self.margin <= 0:
            bad(f"the margin must be positive, got {self.margin}.")
        if self.m1 <= 0 or self.m2 <= 0:
            bad(f"the SCL margins must be positive, got m1={self.m1}, m2={self.m2}.")
        if self.patience is not None and self.patience < 1:
            bad(f"patience must be at least 1 epoch, got {self.patience}.")

    @property
    def effective_margin(self) -> float:
        """The triplet or contrastive margin in use."""
        return float(self.margin) if self.margin is not None else DEFAULT_MARGINS.get(self.loss, DEFAULT_MARGINS["triplet"])

    @property
    def gallery_frozen(self) -> bool:
        """Whether the skull-to-face face branch stays fixed (see ``freeze_gallery``)."""
        if self.task != "skull2face":
            return False
        if self.freeze_gallery is None:
            return self.weights not in (None, "none")
        return bool(self.freeze_gallery)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"Training settings: unknown entries {', '.join(unknown)}.")
        return cls(**dict(data))

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        try:
            return cls.from_dict(json.loads(text))
        except (json.JSONDecodeError, TypeError) as error:
            raise ModelError(f"Training settings cannot be read ({error}).") from error

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"The run folder {path.parent} holds no config.json.")
        return cls.from_json(path.read_text(encoding="utf-8"))

    def with_changes(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)
