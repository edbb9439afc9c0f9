"""Time of one injured-face search through the product's search service, with and without the
occlusion transplant: a gallery of the first 30 people of ``lfw_dev`` (three photos each), the
first 10 injured probes of the real-photo benchmark's probe file as queries, the matcher of
``resources/models/injured_real.json`` with ``transplant_k`` set to 0 and to the card's value.
Prints CPU and wall seconds per search (load, detection, alignment, segmenter, descriptors,
ranking and, with the transplant, the composites' descriptors).

Run after ``injured_real.py`` (which writes the probe file)::

    .venv/bin/python tests/benchmarks/injured_real_search_time.py --work /tmp/injured_real --out /tmp/search_time
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from injured_real import FACES


def _workspace(root: Path, gallery: Path, card: dict, k: int) -> tuple[object, object]:
    from crossid_desktop.gallery.enrol import enrol
    from crossid_desktop.matching.selection import MatcherCache, write_config
    from crossid_desktop.workspace import Workspace

    card = json.loads(json.dumps(card))
    card["name"] = f"{card['name']}-k{k}"
    card["preprocessing"]["query"]["injury_aware"]["transplant_k"] = k
    (root / f"card{k}.json").write_text(json.dumps(card), encoding="utf-8")
    ws = Workspace.open(root / f"ws{k}")
    write_config(ws.root, "injured", str(root / f"card{k}.json"))
    cache = MatcherCache()
    enrol(ws, gallery, matchers=[cache.for_role(ws.root, "injured")], allow_centre_crop=True)
    return ws, cache


def main(argv: list[str] | None = None) -> int:
    import cv2

    from crossid_desktop.matching.base import QueryModality
    from crossid_desktop.matching.preprocess import FaceChoice
    from crossid_desktop.paths import resource_path
    from crossid_desktop.search.service import SearchService

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--work", type=Path, required=True, help="the work folder of injured_real.py")
    parser.add_argument("--out", type=Path, required=True, help="an empty folder for the workspaces")
    args = parser.parse_args(argv)
    card = json.loads(resource_path("models", "injured_real.json").read_text(encoding="utf-8"))
    probes = np.load(args.work / "probes" / "lfw_dev_report_harsh.npz")
    gallery = args.out / "gallery"
    for person in sorted(p for p in (args.faces / "lfw_dev").iterdir() if p.is_dir())[:30]:
        (gallery / person.name).mkdir(parents=True, exist_ok=True)
        for photo in sorted(person.glob("*.jpg"))[:3]:
            (gallery / person.name / photo.name).write_bytes(photo.read_bytes())
    queries = []
    for i in range(10):
        queries.append(args.out / f"query{i}.png")
        cv2.imwrite(str(queries[-1]), cv2.cvtColor(probes["photos"][i], cv2.COLOR_RGB2BGR))
    choice = [FaceChoice(face=1, allow_centre_crop=True)]
    out = {}
    for k in (0, int(card["preprocessing"]["query"]["injury_aware"].get("transplant_k", 0))):
        ws, cache = _workspace(args.out, gallery, card, k)
        with SearchService(ws, matchers=cache) as service:  # type: ignore[arg-type]
            service.search([queries[0]], modality=QueryModality.INJURED_FACE, top_k=10, choices=choice)  # models loaded
            cpu, wall = time.process_time(), time.perf_counter()
            for query in queries:
                service.search([query], modality=QueryModality.INJURED_FACE, top_k=10, choices=choice)
            out[f"transplant_k={k}"] = {"cpu_s": (time.process_time() - cpu) / len(queries), "wall_s": (time.perf_counter() - wall) / len(queries)}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
