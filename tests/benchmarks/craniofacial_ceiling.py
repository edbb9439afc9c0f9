"""The ceiling of skull-to-face matching: how well a person is found from the skull's true landmarks.

No image analysis on the skull side: the queries are the generator's exact X-ray landmarks
(frontal and lateral). The faces are measured four ways: the exact landmarks, the exact
landmarks with measurement noise (each point moved at random so that its mean radial error is
2 % or 4 % of the face's height), and the landmarks the face detectors of this project find on
the rendered photos (frontal: :func:`~crossid_desktop.matching.landmarks.face_front.detect_face_front`;
profile: :func:`~crossid_desktop.matching.landmarks.face_side.detect_face_side`).

Method. Each configuration of landmarks is reduced to its shape (Procrustes: aligned to the
training mean by translation, rotation and scale, so the photo's scale and pose are gone).
Skull shapes (frontal and lateral bone points) predict the frontal face shape (points that
expression does not move: jaw line, eyes, nose, cheeks, chin) and the profile's shape by ridge
regression, fitted on a training cohort of separate people. A photo's score is the Mahalanobis
distance of its shape from the prediction, with the regression's residual covariance (plus,
for the detectors, the covariance of their errors measured on a separate validation cohort),
turned into a chi-square tail probability so that frontal and profile photos compare.

Cohorts (seeds): training 6101 (--train people), detector validation 6102, test 6103 (100 people,
4 photos each: 3 frontal, 1 profile; a gallery of 400 photos). A person counts as found at k
when one of their photos is in the top k of the 400; "person-fused" adds the log-probabilities
of a person's four photos and ranks the 100 people.

Run: ``PYTHONPATH=. .venv/bin/python tests/benchmarks/craniofacial_ceiling.py [--train 500] [--size 256] [--no-detector]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numpy.typing import NDArray

from crossid_desktop.anatomy.landmarks import landmarks_of
from crossid_desktop.synth.params import Subject, draw_nuisance, draw_subject
from crossid_desktop.synth.truth import image_landmarks, subject_landmarks_mm
from crossid_desktop.synth.truth_face import face_front_landmarks_mm

SKULL_FRONT = tuple(m.name for m in landmarks_of("xray-front"))
SKULL_SIDE = tuple(m.name for m in landmarks_of("xray-side") if m.tissue != "skin")
#: frontal face points that expression (smile, raised brows) does not move
FACE_FRONT = tuple(m.name for m in landmarks_of("face-front")
                   if not any(k in m.name for k in ("lip", "cheilion", "labrale", "mouth", "brow", "menton_soft")))
FACE_SIDE = tuple(m.name for m in landmarks_of("face-side"))
PHOTOS = ("front", "front", "front", "side")


def procrustes(points: NDArray[np.float64], reference: NDArray[np.float64]) -> NDArray[np.float64]:
    """``points`` (k, 2; NaN rows missing) aligned to ``reference`` by the similarity that fits
    the present points best, then flattened; missing points stay NaN."""
    ok = ~np.isnan(points[:, 0])
    p, r = points[ok] - points[ok].mean(axis=0), reference[ok] - reference[ok].mean(axis=0)
    a = np.sum(p * r) / np.sum(p * p)
    b = np.sum(p[:, 0] * r[:, 1] - p[:, 1] * r[:, 0]) / np.sum(p * p)
    aligned = np.full_like(points, np.nan)
    aligned[ok] = p @ np.array([[a, b], [-b, a]]) + reference[ok].mean(axis=0)
    return aligned.ravel()


def mean_shape(configs: list[NDArray[np.float64]], rounds: int = 3) -> NDArray[np.float64]:
    reference = configs[0] - configs[0].mean(axis=0)
    for _ in range(rounds):
        reference = np.nanmean([procrustes(c, reference).reshape(-1, 2) for c in configs], axis=0)
        reference /= np.sqrt((reference ** 2).sum())
    return reference


def _noisy(points: NDArray[np.float64], percent: float, height: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Each point moved by isotropic Gaussian noise whose mean radial error is ``percent`` of ``height``."""
    sigma = percent / 100 * height / np.sqrt(np.pi / 2)
    return points + rng.normal(0.0, sigma, points.shape)


def true_configs(subject: Subject) -> dict[str, NDArray[np.float64]]:
    """Exact landmark configurations (mm) of a person: skull front, skull side, face front, face side."""
    mm = subject_landmarks_mm(subject)
    neutral = draw_nuisance(np.random.default_rng(0))
    front = face_front_landmarks_mm(subject, neutral)
    return {"skull_front": np.array([mm["xray-front"][n] for n in SKULL_FRONT]),
            "skull_side": np.array([mm["xray-side"][n] for n in SKULL_SIDE]),
            "front": np.array([front[n] for n in FACE_FRONT]), "side": np.array([mm["face-side"][n] for n in FACE_SIDE])}


def _height(view: str, config: NDArray[np.float64]) -> float:
    names = FACE_FRONT if view == "front" else FACE_SIDE
    top = config[names.index("nose_bridge_1" if view == "front" else "nasion_soft")]
    bottom = config[names.index("jaw_09" if view == "front" else "menton_soft")]
    return float(np.hypot(*(top - bottom)))


