"""The occlusion transplant: re-ranking an injured query's nearest gallery photos with the
query's unreliable region made the same in both images.

A dressing over an eye or a bandage over the jaw moves a face descriptor as much as another
person would, and filling that region from the face's other side or by inpainting moves it
further (``docs/RESULTS.md`` section 3.1). Instead of filling it, the region ``M`` (the injury
segmenter's mask, or the examiner's brush) is *transplanted*: for each of the query's ``k``
nearest gallery photos by the plain descriptor, the query's pixels inside ``M`` are pasted into
the gallery photo's aligned crop (both are in the canonical frame, ``imaging/canonical.py``; the
edge is feathered outwards) and the composite is described. Query and composite then carry the
same dressing or bruise, so their distance measures the rest of the face. The ``k`` photos are
re-ranked by that distance (``score="transplant"``) or by its mean with the plain distance
(``score="mean"``); every other photo keeps its order behind them.

**Which photos, and the subject's score** (:func:`subject_scores`). ``scope="photos"``
re-scores the query's ``k`` nearest photos; ``scope="subjects"`` every photo of its ``k``
nearest subjects (subjects by their best photo). A subject's score is then fused over its
re-scored photos (``fusion``): ``"min"``, its best photo's score; ``"centroid"``, the mean of
the query's distance to the mean of the composites' descriptors and its distance to the mean
of the photos' plain descriptors; ``"min+centroid"``, the mean of the two. For a subject with
one photo the three are the same number. Subjects with no re-scored photo come behind, in
their order by the same fusion of plain distances and descriptors.

Pure numpy and OpenCV; the descriptor is passed in (:func:`rescored`, :func:`subject_scores`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import ModelError

SCORES = ("mean", "transplant")
SCOPES = ("photos", "subjects")
FUSIONS = ("min", "centroid", "min+centroid")


@dataclass(frozen=True)
class TransplantRanking:
    """How the nearest photos are re-ranked: ``k`` photos or subjects (``scope``, one of
    :data:`SCOPES`; 0: no re-ranking), ``feather`` (the edge's blur as a fraction of the crop
    side), ``score`` (one of :data:`SCORES`) and ``fusion`` (a subject's score from its
    photos', one of :data:`FUSIONS`)."""

    k: int = 10
    feather: float = 2.0 / 256
    score: str = "mean"
    scope: str = "photos"
    fusion: str = "min"

    def __post_init__(self) -> None:
        if (self.score not in SCORES or self.scope not in SCOPES or self.fusion not in FUSIONS or self.k < 0
                or not 0.0 <= self.feather < 0.1):
            raise ModelError(f"The occlusion transplant's settings (k {self.k}, feather {self.feather}, score {self.score!r}, "
                             f"scope {self.scope!r}, fusion {self.fusion!r}) are not valid.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def composite(gallery_face: NDArray[np.uint8], source: NDArray[np.uint8], mask: NDArray[np.bool_], feather_px: float) -> NDArray[np.uint8]:
    """``gallery_face`` ``(S, S, 3) uint8`` with ``source``'s pixels inside ``mask`` ``(S, S)``:
    inside the mask exactly the source, the edge blended outwards over about ``feather_px``
    (a Gaussian of that sigma), and beyond ``4 * feather_px`` exactly the gallery face."""
    import cv2  # OpenCV loads on first use

    hole = np.asarray(mask, dtype=np.float32)
    if not hole.any():
        return np.array(gallery_face, copy=True)
    if feather_px > 0:
        radius = int(np.ceil(4 * feather_px))
        hole = np.maximum(hole, cv2.GaussianBlur(hole, (2 * radius + 1, 2 * radius + 1), feather_px))
    alpha = hole[..., None]
    out = gallery_face.astype(np.float32) * (1.0 - alpha) + source.astype(np.float32) * alpha
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def reordered(plain: NDArray[np.float64], top: NDArray[np.int64], new: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scores ``(n,)`` of ``n`` gallery photos after the photos ``top`` were scored ``new``: the
    others keep their plain distances, shifted when needed so that each stays behind every
    re-scored photo and their own order is kept."""
    out = np.asarray(plain, dtype=np.float64).copy()
    rest = np.ones(len(out), bool)
    rest[top] = False
    out[top] = new
    if rest.any() and len(top):
        shift = float(np.max(new)) - float(out[rest].min())
        if shift >= 0:
            out[rest] += shift + 1e-9  # strictly behind (distances are of order 1)
    return out


def rescored(plain: NDArray[np.float64], query_face: NDArray[np.uint8], mask: NDArray[np.bool_], query_vector: NDArray[np.float32],
             gallery_face: Callable[[int], NDArray[np.uint8]], describe: Callable[[Sequence[NDArray[np.uint8]]], NDArray[np.float32]],
             settings: TransplantRanking) -> NDArray[np.float64]:
    """The query's scores ``(n,)`` for ``n`` gallery photos whose plain distances are ``plain``:
    the ``settings.k`` nearest re-scored with their composites (see the module docstring), the
    rest behind them in their order. ``gallery_face(j)`` is photo ``j``'s aligned crop,
    ``describe`` the descriptor of crops ``(m, d)`` as the query was described. Without a mask
    or with ``k = 0`` the plain distances come back unchanged."""
    plain = np.asarray(plain, dtype=np.float64)
    if settings.k < 1 or not np.asarray(mask).any() or len(plain) == 0:
        return plain.copy()
    top = np.argsort(plain, kind="stable")[:settings.k]
    new, _ = _transplanted(plain, top, query_face, mask, query_vector, gallery_face, describe, settings)
    return reordered(plain, top, new)


def _transplanted(plain: NDArray[np.float64], top: NDArray[np.int64], query_face: NDArray[np.uint8], mask: NDArray[np.bool_],
                  query_vector: NDArray[np.float32], gallery_face: Callable[[int], NDArray[np.uint8]],
                  describe: Callable[[Sequence[NDArray[np.uint8]]], NDArray[np.float32]], settings: TransplantRanking,
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The scores of the photos ``top`` by their composites, and the composites' descriptors."""
    feather_px = settings.feather * query_face.shape[0]
    made = np.asarray(describe([composite(gallery_face(int(j)), query_face, mask, feather_px) for j in top]), dtype=np.float64)
    transplanted = np.sqrt(((made - np.asarray(query_vector, np.float64)) ** 2).sum(axis=1))
    return (transplanted if settings.score == "transplant" else (transplanted + plain[top]) / 2), made


def scope_photos(plain: NDArray[np.float64], groups: NDArray[np.int64], settings: TransplantRanking) -> NDArray[np.int64]:
    """The photos ``settings`` re-scores: the ``k`` nearest photos, or every photo of the ``k``
    nearest subjects (``groups[j]``: photo ``j``'s subject, ``0..G-1``; subjects by their best photo)."""
    if settings.k < 1 or len(plain) == 0:
        return np.empty(0, np.int64)
    if settings.scope == "photos":
        return np.argsort(plain, kind="stable")[:settings.k]
    best = np.full(int(groups.max()) + 1, np.inf)
    np.minimum.at(best, groups, plain)
    return np.flatnonzero(np.isin(groups, np.argsort(best, kind="stable")[:settings.k]))


def fused(scores: NDArray[np.float64], photos: NDArray[np.int64], groups: NDArray[np.int64], n_groups: int, fusion: str,
          query_vector: NDArray[np.float64], composites: NDArray[np.float64], plain_vectors: NDArray[np.float64]) -> NDArray[np.float64]:
    """Subject scores ``(n_groups,)`` fused over the photos ``photos`` (``inf`` for a subject
    with none): ``scores[photos]`` the photos' scores, ``composites[i]`` and ``plain_vectors[i]``
    the descriptors of ``photos[i]``'s composite and of the photo itself (module docstring)."""
    best = np.full(n_groups, np.inf)
    np.minimum.at(best, groups[photos], scores[photos])
    if fusion == "min" or len(photos) == 0:
        return best
    owner = groups[photos]
    counts = np.bincount(owner, minlength=n_groups)
    seen = counts > 0
    centroid = np.full(n_groups, np.inf)
    centroid[seen] = 0.0
    for vectors in (composites, plain_vectors):
        means = np.zeros((n_groups, vectors.shape[1]))
        np.add.at(means, owner, vectors)
        centroid[seen] += np.linalg.norm(means[seen] / counts[seen, None] - query_vector, axis=1) / 2
    return centroid if fusion == "centroid" else (best + centroid) / 2


def subject_scores(plain: NDArray[np.float64], groups: NDArray[np.int64], gallery_vectors: NDArray[np.float32], query_face: NDArray[np.uint8],
                   mask: NDArray[np.bool_] | None, query_vector: NDArray[np.float32], gallery_face: Callable[[int], NDArray[np.uint8]],
                   describe: Callable[[Sequence[NDArray[np.uint8]]], NDArray[np.float32]],
                   settings: TransplantRanking) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The photos' scores ``(n,)`` (as :func:`rescored`, the photos of the scope re-scored) and
    the subjects' scores ``(G,)`` (module docstring) of one query against ``n`` gallery photos:
    ``plain`` its plain distances, ``groups`` the photos' subjects ``0..G-1``, ``gallery_vectors``
    ``(n, d)`` their descriptors. Without a mask the composites are the photos themselves (their
    scores the plain distances), so only the fusion acts."""
    plain = np.asarray(plain, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.int64)
    vectors = np.asarray(gallery_vectors, dtype=np.float64)
    query = np.asarray(query_vector, dtype=np.float64)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    top = scope_photos(plain, groups, settings)
    scores, made = plain.copy(), vectors[top]
    if len(top) and mask is not None and np.asarray(mask).any():
        scores[top], made = _transplanted(plain, top, query_face, mask, query_vector, gallery_face, describe, settings)
    every = np.arange(len(plain))
    front = fused(scores, top, groups, n_groups, settings.fusion, query, made, vectors[top])
    back = fused(plain, every, groups, n_groups, settings.fusion, query, vectors, vectors)
    inside = np.isfinite(front)
    if inside.any() and (~inside).any():
        back = back + max(0.0, float(front[inside].max()) - float(back[~inside].min()) + 1e-9)  # strictly behind
    return reordered(plain, top, scores[top]), np.where(inside, front, back)
