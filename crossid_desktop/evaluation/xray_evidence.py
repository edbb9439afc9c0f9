"""The evidence of X-ray queries about gallery people, fused: tables, fitting and ranking.

An :class:`EvidenceTable` holds, for every query person and every gallery person, the four
numbers of :data:`~crossid_desktop.matching.craniofacial.fusion.FEATURES` (NaN where absent)
and each view's craniofacial verdict. From it come the validation rows that fit the fusion
rules (:func:`fit_fusion`: every pattern of features, so that a pair with a view that cannot be
assessed still gets a calibrated ratio), the exclusion tolerance of each view (:func:`fit_view_factors`),
and the fused log likelihood ratios by which people are ranked (:func:`fused_ln_lr`).

Query configurations: ``"front"`` (the frontal X-ray alone), ``"side"``, and ``"fused"`` (both
X-rays of one skull).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.evaluation.craniofacial_scores import ViewScores
from crossid_desktop.matching.craniofacial.consistency import NOT_ASSESSABLE, Tolerance, Verdict, judge_person
from crossid_desktop.matching.craniofacial.fusion import FEATURES, Fusion, fit_rule, pattern_of

#: the narrowest tolerance factor a view may be given (a guard against a degenerate validation set)
MIN_FACTOR = 0.25
CONFIGURATIONS = {"front": ("cf_front", "siamese_front"), "side": ("cf_side", "siamese_side"), "fused": FEATURES}


@dataclass(frozen=True, eq=False)
class EvidenceTable:
    """``values`` ``(Q, P, 4)`` (features in :data:`FEATURES` order, NaN absent) for query people
    ``queries`` and gallery people ``people``; ``verdicts[view][q][p]`` craniofacial decisions;
    ``statistics[view]`` ``(Q, P)`` each person's smallest tolerance statistic in that view."""

    queries: tuple[str, ...]
    people: tuple[str, ...]
    values: NDArray[np.float64]
    verdicts: dict[str, list[list[Verdict]]]
    statistics: dict[str, NDArray[np.float64]]

    @property
    def genuine(self) -> NDArray[np.bool_]:
        """``(Q, P)`` True where query and gallery person are the same."""
        return np.asarray(self.queries)[:, None] == np.asarray(self.people)[None, :]

    def features(self, configuration: str, *, siamese: bool = True, craniofacial: bool = True) -> tuple[str, ...]:
        """The features a configuration uses (the Siamese or the craniofacial ones may be left out)."""
        return tuple(f for f in CONFIGURATIONS[configuration] if (siamese or not f.startswith("siamese")) and (craniofacial or not f.startswith("cf")))


def evidence_table(scores: dict[str, ViewScores], tolerance: Tolerance | Mapping[str, Tolerance], siamese: dict[str, tuple[tuple[str, ...], tuple[str, ...], NDArray[np.float64]]] | None = None) -> EvidenceTable:
    """Assemble the table from the craniofacial scores of each view (:func:`~.craniofacial_scores.view_scores`)
    and, optionally, the Siamese distances per view: ``{view: (query subjects, gallery photo subjects, (Q, G) distances)}``.
    ``tolerance``: one for every view, or each view's (:meth:`~crossid_desktop.matching.craniofacial.model_file.CraniofacialModel.tolerance_of`)."""
    queries = sorted({s for v in scores.values() for s in v.query_subjects} | {s for v in (siamese or {}).values() for s in v[0]})
    people = sorted({p.subject_id for v in scores.values() for p in v.photos} | {s for v in (siamese or {}).values() for s in v[1]})
    q_index, p_index = {s: i for i, s in enumerate(queries)}, {s: i for i, s in enumerate(people)}
    values = np.full((len(queries), len(people), len(FEATURES)), np.nan)
    verdicts: dict[str, list[list[Verdict]]] = {}
    statistics: dict[str, NDArray[np.float64]] = {}
    for view, view_scores in scores.items():
        view_people, best, view_verdicts = view_scores.by_person(tolerance[view] if isinstance(tolerance, Mapping) else tolerance)
        column = FEATURES.index(f"cf_{view}")
        rows = [q_index[s] for s in view_scores.query_subjects]
        cols = [p_index[s] for s in view_people]
        values[np.ix_(rows, cols, [column])] = best[:, :, None]
        grid = [[Verdict(NOT_ASSESSABLE, reasons=(f"no {view} X-ray",)) for _ in people] for _ in queries]
        stats = np.full((len(queries), len(people)), np.nan)
        for r, row in zip(rows, view_verdicts):
            for c, verdict in zip(cols, row):
                grid[r][c] = verdict
        owners = np.array([p.subject_id for p in view_scores.photos])
        for c, person in zip(cols, view_people):
            person_stats = view_scores.statistic[:, owners == person]
            has = np.isfinite(person_stats).any(axis=1)
            stats[np.array(rows)[has], c] = np.nanmin(person_stats[has], axis=1)
        verdicts[view], statistics[view] = grid, stats
    for view, (query_subjects, photo_subjects, distances) in (siamese or {}).items():
        column = FEATURES.index(f"siamese_{view}")
        for q, subject in enumerate(query_subjects):
            for person in set(photo_subjects):
                mask = np.asarray(photo_subjects) == person
                values[q_index[subject], p_index[person], column] = -float(distances[q, mask].min())
    return EvidenceTable(tuple(queries), tuple(people), values, verdicts, statistics)


