"""How the soft-tissue suppression's constants were chosen: a grid search on the tuning images.

Only the ``train`` and ``tune`` cephalograms of the fixed split
(:data:`~crossid_desktop.matching.landmarks.cephalograms.SPLIT`, 60 images) are read; the 15
``test`` images stay unseen, and ``tests/benchmarks/soft_tissue.py`` reports on them. For each
combination of the band ceiling, the knee and the lift at the default strength, the script
prints the tuning images' median reduction, median bone contrast after, median soft contrast
after and the number of images with overshoot (soft tissue more than 0.02 below air), by the
protocol of ``soft_tissue.py``. The choice: the lowest median reduction among the settings
with a median bone contrast of at least 0.33 (a margin over the target of 0.30) and no overshoot.

Run: ``.venv/bin/python tests/benchmarks/soft_tissue_tune.py``
"""

from __future__ import annotations

import itertools
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soft_tissue import DATA, OVERSHOOT, measure  # noqa: E402

from crossid_desktop.imaging.xray import SoftTissueParams, suppress_soft_tissue  # noqa: E402
from crossid_desktop.matching.landmarks.cephalograms import read_cephalograms  # noqa: E402

CEILINGS = (0.06, 0.075, 0.09, 0.105, 0.12)
KNEES = (0.04, 0.063, 0.09)
LIFTS = (4.0, 5.0, 6.0, 7.5)


def main() -> int:
    import cv2

    cv2.setNumThreads(1)
    if not (DATA / "landmarks.csv").is_file():
        print(f"skipped: no cephalograms at {DATA}")
        return 0
    images = []
    for ceph in read_cephalograms(DATA, ("train", "tune")):
        image = cv2.imread(str(ceph.path), cv2.IMREAD_GRAYSCALE)
        points = ceph.annotators["farhadifar"]
        images.append((image, points, measure(image, points)))
    print(f"{len(images)} tuning cephalograms (train + tune); test images not read")
    print(f"{'ceiling':>8} {'knee':>6} {'lift':>5} | {'reduct':>6} {'bone':>6} {'soft':>6} {'over':>4}")
    results = []
    for ceiling, knee, lift in itertools.product(CEILINGS, KNEES, LIFTS):
        params = SoftTissueParams(soft_ceiling=ceiling, knee=knee, lift=lift)
        reductions, bones, softs, over = [], [], [], 0
        for image, points, before in images:
            after = measure(suppress_soft_tissue(image, params), points)
            reductions.append(after.ratio / before.ratio)
            bones.append(after.bone)
            softs.append(after.soft)
            over += after.lowest_soft < -OVERSHOOT
        row = (statistics.median(reductions), statistics.median(bones), statistics.median(softs), over)
        results.append(((ceiling, knee, lift), row))
        print(f"{ceiling:8.3f} {knee:6.3f} {lift:5.1f} | {row[0]:6.3f} {row[1]:6.3f} {row[2]:6.3f} {row[3]:4d}", flush=True)
    eligible = [r for r in results if r[1][1] >= 0.33 and r[1][3] == 0]
    if eligible:
        (ceiling, knee, lift), row = min(eligible, key=lambda r: r[1][0])
        print(f"chosen: soft_ceiling {ceiling}, knee {knee}, lift {lift} at the default strength "
              f"(tuning median reduction {row[0]:.3f}, bone {row[1]:.3f})")
    else:
        print("no setting keeps the median bone contrast >= 0.33 without overshoot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
