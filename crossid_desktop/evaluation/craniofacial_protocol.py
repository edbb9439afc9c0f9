"""The skull-to-face protocol for the craniofacial matcher and the default X-ray matcher (its fusion
with the Siamese network).

Same people, queries and gallery as :mod:`.skull2face`: every frontal and lateral X-ray of a test
person is a query, every photo of the test people is in the gallery. The craniofacial matcher
compares an X-ray with the photos of its own view (frontal with frontal, lateral with profile);
a photo of the other view cannot be compared and ranks last. Keys of ``metrics.json``:

* ``recall@k``, ``map@k``, ``mrr@k``, ``rank1/5/10``, ``front/...``, ``side/...``: photos ranked,
  as in :mod:`.skull2face` (a query is found at k when a photo of its person is in the top k);
* ``fused/...`` and ``person/{front,side,fused}/...``: **people** ranked (each by the evidence of
  their photos, as the search service ranks them); a frontal and a lateral X-ray are fused per
  person because no photo can be compared with both;
* ``craniofacial/person/...`` and ``siamese/person/...``: each part alone, when fused;
* ``exclusion/{tnr,fer,not_assessable}``: impostors marked inconsistent, true persons marked
  inconsistent, pairs not assessable (people, both X-rays);
* ``cllr``, ``cllr_min``: of the fused likelihood ratios of the query-person pairs.

Landmarks come from the data set's annotations, exact or with simulated measurement error
(:mod:`crossid_desktop.matching.craniofacial.annotations`), until landmark detectors are used.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.datasets.landmark_annotations import read_annotations
from crossid_desktop.datasets.skull_faces import read_skull_faces
from crossid_desktop.errors import CrossIDError, DatasetError
from crossid_desktop.evaluation.calibration import cllr, cllr_min
from crossid_desktop.evaluation.craniofacial_scores import view_scores
from crossid_desktop.evaluation.protocols import EvaluationResult, distance_matrix
from crossid_desktop.evaluation.skull2face import SkullFaceEmbeddings, retrieval_figures, select_test_subjects
from crossid_desktop.evaluation.xray_evidence import CONFIGURATIONS, EvidenceTable, evidence_table, exclusion_rates, fused_ln_lr
from crossid_desktop.imaging.io import load_image, sha256_of_file
from crossid_desktop.matching.base import Matcher
from crossid_desktop.matching.craniofacial.annotations import EXACT, MeasurementNoise, paired_people
from crossid_desktop.matching.craniofacial.fit import PairedPerson
from crossid_desktop.matching.craniofacial.fusion import FEATURES, Fusion
from crossid_desktop.matching.craniofacial.matcher import CraniofacialMatcher
from crossid_desktop.matching.craniofacial.measure import ErrorProfile, detect_face_points, face_models, with_profile, xray_models
from crossid_desktop.matching.craniofacial.model_file import CraniofacialModel
from crossid_desktop.matching.craniofacial.points import Landmarks, from_detection
from crossid_desktop.matching.landmarks.service import find_landmarks
from crossid_desktop.paths import write_text_atomic
from crossid_desktop.progress import ProgressCallback, check_cancel, no_progress

PERSON_KS = (1, 5, 10, 30)


@dataclass(frozen=True)
class CraniofacialProtocol:
    """``subjects`` as in :class:`~.skull2face.SkullFaceProtocol`; ``noise`` the simulated landmark
    error (:data:`~crossid_desktop.matching.craniofacial.annotations.EXACT` for the exact points),
    drawn from ``noise_seed``."""

    subjects: str | Sequence[str] = "all"
    split_seed: int = 0
    test_fraction: float = 0.3
    noise: MeasurementNoise = field(default_factory=MeasurementNoise)
    noise_seed: int = 0
    max_k: int = 30
    detect_faces: bool = False  # the photos' landmarks found by the face detectors instead of annotated
    landmark_cache: Path | None = None  # a folder keeping the detections between runs


def load_people(data_dir: str | Path, subjects: Sequence[str], noise: MeasurementNoise, seed: int) -> list[PairedPerson]:
    """The chosen people's landmarks from the set's annotations (``noise`` simulated)."""
    annotations = read_annotations(data_dir)
    missing = sorted(set(subjects) - set(annotations))
    if missing:
        raise DatasetError(f"The landmark annotations of {data_dir} lack the people {', '.join(missing[:5])}.")
    return paired_people({s: annotations[s] for s in subjects}, noise, seed)


def detected_faces(people: Sequence[PairedPerson], data_dir: str | Path, *, cache_dir: Path | None = None, progress: ProgressCallback | None = None,
                   cancel: threading.Event | None = None) -> list[PairedPerson]:
    """The people with their photos' landmarks as the face detectors find them (no deviations
    yet; the X-rays' kept). ``cache_dir`` keeps each photo's detection (by its SHA-256, its view
    and the installed face landmark models) for the next run."""
    report = progress or no_progress
    dataset = {s.subject_id: s for s in read_skull_faces(data_dir, strict=False).subjects}
    models = _digest(face_models())
    out = []
    for done, person in enumerate(people):
        check_cancel(cancel, "The craniofacial evaluation")
        report(done, len(people), "detecting face landmarks")
        paths = {p.stem: p for view in ("front", "side") for p in dataset[person.subject_id].faces[view]}
        photos = {view: tuple(_detected(paths[name], view.removeprefix("face-"), cache_dir, models) for name in names)
                  for view, names in person.photo_names.items()}
        out.append(replace(person, photos=photos))
    return out


def _detected(path: Path, view: str, cache_dir: Path | None, models: str) -> Landmarks:
    """A photo's detected landmarks, kept in ``cache_dir`` by the photo's SHA-256, its view and
    ``models`` (a digest of the installed face landmark models: another model is another detection)."""
    sha = sha256_of_file(path)
    cached = Path(cache_dir) / f"{sha}-face-{view}-{models}.json" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        return Landmarks.from_dict(json.loads(cached.read_text(encoding="utf-8")))
    found = detect_face_points(load_image(path).rgb_uint8(), view)
    if cached is not None:
        write_text_atomic(cached, json.dumps(found.to_dict(), sort_keys=True))
    return found


def detected_xrays(people: Sequence[PairedPerson], data_dir: str | Path, *, cache_dir: Path | None = None, progress: ProgressCallback | None = None,
                   cancel: threading.Event | None = None) -> list[PairedPerson]:
    """The people with their X-rays' skull landmarks as the X-ray landmark detector finds them
    (pixel spacing unknown, as in a plain image file). An X-ray the detector refuses, or one it
    cannot read, keeps its failure with the reason: that query is not assessed and counts as
    missed. ``cache_dir`` keeps each detection by the X-ray's SHA-256 and the installed model
    (:func:`~crossid_desktop.matching.craniofacial.measure.xray_models`: weights and card settings,
    whose thresholds, anchor and shape prior change the points too)."""
    report = progress or no_progress
    dataset = {s.subject_id: s for s in read_skull_faces(data_dir, strict=False).subjects}
    models = {view: _digest(identity) for view, identity in xray_models().items()}
    out = []
    for done, person in enumerate(people):
        check_cancel(cancel, "The craniofacial evaluation")
        report(done, len(people), "detecting skull landmarks")
        subject = dataset[person.subject_id]
        skulls = {view: _detected_xray(getattr(subject, view.replace("-", "_")), view, models[view], cache_dir) for view in person.skulls}
        out.append(replace(person, skulls=skulls))
    return out


def _digest(identities: Any) -> str:
    """12 hex digits naming the models a detection was made with (their identities,
    :func:`~crossid_desktop.matching.craniofacial.measure.face_models` and ``xray_models``), for the
    detection caches' keys: another model is another detection."""
    return hashlib.sha256(json.dumps(identities, sort_keys=True).encode()).hexdigest()[:12]


