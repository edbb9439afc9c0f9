"""dlib's pretrained face-recognition ResNet as a matcher: the "existing face recognition
model" baseline of the injured-face publication, for injured-face queries and face galleries.

For each canonical aligned crop (RGB uint8, :mod:`crossid_desktop.imaging.canonical`) dlib's
5-point shape predictor finds the landmarks inside a fixed box covering the face
(:func:`face_box`), ``dlib.get_face_chip(size=150, padding=0.25)`` cuts dlib's own 150 px chip,
and the ResNet computes a 128-d descriptor.

**Distances.** Without a head the raw descriptors are used, not L2-normalised: this is the
space in which dlib documents its same-person threshold (Euclidean distance 0.6), and the
descriptors have norms of about 1.3 to 1.6, so normalising would shrink every distance by
that factor and crowd the confidences ``exp(-d^2)`` near 1. In the raw space dlib's
threshold 0.6 is a confidence of 0.70; on LFW same-person pairs average about 0.45
(c = 0.82) and different people about 0.82 (c = 0.51). With a trained
:class:`~crossid_desktop.matching.embedding_head.EmbeddingHead` the embeddings are the head's
L2-normalised outputs (distances in [0, 2], like the torch matchers).

dlib's models are loaded once per process, behind a lock, and every call into the network is
serialised by that lock (a dlib network keeps per-call state).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import MatcherMismatchError, ModelError
from crossid_desktop.imaging.canonical import ALIGNED_SIZE, CANONICAL
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.matching.base import QueryModality
from crossid_desktop.matching.batching import encode_in_batches
from crossid_desktop.matching.checkpoint import fingerprint
from crossid_desktop.matching.injured_query import InjuryAwareRecipe, described_faces, prepare_injured
from crossid_desktop.matching.model_card import ModelCard
from crossid_desktop.matching.preprocess import FaceChoice, PreparedQuery, prepare_query
from crossid_desktop.progress import ProgressCallback

DESCRIPTOR_DIM = 128
CHIP_SIZE = 150
CHIP_PADDING = 0.25
#: dlib's face-detector box relative to the eye midpoint, in eye distances: centre offset
#: (x, y) and side. Measured as the median over 117 LFW faces (HOG detector + 5-point
#: landmarks; spread about 0.08 for the offsets, 0.26 for the side); x set to 0 for symmetry.
_BOX_FROM_EYES = (0.0, 0.48, 2.59)

_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


def _dlib_files() -> tuple[Path, Path]:
    try:
        import face_recognition_models  # model files located on first use
    except ImportError as error:
        raise ModelError("dlib's face models (package face-recognition-models) are not installed; reinstall CrossID Desktop.") from error
    return Path(face_recognition_models.face_recognition_model_location()), Path(face_recognition_models.pose_predictor_five_point_model_location())


def _load_models() -> dict[str, Any]:
    """dlib's shape predictor and recognition network, and the SHA-256 of both files; loaded
    once per process. Call with :data:`_LOCK` held."""
    if not _MODELS:
        import dlib  # dlib loads on first use

        recognition, predictor = _dlib_files()
        for path in (recognition, predictor):
            if not path.is_file():
                raise ModelError(f"dlib's model file {path} is missing; reinstall the package face-recognition-models.")
        digest = hashlib.sha256()
        for path in (recognition, predictor):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        _MODELS.update(
            shape_predictor=dlib.shape_predictor(str(predictor)),
            recognition=dlib.face_recognition_model_v1(str(recognition)),
            sha256=digest.hexdigest(),
        )
    return _MODELS


def face_box(size: int) -> tuple[int, int, int, int]:
    """The box ``(left, top, right, bottom)`` in pixels where dlib's face detector would put the
    face of a ``size`` x ``size`` canonical crop (it may reach past the bottom edge)."""
    mid_x = (CANONICAL.right_eye[0] + CANONICAL.left_eye[0]) / 2
    mid_y = (CANONICAL.right_eye[1] + CANONICAL.left_eye[1]) / 2
    eye = CANONICAL.eye_distance
    dx, dy, side = _BOX_FROM_EYES
    cx, cy, half = (mid_x + dx * eye) * size, (mid_y + dy * eye) * size, side * eye * size / 2
    return round(cx - half), round(cy - half), round(cx + half), round(cy + half)


def default_card() -> ModelCard:
    """The model card of the plain dlib matcher (no head); its preprocessing entry is the one a
    trained head's card carries too."""
    crop = {"face_alignment": "canonical-5-point", "aligned_size": ALIGNED_SIZE, "dlib_chip": {"size": CHIP_SIZE, "padding": CHIP_PADDING, "landmarks": "dlib 5-point in the canonical face box", "box_from_eyes": list(_BOX_FROM_EYES)}}
    return ModelCard(
        name="dlib-face-resnet",
        task="injured",
        backbone="dlib-resnet-128",
        embedding_dim=DESCRIPTOR_DIM,
        network={"kind": "dlib", "normalised": False},
        preprocessing={"query": {"modalities": ["injured_face"], **crop}, "gallery": dict(crop)},
        training={"data": "dlib's pretrained face-recognition ResNet (dlib_face_recognition_resnet_model_v1), no further training"},
    )


