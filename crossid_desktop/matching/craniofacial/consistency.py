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

**The likelihood-ratio bound** (``lr_limit``, the second ground). The tolerance above asks only
how far the landmarks lie from where the skull puts them, against the spread of one skull's
faces; a face can stay within it and still fit the skull much worse than the faces of other
people fit their skulls. So a person is inconsistent, too, when the craniofacial likelihood ratio
of all the skull's X-rays taken together (the calibrated fusion rule of the craniofacial evidence
alone, :mod:`.fusion`; never the Siamese network's distance) lies below ``lr_limit``: the
landmarks are then more than ``1 / lr_limit`` times as probable if the face is another person's
as if it is this skull's. For a calibrated ratio the share of true persons below a bound ``t`` is
at most ``t`` (``P(LR < t | same) = E[LR 1{LR < t} | different] <= t``), so ``0.01`` keeps the
false exclusions the bound adds within 1 % (the tolerance adds its own, about 0.5 %). Chosen on
the validation people of seed 1202 (0.7 % of them excluded, 89 % of impostors, against 78 % with
the tolerance alone; RESULTS section 9). The bound is a field of its own in the card
(``tolerance.lr_limit``): a model whose card states none (every model fitted before it), whose
fusion is not calibrated, or whose validation people were too few to support a ratio below the
bound (the fitted ratios are clipped at ``1 / n_genuine``; the refit then records none) uses the
tolerance alone. The decision uses the clipped ratio, the most extreme the validation data support;
the sentence says when the ratio lies at that clip. The landmarks named are those farthest from
where the skull puts them in the view whose own ratio speaks most against the person, by the
misfits the ratio weighs (nothing let free).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.matching.craniofacial import chi2
from crossid_desktop.matching.craniofacial.assess import Fit

CONSISTENT, INCONSISTENT, NOT_ASSESSABLE = "consistent", "inconsistent", "not assessable"
#: the exclusion rule the tolerance factors of a model card were set for
RULE = ("sum of the landmarks' own misfits without the largest, the model's leading patterns of variation let free (free_modes), "
        "against the chi-square quantile")
#: the likelihood-ratio bound of the models fitted since it was introduced (module docstring)
LR_LIMIT = 0.01
#: what a decision rests on (:attr:`Verdict.basis`)
TOLERANCE, LIKELIHOOD_RATIO = "tolerance", "likelihood ratio"


@dataclass(frozen=True)
class Tolerance:
    """The exclusion rule's settings (see the module docstring)."""

    global_level: float = 0.999
    point_level: float = 0.9999
    factor: float = 1.0
    lr_limit: float | None = None  # the likelihood-ratio bound (module docstring); None: the tolerance alone

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
    lr: float | None = None  # with the likelihood-ratio bound: the craniofacial ratio and the bound,
    lr_limit: float | None = None
    named_view: str | None = None  # the X-ray view ("front" / "side") whose photo's landmarks are named,
    lr_clipped: bool = False  # and whether the ratio lies at the most extreme value the validation data support

    @property
    def basis(self) -> str:
        """An inconsistency's ground: the tolerance, or the likelihood-ratio bound (when the decision carries a ratio)."""
        return LIKELIHOOD_RATIO if self.lr is not None else TOLERANCE

    def sentence(self) -> str:
        """The decision in plain words."""
        if self.status == INCONSISTENT:
            farthest = ", ".join(n.replace("_", " ") for n in self.excluding) or "not recorded"
            if self.basis == LIKELIHOOD_RATIO and self.lr is not None and self.lr_limit:
                assessed = sum(status != NOT_ASSESSABLE for status in self.views.values())
                within = "though within the stated tolerance in each X-ray compared, are, taken together," if assessed > 1 else \
                    "though within the stated tolerance, are"
                ratio = f"1 : {1.0 / max(self.lr, 1e-300):,.0f}" + (" or beyond, the most extreme the validation data support" if self.lr_clipped else "")
                return (f"The face is not consistent with the skull: its landmarks, {within} more than {1.0 / self.lr_limit:,.0f} times as "
                        f"probable if the face is someone else's as if it belongs to this skull (likelihood ratio from the landmarks alone "
                        f"{ratio}, not the ratio that orders the list; the farthest{_NAMED_VIEW.get(self.named_view or '', '')}: {farthest}).")
            return ("The face is not consistent with the skull: its landmarks, taken together, lie farther from where the skull puts them "
                    f"than the stated tolerance allows (the farthest: {farthest}).")
        if self.status == CONSISTENT:
            return "The face is consistent with the skull: its landmarks, taken together, lie within the stated tolerance of where the skull puts them."
        return "The skull and this face could not be compared: " + "; ".join(dict.fromkeys(self.reasons)) + "."


