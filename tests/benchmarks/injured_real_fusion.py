"""Injured faces on real photos: the occlusion transplant (``injured_real_transplant.py``) with a
wider re-ranked set and with subject-level fusion over the gallery's photos of a subject.

**Scope** (which photos are re-scored by the transplant): ``photos:K``, the query's ``K``
nearest photos by the plain descriptor (the product's rule until now), or ``subjects:N``, every
photo of the query's ``N`` nearest subjects (subjects by their best photo). A re-scored photo's
score is the mean of the composite's and the plain distance (the ``mean`` score).

**Fusion** (a subject's score from its re-scored photos' scores ``s``, ascending): ``min`` (the
best photo, as before), ``mean2`` (the mean of the best two), ``mean`` (of all), ``centroid``
(the mean of the query's distance to the mean of the composites' descriptors and to the mean of
the photos' plain descriptors), ``min+centroid`` (their mean). A subject with one photo gets
that photo's score under every fusion except the centroid ones, where it is the same number.
Subjects outside the scope come behind every re-scored one, in their order by the same fusion
of their plain distances.

The composites' distances and descriptors are cached per probe and photo under
``<work>/transplant/fusion__...npz`` and filled as a scope needs them; ``--prefill`` reuses the
distances of an ``injured_real_transplant.py`` run whose masks are the same (no descriptors:
the centroid fusions are then not available for those photos and the run computes them).

``--curves`` adds each recipe's rank-1 of the injured probes by severity, by number of injuries
and by kind of injury (``injured_real.curves``, the bins of ``injured_real.py``), printed and in
the ``--json`` rows.

Run (tuning people; the bundled segmenter)::

    .venv/bin/python tests/benchmarks/injured_real_fusion.py --work W --part tune --mask seg \\
        --segmenter resources/models/injury_segmenter.pt --need subjects:10 photos:20 \\
        --recipes photos:10/min photos:20/min subjects:5/min subjects:10/mean2 ...
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from injured_real import FACES, curves, figures, injury_kinds, print_curves
from injured_real_data import REPORT_SETS, Cache
from injured_real_transplant import _tag, flip_described, gallery_set, masks_of, probe_specs
from injured_real_variants import descriptors, spec_crops

from crossid_desktop.matching.transplant import FUSIONS as PRODUCT_FUSIONS
from crossid_desktop.matching.transplant import TransplantRanking, composite, fused
from crossid_desktop.matching.transplant import scope_photos as product_scope

FUSIONS = ("min", "mean2", "mean", "centroid", "min+centroid")
FEATHER = 2.0


def scope_photos(plain: np.ndarray, column: np.ndarray, scope: str) -> np.ndarray:
    """The photos a scope (``photos:K`` or ``subjects:N``) re-scores for one probe (indices into
    the gallery), as the product chooses them."""
    kind, size = scope.split(":")
    return product_scope(plain, column, TransplantRanking(k=int(size), scope=kind))


class Composites:
    """Per probe, the transplant distance (and composite descriptor) of each gallery photo
    computed so far; ``nan`` where not computed."""

    def __init__(self, path: Path, n: int, g: int) -> None:
        self.path = path
        if path.exists():
            data = np.load(path)
            self.dist, self.desc = data["dist"], data["desc"]
        else:
            self.dist = np.full((n, g), np.nan)
            self.desc = np.full((n, g, 128), np.nan, np.float32)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, dist=self.dist, desc=self.desc)
        tmp.replace(self.path)


def fill(cache: Cache, spec: str, part: str, mask: str, seg_path: Path | None, needs: list[str], prefill: str | None,
         g_crops: np.ndarray, g_vectors: np.ndarray, column: np.ndarray, descriptors_too: bool) -> tuple[np.ndarray, np.ndarray, Composites, np.ndarray]:
    """The plain distances ``(n, G)``, the query descriptors, the composites (filled for the
    union of the scopes in ``needs``) and the masks' emptiness of a probe spec."""
    crops, probes = spec_crops(cache, spec)
    q = descriptors(cache, spec, "dlib-flip", None).mean(axis=0)
    plain = np.sqrt(((q[:, None, :].astype(np.float64) - g_vectors[None]) ** 2).sum(-1))
    masks = masks_of(cache, spec, crops, probes, mask, seg_path)
    tag = mask if mask == "oracle" else f"seg-{_tag(seg_path)}"
    store = Composites(cache.work / "transplant" / f"fusion__{part}__{spec.replace(':', '__')}__{tag}__f{FEATHER:g}.npz", len(crops), len(g_vectors))
    if prefill:
        old = np.load(cache.work / "transplant" / f"{part}__{spec.replace(':', '__')}__{prefill}__query__k10__f{FEATHER:g}.npz")
        rows = np.arange(len(crops))[:, None]
        empty = np.isnan(store.dist[rows, old["top"]])
        store.dist[rows, old["top"]] = np.where(empty, old["new"], store.dist[rows, old["top"]])
    start, done = time.time(), 0
    for i in range(len(crops)):
        wanted = np.unique(np.concatenate([scope_photos(plain[i], column, s) for s in needs]))
        if not masks[i].any():  # nothing to transplant: the composite is the gallery photo
            store.dist[i, wanted], store.desc[i, wanted] = plain[i, wanted], g_vectors[wanted]
            continue
        missing = wanted[np.isnan(store.dist[i, wanted]) | (descriptors_too & np.isnan(store.desc[i, wanted, 0]))]
        if len(missing):
            made = flip_described([composite(g_crops[j], crops[i], masks[i], FEATHER) for j in missing])
            store.dist[i, missing] = np.sqrt(((made.astype(np.float64) - q[i]) ** 2).sum(-1))
            store.desc[i, missing] = made
            done += len(missing)
        if i % 25 == 0:
            print(f"  composites {spec} ({tag}): probe {i}/{len(crops)}, {done} composites in {time.time() - start:.0f} s", flush=True)
            store.save()
    store.save()
    print(f"  composites {spec}: {done} described in {time.time() - start:.0f} s", flush=True)
    return plain, q, store, np.array([m.any() for m in masks])


