"""Registry of the backbones used as feature extractors.

Every entry maps a normalised image batch ``(N, 3, S, S)`` float32 to features
``(N, feature_dim)``: a torchvision classification model whose final class layer (``head``) is
replaced by :class:`torch.nn.Identity`, or (``builder`` ``"module:Class"``, no ``head``, no
ImageNet ``weights``) a network of this project, e.g. the compact CNN of
:mod:`crossid_desktop.matching.compact`. The nine backbones compared by the skull-to-face
publication are here, plus small ones for CPU-only machines.

Weights come from one of three places (:func:`build_backbone`):

* ``None``: random initialisation (tests, or a checkpoint that overwrites them anyway);
* ``"imagenet"``: torchvision's ImageNet weights, read from the torch hub cache
  (``torch.hub.get_dir()/checkpoints/<file>``) and downloaded there only when absent;
  an offline machine gets a :class:`~crossid_desktop.errors.ModelError` that names the file,
  the folder to put it in and the URL to fetch it from on another machine;
* a path: a saved state dict of the torchvision model or of the feature extractor.

Greyscale X-rays are fed to these RGB networks by repeating the grey channel three times
(:func:`crossid_desktop.matching.preprocess.to_network_batch`), so the pretrained first
convolution is used unchanged.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlparse

from crossid_desktop.errors import ModelError

if TYPE_CHECKING:
    import torch
    from torch import nn

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class BackboneSpec:
    """One registry entry.

    ``head`` is the dotted path of the final class layer inside the torchvision model (removed
    to get features; empty for a ``"module:Class"`` builder, whose ``weights`` is empty too: no
    ImageNet weights); ``min_input_size`` is the smallest square input the architecture accepts
    (ViT needs exactly ``input_size``).
    """

    name: str
    builder: str
    input_size: int
    feature_dim: int
    weights: str
    head: str
    min_input_size: int = 32
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    @property
    def weights_file(self) -> str:
        """File name of the ImageNet weights in the torch hub cache, e.g. ``resnet18-f37072fd.pth``."""
        from torchvision.models import get_weight  # torchvision loads only when a model runs

        return os.path.basename(urlparse(get_weight(self.weights).url).path)

    @property
    def weights_url(self) -> str:
        from torchvision.models import get_weight  # torchvision loads only when a model runs

        return str(get_weight(self.weights).url)


def _spec(name: str, builder: str, feature_dim: int, weights: str, head: str, *, input_size: int = 224, min_input_size: int = 32) -> BackboneSpec:
    return BackboneSpec(name, builder, input_size, feature_dim, weights, head, min_input_size)


#: every backbone by name; the first nine are the publication's
BACKBONES: dict[str, BackboneSpec] = {
    s.name: s
    for s in (
        _spec("vgg16", "vgg16", 4096, "VGG16_Weights.IMAGENET1K_V1", "classifier.6"),
        _spec("resnet18", "resnet18", 512, "ResNet18_Weights.IMAGENET1K_V1", "fc"),
        _spec("resnet50", "resnet50", 2048, "ResNet50_Weights.IMAGENET1K_V1", "fc"),
        _spec("resnet101", "resnet101", 2048, "ResNet101_Weights.IMAGENET1K_V1", "fc"),
        _spec("densenet201", "densenet201", 1920, "DenseNet201_Weights.IMAGENET1K_V1", "classifier"),
        _spec("efficientnet_b0", "efficientnet_b0", 1280, "EfficientNet_B0_Weights.IMAGENET1K_V1", "classifier.1"),
        _spec("mobilenet_v2", "mobilenet_v2", 1280, "MobileNet_V2_Weights.IMAGENET1K_V1", "classifier.1"),
        _spec("convnext_tiny", "convnext_tiny", 768, "ConvNeXt_Tiny_Weights.IMAGENET1K_V1", "classifier.2"),
        _spec("vit_b_16", "vit_b_16", 768, "ViT_B_16_Weights.IMAGENET1K_V1", "heads.head", min_input_size=224),
        # small CPU backbones
        _spec("resnet18_112", "resnet18", 512, "ResNet18_Weights.IMAGENET1K_V1", "fc", input_size=112),
        _spec("mobilenet_v3_small", "mobilenet_v3_small", 1024, "MobileNet_V3_Small_Weights.IMAGENET1K_V1", "classifier.3"),
        # trained from scratch: this project's network ("module:Class"), no ImageNet weights, no class layer
        _spec("compact64", "crossid_desktop.matching.compact:CompactCNN", 64, "", "", input_size=64),
    )
}

#: the backbones compared by the skull-to-face publication, in its table's order
PUBLICATION_BACKBONES: tuple[str, ...] = tuple(list(BACKBONES)[:9])


def backbone_spec(name: str) -> BackboneSpec:
    """The registry entry called ``name``; :class:`ModelError` for an unknown name."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise ModelError(f"Unknown backbone {name!r}; choose one of: {', '.join(BACKBONES)}.") from None


