"""The landmark model file and its card (matching/landmarks/model_file.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.landmarks.model_file import LandmarkModelCard, card_path, read_landmark_model, save_landmark_model


def _card() -> LandmarkModelCard:
    return LandmarkModelCard(name="t", view="xray-side", landmarks=("sella", "nasion"), labels={"sella": "l1"}, frames={"size": 64, "zoom": 2.0, "crop": 32},
                             global_net={}, local_net={}, sigma_global=1.5, sigma_local=2.0)


def test_round_trip_in_float16_loads_float32_weights_and_the_same_card(tmp_path: Path) -> None:
    state = {"global.w": torch.linspace(-1, 1, 7), "local.b": torch.tensor([3, 4])}
    saved = save_landmark_model(tmp_path / "m.pt", state, _card(), half=True)
    loaded, card = read_landmark_model(tmp_path / "m.pt")
    assert loaded["global.w"].dtype == torch.float32
    assert torch.allclose(loaded["global.w"], state["global.w"], atol=1e-3)
    assert torch.equal(loaded["local.b"], state["local.b"])
    assert card == saved and card.landmarks == ("sella", "nasion") and len(card.weights_sha256) == 64


def test_swapped_weights_and_foreign_cards_are_refused(tmp_path: Path) -> None:
    save_landmark_model(tmp_path / "m.pt", {"global.w": torch.ones(3)}, _card())
    torch.save({"global.w": torch.zeros(3)}, tmp_path / "m.pt")
    with pytest.raises(ModelError, match="not the ones"):
        read_landmark_model(tmp_path / "m.pt")
    card_path(tmp_path / "m.pt").write_text('{"name": "x"}')
    with pytest.raises(ModelError, match="not a landmark model card"):
        read_landmark_model(tmp_path / "m.pt")
    with pytest.raises(ModelError, match="missing"):
        read_landmark_model(tmp_path / "absent.pt")