class Ridge:
    """Standardised ridge regression ``y ~ x``; ``alpha`` chosen by 5-fold cross-validation."""

    def __init__(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> None:
        self.mx, self.sx = x.mean(axis=0), x.std(axis=0) + 1e-9
        self.my = y.mean(axis=0)
        z, t = (x - self.mx) / self.sx, y - self.my
        folds = np.arange(len(x)) % 5
        best = None
        for alpha in (0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0):
            error = 0.0
            for f in range(5):
                w = self._fit(z[folds != f], t[folds != f], alpha)
                error += float(((z[folds == f] @ w - t[folds == f]) ** 2).sum())
            if best is None or error < best[0]:
                best = (error, alpha)
        self.alpha = best[1]
        self.w = self._fit(z, t, self.alpha)

    @staticmethod
    def _fit(z: NDArray[np.float64], t: NDArray[np.float64], alpha: float) -> NDArray[np.float64]:
        return np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ t)

    def predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return ((x - self.mx) / self.sx) @ self.w + self.my


def _shrunk(residuals: NDArray[np.float64]) -> NDArray[np.float64]:
    """Covariance of the rows of ``residuals`` (NaN-aware), shrunk 10 % towards its diagonal."""
    filled = np.where(np.isnan(residuals), 0.0, residuals)
    count = (~np.isnan(residuals)).astype(float)
    cov = (filled.T @ filled) / np.maximum(count.T @ count - 1, 1.0)
    return 0.9 * cov + 0.1 * np.diag(np.diag(cov)) + 1e-10 * np.eye(len(cov))