def build_backbone(name: str, *, weights: None | str | Path = None) -> tuple[nn.Module, BackboneSpec]:
    """Build the feature extractor ``name``: ``(N, 3, S, S)`` normalised float -> ``(N, feature_dim)``.

    ``weights`` is ``None`` (random initialisation), ``"imagenet"`` (torchvision's weights from
    the torch hub cache, downloaded only when absent) or the path of a saved state dict (of the
    torchvision model, head included or not, or of the feature extractor).
    """
    spec = backbone_spec(name)
    if ":" in spec.builder:  # a network of this project, "module:Class", built with its feature size

        module_name, _, class_name = spec.builder.partition(":")
        model = getattr(importlib.import_module(module_name), class_name)(feature_dim=spec.feature_dim)
    else:
        import torchvision  # torchvision loads only when a model runs

        model = getattr(torchvision.models, spec.builder)(weights=None)
        _replace_module(model, spec.head)
    if weights is None:
        return model, spec
    if isinstance(weights, str) and weights == "imagenet":
        if not spec.weights:
            raise ModelError(f"The backbone {spec.name!r} has no ImageNet weights; train it from random weights (no --weights) or give the path of a saved state dict.")
        state, source = load_imagenet_state_dict(spec), spec.weights_file
    else:
        path = Path(weights)
        state, source = read_state_dict(path), str(path)
    load_backbone_state(model, spec, state, source=source)
    return model, spec


def _replace_module(model: nn.Module, dotted: str) -> None:
    from torch import nn  # torch loads only when a model runs

    parent_path, _, child = dotted.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, child, nn.Identity())


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict saved with ``torch.save`` (tensors only, ``weights_only=True``)."""
    import torch  # torch loads only when a model runs

    if not path.is_file():
        raise ModelError(f"The weights file {path} does not exist.")
    try:
        state: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and storage errors all mean "not readable"
        raise ModelError(f"The weights file {path} cannot be read as a PyTorch state dict ({type(error).__name__}); it is corrupt, truncated or not a PyTorch file.") from error
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not state or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ModelError(f"The weights file {path} does not hold a state dict (a mapping of parameter names to tensors).")
    return dict(state)


_LEGACY_DENSENET_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$")


def load_backbone_state(model: nn.Module, spec: BackboneSpec, state: Mapping[str, torch.Tensor], *, source: str) -> None:
    """Load ``state`` into the feature extractor ``model`` strictly, after dropping the class
    layer's keys, a ``module.`` prefix and renaming torchvision's legacy DenseNet keys.
    :class:`ModelError` names ``source`` and the backbone when keys or shapes do not fit."""
    cleaned: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if spec.head and (key == spec.head or key.startswith(spec.head + ".")):
            continue
        match = _LEGACY_DENSENET_KEY.match(key)
        if match:
            key = match.group(1) + match.group(2)
        cleaned[key] = value
    expected = model.state_dict()
    # files saved before BatchNorm counted batches lack num_batches_tracked; load_state_dict
    # fills it in for a state dict without version metadata
    missing = sorted(k for k in set(expected) - set(cleaned) if not k.endswith("num_batches_tracked"))
    unexpected = sorted(set(cleaned) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(cleaned) if tuple(expected[k].shape) != tuple(cleaned[k].shape))
    if missing or unexpected or wrong_shape:
        details = "; ".join(
            f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape))
            if keys
        )
        raise ModelError(f"The weights in {source} do not fit the backbone {spec.name!r} ({details}).")
    model.load_state_dict(cleaned, strict=True)


def imagenet_weights_path(spec: BackboneSpec) -> Path:
    """Where the ImageNet weights of ``spec`` are expected: ``torch.hub.get_dir()/checkpoints/<file>``."""
    import torch  # torch loads only when a model runs

    return Path(torch.hub.get_dir()) / "checkpoints" / spec.weights_file


def _download(url: str, folder: Path) -> None:
    """Fetch ``url`` into ``folder`` with torchvision's own downloader (hash-checked)."""
    import torch  # torch loads only when a model runs

    torch.hub.load_state_dict_from_url(url, model_dir=str(folder), map_location="cpu", progress=False, check_hash=True, weights_only=True)


def load_imagenet_state_dict(spec: BackboneSpec) -> dict[str, torch.Tensor]:
    """The ImageNet state dict of ``spec`` from the torch hub cache; downloaded there when absent
    and the machine is online, otherwise a :class:`ModelError` saying where to put the file."""
    path = imagenet_weights_path(spec)
    if not path.is_file():
        try:
            _download(spec.weights_url, path.parent)
        except Exception as error:  # offline, proxy, disk full, hash mismatch
            raise ModelError(
                f"The ImageNet weights of {spec.name!r} are not on this machine and cannot be downloaded "
                f"({type(error).__name__}); fetch {spec.weights_url} on another machine and put it as "
                f"{path.name} in the folder {path.parent}."
            ) from error
        if not path.is_file():
            raise ModelError(f"The ImageNet weights of {spec.name!r} were not saved as {path}; put {path.name} from {spec.weights_url} in the folder {path.parent}.")
    return read_state_dict(path)
