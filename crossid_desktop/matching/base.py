"""The contract every matcher fulfils, shared by the gallery, the search service and the GUI.

A matcher turns a query image (a skull X-ray or an injured-face photo) and gallery face photos
into embeddings that are compared by Euclidean distance. It names itself by a *fingerprint*
(a hash of its weights and model card) so that a gallery index built with one matcher is never
searched with another.
"""

from __future__ import annotations

import threading
from enum import Enum
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.progress import ProgressCallback


class QueryModality(str, Enum):
    """What a query image shows."""

    XRAY_FRONT = "xray_front"
    XRAY_SIDE = "xray_side"
    INJURED_FACE = "injured_face"

    @property
    def is_xray(self) -> bool:
        return self in (QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE)


def confidence(distances: NDArray[np.floating] | float) -> NDArray[np.float64]:
    """The publication's confidence score ``c = exp(-d^2)`` for Euclidean distances ``d``."""
    d = np.asarray(distances, dtype=np.float64)
    return np.exp(-(d**2))


@runtime_checkable
class Matcher(Protocol):
    """Anything that embeds queries and gallery faces into one Euclidean space."""

    #: short human name, e.g. "skull2face-resnet18" or "dlib-face-resnet"
    name: str
    #: hex SHA-256 of the weights and the model card; identifies the embedding space
    fingerprint: str
    #: length of every embedding
    embedding_dim: int
    #: query modalities this matcher was trained for
    query_modalities: frozenset[QueryModality]

    def model_card(self) -> dict[str, Any]:
        """The model card (backbone, preprocessing, training data, metrics, calibration...)."""
        ...

    def encode_query(
        self,
        images: Sequence[LoadedImage],
        modality: QueryModality,
        *,
        choices: Sequence[Any] | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> NDArray[np.float32]:
        """Preprocess (soft-tissue suppression or face alignment) and embed query images:
        ``(n, embedding_dim)`` float32. ``choices``: one
        :class:`~crossid_desktop.matching.preprocess.FaceChoice` per face photo (which face,
        centre crop, the examiner's mask), or None for the defaults."""
        ...

    def encode_gallery(
        self,
        faces: Sequence[NDArray[np.uint8]],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> NDArray[np.float32]:
        """Embed aligned gallery face crops (RGB uint8, canonical layout):
        ``(n, embedding_dim)`` float32."""
        ...
