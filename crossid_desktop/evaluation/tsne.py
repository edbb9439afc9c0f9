"""Exact t-SNE in numpy and the publication's 3-D picture of query, true-face and gallery
embeddings.

t-SNE (van der Maaten and Hinton 2008) places points in 2 or 3 dimensions so that points that
are neighbours in the embedding space stay neighbours. The exact algorithm costs ``O(n^2)``
memory and time per iteration, which is fine for the few hundred points of an evaluation
(500 points, 3-D, 500 iterations: a few seconds). scikit-learn is not a dependency of the
application, so it is implemented here: the inputs are first reduced to at most 50
dimensions by PCA (SVD), the Gaussian bandwidth of each point is found by bisection to reach
the requested perplexity, and the map is optimised by gradient descent with momentum
(0.5, then 0.8), per-parameter gains and early exaggeration (x12 for the first 100
iterations), as in the reference implementation. The result depends only on the inputs
and ``seed``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crossid_desktop.paths import atomic_path

__all__ = ["plot_tsne_3d", "tsne"]


def tsne(
    x: ArrayLike,
    *,
    dims: int = 3,
    perplexity: float = 30.0,
    iterations: int = 500,
    learning_rate: float = 200.0,
    pca_dims: int = 50,
    seed: int = 0,
) -> NDArray[np.float64]:
    """Map ``x`` ``(n, d)`` to ``(n, dims)`` with exact t-SNE (unitless map coordinates).

    ``perplexity`` is clipped to ``(n - 1) / 3`` for small inputs. Raises ValueError for
    fewer than 4 points.
    """
    data = np.asarray(x, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 4:
        raise ValueError(f"t-SNE needs an (n, d) array with n >= 4; got shape {data.shape}.")
    n = data.shape[0]
    data = data - data.mean(axis=0)
    if data.shape[1] > pca_dims:
        _, _, vt = np.linalg.svd(data, full_matrices=False)
        data = data @ vt[:pca_dims].T
    perplexity = float(min(perplexity, max((n - 1) / 3.0, 1.0)))
    p = _joint_probabilities(data, perplexity)
    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, 1e-4, (n, dims))
    velocity = np.zeros_like(y)
    gains = np.ones_like(y)
    for iteration in range(iterations):
        exaggeration = 12.0 if iteration < 100 else 1.0
        momentum = 0.5 if iteration < 250 else 0.8
        sq = _squared_distances(y)
        num = 1.0 / (1.0 + sq)
        np.fill_diagonal(num, 0.0)
        q = np.maximum(num / num.sum(), 1e-12)
        weights = (exaggeration * p - q) * num
        grad = 4.0 * (np.diag(weights.sum(axis=1)) - weights) @ y
        same_sign = np.sign(grad) == np.sign(velocity)
        gains = np.clip(np.where(same_sign, gains * 0.8, gains + 0.2), 0.01, None)
        velocity = momentum * velocity - learning_rate * gains * grad
        y = y + velocity
        y -= y.mean(axis=0)
    return y


def _squared_distances(x: NDArray[np.float64]) -> NDArray[np.float64]:
    norms = np.einsum("ij,ij->i", x, x)
    return np.maximum(norms[:, None] + norms[None, :] - 2.0 * x @ x.T, 0.0)


def _joint_probabilities(x: NDArray[np.float64], perplexity: float) -> NDArray[np.float64]:
    """Symmetric affinities ``P`` ``(n, n)``: each row's Gaussian bandwidth is bisected so that
    its entropy is ``log(perplexity)``; then ``P = (P_cond + P_cond^T) / 2n``."""
    sq = _squared_distances(x)
    n = sq.shape[0]
    target = np.log(perplexity)
    conditional = np.zeros((n, n))
    for i in range(n):
        row = np.delete(sq[i], i)
        beta, low, high = 1.0 / max(float(np.median(row)), 1e-12), 0.0, np.inf
        for _ in range(64):
            w = np.exp(-(row - row.min()) * beta)
            total = w.sum()
            probabilities = w / total
            entropy = np.log(total) + beta * float(((row - row.min()) * probabilities).sum())
            if abs(entropy - target) < 1e-5:
                break
            if entropy > target:
                low, beta = beta, beta * 2.0 if high == np.inf else (beta + high) / 2.0
            else:
                high, beta = beta, (beta + low) / 2.0
        conditional[i, np.arange(n) != i] = probabilities
    joint = (conditional + conditional.T) / (2.0 * n)
    return np.maximum(joint, 1e-12)


def plot_tsne_3d(
    points: ArrayLike,
    groups: ArrayLike,
    path: str | Path,
    *,
    title: str = "t-SNE of the embeddings (3-D)",
) -> Path:
    """A 3-D scatter of t-SNE coordinates ``points`` ``(n, 3)``, one colour per group name in
    ``groups`` ``(n,)`` (e.g. "query", "true face", "gallery"); written as PNG atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # matplotlib loads only for plots
    from matplotlib.figure import Figure  # matplotlib loads only for plots

    coords = np.asarray(points, dtype=np.float64)
    names = np.asarray(groups)
    if coords.ndim != 2 or coords.shape[1] != 3 or names.shape != (coords.shape[0],):
        raise ValueError(f"points must be (n, 3) with groups (n,); got {coords.shape} and {names.shape}.")
    styles = {"gallery": ("#9e9e9e", "o", 10), "true face": ("#2ca02c", "s", 28), "query": ("#d62728", "^", 34)}
    fig = Figure(figsize=(6.4, 5.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(projection="3d")
    for name in [g for g in ("gallery", "true face", "query") if g in set(names.tolist())] + sorted(set(names.tolist()) - set(styles)):
        colour, marker, size = styles.get(name, ("#1f77b4", "o", 12))
        chosen = names == name
        ax.scatter(coords[chosen, 0], coords[chosen, 1], coords[chosen, 2], c=colour, marker=marker, s=size,
                   alpha=0.85 if name != "gallery" else 0.45, label=f"{name} (n = {int(chosen.sum())})", depthshade=False)
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.set_zlabel("t-SNE 3")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")

    target = Path(path)
    with atomic_path(target) as temporary:
        fig.savefig(temporary, format="png")
    return target