def _detected_xray(path: Path | None, view: str, model: str, cache_dir: Path | None) -> Landmarks:
    if path is None:
        return Landmarks.failed(view, f"no {view} image", source="the X-ray landmark detector")
    image = load_image(path)
    cached = Path(cache_dir) / f"{image.sha256}-{view}-{model}.json" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        return Landmarks.from_dict(json.loads(cached.read_text(encoding="utf-8")))
    try:
        found = from_detection(find_landmarks(image, view))
    except CrossIDError as error:
        found = Landmarks.failed(view, str(error).rstrip("."), source="the X-ray landmark detector")
    if cached is not None:
        write_text_atomic(cached, json.dumps(found.to_dict(), sort_keys=True))
    return found


def with_detected_faces(people: Sequence[PairedPerson], data_dir: str | Path, profiles: Mapping[str, ErrorProfile], *,
                        cache_dir: Path | None = None, progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> list[PairedPerson]:
    """The people with their photos' detected landmarks and the deviations of ``profiles``."""
    found = detected_faces(people, data_dir, cache_dir=cache_dir, progress=progress, cancel=cancel)
    return [replace(p, photos={view: tuple(with_profile(m, profiles) for m in marks) for view, marks in p.photos.items()}) for p in found]


def siamese_distances(matcher: Matcher, data_dir: str | Path, subjects: Sequence[str], *, progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], NDArray[np.float64]]]:
    """The Siamese network's distances of each view's X-rays to every photo of the people."""
    dataset = read_skull_faces(data_dir, strict=False)
    emb = SkullFaceEmbeddings.compute(matcher, dataset, subjects, progress=progress, cancel=cancel)
    d = distance_matrix(emb.query, emb.gallery)
    out = {}
    for view in ("front", "side"):
        rows = [i for i, v in enumerate(emb.query_views) if v == view]
        out[view] = (tuple(emb.query_labels[i] for i in rows), tuple(emb.gallery_labels), d[rows])
    return out


