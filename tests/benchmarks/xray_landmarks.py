"""The skull X-ray landmark detector measured: real cephalograms, synthetic X-rays, speed.

**Real lateral cephalograms** (``../shared/data/xray/ceph_dev``): by default only the 15
``test`` images of the fixed split
(:data:`~crossid_desktop.matching.landmarks.cephalograms.SPLIT`), which no training run and no
choice of settings has read. Per landmark (ISBI labels ``l1``-``l19``) and overall: the mean
radial error (MRE) of the detector against the reference (mean of both annotators), against
each annotator alone, and **annotator against annotator** (the human reference: a second
expert's disagreement), in pixels and in millimetres; the success detection rate within 2,
2.5, 3 and 4 mm; how many points were reported missing; and whether the reported standard
deviations are honest (share of errors within ``2 sd``; about 86 % for a two-dimensional
Gaussian).

Millimetres: the images carry no pixel spacing. A millimetre ruler sits on the nasal support,
in the mid-sagittal plane the landmarks lie in; :func:`ruler_period` finds its tick period
(the strongest periodicity of 5.5-11 px in short vertical profiles of the image's top right).
On 73 of the 75 images it is 7.83-7.95 px, median 7.91 px per mm: **0.1265 mm per pixel**
(the other two find a different structure). Published anchors (ISBI 2015, 0.1 mm pixels):
automatic detectors 1.2-1.9 mm MRE.

**Synthetic X-rays** (``--cohort DIR``, a cohort of ``crossid synth`` with a seed no model was
trained on): MRE as a percentage of the skull's height (vertex to menton, from the generator's
millimetre landmarks, brought to the image's pixels by the least-squares scale of its
millimetre and pixel landmarks), frontal and lateral; points that lie outside the image must
be reported missing and count separately.

**Speed**: seconds per 2000x2500 X-ray on the CPU, one and two threads, wall time and the
process's processor time (and on a GPU when one is present: the detector runs on the CPU in
this version).

Run: ``.venv/bin/python tests/benchmarks/xray_landmarks.py [--model M.pt] [--parts test] [--cohort DIR]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from crossid_desktop.matching.landmarks.cephalograms import CEPH_LABELS, read_cephalograms
from crossid_desktop.matching.landmarks.detector import XrayLandmarkDetector
from crossid_desktop.matching.landmarks.points import name_of_label
from crossid_desktop.matching.landmarks.service import bundled_model

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "xray" / "ceph_dev"
MM_PER_PIXEL = 0.1265
SDR_MM = (2.0, 2.5, 3.0, 4.0)


def ruler_period(image: np.ndarray) -> float:
    """Tick period (px) of the ruler in the top right of a cephalogram (module docstring)."""
    height, width = image.shape
    pixels = image.astype(np.float32)
    n = 4096
    freqs = np.fft.rfftfreq(n)
    band = (freqs > 1 / 11) & (freqs < 1 / 5.5)
    best = (0.0, float("nan"))
    for x in range(int(0.6 * width), width - 3, 2):
        for y0 in range(0, int(0.45 * height) - 160, 40):
            profile = pixels[y0: y0 + 160, x: x + 3].mean(axis=1)
            profile = (profile - np.convolve(profile, np.ones(21) / 21, "same"))[12:-12]
            spectrum = np.abs(np.fft.rfft(profile * np.hanning(len(profile)), n=n))
            k = int(np.argmax(np.where(band, spectrum, 0.0)))
            strength = spectrum[k] / max(float(np.median(spectrum[band])), 1e-9)
            if strength > best[0]:
                best = (strength, 1.0 / freqs[k])
    return best[1]


def real_cephalograms(detector: XrayLandmarkDetector, parts: tuple[str, ...]) -> None:
    import cv2

    errors: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    within_2sd, missing, flagged, periods, names = [], 0, 0, [], []
    for ceph in read_cephalograms(DATA, parts):  # type: ignore[arg-type]
        image = cv2.imread(str(ceph.path), cv2.IMREAD_GRAYSCALE)
        periods.append(ruler_period(image))
        detection = detector.detect(image)
        found = {p.name: p for p in detection.points}
        flagged += bool(detection.warnings)
        names.append(ceph.name)
        a, b = ceph.annotators.get("mollabashi", {}), ceph.annotators.get("farhadifar", {})
        for label in CEPH_LABELS:
            point = found[name_of_label(label)]
            if label in a and label in b:
                errors["annotator vs annotator"][label].append(float(np.hypot(*np.subtract(a[label], b[label]))))
            if point.missing:
                missing += 1
                continue
            for who, truth in (("model vs reference", ceph.reference), ("model vs farhadifar", b), ("model vs mollabashi", a)):
                if label in truth:
                    errors[who][label].append(float(np.hypot(point.x - truth[label][0], point.y - truth[label][1])))
            if label in ceph.reference:
                err = float(np.hypot(point.x - ceph.reference[label][0], point.y - ceph.reference[label][1]))
                within_2sd.append(err <= 2 * point.sd)
    print(f"real cephalograms of parts {', '.join(parts)}: {len(names)} images ({', '.join(n[:3] for n in names)})")
    print(f"ruler tick period: median {np.median(periods):.2f} px/mm on these images; figures in mm use {MM_PER_PIXEL} mm/px")
    print(f"{'label':>5} " + " ".join(f"{who:>22}" for who in errors))
    for label in CEPH_LABELS:
        print(f"{label:>5} " + " ".join(f"{np.mean(errors[who][label]):10.1f} px {np.mean(errors[who][label]) * MM_PER_PIXEL:5.2f} mm" if errors[who][label] else f"{'-':>22}" for who in errors))
    for who, per_label in errors.items():
        flat = np.concatenate([np.array(v) for v in per_label.values()])
        sdr = "  ".join(f"{np.mean(flat * MM_PER_PIXEL <= mm) * 100:.1f} % <= {mm:g} mm" for mm in SDR_MM)
        print(f"overall {who}: MRE {flat.mean():.1f} px = {flat.mean() * MM_PER_PIXEL:.2f} mm (SD {flat.std() * MM_PER_PIXEL:.2f} mm, "
              f"median {np.median(flat) * MM_PER_PIXEL:.2f} mm, n {flat.size}); SDR {sdr}")
    print(f"model: {missing} points reported missing, {flagged} images with a warning; {np.mean(within_2sd) * 100:.0f} % of errors within 2 reported sd (86 % if honest)")


def synthetic(detectors: dict[str, XrayLandmarkDetector], cohort: Path) -> None:
    import cv2

    params = json.loads((cohort / "params.json").read_text())
    for view, detector in detectors.items():
        stem = view.replace("-", "_")
        percent, inside_missing, outside_found, count = [], 0, 0, 0
        for subject in params["subjects"]:
            truth = subject["images"][stem]["landmarks"]
            image = cv2.imread(str(cohort / "s2f" / subject["subject_id"] / f"{stem}.png"), cv2.IMREAD_GRAYSCALE)
            height = _skull_height_px(subject, view, truth)
            found = {p.name: p for p in detector.detect(image).points}
            for name, (x, y) in truth.items():
                inside = -0.5 <= x <= image.shape[1] - 0.5 and -0.5 <= y <= image.shape[0] - 0.5
                point = found[name]
                if not inside:
                    outside_found += not point.missing
                    continue
                count += 1
                if point.missing:
                    inside_missing += 1
                    continue
                percent.append(100.0 * np.hypot(point.x - x, point.y - y) / height)
        print(f"synthetic {view} ({len(params['subjects'])} X-rays, cohort seed {params['seed']}): MRE {np.mean(percent):.2f} % of skull height "
              f"(median {np.median(percent):.2f} %, 95th percentile {np.percentile(percent, 95):.2f} %); {inside_missing} of {count} points "
              f"in the image reported missing; {outside_found} points outside the image reported found")


def _skull_height_px(subject: dict, view: str, truth: dict[str, list[float]]) -> float:
    """Vertex-to-menton height (mm, frontal millimetre landmarks) in this image's pixels."""
    front = subject["landmarks_mm"]["xray-front"]
    height_mm = float(np.hypot(*np.subtract(front["vertex"], front["menton"])))
    mm = subject["landmarks_mm"][view]
    names = [n for n in mm if n in truth]
    a, b = np.array([mm[n] for n in names]), np.array([truth[n] for n in names])
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    return height_mm * float(np.sqrt((b ** 2).sum() / (a ** 2).sum()))


