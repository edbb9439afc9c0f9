"""Where the craniofacial matcher's remaining error lies: each landmark source in turn given exactly.

The matcher's figures with the application's own landmarks (the X-rays' found by the bundled
X-ray landmark models, the photos' by the face detectors) fall short of those with the
generator's exact landmarks. This script measures how much of that gap each source carries: the
same people scored with the detected landmarks of every source but one, that one replaced by the
generator's exact points (a frontal or lateral X-ray, frontal or profile photos, both X-rays, all
photos), and optionally only some of one X-ray view's points (``--xray-points``, regular
expressions on the skull landmarks' names). Printed for each: Recall@1 of the frontal X-ray, the
lateral X-ray and both fused, and the exclusion's true-negative and false-exclusion rates (both
X-rays, the likelihood-ratio bound included), all with the model's own card (its fusion rules and
tolerance factors, set for the detectors' errors: with exact points of a source the true persons'
misfits shrink and the false-exclusion rate the card's factors hold is no longer its target).

A diagnostic, run on validation people (the card was fitted on them, so the figures are of the
data it was fitted on: they compare sources with one another, they are not test figures).

Run (the validation people of docs/RESULTS.md section 9)::

    PYTHONPATH=. .venv/bin/python tests/benchmarks/craniofacial_landmark_gap.py --data /tmp/cf/val1202/s2f \\
        --landmark-cache /tmp/cf/detcache [--xray-points front:gonion --xray-points 'front:orbitale|supraorbitale']
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from crossid_desktop.evaluation.craniofacial_protocol import detected_xrays, load_people, table_figures, with_detected_faces
from crossid_desktop.evaluation.craniofacial_scores import view_scores
from crossid_desktop.evaluation.xray_evidence import evidence_table, exclusion_rates
from crossid_desktop.matching.craniofacial.annotations import EXACT
from crossid_desktop.matching.craniofacial.fit import PairedPerson
from crossid_desktop.matching.craniofacial.matcher import CraniofacialMatcher
from crossid_desktop.matching.craniofacial.model_file import load_model
from crossid_desktop.paths import resource_path

#: the sources, each a (X-ray kinds, photo kinds) given exactly
SOURCES = {
    "none (the detectors' landmarks)": ((), ()),
    "frontal X-ray": (("xray-front",), ()),
    "lateral X-ray": (("xray-side",), ()),
    "frontal photos": ((), ("face-front",)),
    "profile photos": ((), ("face-side",)),
    "both X-rays": (("xray-front", "xray-side"), ()),
    "all photos": ((), ("face-front", "face-side")),
    "everything (the ceiling)": (("xray-front", "xray-side"), ("face-front", "face-side")),
}


def with_exact(detected: list[PairedPerson], exact: list[PairedPerson], xrays: tuple[str, ...], photos: tuple[str, ...]) -> list[PairedPerson]:
    """The detected people with the X-rays of kinds ``xrays`` and the photos of kinds ``photos`` exact."""
    return [replace(d, skulls={k: (e if k in xrays else d).skulls[k] for k in d.skulls},
                    photos={k: (e if k in photos else d).photos[k] for k in d.photos}) for e, d in zip(exact, detected)]


def with_exact_points(detected: list[PairedPerson], exact: list[PairedPerson], kind: str, pattern: str) -> list[PairedPerson]:
    """The detected people with the skull points of the X-ray ``kind`` whose names match ``pattern`` exact."""
    out = []
    for e, d in zip(exact, detected):
        found, true = d.skulls[kind], e.skulls[kind]
        position = {n: i for i, n in enumerate(true.names)}
        xy = found.xy.copy()
        for j, name in enumerate(found.names):
            i = position.get(name)
            if re.search(pattern, name) and i is not None and np.isfinite(true.xy[i]).all():
                xy[j] = true.xy[i]
        out.append(replace(d, skulls={**d.skulls, kind: replace(found, xy=xy)}))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="S2F folder of validation people")
    parser.add_argument("--model", type=Path, default=resource_path("models", "craniofacial.npz"))
    parser.add_argument("--landmark-cache", type=Path, default=None, metavar="DIR")
    parser.add_argument("--xray-points", action="append", default=[], metavar="VIEW:REGEX",
                        help="also with only these points of one X-ray view exact (view front or side)")
    args = parser.parse_args(argv)
    matcher = CraniofacialMatcher(load_model(args.model))
    model = matcher.model
    subjects = sorted(p.name for p in args.data.iterdir() if p.is_dir())
    exact = load_people(args.data, subjects, EXACT, 0)
    detected = detected_xrays(with_detected_faces(exact, args.data, matcher.profiles, cache_dir=args.landmark_cache), args.data, cache_dir=args.landmark_cache)
    tolerances = {view: model.tolerance_of(view) for view in model.views}  # each view's own, as the search judges (evaluate_craniofacial)
    variants = {label: with_exact(detected, exact, *kinds) for label, kinds in SOURCES.items()}
    for spec in args.xray_points:
        view, _, pattern = spec.partition(":")
        if view not in ("front", "side") or not pattern:
            parser.error(f"--xray-points takes VIEW:REGEX with VIEW front or side, not {spec!r}")
        variants[f"{'frontal' if view == 'front' else 'lateral'} X-ray points /{pattern}/"] = with_exact_points(detected, exact, f"xray-{view}", pattern)
    print(f"{args.data}: {len(subjects)} people; card {args.model.name}; exact in turn:\n")
    print("| exact | frontal R@1 | lateral R@1 | fused R@1 | impostors excluded | true persons excluded |")
    print("|---|---|---|---|---|---|")
    for label, people in variants.items():
        scores = {view: view_scores(view_model, tolerances[view], people, people) for view, view_model in model.views.items()}
        table = evidence_table(scores, tolerances, None)
        figures = table_figures(table, matcher.fusion, siamese=False, craniofacial=True, prefix="")[0]
        rates = exclusion_rates(table, ("front", "side"), fusion=matcher.fusion, lr_limit=model.tolerance.lr_limit)
        print(f"| {label} | {figures['front/recall@1']:.3f} | {figures['side/recall@1']:.3f} | {figures['fused/recall@1']:.3f} | "
              f"{100 * rates['tnr']:.1f} % | {100 * rates['fer']:.1f} % |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
