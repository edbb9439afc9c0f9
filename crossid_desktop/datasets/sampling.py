"""Training examples of the two published methods: skull-to-face triplets and SCL sets.

Images are referred to by position in a catalogue (:class:`SkullFaceCatalogue`,
:class:`InjuredFaceCatalogue`) so that a training loop can index an in-memory image cache; triplets
and sets are held as parallel ``int64`` arrays (:class:`TripletIndex`, :class:`SCLSets`).
:meth:`TripletIndex.records` turns them into readable :class:`Triplet` records with paths.

**Skull-to-face** (METHODS.md section 1): every X-ray view of a volunteer is an anchor, every
face view of the same volunteer a positive (2 x 2 = 4 anchor-positive pairs per volunteer),
and every face view of every other volunteer a negative (2 (N - 1) per pair): for N
volunteers with both X-rays and both face views there are ``8 N (N - 1)`` triplets, 12,480
for the publication's 40. The publication splits these 70:30 **at the triplet level**
(:func:`split_triplets`; the same people then appear in training and validation, so its
validation figures are optimistic); the default here is the subject-disjoint split
(:func:`split_subjects`), which builds triplets within each side separately.

**Injured faces** (METHODS.md section 2): :func:`scl_sets` builds genuine and impostor sets
in the layout :class:`~crossid_desktop.matching.losses.SubclassContrastiveLoss` takes.

Every random choice comes from a ``numpy.random.Generator`` seeded by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.datasets.injured_faces import InjuredFaceDataset
from crossid_desktop.datasets.skull_faces import SkullFaceDataset
from crossid_desktop.datasets.splits import subject_split
from crossid_desktop.errors import DatasetError

__all__ = [
    "InjuredFaceCatalogue",
    "ImageRef",
    "SkullFaceCatalogue",
    "SCLSets",
    "Triplet",
    "TripletIndex",
    "all_triplets",
    "injured_triplets",
    "published_triplet_count",
    "scl_sets",
    "split_subjects",
    "split_triplets",
    "subject_batches",
    "triplets_from_labels",
]

XRAY_VIEWS: tuple[str, ...] = ("front", "side")


@dataclass(frozen=True)
class ImageRef:
    """One image of a catalogue: its file, its subject (position in ``subject_ids``) and its
    role (``"front"``/``"side"`` for S2F images, ``"normal"``/``"injured"`` for IF photos)."""

    path: Path
    subject: int
    role: str


@dataclass(frozen=True)
class Triplet:
    """One skull-to-face triplet, readable: the anchor X-ray, a face of the same person and a
    face of another person."""

    anchor: Path
    positive: Path
    negative: Path
    anchor_subject: str
    negative_subject: str


@dataclass(frozen=True)
class SkullFaceCatalogue:
    """The X-rays (anchors) and face photos (positives and negatives) of a set of subjects.

    ``faces_per_view = 1`` (the publication) takes the first photo of each face view;
    ``None`` takes every photo.
    """

    root: Path
    subject_ids: tuple[str, ...]
    xrays: tuple[ImageRef, ...]
    faces: tuple[ImageRef, ...]

    @classmethod
    def from_dataset(cls, dataset: SkullFaceDataset, *, subjects: Sequence[str] | None = None, faces_per_view: int | None = 1) -> SkullFaceCatalogue:
        wanted = None if subjects is None else set(subjects)
        chosen = [s for s in dataset.subjects if wanted is None or s.subject_id in wanted]
        if wanted is not None and len(chosen) != len(wanted):
            missing = sorted(wanted - {s.subject_id for s in chosen})
            raise DatasetError(f"The data set {dataset.root} has no subjects {', '.join(missing[:5])}.")
        xrays: list[ImageRef] = []
        faces: list[ImageRef] = []
        for index, subject in enumerate(chosen):
            for view in XRAY_VIEWS:
                path = subject.xray_front if view == "front" else subject.xray_side
                if path is not None:
                    xrays.append(ImageRef(path, index, view))
            for view in ("front", "side"):
                photos = subject.faces.get(view, ())
                for path in photos if faces_per_view is None else photos[:faces_per_view]:
                    faces.append(ImageRef(path, index, view))
        return cls(dataset.root, tuple(s.subject_id for s in chosen), tuple(xrays), tuple(faces))

    def xray_subjects(self) -> NDArray[np.int64]:
        """``(n_xrays,)`` subject position of every X-ray."""
        return np.array([r.subject for r in self.xrays], dtype=np.int64)

    def face_subjects(self) -> NDArray[np.int64]:
        """``(n_faces,)`` subject position of every face photo."""
        return np.array([r.subject for r in self.faces], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class TripletIndex:
    """Triplets as three parallel ``(T,)`` int64 arrays: ``anchor`` indexes the catalogue's
    X-rays, ``positive`` and ``negative`` its faces."""

    anchor: NDArray[np.int64]
    positive: NDArray[np.int64]
    negative: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.anchor.shape[0])

    def take(self, rows: NDArray[np.int64]) -> TripletIndex:
        """The triplets at ``rows``, in that order."""
        return TripletIndex(self.anchor[rows], self.positive[rows], self.negative[rows])

    def records(self, catalogue: SkullFaceCatalogue) -> list[Triplet]:
        """The triplets as :class:`Triplet` records with paths and subject ids."""
        ids = catalogue.subject_ids
        return [
            Triplet(catalogue.xrays[a].path, catalogue.faces[p].path, catalogue.faces[n].path, ids[catalogue.xrays[a].subject], ids[catalogue.faces[n].subject])
            for a, p, n in zip(self.anchor.tolist(), self.positive.tolist(), self.negative.tolist())
        ]


def published_triplet_count(n_subjects: int, *, xray_views: int = 2, face_views: int = 2) -> int:
    """Number of skull-to-face triplets for ``n_subjects`` complete volunteers:
    ``N * xray_views * face_views * face_views * (N - 1)`` (12,480 for N = 40)."""
    return n_subjects * xray_views * face_views * face_views * max(n_subjects - 1, 0)


def all_triplets(catalogue: SkullFaceCatalogue) -> TripletIndex:
    """Every triplet of the catalogue, as the publication builds them: for each X-ray (anchor),
    each face of the same subject (positive), each face of every other subject (negative).
    Ordered by anchor, then positive, then negative."""
    return triplets_from_labels(catalogue.xray_subjects(), catalogue.face_subjects())


def triplets_from_labels(anchor_labels: NDArray[np.int64], face_labels: NDArray[np.int64]) -> TripletIndex:
    """Every (anchor, positive, negative) with ``face_labels[positive] == anchor_labels[anchor]``
    and ``face_labels[negative] != anchor_labels[anchor]``, as positions in the two arrays;
    ordered by anchor, then positive, then negative."""
    xs, fs = np.asarray(anchor_labels), np.asarray(face_labels)
    same = xs[:, None] == fs[None, :]  # (X, F)
    a_idx, p_idx = np.nonzero(same)
    negatives = ~same[a_idx]  # (P, F): the faces of other subjects, per pair
    pair_row, n_idx = np.nonzero(negatives)
    return TripletIndex(a_idx[pair_row].astype(np.int64), p_idx[pair_row].astype(np.int64), n_idx.astype(np.int64))


def split_triplets(triplets: TripletIndex, *, val_fraction: float = 0.3, seed: int = 0) -> tuple[TripletIndex, TripletIndex]:
    """The publication's protocol: shuffle the triplets and cut them ``1 - val_fraction`` :
    ``val_fraction`` (``round(T * val_fraction)`` go to validation). **Subjects are shared**
    between the two sides: the same people, even the same anchor-positive pairs, appear in
    both. Kept for comparison with the published figures."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}.")
    order = np.random.default_rng(seed).permutation(len(triplets))
    n_val = int(round(len(triplets) * val_fraction))
    return triplets.take(np.sort(order[n_val:])), triplets.take(np.sort(order[:n_val]))


