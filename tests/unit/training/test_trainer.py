"""Training runs on a tiny synthetic cohort: outputs, loadable checkpoints, determinism, resume,
the dlib-head path, and preprocessing identical to the matchers' at search time."""

from __future__ import annotations

import csv
import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from crossid_desktop.imaging.canonical import ALIGNED_SIZE
from crossid_desktop.imaging.io import load_image
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.training.config import TrainConfig
from crossid_desktop.training.run_log import LOG_COLUMNS
from crossid_desktop.training.trainer import resume, train

SIZE = 64  # network input (px): the compact backbone's own, cheap on a busy CPU


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    """One torch thread: far faster than two on a shared, loaded CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from crossid_desktop.synth.cohort import CohortConfig, generate_cohort

    out = tmp_path_factory.mktemp("cohort")
    generate_cohort(out, CohortConfig(n_subjects=8, seed=3, image_size=64, extra_gallery_photos=0, injured_per_subject=2))
    return out


def config(cohort: Path, **changes: object) -> TrainConfig:
    base = dict(task="skull2face", data=str(cohort / "s2f"), backbone="compact64", input_size=SIZE, embedding_dim=16,
                subjects_per_batch=2, lr=3e-3, epochs=3, augment=False, seed=7, device="cpu", patience=None)
    base.update(changes)
    return TrainConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def run_a(cohort: Path, tmp_path_factory: pytest.TempPathFactory):
    torch.set_num_threads(1)
    seen = []
    result = train(config(cohort), tmp_path_factory.mktemp("run") / "a", command=["test"], progress=lambda d, t, m="": seen.append((d, t, m)))
    return result, seen


def read_log(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "log.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_run_folder_holds_config_log_checkpoints_and_curves(run_a, cohort: Path) -> None:
    result, seen = run_a
    run_dir = result.run_dir
    assert TrainConfig.load(run_dir / "config.json") == config(cohort)
    rows = read_log(run_dir)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert tuple(rows[0]) == LOG_COLUMNS
    for name in ("best.pt", "best.json", "last.pt", "last.json", "last_state.pt", "curves.png"):
        assert (run_dir / name).is_file(), name
    card = json.loads((run_dir / "best.json").read_text())
    assert card["task"] == "skull2face" and card["backbone"] == "compact64"
    assert card["training"]["config"]["seed"] == 7
    assert card["training"]["data"]["n_subjects"] == 8
    assert card["training"]["data"]["synthetic_cohort"]["seed"] == 3
    assert card["training"]["data"]["n_val_subjects"] == 2  # round(0.3 * 8) people held out
    assert set(card["metrics"]["validation"]) >= {"val_recall_at_1", "val_triplet_accuracy"}
    assert card["preprocessing"]["query"]["input_size"] == SIZE
    assert "torch" in card["software"]
    # progress: monotone steps ending at the total, messages carrying the loss
    steps = [d for d, t, m in seen if m.startswith("epoch")]
    assert steps == sorted(steps) and steps[-1] == seen[-1][1]
    assert any("loss" in m for _, _, m in seen) and any("R@1" in m for _, _, m in seen)


def test_training_lowers_the_loss_on_training_triplets(run_a, cohort: Path) -> None:
    """The mean triplet hinge over every training triplet, computed with a plain loop on the
    saved model's embeddings, is below that of the same network before training."""
    from crossid_desktop.datasets.skull_faces import read_skull_faces
    from crossid_desktop.matching.checkpoint import fingerprint, load_checkpoint
    from crossid_desktop.matching.matchers import TorchMatcher
    from crossid_desktop.matching.networks import CrossDomainNet

    result, _ = run_a
    trained, card = load_checkpoint(result.run_dir / "last.pt")
    torch.manual_seed(7)
    initial = CrossDomainNet("compact64", embedding_dim=16, freeze_gallery=False)
    val_ids = set(card.training["data"]["val_subjects"])
    subjects = [s for s in read_skull_faces(cohort / "s2f").subjects if s.subject_id not in val_ids]
    xrays = [(s.subject_id, load_image(p)) for s in subjects for p in (s.xray_front, s.xray_side)]
    faces = [(s.subject_id, load_image(s.faces[v][0])) for s in subjects for v in ("front", "side")]

    def mean_hinge(model: CrossDomainNet) -> float:
        matcher = TorchMatcher(model, card, fingerprint=fingerprint(model.state_dict(), card), device="cpu")
        q = np.concatenate([matcher.encode_query([im], QueryModality.XRAY_FRONT) for _, im in xrays])
        from crossid_desktop.matching.preprocess import prepare_face

        g = matcher.encode_gallery([prepare_face(im, ALIGNED_SIZE) for _, im in faces])
        total, count = 0.0, 0
        for i, (qs, _) in enumerate(xrays):
            for j, (ps, _) in enumerate(faces):
                for k, (ns, _) in enumerate(faces):
                    if ps == qs and ns != qs:
                        total += max(0.0, np.linalg.norm(q[i] - g[j]) - np.linalg.norm(q[i] - g[k]) + 0.4)
                        count += 1
        assert count == 8 * 6 * 5
        return total / count

    # the untrained network sits at the collapsed start (every hinge = margin 0.4); training leaves it
    assert mean_hinge(trained) < mean_hinge(initial) - 0.05


