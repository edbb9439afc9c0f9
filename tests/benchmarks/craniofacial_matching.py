"""The craniofacial matcher measured: identification, exclusion, calibration, ceiling, speed.

On fresh synthetic cohorts (seeds never used to fit or calibrate anything), every person's
frontal and lateral X-ray is a query and every photo of every person is in the gallery (100
people, 3 frontal photos and 1 profile each). People are ranked (the true person's rank among
the 100; Recall@k = share of queries with the true person in the top k), per X-ray view and
with both views of one skull fused, for:

* **craniofacial**: the correspondence model alone (its craniofacial-only fusion rules);
* **siamese**: the published method alone (the bundled Siamese network, a person's nearest photo);
* **fusion**: both, by the logistic rules fitted on the validation people (the default X-ray
  matcher of new workspaces).

Landmarks: ``detectors`` (``--detect-xrays``: every landmark found by the application's own
detectors, the X-rays' by the bundled X-ray landmark models, the photos' by the face
detectors: what the application does), ``simulated`` (the cohort's exact landmarks moved by
the stated measurement error, points outside the image missing), ``detected-faces`` (the
photos' landmarks found by the face detectors, the X-rays' simulated) and ``exact`` (the
generator's true geometry: the ceiling of this model). An X-ray whose landmarks failed is not
assessed and its person counts as missed. Exclusion: the share of
impostor query-person pairs marked inconsistent (true-negative rate) and of true pairs marked
inconsistent (false-exclusion rate), both X-rays of a skull. Cllr of the fused likelihood ratios
of all query-person pairs.

Speed (``--timing N``): one X-ray query against a gallery of N photos on the CPU, through the
search service (first stage over the whole gallery, exact stage on the shortlist); the gallery's
landmark sets are drawn from the model's own between-person spread, with deviations as a
detector gives them (one profile over the points scaled per photo, with rounding noise; most
photos missing a run of the chin's outline points, as the demo gallery's detected photos do:
the work depends on these), its Siamese vectors at random.

Run (after the cohorts and the model of docs/RESULTS.md)::

    PYTHONPATH=. .venv/bin/python tests/benchmarks/craniofacial_matching.py --test /tmp/cf/fresh2501x2/s2f --detect-xrays \\
        --landmark-cache /tmp/cf/detcache --score-cache /tmp/cf/scorecache [--only detectors --only exact] [--write-card] [--timing 10000]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from crossid_desktop.evaluation.calibration import cllr, cllr_min
from crossid_desktop.evaluation.craniofacial_protocol import detected_xrays, load_people, siamese_distances, table_figures, with_detected_faces
from crossid_desktop.evaluation.craniofacial_scores import view_scores
from crossid_desktop.evaluation.xray_evidence import EvidenceTable, evidence_table, exclusion_rates, fused_ln_lr
from crossid_desktop.matching.base import Matcher
from crossid_desktop.matching.craniofacial.annotations import EXACT, MeasurementNoise
from crossid_desktop.matching.craniofacial.matcher import CraniofacialMatcher, FusedXrayMatcher
from crossid_desktop.matching.craniofacial.model_file import load_model, update_card
from crossid_desktop.matching.matchers import load_matcher
from crossid_desktop.paths import resource_path

KS = (1, 10)
DETECTORS = "every landmark found by the detectors: the X-rays' by the bundled X-ray landmark models (pixel spacing unknown), the photos' by the face detectors"


def _row(label: str, metrics: dict, prefix: str) -> str:
    cells = []
    for view in ("front", "side", "fused"):
        for k in KS:
            value = metrics.get(f"{prefix}{view}/recall@{k}")
            cells.append("-" if value is None else f"{value:.2f}")
    return f"| {label} | " + " | ".join(cells) + " |"


def stored_distances(siamese: Matcher, data: Path, subjects: list[str], score_cache: Path | None) -> dict:
    """The Siamese network's distances of a cohort (:func:`siamese_distances`), kept in
    ``score_cache`` by the network's fingerprint and the cohort."""
    key = hashlib.sha256(f"{siamese.fingerprint}|{data.resolve()}|{','.join(subjects)}".encode()).hexdigest()[:20]
    stored = score_cache / f"siamese-{key}.npz" if score_cache is not None else None
    if stored is not None and stored.is_file():
        with np.load(stored, allow_pickle=False) as saved:
            return {view: (tuple(saved[f"{view}_queries"]), tuple(saved[f"{view}_gallery"]), saved[f"{view}_d"]) for view in ("front", "side")}
    found = siamese_distances(siamese, data, subjects)
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(stored, **{f"{view}_{part}": np.asarray(value) for view, (q, g, d) in found.items()
                                        for part, value in (("queries", q), ("gallery", g), ("d", d))})
    return found