def fused_scores(scores: np.ndarray, photos: np.ndarray, column: np.ndarray, n_subjects: int, fusion: str,
                 q: np.ndarray | None = None, descs: np.ndarray | None = None, plain_descs: np.ndarray | None = None) -> np.ndarray:
    """Subject scores ``(n_subjects,)`` (``inf`` for subjects without a photo in ``photos``)
    fused over the photos ``photos`` with scores ``scores[photos]`` (module docstring)."""
    if fusion in PRODUCT_FUSIONS:  # the product's own code (matching/transplant.py)
        return fused(scores, photos, column, n_subjects, fusion, q, descs[photos], plain_descs[photos])
    out = np.full(n_subjects, np.inf)
    for s in np.unique(column[photos]):
        own = photos[column[photos] == s]
        values = np.sort(scores[own])
        out[s] = values[:2].mean() if fusion == "mean2" else values.mean()
    return out


def subject_front(plain: np.ndarray, q: np.ndarray, dist: np.ndarray, desc: np.ndarray, g_vectors: np.ndarray, column: np.ndarray,
                  recipe: str, keep: np.ndarray) -> np.ndarray:
    """One probe's subject scores under ``recipe`` (``scope/fusion``; ``plain/...``: no
    re-ranking) over the gallery photos ``keep``; subjects outside the scope shifted behind."""
    scope, fusion = recipe.split("/")
    n_subjects = int(column.max()) + 1
    row = np.where(keep, plain, np.inf)
    everything = np.flatnonzero(keep)
    if scope == "plain":
        return fused_scores(row, everything, column, n_subjects, fusion, q, g_vectors, g_vectors)
    chosen = scope_photos(row, column, scope)
    chosen = chosen[keep[chosen]]
    if np.isnan(dist[chosen]).any():
        raise RuntimeError(f"composites missing for {recipe}: compute them with --need")
    scores = row.copy()
    scores[chosen] = (dist[chosen] + row[chosen]) / 2
    front = fused_scores(scores, chosen, column, n_subjects, fusion, q, desc, g_vectors)
    back = fused_scores(row, everything, column, n_subjects, fusion, q, g_vectors, g_vectors)
    inside = np.isfinite(front)
    shift = max(0.0, front[inside].max() - back[~inside].min() + 1e-9) if (~inside).any() else 0.0
    return np.where(inside, front, back + shift)


