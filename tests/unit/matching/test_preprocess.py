"""The soft-tissue settings of the X-ray preview: the matcher's recorded settings moved to the
examiner's strength, and where the recorded settings come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossid_desktop.imaging.xray import SoftTissueParams
from crossid_desktop.matching.preprocess import soft_tissue_at
from crossid_desktop.matching.selection import recorded_soft_tissue, write_config
from crossid_desktop.paths import resource_path

# settings recorded at strength 0.7 by an algorithm whose ceiling, knee and lift were 0.085,
# 0.09 and 7.1 times the strength (the first version of sts-1)
RECORDED = {"algorithm": "sts-1", "strength": 0.7, "amount": 0.91, "soft_ceiling": 0.0595, "knee": 0.063, "lift": 4.97, "work_height": 512}


def test_the_recorded_strength_gives_the_recorded_settings_and_others_scale_with_it() -> None:
    assert soft_tissue_at(RECORDED, 0.7) == RECORDED
    at = soft_tissue_at(RECORDED, 0.35)
    assert at["soft_ceiling"] == pytest.approx(0.085 * 0.35) and at["knee"] == pytest.approx(0.09 * 0.35) and at["lift"] == pytest.approx(7.1 * 0.35)
    assert at["amount"] == pytest.approx(1 - 0.65 ** 2) and at["work_height"] == 512
    resolved = SoftTissueParams(**{k: v for k, v in soft_tissue_at(RECORDED, 0.0).items() if k != "algorithm"}).resolved()
    assert resolved.amount == 0.0 and resolved.soft_ceiling == 0.0


def test_without_recorded_settings_the_installed_defaults_apply() -> None:
    assert soft_tissue_at(None, 0.4) == {"strength": 0.4}
    assert soft_tissue_at({"strength": 0.0, "soft_ceiling": 0.0}, 0.5) == {"strength": 0.5}


def test_the_settings_come_from_the_workspaces_xray_matcher(tmp_path: Path) -> None:
    bundled = json.loads(resource_path("models", "skull2face.json").read_text(encoding="utf-8"))["preprocessing"]["query"]["soft_tissue"]
    assert recorded_soft_tissue(None) == bundled
    assert recorded_soft_tissue(tmp_path) == bundled  # a workspace without a choice uses the bundled default
    write_config(tmp_path, "xray", "dlib")
    assert recorded_soft_tissue(tmp_path) is None