def scored_table(matcher: FusedXrayMatcher, data: Path, noise: MeasurementNoise, distances: Callable[[], dict], *, detect: bool, cache: Path | None,
                 score_cache: Path | None, xrays: bool = False) -> tuple[EvidenceTable, dict]:
    """The evidence of every query-person pair of one cohort and landmark source, with each view's
    tolerance statistic at factor 1 (the model's view factors are applied when the exclusion is
    counted). ``score_cache`` keeps the table, keyed by the matcher's fingerprint (the model's
    arrays and the Siamese network), the cohort and the landmark source: the tolerance factors and
    fusion rules live in the card and are applied afresh on every run."""
    model = matcher.craniofacial.model
    key = hashlib.sha256(f"{matcher.fingerprint}|{data.resolve()}|{noise}|{detect}{'|xrays' if xrays else ''}".encode()).hexdigest()[:20]
    stored = score_cache / f"{key}.npz" if score_cache is not None else None
    if stored is not None and stored.is_file():
        with np.load(stored, allow_pickle=False) as saved:
            table = EvidenceTable(tuple(saved["queries"]), tuple(saved["people"]), saved["values"], {}, {v: saved[f"statistic_{v}"] for v in model.views})
            problems = json.loads(str(saved["problems"]))
            if "set_aside" in saved.files:  # tables stored before the set-aside was counted lack it
                problems = {"not assessable": problems, "skull point set aside": json.loads(str(saved["set_aside"]))}
            return table, problems
    siamese = distances()  # the Siamese network's distances of the cohort (computed once, when first needed)
    subjects = sorted(siamese["front"][0])
    people = load_people(data, subjects, noise, 0)
    if detect:
        people = with_detected_faces(people, data, matcher.craniofacial.profiles, cache_dir=cache)
    if xrays:
        people = detected_xrays(people, data, cache_dir=cache)
    unit = replace(model.tolerance, factor=1.0)
    scores = {view: view_scores(vm, unit, people, people) for view, vm in model.views.items()}
    table = evidence_table(scores, unit, siamese)
    problems = {view: len(s.problems) for view, s in scores.items()}
    set_aside = {view: len(s.set_aside) for view, s in scores.items()}
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(stored, queries=np.array(table.queries), people=np.array(table.people), values=table.values, problems=json.dumps(problems),
                            set_aside=json.dumps(set_aside), **{f"statistic_{v}": table.statistics[v] for v in model.views})
    return table, {"not assessable": problems, "skull point set aside": set_aside}


def measure(matcher: FusedXrayMatcher, data: Path, noise: MeasurementNoise, distances: Callable[[], dict], *, detect: bool, cache: Path | None,
            score_cache: Path | None, xrays: bool = False) -> tuple[dict, dict]:
    """Figures of one cohort and one landmark source."""
    model = matcher.craniofacial.model
    table, problems = scored_table(matcher, data, noise, distances, detect=detect, cache=cache, score_cache=score_cache, xrays=xrays)
    metrics = {}
    for siamese, craniofacial, prefix in ((False, True, "cf/"), (True, False, "siamese/"), (True, True, "fusion/")):
        metrics.update(table_figures(table, matcher.fusion, siamese=siamese, craniofacial=craniofacial, prefix=prefix)[0])
    ln_lr = fused_ln_lr(table, matcher.fusion, table.features("fused"))
    genuine, ok = table.genuine, np.isfinite(ln_lr)
    metrics["cllr"] = cllr(np.exp(ln_lr[ok & genuine]), np.exp(ln_lr[ok & ~genuine]))
    metrics["cllr_min"] = cllr_min(ln_lr[ok & genuine], ln_lr[ok & ~genuine])
    factors = {view: model.tolerance_of(view).factor for view in model.views}
    metrics.update({f"exclusion/{k}": v for k, v in exclusion_rates(table, ("front", "side"), factor=factors, fusion=matcher.fusion,
                                                                    lr_limit=model.tolerance.lr_limit).items()})
    tolerance_alone = exclusion_rates(table, ("front", "side"), factor=factors)
    metrics.update({"exclusion_tolerance_alone/tnr": tolerance_alone["tnr"], "exclusion_tolerance_alone/fer": tolerance_alone["fer"]})
    for view in ("front", "side"):  # a query of one X-ray: its own tolerance and its own ratio against the bound
        alone = exclusion_rates(table, (view,), factor=factors, fusion=matcher.fusion, lr_limit=model.tolerance.lr_limit)
        metrics.update({f"exclusion/{view}/tnr": alone["tnr"], f"exclusion/{view}/fer": alone["fer"]})
    return metrics, problems


