"""Gallery encoding throughput on the CPU: batched (32 at a time) against one face at a time.

Matchers: dlib's face ResNet, and randomly initialised ResNet18 networks at 224 px and
112 px input (throughput does not depend on the weights). Faces are canonical crops of the
LFW photos in ``../shared/data/faces`` when present, else synthetic random crops (said in the
output). Everything runs in one process so the ratios compare like with like; absolute
figures depend on the machine and its load.

    python tests/benchmarks/encoding_throughput.py [--faces 64] [--threads N] [--device cpu]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "faces" / "lfw_dev"


def load_faces(count: int) -> tuple[list[NDArray[np.uint8]], str]:
    if SHARED.is_dir():
        from crossid_desktop.imaging.faces import align_face
        from crossid_desktop.imaging.io import load_image

        photos = sorted(SHARED.glob("*/*.jpg"))[:count]
        faces = [align_face(load_image(p).rgb_uint8(), allow_centre_crop=True).image for p in photos]
        if faces:
            while len(faces) < count:
                faces += faces[: count - len(faces)]
            return faces, f"{len(photos)} LFW photos aligned to 256 px canonical crops"
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in range(count)], "SYNTHETIC random 256 px crops (no ../shared/data/faces)"


def torch_matcher(backbone: str, folder: Path, device: str) -> Any:
    from crossid_desktop.matching.backbones import backbone_spec
    from crossid_desktop.matching.checkpoint import ModelCard, preprocessing_recipe, save_checkpoint
    from crossid_desktop.matching.matchers import TorchMatcher
    from crossid_desktop.matching.networks import CrossDomainNet

    spec = backbone_spec(backbone)
    card = ModelCard(name=backbone, task="skull2face", backbone=backbone, embedding_dim=128, network={}, preprocessing=preprocessing_recipe("skull2face", input_size=spec.input_size, mean=spec.mean, std=spec.std))
    path = folder / f"{backbone}.pt"
    save_checkpoint(path, CrossDomainNet(backbone), card)
    return TorchMatcher.from_checkpoint(path, device=device)


def rate(encode: Callable[[list[NDArray[np.uint8]]], Any], faces: list[NDArray[np.uint8]], batch: int) -> float:
    encode(faces[:batch])  # warm-up
    start = time.perf_counter()
    for i in range(0, len(faces), batch):
        encode(faces[i : i + batch])
    return len(faces) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from crossid_desktop.matching.dlib_matcher import DlibFaceMatcher

    faces, source = load_faces(args.faces)
    print(f"faces: {len(faces)} ({source}); torch threads: {torch.get_num_threads()}; device: {args.device}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        matchers = {
            "dlib face ResNet (150 px chips)": DlibFaceMatcher(batch_size=32),
            "ResNet18 224 px (random init)": torch_matcher("resnet18", Path(tmp), args.device),
            "ResNet18 112 px (random init)": torch_matcher("resnet18_112", Path(tmp), args.device),
        }
        for name, matcher in matchers.items():
            matcher.batch_size = 32
            batched = rate(matcher.encode_gallery, faces, 32)
            single = rate(matcher.encode_gallery, faces, 1)
            rows.append((name, single, batched))
    dlib_batched = rows[0][2]
    print(f"\n{'matcher':34} {'1 at a time':>12} {'batch 32':>10} {'batch/1':>8} {'vs dlib':>8}")
    for name, single, batched in rows:
        print(f"{name:34} {single:10.1f}/s {batched:8.1f}/s {batched / single:7.2f}x {batched / dlib_batched:7.2f}x")


if __name__ == "__main__":
    main()