def split_subjects(dataset: SkullFaceDataset | InjuredFaceDataset, *, val_fraction: float = 0.3, seed: int = 0) -> tuple[list[str], list[str]]:
    """The honest protocol: subject ids split into ``(train, validation)`` with no person on
    both sides (:func:`crossid_desktop.datasets.splits.subject_split`)."""
    return subject_split([s.subject_id for s in dataset.subjects], test_fraction=val_fraction, seed=seed)


def subject_batches(n_subjects: int, subjects_per_batch: int, rng: np.random.Generator) -> list[NDArray[np.int64]]:
    """The subjects ``0 .. n_subjects - 1`` shuffled and cut into batches of
    ``subjects_per_batch`` (the last one may be smaller; a last batch of one subject, which has
    no negatives, is merged into the one before)."""
    if subjects_per_batch < 2:
        raise ValueError(f"A batch needs at least two subjects (one gives no negatives), got {subjects_per_batch}.")
    order = rng.permutation(n_subjects).astype(np.int64)
    batches = [order[i : i + subjects_per_batch] for i in range(0, n_subjects, subjects_per_batch)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        last = batches.pop()
        batches[-1] = np.concatenate([batches[-1], last])
    return batches


# --- injured faces ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InjuredFaceCatalogue:
    """The non-injured (``normal``) and injured photos of a set of subjects."""

    root: Path
    subject_ids: tuple[str, ...]
    normal: tuple[ImageRef, ...]
    injured: tuple[ImageRef, ...]

    @classmethod
    def from_dataset(cls, dataset: InjuredFaceDataset, *, subjects: Sequence[str] | None = None) -> InjuredFaceCatalogue:
        wanted = None if subjects is None else set(subjects)
        chosen = [s for s in dataset.subjects if wanted is None or s.subject_id in wanted]
        normal = [ImageRef(p, i, "normal") for i, s in enumerate(chosen) for p in s.normal]
        injured = [ImageRef(p, i, "injured") for i, s in enumerate(chosen) for p in s.injured]
        return cls(dataset.root, tuple(s.subject_id for s in chosen), tuple(normal), tuple(injured))

    def by_subject(self, role: str) -> list[NDArray[np.int64]]:
        """For each subject, the positions of its ``"normal"`` or ``"injured"`` photos."""
        refs = self.normal if role == "normal" else self.injured
        out: list[list[int]] = [[] for _ in self.subject_ids]
        for position, ref in enumerate(refs):
            out[ref.subject].append(position)
        return [np.array(v, dtype=np.int64) for v in out]

    def gallery_positions(self) -> NDArray[np.int64]:
        """The identification protocol's gallery: the first normal photo of each subject."""
        return np.array([v[0] for v in self.by_subject("normal") if len(v)], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class SCLSets:
    """Sets of three photos, one row each, in :class:`SubclassContrastiveLoss`'s layout:
    ``normal`` (a normal photo of subject i) and ``injured`` (an injured photo of i) index the
    catalogue's normal and injured photos, ``partner`` its injured photos: another injured
    photo of i when ``label = 0`` (genuine), an injured photo of a subject ``j != i`` when
    ``label = 1`` (impostor). ``subject``/``partner_subject`` are subject positions."""

    normal: NDArray[np.int64]
    injured: NDArray[np.int64]
    partner: NDArray[np.int64]
    label: NDArray[np.int64]
    subject: NDArray[np.int64]
    partner_subject: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.label.shape[0])

    def take(self, rows: NDArray[np.int64]) -> SCLSets:
        return SCLSets(self.normal[rows], self.injured[rows], self.partner[rows], self.label[rows], self.subject[rows], self.partner_subject[rows])


def scl_sets(catalogue: InjuredFaceCatalogue, rng: np.random.Generator, *, impostors_per_genuine: int = 1) -> SCLSets:
    """Genuine and impostor sets of the subclass contrastive loss.

    For every subject i, every normal photo n and every injured photo a of i:

    * one **genuine** set ``(n, a, a')``, ``a'`` the next injured photo of i in file order
      (cyclically; ``a`` itself when i has one injured photo, which makes the second term 0);
    * ``impostors_per_genuine`` **impostor** sets ``(n, a, b)``, ``b`` an injured photo of a
      subject ``j != i``, both drawn uniformly with ``rng``.

    So there are ``sum_i |N_i| |I_i|`` genuine sets and ``impostors_per_genuine`` times as
    many impostor sets. All genuine sets come first, then all impostor sets (in the same
    subject order). Subjects without normal or injured photos give no set.
    """
    normal_of, injured_of = catalogue.by_subject("normal"), catalogue.by_subject("injured")
    eligible = [i for i in range(len(catalogue.subject_ids)) if len(normal_of[i]) and len(injured_of[i])]
    others_with_injuries = np.array([i for i in range(len(catalogue.subject_ids)) if len(injured_of[i])], dtype=np.int64)
    rows: list[tuple[int, int, int, int, int, int]] = []
    impostors: list[tuple[int, int, int, int, int, int]] = []
    for i in eligible:
        injured = injured_of[i]
        candidates = others_with_injuries[others_with_injuries != i]
        for n in normal_of[i].tolist():
            for k, a in enumerate(injured.tolist()):
                rows.append((n, a, int(injured[(k + 1) % len(injured)]), 0, i, i))
                for _ in range(impostors_per_genuine if len(candidates) else 0):
                    j = int(candidates[rng.integers(len(candidates))])
                    b = int(injured_of[j][rng.integers(len(injured_of[j]))])
                    impostors.append((n, a, b, 1, i, j))
    table = np.array(rows + impostors, dtype=np.int64).reshape(-1, 6)
    return SCLSets(*(np.ascontiguousarray(table[:, c]) for c in range(6)))


def injured_triplets(catalogue: InjuredFaceCatalogue, rng: np.random.Generator) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Triplets for the injured-face task's triplet baseline: for every injured photo (anchor,
    a probe) and every normal photo of the same subject (positive), one normal photo of a
    random other subject (negative). Returns ``(anchor, positive, negative)``: the anchor
    indexes the injured photos, positive and negative the normal ones."""
    normal_of, injured_of = catalogue.by_subject("normal"), catalogue.by_subject("injured")
    with_normal = np.array([i for i in range(len(catalogue.subject_ids)) if len(normal_of[i])], dtype=np.int64)
    rows: list[tuple[int, int, int]] = []
    for i in range(len(catalogue.subject_ids)):
        others = with_normal[with_normal != i]
        if not len(others):
            continue
        for a in injured_of[i].tolist():
            for p in normal_of[i].tolist():
                j = int(others[rng.integers(len(others))])
                rows.append((a, p, int(normal_of[j][rng.integers(len(normal_of[j]))])))
    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy()
