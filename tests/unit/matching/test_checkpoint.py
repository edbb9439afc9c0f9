"""Checkpoints: save -> load gives the same embeddings, the card round-trips, the fingerprint
tracks the embedding space only, and broken or foreign files are refused clearly."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
import torchvision

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.checkpoint import ModelCard, card_path, fingerprint, load_checkpoint, preprocessing_recipe, save_checkpoint
from crossid_desktop.matching.networks import CrossDomainNet

torch.set_num_threads(2)
BACKBONE = "mobilenet_v3_small"


def _card(**changes: object) -> ModelCard:
    card = ModelCard(
        name="skull2face-test",
        task="skull2face",
        backbone=BACKBONE,
        embedding_dim=16,
        network={},
        preprocessing=preprocessing_recipe("skull2face", input_size=64, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), soft_tissue={"strength": 0.7}),
        training={"data": "synthetic cohort", "seed": 1, "command": "crossid train"},
        metrics={"recall@30": 0.8},
    )
    for key, value in changes.items():
        setattr(card, key, value)
    return card


@pytest.fixture(scope="module")
def net() -> CrossDomainNet:
    torch.manual_seed(5)
    model = CrossDomainNet(BACKBONE, embedding_dim=16)
    # move BatchNorm statistics away from their defaults so the test sees them travel
    model.train()
    with torch.no_grad():
        model.embed_query(torch.rand(4, 3, 64, 64))
    return model.eval()


def _images() -> torch.Tensor:
    return torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(2))


def test_save_load_gives_identical_embeddings(net: CrossDomainNet, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    saved_fp = save_checkpoint(path, net, _card())
    assert card_path(path) == tmp_path / "model.json" and card_path(path).is_file()
    loaded, card = load_checkpoint(path)
    assert not loaded.training
    x = _images()
    with torch.no_grad():
        assert torch.equal(loaded.embed_query(x), net.embed_query(x))
        assert torch.equal(loaded.embed_gallery(x), net.embed_gallery(x))
    assert card.backbone == BACKBONE and card.network == net.config.to_dict()
    assert card.metrics == {"recall@30": 0.8} and card.training["seed"] == 1
    assert {"torch", "torchvision", "crossid_desktop", "python"} <= set(card.software)
    assert fingerprint(loaded.state_dict(), card) == saved_fp
    # only tensors in the weights file: it loads with weights_only=True into plain tensors
    raw = torch.load(path, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in raw.values())


def test_half_precision_is_smaller_and_close(net: CrossDomainNet, tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "full.pt", net, _card())
    saved_fp = save_checkpoint(tmp_path / "half.pt", net, _card(), half=True)
    assert (tmp_path / "half.pt").stat().st_size < 0.6 * (tmp_path / "full.pt").stat().st_size
    loaded, card = load_checkpoint(tmp_path / "half.pt")
    assert all(v.dtype != torch.float16 for v in loaded.state_dict().values())
    assert fingerprint(loaded.state_dict(), card) == saved_fp
    x = _images()
    with torch.no_grad():
        a, b = loaded.embed_query(x), net.embed_query(x)
    assert torch.allclose(a, b, atol=2e-2)
    assert not torch.equal(a, b)


def test_card_round_trips_through_json() -> None:
    card = _card(calibration={"kind": "logistic", "a": 1.0, "b": -2.0})
    again = ModelCard.from_json(card.to_json())
    assert again == card
    assert json.loads(card.to_json())["preprocessing"]["query"]["soft_tissue"] == {"strength": 0.7}


def _manual_fingerprint(state: dict[str, torch.Tensor], card: ModelCard) -> str:
    """The documented recipe, written out independently."""
    weights = hashlib.sha256()
    for key in sorted(state):
        t = state[key].contiguous()
        weights.update(key.encode())
        weights.update(f"|{str(t.dtype).split('.')[1]}|{tuple(t.shape)}|".encode())
        weights.update(t.numpy().tobytes())
    space = {k: card.to_dict()[k] for k in ("task", "backbone", "embedding_dim", "network", "preprocessing")}
    outer = hashlib.sha256(b"crossid-embedding-space-v1\n" + weights.hexdigest().encode() + json.dumps(space, sort_keys=True, separators=(",", ":")).encode())
    return outer.hexdigest()


def test_fingerprint_follows_the_documented_recipe() -> None:
    state = {"b": torch.arange(6, dtype=torch.float32).reshape(2, 3), "a": torch.tensor(3, dtype=torch.int64)}
    card = _card()
    assert fingerprint(state, card) == _manual_fingerprint(state, card)


def test_fingerprint_tracks_weights_and_embedding_fields_only(net: CrossDomainNet) -> None:
    state = {k: v.clone() for k, v in net.state_dict().items()}
    card = _card(network=net.config.to_dict())
    base = fingerprint(state, card)
    nudged = dict(state)
    nudged["query.head.1.bias"] = state["query.head.1.bias"].clone()
    nudged["query.head.1.bias"][0] += 1e-6
    assert fingerprint(nudged, card) != base
    changed_preprocessing = _card(network=net.config.to_dict())
    changed_preprocessing.preprocessing["query"]["soft_tissue"] = {"strength": 0.5}
    assert fingerprint(state, changed_preprocessing) != base
    assert fingerprint(state, _card(network=net.config.to_dict(), task="injured")) != base
    unchanged = _card(network=net.config.to_dict(), metrics={"recall@30": 0.1}, calibration={"kind": "logistic"}, name="renamed", training={"seed": 9}, created="2000-01-01")
    assert fingerprint(state, unchanged) == base


def test_corrupt_file_is_refused(net: CrossDomainNet, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, net, _card())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="cannot be read"):
        load_checkpoint(path)


def test_plain_tensor_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pt"
    torch.save(torch.ones(3), path)
    card_path(path).write_text(_card().to_json())
    with pytest.raises(ModelError, match="does not hold a CrossID state dict"):
        load_checkpoint(path)


def test_other_models_state_dict_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "resnet.pt"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    card_path(path).write_text(_card(network={"backbone": BACKBONE, "embedding_dim": 16}).to_json())
    with pytest.raises(ModelError, match="do not fit the 'mobilenet_v3_small' network"):
        load_checkpoint(path)


def test_missing_card_is_refused(net: CrossDomainNet, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, net, _card())
    card_path(path).unlink()
    with pytest.raises(ModelError, match="has no model card model.json"):
        load_checkpoint(path)


def test_card_naming_another_backbone_is_refused(net: CrossDomainNet, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, net, _card())
    data = json.loads(card_path(path).read_text())
    data["backbone"] = data["network"]["backbone"] = "resnet18_112"
    card_path(path).write_text(json.dumps(data))
    with pytest.raises(ModelError, match="'resnet18_112'"):
        load_checkpoint(path)


def test_swapped_weights_are_detected(net: CrossDomainNet, tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "a.pt", net, _card())
    other = CrossDomainNet(BACKBONE, embedding_dim=16)
    save_checkpoint(tmp_path / "b.pt", other, _card())
    (tmp_path / "b.pt").replace(tmp_path / "a.pt")
    with pytest.raises(ModelError, match="not the ones its model card"):
        load_checkpoint(tmp_path / "a.pt")


def test_bad_json_card_is_refused(net: CrossDomainNet, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, net, _card())
    card_path(path).write_text("{not json")
    with pytest.raises(ModelError, match="model.json"):
        load_checkpoint(path)


def test_missing_model_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_checkpoint(tmp_path / "absent.pt")


def test_save_leaves_no_temporary_files(net: CrossDomainNet, tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "m.pt", net, _card())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.pt"]