def speed(detector: XrayLandmarkDetector) -> None:
    import cv2
    import torch

    image = cv2.resize(cv2.imread(str(DATA / "001.png"), cv2.IMREAD_GRAYSCALE), (2000, 2500), interpolation=cv2.INTER_CUBIC) if DATA.is_dir() \
        else np.random.default_rng(0).integers(0, 255, (2500, 2000), dtype=np.uint8)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
        detector.detect(image)
        times, cpu = [], []
        for _ in range(3):
            start, start_cpu = time.perf_counter(), time.process_time()
            detector.detect(image)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        print(f"2000x2500 X-ray, CPU, {threads} thread(s): wall {min(times):.2f} s (best of 3; median {np.median(times):.2f} s), "
              f"processor time {min(cpu):.2f} s (wall time on a shared machine is noisy; processor time is what the detector costs)")
    print("GPU: " + ("present but the detector runs on the CPU in this version" if torch.cuda.is_available() else "none on this machine"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="lateral model (default: the bundled one)")
    parser.add_argument("--front-model", type=Path, help="frontal model (default: the bundled one)")
    parser.add_argument("--parts", default="test", help="parts of the split to measure on (default test: the held-out images)")
    parser.add_argument("--cohort", type=Path, help="a fresh synthetic cohort to measure on")
    args = parser.parse_args(argv)
    side = XrayLandmarkDetector.load(args.model or bundled_model("xray-side"))
    print(f"lateral model {side.card.name} ({side.card.weights_sha256[:12]}), trained on {side.card.training.get('images', {}).get('real_train', [])[:3]}...")
    if DATA.is_dir():
        real_cephalograms(side, tuple(p.strip() for p in args.parts.split(",")))
    else:
        print(f"skipped real cephalograms: no data at {DATA}")
    if args.cohort is not None:
        front_path = args.front_model or bundled_model("xray-front")
        detectors = {"xray-side": side}
        if Path(front_path).is_file():
            detectors = {"xray-front": XrayLandmarkDetector.load(front_path), **detectors}
        synthetic(detectors, args.cohort)
    speed(side)
    return 0


if __name__ == "__main__":
    sys.exit(main())