def probe_rank(i: int, plain: np.ndarray, q: np.ndarray, store: Composites, g_vectors: np.ndarray, column: np.ndarray,
               truth: int, recipe: str, several: np.ndarray) -> tuple[int, int, int, int]:
    """For probe ``i`` under ``recipe``: the true subject's rank, its rank among the subjects of
    several photos (``several``) only, the impostor ranked first, and the true subject's rank
    when the gallery keeps only its first photo (the others of several photos keep theirs)."""
    keep = np.ones(len(column), bool)
    front = subject_front(plain[i], q[i], store.dist[i], store.desc[i], g_vectors, column, recipe, keep)
    others = front.copy()
    others[truth] = np.inf
    better = front < front[truth]
    own = np.flatnonzero(column == truth)
    keep[own[1:]] = False
    try:
        single = subject_front(plain[i], q[i], store.dist[i], store.desc[i], g_vectors, column, recipe, keep)
    except RuntimeError:  # a photo now in the scope has no composite computed: not counted (0)
        return 1 + int(better.sum()), 1 + int((better & several).sum()), int(np.argmin(others)), 0
    return 1 + int(better.sum()), 1 + int((better & several).sum()), int(np.argmin(others)), 1 + int((single < single[truth]).sum())


def evaluate(cache: Cache, part: str, mask: str, seg_path: Path | None, needs: list[str], recipes: list[str], prefill: str | None,
             mix: str, sets: tuple[str, ...], with_curves: bool = False) -> list[dict[str, Any]]:
    """Each recipe's figures (``print_rows``); ``with_curves``: also the injured probes' rank-1
    by severity, number of injuries and kind of injury (``injured_real.curves``)."""
    g_crops, g_vectors, g_subjects = gallery_set(cache, part)
    names, column = np.unique(np.asarray(g_subjects, dtype=object), return_inverse=True)
    photos_of = np.bincount(column)
    descriptors_too = any("centroid" in r for r in recipes)
    ranks: dict[str, dict[str, list[int]]] = {r: {"injured": [], "clean": []} for r in recipes}
    impostor_multi: dict[str, dict[str, list[bool]]] = {r: {"injured": [], "clean": []} for r in recipes}
    among_several: dict[str, dict[str, list[int]]] = {r: {"injured": [], "clean": []} for r in recipes}
    truth_single: dict[str, dict[str, list[int]]] = {r: {"injured": [], "clean": []} for r in recipes}
    flagged: dict[str, list[bool]] = {"injured": [], "clean": []}
    severity, count, kinds = [], [], []  # of the injured probes, in the order of ``ranks``
    for set_name, name in probe_specs(part, mix, sets):
        probes = cache.probes(set_name, "report" if part == "report" else "tune", mix)
        people = cache.crops(set_name)[2]
        truth = [int(np.searchsorted(names, people[i])) for i in probes["rows"]]
        severity.append(probes["severity"])
        count.append(probes["count"])
        kinds += injury_kinds(probes)
        for kind, prefix in (("injured", "probes"), ("clean", "clean")):
            plain, q, store, any_mask = fill(cache, f"{prefix}:{name}", part, mask, seg_path, needs, prefill, g_crops, g_vectors, column, descriptors_too)
            flagged[kind] += any_mask.tolist()
            for recipe in recipes:
                for i, t in enumerate(truth):
                    rank, rank_several, impostor, rank_single = probe_rank(i, plain, q, store, g_vectors, column, t, recipe, photos_of > 1)
                    truth_single[recipe][kind].append(rank_single)
                    ranks[recipe][kind].append(rank)
                    among_several[recipe][kind].append(rank_several)
                    impostor_multi[recipe][kind].append(bool(photos_of[impostor] > 1))
    rows = []
    first = {kind: np.array(v) for kind, v in ranks[recipes[0]].items()}
    for recipe in recipes:
        r = {kind: np.array(v) for kind, v in ranks[recipe].items()}
        multi = {kind: np.array(v) for kind, v in impostor_multi[recipe].items()}
        rows.append({"recipe": recipe, "injured": figures(r["injured"]), "clean": figures(r["clean"]),
                     "errors_by_multi_photo_impostor": {k: int(((r[k] > 1) & multi[k]).sum()) for k in r},
                     "errors_by_one_photo_impostor": {k: int(((r[k] > 1) & ~multi[k]).sum()) for k in r},
                     "top_impostor_multi_photo": {k: float(multi[k].mean()) for k in r},
                     "against_multi_photo_subjects_only": {k: figures(np.array(v)) for k, v in among_several[recipe].items()},
                     "true_subject_one_photo": {k: figures(np.array([x for x in v if x > 0])) for k, v in truth_single[recipe].items()},
                     "rank1_gained_lost_vs_first": {k: [int(((r[k] == 1) & (first[k] > 1)).sum()), int(((r[k] > 1) & (first[k] == 1)).sum())] for k in r},
                     **(curves(r["injured"], np.concatenate(severity), np.concatenate(count), kinds) if with_curves else {})})
    print(f"people: {part}; gallery {len(names)} people, {len(g_subjects)} photos; probes {len(ranks[recipes[0]]['injured'])} injured "
          f"(segmenter flags {np.mean(flagged['injured']):.0%}), clean {len(ranks[recipes[0]]['clean'])} (flags {np.mean(flagged['clean']):.0%})")
    return rows


