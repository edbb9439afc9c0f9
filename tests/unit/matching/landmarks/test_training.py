"""Training the X-ray landmark model end to end on a tiny synthetic cohort (a few steps): the
run folder, resuming, the assembled model and its card (crossid train-landmarks)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.cli import main
from crossid_desktop.matching.landmarks.detector import XrayLandmarkDetector


@pytest.mark.slow
def test_a_short_run_trains_resumes_and_assembles_a_loadable_model(tmp_path: Path) -> None:
    from crossid_desktop.synth.cohort import CohortConfig, generate_cohort

    cohort = generate_cohort(tmp_path / "cohort", CohortConfig(n_subjects=6, seed=3, image_size=192, extra_gallery_photos=0, injured_per_subject=0))
    run = tmp_path / "run"
    args = ["train-landmarks", "--view", "xray-front", "--out", str(run), "--cohort", str(cohort.root), "--global-steps", "4",
            "--local-steps", "4", "--batch-global", "2", "--batch-local", "4", "--eval-every", "2", "--stage", "global"]
    assert main(args) == 0
    with (run / "global_log.csv").open() as handle:
        assert [row["step"] for row in csv.DictReader(handle)] == ["2", "4"]
    assert main(["train-landmarks", "--view", "xray-front", "--out", str(run), "--stage", "all"]) == 0  # global done: resumes, trains local, assembles
    with (run / "local_log.csv").open() as handle:
        assert [row["step"] for row in csv.DictReader(handle)] == ["2", "4"]
    card = json.loads((run / "model.json").read_text())
    assert card["view"] == "xray-front" and card["training"]["config"]["cohort_dirs"] == [str(cohort.root)]
    assert card["metrics"]["tune"]["images"] == 1 and card["sd_scale"] > 0
    tried = card["training"]["anchor_sd"]["tune_mre_px"]  # the anchor width (and, frontal, one or two readings) chosen on the tuning image: the best
    chosen = f"{card['anchor_sd']}/{'mirrored' if card['mirror_average'] else 'single'}"
    assert card["anchor_sd"] == card["training"]["anchor_sd"]["chosen"] and card["mirror_average"] == card["training"]["anchor_sd"]["mirror_average"]
    assert tried[chosen] == min(tried.values())
    assert set(tried) == {f"{w}/{m}" for w in ("0.0", "1.0", "1.25", "1.5", "2.0", "3.0") for m in ("single", "mirrored")}
    detector = XrayLandmarkDetector.load(run / "model.pt")
    image = np.zeros((192, 192), np.uint8)
    image[40:150, 50:140] = 200
    found = detector.detect(image)
    assert len(found.points) == len(card["landmarks"])
    for point in found.points:
        assert point.missing or (-0.5 <= point.x <= 191.5 and -0.5 <= point.y <= 191.5 and point.sd > 0)


@pytest.mark.slow
def test_a_stage_started_beside_another_records_its_own_steps_in_the_run(tmp_path: Path, monkeypatch) -> None:
    """The global and the local stage may train in two processes on one run folder. A failed
    start records nothing; the process that finds the run recorded by the other while it read its
    images (here: the record written meanwhile, as the global stage's process would) keeps that
    record and adds its own step count and evaluation interval as a change (the card's
    ``training.config``), and trains by them."""
    from crossid_desktop.matching.landmarks import train_config
    from crossid_desktop.synth.cohort import CohortConfig, generate_cohort

    run = tmp_path / "run"
    assert main(["train-landmarks", "--view", "xray-front", "--out", str(run), "--stage", "global"]) != 0  # no images given
    assert not (run / "config.json").exists()
    cohort = generate_cohort(tmp_path / "cohort", CohortConfig(n_subjects=6, seed=3, image_size=192, extra_gallery_photos=0, injured_per_subject=0))
    common = ["train-landmarks", "--view", "xray-front", "--out", str(run), "--cohort", str(cohort.root), "--batch-global", "2", "--batch-local", "4"]
    other = train_config.LandmarkTrainConfig(view="xray-front", cohort_dirs=(str(cohort.root),), global_steps=2, local_steps=1500, eval_every=2,
                                             batch_global=2, batch_local=4, command=("crossid", *common, "--global-steps", "2", "--stage", "global"))
    reading = train_config.training_sets

    def meanwhile(config):  # the other process records the run while this one reads its images
        if not (run / "config.json").exists():
            run.mkdir(exist_ok=True)
            (run / "config.json").write_text(other.to_json(), encoding="utf-8")
        return reading(config)

    monkeypatch.setattr(train_config, "training_sets", meanwhile)
    assert main([*common, "--local-steps", "3", "--eval-every", "1", "--stage", "local"]) == 0
    with (run / "local_log.csv").open() as handle:
        assert [row["step"] for row in csv.DictReader(handle)] == ["1", "2", "3"]
    stored = json.loads((run / "config.json").read_text())
    assert stored["command"][-1] == "global" and stored["local_steps"] == 3 and stored["global_steps"] == 2
    assert main([*common, "--stage", "global"]) == 0  # the global stage by the record: 2 steps
    with (run / "global_log.csv").open() as handle:
        assert [row["step"] for row in csv.DictReader(handle)][-1] == "2"
    assert main([*common, "--stage", "assemble"]) == 0
    config = json.loads((run / "model.json").read_text())["training"]["config"]
    assert config["local_steps"] == 3 and config["eval_every"] == 1 and config["global_steps"] == 2
    assert len(config["changes"]) == 1 and "--local-steps 3 --eval-every 1 --stage local" in config["changes"][0]
    assert "(at global step 0, local step 0)" in config["changes"][0]
    assert not list(run.glob(".config.json.*"))


def test_the_run_record_is_claimed_once_and_whole(tmp_path: Path) -> None:
    from crossid_desktop.cli.commands.landmarks import _claim

    record = tmp_path / "run" / "config.json"
    assert _claim(record, '{"first": 1}') and not _claim(record, '{"second": 2}')
    assert json.loads(record.read_text()) == {"first": 1} and [p.name for p in record.parent.iterdir()] == ["config.json"]


def test_the_run_record_is_claimed_once_and_whole_without_hard_links(tmp_path: Path, monkeypatch) -> None:
    """On a file system without hard links (FAT, some network shares) the record is created exclusively instead."""
    from crossid_desktop.cli.commands import landmarks

    def no_links(source, target):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(landmarks.os, "link", no_links)
    record = tmp_path / "run" / "config.json"
    assert landmarks._claim(record, '{"first": 1}') and not landmarks._claim(record, '{"second": 2}')
    assert json.loads(record.read_text()) == {"first": 1} and [p.name for p in record.parent.iterdir()] == ["config.json"]
    assert landmarks._read_record(record) == '{"first": 1}'


def test_the_assembly_chooses_the_anchor_width_and_the_shape_reading_that_place_the_tuning_points_best(monkeypatch) -> None:
    """The grid search of the assembly (``_fit_anchor``) against a stand-in detector whose error
    is known for every setting: the pair with the smallest error is chosen, the shape reading is
    tried only for a model with a shape prior."""
    import dataclasses
    from types import SimpleNamespace

    from crossid_desktop.matching.landmarks import assemble
    from crossid_desktop.matching.landmarks.model_file import LandmarkModelCard

    truth = np.array([[10.0, 20.0], [30.0, 40.0]])

    without_prior = {"cost": 0.5}  # what leaving the prior out adds to the error (negative: it helps)
    best_factor = {"with prior": 0.7}

    def error_of(width: float, factor: float, prior: bool) -> float:  # smallest at width 1.5, factor 0.7 (with a prior)
        return 1.0 + abs(width - 1.5) + (2.0 * abs(factor - best_factor["with prior"]) if prior else without_prior["cost"])

    class Stand:
        def __init__(self, state, card) -> None:
            self.card = card

        def detect(self, image):
            e = error_of(self.card.anchor_sd, self.card.shape_anchor, bool(self.card.shape_prior))
            return SimpleNamespace(points=[SimpleNamespace(x=x + e, y=y, missing=False) for x, y in truth])

    monkeypatch.setattr(assemble, "XrayLandmarkDetector", Stand)
    monkeypatch.setattr(assemble, "_original_image", lambda sample: np.zeros((4, 4)))
    monkeypatch.setattr(assemble, "_original_points", lambda sample: truth)
    card = LandmarkModelCard(name="m", view="xray-side", landmarks=("a", "b"), labels={}, frames={}, global_net={}, local_net={},
                             sigma_global=1.0, sigma_local=1.0, shape_prior={"points": ["a", "b"]})
    fitted = assemble._fit_anchor({}, card, [object()])
    assert (fitted.anchor_sd, fitted.shape_anchor) == (1.5, 0.7)
    assert fitted.training["anchor_sd"]["tune_mre_px"]["1.5/0.7"] == pytest.approx(1.0)
    assert fitted.training["anchor_sd"]["tune_mre_px"]["1.5/no prior"] == pytest.approx(1.0 + 0.5)
    assert len(fitted.training["anchor_sd"]["tune_mre_px"]) == len(assemble.ANCHOR_GRID) * (len(assemble.SHAPE_ANCHOR_GRID) + 1)
    assert fitted.shape_prior == card.shape_prior and fitted.training["anchor_sd"]["shape_prior"] is True and "shape_prior_left_out" not in fitted.training
    plain = assemble._fit_anchor({}, dataclasses.replace(card, shape_prior={}), [object()])
    assert (plain.anchor_sd, plain.shape_anchor) == (1.5, 0.0) and set(plain.training["anchor_sd"]["tune_mre_px"]) == {str(w) for w in assemble.ANCHOR_GRID}
    # a prior that places the tuning points worse at every setting is left out of the model (and the card says so)
    without_prior["cost"] = -0.1
    dropped = assemble._fit_anchor({}, card, [object()])
    assert (dropped.anchor_sd, dropped.shape_anchor, dropped.shape_prior) == (1.5, 0.0, {})
    assert dropped.training["anchor_sd"]["shape_prior"] is False and "left out" in dropped.training["shape_prior_left_out"]
    # on a tie of the same settings, the model without the prior
    without_prior["cost"], best_factor["with prior"] = 0.0, 0.0
    tied = assemble._fit_anchor({}, card, [object()])
    assert tied.training["anchor_sd"]["tune_mre_px"]["1.5/0.0"] == tied.training["anchor_sd"]["tune_mre_px"]["1.5/no prior"]
    assert tied.shape_prior == {} and tied.training["anchor_sd"]["shape_prior"] is False


def test_fitting_the_prior_scale_keeps_the_width_of_the_second_reading() -> None:
    """The second reading's width is ``shape_anchor`` times the prior's spread times its
    ``sd_scale``: the scale fitted after ``shape_anchor`` was chosen must not widen it."""
    from crossid_desktop.matching.landmarks import assemble
    from crossid_desktop.matching.landmarks.model_file import LandmarkModelCard

    card = LandmarkModelCard(name="m", view="xray-side", landmarks=("a",), labels={}, frames={}, global_net={}, local_net={},
                             sigma_global=1.0, sigma_local=1.0, shape_anchor=0.7, shape_prior={"points": ["a"], "sd_scale": 1.0})
    fitted = assemble._with_prior_scale(card, 1.6)
    assert fitted.shape_prior == {"points": ["a"], "sd_scale": 1.6}
    assert fitted.shape_anchor * fitted.shape_prior["sd_scale"] == pytest.approx(0.7 * 1.0)
    assert assemble._with_prior_scale(card, 0.0).shape_anchor == 0.7  # a degenerate scale: the width is left as it is


@pytest.mark.slow
def test_the_assembly_fits_the_shape_prior_on_the_prior_cohorts_when_given(tmp_path: Path, monkeypatch) -> None:
    """``--prior-cohort``: the lateral shape prior's synthetic component is fitted on that cohort's
    X-rays (all of them, not the training cohort's), and the card says which; the anchor widths
    are then chosen with that prior (they are chosen after it, in the same assembly)."""
    from crossid_desktop.matching.landmarks import assemble
    from crossid_desktop.synth.cohort import CohortConfig, generate_cohort

    seen = []  # the card the anchor search starts from: it carries the prior (the search itself is tested above)
    monkeypatch.setattr(assemble, "_fit_anchor", lambda state, card, tune: seen.append(card) or card)

    train = generate_cohort(tmp_path / "train", CohortConfig(n_subjects=6, seed=3, image_size=192, extra_gallery_photos=0, injured_per_subject=0))
    other = generate_cohort(tmp_path / "other", CohortConfig(n_subjects=7, seed=4, image_size=192, extra_gallery_photos=0, injured_per_subject=0))
    run = tmp_path / "run"
    assert main(["train-landmarks", "--view", "xray-side", "--out", str(run), "--cohort", str(train.root), "--global-steps", "2",
                 "--local-steps", "2", "--batch-global", "2", "--batch-local", "4", "--eval-every", "2"]) == 0
    own = json.loads((run / "model.json").read_text())
    assert main(["train-landmarks", "--view", "xray-side", "--out", str(run), "--prior-cohort", str(other.root), "--stage", "assemble"]) == 0
    card = json.loads((run / "model.json").read_text())
    shapes = {c["name"]: c["shapes"] for c in card["shape_prior"]["components"]}
    assert shapes == {"synthetic": 7}  # the other cohort's 7 X-rays; no real cephalograms were given
    assert {c["name"]: c["shapes"] for c in own["shape_prior"]["components"]} == {"synthetic": own["training"]["images"]["synthetic_train"]}
    assert card["training"]["shape_prior"]["prior_cohorts"] == [str(other.root)]
    assert "7 synthetic X-rays (other)" in card["training"]["shape_prior"]["groups"]["synthetic"]
    assert "shape_prior" not in own["training"]
    assert [{c["name"]: c["shapes"] for c in seen_card.shape_prior["components"]} for seen_card in seen] == [{"synthetic": own["training"]["images"]["synthetic_train"]}, {"synthetic": 7}]
