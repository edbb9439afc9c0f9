"""The cephalogram reader and its fixed split (matching/landmarks/cephalograms.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossid_desktop.errors import DatasetError
from crossid_desktop.matching.landmarks.cephalograms import CEPH_LABELS, SPLIT, read_cephalograms


def test_split_is_fixed_disjoint_and_keeps_the_first_tuning_images_out_of_test() -> None:
    parts = list(SPLIT.values())
    assert len(SPLIT) == 75 and parts.count("train") == 50 and parts.count("tune") == 10 and parts.count("test") == 15
    assert all(int(name[:3]) >= 25 for name, part in SPLIT.items() if part == "test")


def _write(root: Path, rows: list[str]) -> None:
    root.mkdir()
    (root / "landmarks.csv").write_text("image,annotator,label,x,y\n" + "\n".join(rows) + "\n")
    for name in {row.split(",")[0] for row in rows}:
        (root / name).write_bytes(b"")


def test_reference_is_the_mean_of_both_and_ambiguous_or_repaired_points_follow_the_rules(tmp_path: Path) -> None:
    root = tmp_path / "ceph"
    _write(root, [
        "002.png,mollabashi,l1,10,20", "002.png,farhadifar,l1,14,30",       # both: mean
        "002.png,mollabashi,l11,1,1", "002.png,mollabashi,l11,5,5",         # given twice: ambiguous
        "002.png,farhadifar,l11,100,200",
        "002.png,farhadifar,l15,500,500",                                   # subnasale
        "002.png,farhadifar,l17,300,480", "002.png,farhadifar,l17,480,490",  # l17 twice, no l18
        "027.png,farhadifar,l2,7,8",                                        # a test image
    ])
    train = read_cephalograms(root, ("train",))
    assert [c.name for c in train] == ["002.png"]
    ceph = train[0]
    assert ceph.reference["l1"] == (12.0, 25.0)
    assert "l11" not in ceph.annotators["mollabashi"] and ceph.reference["l11"] == (100.0, 200.0)
    assert ceph.annotators["farhadifar"]["l18"] == (480.0, 490.0) and ceph.annotators["farhadifar"]["l17"] == (300.0, 480.0)
    assert [c.name for c in read_cephalograms(root, ("test",))] == ["027.png"]


def test_a_folder_without_its_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="landmarks.csv"):
        read_cephalograms(tmp_path)


@pytest.mark.shared_data
def test_the_real_cephalograms_have_19_reference_points_each(shared_data: Path) -> None:
    cephs = read_cephalograms(shared_data / "xray" / "ceph_dev")
    assert len(cephs) == 75
    assert all(set(c.reference) == set(CEPH_LABELS) for c in cephs)
    assert all(len(c.annotators["farhadifar"]) == 19 for c in cephs)
