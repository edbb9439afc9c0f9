"""Injured faces on real photos: each component of the injury-aware matcher measured on people
no part of it was trained or tuned on, against plain dlib.

Data: ``../shared/data/faces`` (``lfw_train``, ``lfw_dev``, ``yale``); the split, the gallery
and the probes are described in ``injured_real_data.py``, the variants in
``injured_real_variants.py``. Reporting gallery: the 73 reporting people (three photos each)
and 500 distractor people of ``lfw_train`` (one photo each), subjects ranked by their best
photo, as the product ranks them. Probes: each reporting person's next photos (at most six),
clean and with casework injuries of a mix (``--mix harsh`` or the held-out mix), severities
0.15-0.95 and one to four injuries per face in an even design.

Prints rank-1/5/10 for each variant: clean probes, injured probes overall, by severity and by
number of injuries; ``--json`` writes them, ``--figure`` draws rank-1 over severity and over the
number of injuries. ``--head PATH`` adds the variants passed through a trained head;
``--timing N`` measures the CPU time of N injured queries through the product matcher
(``--model``, default the bundled injury-aware matcher).

Run (the first run aligns, injures and describes everything, hours on a shared CPU; later runs
read the work folder)::

    .venv/bin/python tests/benchmarks/injured_real.py --work /tmp/injured_real --mix harsh \\
        --variants dlib dlib-flip seg-flip robust-seg-flip --json results.json --figure curves.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from injured_real_data import COUNTS, REPORT_SETS, SEVERITIES, Cache, gallery_probe_rows
from injured_real_variants import descriptors

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "faces"


def _embedded(raw: np.ndarray, head: Any) -> np.ndarray:
    """A variant's descriptors (flip pairs averaged), through ``head`` when given."""
    vectors = raw.mean(axis=0) if raw.ndim == 3 else raw
    if head is None:
        return vectors.astype(np.float32)
    import torch

    with torch.inference_mode():
        return head(torch.from_numpy(vectors.astype(np.float32))).numpy()


def ranks(probes: np.ndarray, probe_subjects: list[str], gallery: np.ndarray, gallery_subjects: list[str]) -> np.ndarray:
    """The rank of each probe's subject when subjects are ranked by their nearest gallery photo
    (ties counted against the probe)."""
    subjects = sorted(set(gallery_subjects))
    index = {s: k for k, s in enumerate(subjects)}
    column = np.array([index[s] for s in gallery_subjects])
    d = np.sqrt(((probes[:, None, :].astype(np.float64) - gallery[None, :, :]) ** 2).sum(-1))
    best = np.full((len(probes), len(subjects)), np.inf)
    for k in range(len(subjects)):
        best[:, k] = d[:, column == k].min(axis=1)
    true = best[np.arange(len(probes)), [index[s] for s in probe_subjects]]
    return 1 + (best < true[:, None]).sum(axis=1)


def figures(r: np.ndarray, mask: np.ndarray | None = None) -> dict[str, float]:
    r = r if mask is None else r[mask]
    return {"rank1": float((r <= 1).mean()), "rank5": float((r <= 5).mean()), "rank10": float((r <= 10).mean()), "n": int(len(r))}


def injury_kinds(probes: Any) -> list[set[str]]:
    """Each probe's kinds of injury (sites dropped) from a probe file."""
    return [{k.split("@")[0] for k in str(text).split("+")} for text in probes["kinds"]]


def curves(r: np.ndarray, severity: np.ndarray, count: np.ndarray, kinds: list[set[str]]) -> dict[str, dict[str, dict[str, float]]]:
    """Figures of the injured probes' ranks ``r`` by severity, by number of injuries and by kind
    of injury (a probe counts under each of its kinds)."""
    return {"by_severity": {str(s): figures(r, severity == s) for s in SEVERITIES}, "by_count": {str(c): figures(r, count == c) for c in COUNTS},
            "by_kind": {kind: figures(r, np.array([kind in k for k in kinds])) for kind in sorted(set().union(*kinds))}}


def gallery(cache: Cache, variant: str, head: Any, photos: int, distractors: bool) -> tuple[np.ndarray, list[str]]:
    """The reporting gallery's embeddings and subjects (gallery photos: plain or flipped)."""
    gvariant = "dlib-flip" if variant.endswith("-flip") else "dlib"
    parts, subjects = [], []
    for set_name in REPORT_SETS:
        data, paths, people = cache.crops(set_name)
        rows, _ = gallery_probe_rows(people, [p.name for p in paths])
        keep = [k for k, i in enumerate(rows) if [people[j] for j in rows[:k]].count(people[i]) < photos]
        parts.append(_embedded(descriptors(cache, f"gallery:{set_name}", gvariant, None), head)[keep])
        subjects += [people[rows[k]] for k in keep]
    if distractors:
        data, paths, people = cache.crops("lfw_train")
        parts.append(_embedded(descriptors(cache, "gallery:lfw_train-distractors", gvariant, None), head))
        from injured_real_data import split_lfw_train

        subjects += [f"distractor:{p}" for p in split_lfw_train(cache.faces / "lfw_train")["distractors"]]
    return np.concatenate(parts), subjects


