"""Skull-to-face triplets and SCL sets against plain loops and the publication's counts."""

from __future__ import annotations

import itertools
import types
from pathlib import Path

import numpy as np
import pytest

from crossid_desktop.datasets.injured_faces import InjuredFaceDataset, InjuredFaceSubject
from crossid_desktop.datasets.sampling import (
    InjuredFaceCatalogue,
    SkullFaceCatalogue,
    all_triplets,
    injured_triplets,
    published_triplet_count,
    scl_sets,
    split_subjects,
    split_triplets,
    subject_batches,
)
from crossid_desktop.datasets.skull_faces import SkullFaceDataset, SkullFaceSubject

ROOT = Path("/cohort")


def s2f_dataset(n: int, *, side_xray: bool = True, extra_front: bool = False) -> SkullFaceDataset:
    subjects = []
    for i in range(n):
        sid = f"S{i:03d}"
        folder = ROOT / sid
        fronts = (folder / "face_front.png",) + ((folder / "face_front_2.png",) if extra_front else ())
        subjects.append(SkullFaceSubject(
            subject_id=sid, name=sid, metadata={},
            xray_front=folder / "xray_front.png", xray_side=folder / "xray_side.png" if side_xray else None,
            xray_front_clean=None, xray_side_clean=None,
            faces=types.MappingProxyType({"front": fronts, "side": (folder / "face_side.png",)}),
        ))
    return SkullFaceDataset(root=ROOT, subjects=tuple(subjects), problems=())


def loop_triplets(dataset: SkullFaceDataset) -> set[tuple[Path, Path, Path]]:
    """The publication's construction written as plain loops over paths."""
    out = set()
    for s in dataset.subjects:
        for anchor in (s.xray_front, s.xray_side):
            if anchor is None:
                continue
            for positive in (s.faces["front"][0], s.faces["side"][0]):
                for other in dataset.subjects:
                    if other.subject_id != s.subject_id:
                        for negative in (other.faces["front"][0], other.faces["side"][0]):
                            out.add((anchor, positive, negative))
    return out


def test_publication_count_12480_for_40_volunteers() -> None:
    catalogue = SkullFaceCatalogue.from_dataset(s2f_dataset(40))
    triplets = all_triplets(catalogue)
    assert len(triplets) == 12_480
    assert published_triplet_count(40) == 12_480
    # per volunteer 4 anchor-positive pairs, each with 78 = 39 x 2 negatives
    records = triplets.records(catalogue)
    first = [r for r in records if r.anchor_subject == "S000"]
    assert len({(r.anchor, r.positive) for r in first}) == 4
    assert len(first) == 4 * 78


@pytest.mark.parametrize("n", [2, 3, 7, 12])
def test_count_formula_and_triplets_match_loops(n: int) -> None:
    dataset = s2f_dataset(n)
    catalogue = SkullFaceCatalogue.from_dataset(dataset)
    records = all_triplets(catalogue).records(catalogue)
    assert len(records) == 8 * n * (n - 1) == published_triplet_count(n)
    assert {(r.anchor, r.positive, r.negative) for r in records} == loop_triplets(dataset)
    assert len(set(records)) == len(records)


def test_negatives_are_other_subjects_and_both_views_appear() -> None:
    catalogue = SkullFaceCatalogue.from_dataset(s2f_dataset(5))
    records = all_triplets(catalogue).records(catalogue)
    for r in records:
        assert r.negative_subject != r.anchor_subject
        assert r.positive.parent.name == r.anchor_subject
        assert r.negative.parent.name == r.negative_subject
    assert {r.anchor.stem for r in records} == {"xray_front", "xray_side"}
    assert {r.positive.stem for r in records} == {"face_front", "face_side"}
    assert {r.negative.stem for r in records} == {"face_front", "face_side"}


def test_missing_views_and_extra_photos() -> None:
    # only frontal X-rays: half the anchors
    catalogue = SkullFaceCatalogue.from_dataset(s2f_dataset(6, side_xray=False))
    assert len(all_triplets(catalogue)) == published_triplet_count(6, xray_views=1)
    # the publication's protocol uses one photo per view; faces_per_view=None uses every one
    extra = s2f_dataset(4, extra_front=True)
    assert len(all_triplets(SkullFaceCatalogue.from_dataset(extra))) == published_triplet_count(4)
    every = SkullFaceCatalogue.from_dataset(extra, faces_per_view=None)
    assert len(every.faces) == 12
    assert len(all_triplets(every)) == 4 * 2 * 3 * (3 * 3)  # anchors x positives x negatives


def test_subject_split_is_disjoint() -> None:
    dataset = s2f_dataset(40)
    train_ids, val_ids = split_subjects(dataset, val_fraction=0.3, seed=3)
    assert set(train_ids).isdisjoint(val_ids)
    assert len(val_ids) == 12 and len(train_ids) == 28
    train = all_triplets(SkullFaceCatalogue.from_dataset(dataset, subjects=train_ids)).records(SkullFaceCatalogue.from_dataset(dataset, subjects=train_ids))
    val = all_triplets(SkullFaceCatalogue.from_dataset(dataset, subjects=val_ids)).records(SkullFaceCatalogue.from_dataset(dataset, subjects=val_ids))
    train_people = {r.anchor_subject for r in train} | {r.negative_subject for r in train}
    val_people = {r.anchor_subject for r in val} | {r.negative_subject for r in val}
    assert train_people.isdisjoint(val_people)
    assert len(train) == published_triplet_count(28) and len(val) == published_triplet_count(12)


