"""The model card of the product's default injured-face matcher: dlib's descriptor with the
preparation the real-photo benchmark chose (``injured_real.py``), its calibration to a
likelihood ratio and its held-out figures.

* **Calibration** (logistic, score = -distance) fitted on the *training* people of
  ``lfw_train`` only: the descriptors ``injured_real_head.py`` made (each person's first photo
  normal, the next ones with casework injuries); genuine pairs: an injured photo and the
  normal photo of the same person, impostor pairs: with every other person's normal photo.
* **Test** on the *reporting* people (``lfw_dev``, ``yale``; never trained or tuned on): each
  injured probe of the benchmark against every reporting gallery photo; Cllr and Cllr-min.
* ``--results``: the benchmark's ``--json`` files whose rows are copied into the card's
  metrics (the figures the choice was made on).

Run after ``injured_real_head.py`` and ``injured_real.py``::

    .venv/bin/python tests/benchmarks/injured_real_card.py --work /tmp/crossid-injured-real \\
        --results /tmp/harsh.json --out resources/models/injured_real.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from injured_real import FACES, _embedded
from injured_real_data import REPORT_SETS, Cache, gallery_probe_rows
from injured_real_variants import descriptors

#: the preparation of the chosen matcher (docs/RESULTS.md section 3): no segmenter (none was
#: bundled), the examiner's brush mask completed from the face's other side, no flips
RECIPE = {"segmenter": "none", "robust_alignment": False, "completion": "mirror", "flip": False, "threshold": 0.5, "grow": 0.0}
VARIANT = "dlib"  # the benchmark variant the recipe gives for a query without an examiner's mask


def _pairs(probes: np.ndarray, probe_subjects: list[str], gallery: np.ndarray, gallery_subjects: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Genuine and impostor distances of every probe to every gallery row."""
    d = np.sqrt(((probes[:, None, :].astype(np.float64) - gallery[None, :, :]) ** 2).sum(-1))
    same = np.asarray(probe_subjects)[:, None] == np.asarray(gallery_subjects)[None, :]
    return d[same], d[~same]


def training_pairs(work: Path, people: int, mix: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.load(work / f"head_train_{mix}_{people}.npz")
    return _pairs(data["injured"], list(data["injured_subjects"]), data["normal"], list(data["normal_subjects"]))


def held_out_pairs(cache: Cache, mix: str) -> tuple[np.ndarray, np.ndarray]:
    genuine, impostor, gallery, gallery_subjects = [], [], [], []
    for set_name in REPORT_SETS:
        _, paths, people = cache.crops(set_name)
        rows, _ = gallery_probe_rows(people, [p.name for p in paths])
        gallery.append(_embedded(descriptors(cache, f"gallery:{set_name}", VARIANT, None), None))
        gallery_subjects += [people[i] for i in rows]
    g = np.concatenate(gallery)
    for set_name in REPORT_SETS:
        probes = cache.probes(set_name, "report", mix)
        people = cache.crops(set_name)[2]
        x = _embedded(descriptors(cache, f"probes:{set_name}_report_{mix}", VARIANT, None), None)
        a, b = _pairs(x, [people[i] for i in probes["rows"]], g, gallery_subjects)
        genuine.append(a)
        impostor.append(b)
    return np.concatenate(genuine), np.concatenate(impostor)


def build_card(args: argparse.Namespace) -> dict[str, Any]:
    from crossid_desktop.evaluation.calibration import fit_on_distances, test_calibration
    from crossid_desktop.matching.dlib_matcher import default_card

    fit_g, fit_i = training_pairs(args.work, args.people, args.mix)
    calibration = fit_on_distances(fit_g, fit_i)
    test_g, test_i = held_out_pairs(Cache(args.work, args.faces), args.mix)
    summary, _ = test_calibration(calibration, test_g, test_i)
    card = default_card().to_dict()
    card["name"] = args.name
    card["preprocessing"]["query"]["injury_aware"] = dict(RECIPE)
    card["calibration"] = calibration.to_dict()
    card["training"] = {
        "data": "dlib's pretrained face-recognition ResNet, no further training. Calibration: lfw_train training people "
                f"({args.people} drawn; never a tuning, distractor or reporting person), first photo normal, next photos with casework injuries "
                f"(mix {args.mix}): {len(fit_g)} genuine and {len(fit_i)} impostor distances",
        "command": "tests/benchmarks/injured_real_card.py " + " ".join(sys.argv[1:]),
    }
    card["metrics"] = {
        "held_out_calibration": {"data": f"reporting people ({', '.join(REPORT_SETS)}), injured probes ({args.mix} mix) against every reporting gallery photo",
                                 "n_genuine": int(len(test_g)), "n_impostor": int(len(test_i)), "cllr": summary["test_cllr"], "cllr_min": summary["test_cllr_min"]},
        "real_photo_benchmark": [json.loads(Path(p).read_text()) for p in args.results],
    }
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--work", type=Path, default=Path("/tmp/crossid-injured-real"))
    parser.add_argument("--people", type=int, default=250, help="as given to injured_real_head.py")
    parser.add_argument("--mix", default="harsh")
    parser.add_argument("--name", default="dlib-injured-real")
    parser.add_argument("--results", type=Path, nargs="*", default=[])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not args.faces.is_dir():
        print(f"skipped: no face data at {args.faces}")
        return 0
    card = build_card(args)
    args.out.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    c, t = card["calibration"], card["metrics"]["held_out_calibration"]
    print(f"calibration (training people): Cllr {c['cllr']:.3f} (min {c['cllr_min']:.3f}); held-out: Cllr {t['cllr']:.3f} (min {t['cllr_min']:.3f}), "
          f"{t['n_genuine']} genuine / {t['n_impostor']} impostor pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
