"""Losses checked against plain loops over explicit triplets/pairs/sets and against
pytorch-metric-learning where the definitions coincide."""

from __future__ import annotations

import importlib
import math

import pytest
import torch

from crossid_desktop.matching.losses import (
    ContrastiveLoss,
    SubclassContrastiveLoss,
    TripletLoss,
    semi_hard_triplets,
)

DTYPES = [torch.float32, torch.float64]


def _dist(x: torch.Tensor, y: torch.Tensor) -> float:
    return math.sqrt(sum((float(a) - float(b)) ** 2 for a, b in zip(x, y)))


def _tol(dtype: torch.dtype) -> dict[str, float]:
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-12}


# ---------------------------------------------------------------------------- triplet


@pytest.mark.parametrize("dtype", DTYPES)
def test_triplet_loss_matches_loop(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    a, p, n = (torch.randn(12, 5, dtype=dtype) for _ in range(3))
    margin = 0.7
    expected = sum(max(0.0, _dist(a[i], p[i]) - _dist(a[i], n[i]) + margin) for i in range(12)) / 12
    got = TripletLoss(margin)(a, p, n)
    assert got.dtype == dtype
    torch.testing.assert_close(got, torch.tensor(expected, dtype=dtype), **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_triplet_loss_matches_pytorch_metric_learning(dtype: torch.dtype) -> None:
    pml = importlib.import_module("pytorch_metric_learning")
    from pytorch_metric_learning import distances, losses, reducers

    torch.manual_seed(1)
    a, p, n = (torch.randn(9, 4, dtype=dtype) for _ in range(3))
    reference = losses.TripletMarginLoss(
        margin=0.5,
        distance=distances.LpDistance(normalize_embeddings=False, p=2),
        reducer=reducers.MeanReducer(),
    )
    embeddings = torch.cat([a, p, n])
    idx = torch.arange(9)
    expected = reference(embeddings, indices_tuple=(idx, idx + 9, idx + 18))
    torch.testing.assert_close(TripletLoss(0.5)(a, p, n), expected, **_tol(dtype))
    assert pml is not None


def test_triplet_loss_zero_when_margin_satisfied_and_gradients_flow() -> None:
    a = torch.zeros(3, 2, requires_grad=True)
    p = torch.tensor([[0.1, 0.0], [0.0, 0.1], [0.1, 0.1]])
    n = torch.tensor([[-3.0, 0.0], [0.0, -3.0], [-2.0, -2.0]])  # opposite side from p
    loss = TripletLoss(margin=0.5)(a, p, n)
    assert loss.item() == 0.0
    loss.backward()
    assert a.grad is not None and torch.all(a.grad == 0)

    a2 = torch.zeros(3, 2, requires_grad=True)
    loss2 = TripletLoss(margin=5.0)(a2, p, n)  # every triplet active
    loss2.backward()
    assert loss2.item() > 0
    assert a2.grad is not None and torch.all(a2.grad.abs().sum(dim=1) > 0)


def test_triplet_loss_zero_distance_has_finite_gradient() -> None:
    a = torch.ones(2, 3, requires_grad=True)
    loss = TripletLoss(1.0)(a, a.detach().clone(), torch.zeros(2, 3))
    loss.backward()
    assert torch.isfinite(a.grad).all()


# ---------------------------------------------------------------------------- contrastive


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("squared", [True, False])
def test_contrastive_loss_matches_loop(dtype: torch.dtype, squared: bool) -> None:
    torch.manual_seed(2)
    x1, x2 = torch.randn(16, 3, dtype=dtype), torch.randn(16, 3, dtype=dtype)
    y = torch.randint(0, 2, (16,))
    m = 2.0
    total = 0.0
    for i in range(16):
        d = _dist(x1[i], x2[i])
        if squared:
            total += 0.5 * d**2 if y[i] == 0 else 0.5 * max(0.0, m - d) ** 2
        else:
            total += d if y[i] == 0 else max(0.0, m - d)
    got = ContrastiveLoss(m, squared=squared)(x1, x2, y)
    torch.testing.assert_close(got, torch.tensor(total / 16, dtype=dtype), **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_unsquared_contrastive_matches_pytorch_metric_learning(dtype: torch.dtype) -> None:
    importlib.import_module("pytorch_metric_learning")
    from pytorch_metric_learning import distances, losses, reducers

    torch.manual_seed(3)
    n_pairs = 10  # 10 genuine then 10 impostor pairs: PML averages each kind separately
    x1, x2 = torch.randn(2 * n_pairs, 4, dtype=dtype), torch.randn(2 * n_pairs, 4, dtype=dtype)
    x2[:n_pairs] = x1[:n_pairs] + 0.3 * x2[:n_pairs]
    y = torch.cat([torch.zeros(n_pairs), torch.ones(n_pairs)]).long()
    reference = losses.ContrastiveLoss(
        pos_margin=0,
        neg_margin=3.0,
        distance=distances.LpDistance(normalize_embeddings=False, p=2),
        reducer=reducers.MeanReducer(),
    )
    emb = torch.cat([x1, x2])
    g, i = torch.arange(n_pairs), torch.arange(n_pairs, 2 * n_pairs)
    pml = reference(emb, indices_tuple=(g, g + 2 * n_pairs, i, i + 2 * n_pairs))
    ours = ContrastiveLoss(3.0, squared=False)(x1, x2, y)
    # with equally many genuine and impostor pairs: mean over all = (mean_g + mean_i) / 2
    torch.testing.assert_close(ours, pml / 2, **_tol(dtype))


def test_contrastive_zero_when_satisfied_and_gradients_flow() -> None:
    x1 = torch.tensor([[0.0, 0.0], [0.0, 0.0]], requires_grad=True)
    x2 = torch.tensor([[0.0, 0.0], [5.0, 0.0]])
    y = torch.tensor([0, 1])
    loss = ContrastiveLoss(2.0)(x1, x2, y)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(x1.grad).all() and torch.all(x1.grad == 0)

    x1b = torch.tensor([[1.0, 0.0], [4.0, 0.0]], requires_grad=True)
    loss_b = ContrastiveLoss(2.0)(x1b, x2, y)  # genuine pulled (d=1), impostor pushed (d=1)
    assert loss_b.item() == pytest.approx((0.5 * 1 + 0.5 * 1) / 2)
    loss_b.backward()
    assert torch.all(x1b.grad.abs().sum(dim=1) > 0)


# ---------------------------------------------------------------------------- SCL


@pytest.mark.parametrize("dtype", DTYPES)
def test_subclass_contrastive_matches_loop(dtype: torch.dtype) -> None:
    torch.manual_seed(4)
    normal, injured, partner = (torch.randn(14, 3, dtype=dtype) * 0.8 for _ in range(3))
    y = torch.randint(0, 2, (14,))
    m1, m2 = 2.0, 3.1
    total = 0.0
    for k in range(14):
        d_ni = _dist(normal[k], injured[k]) ** 2
        d_np = _dist(normal[k], partner[k]) ** 2
        d_ip = _dist(injured[k], partner[k]) ** 2
        if y[k] == 0:
            total += d_ni + d_ip
        else:
            total += max(0.0, m1 - d_np) + max(0.0, m2 - d_ip)
    got = SubclassContrastiveLoss(m1, m2)(normal, injured, partner, y)
    torch.testing.assert_close(got, torch.tensor(total / 14, dtype=dtype), **_tol(dtype))


def test_subclass_contrastive_hand_worked_and_zero_when_satisfied() -> None:
    normal = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    injured = torch.tensor([[1.0, 0.0], [0.0, 0.0]], requires_grad=True)
    partner = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    y = torch.tensor([0, 1])
    # set 0 (genuine): D(n,i)=1, D(i,p)=1 -> 2 ; set 1 (impostor): D(n,p)=1 -> 2-1=1,
    # D(i,p)=1 -> 3.1-1=2.1 ; mean = (2 + 3.1) / 2
    loss = SubclassContrastiveLoss(2.0, 3.1)(normal, injured, partner, y)
    assert loss.item() == pytest.approx(5.1 / 2)
    loss.backward()
    assert torch.all(injured.grad.abs().sum(dim=1) > 0)

    far = torch.tensor([[10.0, 0.0]])
    zero = SubclassContrastiveLoss()(torch.zeros(1, 2), torch.zeros(1, 2), far, torch.tensor([1]))
    assert zero.item() == 0.0
    same = torch.ones(1, 2)
    assert SubclassContrastiveLoss()(same, same, same, torch.tensor([0])).item() == 0.0


# ---------------------------------------------------------------------------- validation


def test_base_class_rejects_bad_inputs() -> None:
    loss = TripletLoss()
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="same"):
        loss(x, x, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="2-D"):
        loss(x, x, torch.zeros(3))
    with pytest.raises(ValueError, match="floating"):
        loss(x, x, torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="takes"):
        loss(x, x)
    with pytest.raises(ValueError, match="float64"):
        loss(x, x, torch.zeros(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="labels"):
        ContrastiveLoss()(x, x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="0 \\(genuine\\) or 1"):
        ContrastiveLoss()(x, x, torch.tensor([0, 2, 1]))
    with pytest.raises(ValueError, match="reduction"):
        TripletLoss(reduction="avg")
    assert TripletLoss(reduction="none")(x, x, x).shape == (3,)
    empty = torch.zeros(0, 2, requires_grad=True)
    assert TripletLoss()(empty, empty, empty).item() == 0.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_device_mismatch_is_reported() -> None:
    with pytest.raises(ValueError, match="cuda"):
        TripletLoss()(torch.zeros(2, 2), torch.zeros(2, 2).cuda(), torch.zeros(2, 2))


# ---------------------------------------------------------------------------- mining


def test_semi_hard_mining_on_hand_built_example() -> None:
    # 1-D embeddings make every distance readable: anchors at 0, gallery on a line.
    anchors = torch.tensor([[0.0], [0.0], [0.0]])
    anchor_labels = torch.tensor([0, 1, 2])
    gallery = torch.tensor([[1.0], [1.3], [1.6], [0.5], [3.0], [2.5]])
    gallery_labels = torch.tensor([0, 1, 1, 1, 1, 2])
    # anchor 0 (label 0): positive g0 (d=1); negatives at 1.3, 1.6, 0.5, 3.0, 2.5.
    #   semi-hard window (1, 1.5): g1 (1.3) -> negative g1.
    # anchor 1 (label 1): positives g1 (1.3), g2 (1.6), g3 (0.5), g4 (3.0); negatives g0 (1.0),
    #   g5 (2.5). p=g1 window (1.3,1.8): none -> hardest g0. p=g2 window (1.6,2.1): none -> g0.
    #   p=g3 window (0.5,1.0): none (1.0 not < 1.0) -> g0. p=g4 window (3,3.5): none -> g0.
    # anchor 2 (label 2): positive g5 (2.5); window (2.5, 3.0): none (3.0 not < 3.0) -> hardest
    #   negative g3 (0.5).
    a, p, n = semi_hard_triplets(anchors, anchor_labels, gallery, gallery_labels, margin=0.5)
    assert a.tolist() == [0, 1, 1, 1, 1, 2]
    assert p.tolist() == [0, 1, 2, 3, 4, 5]
    assert n.tolist() == [1, 0, 0, 0, 0, 3]

    # a wider margin opens semi-hard windows for anchor 1: p=g3 (0.5) window (0.5, 2.5): g0
    # (1.0) is the closest; p=g1 (1.3) window (1.3, 3.3): g5 (2.5).
    a, p, n = semi_hard_triplets(anchors, anchor_labels, gallery, gallery_labels, margin=2.0)
    assert n.tolist() == [1, 5, 5, 0, 0, 4]


def test_semi_hard_mining_matches_loop_on_random_data() -> None:
    torch.manual_seed(5)
    anchors, gallery = torch.randn(7, 3), torch.randn(20, 3)
    a_lab, g_lab = torch.randint(0, 4, (7,)), torch.randint(0, 4, (20,))
    margin = 0.6
    expected = []
    for i in range(7):
        for j in range(20):
            if g_lab[j] != a_lab[i]:
                continue
            d_ap = _dist(anchors[i], gallery[j])
            negs = [(_dist(anchors[i], gallery[k]), k) for k in range(20) if g_lab[k] != a_lab[i]]
            if not negs:
                continue
            semi = [(d, k) for d, k in negs if d_ap < d < d_ap + margin]
            expected.append((i, j, min(semi)[1] if semi else min(negs)[1]))
    a, p, n = semi_hard_triplets(anchors, a_lab, gallery, g_lab, margin)
    assert list(zip(a.tolist(), p.tolist(), n.tolist())) == expected