def test_triplet_level_split_is_70_30_and_shares_subjects() -> None:
    """The publication's protocol: a 70:30 cut of the 12,480 triplets. The same people (and
    the same anchor-positive pairs) are on both sides: identities leak."""
    catalogue = SkullFaceCatalogue.from_dataset(s2f_dataset(40))
    triplets = all_triplets(catalogue)
    train, val = split_triplets(triplets, val_fraction=0.3, seed=0)
    assert len(val) == 3744 and len(train) == 8736  # round(0.3 * 12480) = 3744
    train_rec, val_rec = set(train.records(catalogue)), set(val.records(catalogue))
    assert train_rec.isdisjoint(val_rec) and len(train_rec | val_rec) == 12_480
    shared_people = {r.anchor_subject for r in train_rec} & {r.anchor_subject for r in val_rec}
    assert len(shared_people) == 40
    shared_pairs = {(r.anchor, r.positive) for r in train_rec} & {(r.anchor, r.positive) for r in val_rec}
    assert len(shared_pairs) == 160


def test_splits_and_batches_are_deterministic() -> None:
    triplets = all_triplets(SkullFaceCatalogue.from_dataset(s2f_dataset(10)))
    a_train, a_val = split_triplets(triplets, seed=5)
    b_train, b_val = split_triplets(triplets, seed=5)
    c_train, _ = split_triplets(triplets, seed=6)
    assert np.array_equal(a_train.anchor, b_train.anchor) and np.array_equal(a_val.negative, b_val.negative)
    assert not (np.array_equal(a_train.anchor, c_train.anchor) and np.array_equal(a_train.negative, c_train.negative))
    first = subject_batches(17, 4, np.random.default_rng(1))
    second = subject_batches(17, 4, np.random.default_rng(1))
    assert [b.tolist() for b in first] == [b.tolist() for b in second]
    # every subject once; a trailing batch of one is merged so every batch has negatives
    assert sorted(np.concatenate(first).tolist()) == list(range(17))
    assert [len(b) for b in first] == [4, 4, 4, 5]


def if_dataset(counts: list[tuple[int, int]]) -> InjuredFaceDataset:
    subjects = []
    for i, (n_normal, n_injured) in enumerate(counts):
        folder = ROOT / f"P{i}"
        subjects.append(InjuredFaceSubject(
            f"P{i}", f"P{i}",
            tuple(folder / "normal" / f"n{k}.png" for k in range(n_normal)),
            tuple(folder / "injured" / f"i{k}.png" for k in range(n_injured)),
        ))
    return InjuredFaceDataset(root=ROOT, subjects=tuple(subjects), problems=())


def test_scl_sets_layout_and_counts() -> None:
    counts = [(2, 3), (1, 1), (3, 2), (2, 0)]
    catalogue = InjuredFaceCatalogue.from_dataset(if_dataset(counts))
    sets = scl_sets(catalogue, np.random.default_rng(0), impostors_per_genuine=2)
    expected_genuine = sum(n * i for n, i in counts)  # 6 + 1 + 6 + 0
    genuine = sets.label == 0
    assert int(genuine.sum()) == expected_genuine == 13
    assert int((~genuine).sum()) == 2 * expected_genuine
    normal_subject = np.array([r.subject for r in catalogue.normal])
    injured_subject = np.array([r.subject for r in catalogue.injured])
    # genuine sets: one subject throughout; impostor sets: the partner is someone else
    assert np.all(normal_subject[sets.normal] == sets.subject)
    assert np.all(injured_subject[sets.injured] == sets.subject)
    assert np.all(injured_subject[sets.partner] == sets.partner_subject)
    assert np.all(sets.partner_subject[genuine] == sets.subject[genuine])
    assert np.all(sets.partner_subject[~genuine] != sets.subject[~genuine])
    # genuine partners are a different injured photo whenever the subject has two or more
    multi = genuine & np.isin(sets.subject, [0, 2])
    assert np.all(sets.partner[multi] != sets.injured[multi])
    single = genuine & (sets.subject == 1)
    assert np.all(sets.partner[single] == sets.injured[single])
    # every (normal, injured) pair of a subject appears in exactly one genuine set
    pairs = list(zip(sets.normal[genuine].tolist(), sets.injured[genuine].tolist()))
    expected_pairs = [(n, a) for n, a in itertools.product(range(len(catalogue.normal)), range(len(catalogue.injured))) if normal_subject[n] == injured_subject[a]]
    assert sorted(pairs) == sorted(expected_pairs)
    # subject 3 has no injured photo: never a partner
    assert 3 not in set(sets.partner_subject.tolist())


def test_scl_sets_and_injured_triplets_are_deterministic() -> None:
    catalogue = InjuredFaceCatalogue.from_dataset(if_dataset([(2, 2)] * 6))
    a = scl_sets(catalogue, np.random.default_rng(4))
    b = scl_sets(catalogue, np.random.default_rng(4))
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("normal", "injured", "partner", "label"))
    anchor, positive, negative = injured_triplets(catalogue, np.random.default_rng(0))
    assert len(anchor) == 6 * 2 * 2
    injured_subject = np.array([r.subject for r in catalogue.injured])
    normal_subject = np.array([r.subject for r in catalogue.normal])
    assert np.all(injured_subject[anchor] == normal_subject[positive])
    assert np.all(injured_subject[anchor] != normal_subject[negative])
    again = injured_triplets(catalogue, np.random.default_rng(0))
    assert np.array_equal(negative, again[2])
    assert np.array_equal(catalogue.gallery_positions(), np.arange(0, 12, 2))
