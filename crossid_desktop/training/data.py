"""The data of a training run: the data set read and split (subject-disjoint, or the
publication's triplet-level split), its images prepared into in-memory banks, and a description
for the model card."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossid_desktop.datasets.injured_faces import read_injured_faces
from crossid_desktop.datasets.sampling import InjuredFaceCatalogue, SkullFaceCatalogue, all_triplets, split_subjects, split_triplets
from crossid_desktop.datasets.skull_faces import read_skull_faces
from crossid_desktop.errors import DatasetError
from crossid_desktop.imaging.xray import SoftTissueParams
from crossid_desktop.matching.backbones import backbone_spec
from crossid_desktop.progress import ProgressCallback
from crossid_desktop.training.config import DLIB, TrainConfig


@dataclass(eq=False)
class TrainingData:
    train: Any  # training.loops.Side
    val: Any
    fixed_train: tuple[Any, ...] | None
    fixed_val: tuple[Any, ...] | None
    description: dict[str, Any]


def input_size(config: TrainConfig) -> int:
    return config.input_size or backbone_spec(config.backbone).input_size


def provenance(root: Path) -> dict[str, Any] | None:
    """The synthetic cohort's ``params.json`` summary (in the data folder or its parent)."""
    for candidate in (root / "params.json", root.parent / "params.json"):
        if candidate.is_file():
            try:
                params = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                return {"params_json": str(candidate), "readable": False}
            keep = {k: v for k, v in params.items() if not isinstance(v, (list, dict))} if isinstance(params, dict) else {}
            if isinstance(params, dict) and isinstance(params.get("config"), dict):
                keep["config"] = params["config"]
            return {"params_json": str(candidate), **keep}
    return None


def prepare_data(config: TrainConfig, progress: ProgressCallback | None, cancel: threading.Event | None) -> TrainingData:
    from crossid_desktop.training.loops import load_bank, load_descriptors, make_side  # loads torch: only when a model is used

    root = Path(config.data)
    dataset = read_skull_faces(root) if config.task == "skull2face" else read_injured_faces(root)
    if len(dataset.subjects) < 4:
        raise DatasetError(f"The data set {root} holds {len(dataset.subjects)} usable subjects; training needs at least 4.")
    size = input_size(config) if config.backbone != DLIB else 0
    soft = SoftTissueParams(config.soft_tissue_strength).to_dict()

    def banks(catalogue: Any, label: str) -> tuple[Any, Any]:
        if config.task == "skull2face":
            q = load_bank(catalogue.xrays, kind="xray", input_size=size, soft_tissue=soft, progress=progress, cancel=cancel, what=f"Preparing {label} X-rays")
            g = load_bank(catalogue.faces, kind="face", input_size=size, progress=progress, cancel=cancel, what=f"Aligning {label} faces")
        elif config.backbone == DLIB:
            q = load_descriptors(catalogue.injured, progress=progress, cancel=cancel, what=f"Describing {label} injured faces")
            g = load_descriptors(catalogue.normal, progress=progress, cancel=cancel, what=f"Describing {label} faces")
        else:
            q = load_bank(catalogue.injured, kind="face", input_size=size, progress=progress, cancel=cancel, what=f"Aligning {label} injured faces")
            g = load_bank(catalogue.normal, kind="face", input_size=size, progress=progress, cancel=cancel, what=f"Aligning {label} faces")
        return q, g

    fixed_train = fixed_val = None
    if config.split == "triplet":
        catalogue = SkullFaceCatalogue.from_dataset(dataset)  # type: ignore[arg-type]
        train_t, val_t = split_triplets(all_triplets(catalogue), val_fraction=config.val_fraction, seed=config.seed)
        fixed_train, fixed_val = (train_t.anchor, train_t.positive, train_t.negative), (val_t.anchor, val_t.positive, val_t.negative)
        train_side = val_side = make_side(catalogue, *banks(catalogue, "all"))
        train_ids = val_ids = list(catalogue.subject_ids)
    else:
        train_ids, val_ids = split_subjects(dataset, val_fraction=config.val_fraction, seed=config.seed)
        make = SkullFaceCatalogue.from_dataset if config.task == "skull2face" else InjuredFaceCatalogue.from_dataset
        train_cat, val_cat = make(dataset, subjects=train_ids), make(dataset, subjects=val_ids)  # type: ignore[operator]
        train_side = make_side(train_cat, *banks(train_cat, "training"))
        val_side = make_side(val_cat, *banks(val_cat, "validation"))
    description = {
        "path": str(root.resolve()),
        "layout": "s2f" if config.task == "skull2face" else "if",
        "n_subjects": len(dataset.subjects),
        "split": config.split,
        "n_train_subjects": len(train_ids),
        "n_val_subjects": len(val_ids),
        "val_subjects": list(val_ids) if config.split == "subject" else "all (triplet-level split: identities shared)",
        "n_train_queries": int(train_side.query.shape[0]),
        "n_val_queries": int(val_side.query.shape[0]),
        "synthetic_cohort": provenance(root),
    }
    return TrainingData(train_side, val_side, fixed_train, fixed_val, description)
