"""The exclusion rule's decisions for photos, views and people, from hand-made fits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossid_desktop.matching.craniofacial import chi2
from crossid_desktop.matching.craniofacial.assess import Fit, not_comparable
from crossid_desktop.matching.craniofacial.consistency import (
    CONSISTENT,
    INCONSISTENT,
    LIKELIHOOD_RATIO,
    NOT_ASSESSABLE,
    TOLERANCE,
    Tolerance,
    Verdict,
    judge_person,
    judge_photo,
    judge_view,
)
from crossid_desktop.matching.craniofacial.geometry import IDENTITY


def _fit(point_misfit: list[float], misfit: float | None = None) -> Fit:
    n = len(point_misfit)
    names = tuple(f"p{i}" for i in range(n))
    total = float(sum(point_misfit)) if misfit is None else misfit
    return Fit(names, IDENTITY, np.zeros((n, 2)), np.array(point_misfit, float), np.tile(np.eye(2), (n, 1, 1)), total, 2 * n - 4, 0.0)


def test_the_landmarks_taken_together_exclude_and_one_alone_never_does() -> None:
    """The sum of the landmarks' own misfits without the largest, against the chi-square quantile
    of the degrees of freedom that remain (times the factor), decides; the three farthest are named."""
    tolerance = Tolerance(point_level=0.9999, global_level=0.999)
    limit = chi2.quantile(0.999, 2 * 9 - 4)  # ten landmarks, the largest left out
    assert limit == pytest.approx(36.12, abs=0.01)  # the chi-square 0.999 quantile with 14 degrees of freedom
    assert judge_photo(_fit([1.0] * 10), tolerance).status == CONSISTENT
    gross = [1.0] * 9 + [1e6]  # one landmark wildly out of place
    assert judge_photo(_fit(gross), tolerance).status == CONSISTENT
    assert tolerance.statistic(_fit(gross)) == pytest.approx(9.0 / limit)
    two = [1.0] * 8 + [40.0, 1e6]  # a second one far out too: excluded
    verdict = judge_photo(_fit(two), tolerance)
    assert verdict.status == INCONSISTENT and verdict.excluding == ("p9", "p8", "p0")
    spread = [5.0, 10.0, 4.0, 9.0, 8.0] + [1.0] * 5  # 42 in all, 32 without the largest: within
    assert judge_photo(_fit(spread), tolerance).status == CONSISTENT
    wider = [6.0, 10.0, 6.0, 9.0, 8.0] + [2.0] * 5  # 39 without the largest
    verdict = judge_photo(_fit(wider), tolerance)
    assert verdict.status == INCONSISTENT and verdict.excluding == ("p1", "p3", "p4")
    assert tolerance.statistic(_fit(wider)) == pytest.approx(39.0 / limit)
    assert judge_photo(_fit(wider), Tolerance(factor=1.1)).status == CONSISTENT
    assert Tolerance(factor=2.0).statistic(_fit(wider)) == pytest.approx(39.0 / (2 * limit))
    assert "(the farthest: p1, p3, p4)" in verdict.sentence()


def test_a_view_is_inconsistent_only_when_every_photo_is_and_a_person_when_one_view_is() -> None:
    tolerance = Tolerance()
    bad, good, none = _fit([1.0] * 8 + [60.0, 100.0]), _fit([1.0] * 10), not_comparable("no face was found")  # 68 > 36.12
    fits = [bad, good, none]
    verdicts = [judge_photo(f, tolerance) for f in fits]
    assert judge_view(verdicts, [tolerance.statistic(f) for f in fits]).status == CONSISTENT
    only_bad = judge_view(verdicts[:1] + verdicts[2:], [tolerance.statistic(bad), math.nan])
    assert only_bad.status == INCONSISTENT and only_bad.excluding == ("p9", "p8", "p0")
    nothing = judge_view([verdicts[2]], [math.nan])
    assert nothing.status == NOT_ASSESSABLE and "no face was found" in nothing.reasons
    person = judge_person({"front": only_bad, "side": Verdict(CONSISTENT)})
    assert person.status == INCONSISTENT and person.views == {"front": INCONSISTENT, "side": CONSISTENT}
    assert judge_person({"front": nothing, "side": Verdict(CONSISTENT)}).status == CONSISTENT
    unknown = judge_person({"front": nothing})
    assert unknown.status == NOT_ASSESSABLE and "could not be compared" in unknown.sentence()


def test_a_person_within_tolerance_is_inconsistent_when_the_craniofacial_ratio_lies_below_the_bound() -> None:
    """The second ground: the craniofacial likelihood ratio of all the assessed views together
    below ``lr_limit`` excludes a person whose views are each within tolerance; the sentence says
    which ground and names the landmarks given; no bound, or a ratio at or above it, leaves the
    person consistent; a person no view could assess stays not assessable whatever the ratio."""
    within = {"front": Verdict(CONSISTENT), "side": Verdict(CONSISTENT)}
    ln_lr = math.log(1 / 250)
    person = judge_person(within, ln_lr=ln_lr, lr_limit=0.01, farthest=("nasion_soft", "menton_soft"), named_view="side")
    assert person.status == INCONSISTENT and person.basis == LIKELIHOOD_RATIO
    assert person.excluding == ("nasion_soft", "menton_soft") and person.views == {"front": CONSISTENT, "side": CONSISTENT}
    assert person.lr == pytest.approx(1 / 250)
    sentence = person.sentence()
    assert "though within the stated tolerance in each X-ray compared, are, taken together, more than 100 times as probable if the face is someone else's" in sentence
    assert ("(likelihood ratio from the landmarks alone 1 : 250, not the ratio that orders the list; the farthest (lateral X-ray and profile photo): "
            "nasion soft, menton soft).") in sentence
    one = judge_person({"front": Verdict(CONSISTENT), "side": Verdict(NOT_ASSESSABLE)}, ln_lr=math.log(1 / 150), lr_limit=0.01, named_view="front",
                       clipped=True).sentence()  # one X-ray compared, its ratio at the clip
    assert "its landmarks, though within the stated tolerance, are more than 100 times" in one
    assert "1 : 150 or beyond, the most extreme the validation data support" in one and "(frontal X-ray and frontal photo)" in one
    assert judge_person(within, ln_lr=ln_lr).status == CONSISTENT  # no bound: the tolerance alone
    assert judge_person(within, ln_lr=math.log(0.01), lr_limit=0.01).status == CONSISTENT  # at the bound: not below it
    assert judge_person(within, ln_lr=math.log(0.02), lr_limit=0.01).status == CONSISTENT
    assert judge_person(within, ln_lr=math.nan, lr_limit=0.01).status == CONSISTENT
    nothing = Verdict(NOT_ASSESSABLE, reasons=("no face was found",))
    assert judge_person({"front": nothing}, ln_lr=ln_lr, lr_limit=0.01).status == NOT_ASSESSABLE
    # a view beyond tolerance keeps its own ground and landmarks
    beyond = Verdict(INCONSISTENT, ("p1", "p2", "p3"))
    both = judge_person({"front": beyond, "side": Verdict(CONSISTENT)}, ln_lr=ln_lr, lr_limit=0.01, farthest=("x",))
    assert both.basis == TOLERANCE and both.excluding == ("p1", "p2", "p3") and "stated tolerance" in both.sentence()
