"""Injured faces on real photos: the "occlusion transplant" re-ranking, measured on tuning
people (``--part tune``) or on the reporting people (``--part report``).

The query's unreliable region ``M`` (the true injury mask: ``--mask oracle``; the injury
segmenter's: ``--mask seg``) is made *identical* in the query and in each of its top-K gallery
photos instead of being filled: the query's pixels inside ``M`` are pasted into the gallery
photo's aligned crop (the same canonical frame; the edge feathered), the composite is described
with dlib and its mirror image, and the top-K photos are re-ranked by the distance between the
query and the composite (``--fill query``). ``--fill grey`` pastes a neutral grey into ``M`` of
both the query and the gallery photo instead. Ranking by the composite distance alone
(``transplant``) or by its mean with the plain distance (``transplant-mean``); photos outside
the top K keep their order after the re-ranked ones; subjects are ranked by their best photo.

Galleries: ``report`` is the reporting gallery of ``injured_real.py`` (lfw_dev and yale, three
photos a person, and 500 distractors of lfw_train); ``tune`` is the 100 tuning people of
lfw_train (three photos each) and the same 500 distractors. Probes: injured (``--mix``, harsh
by default; ``--sets`` limits the reporting sets searched) and the
same photos clean. The composites' descriptors are cached under ``<work>/transplant``.

Run::

    .venv/bin/python tests/benchmarks/injured_real_transplant.py --work /work/scratch/injured_real \\
        --part tune --mask oracle --fill query --k 5 10 20 --json tune.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from injured_real import FACES, figures, print_table
from injured_real_data import COUNTS, REPORT_SETS, SEVERITIES, Cache, gallery_probe_rows, probe_masks, split_lfw_train
from injured_real_variants import descriptors, matcher, segmenter, spec_crops

from crossid_desktop.matching.transplant import composite, reordered

GREY = 128


def flip_described(faces: list[np.ndarray]) -> np.ndarray:
    """dlib descriptors of faces averaged with their mirror images: ``(n, 128)``."""
    if not faces:
        return np.empty((0, 128), np.float32)
    both = faces + [np.ascontiguousarray(f[:, ::-1]) for f in faces]
    raw = np.concatenate([matcher().descriptors(both[i:i + 64]) for i in range(0, len(both), 64)])
    return (raw[:len(faces)] + raw[len(faces):]) / 2


def gallery_set(cache: Cache, part: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The gallery's crops ``(n, 256, 256, 3)``, flip descriptors ``(n, 128)`` and subjects."""
    specs = [f"gallery:{s}" for s in REPORT_SETS] if part == "report" else ["gallery:lfw_train-tune"]
    crops, vectors, subjects = [], [], []
    for spec in specs + ["gallery:lfw_train-distractors"]:
        set_name = spec.split(":")[1].split("-")[0]
        data, paths, people = cache.crops(set_name)
        names = [p.name for p in paths]
        if spec.endswith("-distractors"):
            rows, _ = gallery_probe_rows(people, names, set(split_lfw_train(cache.faces / "lfw_train")["distractors"]), k=1, max_probes=0)
            subjects += [f"distractor:{people[i]}" for i in rows]
        else:
            keep = set(split_lfw_train(cache.faces / "lfw_train")["tune"]) if spec.endswith("-tune") else None
            rows, _ = gallery_probe_rows(people, names, keep)
            subjects += [people[i] for i in rows]
        crops.append(spec_crops(cache, spec)[0])
        vectors.append(descriptors(cache, spec, "dlib-flip", None).mean(axis=0))
    return np.concatenate(crops), np.concatenate(vectors), subjects


def probe_specs(part: str, mix: str = "harsh", sets: tuple[str, ...] = REPORT_SETS) -> list[tuple[str, str]]:
    """(set name, probe file name) of a part."""
    return [(s, f"{s}_report_{mix}") for s in sets] if part == "report" else [("lfw_train", f"lfw_train_tune_{mix}")]


