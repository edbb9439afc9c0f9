"""The Subclass Contrastive Loss head trained on real photos with simulated casework injuries,
for the real-photo injured-face benchmark (``injured_real.py --head``).

Training people: the *training* part of ``lfw_train`` (``injured_real_data.split_lfw_train``;
never a tuning, distractor or reporting person). For each of ``--people`` of them (drawn with
seed 0) the first photo (file-name order) is the normal photo and the next one or two photos
are injured with the casework simulation of ``--mix`` (severity uniform in 0.1-1.0, the mix's
number of injuries) on the aligned crop; every crop is described by dlib as aligned. The head
is fitted by :func:`~crossid_desktop.training.injured_head.train_head` (its own validation share
of these people picks the epoch) and saved with a card beside it.

Run (describing is the long part, cached under the work folder)::

    .venv/bin/python tests/benchmarks/injured_real_head.py --work /tmp/crossid-injured-real \\
        --out /tmp/crossid-injured-real/head_real.pt
    .venv/bin/python tests/benchmarks/injured_real.py --work /tmp/crossid-injured-real \\
        --variants dlib dlib-flip --head /tmp/crossid-injured-real/head_real.pt --head resources/models/injured.pt
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from injured_real_data import Cache, gallery_probe_rows, injury_seed, split_lfw_train
from injured_real_variants import matcher

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "faces"


def training_descriptors(cache: Cache, people: int, mix_name: str) -> dict[str, np.ndarray]:
    """Normal and injured descriptors of the training people (cached in the work folder)."""
    path = cache.work / f"head_train_{mix_name}_{people}.npz"
    if path.exists():
        return dict(np.load(path))
    from crossid_desktop.synth.injuries.casework import simulate_casework
    from crossid_desktop.synth.injuries.mix import MIXES

    data, paths, names = cache.crops("lfw_train")
    train = split_lfw_train(cache.faces / "lfw_train")["train"]
    chosen = set(np.random.default_rng(0).choice(train, min(people, len(train)), replace=False).tolist())
    first, rest = gallery_probe_rows(names, [p.name for p in paths], chosen, k=1, max_probes=2)
    rng = np.random.default_rng(1)
    crops = data["crops"]  # read once: every access to an .npz member reads the whole array
    start, injured = time.time(), []
    for j, i in enumerate(rest):
        result = simulate_casework(crops[i], seed=injury_seed(mix_name, names[i], paths[i].name), severity=float(rng.uniform(0.1, 1.0)), mix=MIXES[mix_name])
        injured.append(result.image)
        if j % 50 == 0:
            print(f"  injuring training photos: {j}/{len(rest)} ({time.time() - start:.0f} s)", flush=True)
    describe = matcher().descriptors
    out = {
        "normal": np.concatenate([describe(list(crops[first[k:k + 64]])) for k in range(0, len(first), 64)]),
        "normal_subjects": np.array([names[i] for i in first]),
        "injured": np.concatenate([describe(injured[k:k + 64]) for k in range(0, len(injured), 64)]),
        "injured_subjects": np.array([names[i] for i in rest]),
    }
    np.savez(path, **out)
    print(f"  described {len(first)} normal and {len(rest)} injured training photos in {time.time() - start:.0f} s", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--work", type=Path, default=Path("/tmp/crossid-injured-real"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--people", type=int, default=600)
    parser.add_argument("--mix", default="harsh")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--m1", type=float, default=2.0, help="SCL margin of the genuine terms")
    parser.add_argument("--m2", type=float, default=3.1, help="SCL margin of the impostor terms")
    args = parser.parse_args(argv)
    if not args.faces.is_dir():
        print(f"skipped: no face data at {args.faces}")
        return 0
    import torch

    from crossid_desktop.matching.embedding_head import save_head
    from crossid_desktop.matching.model_card import ModelCard
    from crossid_desktop.training.injured_head import Descriptors, HeadTraining, train_head

    torch.set_num_threads(1)
    d = training_descriptors(Cache(args.work, args.faces), args.people, args.mix)
    data = Descriptors(d["normal"].astype(np.float32), tuple(d["normal_subjects"].tolist()), d["injured"].astype(np.float32), tuple(d["injured_subjects"].tolist()))
    settings = HeadTraining(epochs=args.epochs, seed=args.seed, m1=args.m1, m2=args.m2)
    head, log = train_head(data, settings, progress=lambda done, total, message="": print(f"  {message}", flush=True))
    bundled = json.loads((Path(__file__).resolve().parents[2] / "resources" / "models" / "injured.json").read_text())
    card = ModelCard(name=f"injured-scl-real-{args.mix}", task="injured", backbone="dlib-resnet-128", embedding_dim=128, network={},
                     preprocessing=bundled["preprocessing"],
                     training={"data": f"lfw_train training people ({len(set(data.normal_subjects))}): first photo normal, next one or two with casework injuries (mix {args.mix})",
                               "command": "tests/benchmarks/injured_real_head.py " + " ".join(sys.argv[1:] if argv is None else argv), "log": log},
                     metrics={"validation_rank1": log["best_val_rank1"], "untrained_validation_rank1": log["raw_val_rank1"]})
    save_head(args.out, head, card)
    print(json.dumps({"best_epoch": log["best_epoch"], "validation_rank1": log["best_val_rank1"], "raw_validation_rank1": log["raw_val_rank1"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
