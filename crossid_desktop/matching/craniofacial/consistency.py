"""Exclusion support: is a candidate's face consistent with the skull, inconsistent, or not assessable?

Craniofacial comparison is strongest at excluding: a face whose landmarks lie where the skull
cannot put them belongs to someone else. A photo is **inconsistent** with the skull when its
landmarks, taken together, lie too far from where the skull puts them: the sum of the
landmarks' own misfits ``d_j^2`` (each weighs a landmark's residual against its own spread),
**leaving out the largest**, exceeds the chi-square quantile at ``global_level`` of the degrees
of freedom that remain (``2 (n - 1) - 4 - k``), times ``factor``. So one landmark, however far out
of place, cannot exclude a person on its own (detectors misplace single points, and so may an
examiner's hand); a second one must lie far out too, or many a little. The misfits weighed here
are those of a registration that also lets free the model's ``k`` leading patterns of variation
(``free_modes`` of the view: how the faces of one skull differ most; in the bundled model the
raised or lowered brows of a frontal photo, and the lower lip and the chin's soft tissue of a
profile), which a skull cannot tell: a face is not excluded for its expression or its fullness
alone, and the tolerance can then be set narrower for everything else (on the validation
people 66 -> 78 % of impostors excluded at no false exclusion; RESULTS section 9). The landmarks named
are the three farthest from where the skull puts them (by those ``d_j^2``). The table still shows
each landmark against its own allowance (``d_j^2`` within the two-degree quantile at
``point_level``, times ``factor``), for the examiner to check, not as a rule. ``factor`` is set
on validation people, for each view, so that at most about 0.5 % of true persons are excluded
(see the model card); it may lie below 1 where the model's spread is wider than the true
persons' misfits need. (The rule was one landmark beyond its own allowance, or the whole
Mahalanobis misfit beyond its quantile: with the detectors' landmarks the validation people's
true pairs needed tolerances under which it marked 10 % of impostors inconsistent, against
44 % with this rule before the free patterns; RESULTS section 9.) :data:`RULE` names the rule in the model card: a model whose factors were set for
another rule is refused (:mod:`.model_file`).

A person with several photos of a view is inconsistent in that view only when every
assessable photo is; a person is inconsistent when one view is (front and lateral are
independent evidence), consistent when a view was assessed and none is inconsistent, and not
assessable when no photo of theirs could be compared, with the reasons.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from crossid_desktop.matching.craniofacial import chi2
from crossid_desktop.matching.craniofacial.assess import Fit

CONSISTENT, INCONSISTENT, NOT_ASSESSABLE = "consistent", "inconsistent", "not assessable"
#: the exclusion rule the tolerance factors of a model card were set for
RULE = ("sum of the landmarks' own misfits without the largest, the model's leading patterns of variation let free (free_modes), "
        "against the chi-square quantile")


@dataclass(frozen=True)
class Tolerance:
    """The exclusion rule's settings (see the module docstring)."""

    global_level: float = 0.999
    point_level: float = 0.9999
    factor: float = 1.0

    def point_limit(self) -> float:
        """A landmark's own allowance for ``d_j^2`` (shown in the correspondence table; the
        decision weighs the landmarks together, :meth:`statistic`)."""
        return self.factor * chi2.quantile(self.point_level, 2)

    def global_limit(self, dof: int) -> float:
        return self.factor * chi2.quantile(self.global_level, dof)

    def statistic(self, fit: Fit) -> float:
        """How far beyond tolerance a fit lies: > 1 means inconsistent (NaN when not assessable)."""
        if not fit.assessable:
            return math.nan
        misfits, dof = fit.decision_misfit
        if misfits.size < 2:
            return 0.0
        return float(misfits.sum() - misfits.max()) / self.global_limit(max(dof - 2, 1))


@dataclass(frozen=True)
class Verdict:
    """A decision with its grounds: ``status`` one of consistent / inconsistent / not assessable;
    ``excluding`` the landmarks farthest from where the skull puts them (an exclusion); ``reasons`` why it could not be assessed."""

    status: str
    excluding: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    views: dict[str, str] = field(default_factory=dict)

    def sentence(self) -> str:
        """The decision in plain words."""
        if self.status == INCONSISTENT:
            farthest = ", ".join(n.replace("_", " ") for n in self.excluding) or "not recorded"
            return ("The face is not consistent with the skull: its landmarks, taken together, lie farther from where the skull puts them "
                    f"than the stated tolerance allows (the farthest: {farthest}).")
        if self.status == CONSISTENT:
            return "The face is consistent with the skull: its landmarks, taken together, lie within the stated tolerance of where the skull puts them."
        return "The skull and this face could not be compared: " + "; ".join(dict.fromkeys(self.reasons)) + "."


def judge_photo(fit: Fit, tolerance: Tolerance) -> Verdict:
    """The decision for one photo."""
    if not fit.assessable:
        return Verdict(NOT_ASSESSABLE, reasons=(fit.problem or "not comparable",))
    if tolerance.statistic(fit) > 1.0:
        worst = np.argsort(-fit.decision_misfit[0], kind="stable")[:3]
        return Verdict(INCONSISTENT, tuple(fit.names[i] for i in worst))
    return Verdict(CONSISTENT)


def judge_view(verdicts: Sequence[Verdict], statistics: Sequence[float]) -> Verdict:
    """The decision for one view from a person's photo decisions and their tolerance statistics
    (:meth:`Tolerance.statistic`): the photo nearest to tolerance speaks for the view."""
    assessed = [(v, s) for v, s in zip(verdicts, statistics) if v.status != NOT_ASSESSABLE]
    if not assessed:
        return Verdict(NOT_ASSESSABLE, reasons=tuple(r for v in verdicts for r in v.reasons) or ("no photo of this view",))
    return min(assessed, key=lambda pair: pair[1])[0]


def judge_person(by_view: dict[str, Verdict]) -> Verdict:
    """A person's decision from their views' decisions (``{"front": ..., "side": ...}``)."""
    statuses = {view: v.status for view, v in by_view.items()}
    inconsistent = [v for v in by_view.values() if v.status == INCONSISTENT]
    if inconsistent:
        return Verdict(INCONSISTENT, tuple(n for v in inconsistent for n in v.excluding), views=statuses)
    if any(v.status == CONSISTENT for v in by_view.values()):
        return Verdict(CONSISTENT, views=statuses)
    return Verdict(NOT_ASSESSABLE, reasons=tuple(r for v in by_view.values() for r in v.reasons), views=statuses)
