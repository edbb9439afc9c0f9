"""Refitting the craniofacial matcher: the correspondence models stay, the tolerance and fusion
are set on the new validation people, the result is another model (another fingerprint) and the
card says so; a model set for another exclusion rule is refused except for a refit; bad
arguments are refused with a sentence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.errors import DatasetError, ModelError
from crossid_desktop.matching.craniofacial.annotations import MeasurementNoise
from crossid_desktop.matching.craniofacial.model_file import compute_fingerprint, load_model
from crossid_desktop.paths import resource_path
from crossid_desktop.training.craniofacial import refit_craniofacial


@pytest.fixture(scope="module")
def validation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from crossid_desktop.synth.cohort import CohortConfig, generate_cohort

    out = tmp_path_factory.mktemp("validation")
    generate_cohort(out, CohortConfig(n_subjects=12, seed=41, image_size=64, extra_gallery_photos=0, injured_per_subject=0))
    return out / "s2f"


def test_a_refit_keeps_the_correspondence_models_and_replaces_the_validation_part(validation: Path, tmp_path: Path) -> None:
    bundled = resource_path("models", "craniofacial.npz")
    old = load_model(bundled)
    model = refit_craniofacial(bundled, validation, tmp_path / "refit.npz", noise=MeasurementNoise(2.0, 0.01), command=["crossid", "refit-test"])
    assert model.fingerprint != old.fingerprint  # another calibration: another model
    for view in old.views:
        assert np.array_equal(model.views[view].coef, old.views[view].coef)
        assert np.array_equal(model.views[view].residual_cov, old.views[view].residual_cov)
    assert model.view_factors != old.view_factors  # set on these 12 people, not the bundled card's 150
    card = json.loads((tmp_path / "refit.json").read_text(encoding="utf-8"))
    assert card["training"] == old.card["training"] and card["depths"] == old.card["depths"]
    assert card["validation"]["people"] == 12 and card["validation"]["data"] == str(validation)
    assert card["refit"]["command"] == "crossid refit-test" and card["refit"]["from"] == str(bundled)
    assert card["refit"]["from_fingerprint"] == old.fingerprint
    assert card["fusion"]["rules"] != old.card["fusion"]["rules"]
    assert card["metrics"] == {} and "notes" not in card and "detector_errors" not in card and "face_models" not in card  # the old test figures described the old rules
    # the bundled card's X-ray error scales were measured on detected X-rays; these were simulated: none is kept
    assert "xray_detector_errors" in old.card and all(old.views[v].detector_scale is not None for v in old.views)
    assert "xray_detector_errors" not in card and "xray_models" not in card and all(model.views[v].detector_scale is None for v in model.views)
    assert set(card["tolerance"]["view_factors"]) == {"front", "side"}
    assert load_model(tmp_path / "refit.npz").fingerprint == model.fingerprint
    # 12 people cannot support a ratio below 1/100 (the fitted ratios stop at 1/12): no likelihood-ratio bound, and the card says why
    assert old.tolerance.lr_limit == 0.01 and model.tolerance.lr_limit is None and card["tolerance"]["lr_limit"] is None
    assert "too few to support a ratio below 0.01" in card["tolerance"]["lr_limit_note"]


def test_a_model_set_for_another_exclusion_rule_is_refused_except_for_a_refit(tmp_path: Path) -> None:
    bundled = resource_path("models", "craniofacial.npz")
    (tmp_path / "old.npz").write_bytes(bundled.read_bytes())
    card = json.loads(bundled.with_suffix(".json").read_text(encoding="utf-8"))
    del card["tolerance"]["rule"]  # as cards were written before the rule was recorded, with a fingerprint of the arrays alone
    with np.load(bundled) as data:
        card["fingerprint"] = compute_fingerprint({k: data[k] for k in data.files}, load_model(bundled).views)
    (tmp_path / "old.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="calibrated for another exclusion rule .*--refit"):
        load_model(tmp_path / "old.npz")
    assert load_model(tmp_path / "old.npz", to_refit=True).views["front"].coef.shape == load_model(bundled).views["front"].coef.shape
    card["tolerance"]["rule"] = load_model(bundled).card["tolerance"]["rule"]
    card["tolerance"]["view_factors"]["front"] *= 2  # a tolerance edited by hand no longer matches the fingerprint
    (tmp_path / "old.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(tmp_path / "old.npz")


def test_too_few_validation_people_are_refused_with_a_sentence(tmp_path: Path) -> None:
    from crossid_desktop.synth.cohort import CohortConfig, generate_cohort

    generate_cohort(tmp_path / "few", CohortConfig(n_subjects=5, seed=42, image_size=64, extra_gallery_photos=0, injured_per_subject=0))
    with pytest.raises(DatasetError, match="5 validation people are too few to fit the fusion"):
        refit_craniofacial(resource_path("models", "craniofacial.npz"), tmp_path / "few" / "s2f", tmp_path / "m.npz", noise=MeasurementNoise(2.0, 0.01))
    assert not (tmp_path / "m.npz").exists()


def test_the_command_wants_training_data_or_a_model_to_refit(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "crossid_desktop", "train-craniofacial", *args], capture_output=True, text=True, timeout=300)

    neither = run("--validation-data", str(tmp_path), "--out", str(tmp_path / "m.npz"))
    assert neither.returncode != 0 and "either --data" in neither.stderr and "Traceback" not in neither.stderr
    missing = run("--refit", str(tmp_path / "none.npz"), "--validation-data", str(tmp_path), "--out", str(tmp_path / "m.npz"))
    assert missing.returncode != 0 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    bundled = str(resource_path("models", "craniofacial.npz"))
    ridge = run("--refit", bundled, "--ridge", "5", "--validation-data", str(tmp_path), "--out", str(tmp_path / "m.npz"))
    assert ridge.returncode != 0 and "--refit keeps them" in ridge.stderr and not (tmp_path / "m.npz").exists()
