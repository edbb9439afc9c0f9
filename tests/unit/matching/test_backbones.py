"""Backbone registry: every entry builds and gives (N, feature_dim) features; weights load from
a state dict file, from the torch hub cache (offline), and fail with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from crossid_desktop.errors import ModelError
from crossid_desktop.matching import backbones
from crossid_desktop.matching.backbones import BACKBONES, PUBLICATION_BACKBONES, build_backbone

torch.set_num_threads(2)


def test_publication_backbones_are_the_nine_of_the_paper() -> None:
    assert PUBLICATION_BACKBONES == ("vgg16", "resnet18", "resnet50", "resnet101", "densenet201", "efficientnet_b0", "mobilenet_v2", "convnext_tiny", "vit_b_16")
    assert {"resnet18_112", "mobilenet_v3_small", "compact64"} <= set(BACKBONES)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BACKBONES))
def test_every_backbone_builds_and_gives_features(name: str) -> None:
    model, spec = build_backbone(name)
    assert spec.name == name
    if spec.head:
        # the final class layer is gone: the torchvision model without weights has one more Linear
        full = getattr(torchvision.models, spec.builder)(weights=None)
        full_head = full.get_submodule(spec.head)
        assert isinstance(full_head, torch.nn.Linear) and full_head.in_features == spec.feature_dim
        assert isinstance(model.get_submodule(spec.head), torch.nn.Identity)
    else:
        # this project's network: its last layer gives the features itself
        last = list(model.modules())[-1]
        assert isinstance(last, torch.nn.BatchNorm1d) and last.num_features == spec.feature_dim
    # forward at batch 1 and the smallest input the architecture takes (features do not
    # depend on the input size thanks to global pooling)
    size = spec.min_input_size if name != "resnet18_112" else spec.input_size
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, size, size))
    assert out.shape == (1, spec.feature_dim)
    assert torch.isfinite(out).all()


def test_compact_backbone_keeps_position_and_has_no_imagenet_weights(tmp_path: Path) -> None:
    model, spec = build_backbone("compact64")
    assert (spec.input_size, spec.feature_dim) == (64, 64)
    # 4x4x64 map flattened into the projection (no global pooling): 1024 inputs
    assert model.project[1].in_features == 4 * 4 * 64
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        # a pooled network would be blind to swapping the image's halves; this one is not
        swapped = torch.cat([x[..., 32:], x[..., :32]], dim=-1)
        assert not torch.allclose(model(x), model(swapped), atol=1e-4)
    with pytest.raises(ModelError, match="'compact64' has no ImageNet weights"):
        build_backbone("compact64", weights="imagenet")
    path = tmp_path / "compact.pt"
    torch.save(model.state_dict(), path)
    loaded, _ = build_backbone("compact64", weights=path)
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, model.state_dict()[key]), key


def test_unknown_backbone_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="Unknown backbone 'resnet7'"):
        build_backbone("resnet7")


def _torchvision_resnet18_state(tmp_path: Path, name: str = "tv.pth") -> tuple[Path, dict[str, torch.Tensor]]:
    torch.manual_seed(3)
    state = torchvision.models.resnet18(weights=None).state_dict()
    path = tmp_path / name
    torch.save(state, path)
    return path, state


def test_state_dict_of_torchvision_model_loads(tmp_path: Path) -> None:
    path, state = _torchvision_resnet18_state(tmp_path)
    model, _ = build_backbone("resnet18_112", weights=path)
    loaded = model.state_dict()
    assert "fc.weight" not in loaded
    for key, value in loaded.items():
        assert torch.equal(value, state[key]), key


def test_state_dict_of_feature_extractor_loads(tmp_path: Path) -> None:
    source, _ = build_backbone("mobilenet_v3_small")
    path = tmp_path / "features.pt"
    torch.save(source.state_dict(), path)
    model, _ = build_backbone("mobilenet_v3_small", weights=path)
    for key, value in model.state_dict().items():
        assert torch.equal(value, source.state_dict()[key]), key


def test_corrupt_file_is_a_model_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.pt"
    path.write_bytes(b"this is not a checkpoint" * 10)
    with pytest.raises(ModelError, match="broken.pt"):
        build_backbone("resnet18", weights=path)


def test_non_state_dict_is_a_model_error(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(ModelError, match="does not hold a state dict"):
        build_backbone("resnet18", weights=path)


def test_mismatched_keys_name_file_and_backbone(tmp_path: Path) -> None:
    path, _ = _torchvision_resnet18_state(tmp_path, "resnet18.pth")
    with pytest.raises(ModelError) as caught:
        build_backbone("mobilenet_v3_small", weights=path)
    assert "resnet18.pth" in str(caught.value) and "'mobilenet_v3_small'" in str(caught.value)


def test_mismatched_shapes_are_reported(tmp_path: Path) -> None:
    path, state = _torchvision_resnet18_state(tmp_path)
    state = dict(state)
    state["conv1.weight"] = torch.zeros(64, 1, 7, 7)
    torch.save(state, path)
    with pytest.raises(ModelError, match="wrong shape: conv1.weight"):
        build_backbone("resnet18", weights=path)


def test_missing_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        build_backbone("resnet18", weights=tmp_path / "nowhere.pt")


@pytest.fixture
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache under tmp and a downloader that fails like an offline machine."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    calls: list[str] = []

    def offline(url: str, folder: Path) -> None:
        calls.append(url)
        raise OSError("network unreachable")

    monkeypatch.setattr(backbones, "_download", offline)
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: (_ for _ in ()).throw(AssertionError("download attempted")))
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_imagenet_weights_load_from_hub_cache_without_network(offline_hub: Path) -> None:
    assert Path(torch.hub.get_dir()) / "checkpoints" == offline_hub
    offline_hub.mkdir(parents=True)
    torch.manual_seed(11)
    state = torchvision.models.resnet18(weights=None).state_dict()
    torch.save(state, offline_hub / "resnet18-f37072fd.pth")  # torchvision's file name for ResNet18 IMAGENET1K_V1
    model, _ = build_backbone("resnet18_112", weights="imagenet")
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_imagenet_weights_offline_error_names_file_folder_and_url(offline_hub: Path) -> None:
    with pytest.raises(ModelError) as caught:
        build_backbone("mobilenet_v3_small", weights="imagenet")
    message = str(caught.value)
    assert "mobilenet_v3_small-047dcff4.pth" in message
    assert str(offline_hub) in message
    assert "https://download.pytorch.org/models/mobilenet_v3_small-047dcff4.pth" in message


def test_legacy_densenet_keys_are_renamed(tmp_path: Path) -> None:
    # torchvision's published DenseNet files use "norm.1"-style keys; a file in that form loads
    model, _ = build_backbone("densenet201")
    legacy = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue  # the published files predate this buffer
        for part in ("norm1", "norm2", "conv1", "conv2", "relu1", "relu2"):
            if f".{part}." in key and "denselayer" in key:
                key = key.replace(f".{part}.", f".{part[:-1]}.{part[-1]}.")
                break
        legacy[key] = value.clone() + 1.0 if value.is_floating_point() else value.clone()
    assert any(".norm.1." in k for k in legacy)
    path = tmp_path / "densenet201-legacy.pth"
    torch.save(legacy, path)
    loaded, _ = build_backbone("densenet201", weights=path)
    weight = loaded.state_dict()["features.denseblock1.denselayer1.norm1.weight"]
    assert torch.equal(weight, model.state_dict()["features.denseblock1.denselayer1.norm1.weight"] + 1.0)