def log_probabilities(shapes: NDArray[np.float64], predicted: NDArray[np.float64], cov: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(queries, items)`` log P(chi-square > d^2) of the Mahalanobis distances between each
    query's prediction (``predicted``, queries x dims) and each item's shape (items x dims, NaN
    where missing), over the coordinates the item has (items grouped by which they have)."""
    from scipy.stats import chi2  # benchmark only

    out = np.empty((len(predicted), len(shapes)))
    present = ~np.isnan(shapes)
    patterns = {row.tobytes(): row for row in present}
    for row in patterns.values():
        items = np.flatnonzero((present == row).all(axis=1))
        inverse = np.linalg.inv(cov[np.ix_(row, row)])
        r = shapes[items][:, row][None, :, :] - predicted[:, row][:, None, :]
        d2 = np.einsum("qid,de,qie->qi", r, inverse, r)
        out[:, items] = chi2.logsf(d2, row.sum())
    return out


QUERIES = {"frontal X-ray": ("skull_front",), "lateral X-ray": ("skull_side",), "both X-rays": ("skull_front", "skull_side")}


def _skull(configs: dict[str, NDArray[np.float64]], refs: dict[str, NDArray[np.float64]], parts: tuple[str, ...]) -> NDArray[np.float64]:
    return np.concatenate([procrustes(configs[p], refs[p]) for p in parts])


def recall(scores: NDArray[np.float64], owners: NDArray[np.intp], ks: tuple[int, ...] = (1, 10)) -> dict[str, float]:
    """Recall@k of ``scores`` (queries x gallery items, higher = closer) with item owners."""
    hits = {k: 0 for k in ks}
    for q, row in enumerate(scores):
        order = owners[np.argsort(-row)]
        rank = int(np.flatnonzero(order == q)[0]) + 1
        for k in ks:
            hits[k] += rank <= k
    return {f"R@{k}": hits[k] / len(scores) for k in ks}


def evaluate(train: list[dict], test_skulls: list[dict], gallery: list[tuple[int, str, NDArray[np.float64]]],
             refs: dict[str, NDArray[np.float64]], extra_cov: dict[str, NDArray[np.float64]] | None = None) -> dict[str, dict[str, float]]:
    """Recalls per query type: photos ranked by probability, and people by their photos' summed log-probability."""
    owners = np.array([owner for owner, _, _ in gallery])
    out = {}
    for query, parts in QUERIES.items():
        x_train = np.array([_skull(c, refs, parts) for c in train])
        models, covs = {}, {}
        for view in ("front", "side"):
            rows = [(i, shape) for i, c in enumerate(train) for shape in c["shapes"][view]]
            y = np.array([shape for _, shape in rows])
            models[view] = Ridge(x_train[[i for i, _ in rows]], y)
            covs[view] = _shrunk(y - models[view].predict(x_train[[i for i, _ in rows]]))
            if extra_cov:
                covs[view] = covs[view] + extra_cov[view]
        x_test = np.array([_skull(c, refs, parts) for c in test_skulls])
        predicted = {view: models[view].predict(x_test) for view in ("front", "side")}
        scores = np.empty((len(test_skulls), len(gallery)))
        for view in ("front", "side"):
            items = [i for i, (_, v, _) in enumerate(gallery) if v == view]
            shapes = np.array([gallery[i][2] for i in items])
            scores[:, items] = log_probabilities(shapes, predicted[view], covs[view])
        people = np.array([[scores[q, owners == p].sum() for p in range(len(test_skulls))] for q in range(len(test_skulls))])
        out[query] = {**{f"photo {k}": v for k, v in recall(scores, owners).items()},
                      **{f"person {k}": v for k, v in recall(people, np.arange(len(test_skulls))).items()}}
    return out


def cohort(seed: int, people: int) -> list[dict]:
    return [true_configs(draw_subject(seed, i)) for i in range(people)]


def with_noise(configs: list[dict], refs: dict[str, NDArray[np.float64]], percent: float, seed: int) -> list[dict]:
    """Each person with the shapes of their four photos: exact points plus measurement noise."""
    rng = np.random.default_rng(seed)
    for c in configs:
        c["shapes"] = {"front": [], "side": []}
        for view in PHOTOS:
            points = _noisy(c[view], percent, _height(view, c[view]), rng) if percent else c[view]
            c["shapes"][view].append(procrustes(points, refs[view]))
    return configs


def detected_photos(seed: int, people: int, size: int) -> list[list[tuple[str, NDArray[np.float64], NDArray[np.float64]]]]:
    """Per person, their four rendered photos as ``(view, detected points, exact points)`` in
    pixels (NaN rows: not found, or outside the photo)."""
    from crossid_desktop.errors import NoFaceFoundError
    from crossid_desktop.matching.landmarks.face_front import detect_face_front
    from crossid_desktop.matching.landmarks.face_side import detect_face_side
    from crossid_desktop.synth.face import render_face_front
    from crossid_desktop.synth.face_profile import render_face_side

    out = []
    for index in range(people):
        subject = draw_subject(seed, index)
        rng = np.random.default_rng(np.random.SeedSequence([seed, index, 0xCE11]))
        photos = []
        for view in PHOTOS:
            nuisance = draw_nuisance(rng)
            names = FACE_FRONT if view == "front" else FACE_SIDE
            render, detect = (render_face_front, detect_face_front) if view == "front" else (render_face_side, detect_face_side)
            truth = image_landmarks(f"face-{view}", subject, nuisance, size)
            try:
                found = detect(render(subject, nuisance, size))
                points = np.array([found.point(n) or (np.nan, np.nan) for n in names], dtype=float)
            except NoFaceFoundError:
                points = np.full((len(names), 2), np.nan)
            photos.append((view, points, np.array([truth[n] for n in names], dtype=float)))
        out.append(photos)
    return out


def detector_error_cov(photos: list, refs: dict[str, NDArray[np.float64]]) -> tuple[dict, dict]:
    """Mean and covariance of (detected - exact) shapes per view, over a validation cohort."""
    diffs: dict[str, list] = {"front": [], "side": []}
    for person in photos:
        for view, found, truth in person:
            if np.isnan(found[:, 0]).all():
                continue
            diffs[view].append(procrustes(found, refs[view]) - procrustes(truth, refs[view]))
    means = {v: np.nanmean(np.array(d), axis=0) for v, d in diffs.items()}
    covs = {v: _shrunk(np.array(d) - means[v]) for v, d in diffs.items()}
    return means, covs


def _print(label: str, results: dict[str, dict[str, float]]) -> None:
    for query, r in results.items():
        print(f"{label:34s} {query:14s} " + "  ".join(f"{k} {v:.2f}" for k, v in r.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=500, help="training people (seed 6101)")
    parser.add_argument("--test", type=int, default=100, help="test people (seed 6103)")
    parser.add_argument("--size", type=int, default=256, help="photo side for the detector run")
    parser.add_argument("--no-detector", action="store_true", help="skip rendering photos and running the detectors")
    args = parser.parse_args()
    start = time.time()
    train, test = cohort(6101, args.train), cohort(6103, args.test)
    refs = {part: mean_shape([c[part] for c in train]) for part in ("skull_front", "skull_side", "front", "side")}
    print(f"Training people {args.train} (seed 6101), test people {args.test} (seed 6103), 4 photos each "
          f"(gallery {4 * args.test}); chance Recall@1 {1 / args.test:.2f}, @10 {10 / args.test:.2f}\n")
    for percent in (0.0, 2.0, 4.0):
        with_noise(train, refs, percent, seed=1)
        with_noise(test, refs, percent, seed=2)
        gallery = [(p, view, shape) for p, c in enumerate(test) for view in ("front", "side") for shape in c["shapes"][view]]
        _print(f"exact landmarks + {percent:.0f} % noise", evaluate(train, test, gallery, refs))
    if not args.no_detector:
        with_noise(train, refs, 0.0, seed=1)
        means, covs = detector_error_cov(detected_photos(6102, args.test, args.size), refs)
        gallery = []
        for p, person in enumerate(detected_photos(6103, args.test, args.size)):
            for view, found, _ in person:
                if not np.isnan(found[:, 0]).all():
                    gallery.append((p, view, procrustes(found, refs[view]) - np.nan_to_num(means[view])))
        _print(f"face detectors ({args.size} px photos)", evaluate(train, test, gallery, refs, extra_cov=covs))
    print(f"\n{time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
