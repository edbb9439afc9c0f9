"""Subjects are ranked by their best photo, or by the fused score the transplant hook gives
(shown with their best photo); photos by their distance."""

from __future__ import annotations

import numpy as np

from crossid_desktop.search.face_ranking import choose


def test_subjects_by_best_photo_or_by_their_fused_score() -> None:
    ids = [10, 11, 12, 13, 14]
    subjects = ["b", "a", "b", "c", "b"]
    distances = np.array([[0.30, 0.35, 0.50, 0.40, 0.20]])
    assert choose(ids, subjects, distances, top_k=3, rank_by="subject") == [(14, 0.20), (11, 0.35), (13, 0.40)]
    fused = np.array([0.45, 0.35, 0.45, 0.40, 0.45])  # per photo, its subject's score: b 0.45, a 0.35, c 0.40
    assert choose(ids, subjects, distances, top_k=3, rank_by="subject", subject_scores=fused) == [(11, 0.35), (13, 0.40), (14, 0.45)]
    tied = np.array([0.40, 0.40, 0.40, 0.40, 0.40])
    assert [i for i, _ in choose(ids, subjects, distances, top_k=3, rank_by="subject", subject_scores=tied)] == [11, 14, 13]  # ties by subject id
    assert choose(ids, subjects, distances, top_k=2, rank_by="image", subject_scores=fused) == [(14, 0.20), (10, 0.30)]