def masks_of(cache: Cache, spec: str, crops: np.ndarray, probes: Any, source: str, seg_path: Path | None) -> np.ndarray:
    """The unreliable regions ``(n, S, S) bool`` of a probe spec: the true masks (empty for
    clean photos) or the segmenter's, cached."""
    if source == "oracle":
        return probe_masks(probes) if spec.startswith("probes:") else np.zeros(crops.shape[:3], bool)
    path = cache.work / "transplant" / f"{spec.replace(':', '__')}__seg-{_tag(seg_path)}.npy"
    if path.exists():
        return np.unpackbits(np.load(path), axis=1)[:, :crops.shape[1] * crops.shape[2]].reshape(crops.shape[:3]).astype(bool)
    regions = segmenter(seg_path)
    masks = np.concatenate([regions.mask(list(crops[i:i + 32])) for i in range(0, len(crops), 32)])
    np.save(path, np.packbits(masks.reshape(len(masks), -1), axis=1))
    return masks


def _tag(path: Path | None) -> str:
    """The segmenter's name in the cache: its file's stem and the start of its SHA-256 (two
    segmenters of the same file name must not share cached masks)."""
    import hashlib

    return "bundled" if path is None else f"{path.stem}-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


def transplanted(cache: Cache, spec: str, part: str, source: str, fill: str, k: int, feather: float, seg_path: Path | None,
                 g_crops: np.ndarray, g_vectors: np.ndarray) -> dict[str, np.ndarray]:
    """Per probe: the plain distances to every gallery photo ``(n, G)``, its top-``k`` photos
    ``(n, k)`` and the transplant distances to them ``(n, k)`` (cached)."""
    mask_tag = source if source == "oracle" else f"seg-{_tag(seg_path)}"
    path = cache.work / "transplant" / f"{part}__{spec.replace(':', '__')}__{mask_tag}__{fill}__k{k}__f{feather:g}.npz"
    if path.exists():
        return dict(np.load(path))
    crops, probes = spec_crops(cache, spec)
    q = descriptors(cache, spec, "dlib-flip", None).mean(axis=0)
    plain = np.sqrt(((q[:, None, :].astype(np.float64) - g_vectors[None]) ** 2).sum(-1))
    top = np.argsort(plain, axis=1, kind="stable")[:, :k]
    masks = masks_of(cache, spec, crops, probes, source, seg_path)
    new = np.empty(top.shape)
    start = time.time()
    for i in range(len(crops)):
        if not masks[i].any():
            new[i] = plain[i, top[i]]
            continue
        source_pixels = crops[i] if fill == "query" else np.full_like(crops[i], GREY)
        query = q[i] if fill == "query" else flip_described([composite(crops[i], source_pixels, masks[i], feather)])[0]
        made = flip_described([composite(g_crops[j], source_pixels, masks[i], feather) for j in top[i]])
        new[i] = np.sqrt(((made.astype(np.float64) - query) ** 2).sum(-1))
        if i % 50 == 0:
            print(f"  transplant {spec} ({mask_tag}, {fill}, k={k}): {i}/{len(crops)} ({time.time() - start:.0f} s)", flush=True)
    result = {"plain": plain, "top": top, "new": new, "seconds": np.array(time.time() - start)}
    np.savez(path, **result)
    return result


def reranked(plain: np.ndarray, top: np.ndarray, new: np.ndarray, k: int, how: str) -> np.ndarray:
    """Photo scores ``(n, G)`` after re-ranking the first ``k`` of ``top`` by ``new``
    (``transplant``) or by its mean with the plain distance (``transplant-mean``), as the
    product does (:func:`~crossid_desktop.matching.transplant.reordered`); ``plain`` for ``plain``."""
    if how == "plain":
        return plain
    rows = np.arange(len(plain))[:, None]
    value = new[:, :k] if how == "transplant" else (new[:, :k] + plain[rows, top[:, :k]]) / 2
    return np.stack([reordered(p, t, v) for p, t, v in zip(plain, top[:, :k], value)])


def subject_ranks(scores: np.ndarray, gallery_subjects: list[str], probe_subjects: list[str]) -> np.ndarray:
    """Rank of each probe's subject, subjects ranked by their best photo (ties against the probe)."""
    subjects = sorted(set(gallery_subjects))
    index = {s: n for n, s in enumerate(subjects)}
    column = np.array([index[s] for s in gallery_subjects])
    best = np.full((len(scores), len(subjects)), np.inf)
    np.minimum.at(best.T, column, scores.T)
    true = best[np.arange(len(scores)), [index[s] for s in probe_subjects]]
    return 1 + (best < true[:, None]).sum(axis=1)


