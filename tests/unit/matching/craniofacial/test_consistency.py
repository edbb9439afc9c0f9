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
    NOT_ASSESSABLE,
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


def test_a_point_beyond_its_limit_excludes_by_name_and_the_sum_alone_names_the_worst() -> None:
    tolerance = Tolerance(point_level=0.9999, global_level=0.999)
    limit = chi2.quantile(0.9999, 2)
    assert limit == pytest.approx(-2 * math.log(1e-4))
    assert judge_photo(_fit([1.0] * 10), tolerance).status == CONSISTENT
    verdict = judge_photo(_fit([1.0] * 9 + [limit + 0.1]), tolerance)
    assert verdict.status == INCONSISTENT and verdict.excluding == ("p9",)
    dof = 2 * 10 - 4
    spread = [10.0, 9.0, 8.0] + [5.0] * 7  # no point beyond its own limit, the whole beyond its
    assert sum(spread) > chi2.quantile(0.999, dof)
    verdict = judge_photo(_fit(spread), tolerance)
    assert verdict.status == INCONSISTENT and verdict.excluding == ("p0", "p1", "p2")
    assert judge_photo(_fit([1.0] * 9 + [limit + 0.1]), Tolerance(factor=2.0)).status == CONSISTENT
    assert tolerance.statistic(_fit([1.0] * 9 + [2 * limit])) == pytest.approx(2.0)


def test_a_view_is_inconsistent_only_when_every_photo_is_and_a_person_when_one_view_is() -> None:
    tolerance = Tolerance()
    bad, good, none = _fit([1.0] * 9 + [100.0]), _fit([1.0] * 10), not_comparable("no face was found")
    fits = [bad, good, none]
    verdicts = [judge_photo(f, tolerance) for f in fits]
    assert judge_view(verdicts, [tolerance.statistic(f) for f in fits]).status == CONSISTENT
    only_bad = judge_view(verdicts[:1] + verdicts[2:], [tolerance.statistic(bad), math.nan])
    assert only_bad.status == INCONSISTENT and only_bad.excluding == ("p9",)
    nothing = judge_view([verdicts[2]], [math.nan])
    assert nothing.status == NOT_ASSESSABLE and "no face was found" in nothing.reasons
    person = judge_person({"front": only_bad, "side": Verdict(CONSISTENT)})
    assert person.status == INCONSISTENT and person.views == {"front": INCONSISTENT, "side": CONSISTENT}
    assert judge_person({"front": nothing, "side": Verdict(CONSISTENT)}).status == CONSISTENT
    unknown = judge_person({"front": nothing})
    assert unknown.status == NOT_ASSESSABLE and "could not be compared" in unknown.sentence()
