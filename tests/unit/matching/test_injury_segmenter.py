"""The injury segmenter: its input (a crop and its mirror), save and load with the card, the
probability map at the crop's size; its training data (injury masks cover what was changed,
occluders their shape, clean faces nothing) and its Dice against a plain computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from builders import synthetic_face

from crossid_desktop.errors import ModelError
from crossid_desktop.matching.completion import midline_x
from crossid_desktop.matching.injury_segmenter import INPUT_SIZE, InjurySegmenter, SegmenterCard, load_segmenter, network_input, save_segmenter
from crossid_desktop.training.segmenter import SIMULATE_SIZE, SegmenterTraining, dice, training_sample


def test_the_input_holds_the_crop_and_its_mirror() -> None:
    face = synthetic_face(128)
    import cv2

    batch = network_input([face, face[:, ::-1].copy()])
    assert batch.shape == (2, 6, INPUT_SIZE, INPUT_SIZE) and batch.dtype == torch.float32

    small = cv2.resize(face, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    np.testing.assert_allclose(batch[0, :3].numpy().transpose(1, 2, 0), (small - 0.5) / 0.25, atol=1e-5)
    mirrored = cv2.warpAffine(small, np.float32([[-1, 0, 2 * midline_x(INPUT_SIZE) - 1], [0, 1, 0]]), (INPUT_SIZE, INPUT_SIZE),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    np.testing.assert_allclose(batch[0, 3:].numpy().transpose(1, 2, 0), (mirrored - 0.5) / 0.25, atol=1e-5)


def test_save_load_round_trip_and_probabilities_at_the_crops_size(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = InjurySegmenter((4, 8, 8, 8)).eval()
    card = SegmenterCard((4, 8, 8, 8), INPUT_SIZE, 0.4, training={"data": "none"}, metrics={})
    save_segmenter(tmp_path / "seg.pt", model, card)
    regions = load_segmenter(tmp_path / "seg.pt")
    faces = [synthetic_face(256), synthetic_face(128)]
    prob = regions.probabilities(faces[:1])
    assert prob.shape == (1, 256, 256) and 0.0 <= prob.min() and prob.max() <= 1.0
    with torch.inference_mode():
        expected = torch.sigmoid(model(network_input(faces[:1])))[0, 0].numpy()
    import cv2

    np.testing.assert_allclose(prob[0], cv2.resize(expected, (256, 256), interpolation=cv2.INTER_LINEAR), atol=1e-5)
    assert np.array_equal(regions.mask(faces[:1]), prob >= 0.4) and regions.card.threshold == 0.4
    assert len(regions.sha256) == 64


def test_a_missing_or_foreign_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="missing"):
        load_segmenter(tmp_path / "nothing.pt")
    (tmp_path / "bad.pt").write_bytes(b"not torch")
    (tmp_path / "bad.json").write_text('{"kind": "injury_segmenter", "widths": [4, 8, 8, 8], "input_size": 64, "threshold": 0.5}')
    with pytest.raises(ModelError, match="cannot be read"):
        load_segmenter(tmp_path / "bad.pt")
    (tmp_path / "bad.json").write_text('{"kind": "something else"}')
    with pytest.raises(ModelError, match="card is not valid"):
        load_segmenter(tmp_path / "bad.pt")


@pytest.mark.parametrize("seed", range(4))
def test_clean_samples_are_untouched_and_occluders_marked_where_they_lie(seed: int) -> None:
    import cv2

    face = synthetic_face(256)
    plain = cv2.resize(face, (SIMULATE_SIZE, SIMULATE_SIZE), interpolation=cv2.INTER_AREA)
    image, mask = training_sample(face, np.full_like(face, 30), seed, SegmenterTraining(clean_fraction=1.0, occluder_fraction=0.0))
    assert np.array_equal(image, plain) and not mask.any()
    image, mask = training_sample(face, np.full_like(face, 30), seed, SegmenterTraining(clean_fraction=0.0, occluder_fraction=1.0))
    changed = np.abs(image.astype(int) - plain.astype(int)).max(axis=2) > 3
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert mask.sum() > 0 and not (changed & ~grown).any()
    assert changed[mask.astype(bool)].mean() > 0.5  # most of the shape differs from the face it hides


def test_dice_against_a_plain_computation() -> None:
    prob = torch.tensor([[[0.9, 0.2], [0.6, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    target = torch.tensor([[[1.0, 0.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])
    first = (2 * (0.9 + 0.6 + 0.0) + 1) / ((0.9 + 0.2 + 0.6) + 3 + 1)
    assert dice(prob, target).tolist() == pytest.approx([first, 1.0])
