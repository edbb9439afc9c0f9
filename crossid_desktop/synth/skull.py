"""Skull radiographs of a simulated person: a frontal (PA) and a lateral (cephalogram-like) view.

Each view is built as projected path lengths (mm) of bone and of soft tissue, turned into
brightness by ``1 - exp(-attenuation)`` (bone bright, air dark), then given the exposure
(gamma, contrast) and scanner noise of that image. The same view without the soft tissue
is the ground truth for soft-tissue suppression: it shares the pose, exposure and noise, so
the two differ only where soft tissue lies.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from crossid_desktop.synth.outline import frontal_outline, profile_polygon
from crossid_desktop.synth.params import Nuisance, Subject, mandible_profile
from crossid_desktop.synth.raster import Frame, Layer
from crossid_desktop.synth.skull_front_shapes import draw_front_mandible, draw_front_midface, draw_front_teeth_and_spine, draw_front_vault, frontal_skull
from crossid_desktop.synth.skull_side_shapes import (
    draw_side_cranial_base,
    draw_side_mandible,
    draw_side_spine,
    draw_side_teeth,
    draw_side_upper_face,
    draw_side_vault,
    lateral_skull,
)

#: field of view of a frontal radiograph, mm across the image side
FIELD_OF_VIEW_MM = 260.0
#: field of view of a lateral radiograph (cephalogram framing: face and skull base, occiput cut)
LATERAL_FIELD_OF_VIEW_MM = 225.0
_BONE_MU = 0.045  # attenuation per mm of bone path
_TISSUE_MU = 0.0055  # attenuation per mm of soft-tissue path


def xray_frame(size: int, nuisance: Nuisance, anchor_mm: tuple[float, float], field_mm: float = FIELD_OF_VIEW_MM) -> Frame:
    """The frame of one radiograph: ``anchor_mm`` near the image centre, ``field_mm`` across, with the pose nuisance."""
    centre = (size / 2 + nuisance.shift[0] * size, size / 2 + nuisance.shift[1] * size)
    return Frame.make(size, size / field_mm * nuisance.scale, anchor_mm, centre, nuisance.angle)


def xray_front_frame(nuisance: Nuisance, size: int) -> Frame:
    """The frame of a frontal radiograph."""
    return xray_frame(size, nuisance, (0.0, 10.0))


def xray_side_frame(nuisance: Nuisance, size: int) -> Frame:
    """The frame of a lateral radiograph (cephalogram framing: the face, the chin and the skull base)."""
    return xray_frame(size, nuisance, (-52.0, 34.0), LATERAL_FIELD_OF_VIEW_MM)


def render_xray_front(subject: Subject, nuisance: Nuisance, size: int) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """The frontal (PA) radiograph, with and without soft tissue: two ``(size, size)`` uint8."""
    frame = xray_front_frame(nuisance, size)
    bone = _frontal_bone(subject, frame)
    u, v = frame.grid()
    outline = frontal_outline(subject)
    half = outline.at(v)
    ratio = np.clip(1.0 - (u / np.maximum(half, 1e-3)) ** 2, 0.0, None)
    tissue = np.where(half > 0, 90.0 * np.sqrt(ratio), 0.0).astype(np.float32)
    return _expose(bone, tissue, nuisance)


def render_xray_side(subject: Subject, nuisance: Nuisance, size: int) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """The lateral radiograph (facing right), with and without soft tissue: two ``(size, size)`` uint8."""
    frame = xray_side_frame(nuisance, size)
    bone = _lateral_bone(subject, frame)
    mask = np.zeros((size, size), np.uint8)
    points = np.round(frame.px(profile_polygon(subject)) * 16).astype(np.int32)
    cv2.fillPoly(mask, [points], 255, cv2.LINE_8, 4)
    depth = cv2.distanceTransform(mask, cv2.DIST_L2, 3) / frame.px_per_mm
    tissue = np.where(mask > 0, 30.0 + 60.0 * np.sqrt(np.clip(depth / 25.0, 0.0, 1.0)), 0.0).astype(np.float32)
    # the pharyngeal airway: less tissue along a band from behind the palate down the neck
    airway = Layer(frame)
    (_, _), (gz, gy), _ = mandible_profile(subject.skull)
    ans_y = subject.skull.nasal_height
    airway.polyline([(-50.0, ans_y - 6.0), (-58.0, ans_y + 8.0), (gz - 7.0, gy), (gz - 9.0, 200.0)], 1.0, 8.0, smooth=2)
    tissue = np.maximum(tissue - 45.0 * cv2.GaussianBlur(airway.values, (0, 0), 1.5), 0.0)
    return _expose(bone, tissue, nuisance)


def _expose(bone: NDArray[np.float32], tissue: NDArray[np.float32], nuisance: Nuisance) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Path lengths to two exposed, noisy 8-bit radiographs (with and without tissue)."""
    size = bone.shape[0]
    sigma = max(0.5, size / 400)
    bone = cv2.GaussianBlur(np.maximum(bone, 0.0), (0, 0), sigma)
    tissue = cv2.GaussianBlur(tissue, (0, 0), 2 * sigma)
    rng = np.random.default_rng(nuisance.noise_seed)
    fine = rng.normal(0.0, 0.018, (size, size)).astype(np.float32)
    mottle = cv2.resize(rng.normal(0.0, 0.02, (8, 8)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    trabecular = cv2.resize(rng.normal(1.0, 0.12, (48, 48)).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    bone = bone * trabecular
    images = []
    for attenuation in (_BONE_MU * bone + _TISSUE_MU * tissue, _BONE_MU * bone):
        signal = 1.0 - np.exp(-attenuation)
        signal = nuisance.contrast * np.power(signal, nuisance.gamma) + 0.03
        signal = signal + fine + mottle
        images.append(np.clip(signal * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return images[0], images[1]


def _frontal_bone(subject: Subject, frame: Frame) -> NDArray[np.float32]:
    """Bone path lengths (mm) of a PA view."""
    k = frontal_skull(subject)
    layer = Layer(frame)
    draw_front_vault(layer, k)
    draw_front_midface(layer, k)
    draw_front_mandible(layer, k)
    draw_front_teeth_and_spine(layer, k)
    return layer.values


def _lateral_bone(subject: Subject, frame: Frame) -> NDArray[np.float32]:
    """Bone path lengths (mm) of a lateral view, face towards +z (image right)."""
    k = lateral_skull(subject)
    layer = Layer(frame)
    draw_side_vault(layer, k)
    draw_side_cranial_base(layer, k)
    draw_side_upper_face(layer, k)
    draw_side_mandible(layer, k)
    draw_side_teeth(layer, k)
    draw_side_spine(layer, k)
    return layer.values
