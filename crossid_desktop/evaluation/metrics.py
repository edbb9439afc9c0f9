"""Every evaluation metric in one namespace: ``from crossid_desktop.evaluation import metrics``.

The functions live in :mod:`crossid_desktop.evaluation.retrieval` (rankings: Recall@k,
mAP@k, MRR@k, CMC, triplet accuracy) and :mod:`crossid_desktop.evaluation.verification`
(scores: ROC, DET, EER, GAR at a FAR, score histograms, inter-class distance); see their
docstrings for the conventions on ties, ``k`` beyond the gallery, and empty inputs.
"""

from __future__ import annotations

from crossid_desktop.evaluation.retrieval import (
    Ranking,
    RetrievalCurves,
    SearchFunction,
    average_precision_at_k,
    cmc,
    exact_euclidean_search,
    first_relevant_rank,
    map_at_k,
    mrr_at_k,
    rank_gallery,
    rank_k_accuracy,
    recall_at_k,
    relevance,
    retrieval_curves,
    triplet_accuracy,
)
from crossid_desktop.evaluation.verification import (
    DetCurve,
    OperatingPoint,
    RocCurve,
    ScoreHistograms,
    det_curve,
    eer,
    gar_at_far,
    mean_interclass_distance,
    operating_point_at_far,
    roc_curve,
    score_distributions,
)

__all__ = [
    "DetCurve",
    "OperatingPoint",
    "Ranking",
    "RetrievalCurves",
    "RocCurve",
    "ScoreHistograms",
    "SearchFunction",
    "average_precision_at_k",
    "cmc",
    "det_curve",
    "eer",
    "exact_euclidean_search",
    "first_relevant_rank",
    "gar_at_far",
    "map_at_k",
    "mean_interclass_distance",
    "mrr_at_k",
    "operating_point_at_far",
    "rank_gallery",
    "rank_k_accuracy",
    "recall_at_k",
    "relevance",
    "retrieval_curves",
    "roc_curve",
    "score_distributions",
    "triplet_accuracy",
]
