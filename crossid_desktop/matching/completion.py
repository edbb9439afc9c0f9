"""Completing the unreliable parts of an aligned face before it is described.

A face descriptor sees the whole face: a dressing over an eye or blood over the mouth moves the
descriptor as much as a different person would. Before the descriptor runs, the parts the
injury segmenter (or the examiner) marked unreliable are replaced by what the face most
probably looks like there:

* **mirror symmetry**: a pixel whose mirror image across the face's midline is reliable takes
  that pixel (faces are nearly symmetric; a frontal canonical crop has its midline at the
  template's midline), its brightness matched to the side it lands on, since side lighting
  makes the two halves differ;
* **inpainting** where both sides are unreliable (the nose, the mouth, both eyes): the hole is
  filled from its border inwards (OpenCV's Telea method) and smoothed, which leaves a neutral,
  skin-coloured patch instead of the injury.

The mask is feathered so that no hard seam is left. Pure numpy and OpenCV.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.canonical import CANONICAL

#: feathering of the filled area's edge, as a fraction of the crop side
FEATHER = 0.012
#: reach of the brightness match between the two halves, as a fraction of the crop side
LIGHT_SCALE = 0.06


def midline_x(size: int) -> float:
    """The face's midline in a canonical crop of ``size`` px (between the template's eyes)."""
    return (CANONICAL.right_eye[0] + CANONICAL.left_eye[0]) / 2.0 * size


def mirror(image: NDArray, size: int | None = None) -> NDArray:
    """Mirror a canonical crop (or mask) across the face's midline, ``(S, S[, C])``: the same
    array shape; columns that fall outside the crop are taken from its edge."""
    import cv2  # OpenCV loads on first use

    size = size or image.shape[1]
    cx = midline_x(size)
    matrix = np.float32([[-1, 0, 2 * cx], [0, 1, 0]])  # pixel i's centre is at x = i (OpenCV's convention, as the alignment's)
    dtype = image.dtype
    flipped = cv2.warpAffine(image.astype(np.float32), matrix, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
    if dtype == np.bool_:
        return flipped > 0.5
    return np.rint(flipped).astype(dtype) if np.issubdtype(dtype, np.integer) else flipped.astype(dtype)


def _masked_mean(values: NDArray[np.float32], weights: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """Gaussian-weighted local mean of ``values`` over pixels with ``weights`` (normalised convolution)."""
    import cv2  # OpenCV loads on first use

    num = cv2.GaussianBlur(values * weights, (0, 0), sigma)
    den = cv2.GaussianBlur(weights, (0, 0), sigma)
    return num / np.maximum(den, 1e-3)


def complete_face(face: NDArray[np.uint8], unreliable: NDArray[np.bool_] | NDArray[np.floating], *,
                  use_mirror: bool = True) -> NDArray[np.uint8]:
    """The aligned face ``(S, S, 3) uint8`` with its ``unreliable`` pixels (``(S, S)`` bool, or
    float in [0, 1]) replaced by their mirror image where that is reliable, else inpainted.

    ``use_mirror=False`` inpaints everything (for the ablation). Returns a new array; a face
    with nothing unreliable comes back unchanged (a copy).
    """
    import cv2  # OpenCV loads on first use

    size = face.shape[0]
    hole = np.asarray(unreliable, dtype=np.float32)
    if hole.max(initial=0.0) < 0.5:
        return face.copy()
    hole = (hole >= 0.5).astype(np.float32)
    img = face.astype(np.float32)
    filled = img.copy()
    still = hole.copy()
    if use_mirror:
        mirrored_img = mirror(img)
        usable = hole * (1.0 - mirror(hole))  # unreliable here, reliable across the midline
        lum = img @ np.float32([0.3, 0.59, 0.11])
        mlum = mirrored_img @ np.float32([0.3, 0.59, 0.11])
        sigma = LIGHT_SCALE * size
        here = _masked_mean(lum, 1.0 - hole, sigma)  # the reliable brightness around each pixel
        there = _masked_mean(mlum, 1.0 - mirror(hole), sigma)
        gain = np.clip(here / np.maximum(there, 1.0), 0.6, 1.6)[..., None]
        filled = np.where(usable[..., None] > 0, np.clip(mirrored_img * gain, 0, 255), filled)
        still = hole * (1.0 - usable)
    if still.any():
        grown = cv2.dilate(still.astype(np.uint8), np.ones((3, 3), np.uint8))
        painted = cv2.inpaint(np.clip(filled, 0, 255).astype(np.uint8), grown, max(3, size // 40), cv2.INPAINT_TELEA)
        painted = cv2.GaussianBlur(painted.astype(np.float32), (0, 0), max(1.0, size / 128))
        filled = np.where(grown[..., None] > 0, painted, filled)
    alpha = cv2.GaussianBlur(cv2.dilate(hole, np.ones((3, 3), np.uint8)), (0, 0), max(0.8, FEATHER * size))
    alpha = np.maximum(alpha, hole)[..., None]
    out = img * (1.0 - alpha) + filled * alpha
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
