"""The model card of the product's default injured-face matcher: dlib's descriptor with the
preparation the real-photo benchmark chose (``injured_real.py``), its calibration to a
likelihood ratio and its held-out figures.

* **Calibration** (logistic, score = -distance): the reporting people (``lfw_dev``, ``yale``;
  never trained or tuned on) are halved by person (``validation_test_split``, seed 0); on the
  *validation* half every injured probe of the benchmark is paired with every gallery photo of
  that half (same person: genuine, other person: impostor) and the calibration is fitted; on the
  *test* half the same pairs give Cllr and Cllr-min. Calibration does not change any ranking.
* ``--results``: the benchmarks' ``--json`` files whose rows are copied into the card's
  metrics (the figures the choice was made on: ``injured_real.py`` and
  ``injured_real_transplant.py``). The calibration is fitted on the plain distances; the search
  gives a re-ranked candidate the likelihood ratio of its photo's plain distance.

Run after ``injured_real.py --variants dlib-flip`` (which caches the descriptors)::

    .venv/bin/python tests/benchmarks/injured_real_card.py --work /tmp/crossid-injured-real \\
        --results /tmp/harsh.json --out resources/models/injured_real.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from injured_real import FACES, _embedded
from injured_real_data import REPORT_SETS, Cache, gallery_probe_rows
from injured_real_variants import descriptors

#: the preparation of the chosen matcher (docs/RESULTS.md section 3.1): the face and its mirror
#: image described (the gallery's photos too), nothing completed, no re-alignment; the bundled
#: injury segmenter's mask (or the examiner's brush, when drawn) transplanted into the 20 nearest
#: gallery photos, each scored by the mean of the composite's and the plain distance, and a person
#: by the mean of their best such photo and their centroid distance (``matching/transplant.py``;
#: chosen on the tuning people, ``injured_real_transplant.py`` and ``injured_real_fusion.py``)
RECIPE = {"segmenter": "bundled", "robust_alignment": False, "completion": "none", "flip": True, "threshold": 0.5, "grow": 0.0,
          "transplant_k": 20, "transplant_score": "mean", "transplant_feather": 2.0 / 256, "transplant_scope": "photos",
          "transplant_fusion": "min+centroid"}
VARIANT = "dlib-flip"  # the query's plain descriptor: the distances the calibration is fitted on


def _pairs(probes: np.ndarray, probe_subjects: list[str], gallery: np.ndarray, gallery_subjects: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Genuine and impostor distances of every probe to every gallery row."""
    d = np.sqrt(((probes[:, None, :].astype(np.float64) - gallery[None, :, :]) ** 2).sum(-1))
    same = np.asarray(probe_subjects)[:, None] == np.asarray(gallery_subjects)[None, :]
    return d[same], d[~same]


def held_out_pairs(cache: Cache, mix: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Genuine and impostor distances of the ``validation`` and ``test`` halves of the
    reporting people (each half's probes against that half's gallery photos)."""
    from crossid_desktop.evaluation.calibration import validation_test_split

    probes, probe_subjects, gallery, gallery_subjects = [], [], [], []
    for set_name in REPORT_SETS:
        _, paths, people = cache.crops(set_name)
        rows, _ = gallery_probe_rows(people, [p.name for p in paths])
        gallery.append(_embedded(descriptors(cache, f"gallery:{set_name}", VARIANT, None), None))
        gallery_subjects += [people[i] for i in rows]
        probes.append(_embedded(descriptors(cache, f"probes:{set_name}_report_{mix}", VARIANT, None), None))
        probe_subjects += [people[i] for i in cache.probes(set_name, "report", mix)["rows"]]
    g, x = np.concatenate(gallery), np.concatenate(probes)
    halves = dict(zip(("validation", "test"), validation_test_split(sorted(set(gallery_subjects)), seed=0)))
    out = {}
    for name, people in halves.items():
        keep_x = np.isin(probe_subjects, people)
        keep_g = np.isin(gallery_subjects, people)
        out[name] = _pairs(x[keep_x], [s for s, k in zip(probe_subjects, keep_x) if k], g[keep_g], [s for s, k in zip(gallery_subjects, keep_g) if k])
    return out


def build_card(args: argparse.Namespace, argv: list[str] | None) -> dict[str, Any]:
    from crossid_desktop.evaluation.calibration import fit_on_distances, test_calibration
    from crossid_desktop.matching.dlib_matcher import default_card
    from crossid_desktop.paths import resource_path

    pairs = held_out_pairs(Cache(args.work, args.faces), args.mix)
    calibration = fit_on_distances(*pairs["validation"])
    test_g, test_i = pairs["test"]
    summary, _ = test_calibration(calibration, test_g, test_i)
    card = default_card().to_dict()
    card["name"] = args.name
    segmenter = resource_path("models", "injury_segmenter.pt")
    card["preprocessing"]["query"]["injury_aware"] = {**RECIPE, "segmenter_sha256": hashlib.sha256(segmenter.read_bytes()).hexdigest()}
    card["calibration"] = calibration.to_dict()
    card["preprocessing"]["gallery"]["flip"] = True
    card["training"] = {
        "data": "dlib's pretrained face-recognition ResNet, no further training. Calibration: the validation half (by person, seed 0) of the "
                f"reporting people ({', '.join(REPORT_SETS)}), injured probes ({args.mix} mix) against that half's gallery photos: "
                f"{calibration.n_genuine} genuine and {calibration.n_impostor} impostor distances",
        "command": "tests/benchmarks/injured_real_card.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    card["metrics"] = {
        "held_out_calibration": {"data": f"the test half of the reporting people ({', '.join(REPORT_SETS)}), injured probes ({args.mix} mix) against that half's gallery photos",
                                 "n_genuine": int(len(test_g)), "n_impostor": int(len(test_i)), "cllr": summary["test_cllr"], "cllr_min": summary["test_cllr_min"]},
        "real_photo_benchmark": [json.loads(Path(p).read_text()) for p in args.results],
    }
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--work", type=Path, default=Path("/tmp/crossid-injured-real"))
    parser.add_argument("--mix", default="harsh")
    parser.add_argument("--name", default="dlib-injured-real")
    parser.add_argument("--results", type=Path, nargs="*", default=[])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not args.faces.is_dir():
        print(f"skipped: no face data at {args.faces}")
        return 0
    card = build_card(args, argv)
    args.out.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    c, t = card["calibration"], card["metrics"]["held_out_calibration"]
    print(f"calibration (validation half): Cllr {c['cllr']:.3f} (min {c['cllr_min']:.3f}); test half: Cllr {t['cllr']:.3f} (min {t['cllr_min']:.3f}), "
          f"{t['n_genuine']} genuine / {t['n_impostor']} impostor pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