def farthest_names(names: Sequence[str], misfits: NDArray[np.float64], n: int = 3) -> tuple[str, ...]:
    """The ``n`` landmarks a decision names: those of largest misfit (ties in the given order)."""
    return tuple(names[i] for i in np.argsort(-np.asarray(misfits), kind="stable")[:n])


def judge_photo(fit: Fit, tolerance: Tolerance) -> Verdict:
    """The decision for one photo."""
    if not fit.assessable:
        return Verdict(NOT_ASSESSABLE, reasons=(fit.problem or "not comparable",))
    if tolerance.statistic(fit) > 1.0:
        return Verdict(INCONSISTENT, farthest_names(fit.names, fit.decision_misfit[0]))
    return Verdict(CONSISTENT)


def judge_view(verdicts: Sequence[Verdict], statistics: Sequence[float]) -> Verdict:
    """The decision for one view from a person's photo decisions and their tolerance statistics
    (:meth:`Tolerance.statistic`): the photo nearest to tolerance speaks for the view."""
    assessed = [(v, s) for v, s in zip(verdicts, statistics) if v.status != NOT_ASSESSABLE]
    if not assessed:
        return Verdict(NOT_ASSESSABLE, reasons=tuple(r for v in verdicts for r in v.reasons) or ("no photo of this view",))
    return min(assessed, key=lambda pair: pair[1])[0]


#: how a likelihood-ratio exclusion's sentence says which comparison its landmarks come from
_NAMED_VIEW = {"front": " (frontal X-ray and frontal photo)", "side": " (lateral X-ray and profile photo)"}


def judge_person(by_view: dict[str, Verdict], *, ln_lr: float | None = None, lr_limit: float | None = None,
                 farthest: Sequence[str] = (), named_view: str | None = None, clipped: bool = False) -> Verdict:
    """A person's decision from their views' decisions (``{"front": ..., "side": ...}``) and, with
    ``lr_limit``, the craniofacial natural-log likelihood ratio ``ln_lr`` of all the assessed views
    together (module docstring; ``farthest``: the landmarks to name then, those farthest from
    where the skull puts them, in the comparison of the X-ray view ``named_view``; ``clipped``:
    ``ln_lr`` lies at the fusion's clip)."""
    statuses = {view: v.status for view, v in by_view.items()}
    inconsistent = [v for v in by_view.values() if v.status == INCONSISTENT]
    if inconsistent:
        return Verdict(INCONSISTENT, tuple(n for v in inconsistent for n in v.excluding), views=statuses)
    assessed = any(v.status == CONSISTENT for v in by_view.values())
    if assessed and lr_limit and ln_lr is not None and math.isfinite(ln_lr) and ln_lr < math.log(lr_limit):
        return Verdict(INCONSISTENT, tuple(farthest), views=statuses, lr=math.exp(ln_lr), lr_limit=lr_limit, named_view=named_view, lr_clipped=clipped)
    if assessed:
        return Verdict(CONSISTENT, views=statuses)
    return Verdict(NOT_ASSESSABLE, reasons=tuple(r for v in by_view.values() for r in v.reasons), views=statuses)
