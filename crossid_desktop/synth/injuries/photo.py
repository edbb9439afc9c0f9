"""Injuries on a whole photo, so that an injured probe is found, aligned and searched like a real
injured query: the face is aligned to the canonical crop, injured there (the casework
simulation, or the single-injury one), and the injured crop is put back into the photo where
the injuries changed it. Face detection and alignment then run on the injured photo, with the
trouble injuries give them (a covered eye misleads the landmark predictor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.canonical import ALIGNED_SIZE
from crossid_desktop.imaging.faces import align_face
from crossid_desktop.synth.injuries.casework import simulate_casework
from crossid_desktop.synth.injuries.mix import InjuryMix
from crossid_desktop.synth.injuries.simulate import simulate_injury


@dataclass(frozen=True)
class InjuredPhoto:
    """``image``: the photo with the injuries, ``(H, W, 3) uint8`` RGB. ``mask``: ``(H, W) bool``,
    the injured pixels in the photo. ``crop_mask``: ``(S, S) bool``, the same in the canonical
    crop of the uninjured photo, whose photo-to-crop affine is ``transform`` ``(2, 3)``.
    ``kinds`` and ``sites``: one per injury; ``severity`` of the face."""

    image: NDArray[np.uint8]
    mask: NDArray[np.bool_]
    crop_mask: NDArray[np.bool_]
    transform: NDArray[np.float64]
    kinds: tuple[str, ...]
    sites: tuple[str, ...]
    severity: float


def injure_photo(photo: NDArray[np.uint8], *, seed: int, severity: float, count: int | None = None,
                 mix: InjuryMix | None = None, size: int = ALIGNED_SIZE) -> InjuredPhoto:
    """Injure the (largest) face of an RGB photo ``(H, W, 3) uint8``: with the casework
    simulation of ``mix`` (``count`` injuries, None: drawn from the mix), or with ``mix=None``
    the publication's single-injury simulation (one region, ``count`` ignored). The face is
    aligned to a ``size`` px canonical crop first (its central square when no face is found)."""
    import cv2  # OpenCV loads on first use

    aligned = align_face(photo, size=size, allow_centre_crop=True)
    crop = aligned.image
    if mix is None:
        single = simulate_injury(crop, seed=seed, severity=severity)
        injured, crop_mask, kinds, sites = single.image, single.mask, single.kinds, single.regions
    else:
        result = simulate_casework(crop, seed=seed, severity=severity, count=count, mix=mix)
        injured, crop_mask, kinds, sites = result.image, result.mask, result.kinds, result.sites
    h, w = photo.shape[:2]
    inverse = cv2.WARP_INVERSE_MAP
    back = cv2.warpAffine(injured, aligned.transform, (w, h), flags=cv2.INTER_AREA | inverse, borderMode=cv2.BORDER_REPLICATE)
    # blend weight: the injuries' mask (grown a little, for their soft edges) and every changed pixel
    grown = cv2.dilate(crop_mask.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
    weight = cv2.warpAffine(grown, aligned.transform, (w, h), flags=cv2.INTER_LINEAR | inverse).astype(np.float32) / 255.0
    changed = cv2.warpAffine(np.any(injured != crop, axis=2).astype(np.uint8) * 255, aligned.transform, (w, h), flags=cv2.INTER_LINEAR | inverse)
    alpha = np.maximum(weight, (changed > 0).astype(np.float32))[..., None]
    out = np.clip(photo * (1.0 - alpha) + back * alpha + 0.5, 0, 255).astype(np.uint8)
    mask = cv2.warpAffine(crop_mask.astype(np.uint8) * 255, aligned.transform, (w, h), flags=cv2.INTER_LINEAR | inverse) > 127
    return InjuredPhoto(out, mask, crop_mask, aligned.transform, tuple(kinds), tuple(sites), float(severity))
