"""The generator's version names its images: the same version must give the same bytes.

The digests below were taken with generator 1.2 (numpy and OpenCV as pinned by the project).
If a change to the renderers alters an image, bump ``GENERATOR_VERSION`` in
``crossid_desktop/synth/cohort.py`` and record the new digests here. The frontal photos of 1.1
and 1.2 are those of 1.0, byte for byte (their renderer was only split into smaller functions):
their digests equal the ones generator 1.0 gave. (1.1 differed from 1.2 in the frontal X-ray's
orbital rim and zygomatic arch and the lateral X-ray's incisor roots.)
"""

from __future__ import annotations

import hashlib

import numpy as np

from crossid_desktop.synth.cohort import GENERATOR_VERSION
from crossid_desktop.synth.face import render_face_front
from crossid_desktop.synth.face_profile import render_face_side
from crossid_desktop.synth.params import draw_nuisance, draw_subject
from crossid_desktop.synth.skull import render_xray_front, render_xray_side

#: generator 1.0's frontal photos of these people (computed with the 1.0 renderer)
FACE_FRONT_1_0 = {"S0/face_front": "8d99e7a20a598630", "S1/face_front": "7c071dd8f76a2a51"}
DIGESTS = {
    "1.2": {
        **FACE_FRONT_1_0,
        "S0/face_side": "96f42cabc32ab25b", "S0/xray_front": "9c42081bffbefdb7", "S0/xray_side": "609fa57223584be0",
        "S1/face_side": "dc44f5e6f34a7c17", "S1/xray_front": "1fe5f34716ed888b", "S1/xray_side": "5cc01ba3dde8a0db",
    },
}


def _digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()[:16]


def test_images_match_the_digests_of_this_generator_version() -> None:
    assert GENERATOR_VERSION in DIGESTS, f"record the digests of generator {GENERATOR_VERSION}"
    found = {}
    for index in range(2):
        subject, nuisance = draw_subject(2024, index), draw_nuisance(np.random.default_rng([2024, index]))
        found[f"S{index}/face_front"] = _digest(render_face_front(subject, nuisance, 80))
        found[f"S{index}/face_side"] = _digest(render_face_side(subject, nuisance, 80))
        found[f"S{index}/xray_front"] = _digest(np.stack(render_xray_front(subject, nuisance, 80)))
        found[f"S{index}/xray_side"] = _digest(np.stack(render_xray_side(subject, nuisance, 80)))
    assert found == DIGESTS[GENERATOR_VERSION]
    assert {key: found[key] for key in FACE_FRONT_1_0} == FACE_FRONT_1_0