def report(label: str, metrics: dict, problems: dict) -> None:
    print(f"\n### {label}\n")
    print("| | front R@1 | front R@10 | side R@1 | side R@10 | fused R@1 | fused R@10 |\n|---|---|---|---|---|---|---|")
    print(_row("craniofacial", metrics, "cf/"))
    print(_row("Siamese (published method)", metrics, "siamese/"))
    print(_row("**fusion (default X-ray matcher)**", metrics, "fusion/"))
    print(f"\nexclusion (both X-rays): true-negative rate {metrics['exclusion/tnr']:.3f}, false-exclusion rate {metrics['exclusion/fer']:.3f}, "
          f"not assessable {metrics['exclusion/not_assessable']:.3f} (the tolerance alone, without the likelihood-ratio bound: true-negative rate "
          f"{metrics['exclusion_tolerance_alone/tnr']:.3f}, false-exclusion rate {metrics['exclusion_tolerance_alone/fer']:.3f}); "
          f"one X-ray alone: frontal {metrics['exclusion/front/tnr']:.3f} / {metrics['exclusion/front/fer']:.3f}, lateral "
          f"{metrics['exclusion/side/tnr']:.3f} / {metrics['exclusion/side/fer']:.3f}; "
          f"Cllr {metrics['cllr']:.3f} (Cllr_min {metrics['cllr_min']:.3f}); "
          f"queries (X-rays by view): {problems}")


