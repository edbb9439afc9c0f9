"""Matchers backed by a trained :class:`~crossid_desktop.matching.networks.CrossDomainNet`,
and :func:`load_matcher`, the one way the application gets a matcher.

A :class:`TorchMatcher` prepares its inputs exactly as its model card says (see
:mod:`crossid_desktop.matching.preprocess`), embeds them in batches under
``torch.inference_mode()`` and, on a CUDA GPU, with automatic mixed precision (bfloat16 where
supported, else float16) and channels-last memory layout. Embeddings come back as float32
numpy arrays, L2-normalised.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.errors import MatcherMismatchError, ModelError
from crossid_desktop.imaging.io import LoadedImage
from crossid_desktop.matching.base import Matcher, QueryModality
from crossid_desktop.matching.batching import encode_in_batches
from crossid_desktop.matching.checkpoint import card_path, fingerprint, load_checkpoint
from crossid_desktop.matching.craniofacial.matcher import CraniofacialMatcher, FusedXrayMatcher
from crossid_desktop.matching.craniofacial.model_file import load_model
from crossid_desktop.matching.device import autocast_dtype, select_device
from crossid_desktop.matching.dlib_matcher import DlibFaceMatcher
from crossid_desktop.matching.model_card import ModelCard
from crossid_desktop.matching.preprocess import FaceChoice, InputRecipe, PreparedQuery, prepare_query, to_network_batch
from crossid_desktop.paths import resource_path
from crossid_desktop.progress import ProgressCallback

if TYPE_CHECKING:
    import torch

    from crossid_desktop.matching.networks import CrossDomainNet

#: the name :func:`load_matcher` accepts for dlib's pretrained face matcher
DLIB_MATCHER_NAME = "dlib"
#: the bundled craniofacial matcher, and its fusion with the Siamese network it was calibrated with
CRANIOFACIAL_NAME = "craniofacial"
DEFAULT_XRAY_NAME = "default-xray"
NAMED_MATCHERS = (DLIB_MATCHER_NAME, CRANIOFACIAL_NAME, DEFAULT_XRAY_NAME)
#: the Siamese model a bundled craniofacial model without a stated one is fused with
_SIAMESE_DEFAULT = "skull2face.pt"


def named_matcher_files(name: str) -> tuple[Path, ...]:
    """The bundled files a named matcher needs (none for dlib): the craniofacial model, its card,
    the face landmark models its error profiles were measured with, and for the fusion the
    Siamese network."""
    model = resource_path("models", "craniofacial.npz")
    faces = (resource_path("models", "face_landmarks_front.dat"), resource_path("models", "face_landmarks_side.dat"))  # its card's face_models
    if name == CRANIOFACIAL_NAME:
        return (model, model.with_suffix(".json"), *faces)
    if name == DEFAULT_XRAY_NAME:
        return (model, model.with_suffix(".json"), _fused_siamese_path(model), *faces)
    return ()


def _fused_siamese_path(model: Path) -> Path:
    """The Siamese checkpoint the bundled craniofacial model's fusion names (bundled:NAME)."""
    try:
        spec = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))["fusion"]["siamese"]["spec"]
    except (OSError, ValueError, KeyError, TypeError):
        spec = "bundled:" + _SIAMESE_DEFAULT.removesuffix(".pt")
    return resource_path("models", str(spec).removeprefix("bundled:") + ".pt") if str(spec).startswith("bundled:") else Path(spec)


def _craniofacial(path: Path) -> CraniofacialMatcher:
    return CraniofacialMatcher(load_model(path))


