"""The soft-tissue depth table: names from the landmark table, counterparts that agree, plausible
figures, both sides, and no silent fallback for groups that are not entered."""

from __future__ import annotations

import pytest

from crossid_desktop.anatomy.landmarks import LANDMARKS
from crossid_desktop.anatomy.soft_tissue import DEPTHS, paired_landmarks, tissue_depth


def test_every_depth_names_points_of_the_landmark_table_that_are_each_others_counterparts() -> None:
    by_name = {}
    for mark in LANDMARKS:
        by_name.setdefault(mark.name, []).append(mark)
    for depth in DEPTHS:
        assert depth.bone in by_name and all(m.tissue != "skin" for m in by_name[depth.bone])
        if depth.skin is not None:
            assert all(m.tissue == "skin" for m in by_name[depth.skin])
            assert any(m.counterpart == depth.bone for m in by_name[depth.skin]), depth


def test_figures_are_plausible_adult_depths() -> None:
    for depth in DEPTHS:
        assert 2.0 <= depth.mean_mm <= 25.0 and 0.5 <= depth.sd_mm < depth.mean_mm
        assert depth.source and depth.group
    # the thinnest tissue lies over the nasal bones, the thickest over the jaw's angle and the lips
    means = {d.bone: d.mean_mm for d in DEPTHS}
    assert min(means, key=means.get) == "rhinion"
    assert means["gonion_right"] > means["infradentale"] > means["nasion"] > means["glabella"]


def test_both_sides_and_no_guessing() -> None:
    right, left = tissue_depth("zygion_right"), tissue_depth("zygion_left")
    assert (right.mean_mm, right.sd_mm) == (left.mean_mm, left.sd_mm) and left.skin == "zygion_soft_left"
    assert ("gonion_left", "gonion_soft_left") in paired_landmarks()
    with pytest.raises(ValueError, match="not entered"):
        tissue_depth("nasion", sex="F")
    with pytest.raises(ValueError, match="No published"):
        tissue_depth("sella")
