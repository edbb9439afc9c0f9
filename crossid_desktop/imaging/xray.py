"""Soft-tissue suppression for skull X-rays (classical image processing, no learning).

The X-ray of a living person shows skin and muscle as a grey haze over the bone. Matching a
skull to a face needs what remains once that haze is gone: an image that resembles the
radiograph of the skull. :func:`suppress_soft_tissue` does that with OpenCV and NumPy alone; it
is deterministic, its parameters live in the frozen :class:`SoftTissueParams` (one
user-facing ``strength`` in [0, 1]) and :data:`ALGORITHM_VERSION` names it in every report.

Why this algorithm. In a radiograph (bright = more attenuation) soft tissue is

* **dim**: a little above the air level, below dense bone (on the lateral cephalograms we
  measured, lips, nose and chin lie within about 0.1 of the normalised range above air), and
* **smooth**: it varies slowly in space, apart from its outline (the skin profile),

whereas bone is bright and carries fine detail (cortical edges, trabeculae, teeth). So:

1. *Robust normalisation.* The 1st and 99th intensity percentiles map to 0 and 1, so that
   burnt-in labels, collimator edges and the bit depth do not set the scale.
2. *Smooth layer.* A greyscale morphological opening with a small disc (a "rolling ball" of
   radius ``layer_scale`` x image height, about 2 mm on a cephalogram) followed by a Gaussian
   of half that radius keeps what is broader than the disc (air, soft tissue, the broad base
   of bone) and drops narrow bright detail. It runs on a copy reduced to ``work_height`` rows:
   the layer is smooth, and the opening then costs a few milliseconds.
3. *Soft-tissue band.* The air level is the mode of the dim half of the smooth layer's
   histogram (air is the largest flat region of a head radiograph). Intensities up to
   ``ceiling = air + soft_ceiling x (1 - air)`` form the soft-tissue band. The output keeps
   (a) everything above the ceiling, shifted down by it: bone keeps its shape and edges;
   (b) below the ceiling, only what stands out of the smooth layer (thin bone lying over soft
   tissue, such as nasal bones or the cortex of the chin), after a smooth shrinkage
   ``d -> d^3 / (d^2 + knee^2)`` that fades residues well below ``knee`` (the texture of soft
   tissue, the skin outline, photon noise) and barely touches stronger detail. Air and soft
   tissue thus go to 0; unlike a hard threshold, nothing here creates new edges.
4. *Lift.* Removing the band darkens thin and mid-density bone, so broad tones are brightened
   by a concave curve ``(1 - exp(-lift x)) / (1 - exp(-lift))`` applied to a Gaussian-smoothed
   base (``base_scale`` x height) while the fine structure is added back unchanged (a
   base/detail tone mapping: cortical edges and trabeculae stay crisp, highlights do not
   flatten). No pixel gains more than the curve's slope at 0, so no glow spills into air.
5. *Blend.* ``amount`` mixes the suppressed image into the normalised input; a final stretch
   maps 0 (air) to 0 and the 99th percentile to 1.

``strength`` drives ``amount``, ``soft_ceiling``, ``knee`` and ``lift`` together (see
:class:`SoftTissueParams`); each can be overridden for experiments. Strength 0 returns the
normalised input. Contrast-limited adaptive histogram equalisation (CLAHE) was tried for step
4 and dropped: it washed out large bright regions (cranium, teeth) and lifted the residues of
soft tissue, for less bone contrast than the lift. A 2000x2500 image takes a few hundred
milliseconds on one core.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: name of the algorithm and its version, recorded in reports; change it whenever the output
#: of :func:`suppress_soft_tissue` changes for the same input and the same *resolved*
#: parameters (:meth:`SoftTissueParams.to_dict`, which reports and model cards record). New
#: defaults for the strength-derived values do not change it: a model card that recorded the
#: old values keeps getting exactly the preprocessing it was trained with.
ALGORITHM_VERSION = "sts-1"

# The three constants below were chosen by tests/benchmarks/soft_tissue_tune.py on the 60
# train + tune cephalograms of the fixed split (matching/landmarks/cephalograms.py): at the
# default strength 0.7, soft_ceiling 0.105, knee 0.09, lift 7.5 gave the lowest median
# reduction among the settings that kept the median bone contrast >= 0.33 without overshoot.
# The 15 test images were not read; tests/benchmarks/soft_tissue.py reports on them.
#: at ``strength = 1``: top of the soft-tissue band as a fraction of the range above air
_MAX_SOFT_CEILING = 0.15
#: at ``strength = 1``: knee of the shrinkage of sub-ceiling detail, normalised intensity
_MAX_KNEE = 0.09 / 0.7
#: at ``strength = 1``: steepness of the concave tone curve that brightens bone
_MAX_LIFT = 7.5 / 0.7


def _check_range(name: str, value: float | None, low: float = 0.0, high: float = 1.0) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or not low <= value <= high:
        raise ValueError(f"Soft-tissue parameter {name} must be a number between {low:g} and {high:g}, got {value!r}.")


@dataclass(frozen=True)
class SoftTissueParams:
    """Parameters of :func:`suppress_soft_tissue`.

    ``strength`` is the only setting a user needs: 0 leaves the image unchanged apart from
    the percentile normalisation, 1 removes the soft tissue as far as the method can. The
    fields left at ``None`` are derived from it (read the effective values with
    :meth:`resolved` or :meth:`to_dict`); set them to override.

    Attributes:
        strength: suppression strength in [0, 1].
        low_percentile: intensity percentile (%) mapped to 0 by the input normalisation.
        high_percentile: intensity percentile (%) mapped to 1 by the input normalisation and
            by the final stretch.
        work_height: rows (px) of the reduced copy on which the smooth components (layer,
            base) are estimated.
        layer_scale: radius of the rolling ball (the opening's disc) as a fraction of image
            height; bright structures narrower than twice this count as detail. 0.012 is
            about 2 mm on a lateral cephalogram.
        base_scale: Gaussian sigma of the base that the lift brightens, as a fraction of image
            height; finer structure passes the lift unchanged.
        amount: fraction of the suppressed image in the output, in [0, 1]; default
            ``1 - (1 - strength)^2``.
        soft_ceiling: top of the soft-tissue band as a fraction of the normalised range from
            the air level to 1, in [0, 1]; default ``0.15 x strength``.
        knee: sub-ceiling detail (normalised intensity) below which it fades as soft-tissue
            texture or noise, in [0, 0.5]; default ``0.129 x strength``.
        lift: steepness of the concave tone curve (dimensionless, 0 = none), in [0, 20];
            default ``10.7 x strength``.
    """

    strength: float = 0.7
    low_percentile: float = 1.0
    high_percentile: float = 99.0
    work_height: int = 512
    layer_scale: float = 0.012
    base_scale: float = 0.006
    amount: float | None = None
    soft_ceiling: float | None = None
    knee: float | None = None
    lift: float | None = None

    def __post_init__(self) -> None:
        _check_range("strength", self.strength)
        _check_range("low_percentile", self.low_percentile, 0.0, 50.0)
        _check_range("high_percentile", self.high_percentile, 50.0, 100.0)
        if self.low_percentile >= self.high_percentile:
            raise ValueError("Soft-tissue parameter low_percentile must be below high_percentile.")
        if isinstance(self.work_height, bool) or not isinstance(self.work_height, int) or not 32 <= self.work_height <= 4096:
            raise ValueError(f"Soft-tissue parameter work_height must be a whole number of rows between 32 and 4096, got {self.work_height!r}.")
        _check_range("layer_scale", self.layer_scale, 0.001, 0.5)
        _check_range("base_scale", self.base_scale, 0.001, 0.5)
        _check_range("amount", self.amount)
        _check_range("soft_ceiling", self.soft_ceiling)
        _check_range("knee", self.knee, 0.0, 0.5)
        _check_range("lift", self.lift, 0.0, 20.0)

    def resolved(self) -> SoftTissueParams:
        """A copy with every strength-derived field filled in."""
        s = float(self.strength)
        return replace(
            self,
            strength=s,
            amount=1.0 - (1.0 - s) ** 2 if self.amount is None else float(self.amount),
            soft_ceiling=_MAX_SOFT_CEILING * s if self.soft_ceiling is None else float(self.soft_ceiling),
            knee=_MAX_KNEE * s if self.knee is None else float(self.knee),
            lift=_MAX_LIFT * s if self.lift is None else float(self.lift),
        )

    def to_dict(self) -> dict[str, float | int | str]:
        """Every effective parameter and the algorithm version, for the case report."""
        values: dict[str, float | int | str] = {key: value for key, value in asdict(self.resolved()).items() if value is not None}
        values["algorithm"] = ALGORITHM_VERSION
        return values


def suppress_soft_tissue(image: NDArray[Any], params: SoftTissueParams = SoftTissueParams()) -> NDArray[np.float32]:
    """Fade the soft tissue of a skull X-ray, keeping the bone.

    Args:
        image: greyscale ``(H, W)`` ``uint8``, ``uint16`` or floating point in [0, 1]; an
            ``(H, W, 3)`` RGB image is converted to grey first (BT.601 luma). Bright = dense.
        params: the suppression parameters.

    Returns:
        ``(H, W)`` float32 in [0, 1]: bone bright, soft tissue faded towards the air level,
        which maps to 0. At strength 0, the input after percentile normalisation.

    Raises:
        ValueError: an image that is neither ``(H, W)`` nor ``(H, W, 3)``, of another dtype,
            or empty.
    """
    import cv2  # OpenCV loads on first use

    p = params.resolved()
    normalised = normalise_xray(image, p.low_percentile, p.high_percentile)
    amount, soft_ceiling, knee, lift = float(p.amount or 0.0), float(p.soft_ceiling or 0.0), float(p.knee or 0.0), float(p.lift or 0.0)
    if amount == 0.0:
        return normalised

    height, width = normalised.shape
    scale = min(1.0, p.work_height / height)
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(normalised, small_size, interpolation=cv2.INTER_AREA) if scale < 1.0 else normalised

    radius = max(1, round(p.layer_scale * small.shape[0]))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    smooth = cv2.morphologyEx(small, cv2.MORPH_OPEN, disc, borderType=cv2.BORDER_REPLICATE)
    smooth = cv2.GaussianBlur(smooth, (0, 0), sigmaX=radius / 2.0, borderType=cv2.BORDER_REPLICATE)
    air = air_level(smooth)
    ceiling = np.float32(air + soft_ceiling * (1.0 - air))
    layer_small = np.minimum(smooth, ceiling)

    # the lift's additive map, from the suppressed image at the reduced size
    base_small = cv2.GaussianBlur(_remove_band(small, layer_small, ceiling, knee), (0, 0), sigmaX=max(0.5, p.base_scale * small.shape[0]), borderType=cv2.BORDER_REPLICATE)
    lift_small = _lift_curve(base_small, lift) - base_small if lift > 0.0 else np.zeros_like(base_small)

    if scale < 1.0:
        both = cv2.resize(np.dstack([layer_small, lift_small]), (width, height), interpolation=cv2.INTER_LINEAR)
        layer, lift_map = both[:, :, 0], both[:, :, 1]
    else:
        layer, lift_map = layer_small, lift_small
    suppressed = _remove_band(normalised, layer, ceiling, knee)
    if lift > 0.0:
        # no pixel gains more than the curve's slope at 0 allows: no glow spills into the air
        np.minimum(suppressed + lift_map, suppressed * np.float32(lift / (1.0 - np.exp(-lift))), out=suppressed)
    if amount < 1.0:
        suppressed *= np.float32(amount)
        suppressed += np.float32(1.0 - amount) * normalised
    return _normalise(suppressed, 0.0, p.high_percentile, floor_zero=True)


def normalise_xray(image: NDArray[Any], low_percentile: float = 1.0, high_percentile: float = 99.0) -> NDArray[np.float32]:
    """An X-ray as ``(H, W)`` float32 in [0, 1]: grey (colour via BT.601 luma), the
    ``low_percentile`` and ``high_percentile`` intensities mapped to 0 and 1, clipped. The
    first step of :func:`suppress_soft_tissue`, and the input of the landmark detector."""
    return _normalise(_to_grey_float(image), low_percentile, high_percentile)


def _remove_band(image: NDArray[np.float32], layer: NDArray[np.float32], ceiling: np.float32, knee: float) -> NDArray[np.float32]:
    """Step 3 of the module docstring: what lies above ``ceiling``, plus the sub-ceiling detail
    standing out of ``layer`` (shrunk by ``knee``), stretched so that 1 stays 1; in [0, 1]."""
    below = np.minimum(image, ceiling)
    below -= layer
    np.maximum(below, 0.0, out=below)
    if knee > 0.0:
        squared = below * below
        below *= squared
        squared += np.float32(knee * knee)
        below /= squared
    above = image - ceiling
    np.maximum(above, 0.0, out=above)
    above += below
    above *= np.float32(1.0 / max(1e-3, 1.0 - float(ceiling)))
    return np.clip(above, 0.0, 1.0, out=above)


def _lift_curve(x: NDArray[np.float32], lift: float) -> NDArray[np.float32]:
    """Concave tone curve on [0, 1] fixing 0 and 1: ``(1 - exp(-lift x)) / (1 - exp(-lift))``."""
    return ((1.0 - np.exp(-np.float32(lift) * x)) * np.float32(1.0 / (1.0 - np.exp(-lift)))).astype(np.float32)


def _to_grey_float(image: NDArray[Any]) -> NDArray[np.float32]:
    """``(H, W)`` or ``(H, W, 3)`` image of any supported dtype as ``(H, W)`` float32 in [0, 1]."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.shape[2] in (3, 4):
        array = array[:, :, :3]
        if array.dtype == np.uint8 or array.dtype == np.uint16:
            scaled = array.astype(np.float32) / float(np.iinfo(array.dtype).max)
        else:
            scaled = array.astype(np.float32)
        # ITU-R BT.601 luma, the weights OpenCV's RGB2GRAY uses
        array = scaled @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    elif array.ndim == 2 and (array.dtype == np.uint8 or array.dtype == np.uint16):
        array = array.astype(np.float32) / float(np.iinfo(array.dtype).max)
    elif array.ndim == 2 and np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32)
    elif array.ndim == 2:
        raise ValueError(f"An X-ray must be uint8, uint16 or floating point, got {array.dtype}.")
    else:
        raise ValueError(f"An X-ray must be a greyscale (H, W) or colour (H, W, 3) image, got shape {array.shape}.")
    if array.size == 0:
        raise ValueError("An X-ray image must not be empty.")
    if not np.isfinite(array).all():
        array = np.nan_to_num(array, nan=0.0, posinf=1.0, neginf=0.0)
    return array


