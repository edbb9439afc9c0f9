"""Evaluation figures as PNG files: Tippett, Recall/mAP over k, CMC, score histograms, ROC,
training curves.

matplotlib is imported inside each function, and figures are drawn on a bare
``matplotlib.figure.Figure`` with the Agg canvas (never ``pyplot``), so plotting leaves no
global state, works from a worker thread and never opens a window. Every file is written
to a temporary name in the target folder and renamed into place, so a reader never sees a
half-written PNG. Each function returns the path it wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from crossid_desktop.evaluation.calibration import TippettData, tippett_data
from crossid_desktop.evaluation.verification import score_distributions
from crossid_desktop.paths import atomic_path

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "plot_cmc",
    "plot_recall_curves",
    "plot_roc",
    "plot_score_histograms",
    "plot_tippett",
    "plot_training_curves",
]

_GENUINE_COLOUR = "#1f77b4"
_IMPOSTOR_COLOUR = "#d62728"


def plot_tippett(
    data: TippettData | tuple[ArrayLike, ArrayLike],
    path: str | Path,
    *,
    title: str = "Tippett plot",
) -> Path:
    """Tippett plot: the proportion of comparisons whose log10 LR exceeds x, against x.

    ``data``: a :class:`TippettData` or ``(lrs_genuine, lrs_impostor)``. Genuine
    (same-person) comparisons should lie to the right of log10 LR = 0, impostors to the left;
    the legend gives the rates of misleading evidence.
    """
    if not isinstance(data, TippettData):
        data = tippett_data(*data)
    fig, ax = _figure()
    ax.step(data.log10_lr, data.genuine_above, where="post", color=_GENUINE_COLOUR,
            label=f"same person (misleading, LR < 1: {100 * data.misleading_genuine:.1f} %)")
    ax.step(data.log10_lr, data.impostor_above, where="post", color=_IMPOSTOR_COLOUR, linestyle="--",
            label=f"different persons (misleading, LR > 1: {100 * data.misleading_impostor:.1f} %)")
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("log10 likelihood ratio, x")
    ax.set_ylabel("proportion of comparisons with log10 LR > x")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(data.log10_lr[0], data.log10_lr[-1])
    return _finish(fig, ax, title, path)


def plot_recall_curves(
    ks: ArrayLike,
    recall: ArrayLike,
    map: ArrayLike,  # noqa: A002 - the metric's name
    path: str | Path,
    *,
    mrr: ArrayLike | None = None,
    title: str = "Retrieval over k",
) -> Path:
    """Recall@k and mAP@k (and MRR@k when given) against k, the number of candidates shown."""
    fig, ax = _figure()
    ks = np.asarray(ks)
    ax.plot(ks, np.asarray(recall), marker="o", markersize=3, label="Recall@k")
    ax.plot(ks, np.asarray(map), marker="s", markersize=3, label="mAP@k")
    if mrr is not None:
        ax.plot(ks, np.asarray(mrr), marker="^", markersize=3, label="MRR@k")
    _integer_ticks(ax)
    ax.set_xlabel("k (candidates in the list)")
    ax.set_ylabel("value (fraction, 0-1)")
    ax.set_ylim(-0.02, 1.02)
    return _finish(fig, ax, title, path)


def plot_cmc(
    curves: ArrayLike | Mapping[str, ArrayLike],
    path: str | Path,
    *,
    title: str = "Cumulative match characteristic",
) -> Path:
    """CMC curve(s): identification rate at rank r for r = 1..R. ``curves`` is one ``(R,)``
    array or a mapping of legend name to array (e.g. one per model)."""
    named = dict(curves) if isinstance(curves, Mapping) else {"": curves}
    fig, ax = _figure()
    for name, curve in named.items():
        values = np.asarray(curve, dtype=np.float64)
        ax.plot(np.arange(1, values.size + 1), values, marker="o", markersize=3, label=name or None)
    _integer_ticks(ax)
    ax.set_xlabel("rank r")
    ax.set_ylabel("identification rate (fraction of probes, 0-1)")
    ax.set_ylim(-0.02, 1.02)
    return _finish(fig, ax, title, path, legend=any(named))


def plot_score_histograms(
    genuine_scores: ArrayLike,
    impostor_scores: ArrayLike,
    path: str | Path,
    *,
    bins: int = 30,
    score_label: str = "score (higher = more similar)",
    title: str = "Genuine and impostor scores",
) -> Path:
    """Density histograms of genuine and impostor scores on common bins."""
    hist = score_distributions(genuine_scores, impostor_scores, bins)
    fig, ax = _figure()
    centres, widths = 0.5 * (hist.edges[1:] + hist.edges[:-1]), np.diff(hist.edges)
    ax.bar(centres, hist.genuine_density, width=widths, alpha=0.55, color=_GENUINE_COLOUR,
           label=f"genuine (n = {int(hist.genuine_counts.sum())})")
    ax.bar(centres, hist.impostor_density, width=widths, alpha=0.55, color=_IMPOSTOR_COLOUR,
           label=f"impostor (n = {int(hist.impostor_counts.sum())})")
    ax.set_xlabel(score_label)
    ax.set_ylabel("density (per score unit)")
    return _finish(fig, ax, title, path)


def plot_roc(
    far: ArrayLike,
    gar: ArrayLike,
    path: str | Path,
    *,
    log_far: bool = False,
    title: str = "ROC",
) -> Path:
    """ROC: genuine accept rate against false accept rate (steps, as measured)."""
    far_values, gar_values = np.asarray(far, dtype=np.float64), np.asarray(gar, dtype=np.float64)
    fig, ax = _figure()
    ax.step(far_values, gar_values, where="post", color=_GENUINE_COLOUR)
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
    if log_far:
        ax.set_xscale("log")
        ax.set_xlim(max(far_values[far_values > 0].min(initial=1.0) / 2, 1e-6), 1.0)
    else:
        ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("false accept rate (FAR, fraction)")
    ax.set_ylabel("genuine accept rate (GAR, fraction)")
    return _finish(fig, ax, title, path, legend=False)


def plot_training_curves(
    log_rows: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    x_key: str = "epoch",
    title: str = "Training",
) -> Path:
    """Training curves from a log, one row a dict per epoch (e.g. ``{"epoch": 1,
    "train_loss": 0.8, "val_loss": 0.9, "train_acc": 0.6, "val_acc": 0.5}``).

    Columns with "loss" in their name go to the left panel, other numeric columns (accuracy,
    recall...) to the right one. Rows lacking a column leave a gap.
    """
    if not log_rows:
        raise ValueError("The training log is empty: nothing to plot.")
    keys = [k for k in dict.fromkeys(k for row in log_rows for k in row) if k != x_key]
    numeric = [k for k in keys if all(isinstance(row.get(k, 0.0), (int, float, np.number)) for row in log_rows)]
    losses = [k for k in numeric if "loss" in k]
    others = [k for k in numeric if "loss" not in k]
    x = [row.get(x_key, i + 1) for i, row in enumerate(log_rows)]
    fig, axes = _figure(panels=2 if losses and others else 1)
    for ax, group, ylabel in zip(axes, [g for g in (losses, others) if g],
                                 [y for g, y in ((losses, "loss"), (others, "value")) if g]):
        for key in group:
            ax.plot(x, [float(row.get(key, np.nan)) for row in log_rows], marker="o", markersize=3, label=key)
        ax.set_xlabel(x_key)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    fig.suptitle(title)
    return _save(fig, path)


def _figure(panels: int = 0) -> tuple[Figure, Any]:
    """A bare Agg figure: ``(fig, ax)``, or ``(fig, [ax, ...])`` when ``panels`` is given."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # matplotlib loads only for plots
    from matplotlib.figure import Figure  # matplotlib loads only for plots

    fig = Figure(figsize=(6.4 * max(panels, 1) if panels > 1 else 6.4, 4.4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    if panels:
        return fig, list(np.atleast_1d(fig.subplots(1, panels)))
    return fig, fig.subplots()


def _integer_ticks(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator  # matplotlib loads only for plots

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _finish(fig: Figure, ax: Axes, title: str, path: str | Path, *, legend: bool = True) -> Path:
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(loc="best", fontsize="small")
    return _save(fig, path)


def _save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically (temporary file in the same folder, then
    rename)."""

    target = Path(path)
    with atomic_path(target) as temporary:
        fig.savefig(temporary, format="png")
    return target