def test_checkpoint_loads_and_embeds_like_the_in_memory_model(run_a) -> None:
    from crossid_desktop.matching.matchers import TorchMatcher

    result, _ = run_a
    matcher = TorchMatcher.from_checkpoint(result.run_dir / "last.pt", device="cpu")
    batch = torch.rand(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected_q = result.model.embed_query(batch).numpy()
        expected_g = result.model.embed_gallery(batch).numpy()
    np.testing.assert_allclose(matcher.embed_batch(batch.numpy(), branch="query"), expected_q, atol=1e-5)
    np.testing.assert_allclose(matcher.embed_batch(batch.numpy(), branch="gallery"), expected_g, atol=1e-5)
    assert TorchMatcher.from_checkpoint(result.best_checkpoint, device="cpu").embedding_dim == 16


def test_same_seed_same_losses_and_resume_continues_exactly(run_a, cohort: Path, tmp_path: Path) -> None:
    """A run stopped after epoch 1 and resumed for epoch 2 logs exactly the losses of the
    uninterrupted run: the same seed gives the same numbers, and resume loses nothing."""
    result, _ = run_a
    first = train(config(cohort, epochs=1), tmp_path / "b", command=["test"])
    assert [r.epoch for r in first.history] == [1]
    resumed = resume(tmp_path / "b", epochs=2, command=["test"])
    assert [r.epoch for r in resumed.history] == [1, 2]
    for mine, theirs in zip(resumed.history, result.history):
        assert mine.train_loss == theirs.train_loss
        assert mine.val_loss == theirs.val_loss
        assert mine.val_recall_at_1 == theirs.val_recall_at_1
    assert [int(r["epoch"]) for r in read_log(tmp_path / "b")] == [1, 2]


def test_bank_equals_search_time_preprocessing(cohort: Path) -> None:
    """The cached training input of an X-ray is what the matcher feeds the network at search."""
    from crossid_desktop.datasets.sampling import ImageRef
    from crossid_desktop.imaging.xray import SoftTissueParams
    from crossid_desktop.matching.backbones import IMAGENET_MEAN, IMAGENET_STD
    from crossid_desktop.matching.preprocess import InputRecipe, prepare_xray, to_network_batch
    from crossid_desktop.training.loops import load_bank

    path = cohort / "s2f" / "S0001" / "xray_side.png"
    soft = SoftTissueParams(0.7).to_dict()
    bank = load_bank([ImageRef(path, 0, "side")], kind="xray", input_size=SIZE, soft_tissue=soft)
    mean, std = torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1), torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1)
    expected = to_network_batch([prepare_xray(load_image(path), soft)], InputRecipe(SIZE, IMAGENET_MEAN, IMAGENET_STD))
    np.testing.assert_allclose(((bank - mean) / std).numpy(), expected, atol=1e-6)


def test_triplet_split_and_semi_hard_runs(cohort: Path, tmp_path: Path) -> None:
    run = train(config(cohort, split="triplet", sampling="triplets", batch_size=64, max_steps_per_epoch=2, epochs=1), tmp_path / "t")
    card = json.loads((run.run_dir / "best.json").read_text())
    assert card["training"]["data"]["n_val_subjects"] == 8  # everyone is on both sides
    semi = train(config(cohort, sampling="semi-hard", epochs=1, augment=True), tmp_path / "s")
    assert np.isfinite(semi.history[0].train_loss)


def test_refuses_an_existing_run_and_bad_settings(run_a, cohort: Path) -> None:
    from crossid_desktop.errors import ModelError

    with pytest.raises(ModelError, match="already holds a training run"):
        train(config(cohort), run_a[0].run_dir)
    with pytest.raises(ModelError, match="injured"):
        config(cohort, loss="scl")
    with pytest.raises(ModelError, match="X-rays"):
        config(cohort, backbone="dlib")


def test_dlib_head_on_injured_faces(cohort: Path, tmp_path: Path) -> None:
    importlib.import_module("dlib")
    from crossid_desktop.matching.dlib_matcher import DlibFaceMatcher
    from crossid_desktop.matching.matchers import load_matcher

    run = train(TrainConfig(task="injured", data=str(cohort / "if"), backbone="dlib", loss="scl", epochs=2, lr=1e-3, batch_size=16, seed=1, device="cpu", patience=None), tmp_path / "d")
    assert [r.epoch for r in run.history] == [1, 2]
    matcher = load_matcher(run.best_checkpoint)
    assert isinstance(matcher, DlibFaceMatcher)
    face = load_image(cohort / "if" / "S0001" / "normal" / "face_front.png")
    crop = matcher.preprocess_query(face, QueryModality.INJURED_FACE)
    embedding = matcher.encode_gallery([crop])
    assert embedding.shape == (1, 128)
    assert abs(float(np.linalg.norm(embedding)) - 1.0) < 1e-4  # the head's L2-normalised output


def test_batch_all_loss_averages_over_active_triplets_only() -> None:
    """With ``average_active`` the batch-all triplet loss is the sum of the hinges over the
    number of triplets with a positive hinge (hand-worked on 1-d embeddings)."""
    from crossid_desktop.training.loops import Step, make_loss, step_loss

    q = torch.tensor([[0.0], [1.0]])
    g = torch.tensor([[0.1], [0.9]])
    # triplets (a, p, n): (0, 0, 1): 0.1 - 0.9 + 0.2 < 0; (1, 1, 0): 0.1 - 0.9 + 0.2 < 0;
    # (0, 1, 0): 0.9 - 0.1 + 0.2 = 1.0; (1, 0, 1): 0.9 - 0.1 + 0.2 = 1.0
    step = Step("triplets", np.arange(2), np.arange(2), np.array([0, 1, 0, 1]), np.array([0, 1, 1, 0]), np.array([1, 0, 0, 1]))
    cfg = TrainConfig(task="skull2face", data="x", backbone="mobilenet_v3_small", margin=0.2)
    active = float(step_loss(step, q, g, make_loss(cfg), cfg))
    every = float(step_loss(step, q, g, make_loss(cfg), cfg.with_changes(average_active=False)))
    assert active == pytest.approx(1.0, abs=1e-6)
    assert every == pytest.approx(0.5, abs=1e-6)