def _percentile_pair(image: NDArray[np.float32], low: float, high: float) -> tuple[float, float]:
    """Intensity percentiles of an image, from a regular subsample of at most ~250k pixels."""
    step = max(1, int(np.sqrt(image.size / 250_000)))
    sample = image[::step, ::step]
    lo, hi = np.percentile(sample, [low, high])
    return float(lo), float(hi)


def _normalise(image: NDArray[np.float32], low: float, high: float, *, floor_zero: bool = False) -> NDArray[np.float32]:
    """Map the ``low`` and ``high`` percentiles to 0 and 1 (``floor_zero``: map 0 to 0), clip."""
    lo, hi = _percentile_pair(image, low, high)
    if floor_zero:
        lo = 0.0
    if hi - lo < 1e-6:
        return np.zeros_like(image, dtype=np.float32)
    out = (image - np.float32(lo)) * np.float32(1.0 / (hi - lo))
    return np.clip(out, 0.0, 1.0, out=out).astype(np.float32, copy=False)


def air_level(smooth: NDArray[np.float32]) -> float:
    """Air level of a normalised X-ray: the most frequent value of the dim half of the smooth
    layer (air surrounds the head and is the largest flat region), skipping the darkest 2 %
    (airways and clipped pixels), from a histogram of 100 bins smoothed over 3."""
    hist, edges = np.histogram(smooth, bins=100, range=(0.0, 1.0))
    hist = np.convolve(hist.astype(np.float64), np.ones(3) / 3.0, mode="same")
    peak = 2 + int(np.argmax(hist[2:50]))
    return float(0.5 * (edges[peak] + edges[peak + 1]))