def _card_only(path: Path) -> ModelCard:
    """The card of a matcher that is dlib's descriptor with a preparation recipe and no weights
    of its own; :class:`ModelError` for anything else."""
    try:
        card = ModelCard.from_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ModelError(f"The model card {path} cannot be read ({type(error).__name__}).") from error
    if card.backbone != "dlib-resnet-128" or card.network.get("kind") != "dlib":
        raise ModelError(f"The model card {path} does not describe dlib's face matcher (network {card.network.get('kind')!r}).")
    return card


#: the former private name, kept for callers that import it
_default_card = default_card


class DlibFaceMatcher:
    """Injured-face queries and gallery faces embedded with dlib's face descriptor, optionally
    followed by a trained :class:`~crossid_desktop.matching.embedding_head.EmbeddingHead`
    (``head`` = path of its checkpoint), or described by a model card alone (``card`` = path
    of a JSON card with ``network.kind == "dlib"``: no weights of its own, only how queries are
    prepared, the calibration and the measured figures). ``batch_size`` faces go through dlib
    at once."""

    query_modalities = frozenset({QueryModality.INJURED_FACE})

    def __init__(self, *, head: str | Path | None = None, card: str | Path | None = None, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        with _LOCK:
            self._models = _load_models()
        self._head: Any = None
        if head is None:
            self._card = default_card() if card is None else _card_only(Path(card))
            head_fingerprint = fingerprint({}, self._card)
        else:
            from crossid_desktop.matching.embedding_head import load_head  # loads torch: only when a model is used

            self._head, self._card, state = load_head(head)
            head_fingerprint = fingerprint(state, self._card)
        self.name: str = self._card.name
        self.embedding_dim: int = int(self._card.embedding_dim)
        self.fingerprint: str = hashlib.sha256(f"crossid-dlib-v1|{self._models['sha256']}|{head_fingerprint}".encode()).hexdigest()
        query = self._card.preprocessing.get("query", {})
        self._recipe = InjuryAwareRecipe.from_card(query["injury_aware"]) if query.get("injury_aware") else None
        self._gallery_flip = bool(self._card.preprocessing.get("gallery", {}).get("flip", False))
        self._regions: Any = None

    @property
    def recipe(self) -> InjuryAwareRecipe | None:
        """How injured-face queries are prepared beyond alignment (None: plain alignment)."""
        return self._recipe

    def unreliable_regions(self) -> Any:
        """The injury segmenter the recipe names, loaded on first use (torch); None when the
        recipe names none (only the examiner's mask is left out)."""
        if self._recipe is not None and self._recipe.segmenter == "none":
            return None
        if self._regions is None:
            from crossid_desktop.matching.injury_segmenter import load_segmenter  # loads torch: only when a model is used

            assert self._recipe is not None
            regions = load_segmenter(None if self._recipe.segmenter == "bundled" else self._recipe.segmenter)
            if self._recipe.segmenter_sha256 and regions.sha256 != self._recipe.segmenter_sha256:
                raise ModelError(f"The injury segmenter {regions.path} is not the one the matcher {self.name!r} was made and measured with; reinstall CrossID Desktop.")
            self._regions = regions
        return self._regions

    @property
    def calibration(self) -> dict[str, Any] | None:
        return self._card.calibration

    def model_card(self) -> dict[str, Any]:
        return self._card.to_dict()

    def prepare(self, image: LoadedImage | NDArray[Any], modality: QueryModality, choice: FaceChoice | None = None) -> PreparedQuery:
        """The query aligned to the canonical face crop (see
        :func:`~crossid_desktop.matching.preprocess.prepare_query`), and with an injury-aware
        recipe its unreliable regions and the mask to leave out
        (:func:`~crossid_desktop.matching.injured_query.prepare_injured`)."""
        self._check_modality(modality)
        if self._recipe is None:
            return prepare_query(image, modality, {"aligned_size": ALIGNED_SIZE}, choice)
        return prepare_injured(image, choice, self._recipe, self.unreliable_regions(), ALIGNED_SIZE)

    def preprocess_query(self, image: LoadedImage | NDArray[Any], modality: QueryModality, choice: FaceChoice | None = None) -> NDArray[np.uint8]:
        """The query aligned to the canonical face crop, ``(256, 256, 3)`` RGB uint8."""
        return self.prepare(image, modality, choice).pixels

    def face_chips(self, faces: Sequence[NDArray[np.uint8]]) -> list[NDArray[np.uint8]]:
        """dlib's 150 x 150 chips of canonical crops (RGB uint8, any square size)."""
        import dlib  # dlib loads on first use

        chips = []
        for face in faces:
            face = np.ascontiguousarray(face, dtype=np.uint8)
            if face.ndim != 3 or face.shape[2] != 3:
                raise ValueError(f"faces must be RGB (H, W, 3) uint8 crops, got shape {face.shape}")
            box = dlib.rectangle(*face_box(face.shape[0]))
            with _LOCK:
                shape = self._models["shape_predictor"](face, box)
            chips.append(dlib.get_face_chip(face, shape, size=CHIP_SIZE, padding=CHIP_PADDING))
        return chips

    def descriptors(self, faces: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
        """dlib's raw 128-d descriptors of canonical crops: ``(n, 128)`` float32."""
        if not faces:
            return np.empty((0, DESCRIPTOR_DIM), dtype=np.float32)
        chips = self.face_chips(faces)
        with _LOCK:
            vectors = self._models["recognition"].compute_face_descriptor(chips)
        return np.asarray([np.asarray(v) for v in vectors], dtype=np.float32).reshape(len(chips), DESCRIPTOR_DIM)

    def averaged_descriptors(self, groups: Sequence[Sequence[NDArray[np.uint8]]]) -> NDArray[np.float32]:
        """One descriptor per group of crops (a face and its mirror image): the mean of the
        group's raw descriptors, ``(n, 128)`` float32."""
        flat = [face for group in groups for face in group]
        raw = self.descriptors(flat)
        ends = np.cumsum([0] + [len(g) for g in groups])
        return np.stack([raw[a:b].mean(axis=0) for a, b in zip(ends[:-1], ends[1:])]).astype(np.float32)

    def _embed(self, faces: Sequence[NDArray[np.uint8]], *, flip: bool = False) -> NDArray[np.float32]:
        groups = [[face, np.ascontiguousarray(face[:, ::-1])] if flip else [face] for face in faces]
        return self._head_of(self.averaged_descriptors(groups))

    def _head_of(self, raw: NDArray[np.float32]) -> NDArray[np.float32]:
        if self._head is None:
            return raw
        import torch  # torch loads only when a model runs

        with torch.inference_mode():
            return self._head(torch.from_numpy(raw)).numpy().astype(np.float32)

    def encode_gallery(
        self,
        faces: Sequence[NDArray[np.uint8]],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> NDArray[np.float32]:
        """Embed canonical aligned face crops (each with its mirror image when the card's gallery
        entry says ``flip``): ``(n, embedding_dim)`` float32."""

        def embed(batch: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
            return self._embed(batch, flip=self._gallery_flip)

        return encode_in_batches(faces, embed, batch_size=self.batch_size, dim=self.embedding_dim, what="Encoding gallery faces", progress=progress, cancel=cancel)

    def encode_prepared(self, prepared: Sequence[PreparedQuery], modality: QueryModality) -> NDArray[np.float32]:
        """Embed queries already prepared by :meth:`prepare`: ``(n, embedding_dim)`` float32
        (with an injury-aware recipe, the completed faces of
        :func:`~crossid_desktop.matching.injured_query.described_faces`)."""
        self._check_modality(modality)
        if self._recipe is None:
            return self._embed([p.pixels for p in prepared])
        recipe = self._recipe
        return self._head_of(self.averaged_descriptors([described_faces(p, recipe) for p in prepared]))

    def transplant_rescore(self, prepared: PreparedQuery, query_vector: NDArray[np.float32], plain: NDArray[np.float64], groups: NDArray[np.int64],
                           gallery_vectors: NDArray[np.float32], gallery_face: Callable[[int], NDArray[np.uint8]]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The query's distances ``plain`` ``(n,)`` to ``n`` gallery photos re-scored by the
        recipe's occlusion transplant with the mask the query leaves out (the examiner's brush,
        else the segmenter's), and the subjects' scores fused as the recipe says
        (:func:`~crossid_desktop.matching.transplant.subject_scores`): ``groups[j]`` photo ``j``'s
        subject (``0..G-1``), ``gallery_vectors`` ``(n, d)`` the photos' stored descriptors,
        ``gallery_face(j)`` photo ``j``'s stored aligned crop. Without a transplant in the recipe:
        the plain distances and each subject's best photo."""
        from crossid_desktop.matching.transplant import TransplantRanking, subject_scores

        recipe = self._recipe
        settings = recipe.transplant if recipe is not None else TransplantRanking(k=0, fusion="min")
        return subject_scores(plain, groups, gallery_vectors, prepared.pixels, prepared.ignored, query_vector, gallery_face,
                              lambda faces: self._embed(faces, flip=self._gallery_flip), settings)

    def encode_query(
        self,
        images: Sequence[LoadedImage],
        modality: QueryModality,
        *,
        choices: Sequence[FaceChoice | None] | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> NDArray[np.float32]:
        """Align injured-face photos to the canonical crop and embed them: ``(n, embedding_dim)``.
        ``choices``: one :class:`FaceChoice` per photo, or None."""
        self._check_modality(modality)
        items = list(zip(images, choices if choices is not None else [None] * len(images)))

        def embed(batch: Sequence[tuple[LoadedImage, FaceChoice | None]]) -> NDArray[np.float32]:
            return self.encode_prepared([self.prepare(image, modality, choice) for image, choice in batch], modality)

        return encode_in_batches(items, embed, batch_size=self.batch_size, dim=self.embedding_dim, what="Encoding query images", progress=progress, cancel=cancel)

    def _check_modality(self, modality: QueryModality) -> None:
        if QueryModality(modality) not in self.query_modalities:
            raise MatcherMismatchError(f"The matcher {self.name!r} embeds injured-face photos, not {QueryModality(modality).value} queries.")
