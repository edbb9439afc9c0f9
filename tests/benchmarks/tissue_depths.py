"""What soft-tissue depths the synthetic generator draws, next to the published reference depths.

For each pair of :mod:`crossid_desktop.anatomy.soft_tissue` with a named skin point, on a cohort
of simulated people (no images are rendered: the ground-truth landmarks in mm are enough):

- ``drawn``: the distance (mm) between the skull landmark and the skin landmark as the generator
  draws them (lateral pairs in the profile's plane, frontal pairs across the face);
- ``parameter``: the generator's own tissue parameter for that place, where it has one;
- ``published``: the reference mean and spread.

``z`` is (drawn mean - published mean) / published spread: beyond about +-1 the generator's
people are not the published adults at that landmark.

Run: ``PYTHONPATH=. .venv/bin/python tests/benchmarks/tissue_depths.py [--people 300] [--seed 9090]``
"""

from __future__ import annotations

import argparse

import numpy as np

from crossid_desktop.anatomy.soft_tissue import DEPTHS
from crossid_desktop.synth.params import Nuisance, draw_subject
from crossid_desktop.synth.truth import subject_landmarks_mm
from crossid_desktop.synth.truth_face import face_front_landmarks_mm

#: the generator's tissue parameter at each skull landmark (TissueParams field)
PARAMETER = {"glabella": "glabella", "nasion": "nasion", "prosthion": "upper_lip", "infradentale": "lower_lip",
             "pogonion": "pogonion", "menton": "menton", "zygion_right": "zygion", "gonion_right": "gonion",
             "subspinale": "mid_philtrum", "rhinion": "rhinion"}
_NEUTRAL = Nuisance(0.0, (0.0, 0.0), 1.0, (0.0, 0.0, 1.0), 1.0, 1.0, 0.0, 0.0, ((0, 0, 0), (0, 0, 0)), 0)


def drawn_depths(seed: int, people: int) -> dict[str, list[float]]:
    """``{skull landmark: [depth per person]}`` (mm) as the generator draws them."""
    out: dict[str, list[float]] = {d.bone: [] for d in DEPTHS if d.skin}
    for index in range(people):
        subject = draw_subject(seed, index)
        mm = subject_landmarks_mm(subject)
        front = face_front_landmarks_mm(subject, _NEUTRAL)
        for depth in DEPTHS:
            if depth.skin is None:
                continue
            if depth.bone.endswith("_right"):  # across the face: skin outside bone, horizontally
                out[depth.bone].append(abs(front[depth.skin][0]) - abs(mm["xray-front"][depth.bone][0]))
            else:
                bone, skin = np.asarray(mm["xray-side"][depth.bone]), np.asarray(mm["face-side"][depth.skin])
                out[depth.bone].append(float(np.hypot(*(skin - bone))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--seed", type=int, default=9090)
    args = parser.parse_args()
    drawn = drawn_depths(args.seed, args.people)
    params = [draw_subject(args.seed, k).tissue for k in range(args.people)]
    print(f"{args.people} simulated people, seed {args.seed}; depths in mm (mean +- sd)\n")
    print(f"{'skull landmark':22s} {'skin landmark':20s} {'published':>12s} {'parameter':>12s} {'drawn':>12s} {'z':>6s}")
    for depth in DEPTHS:
        if depth.skin is None:
            continue
        values = np.asarray(drawn[depth.bone])
        field = PARAMETER.get(depth.bone)
        parameter = np.asarray([getattr(p, field) for p in params]) if field else None
        shown = f"{parameter.mean():5.1f} +- {parameter.std():3.1f}" if parameter is not None else "-"
        z = (values.mean() - depth.mean_mm) / depth.sd_mm
        print(f"{depth.bone:22s} {depth.skin:20s} {depth.mean_mm:5.1f} +- {depth.sd_mm:3.1f} {shown:>12s} "
              f"{values.mean():5.1f} +- {values.std():3.1f} {z:+6.2f}")


if __name__ == "__main__":
    main()