class TorchMatcher:
    """A trained cross-domain network with its preprocessing recipe.

    Skull-to-face models take X-ray queries (query branch) and face galleries (gallery
    branch); injured-face models take injured-face photos and face galleries through one
    shared branch. Build with :meth:`from_checkpoint`.
    """

    def __init__(self, model: CrossDomainNet, card: ModelCard, *, fingerprint: str, device: str | torch.device | None = None, batch_size: int = 32) -> None:
        self.device = select_device(device) if not hasattr(device, "type") else device
        self.batch_size = batch_size
        self._card = card
        self._model = model.to(self.device).eval()
        if self.device.type == "cuda":
            import torch  # torch loads only when a model runs

            self._model = self._model.to(memory_format=torch.channels_last)
        self._query = InputRecipe.from_card(card.preprocessing["query"])
        self._gallery = InputRecipe.from_card(card.preprocessing["gallery"])
        self.name: str = card.name
        self.fingerprint: str = fingerprint
        self.embedding_dim: int = int(card.embedding_dim)
        try:
            self.query_modalities: frozenset[QueryModality] = frozenset(QueryModality(m) for m in card.preprocessing["query"]["modalities"])
        except (KeyError, ValueError) as error:
            raise ModelError(f"The model card of {card.name!r} does not list valid query modalities ({error}).") from error

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, device: str | torch.device | None = None, batch_size: int = 32) -> TorchMatcher:
        """Load a checkpoint written by :func:`~crossid_desktop.matching.checkpoint.save_checkpoint`."""

        model, card = load_checkpoint(path, device="cpu")
        return cls(model, card, fingerprint=fingerprint(model.state_dict(), card), device=device, batch_size=batch_size)

    @property
    def calibration(self) -> dict[str, Any] | None:
        """The card's score calibration, or None when the model is uncalibrated."""
        return self._card.calibration

    def model_card(self) -> dict[str, Any]:
        return self._card.to_dict()

    def prepare(self, image: LoadedImage | NDArray[Any], modality: QueryModality, choice: FaceChoice | None = None) -> PreparedQuery:
        """The query as prepared before it is resized for the network (see
        :func:`~crossid_desktop.matching.preprocess.prepare_query`)."""
        modality = self._check_modality(modality)
        return prepare_query(image, modality, {"soft_tissue": self._query.soft_tissue, "aligned_size": self._query.aligned_size}, choice)

    def preprocess_query(self, image: LoadedImage | NDArray[Any], modality: QueryModality, choice: FaceChoice | None = None) -> NDArray[Any]:
        """The query as prepared before it is resized for the network, for display: an X-ray
        with its soft tissue suppressed (``(H, W)`` float32 in [0, 1]) or an injured face
        aligned to the canonical crop (``(256, 256, 3)`` RGB uint8)."""
        return self.prepare(image, modality, choice).pixels

    def encode_query(
        self,
        images: Sequence[LoadedImage],
        modality: QueryModality,
        *,
        choices: Sequence[FaceChoice | None] | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> NDArray[np.float32]:
        """Preprocess and embed query images: ``(n, embedding_dim)`` float32, L2-normalised.
        ``choices``: one :class:`FaceChoice` per image (face photos), or None."""
        modality = self._check_modality(modality)
        items = list(zip(images, choices if choices is not None else [None] * len(images)))

        def embed(batch: Sequence[tuple[LoadedImage, FaceChoice | None]]) -> NDArray[np.float32]:
            prepared = [self.preprocess_query(image, modality, choice) for image, choice in batch]
            return self._run(to_network_batch(prepared, self._query), branch="query")

        return encode_in_batches(items, embed, batch_size=self.batch_size, dim=self.embedding_dim, what="Encoding query images", progress=progress, cancel=cancel)

    def encode_prepared(self, prepared: Sequence[PreparedQuery], modality: QueryModality) -> NDArray[np.float32]:
        """Embed queries already prepared by :meth:`prepare`: ``(n, embedding_dim)`` float32."""
        self._check_modality(modality)
        return self._run(to_network_batch([p.pixels for p in prepared], self._query), branch="query")

    def encode_gallery(
        self,
        faces: Sequence[NDArray[np.uint8]],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> NDArray[np.float32]:
        """Embed canonical aligned face crops (RGB uint8): ``(n, embedding_dim)`` float32."""

        def embed(batch: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
            return self._run(to_network_batch(batch, self._gallery), branch="gallery")

        return encode_in_batches(faces, embed, batch_size=self.batch_size, dim=self.embedding_dim, what="Encoding gallery faces", progress=progress, cancel=cancel)

    def embed_batch(self, batch: NDArray[np.float32], *, branch: str) -> NDArray[np.float32]:
        """Embed an already normalised batch ``(N, 3, S, S)`` with the ``"query"`` or
        ``"gallery"`` branch: ``(N, embedding_dim)`` float32, L2-normalised."""
        return self._run(batch, branch=branch)

    def _run(self, batch: NDArray[np.float32], *, branch: str) -> NDArray[np.float32]:
        import torch  # torch loads only when a model runs

        x = torch.from_numpy(np.ascontiguousarray(batch))
        dtype = autocast_dtype(self.device)
        with torch.inference_mode():
            if self.device.type == "cuda":
                x = x.pin_memory().to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            else:
                x = x.to(self.device)
            if dtype is not None:
                with torch.autocast(device_type=self.device.type, dtype=dtype):
                    out = self._model(x, branch=branch)
            else:
                out = self._model(x, branch=branch)
            out = torch.nn.functional.normalize(out.float(), dim=1)
            return out.cpu().numpy().astype(np.float32, copy=False)

    def _check_modality(self, modality: QueryModality | str) -> QueryModality:
        modality = QueryModality(modality)
        if modality not in self.query_modalities:
            accepted = ", ".join(sorted(m.value for m in self.query_modalities))
            raise MatcherMismatchError(f"The matcher {self.name!r} was trained for {accepted} queries, not {modality.value}.")
        return modality


def load_matcher(path_or_name: str | Path, *, device: str | None = None) -> Matcher:
    """The matcher called ``"dlib"`` (dlib's pretrained face matcher) or stored at a checkpoint
    path (a cross-domain network, or a head on dlib's descriptor). The matcher's ``source``
    attribute keeps ``path_or_name``, so that another process can load the same matcher
    (enrolment's workers do)."""
    matcher = _load(path_or_name, device=device)
    matcher.source = str(path_or_name)  # type: ignore[attr-defined]
    return matcher


def _load(path_or_name: str | Path, *, device: str | None) -> Matcher:
    if str(path_or_name) == DLIB_MATCHER_NAME:
        return DlibFaceMatcher()
    if str(path_or_name) in (CRANIOFACIAL_NAME, DEFAULT_XRAY_NAME):
        craniofacial = _craniofacial(resource_path("models", "craniofacial.npz"))
        if str(path_or_name) == CRANIOFACIAL_NAME:
            return craniofacial
        craniofacial.source = CRANIOFACIAL_NAME  # type: ignore[attr-defined]  # the part enrolment's workers load on its own
        return FusedXrayMatcher(craniofacial, load_matcher(_fused_siamese_path(resource_path("models", "craniofacial.npz")), device=device))
    if Path(path_or_name).suffix == ".npz":
        return _craniofacial(Path(path_or_name))
    path = Path(path_or_name)
    if not path.is_file():
        raise ModelError(f"No matcher called {str(path_or_name)!r}: it is neither {DLIB_MATCHER_NAME!r} nor an existing model file.")
    if path.suffix.lower() == ".json":  # a card alone: dlib's descriptor with a preparation recipe
        return DlibFaceMatcher(card=path)
    from crossid_desktop.matching.embedding_head import DLIB_BACKBONE  # loads torch: only when a model is used

    card_file = card_path(path)
    if card_file.is_file():
        try:
            backbone = ModelCard.from_json(card_file.read_text(encoding="utf-8")).backbone
        except (ModelError, OSError, UnicodeDecodeError):
            backbone = None  # load_checkpoint reports the problem in full
        if backbone == DLIB_BACKBONE:
            return DlibFaceMatcher(head=path)
    return TorchMatcher.from_checkpoint(path, device=device)
