"""The occlusion transplant: a composite is the gallery crop outside the mask and the query
inside it; the re-ranking moves only the K nearest photos, scored as a plain loop says; the
examiner's brush mask is the one transplanted; nothing changes without a mask."""

from __future__ import annotations

import numpy as np
import pytest

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.injured_query import InjuryAwareRecipe, prepare_injured
from crossid_desktop.matching.preprocess import FaceChoice
from crossid_desktop.matching.transplant import TransplantRanking, composite, reordered, rescored, subject_scores

SIZE = 64


def _faces(seed: int, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(n)]


def _box(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_a_composite_is_the_gallery_outside_the_mask_and_the_query_inside_it() -> None:
    gallery, query = _faces(0, 2)
    mask = _box(20, 10, 40, 30)
    made = composite(gallery, query, mask, feather_px=1.5)
    assert np.array_equal(made[mask], query[mask])
    far = np.ones((SIZE, SIZE), bool)
    far[10 - 6:30 + 6, 20 - 6:40 + 6] = False  # 4 sigma of feathering is 6 px
    assert np.array_equal(made[far], gallery[far])
    edge = made[20, 41].astype(float)  # just outside: a blend of the two
    assert not np.array_equal(made[20, 41], gallery[20, 41])
    lo, hi = np.minimum(gallery[20, 41], query[20, 41]), np.maximum(gallery[20, 41], query[20, 41])
    assert ((edge >= lo - 1) & (edge <= hi + 1)).all()
    assert np.array_equal(composite(gallery, query, np.zeros((SIZE, SIZE), bool), 1.5), gallery)
    hard = composite(gallery, query, mask, feather_px=0)
    assert np.array_equal(hard[mask], query[mask]) and np.array_equal(hard[~mask], gallery[~mask])


def test_reordering_moves_only_the_rescored_photos_and_keeps_the_rest_behind_in_order() -> None:
    plain = np.array([0.50, 0.30, 0.90, 0.40, 0.70, 0.35])
    top = np.array([1, 5, 3])  # the three nearest
    new = np.array([0.80, 0.20, 0.60])  # re-scored: one now worse than photos beyond the three
    out = reordered(plain, top, new)
    order = list(np.argsort(out, kind="stable"))
    assert order[:3] == [5, 3, 1]  # the three among themselves by the new scores
    assert order[3:] == [0, 4, 2]  # the others behind, in their plain order
    assert out[5] == 0.20 and out[3] == 0.60 and out[1] == 0.80
    kept = reordered(plain, top, np.array([0.1, 0.2, 0.3]))
    assert np.array_equal(kept[[0, 2, 4]], plain[[0, 2, 4]])  # nothing to shift when they already come after


class _Recorder:
    """A stand-in descriptor: the mean colour of each crop, remembering what it saw."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def __call__(self, faces):
        self.seen += [np.array(f) for f in faces]
        return np.stack([f.reshape(-1, 3).mean(axis=0) for f in faces]).astype(np.float32)


def test_rescoring_against_a_plain_loop() -> None:
    gallery = _faces(1, 6)
    query = _faces(2, 1)[0]
    mask = _box(0, 0, 32, 64)  # the left half
    describe = _Recorder()
    qvec = describe([query])[0]
    describe.seen.clear()
    plain = np.array([0.9, 0.2, 0.5, 0.3, 0.8, 0.4])
    settings = TransplantRanking(k=3, feather=0.0, score="mean")
    out = rescored(plain, query, mask, qvec, lambda j: gallery[j], describe, settings)
    assert len(describe.seen) == 3  # only the three nearest were described
    for j, seen in zip([1, 3, 5], describe.seen):
        expected = gallery[j].copy()
        expected[:, :32] = query[:, :32]
        assert np.array_equal(seen, expected)
        d = float(np.linalg.norm(expected.reshape(-1, 3).mean(axis=0) - qvec.astype(np.float64)))
        assert out[j] == pytest.approx((d + plain[j]) / 2, rel=1e-5)
    alone = rescored(plain, query, mask, qvec, lambda j: gallery[j], _Recorder(), TransplantRanking(k=3, feather=0.0, score="transplant"))
    assert alone[1] == pytest.approx(2 * out[1] - plain[1], rel=1e-5)
    nothing = _Recorder()
    assert np.array_equal(rescored(plain, query, np.zeros((SIZE, SIZE), bool), qvec, lambda j: gallery[j], nothing, settings), plain)
    assert not nothing.seen
    assert np.array_equal(rescored(plain, query, mask, qvec, lambda j: gallery[j], nothing, TransplantRanking(k=0)), plain)


def test_the_examiners_brush_mask_is_the_one_transplanted() -> None:
    picture = np.random.default_rng(3).integers(0, 256, (200, 240, 3), dtype=np.uint8)
    brush = np.zeros((256, 256), bool)
    brush[40:80, 150:200] = True
    recipe = InjuryAwareRecipe(segmenter="none", completion="none", robust_alignment=False, transplant_k=2)
    prepared = prepare_injured(picture, FaceChoice(allow_centre_crop=True, ignore=brush), recipe, None)
    gallery = [np.full((256, 256, 3), 7, np.uint8) for _ in range(3)]
    describe = _Recorder()
    rescored(np.array([0.3, 0.1, 0.2]), prepared.pixels, prepared.ignored, np.zeros(3, np.float32), lambda j: gallery[j], describe, recipe.transplant)
    for seen in describe.seen:
        assert np.array_equal(seen[brush], prepared.pixels[brush])
        assert (seen[:30] == 7).all() and (seen[90:] == 7).all()


def test_settings_are_checked() -> None:
    with pytest.raises(ModelError):
        TransplantRanking(score="median")
    with pytest.raises(ModelError):
        InjuryAwareRecipe(transplant_k=-1)
    assert InjuryAwareRecipe.from_card({"transplant_k": 10}).transplant == TransplantRanking(k=10)


def _fusion_case():
    """Five photos of three subjects: subject 0 has photos 0, 2, 4, subject 1 photo 1, subject 2 photo 3."""
    rng = np.random.default_rng(5)
    gallery = _faces(6, 5)
    query = _faces(7, 1)[0]
    vectors = rng.normal(size=(5, 3)).astype(np.float32)
    qvec = rng.normal(size=3).astype(np.float32)
    plain = np.linalg.norm(vectors.astype(np.float64) - qvec, axis=1)
    return gallery, query, vectors, qvec, plain, np.array([0, 1, 0, 2, 0])


def _mean_colour(faces):
    return np.stack([f.reshape(-1, 3).mean(axis=0) / 255.0 for f in faces]).astype(np.float32)


def test_subject_fusion_against_the_formula_computed_by_hand() -> None:
    gallery, query, vectors, qvec, plain, groups = _fusion_case()
    mask = _box(0, 0, 32, 64)
    settings = TransplantRanking(k=3, feather=0.0, score="mean", scope="subjects", fusion="centroid")
    photos, subjects = subject_scores(plain, groups, vectors, query, mask, qvec, lambda j: gallery[j], _mean_colour, settings)
    q = qvec.astype(np.float64)
    made = []
    for j in range(5):  # every subject is among the 3 nearest: every photo re-scored
        expected = gallery[j].copy()
        expected[:, :32] = query[:, :32]
        made.append(expected.reshape(-1, 3).mean(axis=0) / 255.0)
        assert photos[j] == pytest.approx((np.linalg.norm(made[j] - q) + plain[j]) / 2, rel=1e-5)
    own = [0, 2, 4]
    by_hand = (np.linalg.norm(np.mean([made[j] for j in own], axis=0) - q) + np.linalg.norm(vectors[own].astype(np.float64).mean(axis=0) - q)) / 2
    assert subjects[0] == pytest.approx(by_hand, rel=1e-5)
    for s, j in ((1, 1), (2, 3)):  # a subject with one photo: its photo's score
        assert subjects[s] == pytest.approx(photos[j], rel=1e-5)
    both = subject_scores(plain, groups, vectors, query, mask, qvec, lambda j: gallery[j], _mean_colour,
                          TransplantRanking(k=3, feather=0.0, scope="subjects", fusion="min+centroid"))[1]
    assert both[0] == pytest.approx((min(photos[own]) + by_hand) / 2, rel=1e-5)
    best = subject_scores(plain, groups, vectors, query, mask, qvec, lambda j: gallery[j], _mean_colour,
                          TransplantRanking(k=3, feather=0.0, scope="subjects", fusion="min"))[1]
    assert best == pytest.approx([min(photos[own]), photos[1], photos[3]], rel=1e-6)


def test_subjects_outside_the_scope_come_behind_and_no_mask_fuses_plain_descriptors() -> None:
    gallery, query, vectors, qvec, plain, groups = _fusion_case()
    settings = TransplantRanking(k=1, feather=0.0, scope="subjects", fusion="centroid")
    nothing = _Recorder()
    photos, subjects = subject_scores(plain, groups, vectors, query, None, qvec, lambda j: gallery[j], nothing, settings)
    assert not nothing.seen and np.array_equal(photos, plain)  # no mask: nothing described, photos keep their distances
    best = np.array([plain[groups == s].min() for s in range(3)])
    first = int(np.argmin(best))
    own = np.flatnonzero(groups == first)
    assert subjects[first] == pytest.approx(np.linalg.norm(vectors[own].astype(np.float64).mean(axis=0) - qvec), rel=1e-6)
    assert all(subjects[s] > subjects[first] for s in range(3) if s != first)  # the others behind the re-scored subject
    plain_only = subject_scores(plain, groups, vectors, query, None, qvec, lambda j: gallery[j], nothing, TransplantRanking(k=0))[1]
    assert plain_only == pytest.approx(best)
    with pytest.raises(ModelError):
        TransplantRanking(fusion="median")
    assert InjuryAwareRecipe.from_card({"transplant_k": 5, "transplant_scope": "subjects", "transplant_fusion": "centroid"}).transplant == \
        TransplantRanking(k=5, scope="subjects", fusion="centroid")
