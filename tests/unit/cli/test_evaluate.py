"""``crossid evaluate`` end to end on tiny S2F and IF sets with real (untrained) checkpoints,
and how it reports user errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.cli import main

pytestmark = pytest.mark.slow  # end to end: real cohorts, models, cases or reports


def write_blob(path: Path, seed: int, *, grey: bool = False, size: int = 80) -> None:
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 6) if grey else (6, 6, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC))


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
    save_checkpoint(path, model, card)
    return path


def test_skull2face_end_to_end_with_calibration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from crossid_desktop.matching.checkpoint import card_path

    data = tmp_path / "s2f"
    for s in range(14):  # 14 people: 4 held out, halved into 2 for calibration and 2 for the test
        for i, name in enumerate(("xray_front", "xray_side")):
            write_blob(data / f"S{s:03d}" / f"{name}.png", 100 * s + i, grey=True)
        for i, name in enumerate(("face_front", "face_side")):
            write_blob(data / f"S{s:03d}" / f"{name}.png", 100 * s + 10 + i)
    model = save_untrained(tmp_path / "skull.pt", "skull2face")
    fingerprint_before = json.loads(card_path(model).read_text())["weights_sha256"]
    out = tmp_path / "out"
    code = main(["evaluate", "--model", str(model), "--data", str(data), "--calibrate", "--out", str(out), "--no-tsne"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Recall@30" in printed and "ResNet18 (published" in printed and "fingerprint" in printed and "unchanged" in printed
    for name in ("metrics.json", "report.md", "report.json", "recall_map_curves.png", "cmc.png", "roc.png", "score_histograms.png", "tippett.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    report = json.loads((out / "report.json").read_text())
    assert metrics["protocol"] == "skull2face" and metrics["n_test_subjects"] == 2 and "cllr" in metrics
    assert not set(report["calibration"]["validation_subjects"]) & set(metrics["data"]["test_subjects"])
    card = json.loads(card_path(model).read_text())
    assert card["calibration"]["method"] == "logistic" and card["weights_sha256"] == fingerprint_before


def test_injured_end_to_end_with_extended_gallery(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, extra = tmp_path / "if", tmp_path / "extra"
    for s in range(7):
        write_blob(data / f"P{s:02d}" / "normal" / "a.png", 10 * s)
        for i in range(2):
            write_blob(data / f"P{s:02d}" / "injured" / f"b{i}.png", 10 * s + 1 + i)
    for s in range(3):
        write_blob(extra / f"E{s}" / "x.png", 1000 + s)
    model = save_untrained(tmp_path / "inj.pt", "injured")
    out = tmp_path / "out"
    code = main(["evaluate", "--model", str(model), "--data", str(data), "--extra-gallery", str(extra), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Rank-1 (%)" in printed and "SCL (published)" in printed and "extended gallery (+3)" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"] == "injured" and metrics["extended/gallery_size"] == metrics["gallery_size"] + 3
    assert (out / "tsne_3d.png").is_file() and (out / "report.md").is_file()


def test_missing_model_and_bad_data_dir_are_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data").mkdir()
    code = main(["evaluate", "--model", str(tmp_path / "absent.pt"), "--data", str(tmp_path / "data")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.startswith("crossid: error:") and "absent.pt" in err and len(err.splitlines()) == 1
    code = main(["evaluate", "--model", "dlib", "--data", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "nowhere" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    model = save_untrained(tmp_path / "skull.pt", "skull2face")
    code = main(["evaluate", "--model", str(model), "--data", str(tmp_path / "data")])  # an empty folder is no S2F set
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.startswith("crossid: error:") and len(err.splitlines()) == 1