def timing(spec: str, n_photos: int, repeats: int = 5) -> None:
    """Seconds for one X-ray query against ``n_photos`` gallery photos (module docstring), with the
    X-ray matcher ``spec`` (``default-xray``, or a craniofacial model's path)."""
    from crossid_desktop.gallery.enrol import encode_png, sync_embeddings
    from crossid_desktop.gallery.face_landmarks import put_face_landmarks
    from crossid_desktop.gallery.store import GalleryStore
    from crossid_desktop.imaging.io import ImageMeta, LoadedImage
    from crossid_desktop.matching.base import QueryModality
    from crossid_desktop.matching.craniofacial.matcher import components
    from crossid_desktop.matching.craniofacial.points import Landmarks
    from crossid_desktop.matching.selection import MatcherCache, write_config
    from crossid_desktop.search.service import SearchService
    from crossid_desktop.workspace import Workspace

    rng = np.random.default_rng(0)
    workspace = Workspace.open(Path(tempfile.mkdtemp(prefix="cf_timing_")) / "ws")
    write_config(workspace.root, "xray", spec)
    cache = MatcherCache()
    matcher = cache.for_role(workspace.root, "xray")
    craniofacial = matcher.craniofacial if isinstance(matcher, FusedXrayMatcher) else matcher
    front = craniofacial.model.views["front"]
    thumb = encode_png(np.full((8, 8, 3), 128, np.uint8))
    with GalleryStore(workspace.db_path) as store:
        draws = rng.multivariate_normal(front.face_mean.reshape(-1), front.impostor_cov, size=n_photos)
        # deviations as a detector gives them: one profile over the points, scaled per photo, with
        # rounding noise (so the photos do not share it exactly); most photos miss part of the chin's outline
        profile = rng.uniform(0.8, 2.5, len(front.pair.face_names))
        # named as the detectors name their photos, so that the model's measured face error (where it has one) weighs them
        source = min(front.face_error.sources) if front.face_error is not None else "drawn"
        items, ids = [], []
        for i in range(n_photos):
            subject = f"G{i // 4:05d}"
            if i % 4 == 0:
                store.ensure_subject(subject)
            record = store.add_image(subject, path=Path(f"/g/{i}.png"), sha256=hashlib.sha256(str(i).encode()).hexdigest(), view="front",
                                     width=256, height=256, thumbnail_png=thumb, alignment="test")
            xy = draws[i].reshape(-1, 2) * 1.3 + 128.0
            sd = profile * rng.uniform(0.8, 1.2) * (1.0 + rng.normal(0.0, 4e-4, len(profile)))
            if rng.random() < 0.85:  # the chin's outline, as the detectors leave it out (a run of jaw points around jaw_09)
                hidden = {f"jaw_{k:02d}" for k in range(9 - int(rng.integers(0, 3)), 10 + int(rng.integers(0, 3)))}
                xy[[j for j, name in enumerate(front.pair.face_names) if name in hidden]] = np.nan
            items.append((record.image_id, Landmarks("face-front", front.pair.face_names, xy, sd, source)))
            ids.append(record.image_id)
        put_face_landmarks(store, craniofacial.fingerprint, items)
        for part in components(matcher):
            if part is not craniofacial:  # the Siamese vectors: random unit vectors (the work does not depend on them)
                store.register_matcher(part.fingerprint, name=part.name, card=part.model_card())
                vectors = rng.normal(size=(n_photos, part.embedding_dim)).astype(np.float32)
                store.put_embeddings(part.fingerprint, ids, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
            sync_embeddings(workspace, store, part)
    service = SearchService(workspace, matchers=cache)
    skull_xy = front.skull_mean * 3.0 + 200.0
    skull = Landmarks("xray-front", front.pair.skull_names, skull_xy, np.full(len(skull_xy), 1.0), "drawn")
    blocks = np.kron(rng.integers(0, 256, (20, 20)), np.ones((8, 8))).astype(np.uint8)  # grey blocks: edges enough to pass as an X-ray
    xray = LoadedImage(blocks, "0" * 64, None, ImageMeta("PNG", 160, 160, 1, 8))
    service.search([xray], modality=QueryModality.XRAY_FRONT, landmarks=[skull])  # warm: the index files are read once
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = service.search([xray], modality=QueryModality.XRAY_FRONT, landmarks=[skull])
        times.append(time.perf_counter() - start)
    print(f"\nsearch time with {matcher.name}, one frontal X-ray (landmarks given) against {n_photos} photos: median {np.median(times):.3f} s "
          f"(min {min(times):.3f}, max {max(times):.3f}; {result.craniofacial['people_compared']} people compared exactly; "
          f"stages in ms {result.timings_ms})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=resource_path("models", "craniofacial.npz"))
    parser.add_argument("--test", type=Path, action="append", default=[], help="S2F folder of a fresh cohort (repeatable)")
    parser.add_argument("--xray-error-mm", type=float, default=MeasurementNoise.xray_mre_mm)
    parser.add_argument("--face-error", type=float, default=MeasurementNoise.face_mre)
    parser.add_argument("--detect-faces", action="store_true", help="also with the photos' landmarks found by the face detectors")
    parser.add_argument("--detect-xrays", action="store_true", help="also with every landmark found by the detectors (X-rays and photos)")
    parser.add_argument("--no-ceiling", action="store_true")
    parser.add_argument("--only", choices=("detectors", "simulated", "detected-faces", "exact"), action="append", default=None,
                        help="measure only these landmark sources (repeatable)")
    parser.add_argument("--timing", type=int, default=0, metavar="N", help="also time one query against N gallery photos")
    parser.add_argument("--landmark-cache", type=Path, default=None, metavar="DIR", help="keep the face detections between runs")
    parser.add_argument("--score-cache", type=Path, default=None, metavar="DIR",
                        help="keep the scored pairs between runs (keyed by the model's and the Siamese network's fingerprints, the cohort and the landmark source)")
    parser.add_argument("--write-card", action="store_true", help="store the figures in the model card's metrics (test_fresh_cohorts)")
    args = parser.parse_args()
    craniofacial = CraniofacialMatcher(load_model(args.model))
    spec = craniofacial.model.card["fusion"]["siamese"]["spec"]
    siamese = load_matcher(resource_path("models", spec.removeprefix("bundled:") + ".pt") if spec.startswith("bundled:") else spec)
    matcher = FusedXrayMatcher(craniofacial, siamese)
    noise = MeasurementNoise(args.xray_error_mm, args.face_error)
    figures: dict[str, dict] = {}
    for data in args.test:
        subjects = sorted(p.name for p in data.iterdir() if p.is_dir())
        distances = functools.cache(functools.partial(stored_distances, siamese, data, subjects, args.score_cache))
        sources = ([("detectors", EXACT, True, True)] if args.detect_xrays else []) + [("simulated", noise, False, False)] \
            + ([("detected-faces", noise, True, False)] if args.detect_faces else []) + ([] if args.no_ceiling else [("exact (ceiling)", EXACT, False, False)])
        sources = [source for source in sources if args.only is None or source[0].split()[0] in args.only]
        for label, source_noise, detect, xrays in sources:
            metrics, problems = measure(matcher, data, source_noise, distances, detect=detect, cache=args.landmark_cache, score_cache=args.score_cache, xrays=xrays)
            described = DETECTORS if xrays else source_noise.describe() if source_noise != EXACT else "exact landmarks"
            report(f"{data} - {label}: {described}", metrics, problems)
            figures[f"{data} | {label}"] = {k: round(float(v), 4) for k, v in metrics.items() if isinstance(v, (int, float))}
    if args.write_card and figures:
        command = "PYTHONPATH=. python tests/benchmarks/craniofacial_matching.py " + " ".join(sys.argv[1:])
        metrics = dict(craniofacial.model.card.get("metrics", {}))
        metrics["test_fresh_cohorts"] = {"command": command, "figures": figures,
                                         "note": "people ranked among 100 (3 frontal photos and 1 profile each); see docs/RESULTS.md"}
        update_card(args.model, metrics=metrics)
        print(f"\nstored the figures in the card of {args.model}")
    if args.timing:
        bundled = args.model.resolve() == resource_path("models", "craniofacial.npz").resolve()
        timing("default-xray" if bundled else str(args.model), args.timing)


if __name__ == "__main__":
    main()
