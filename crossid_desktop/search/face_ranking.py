"""How a face search ranks the gallery's subjects from its photos' distances.

By default a subject's distance is that of its best photo (each query's best photo, averaged
over the queries of one search). A matcher with the occlusion transplant
(``matching/transplant.py``) re-scores one face query's nearest photos with their composites
and may *fuse* a subject's photos into its score (the recipe's ``transplant_fusion``: the best
photo, or the distance to the centroid of its photos' descriptors, or their mean): the hook of
:func:`transplant_hook` gives back the re-scored photo distances and, per photo, its subject's
fused score, which :func:`choose` then ranks by.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.gallery.store import GalleryStore
from crossid_desktop.matching.base import Matcher

#: ``rescore(image_ids, subjects, distances, vectors)``: the distances ``(queries, photos)``
#: re-scored, and per photo its subject's score (None: subjects by their best photo)
Rescore = Callable[[list[int], list[str], NDArray[np.float64], NDArray[np.float32]], tuple[NDArray[np.float64], NDArray[np.float64] | None]]


def transplant_hook(matcher: Matcher, store: GalleryStore, vectors: NDArray[np.float32], prepared: list[Any]) -> Rescore | None:
    """The re-scoring of one face query's distances by the occlusion transplant and the
    recipe's subject fusion (``matching/transplant.py``), with the photos' stored crops; None
    without one (several queries are fused on plain distances)."""
    rescore = getattr(matcher, "transplant_rescore", None)
    if rescore is None or len(prepared) != 1 or prepared[0] is None:
        return None
    query = prepared[0]
    from crossid_desktop.gallery.enrol import decode_png  # the stored crops are read only for a re-ranking

    def apply(image_ids: list[int], subjects: list[str], distances: NDArray[np.float64],
              gallery: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        _, groups = np.unique(np.asarray(subjects, dtype=object), return_inverse=True)
        photos, by_subject = rescore(query, vectors[0], distances[0], groups, gallery, lambda j: decode_png(store.thumbnail(image_ids[j])))
        return photos[None, :], np.asarray(by_subject, dtype=np.float64)[groups]

    return apply


def choose(candidate_ids: list[int], subjects: list[str], distances: NDArray[np.float64], *, top_k: int, rank_by: str,
           subject_scores: NDArray[np.float64] | None = None) -> list[tuple[int, float]]:
    """The top photos (``rank_by="image"``: mean distance over queries) or subjects (each
    query's best photo of the subject, averaged, or ``subject_scores[j]``, the score of photo
    ``j``'s subject, when given; shown with the first query's best photo), as
    ``(image_id, distance)``; ties by subject id (subjects) or position (photos)."""
    if rank_by == "image":
        mean = distances.mean(axis=0)
        order = np.argsort(mean, kind="stable")[:top_k]
        return [(candidate_ids[j], float(mean[j])) for j in order]
    names, group = np.unique(np.asarray(subjects, dtype=object), return_inverse=True)  # names ascending
    columns = np.argsort(group, kind="stable")  # each subject's photos together, in candidate order
    starts = np.flatnonzero(np.r_[True, np.diff(group[columns]) != 0])
    if subject_scores is None:
        fused = np.minimum.reduceat(distances[:, columns], starts, axis=1).mean(axis=0)  # each view's best photo, averaged
    else:
        fused = np.asarray(subject_scores, dtype=np.float64)[columns[starts]]
    first = np.lexsort((distances[0, columns], group[columns]))  # by subject, then the first query's distance
    best_photo = columns[first[np.searchsorted(group[columns][first], np.arange(len(names)))]]
    ranked = np.lexsort((np.arange(len(names)), fused))[:top_k]  # by distance, ties by subject id
    return [(candidate_ids[int(best_photo[g])], float(fused[g])) for g in ranked]