def fit_fusion(table: EvidenceTable, *, min_genuine: int = 10) -> Fusion:
    """A rule for every non-empty subset of the features, fitted on the validation pairs that have them."""
    genuine = table.genuine
    rules = {}
    for size in range(1, len(FEATURES) + 1):
        for subset in itertools.combinations(FEATURES, size):
            cols = [FEATURES.index(f) for f in subset]
            x = table.values[:, :, cols]
            ok = np.isfinite(x).all(axis=2)
            if (ok & genuine).sum() < min_genuine or (ok & ~genuine).sum() < min_genuine:
                continue
            rules["+".join(subset)] = fit_rule(subset, x[ok & genuine], x[ok & ~genuine])
    return Fusion(rules)


def fused_ln_lr(table: EvidenceTable, fusion: Fusion, features: Sequence[str], *, clipped: bool = True, skip_missing: bool = False) -> NDArray[np.float64]:
    """``(Q, P)`` natural-log LRs using ``features`` where present (NaN where none is);
    ``clipped=False``: the unclipped combination that breaks ties (:meth:`Fusion.score`);
    ``skip_missing``: NaN for a pattern the fusion has no rule for (as the search skips the
    exclusion's bound then), instead of :class:`ModelError`."""
    out = np.full(table.values.shape[:2], np.nan)
    cols = [FEATURES.index(f) for f in features]
    combine = fusion.ln_lr if clipped else fusion.score
    for q in range(out.shape[0]):
        for p in range(out.shape[1]):
            present = {f: float(table.values[q, p, c]) for f, c in zip(features, cols) if math.isfinite(table.values[q, p, c])}
            if pattern_of(present) and (not skip_missing or pattern_of(present) in fusion.rules):
                out[q, p] = combine(present)
    return out


def person_verdicts(table: EvidenceTable, views: Sequence[str]) -> list[list[Verdict]]:
    """Each query-person pair's decision from the given views (:func:`judge_person`)."""
    return [[judge_person({v: table.verdicts[v][q][p] for v in views if v in table.verdicts}) for p in range(len(table.people))]
            for q in range(len(table.queries))]


#: the tail fit of :func:`tail_quantile` uses this share of the largest values, and at least
#: :data:`TAIL_MIN` of them
TAIL_SHARE = 0.2
TAIL_MIN = 10


