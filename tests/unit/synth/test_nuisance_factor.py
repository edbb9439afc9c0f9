"""The cohort's nuisance factor: 2 doubles every image's pose, shift and log-scale, 1 changes nothing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from crossid_desktop.errors import DatasetError
from crossid_desktop.synth.cohort import CohortConfig, generate_cohort


def _nuisances(out: Path) -> dict[str, dict]:
    record = json.loads((out / "params.json").read_text())["subjects"][0]
    return {name: image["nuisance"] for name, image in record["images"].items()}


def test_factor_two_doubles_the_ranges_and_one_is_the_default(tmp_path: Path) -> None:
    base = generate_cohort(tmp_path / "a", CohortConfig(1, 7, image_size=64, injured_per_subject=0))
    same = generate_cohort(tmp_path / "b", CohortConfig(1, 7, image_size=64, injured_per_subject=0, nuisance_factor=1.0))
    wide = generate_cohort(tmp_path / "c", CohortConfig(1, 7, image_size=64, injured_per_subject=0, nuisance_factor=2.0))
    assert base.params_path.read_bytes() == same.params_path.read_bytes()
    one, two = _nuisances(tmp_path / "a"), _nuisances(tmp_path / "c")
    assert set(one) == set(two)
    for name in one:
        # the same uniform draws, twice the range (rounded as params.json keeps them)
        assert two[name]["angle"] == pytest.approx(2 * one[name]["angle"], abs=2e-3)
        assert two[name]["shift"][0] == pytest.approx(2 * one[name]["shift"][0], abs=2e-4)
        assert math.log(two[name]["scale"]) == pytest.approx(2 * math.log(one[name]["scale"]), abs=3e-4)
    assert json.loads(wide.params_path.read_text())["nuisance_factor"] == 2.0
    with pytest.raises(DatasetError):
        generate_cohort(tmp_path / "d", CohortConfig(1, 7, image_size=64, nuisance_factor=0.0))
