"""Matchers: device choice, preprocessing, TorchMatcher (batched, cancellable, modality
checks), dlib's face matcher against dlib's own pipeline and on real faces, load_matcher."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from crossid_desktop.errors import Cancelled, MatcherMismatchError, ModelError
from crossid_desktop.imaging.io import load_image
from crossid_desktop.matching.base import Matcher, QueryModality
from crossid_desktop.matching.checkpoint import ModelCard, preprocessing_recipe, save_checkpoint
from crossid_desktop.matching.device import select_device
from crossid_desktop.matching.matchers import TorchMatcher, load_matcher
from crossid_desktop.matching.networks import CrossDomainNet
from crossid_desktop.matching.preprocess import FaceChoice, InputRecipe, to_network_batch

torch.set_num_threads(2)
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SIZE = 64


# ---------------------------------------------------------------- device


def test_select_device_cpu() -> None:
    assert select_device("cpu") == torch.device("cpu")


def test_select_device_auto_prefers_cuda() -> None:
    expected = "cuda" if torch.cuda.is_available() else None
    device = select_device(None)
    if expected:
        assert device.type == "cuda"
    else:
        assert device.type in ("mps", "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_unavailable_cuda_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="no CUDA GPU is available"):
        select_device("cuda:1")


def test_unknown_device_name_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="Unknown device 'tpu'"):
        select_device("tpu")


# ---------------------------------------------------------------- preprocessing


def test_network_batch_repeats_grey_and_normalises() -> None:
    grey = np.arange(SIZE * SIZE, dtype=np.float64).reshape(SIZE, SIZE) % 251
    batch = to_network_batch([grey.astype(np.uint8)], InputRecipe(SIZE, MEAN, STD))
    assert batch.shape == (1, 3, SIZE, SIZE) and batch.dtype == np.float32
    for c in range(3):
        expected = (grey / 255.0 - MEAN[c]) / STD[c]
        np.testing.assert_allclose(batch[0, c], expected, atol=1e-5)


def test_network_batch_letterboxes_without_distortion() -> None:
    wide = np.full((20, 40, 3), 200, dtype=np.uint8)  # 2:1 -> 64 x 32 band in the middle
    batch = to_network_batch([wide], InputRecipe(SIZE, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)))
    rows_with_content = np.flatnonzero(batch[0, 0].max(axis=1) > 0)
    assert rows_with_content.min() == 16 and rows_with_content.max() == 47
    np.testing.assert_allclose(batch[0, :, 16:48, :], 200 / 255.0, atol=1e-6)


# ---------------------------------------------------------------- torch matcher


def _faces(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(n)]


def _save(tmp_path: Path, task: str, *, shared: bool = False) -> Path:
    torch.manual_seed(1)
    net = CrossDomainNet("mobilenet_v3_small", embedding_dim=16, shared=shared, freeze_gallery=not shared)
    card = ModelCard(
        name=f"{task}-test",
        task=task,
        backbone="mobilenet_v3_small",
        embedding_dim=16,
        network={},
        preprocessing=preprocessing_recipe(task, input_size=SIZE, mean=MEAN, std=STD, soft_tissue={"strength": 0.6}, aligned_size=SIZE),
        calibration={"kind": "logistic", "a": 2.0},
    )
    path = tmp_path / f"{task}.pt"
    save_checkpoint(path, net, card)
    return path


@pytest.fixture(scope="module")
def skull_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save(tmp_path_factory.mktemp("models"), "skull2face")


def test_torch_matcher_encodes_gallery_like_the_network(skull_model: Path) -> None:
    matcher = TorchMatcher.from_checkpoint(skull_model, device="cpu", batch_size=2)
    assert isinstance(matcher, Matcher)
    faces = _faces(5)
    reports: list[tuple[int, int]] = []
    out = matcher.encode_gallery(faces, progress=lambda done, total, message="": reports.append((done, total)))
    # independent expectation: the faces normalised by hand, through the gallery branch
    model = CrossDomainNet.from_config(matcher.model_card()["network"])
    model.load_state_dict(torch.load(skull_model, weights_only=True))
    model.eval()
    manual = np.stack([(f.astype(np.float32) / 255 - np.array(MEAN, np.float32)) / np.array(STD, np.float32) for f in faces]).transpose(0, 3, 1, 2)
    with torch.no_grad():
        expected = model.embed_gallery(torch.from_numpy(np.ascontiguousarray(manual))).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert out.shape == (5, 16) and out.dtype == np.float32
    assert reports == [(0, 5), (2, 5), (4, 5), (5, 5)]
    one_at_a_time = np.concatenate([matcher.encode_gallery([f]) for f in faces])
    np.testing.assert_allclose(out, one_at_a_time, atol=1e-5)


def test_torch_matcher_describes_itself(skull_model: Path) -> None:
    matcher = TorchMatcher.from_checkpoint(skull_model, device="cpu")
    assert matcher.name == "skull2face-test" and matcher.embedding_dim == 16
    assert matcher.query_modalities == frozenset({QueryModality.XRAY_FRONT, QueryModality.XRAY_SIDE})
    assert matcher.calibration == {"kind": "logistic", "a": 2.0}
    assert len(matcher.fingerprint) == 64
    assert matcher.fingerprint == TorchMatcher.from_checkpoint(skull_model, device="cpu").fingerprint


def test_cancel_stops_encoding(skull_model: Path) -> None:
    matcher = TorchMatcher.from_checkpoint(skull_model, device="cpu", batch_size=1)
    cancel = threading.Event()

    def progress(done: int, total: int, message: str = "") -> None:
        if done == 1:
            cancel.set()

    with pytest.raises(Cancelled):
        matcher.encode_gallery(_faces(3), progress=progress, cancel=cancel)


def _xray_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    image = cv2.GaussianBlur(rng.integers(0, 256, (120, 90), dtype=np.uint8), (0, 0), 3)
    cv2.circle(image, (45, 50), 30, 255, 6)
    path = tmp_path / "xray.png"
    cv2.imwrite(str(path), image)
    return path


def test_xray_query_goes_through_soft_tissue_suppression(skull_model: Path, tmp_path: Path) -> None:
    xray = importlib.import_module("crossid_desktop.imaging.xray")
    image = load_image(_xray_file(tmp_path))
    matcher = TorchMatcher.from_checkpoint(skull_model, device="cpu")
    shown = matcher.preprocess_query(image, QueryModality.XRAY_SIDE)
    expected_grey = xray.suppress_soft_tissue(image.pixels.astype(np.float32) / 255.0, xray.SoftTissueParams(strength=0.6))
    np.testing.assert_allclose(shown, expected_grey, atol=1e-6)
    # by hand: letterbox 120x90 -> 64x48 centred in 64x64, grey on 3 channels, normalise
    small = cv2.resize(expected_grey, (48, 64), interpolation=cv2.INTER_AREA)
    square = np.zeros((SIZE, SIZE), np.float32)
    square[:, 8:56] = small
    manual = np.stack([(square - MEAN[c]) / STD[c] for c in range(3)])[None].astype(np.float32)
    out = matcher.encode_query([image], QueryModality.XRAY_SIDE)
    model = CrossDomainNet.from_config(matcher.model_card()["network"])
    model.load_state_dict(torch.load(skull_model, weights_only=True))
    with torch.no_grad():
        expected = model.eval().embed_query(torch.from_numpy(manual)).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_wrong_modality_is_refused(skull_model: Path, tmp_path: Path) -> None:
    matcher = TorchMatcher.from_checkpoint(skull_model, device="cpu")
    with pytest.raises(MatcherMismatchError, match="injured_face"):
        matcher.encode_query([load_image(_xray_file(tmp_path))], QueryModality.INJURED_FACE)


def test_injured_model_embeds_queries_and_gallery_with_one_branch(tmp_path: Path) -> None:
    path = _save(tmp_path, "injured", shared=True)
    matcher = load_matcher(path, device="cpu")
    assert isinstance(matcher, TorchMatcher)
    face = _faces(1)[0]
    image_path = tmp_path / "face.png"
    cv2.imwrite(str(image_path), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))  # no face in it: centre crop
    query = matcher.encode_query([load_image(image_path)], QueryModality.INJURED_FACE, choices=[FaceChoice(allow_centre_crop=True)])
    np.testing.assert_allclose(query, matcher.encode_gallery([face]), atol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_autocast_matches_cpu(skull_model: Path) -> None:
    faces = _faces(4)
    cpu = TorchMatcher.from_checkpoint(skull_model, device="cpu").encode_gallery(faces)
    gpu = TorchMatcher.from_checkpoint(skull_model, device="cuda").encode_gallery(faces)
    assert gpu.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(gpu, axis=1), 1.0, atol=1e-4)
    assert np.abs(gpu - cpu).max() < 5e-2


def test_load_matcher_refuses_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="neither 'dlib' nor an existing model file"):
        load_matcher(tmp_path / "nothing.pt")


# ---------------------------------------------------------------- dlib face matcher


@pytest.fixture(scope="module")
def lfw_crops() -> tuple[list[np.ndarray], list[int]]:
    """Canonical crops of 3 photos each of 4 LFW people (skipped without the shared data)."""
    from crossid_desktop.imaging.faces import align_face

    root = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "faces" / "lfw_dev"
    if not root.is_dir():
        pytest.skip("../shared/data/faces is absent")
    people = [p for p in sorted(root.iterdir()) if len(list(p.glob("*.jpg"))) >= 3][:4]
    crops, labels = [], []
    for label, person in enumerate(people):
        for photo in sorted(person.glob("*.jpg"))[:3]:
            crops.append(align_face(load_image(photo).rgb_uint8()).image)
            labels.append(label)
    return crops, labels


@pytest.fixture(scope="module")
def dlib_matcher():  # type: ignore[no-untyped-def]
    from crossid_desktop.matching.dlib_matcher import DlibFaceMatcher

    return DlibFaceMatcher(batch_size=4)


def test_dlib_descriptor_equals_dlibs_own_pipeline(dlib_matcher, lfw_crops) -> None:  # type: ignore[no-untyped-def]
    import dlib
    import face_recognition_models as models

    from crossid_desktop.matching.dlib_matcher import face_box

    crops = lfw_crops[0][:2]
    predictor = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
    network = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    expected = []
    for crop in crops:
        shape = predictor(crop, dlib.rectangle(*face_box(crop.shape[0])))
        expected.append(np.array(network.compute_face_descriptor(crop, shape)))  # dlib's one-call path
    np.testing.assert_allclose(dlib_matcher.encode_gallery(crops), np.array(expected), atol=1e-6)


def test_dlib_face_box_is_where_dlibs_detector_puts_the_face(lfw_crops) -> None:  # type: ignore[no-untyped-def]
    import dlib

    from crossid_desktop.matching.dlib_matcher import face_box

    detector = dlib.get_frontal_face_detector()
    overlaps = []
    for crop in lfw_crops[0]:
        found = detector(crop, 0)
        if len(found) != 1:
            continue
        r = found[0]
        a, b = (r.left(), r.top(), r.right(), r.bottom()), face_box(crop.shape[0])
        inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        overlaps.append(inter / union)
    assert len(overlaps) >= 6
    assert np.median(overlaps) > 0.7


def test_dlib_same_person_closer_than_different(dlib_matcher, lfw_crops) -> None:  # type: ignore[no-untyped-def]
    crops, labels = lfw_crops
    embeddings = dlib_matcher.encode_gallery(crops)
    assert embeddings.shape == (len(crops), 128)
    labels_a = np.array(labels)
    distances = np.linalg.norm(embeddings[:, None] - embeddings[None], axis=2)
    same = (labels_a[:, None] == labels_a[None]) & ~np.eye(len(labels_a), dtype=bool)
    different = labels_a[:, None] != labels_a[None]
    assert distances[same].mean() < 0.6 < distances[different].mean()  # dlib's documented threshold
    np.fill_diagonal(distances, np.inf)
    rank1 = np.mean(labels_a[distances.argmin(axis=1)] == labels_a)
    assert rank1 >= 0.75


def test_dlib_matcher_refuses_xray_queries(dlib_matcher, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MatcherMismatchError, match="xray_front"):
        dlib_matcher.encode_query([load_image(_xray_file(tmp_path))], QueryModality.XRAY_FRONT)


def test_dlib_head_round_trip_and_fingerprints(dlib_matcher, lfw_crops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from crossid_desktop.matching.dlib_matcher import DlibFaceMatcher
    from crossid_desktop.matching.embedding_head import EmbeddingHead, load_head, save_head

    card = ModelCard(name="dlib-scl", task="injured", backbone="", embedding_dim=0, network={}, preprocessing=dlib_matcher.model_card()["preprocessing"])
    head_path = tmp_path / "head.pt"
    save_head(head_path, EmbeddingHead(), card)
    loaded, loaded_card, _ = load_head(head_path)
    assert loaded_card.backbone == "dlib-resnet-128" and loaded_card.network["kind"] == "embedding_head"
    with_head = load_matcher(head_path)
    assert isinstance(with_head, DlibFaceMatcher) and with_head.name == "dlib-scl"
    plain = load_matcher("dlib")
    assert isinstance(plain, DlibFaceMatcher) and isinstance(plain, Matcher)
    assert plain.fingerprint == dlib_matcher.fingerprint != with_head.fingerprint
    crops = lfw_crops[0][:2]
    raw = dlib_matcher.encode_gallery(crops)
    # the untrained head is the identity followed by L2 normalisation
    np.testing.assert_allclose(with_head.encode_gallery(crops), raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-5)
    trained = EmbeddingHead()
    with torch.no_grad():
        trained.layers.weight.mul_(0.5).add_(0.01)  # type: ignore[operator]
    save_head(tmp_path / "head2.pt", trained, card)
    assert DlibFaceMatcher(head=tmp_path / "head2.pt").fingerprint != with_head.fingerprint


def test_dlib_matcher_is_thread_safe(dlib_matcher, lfw_crops) -> None:  # type: ignore[no-untyped-def]
    crops = lfw_crops[0][:2]
    expected = dlib_matcher.encode_gallery(crops)
    results: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, dlib_matcher.encode_gallery(crops))) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(2):
        np.testing.assert_array_equal(results[i], expected)


def test_a_card_alone_is_dlib_with_its_recipe(dlib_matcher, lfw_crops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A JSON card with network kind dlib loads as dlib's matcher with the card's recipe,
    gallery flip and name; its gallery vectors are the mean of each crop's and its mirror's
    descriptors; any other card is refused."""
    import json

    from crossid_desktop.matching.dlib_matcher import DlibFaceMatcher, default_card

    card = default_card().to_dict()
    card["name"] = "dlib-flip-examiner-mask"
    card["preprocessing"]["gallery"]["flip"] = True
    card["preprocessing"]["query"]["injury_aware"] = {"segmenter": "none", "robust_alignment": False, "completion": "mirror", "flip": True}
    path = tmp_path / "dlib_recipe.json"
    path.write_text(json.dumps(card))
    matcher = load_matcher(path)
    assert isinstance(matcher, DlibFaceMatcher) and matcher.name == "dlib-flip-examiner-mask"
    assert matcher.recipe is not None and matcher.recipe.segmenter == "none" and matcher.unreliable_regions() is None
    assert matcher.fingerprint != dlib_matcher.fingerprint
    crops = lfw_crops[0][:2]
    mirrored = dlib_matcher.descriptors([np.ascontiguousarray(c[:, ::-1]) for c in crops])
    np.testing.assert_allclose(matcher.encode_gallery(crops), (dlib_matcher.descriptors(crops) + mirrored) / 2, atol=1e-5)
    card["network"] = {"kind": "embedding_head"}
    path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not describe dlib"):
        load_matcher(path)
