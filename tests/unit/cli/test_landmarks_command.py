"""``crossid landmarks``: JSON in the image's own pixels, an overlay, refusals with exit status."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.cli import main
from crossid_desktop.matching.landmarks.service import bundled_model

pytestmark = pytest.mark.skipif(not bundled_model("xray-side").is_file(), reason="the bundled landmark model is absent")


@pytest.fixture(scope="module")
def lateral(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from crossid_desktop.synth.cohort import CohortConfig, generate_cohort

    manifest = generate_cohort(tmp_path_factory.mktemp("c"), CohortConfig(n_subjects=1, seed=77, image_size=384, extra_gallery_photos=0, injured_per_subject=0))
    return manifest.s2f_root / manifest.subject_ids[0] / "xray_side.png"


def test_json_follows_the_schema_and_the_overlay_is_written(lateral: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    import cv2

    overlay = tmp_path / "overlay.png"
    assert main(["landmarks", str(lateral), "--view", "xray-side", "--json", "--out", str(overlay)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["image"] == str(lateral) and data["view"] == "xray-side"
    assert data["sha256"] == hashlib.sha256(lateral.read_bytes()).hexdigest()
    labels = {p["label"]: p for p in data["landmarks"] if p["label"]}
    assert sorted(labels, key=lambda l: int(l[1:])) == [f"l{i}" for i in range(1, 20)]
    assert labels["l1"]["name"] == "sella"
    for point in data["landmarks"]:
        assert set(point) >= {"name", "label", "x", "y", "sd"}
        if not point["missing"]:
            assert 0 <= point["x"] < 384 and 0 <= point["y"] < 384 and point["sd"] > 0
    drawn = cv2.imread(str(overlay))
    assert drawn.shape == (384, 384, 3) and np.abs(drawn.astype(int) - cv2.imread(str(lateral)).astype(int)).sum() > 0


def test_the_view_is_guessed_when_not_given(lateral: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["landmarks", str(lateral)]) == 0
    out = capsys.readouterr().out
    assert "view xray-side (guessed)" in out and "sella" in out


def test_refusals_say_why_and_exit_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2

    cv2.imwrite(str(tmp_path / "blank.png"), np.zeros((300, 300), np.uint8))
    assert main(["landmarks", str(tmp_path / "blank.png"), "--view", "xray-side"]) == 2
    assert "blank" in capsys.readouterr().err
    assert main(["landmarks", str(tmp_path / "blank.png"), "--view", "face-side"]) == 2
    smooth = cv2.resize(np.random.default_rng(1).random((5, 4)).astype(np.float32), (400, 500), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(tmp_path / "blobs.png"), (smooth * 255).clip(0, 255).astype(np.uint8))
    status = main(["landmarks", str(tmp_path / "blobs.png"), "--view", "xray-side", "--json"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert status == 3 and data["refused"] and data["low_confidence"] and data["warnings"]
    assert "warning" in captured.err


def test_the_table_says_why_a_point_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    from crossid_desktop.cli.commands.landmarks import _print_table
    from crossid_desktop.matching.landmarks.service import Landmark, LandmarkResult

    points = (Landmark("vertex", None, None, None, None, 0.0, left_out=True), Landmark("glabella", None, None, None, None, 0.0),
              Landmark("nasion", None, 10.0, 20.0, 0.8, 0.5))
    _print_table(LandmarkResult("x.png", "0" * 64, "xray-front", points, model={"name": "xray-landmarks-front"}), guessed=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split()[0] == "vertex" and lines[2].endswith("missing (left out, it does not fit the other points: see the warning)")
    assert lines[3].endswith("missing (not in the image)") and lines[4].split()[:3] == ["nasion", "10.0", "20.0"]
