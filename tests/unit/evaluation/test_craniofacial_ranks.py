"""Evidence beyond the validation range orders the candidates instead of tying them: the fusion's
clipped ratio is what is reported, its unclipped combination breaks the ties; a person's
evidence in a view is pooled over their comparable photos."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossid_desktop.evaluation.craniofacial_protocol import person_ranks
from crossid_desktop.evaluation.craniofacial_scores import GalleryPhoto, ViewScores
from crossid_desktop.matching.craniofacial.consistency import CONSISTENT, INCONSISTENT, NOT_ASSESSABLE, Tolerance, Verdict
from crossid_desktop.matching.craniofacial.fusion import Fusion, FusionRule


def _fusion() -> Fusion:
    rule = FusionRule(("cf_front",), (0.5,), -1.0, (-20.0,), (10.0,), 100, 10000)
    return Fusion({"cf_front": rule})


def test_clipped_ratios_are_equal_and_the_score_still_orders_them() -> None:
    fusion = _fusion()
    strong, stronger = {"cf_front": 40.0}, {"cf_front": 80.0}  # both beyond what 10,000 validation impostors support
    assert fusion.ln_lr(strong) == fusion.ln_lr(stronger) == pytest.approx(math.log(10000))
    assert fusion.ln_lr({"cf_front": 12.0}) == pytest.approx(5.0)  # beyond the validation range of the feature, not clipped there
    assert fusion.score(stronger) == 0.5 * 80.0 - 1.0 > fusion.score(strong)


def test_person_ranks_break_ties_by_the_unclipped_combination() -> None:
    ln_lr = np.array([[4.0, 4.0, 4.0, 1.0], [2.0, 4.0, np.nan, 4.0]])
    score = np.array([[9.0, 30.0, 5.0, 1.0], [2.0, 7.0, np.nan, 8.0]])
    genuine = np.array([[False, True, False, False], [False, True, False, False]])
    assert person_ranks(ln_lr, genuine).tolist() == [3, 2]  # without the tie-break, ties count against the true person
    assert person_ranks(ln_lr, genuine, score).tolist() == [1, 2]


def test_a_persons_view_evidence_is_the_log_of_their_photos_mean_ratio() -> None:
    """A person's log ratio in a view is the log of the mean ratio of their comparable photos (a
    misplaced photo does not drag it down as a mean of log ratios would); photos that could not be
    compared are left out; the verdict is that of the photo nearest to tolerance."""
    photos = (GalleryPhoto("A", "a1", "face-front"), GalleryPhoto("A", "a2", "face-front"), GalleryPhoto("A", "a3", "face-front"),
              GalleryPhoto("B", "b1", "face-front"), GalleryPhoto("C", "c1", "face-front"))
    llr = np.array([[4.0, -30.0, np.nan, 1.5, np.nan]])
    statistic = np.array([[0.4, 3.0, np.nan, 0.9, np.nan]])
    verdicts = ((Verdict(CONSISTENT), Verdict(INCONSISTENT, ("pronasale",)), Verdict(NOT_ASSESSABLE, reasons=("no landmarks",)),
                 Verdict(CONSISTENT), Verdict(NOT_ASSESSABLE, reasons=("no landmarks",))),)
    scores = ViewScores("front", ("A",), photos, llr, np.zeros_like(llr), statistic, verdicts, {})
    people, best, by_person = scores.by_person(Tolerance())
    assert people == ("A", "B", "C")
    assert best[0, 0] == pytest.approx(math.log((math.exp(4.0) + math.exp(-30.0)) / 2))
    assert best[0, 1] == 1.5 and np.isnan(best[0, 2])
    assert [v.status for v in by_person[0]] == [CONSISTENT, CONSISTENT, NOT_ASSESSABLE]