def evaluate(cache: Cache, variant: str, mix: str, seg: Path | None, head: Any, photos: int, distractors: bool,
             sets: tuple[str, ...] = REPORT_SETS) -> dict[str, Any]:
    """Clean and injured figures of one variant over the reporting sets."""
    g, g_subjects = gallery(cache, variant, head, photos, distractors)
    clean_variant = "dlib-flip" if variant.endswith("-flip") else "dlib"  # an uninjured probe needs no completion... measured below too
    injured_r, clean_r, clean_same_r, severity, count, kinds = [], [], [], [], [], []
    for set_name in sets:
        probes = cache.probes(set_name, "report", mix)
        people = cache.crops(set_name)[2]
        subjects = [people[i] for i in probes["rows"]]
        name = f"{set_name}_report_{mix}"
        injured_r.append(ranks(_embedded(descriptors(cache, f"probes:{name}", variant, seg), head), subjects, g, g_subjects))
        clean_r.append(ranks(_embedded(descriptors(cache, f"clean:{name}", clean_variant, seg), head), subjects, g, g_subjects))
        clean_same_r.append(ranks(_embedded(descriptors(cache, f"clean:{name}", variant, seg), head), subjects, g, g_subjects))
        severity.append(probes["severity"])
        count.append(probes["count"])
        kinds += injury_kinds(probes)
    r, sev, cnt = np.concatenate(injured_r), np.concatenate(severity), np.concatenate(count)
    return {
        "variant": variant, "clean_plain": figures(np.concatenate(clean_r)), "clean": figures(np.concatenate(clean_same_r)), "injured": figures(r),
        **curves(r, sev, cnt, kinds),
        "gallery_subjects": len(set(g_subjects)), "gallery_photos": len(g_subjects),
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    pct = lambda f: f"{100 * f['rank1']:5.1f} {100 * f['rank5']:5.1f} {100 * f['rank10']:5.1f}"  # noqa: E731
    print(f"{'variant':28s} {'clean r1/5/10':>18s} {'injured r1/5/10':>18s} | rank-1 by severity {' '.join(f'{s:>5}' for s in SEVERITIES)} | by injuries {' '.join(f'{c:>4}' for c in COUNTS)}")
    for row in rows:
        sev = " ".join(f"{100 * row['by_severity'][str(s)]['rank1']:5.1f}" for s in SEVERITIES)
        cnt = " ".join(f"{100 * row['by_count'][str(c)]['rank1']:4.0f}" for c in COUNTS)
        print(f"{row['label']:28s} {pct(row['clean']):>18s} {pct(row['injured']):>18s} | {'':18s} {sev} | {'':11s} {cnt}")
    print_kinds([row["label"] for row in rows], rows)
    print(f"gallery: {rows[0]['gallery_subjects']} people, {rows[0]['gallery_photos']} photos; probes: {rows[0]['injured']['n']} injured, {rows[0]['clean']['n']} clean")


def print_kinds(labels: list[str], rows: list[dict[str, Any]]) -> None:
    """Rank-1 per kind of injury, one column per row (``by_kind`` of ``curves``)."""
    kinds = sorted(rows[0]["by_kind"], key=lambda k: -rows[0]["by_kind"][k]["n"])
    print("rank-1 of the injured probes showing each kind of injury (a probe counts under each of its kinds):")
    print(f"{'kind':28s} {'n':>4s} " + " ".join(f"{label[:14]:>14s}" for label in labels))
    for kind in kinds:
        print(f"{kind:28s} {rows[0]['by_kind'][kind]['n']:4d} " + " ".join(f"{100 * row['by_kind'][kind]['rank1']:14.0f}" for row in rows))


def print_curves(labels: list[str], rows: list[dict[str, Any]]) -> None:
    """Rank-1 by severity and by number of injuries, then per kind (``curves``'s figures)."""
    print(f"{'':28s} rank-1 by severity {' '.join(f'{s:>5}' for s in SEVERITIES)} | by injuries {' '.join(f'{c:>5}' for c in COUNTS)}")
    for label, row in zip(labels, rows):
        sev = " ".join(f"{100 * row['by_severity'][str(s)]['rank1']:5.1f}" for s in SEVERITIES)
        cnt = " ".join(f"{100 * row['by_count'][str(c)]['rank1']:5.1f}" for c in COUNTS)
        print(f"{label:28s} {'':18s} {sev} | {'':11s} {cnt}")
    print("probes per cell: severity " + " ".join(str(rows[0]["by_severity"][str(s)]["n"]) for s in SEVERITIES)
          + "; injuries " + " ".join(str(rows[0]["by_count"][str(c)]["n"]) for c in COUNTS))
    print_kinds(labels, rows)


def draw(rows: list[dict[str, Any]], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for row in rows:
        axes[0].plot(SEVERITIES, [100 * row["by_severity"][str(s)]["rank1"] for s in SEVERITIES], marker="o", label=row["label"])
        axes[1].plot(COUNTS, [100 * row["by_count"][str(c)]["rank1"] for c in COUNTS], marker="o", label=row["label"])
    for ax, xlabel in zip(axes, ("severity of the injuries", "number of injuries on the face")):
        ax.axhline(90, color="k", lw=0.8, ls="--")
        ax.set(xlabel=xlabel, ylabel="rank-1 (%)", ylim=(0, 101))
        ax.grid(alpha=0.3)
    axes[1].set_xticks(COUNTS)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out)


def timing(model: str | None, n: int, cache: Cache, mix: str) -> dict[str, float]:
    """CPU and wall seconds per injured query through the product matcher (detection,
    alignment, segmenter, completion, descriptors)."""
    from crossid_desktop.matching.base import QueryModality
    from crossid_desktop.matching.matchers import load_matcher
    from crossid_desktop.matching.preprocess import FaceChoice
    from crossid_desktop.matching.selection import resolve_spec

    m = load_matcher(resolve_spec(model or "bundled:injured_real"))
    photos = cache.probes("lfw_dev", "report", mix)["photos"][:n]
    m.encode_query([photos[0]], QueryModality.INJURED_FACE, choices=[FaceChoice(face=1, allow_centre_crop=True)])  # models loaded
    cpu, wall = time.process_time(), time.perf_counter()
    for photo in photos:
        m.encode_query([photo], QueryModality.INJURED_FACE, choices=[FaceChoice(face=1, allow_centre_crop=True)])
    return {"cpu_s_per_query": (time.process_time() - cpu) / len(photos), "wall_s_per_query": (time.perf_counter() - wall) / len(photos), "queries": len(photos)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--work", type=Path, default=Path("/tmp/crossid-injured-real"))
    parser.add_argument("--mix", default="harsh")
    parser.add_argument("--variants", nargs="+", default=["dlib", "dlib-flip"])
    parser.add_argument("--sets", nargs="+", default=list(REPORT_SETS), choices=REPORT_SETS, help="whose probes are searched (the gallery keeps everyone)")
    parser.add_argument("--segmenter", type=Path, default=None, help="segmenter weights (default: the bundled one)")
    parser.add_argument("--head", type=Path, action="append", default=[], help="a head checkpoint: its variants are added")
    parser.add_argument("--gallery-photos", type=int, default=3)
    parser.add_argument("--no-distractors", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--timing", type=int, default=0, metavar="N")
    parser.add_argument("--model", default=None, help="with --timing: the matcher spec (default bundled:injured_real)")
    args = parser.parse_args(argv)
    if not args.faces.is_dir():
        print(f"skipped: no face data at {args.faces}")
        return 0
    cache = Cache(args.work, args.faces)
    heads: list[tuple[str, Any]] = [("", None)]
    for path in args.head:
        from crossid_desktop.matching.embedding_head import load_head

        heads.append((f" + head {path.stem}", load_head(path)[0]))
    rows = []
    for suffix, head in heads:
        for variant in args.variants:
            rows.append({"label": variant + suffix, **evaluate(cache, variant, args.mix, args.segmenter, head, args.gallery_photos, not args.no_distractors, tuple(args.sets))})
    print_table(rows)
    report: dict[str, Any] = {"mix": args.mix, "sets": args.sets, "gallery_photos": args.gallery_photos, "distractors": not args.no_distractors, "rows": rows}
    if args.timing:
        report["timing"] = timing(args.model, args.timing, cache, args.mix)
        print(f"time per injured query: {report['timing']['cpu_s_per_query']:.2f} s CPU, {report['timing']['wall_s_per_query']:.2f} s wall")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    if args.figure:
        draw(rows, args.figure, f"Real photos, casework injuries ({args.mix} mix): rank-1, gallery of {rows[0]['gallery_subjects']} people")
    return 0


if __name__ == "__main__":
    sys.exit(main())
