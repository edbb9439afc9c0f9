"""The landmark table: one entry per point and view, published labels complete and in order,
counterparts that exist and point back."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crossid_desktop.anatomy.landmarks import FACE_68_LANDMARKS, ISBI_LANDMARKS, LANDMARKS, TISSUES, VIEWS, find_landmark, landmarks_of

CEPH = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "xray" / "ceph_dev" / "landmarks.csv"
#: the ISBI 2015 order as the challenge (and the data set's README) lists it
ISBI_ORDER = ("sella", "nasion", "orbitale", "porion", "subspinale", "supramentale", "pogonion", "menton", "gnathion",
              "gonion", "lower incisal incision", "upper incisal incision", "upper lip", "lower lip", "subnasale",
              "soft tissue pogonion", "posterior nasal spine", "anterior nasal spine", "articulare")
#: partner views: a point's counterpart lies in its own view or the partner view
PARTNER = {"xray-front": "face-front", "face-front": "xray-front", "xray-side": "face-side", "face-side": "xray-side"}


def test_names_are_unique_per_view_and_fields_valid() -> None:
    for view in VIEWS:
        names = [m.name for m in landmarks_of(view)]
        assert len(names) == len(set(names)) and names
        assert all(name == name.lower() and " " not in name for name in names)
    assert all(m.tissue in TISSUES and m.description for m in LANDMARKS)


def test_isbi_labels_are_l1_to_l19_in_the_challenge_order() -> None:
    assert [m.label for m in ISBI_LANDMARKS] == [f"l{k}" for k in range(1, 20)]
    for mark, published in zip(ISBI_LANDMARKS, ISBI_ORDER):
        words = published.replace("incisal incision", "incisor tip").replace("upper lip", "labrale superius")
        words = words.replace("lower lip", "labrale inferius").replace("soft tissue pogonion", "pogonion soft")
        assert mark.name == words.replace(" ", "_"), (mark.name, published)
    assert {m.tissue for m in ISBI_LANDMARKS[12:16]} == {"skin"}  # l13-l16 lie on the skin profile


def test_face_scheme_has_68_points_in_ibug_order() -> None:
    assert [m.label for m in FACE_68_LANDMARKS] == [f"p{k}" for k in range(1, 69)]
    names = [m.name for m in FACE_68_LANDMARKS]
    # anchor points of the iBUG 300-W chart (1-based): chin, nose tip, eye corners, mouth corners
    assert names[8] == "jaw_09" and names[30] == "pronasale" and names[33] == "subnasale"
    assert (names[36], names[39], names[42], names[45]) == ("exocanthion_right", "endocanthion_right", "endocanthion_left", "exocanthion_left")
    assert (names[48], names[51], names[54], names[57]) == ("cheilion_right", "labrale_superius", "cheilion_left", "labrale_inferius")


def test_counterparts_exist_cross_the_tissue_and_point_back() -> None:
    for mark in LANDMARKS:
        if mark.counterpart is None:
            continue
        partners = [m for m in LANDMARKS if m.name == mark.counterpart and m.view in (mark.view, PARTNER[mark.view])]
        assert partners, f"{mark.view}/{mark.name}: counterpart {mark.counterpart} is in no partner view"
        for partner in partners:
            assert (partner.tissue == "skin") != (mark.tissue == "skin"), (mark.name, partner.name)
            assert partner.counterpart in (mark.name, None), (mark.name, partner.name, partner.counterpart)


def test_lookup_and_bad_view() -> None:
    assert find_landmark("xray-side", "sella").label == "l1"
    with pytest.raises(ValueError, match="no landmark view"):
        landmarks_of("chest")
    with pytest.raises(ValueError, match="no landmark named"):
        find_landmark("face-side", "sella")


@pytest.mark.shared_data
def test_isbi_labels_match_the_real_cephalograms_file() -> None:
    if not CEPH.exists():
        pytest.skip("../shared/data is absent")
    with CEPH.open(newline="") as handle:
        labels = {row["label"] for row in csv.DictReader(handle)}
    assert labels == {m.label for m in ISBI_LANDMARKS}
