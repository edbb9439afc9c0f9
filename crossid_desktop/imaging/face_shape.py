"""The average face in the canonical crop: dlib's 68 landmarks (iBUG 300-W order) where they lie
on an average aligned face, how far each point wanders between people, and each point's mirror
partner across the face's midline.

Measured on 2,776 real photos (Labeled Faces in the Wild, the people kept for training: none of
the people the figures in ``docs/RESULTS.md`` are reported on) aligned by
:func:`~crossid_desktop.imaging.faces.align_face`: the median position of each landmark in the
crop, then averaged with its mirror partner's reflection so the shape is exactly symmetric
about the template's midline; the spread is the median distance of a point from that median
(both in fractions of the crop side). The numbers, not the photos, are kept here.
"""

from __future__ import annotations

import numpy as np

#: ``(68, 2)`` float64: x, y of each landmark as fractions of the crop side
FACE_SHAPE_68 = np.array([
    [0.1323, 0.4846], [0.1386, 0.5782], [0.1486, 0.6729], [0.1635, 0.7683],
    [0.1946, 0.8590], [0.2482, 0.9403], [0.3203, 1.0069], [0.4043, 1.0586],
    [0.4992, 1.0742], [0.5941, 1.0586], [0.6781, 1.0069], [0.7502, 0.9403],
    [0.8038, 0.8590], [0.8349, 0.7683], [0.8498, 0.6729], [0.8598, 0.5782],
    [0.8661, 0.4846], [0.2058, 0.4112], [0.2512, 0.3712], [0.3138, 0.3576],
    [0.3788, 0.3647], [0.4396, 0.3885], [0.5588, 0.3885], [0.6196, 0.3647],
    [0.6846, 0.3576], [0.7472, 0.3712], [0.7926, 0.4112], [0.4992, 0.4580],
    [0.4992, 0.5182], [0.4992, 0.5803], [0.4992, 0.6443], [0.4267, 0.6869],
    [0.4608, 0.7004], [0.4992, 0.7119], [0.5376, 0.7004], [0.5717, 0.6869],
    [0.2808, 0.4728], [0.3197, 0.4509], [0.3647, 0.4507], [0.4037, 0.4776],
    [0.3617, 0.4863], [0.3178, 0.4865], [0.5947, 0.4776], [0.6337, 0.4507],
    [0.6787, 0.4509], [0.7176, 0.4728], [0.6806, 0.4865], [0.6367, 0.4863],
    [0.3591, 0.8148], [0.4077, 0.7864], [0.4587, 0.7756], [0.4992, 0.7843],
    [0.5397, 0.7756], [0.5907, 0.7864], [0.6393, 0.8148], [0.5926, 0.8613],
    [0.5425, 0.8832], [0.4992, 0.8868], [0.4559, 0.8832], [0.4058, 0.8613],
    [0.3817, 0.8156], [0.4585, 0.8050], [0.4992, 0.8085], [0.5399, 0.8050],
    [0.6167, 0.8156], [0.5409, 0.8364], [0.4992, 0.8409], [0.4575, 0.8364],
], dtype=np.float64)

#: ``(68,)``: the median distance of each landmark from its average place, crop fractions
SPREAD_68 = np.array([
    0.0776, 0.0716, 0.0687, 0.0655, 0.0576, 0.0459, 0.0335, 0.0274, 0.0273, 0.0274, 0.0335, 0.0459,
    0.0576, 0.0655, 0.0687, 0.0716, 0.0776, 0.0323, 0.0255, 0.0233, 0.0230, 0.0245, 0.0245, 0.0230,
    0.0233, 0.0255, 0.0323, 0.0160, 0.0229, 0.0325, 0.0421, 0.0189, 0.0227, 0.0262, 0.0227, 0.0189,
    0.0186, 0.0165, 0.0152, 0.0151, 0.0142, 0.0152, 0.0151, 0.0152, 0.0165, 0.0186, 0.0152, 0.0142,
    0.0220, 0.0175, 0.0198, 0.0208, 0.0198, 0.0175, 0.0220, 0.0217, 0.0258, 0.0264, 0.0258, 0.0217,
    0.0200, 0.0184, 0.0191, 0.0184, 0.0200, 0.0238, 0.0244, 0.0238,
], dtype=np.float64)

#: ``(68,)``: the index of each landmark's partner across the midline (itself on the midline)
MIRROR_68 = np.array([16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 27, 28, 29, 30, 35, 34, 33, 32, 31, 45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40, 54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65])

#: ``(68,)``: how much each landmark counts in a fit, inverse to its spread between people
#: (the eye corners 1, the brows and mouth about a third to two thirds, the jaw line less)
POINT_WEIGHTS = np.minimum(1.0, (0.015 / SPREAD_68) ** 2)