def print_rows(rows: list[dict[str, Any]]) -> None:
    pct = lambda f: f"{100 * f['rank1']:5.1f} {100 * f['rank5']:5.1f} {100 * f['rank10']:5.1f}"  # noqa: E731
    print(f"{'recipe':26s} {'injured r1/5/10':>18s} {'clean r1/5/10':>18s}  injured errors: impostor of several photos / of one"
          "  top impostor of several photos  rank-1 gained/lost vs the first row: injured, clean  injured/clean R1 against subjects of several photos only  injured/clean R1 the true person with one photo")
    for row in rows:
        e3, e1 = row["errors_by_multi_photo_impostor"]["injured"], row["errors_by_one_photo_impostor"]["injured"]
        gl = row["rank1_gained_lost_vs_first"]
        print(f"{row['recipe']:26s} {pct(row['injured']):>18s} {pct(row['clean']):>18s}  {e3:5d} / {e1:5d}"
              f"{'':20s}{100 * row['top_impostor_multi_photo']['injured']:5.1f} %{'':20s}{gl['injured'][0]:3d}/{gl['injured'][1]:3d}, {gl['clean'][0]:3d}/{gl['clean'][1]:3d}"
              f"{'':12s}{100 * row['against_multi_photo_subjects_only']['injured']['rank1']:5.1f} / {100 * row['against_multi_photo_subjects_only']['clean']['rank1']:5.1f}"
              f"{'':14s}{100 * row['true_subject_one_photo']['injured']['rank1']:5.1f} / {100 * row['true_subject_one_photo']['clean']['rank1']:5.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--work", type=Path, default=Path("/tmp/crossid-injured-real"))
    parser.add_argument("--part", choices=("tune", "report"), default="tune")
    parser.add_argument("--mask", choices=("oracle", "seg"), default="seg")
    parser.add_argument("--segmenter", type=Path, default=None)
    parser.add_argument("--mix", default="harsh")
    parser.add_argument("--sets", nargs="+", default=list(REPORT_SETS), choices=REPORT_SETS)
    parser.add_argument("--need", nargs="+", default=["subjects:10"], help="scopes whose composites are computed")
    parser.add_argument("--recipes", nargs="+", default=["plain/min", "photos:10/min"])
    parser.add_argument("--prefill", default=None, help="mask tag of an injured_real_transplant.py k=10 run with the same masks")
    parser.add_argument("--curves", action="store_true", help="also rank-1 by severity, number and kind of injury (injured probes)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.faces.is_dir():
        print(f"skipped: no face data at {args.faces}")
        return 0
    cache = Cache(args.work, args.faces)
    (cache.work / "transplant").mkdir(exist_ok=True)
    rows = evaluate(cache, args.part, args.mask, args.segmenter, args.need, args.recipes, args.prefill, args.mix, tuple(args.sets), args.curves)
    print_rows(rows)
    if args.curves:
        print_curves([row["recipe"] for row in rows], rows)
    if args.json:
        args.json.write_text(json.dumps({**{k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