def person_ranks(ln_lr: NDArray[np.float64], genuine: NDArray[np.bool_], tiebreak: NDArray[np.float64] | None = None) -> NDArray[np.int64]:
    """Rank of each query's true person among the people by ``ln_lr`` ``(Q, P)`` (NaN: last),
    equal ratios ordered by ``tiebreak`` (the unclipped combination, as the search orders them);
    remaining ties count against the true person. Queries whose person is absent get rank 0."""
    scores = np.where(np.isnan(ln_lr), -np.inf, ln_lr)
    second = np.zeros_like(scores) if tiebreak is None else np.where(np.isnan(tiebreak), -np.inf, tiebreak)
    ranks = np.zeros(len(scores), np.int64)
    for q in range(len(scores)):
        true = np.flatnonzero(genuine[q])
        if true.size:
            t = true[0]
            ahead = (scores[q] > scores[q, t]) | ((scores[q] == scores[q, t]) & (second[q] >= second[q, t]))
            ranks[q] = int(ahead.sum())
    return ranks


def person_figures(ln_lr: NDArray[np.float64], table: EvidenceTable, prefix: str, rows: NDArray[np.bool_] | None = None,
                   tiebreak: NDArray[np.float64] | None = None) -> dict[str, float]:
    """Recall@k of the people ranking (k in :data:`PERSON_KS`) and the mean rank, keys with ``prefix``."""
    genuine = table.genuine
    if rows is not None:
        ln_lr, genuine = ln_lr[rows], genuine[rows]
    if rows is not None and tiebreak is not None:
        tiebreak = tiebreak[rows]
    ranks = person_ranks(ln_lr, genuine, tiebreak)
    ranks = ranks[ranks > 0]
    if not ranks.size:
        return {}
    out = {f"{prefix}recall@{k}": float((ranks <= k).mean()) for k in PERSON_KS}
    out[f"{prefix}mean_rank"] = float(ranks.mean())
    out[f"{prefix}n_queries"] = int(ranks.size)
    return out


