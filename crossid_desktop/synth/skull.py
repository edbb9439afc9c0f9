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
from crossid_desktop.synth.params import Nuisance, Subject, face_geometry, mandible_profile
from crossid_desktop.synth.raster import Frame, Layer, shell_path

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


def render_xray_front(subject: Subject, nuisance: Nuisance, size: int) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """The frontal (PA) radiograph, with and without soft tissue: two ``(size, size)`` uint8."""
    frame = xray_frame(size, nuisance, (0.0, 10.0))
    bone = _frontal_bone(subject, frame)
    u, v = frame.grid()
    outline = frontal_outline(subject)
    half = outline.at(v)
    ratio = np.clip(1.0 - (u / np.maximum(half, 1e-3)) ** 2, 0.0, None)
    tissue = np.where(half > 0, 90.0 * np.sqrt(ratio), 0.0).astype(np.float32)
    return _expose(bone, tissue, nuisance)


def render_xray_side(subject: Subject, nuisance: Nuisance, size: int) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """The lateral radiograph (facing right), with and without soft tissue: two ``(size, size)`` uint8."""
    frame = xray_frame(size, nuisance, (-52.0, 30.0), LATERAL_FIELD_OF_VIEW_MM)
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
    s = subject.skull
    g = face_geometry(subject)
    layer = Layer(frame)
    u, v = frame.grid()
    top = g.vertex_y + subject.tissue.scalp
    centre_y = -35.0
    # the vault; its walls run down to the mastoids and fade into the skull base below the orbits
    vault = shell_path(u, v, (0.0, centre_y), (s.cranial_width / 2, centre_y - top), 6.5, lower_axis=80.0)
    layer.values += vault * np.clip((40.0 - v) / 40.0, 0.0, 1.0)
    ex, ey, ow, oh = g.eye_dx, g.eye_y, s.orbit_width / 2, s.orbit_height / 2
    zy = g.cheek_y
    (_, _), (_, gonion_y), (_, menton_y) = mandible_profile(s)
    prosthion = s.nasal_height + 16.0
    # mastoids and petrous ridges
    for side in (-1, 1):
        layer.ellipse((side * (s.cranial_width / 2 - 24), 30.0), (8.0, 13.0), 14.0)
        layer.polyline([(side * 14.0, ey + oh + 6), (side * (s.cranial_width / 2 - 14), ey + oh + 14)], 10.0, 5.0)
    # facial skeleton mass (maxilla, zygomas, nasal bones)
    face = [(-ex - ow - 2, ey - oh), (-s.bizygomatic_width / 2, zy), (-s.bizygomatic_width / 2 + 9, zy + 9),
            (-s.maxilla_width / 2, s.nasal_height - 6), (-s.maxilla_width / 2 + 14, prosthion),
            (s.maxilla_width / 2 - 14, prosthion), (s.maxilla_width / 2, s.nasal_height - 6),
            (s.bizygomatic_width / 2 - 9, zy + 9), (s.bizygomatic_width / 2, zy), (ex + ow + 2, ey - oh)]
    layer.polygon(face, 16.0, smooth=2)
    for side in (-1, 1):
        # zygomatic arch and lateral orbital rim: dense bone seen end-on
        layer.polyline([(side * (ex + ow), ey - oh), (side * (ex + ow + 3), ey + oh * 0.6),
                        (side * (s.bizygomatic_width / 2 - 1.5), zy), (side * (s.bizygomatic_width / 2 - 8), zy + 8)], 18.0, 4.5)
        # orbit: lucent with a bright rim
        layer.ellipse((side * ex, ey), (ow, oh), -24.0)
        layer.ellipse((side * ex, ey), (ow, oh), 12.0, width_mm=2.2)
        # maxillary sinus
        layer.ellipse((side * (s.nasal_width / 2 + 13), ey + oh + 14), (11.0, 12.0), -9.0)
        # frontal sinus lobes
        layer.ellipse((side * 7.0, -14.0), (8.0, 7.5), -7.0, angle=side * 20.0)
    # nasal aperture (pear shaped) and septum
    half_w = s.nasal_width / 2
    aperture = [(0.0, 0.42 * s.nasal_height), (half_w * 0.6, 0.55 * s.nasal_height), (half_w, 0.82 * s.nasal_height),
                (half_w * 0.7, s.nasal_height), (0.0, s.nasal_height - 2), (-half_w * 0.7, s.nasal_height),
                (-half_w, 0.82 * s.nasal_height), (-half_w * 0.6, 0.55 * s.nasal_height)]
    layer.polygon(aperture, -13.0, smooth=2)
    layer.polyline([(0.0, 0.45 * s.nasal_height), (0.0, s.nasal_height - 2)], 6.0, 1.8)
    # mandible: rami, angles, body and chin
    condyle_x = s.bizygomatic_width / 2 - 16
    for side in (-1, 1):
        ramus = [(side * condyle_x, ey + 14), (side * s.bigonial_width / 2, gonion_y),
                 (side * s.chin_width / 2, menton_y - 5), (0.0, menton_y)]
        layer.polyline(ramus, 26.0, 6.0, smooth=3)
    body = [(-s.bigonial_width / 2 + 4, gonion_y - 6), (-s.chin_width / 2, menton_y - 6), (0, menton_y - 2),
            (s.chin_width / 2, menton_y - 6), (s.bigonial_width / 2 - 4, gonion_y - 6),
            (s.maxilla_width / 2 - 10, prosthion + 14), (-s.maxilla_width / 2 + 10, prosthion + 14)]
    layer.polygon(body, 14.0, smooth=2)
    # teeth: upper and lower rows, incisors in front (brightest where crowns overlap)
    occlusal = prosthion + 9.0
    arch = s.maxilla_width / 2 - 12
    for k in range(-7, 8):
        x = arch * np.sin(k / 7.5 * 1.35)
        w = 4.2 if abs(k) < 3 else 3.4
        _tooth(layer, (x * 1.03, occlusal - 21.0), (x, occlusal - 0.5), 2 * w)
        _tooth(layer, (x * 1.02, occlusal + 19.0), (x, occlusal + 0.5), 1.8 * w)
    # cervical spine seen through the face
    for k in range(4):
        y0 = menton_y - 18 + 17 * k
        layer.polygon([(-12.0, y0), (12.0, y0), (12.5, y0 + 13), (-12.5, y0 + 13)], 9.0)
    return layer.values


