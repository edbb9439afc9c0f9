"""Evaluation protocols against plain loops: skull-to-face retrieval figures and triplet
accuracy, the injured protocol's splits, galleries and probes, calibration on validation
subjects only, and the files a report holds.

Most tests use a *colour matcher*: every image is a flat colour and its embedding is the
median colour / 255, so the expected distances follow from the colours the test wrote, and
the rankings and metrics are recomputed here with plain loops.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

from crossid_desktop.errors import DatasetError, MatcherMismatchError
from crossid_desktop.evaluation.injured import evaluate_injured, injured_splits, read_injured_set
from crossid_desktop.evaluation.outputs import write_outputs
from crossid_desktop.evaluation.protocols import EXTRA_PREFIX, rank_by_distance
from crossid_desktop.evaluation.skull2face import SkullFaceProtocol, evaluate_skull2face, select_test_subjects
from crossid_desktop.matching.base import QueryModality


class ColourMatcher:
    """Embeds a flat-colour image as its median colour / 255 (3-d); records what it saw."""

    def __init__(self, modalities: Sequence[QueryModality]) -> None:
        self.name = "colour"
        self.fingerprint = "f" * 64
        self.embedding_dim = 3
        self.query_modalities = frozenset(modalities)
        self.gallery_calls: list[np.ndarray] = []

    def model_card(self) -> dict[str, Any]:
        return {"task": "skull2face" if QueryModality.XRAY_FRONT in self.query_modalities else "injured", "backbone": "colour"}

    @staticmethod
    def _colour(pixels: np.ndarray) -> np.ndarray:
        rgb = pixels if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2)
        return np.median(rgb.reshape(-1, 3), axis=0).astype(np.float32) / 255.0

    def encode_query(self, images, modality, *, choices=None, progress=None, cancel=None) -> np.ndarray:
        assert QueryModality(modality) in self.query_modalities
        return np.stack([self._colour(np.asarray(im.pixels)) for im in images])

    def encode_gallery(self, faces, *, progress=None, cancel=None) -> np.ndarray:
        self.gallery_calls.extend(np.asarray(f) for f in faces)
        return np.stack([self._colour(np.asarray(f)) for f in faces])


def write_flat(path: Path, colour: Sequence[int] | int, size: int = 48) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(colour, (int, np.integer)):
        image = np.full((size, size), int(colour), np.uint8)
    else:
        image = np.zeros((size, size, 3), np.uint8)
        image[:] = np.asarray(colour, np.uint8)[::-1]  # written as BGR
    assert cv2.imwrite(str(path), image)


def make_s2f(root: Path, n: int, seed: int = 0) -> dict[str, Any]:
    """Flat-colour S2F set; returns the colours written (X-ray grey levels, face RGBs)."""
    rng = np.random.default_rng(seed)
    truth: dict[str, Any] = {"xray": {}, "faces": {}}
    for s in range(n):
        sid = f"S{s:03d}"
        base = rng.integers(30, 220, 3)
        for view in ("front", "side"):
            grey = int(rng.integers(0, 256))
            write_flat(root / sid / f"xray_{view}.png", grey)
            truth["xray"][(sid, view)] = np.array([grey] * 3) / 255.0
        photos = []
        for name in ("face_front", "face_front_2", "face_side"):
            colour = np.clip(base + rng.integers(-25, 26, 3), 0, 255)
            write_flat(root / sid / f"{name}.png", colour)
            photos.append((name, colour / 255.0))
        truth["faces"][sid] = photos
    return truth


def plain_metrics(queries: list[tuple[str, np.ndarray]], gallery: list[tuple[str, np.ndarray]], k: int) -> tuple[float, float, float]:
    """Recall@k, mAP@k, MRR@k by plain loops (ties: lower gallery position first)."""
    recalls, aps, rrs = [], [], []
    for label, q in queries:
        dists = [(float(np.sqrt(((q - g) ** 2).sum())), j) for j, (_, g) in enumerate(gallery)]
        order = [j for _, j in sorted(dists)]
        rel = [gallery[j][0] == label for j in order]
        n_rel = sum(rel)
        recalls.append(1.0 if any(rel[:k]) else 0.0)
        hits, precision_sum = 0, 0.0
        for i, r in enumerate(rel[:k], start=1):
            if r:
                hits += 1
                precision_sum += hits / i
        aps.append(precision_sum / min(k, n_rel) if n_rel else 0.0)
        first = next((i for i, r in enumerate(rel, start=1) if r), None)
        rrs.append(1.0 / first if first is not None and first <= k else 0.0)
    return float(np.mean(recalls)), float(np.mean(aps)), float(np.mean(rrs))


@pytest.fixture(scope="module")
def s2f(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("s2f")
    return root, make_s2f(root, 7)


def test_skull2face_metrics_match_plain_loops(s2f: tuple[Path, dict[str, Any]]) -> None:
    root, truth = s2f
    result = evaluate_skull2face(ColourMatcher([QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE]), root, SkullFaceProtocol(subjects="all", max_k=30))
    m = result.metrics
    ids = sorted(truth["faces"])
    queries = [(sid, truth["xray"][(sid, view)]) for view in ("front", "side") for sid in ids]
    # gallery order of the protocol: subject by subject, front photos then side photos
    gallery = [(sid, c) for sid in ids for name, c in sorted(truth["faces"][sid], key=lambda t: (t[0] == "face_side", t[0]))]
    for k in (1, 5, 10, 30):
        recall, mean_ap, mrr = plain_metrics(queries, gallery, k)
        assert m[f"recall@{k}"] == pytest.approx(recall, abs=1e-9)
        assert m[f"map@{k}"] == pytest.approx(mean_ap, abs=1e-9)
        assert m[f"mrr@{k}"] == pytest.approx(mrr, abs=1e-9)
        assert result.curves["recall"][k - 1] == pytest.approx(recall, abs=1e-9)
    assert m["rank1"] == pytest.approx(plain_metrics(queries, gallery, 1)[0])
    assert m["n_queries"] == 14 and m["gallery_size"] == 21
    # triplet accuracy on the published triplets: first photo of each face view
    wins = total = 0
    for sid in ids:
        for view in ("front", "side"):
            a = truth["xray"][(sid, view)]
            firsts = {o: [c for name, c in truth["faces"][o] if name in ("face_front", "face_side")] for o in ids}
            for p in firsts[sid]:
                for other in ids:
                    if other == sid:
                        continue
                    for n in firsts[other]:
                        total += 1
                        wins += np.linalg.norm(a - p) < np.linalg.norm(a - n)
    assert m["n_triplets"] == total == 7 * 2 * 2 * 2 * 6
    assert m["triplet_accuracy"] == pytest.approx(wins / total)
    # genuine / impostor distances: every query-gallery pair exactly once
    assert result.genuine_distances.size == 14 * 3 and result.impostor_distances.size == 14 * 18


def test_fused_query_is_the_mean_of_both_views(s2f: tuple[Path, dict[str, Any]]) -> None:
    root, truth = s2f
    result = evaluate_skull2face(ColourMatcher([QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE]), root, SkullFaceProtocol(subjects="all"))
    ids = sorted(truth["faces"])
    gallery = [(sid, c) for sid in ids for name, c in sorted(truth["faces"][sid], key=lambda t: (t[0] == "face_side", t[0]))]
    hits = 0
    for sid in ids:
        fused = [(np.linalg.norm(truth["xray"][(sid, "front")] - g) + np.linalg.norm(truth["xray"][(sid, "side")] - g)) / 2 for _, g in gallery]
        hits += gallery[int(np.argmin(fused))][0] == sid
    assert result.metrics["fused/recall@1"] == pytest.approx(hits / len(ids))
    assert result.metrics["fused/n_queries"] == len(ids)


def test_test_subjects_follow_the_trainers_split_and_mixed_gallery_adds_distractors(s2f: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from crossid_desktop.datasets.sampling import split_subjects
    from crossid_desktop.datasets.skull_faces import read_skull_faces

    root, _ = s2f
    extra = tmp_path / "extra"
    for s in range(3):
        for j in range(2):
            write_flat(extra / f"X{s}" / f"{j}.png", (10 * s + j, 200, 100))
    matcher = ColourMatcher([QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE])
    result = evaluate_skull2face(matcher, root, SkullFaceProtocol(subjects="test", extra_gallery=extra))
    held_out = split_subjects(read_skull_faces(root), val_fraction=0.3, seed=0)[1]
    assert result.metrics["data"]["test_subjects"] == held_out
    assert result.metrics["gallery_size"] == 3 * len(held_out)
    assert result.metrics["mixed/gallery_size"] == 3 * len(held_out) + 6
    assert result.metrics["mixed/recall@30"] <= result.metrics["recall@30"] + 1e-12
    assert select_test_subjects(["b", "a", "c"], "all") == ["a", "b", "c"]
    with pytest.raises(MatcherMismatchError):
        evaluate_skull2face(ColourMatcher([QueryModality.INJURED_FACE]), root)


def test_rank_by_distance_breaks_ties_by_gallery_order() -> None:
    ranking = rank_by_distance([[1.0, 0.5, 0.5, 0.2]])
    assert ranking.indices.tolist() == [[3, 1, 2, 0]]


def make_if(root: Path, n: int, rng: np.random.Generator, normal: int = 2, injured: int = 2) -> dict[str, Any]:
    truth: dict[str, Any] = {}
    for s in range(n):
        sid = f"P{s:02d}"
        base = rng.integers(30, 220, 3)
        norm = [np.clip(base + rng.integers(-20, 21, 3), 0, 255) for _ in range(normal)]
        inj = [np.clip(base + rng.integers(-40, 41, 3), 0, 255) for _ in range(injured + s % 2)]
        for i, c in enumerate(norm):
            write_flat(root / sid / "normal" / f"n{i}.png", c)
        for i, c in enumerate(inj):
            write_flat(root / sid / "injured" / f"i{i}.png", c)
        truth[sid] = (norm, inj)
    return truth


def test_injured_splits_galleries_and_probes(tmp_path: Path) -> None:
    truth = make_if(tmp_path / "if", 10, np.random.default_rng(3))
    ids = sorted(truth)
    splits = injured_splits(ids)
    assert len(splits) == 5 and len({tuple(t) for t in splits}) == 5  # five different splits
    for test in splits:
        assert len(test) == 3 and set(test) <= set(ids) and len(set(test)) == 3  # 30 %, the rest is training
    extra = tmp_path / "extra"
    for s in range(4):
        for j in range(3):
            write_flat(extra / f"E{s}" / f"{j}.png", (5 + s, 5 + j, 250))
    matcher = ColourMatcher([QueryModality.INJURED_FACE])
    result = evaluate_injured(matcher, tmp_path / "if", extra_gallery=extra)
    assert len(result.per_split) == 5
    ranks1, ranks5 = [], []
    for row, test in zip(result.per_split, splits):
        assert row["gallery_size"] == len(test) and row["n_test_subjects"] == len(test)  # one normal photo each
        assert row["n_probes"] == sum(len(truth[s][1]) for s in test)  # every injured photo
        assert row["extended/gallery_size"] == len(test) + 4  # one photo per extra person
        # Rank-1 / Rank-5 by a plain loop: gallery = first normal photo of each test subject
        hits1 = hits5 = total = 0
        for sid in test:
            for probe in truth[sid][1]:
                d = sorted((float(np.linalg.norm((probe - truth[o][0][0]) / 255.0)), j, o) for j, o in enumerate(test))
                rank = [o for _, _, o in d].index(sid) + 1
                hits1 += rank <= 1
                hits5 += rank <= 5
                total += 1
        ranks1.append(hits1 / total)
        ranks5.append(hits5 / total)
        assert row["rank1"] == pytest.approx(hits1 / total)
    assert result.metrics["rank1"] == pytest.approx(np.mean(ranks1))
    assert result.metrics["rank1_std"] == pytest.approx(np.std(ranks1))
    assert result.metrics["rank5"] == pytest.approx(np.mean(ranks5))
    assert result.metrics["extended/gallery_size"] == result.metrics["gallery_size"] + 4
    # the gallery branch saw the first normal photo of every subject and the extra photos, no injured photo
    first_normals = {tuple(np.asarray(truth[s][0][0], np.uint8)) for s in ids}
    seen = {tuple(np.median(c.reshape(-1, 3), axis=0).astype(np.uint8)) for c in matcher.gallery_calls}
    assert first_normals <= seen
    assert not seen & {tuple(np.asarray(c, np.uint8)) for s in ids for c in truth[s][1] if tuple(np.asarray(c, np.uint8)) not in first_normals}


def test_simulated_injuries_are_deterministic_and_leave_out_single_photos(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    for s in range(7):
        for j in range(3):
            write_flat(tmp_path / "g" / f"G{s}" / f"{j}.png", rng.integers(0, 256, 3), size=64)
    write_flat(tmp_path / "g" / "Lonely" / "0.png", (1, 2, 3), size=64)
    data = read_injured_set(tmp_path / "g", simulate_injuries=True)
    assert data.left_out == ("Lonely",) and data.subject_ids == tuple(f"G{s}" for s in range(7))
    assert all(len(data.normal[s]) == 1 and len(data.injured[s]) == 2 for s in data.subject_ids)
    matcher = ColourMatcher([QueryModality.INJURED_FACE])
    first = evaluate_injured(matcher, tmp_path / "g", simulate_injuries=True)
    again = evaluate_injured(ColourMatcher([QueryModality.INJURED_FACE]), tmp_path / "g", simulate_injuries=True)
    np.testing.assert_array_equal(first.genuine_distances, again.genuine_distances)
    assert first.metrics["data"]["simulated_injuries"] and first.metrics["n_probes_total"] == 14
    with pytest.raises(DatasetError):
        read_injured_set(tmp_path / "g", simulate_injuries=False)
    with pytest.raises(DatasetError):  # a 10 % split of seven people holds one: no impostor pair
        evaluate_injured(matcher, tmp_path / "g", simulate_injuries=True, test_fraction=0.1)


def test_calibration_uses_validation_subjects_only(s2f: tuple[Path, dict[str, Any]]) -> None:
    root, truth = s2f
    matcher = ColourMatcher([QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE])
    ids = sorted(truth["faces"])
    test, validation = ids[:4], ids[4:]
    result = evaluate_skull2face(matcher, root, SkullFaceProtocol(subjects=test, calibration_subjects=validation))
    assert result.calibration is not None
    assert set(result.calibration["validation_subjects"]) == set(validation)
    assert not set(result.calibration["validation_subjects"]) & set(result.metrics["data"]["test_subjects"])
    assert 0.0 <= result.metrics["cllr_min"] <= result.metrics["cllr"] + 1e-6
    lr_g, lr_i = result.lrs
    assert lr_g.size == result.genuine_distances.size and lr_i.size == result.impostor_distances.size
    with pytest.raises(DatasetError):
        evaluate_skull2face(matcher, root, SkullFaceProtocol(subjects=test, calibration_subjects=[ids[0], ids[5]]))


def save_untrained(path: Path, task: str) -> Path:
    import torch

    from crossid_desktop.matching.backbones import IMAGENET_MEAN, IMAGENET_STD
    from crossid_desktop.matching.checkpoint import save_checkpoint
    from crossid_desktop.matching.model_card import ModelCard, preprocessing_recipe
    from crossid_desktop.matching.networks import CrossDomainNet

    torch.manual_seed(0)
    model = CrossDomainNet("mobilenet_v3_small", embedding_dim=16, shared=(task == "injured"))
    card = ModelCard(name=f"untrained-{task}", task=task, backbone="mobilenet_v3_small", embedding_dim=16, network={},
                     preprocessing=preprocessing_recipe(task, input_size=32, mean=IMAGENET_MEAN, std=IMAGENET_STD, soft_tissue={"strength": 0.7}))
    save_checkpoint(path, model, card, half=True)
    return path


def test_calibrate_model_writes_the_card_without_changing_the_fingerprint(s2f: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from crossid_desktop.evaluation.model_calibration import calibrate_model
    from crossid_desktop.matching.checkpoint import card_path, fingerprint, read_checkpoint

    root, truth = s2f
    ckpt = save_untrained(tmp_path / "m.pt", "skull2face")
    state, card = read_checkpoint(ckpt)
    before = fingerprint(state, card)
    size_before = ckpt.stat().st_size
    ids = sorted(truth["faces"])
    test = select_test_subjects(ids, "test")
    with pytest.raises(DatasetError):  # the default validation subjects are the held-out ones: they are the test set here
        calibrate_model(ckpt, root, exclude_subjects=test)
    validation = [s for s in ids if s not in test][:3]
    outcome = calibrate_model(ckpt, root, validation_subjects=validation, exclude_subjects=test)
    assert set(outcome.validation_subjects) == set(validation) and not set(validation) & set(test)
    state_after, card_after = read_checkpoint(ckpt)
    assert card_after.calibration == outcome.calibration.to_dict()
    assert fingerprint(state_after, card_after) == before == outcome.fingerprint_after
    assert ckpt.stat().st_size == size_before  # still stored in half precision
    assert json.loads(card_path(ckpt).read_text())["calibration"]["method"] == "logistic"


def test_report_files_and_metric_keys(s2f: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    root, truth = s2f
    ids = sorted(truth["faces"])
    matcher = ColourMatcher([QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE])
    result = evaluate_skull2face(matcher, root, SkullFaceProtocol(subjects=ids[:4], calibration_subjects=ids[4:]))
    paths = write_outputs(result, tmp_path / "out", tsne=True)
    metrics = json.loads(paths["metrics"].read_text())
    for key in ("recall@1", "recall@10", "recall@30", "map@10", "mrr@10", "rank1", "rank5", "rank10", "gar@far0.1", "cllr",
                "protocol", "model", "data", "n_queries", "gallery_size"):
        assert key in metrics, key
    assert metrics["model"] == {"name": "colour", "fingerprint": "f" * 64, "task": "skull2face", "backbone": "colour"}
    for name in ("recall_map_curves.png", "cmc.png", "score_histograms.png", "roc.png", "tippett.png", "tsne_3d.png", "report.md", "report.json"):
        assert (tmp_path / "out" / name).stat().st_size > 0, name
    report = json.loads(paths["report_json"].read_text())
    assert report["comparable"] is False and "ResNet18" in (tmp_path / "out" / "report.md").read_text()


def test_injured_metric_keys_have_means_and_stds(tmp_path: Path) -> None:
    make_if(tmp_path / "if", 7, np.random.default_rng(1))
    result = evaluate_injured(ColourMatcher([QueryModality.INJURED_FACE]), tmp_path / "if", calibrate=True)
    paths = write_outputs(result, tmp_path / "out", tsne=False)
    metrics = json.loads(paths["metrics"].read_text())
    for key in ("rank1", "rank1_std", "rank5", "rank5_std", "rank10", "rank10_std", "gar@far0.1", "gar@far0.1_std",
                "gar@far0.1_sampled", "interclass_distance", "cllr", "cllr_min", "protocol", "model", "data", "n_queries", "gallery_size"):
        assert key in metrics, key
    assert "36.70 +- 3.7" in paths["report_md"].read_text()


def test_tsne_separates_two_clusters() -> None:
    from crossid_desktop.evaluation.tsne import tsne

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (20, 10)), rng.normal(5, 0.1, (20, 10))])
    y = tsne(x, dims=3, perplexity=5, iterations=300, seed=0)
    assert y.shape == (40, 3)
    centre_a, centre_b = y[:20].mean(axis=0), y[20:].mean(axis=0)
    spread = max(np.linalg.norm(y[:20] - centre_a, axis=1).max(), np.linalg.norm(y[20:] - centre_b, axis=1).max())
    assert np.linalg.norm(centre_a - centre_b) > spread  # the clusters do not overlap


def test_extra_gallery_labels_never_collide(tmp_path: Path) -> None:
    from crossid_desktop.evaluation.protocols import read_extra_faces

    write_flat(tmp_path / "S000" / "a.png", (1, 2, 3))
    write_flat(tmp_path / "S000" / "b.png", (1, 2, 3))
    faces = read_extra_faces(tmp_path, one_per_subject=True)
    assert faces == [(EXTRA_PREFIX + "S000", (tmp_path / "S000" / "a.png").absolute())]