def _rows_with(table: EvidenceTable, configuration: str) -> NDArray[np.bool_]:
    """Queries that have every X-ray a configuration needs."""
    have = np.ones(len(table.queries), bool)
    for view in ("front", "side") if configuration == "fused" else (configuration,):
        cols = [i for i, f in enumerate(FEATURES) if f.endswith(view)]
        have &= np.isfinite(table.values[:, :, cols]).any(axis=(1, 2))
    return have


def table_figures(table: EvidenceTable, fusion: Fusion, *, siamese: bool, craniofacial: bool, prefix: str) -> tuple[dict[str, float], dict[str, NDArray[np.float64]]]:
    """People-ranking figures of every configuration, and each configuration's ``(Q, P)`` ln LR."""
    metrics: dict[str, float] = {}
    lrs = {}
    for configuration in CONFIGURATIONS:
        features = table.features(configuration, siamese=siamese, craniofacial=craniofacial)
        if not features:
            continue
        ln_lr = fused_ln_lr(table, fusion, features)
        tiebreak = fused_ln_lr(table, fusion, features, clipped=False)
        lrs[configuration] = ln_lr
        metrics.update(person_figures(ln_lr, table, f"{prefix}{configuration}/", _rows_with(table, configuration), tiebreak))
    return metrics, lrs


def photo_figures(scores: dict, max_k: int) -> tuple[dict[str, float], dict[str, list[float]]]:
    """The protocol's photo-ranking figures from the craniofacial log likelihood ratios: each
    query's photos of its own view by ln LR, the other view's photos last."""
    rows, labels, views = [], [], []
    photos = [p for view in ("front", "side") if view in scores for p in scores[view].photos]
    offset = 0
    for view in ("front", "side"):
        if view not in scores:
            continue
        vs = scores[view]
        block = np.full((len(vs.query_subjects), len(photos)), np.inf)
        block[:, offset : offset + len(vs.photos)] = np.where(np.isnan(vs.llr), np.inf, -vs.llr)
        offset += len(vs.photos)
        rows.append(block)
        labels += list(vs.query_subjects)
        views += [view] * len(vs.query_subjects)
    d = np.vstack(rows)
    gallery = [p.subject_id for p in photos]
    metrics, curves = retrieval_figures(d, labels, gallery, max_k=max_k)
    for view in ("front", "side"):
        chosen = [i for i, v in enumerate(views) if v == view]
        if chosen:
            view_metrics, _ = retrieval_figures(d[chosen], [labels[i] for i in chosen], gallery, max_k=max_k, prefix=f"{view}/")
            metrics.update({k: v for k, v in view_metrics.items() if k.split("/")[1] in ("recall@1", "recall@10", "recall@30", "map@30", "mrr@30", "rank1")})
    return metrics, curves