def _lateral_bone(subject: Subject, frame: Frame) -> NDArray[np.float32]:
    """Bone path lengths (mm) of a lateral view, face towards +z (image right)."""
    s, t = subject.skull, subject.tissue
    g = face_geometry(subject)
    layer = Layer(frame)
    u, v = frame.grid()
    length = s.cranial_length / 2
    centre = (2.0 - length, -25.0)
    height = -(g.vertex_y + t.scalp) + centre[1]
    layer.values += 0.8 * shell_path(u, v, centre, (length, height), 7.0, lower_axis=45.0)
    (cz, cy), (gz, gy), (mz, my) = mandible_profile(s)
    ey, oh = g.eye_y, s.orbit_height / 2
    ans_y = s.nasal_height
    prosthion_y = ans_y + 16.0
    incisor_z = mz + 14.0 + 0.5 * s.chin_projection
    sella = (-62.0, 14.0)
    # cranial base: anterior fossa floor to sella, clivus, petrous and mastoid
    layer.polyline([(-4.0, 4.0), (-30.0, 6.0), (sella[0] + 7, sella[1] - 5)], 16.0, 4.0)
    layer.polyline([(sella[0] - 6, sella[1] - 4), (sella[0] - 12, 40.0), (cz - 8, 52.0)], 14.0, 6.0)
    layer.ellipse((cz - 14, cy + 4), (16.0, 11.0), 18.0, angle=-25.0)
    layer.ellipse((cz - 22, cy + 20), (8.0, 12.0), 16.0)
    layer.ellipse((cz - 12, cy + 2), (3.5, 3.5), -20.0)  # external acoustic meatus
    layer.ellipse(sella, (6.0, 5.5), 14.0, width_mm=2.0, arc=(-10.0, 190.0))
    layer.ellipse((sella[0], sella[1] - 1), (5.0, 4.0), -6.0)
    # frontal sinus and orbit
    layer.ellipse((-5.0 + t.glabella * 0.0, -16.0), (6.0, 11.0), -12.0, angle=-15.0)
    layer.ellipse((-14.0, ey), (oh * 0.95, oh), 12.0, width_mm=2.5, arc=(-100.0, 100.0))
    layer.ellipse((-16.0, ey), (oh * 0.8, oh * 0.9), -6.0)
    # maxilla with its sinus, zygoma, palate, nasal bones
    rhinion = (0.5 * g.nose_projection - t.rhinion - 2.0, 0.45 * s.nasal_height)
    maxilla = [(0.0, 2.0), rhinion, (2.0, ans_y - 6), (4.0, ans_y), (incisor_z + 1, prosthion_y),
               (incisor_z - 8, prosthion_y + 4), (-45.0, prosthion_y + 1), (-50.0, ans_y + 2), (-52.0, ey + 12), (-24.0, ey + oh)]
    layer.polygon(maxilla, 13.0, smooth=2)
    layer.ellipse((-26.0, ey + oh + 14), (16.0, 11.0), -10.0)
    layer.ellipse((-30.0, ey + oh + 2), (12.0, 7.0), 12.0, angle=-10.0)
    layer.polyline([(4.0, ans_y), (-50.0, ans_y + 2)], 14.0, 3.0)
    layer.polyline([(0.0, 0.0), rhinion], 14.0, 2.2)
    # mandible: body and ramus, cortical lower border, symphysis
    pog = (mz + 6.0 + s.chin_projection, my - 9.0)
    mandible = [(cz, cy), (cz + 4, cy - 3), (cz + 9, cy + 6), (cz + 20, cy + 10), (cz + 28, cy - 4), (cz + 33, cy + 16),
                (-42.0, prosthion_y + 26), (incisor_z - 2, prosthion_y + 20), pog, (mz, my), (gz + 10, gy + 8), (gz, gy)]
    layer.polygon(mandible, 11.0, smooth=2)
    layer.polyline([(cz - 2, cy + 4), (gz, gy - 6), (gz + 6, gy + 5), (mz, my), pog, (incisor_z - 3, prosthion_y + 22)], 20.0, 4.2, smooth=3)
    layer.ellipse(((mz + pog[0]) / 2 + 1, my - 10), (5.5, 9.0), 12.0, angle=-15.0)
    # teeth along the occlusal plane: incisors proclined at the front, premolars and molars behind
    occlusal_y = prosthion_y + 10
    _tooth(layer, (incisor_z - 5.0, prosthion_y - 12.0), (incisor_z + 3.5, occlusal_y + 1.0), 7.0)
    _tooth(layer, (incisor_z - 7.0, prosthion_y + 31.0), (incisor_z + 0.5, occlusal_y - 1.5), 6.0)
    for k in range(5):
        z = incisor_z - 12.0 - 8.6 * k
        width = 7.0 if k < 2 else 9.0
        _tooth(layer, (z - 1.0, occlusal_y - 20.0), (z, occlusal_y - 0.6), width)
        _tooth(layer, (z - 1.5, occlusal_y + 21.0), (z, occlusal_y + 0.6), width)
    # cervical vertebrae behind the ramus: atlas arch, dens, bodies with spinous processes
    spine_z = gz - 22.0
    layer.ellipse((spine_z + 12, 36.0), (4.5, 3.5), 20.0)
    for k in range(5):
        y0 = 44.0 + 17.0 * k if k else 30.0
        h = 13.0 if k else 30.0
        body = [(spine_z + 8, y0), (spine_z - 8, y0 + 1), (spine_z - 8, y0 + h), (spine_z + 8, y0 + h + 1)]
        layer.polygon(body, 12.0)
        layer.polyline(body, 12.0, 1.6, closed=True)
        layer.polygon([(spine_z - 9, y0 + 3), (spine_z - 22, y0 + h * 0.5 + 5), (spine_z - 23, y0 + h * 0.5 + 8), (spine_z - 9, y0 + h - 2)], 5.0, smooth=2)
    layer.ellipse((mz - 22.0, my + 14.0), (6.0, 2.5), 14.0, angle=-10.0)  # hyoid
    return layer.values


def _tooth(layer: Layer, apex: tuple[float, float], tip: tuple[float, float], width: float) -> None:
    """A tooth from root apex to crown tip (mm): a tapered root and a brighter enamel crown."""
    a, t = np.asarray(apex), np.asarray(tip)
    d = t - a
    n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-6)
    half = width / 2

    def at(f: float, w: float, side: float) -> tuple[float, float]:
        p = a + f * d + side * w * n
        return (float(p[0]), float(p[1]))

    root = [at(0.0, 0.15 * half, 1), at(0.6, 0.8 * half, 1), at(0.6, 0.8 * half, -1), at(0.0, 0.15 * half, -1)]
    crown = [at(0.55, 0.85 * half, 1), at(0.85, half, 1), at(1.0, 0.6 * half, 1), at(1.0, 0.6 * half, -1),
             at(0.85, half, -1), at(0.55, 0.85 * half, -1)]
    layer.polygon(root, 14.0, smooth=1)
    layer.polygon(crown, 26.0, smooth=1)