def evaluate(cache: Cache, part: str, source: str, fill: str, ks: list[int], feather: float, seg_path: Path | None,
             mix: str = "harsh", sets: tuple[str, ...] = REPORT_SETS) -> list[dict[str, Any]]:
    """Figures of the plain flip descriptor and of each re-ranking (``k`` in ``ks``, both ways
    of scoring) over a part's injured and clean probes."""
    g_crops, g_vectors, g_subjects = gallery_set(cache, part)
    kmax = max(ks)
    runs: dict[str, list[dict[str, np.ndarray]]] = {"injured": [], "clean": []}
    meta: dict[str, list[Any]] = {"subjects": [], "severity": [], "count": [], "kinds": [], "seconds": []}
    for set_name, name in probe_specs(part, mix, sets):
        probes = cache.probes(set_name, "report" if part == "report" else "tune", mix)
        people = cache.crops(set_name)[2]
        meta["subjects"].append([people[i] for i in probes["rows"]])
        meta["severity"].append(probes["severity"])
        meta["count"].append(probes["count"])
        meta["kinds"] += [{k.split("@")[0] for k in str(text).split("+")} for text in probes["kinds"]]
        for kind, prefix in (("injured", "probes"), ("clean", "clean")):
            result = transplanted(cache, f"{prefix}:{name}", part, source, fill, kmax, feather, seg_path, g_crops, g_vectors)
            runs[kind].append(result)
            meta["seconds"].append((kind, float(result["seconds"]), len(result["plain"])))
    sev, cnt, kinds = np.concatenate(meta["severity"]), np.concatenate(meta["count"]), meta["kinds"]
    rows = []
    for how, k in [("plain", kmax)] + [(h, k) for k in ks for h in ("transplant", "transplant-mean")]:
        r = {kind: np.concatenate([subject_ranks(reranked(x["plain"], x["top"], x["new"], k, how), g_subjects, subjects)
                                   for x, subjects in zip(runs[kind], meta["subjects"])]) for kind in runs}
        label = "dlib-flip" if how == "plain" else f"{how} {source} {fill} k={k}"
        rows.append({"label": label, "variant": how, "k": k, "mask": source, "fill": fill, "feather": feather,
                     "clean": figures(r["clean"]), "injured": figures(r["injured"]),
                     "by_severity": {str(s): figures(r["injured"], sev == s) for s in SEVERITIES},
                     "by_count": {str(c): figures(r["injured"], cnt == c) for c in COUNTS},
                     "by_kind": {kd: figures(r["injured"], np.array([kd in x for x in kinds])) for kd in sorted(set().union(*kinds))},
                     "gallery_subjects": len(set(g_subjects)), "gallery_photos": len(g_subjects), "seconds": meta["seconds"]})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--work", type=Path, default=Path("/tmp/crossid-injured-real"))
    parser.add_argument("--part", choices=("tune", "report"), default="tune")
    parser.add_argument("--mask", choices=("oracle", "seg"), default="oracle")
    parser.add_argument("--fill", choices=("query", "grey"), default="query")
    parser.add_argument("--mix", default="harsh", help="the injury mix of the probes (harsh, or the held-out mix)")
    parser.add_argument("--sets", nargs="+", default=list(REPORT_SETS), choices=REPORT_SETS, help="with --part report: whose probes are searched")
    parser.add_argument("--k", type=int, nargs="+", default=[10])
    parser.add_argument("--feather", type=float, default=2.0, help="edge feathering, px of the 256 px crop")
    parser.add_argument("--segmenter", type=Path, default=None, help="with --mask seg: segmenter weights (default: the bundled one)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.faces.is_dir():
        print(f"skipped: no face data at {args.faces}")
        return 0
    cache = Cache(args.work, args.faces)
    (cache.work / "transplant").mkdir(exist_ok=True)
    rows = evaluate(cache, args.part, args.mask, args.fill, sorted(args.k), args.feather, args.segmenter, args.mix, tuple(args.sets))
    print(f"people: {args.part}")
    print_table(rows)
    for kind, seconds, n in rows[0]["seconds"]:
        print(f"re-ranking time ({kind}, {n} probes, composites described): {seconds / max(n, 1):.2f} s per probe")
    if args.json:
        args.json.write_text(json.dumps({"part": args.part, "mix": args.mix, "sets": args.sets, "mask": args.mask, "fill": args.fill, "segmenter": str(args.segmenter), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