def evaluate_craniofacial(model: CraniofacialModel, data_dir: str | Path, protocol: CraniofacialProtocol = CraniofacialProtocol(), *,
                          fusion: Fusion | None = None, siamese: Matcher | None = None, progress: ProgressCallback | None = None,
                          cancel: threading.Event | None = None) -> EvaluationResult:
    """Run the protocol (module docstring): the craniofacial matcher alone, or fused with ``siamese``
    by ``fusion`` (rules fitted on validation people; without them people are ranked by the raw
    craniofacial ratio and no Cllr is given)."""
    dataset = read_skull_faces(data_dir, strict=False)
    test = select_test_subjects([s.subject_id for s in dataset.subjects], protocol.subjects, split_seed=protocol.split_seed, test_fraction=protocol.test_fraction)
    people = load_people(data_dir, test, protocol.noise, protocol.noise_seed)
    if protocol.detect_faces:
        people = with_detected_faces(people, data_dir, CraniofacialMatcher(model).profiles, cache_dir=protocol.landmark_cache, progress=progress, cancel=cancel)
    scores = {view: view_scores(vm, model.tolerance_of(view), people, people, progress=progress, cancel=cancel) for view, vm in model.views.items()}
    distances = siamese_distances(siamese, data_dir, test, progress=progress, cancel=cancel) if siamese is not None else None
    table = evidence_table(scores, {view: model.tolerance_of(view) for view in model.views}, distances)
    metrics: dict[str, Any] = {}
    photo_metrics, curves = photo_figures(scores, protocol.max_k)
    metrics.update(photo_metrics)
    fusion = fusion or Fusion.uncalibrated()
    main, lrs = table_figures(table, fusion, siamese=siamese is not None, craniofacial=True, prefix="person/")
    metrics.update(main)
    metrics.update({k.replace("person/fused/", "fused/"): v for k, v in main.items() if k.startswith("person/fused/")})
    if siamese is not None:
        metrics.update(table_figures(table, fusion, siamese=False, craniofacial=True, prefix="craniofacial/person/")[0])
        metrics.update(table_figures(table, fusion, siamese=True, craniofacial=False, prefix="siamese/person/")[0])
    for views, key in ((("front", "side"), "exclusion"), (("front",), "exclusion/front"), (("side",), "exclusion/side")):
        metrics.update({f"{key}/{name}": value for name, value in exclusion_rates(table, views, fusion=fusion, lr_limit=model.tolerance.lr_limit).items()})
    genuine, impostor = _pairs(lrs.get("fused"), table)
    calibrated = fusion.calibrated
    if calibrated and genuine.size and impostor.size:
        metrics["cllr"] = cllr(np.exp(genuine), np.exp(impostor))
        metrics["cllr_min"] = cllr_min(genuine, impostor)
    name = "default-xray" if siamese is not None else model.name
    fingerprint = hashlib.sha256(f"{model.fingerprint}+{siamese.fingerprint}".encode()).hexdigest() if siamese is not None else model.fingerprint
    metrics.update(model={"name": name, "fingerprint": fingerprint, "task": "skull2face", "backbone": "craniofacial correspondence"},
                   genuine_mean_distance=float(-genuine.mean()) if genuine.size else float("nan"),
                   impostor_mean_distance=float(-impostor.mean()) if impostor.size else float("nan"))
    metrics.update(protocol="skull2face", n_test_subjects=len(test), gallery_size=sum(len(v.photos) for v in scores.values()),
                   n_queries=sum(len(v.query_subjects) for v in scores.values()), landmarks=_landmark_source(protocol),
                   query_problems={view: dict(v.problems) for view, v in scores.items()},
                   query_set_aside={view: {k: list(names) for k, names in v.set_aside.items()} for view, v in scores.items()},
                   data={"root": str(dataset.root), "layout": "s2f", "test_subjects": test, "subjects": protocol.subjects if isinstance(protocol.subjects, str) else "list"})
    notes = ("People are ranked by the evidence of their photos (fused and person/ keys); photo keys rank photos as the skull-to-face protocol does.",)
    return EvaluationResult("skull2face", metrics, curves, -genuine, -impostor, None, (np.exp(genuine), np.exp(impostor)) if calibrated else None, None, (), notes)


def _landmark_source(protocol: CraniofacialProtocol) -> str:
    """How the evaluated landmarks were had, in words (metrics.json and the report)."""
    text = protocol.noise.describe() if protocol.noise != EXACT else "exact annotations"
    return text + ("; photo landmarks found by the face detectors instead" if protocol.detect_faces else "")


def _pairs(ln_lr: NDArray[np.float64] | None, table: EvidenceTable) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if ln_lr is None:
        return np.zeros(0), np.zeros(0)
    genuine = table.genuine
    ok = np.isfinite(ln_lr)
    return ln_lr[ok & genuine], ln_lr[ok & ~genuine]