def tail_quantile(values: NDArray[np.float64], exceed: float) -> float:
    """The value a new draw exceeds with probability ``exceed``, from positive ``values``: a
    Pareto tail fitted to the largest :data:`TAIL_SHARE` of them (Hill's estimator of the tail
    index) and extrapolated to ``exceed`` (Weissman's estimator), never below the empirical
    quantile (the next observed value up).

    Why not the empirical quantile alone: with 150 validation people and ``exceed`` 0.25 % it is
    their largest value, which a new draw exceeds with probability about 1/151 (0.7 %), not
    0.25 %; the true persons' statistics have a heavy tail (a face of unusual build misfits its own
    skull many times more than the median face), so the tail is extrapolated beyond the sample.
    With fewer than :data:`TAIL_MIN` + 1 values the empirical quantile is returned."""
    if not 0.0 < exceed < 1.0:
        raise ValueError(f"The share a new draw may exceed must lie between 0 and 1, not {exceed}.")
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        raise ValueError("No positive value to fit a tail to.")
    empirical = float(np.quantile(values, 1.0 - exceed, method="higher"))
    ordered = np.sort(values)[::-1]
    k = max(TAIL_MIN, int(round(TAIL_SHARE * ordered.size)))
    if ordered.size <= k:
        return empirical
    gamma = float(np.mean(np.log(ordered[:k]) - np.log(ordered[k])))
    return max(empirical, float(ordered[k] * (k / (ordered.size * exceed)) ** gamma))


def fit_view_factors(table: EvidenceTable, views: Sequence[str], *, false_exclusion: float = 0.005) -> dict[str, float]:
    """Each view's tolerance factor, so that at most ``false_exclusion`` of new true persons are
    excluded from their own skull by any of ``views`` (each view gets an equal share): the value
    the validation genuine pairs' statistic in that view exceeds with that share, from the tail
    fitted to them (:func:`tail_quantile`; cards fitted before 2026-12-03 took the empirical
    quantile, the largest of 150 validation people, which let about 0.7 % past in each view). It
    may lie below 1 (the model's spread can be wider than the true persons' misfits need), never
    below :data:`MIN_FACTOR`; a view whose genuine pairs were all not assessable is left out."""
    share = false_exclusion / max(len(views), 1)
    factors = {}
    for view in views:
        if view not in table.statistics:
            continue
        genuine = table.statistics[view][table.genuine]
        genuine = genuine[np.isfinite(genuine)]
        if genuine.size:
            factors[view] = max(MIN_FACTOR, tail_quantile(genuine, share) if (genuine > 0).any() else 0.0)
    if not factors:
        raise ValueError("No genuine pair was assessable; the tolerance cannot be set.")
    return factors


def exclusion_rates(table: EvidenceTable, views: Sequence[str], *, factor: float | Mapping[str, float] = 1.0,
                    fusion: Fusion | None = None, lr_limit: float | None = None) -> dict[str, float]:
    """True-negative rate (impostors marked inconsistent), false-exclusion rate (true persons
    marked inconsistent) and the share not assessable, over the query-person pairs, with the
    tolerance widened by ``factor`` beyond the one the table was scored with. A pair is
    inconsistent when a view's best photo lies beyond tolerance (statistic > 1) or, with
    ``fusion`` (calibrated) and ``lr_limit``, when the craniofacial likelihood ratio of ``views``
    together lies below ``lr_limit`` (:func:`~crossid_desktop.matching.craniofacial.consistency.judge_person`);
    not assessable when no view could be compared. ``factor``: one for every view or each view's."""
    stats = np.stack([table.statistics[v] / (factor[v] if isinstance(factor, Mapping) else factor) for v in views if v in table.statistics], axis=2)
    assessed = np.isfinite(stats).any(axis=2)
    inconsistent = (np.where(np.isfinite(stats), stats, -np.inf) > 1.0).any(axis=2)
    if fusion is not None and fusion.calibrated and lr_limit:
        ln_lr = fused_ln_lr(table, fusion, [f"cf_{v}" for v in views], skip_missing=True)
        inconsistent |= assessed & (np.where(np.isfinite(ln_lr), ln_lr, np.inf) < math.log(lr_limit))
    genuine = table.genuine
    return {"tnr": float(inconsistent[~genuine].mean()), "fer": float(inconsistent[genuine].mean()),
            "not_assessable": float((~assessed).mean()), "n_genuine": int(genuine.sum()), "n_impostor": int((~genuine).sum())}
