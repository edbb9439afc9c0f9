"""CrossDomainNet: frozen gallery branch (weights and BatchNorm statistics), trainable query
branch, L2-normalised outputs, the shared variant and the configuration round trip."""

from __future__ import annotations

import pytest
import torch

from crossid_desktop.matching.networks import CrossDomainNet, NetworkConfig

torch.set_num_threads(2)
SIZE = 64  # small input: the backbones pool globally, so any size >= 32 works


def _images(n: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_query_branch_starts_as_a_copy_with_its_own_weights() -> None:
    torch.manual_seed(0)
    net = CrossDomainNet("resnet18_112", embedding_dim=32)
    assert net.query is not None
    gallery, query = net.gallery.state_dict(), net.query.state_dict()
    assert gallery.keys() == query.keys()
    for key in gallery:
        assert torch.equal(gallery[key], query[key]), key
        assert gallery[key].data_ptr() != query[key].data_ptr(), key


def test_frozen_gallery_unchanged_after_training_step_query_changes() -> None:
    torch.manual_seed(0)
    net = CrossDomainNet("resnet18_112", embedding_dim=32)
    net.train()
    assert not net.gallery.training and net.query is not None and net.query.training
    gallery_before, query_before = _snapshot(net.gallery), _snapshot(net.query)
    optimiser = torch.optim.SGD(net.trainable_parameters(), lr=0.1)
    anchors, faces = _images(4, 1), _images(4, 2)
    # a triplet-like loss through both branches (positives: same index, negatives: rolled)
    q, g = net.embed_query(anchors), net.embed_gallery(faces)
    loss = torch.relu((q - g).norm(dim=1) - (q - g.roll(1, 0)).norm(dim=1) + 0.5).mean() + (q * g).sum()
    loss.backward()
    optimiser.step()
    for key, value in net.gallery.state_dict().items():
        assert torch.equal(value, gallery_before[key]), f"gallery {key} changed"
    changed = [k for k, v in net.query.state_dict().items() if not torch.equal(v, query_before[k])]
    assert "backbone.conv1.weight" in changed and "head.1.weight" in changed
    assert "backbone.bn1.running_mean" in changed  # the query branch's statistics do update
    assert all(not p.requires_grad for p in net.gallery.parameters())


def test_trainable_parameters_are_exactly_the_query_branch() -> None:
    net = CrossDomainNet("mobilenet_v3_small", embedding_dim=16)
    assert net.query is not None
    expected = {id(p) for p in net.query.parameters()}
    assert {id(p) for p in net.trainable_parameters()} == expected


def test_gallery_head_can_be_trainable_with_frozen_backbone() -> None:
    net = CrossDomainNet("mobilenet_v3_small", embedding_dim=16, gallery_head_trainable=True)
    trainable = {id(p) for p in net.trainable_parameters()}
    assert {id(p) for p in net.gallery.head.parameters()} <= trainable
    assert not {id(p) for p in net.gallery.backbone.parameters()} & trainable


def test_outputs_are_l2_normalised() -> None:
    net = CrossDomainNet("mobilenet_v3_small", embedding_dim=24).eval()
    with torch.no_grad():
        for out in (net.embed_query(_images(3)), net.embed_gallery(_images(3))):
            assert out.shape == (3, 24)
            norms = torch.sqrt((out.double() ** 2).sum(dim=1))
            assert torch.allclose(norms, torch.ones(3, dtype=torch.float64), atol=1e-5)


def test_shared_network_uses_one_set_of_weights() -> None:
    torch.manual_seed(0)
    net = CrossDomainNet("mobilenet_v3_small", embedding_dim=16, shared=True, freeze_gallery=False)
    assert net.query is None and net.query_branch is net.gallery
    assert all(k.startswith("gallery.") for k in net.state_dict())
    assert len(net.trainable_parameters()) == len(list(net.gallery.parameters()))
    net.eval()
    x = _images(2)
    with torch.no_grad():
        assert torch.equal(net.embed_query(x), net.embed_gallery(x))
    separate = CrossDomainNet("mobilenet_v3_small", embedding_dim=16)
    assert sum(p.numel() for p in net.parameters()) * 2 == sum(p.numel() for p in separate.parameters())


def test_shared_and_frozen_is_a_fully_frozen_baseline() -> None:
    net = CrossDomainNet("mobilenet_v3_small", embedding_dim=16, shared=True, freeze_gallery=True)
    assert net.trainable_parameters() == []


def test_config_round_trips_through_a_dict() -> None:
    net = CrossDomainNet("mobilenet_v3_small", embedding_dim=20, shared=True, freeze_gallery=False, dropout=0.1)
    data = net.config.to_dict()
    assert data == {"backbone": "mobilenet_v3_small", "embedding_dim": 20, "freeze_gallery": False, "shared": True, "dropout": 0.1, "gallery_head_trainable": False}
    rebuilt = CrossDomainNet.from_config(data)
    assert rebuilt.config == net.config == NetworkConfig.from_dict(data)
    assert rebuilt.state_dict().keys() == net.state_dict().keys()


def test_bad_embedding_dim_is_rejected() -> None:
    with pytest.raises(ValueError):
        CrossDomainNet("mobilenet_v3_small", embedding_dim=0)
