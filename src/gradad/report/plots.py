"""The report's charts, drawn with matplotlib's Agg canvas and returned as embeddable PNG data URIs.

Figures are built with `matplotlib.figure.Figure` rather than pyplot, so the report never touches the global
backend or figure registry of a program (or notebook) that imports gradad.
"""
from __future__ import annotations

import base64
import io
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

NORMAL_COLOUR = "#3b7dd8"
ANOMALY_COLOUR = "#d9534f"
ACCENT = "#444444"


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_uri(fig: Figure, dpi: int = 100) -> str:
    return data_uri(png_bytes(fig, dpi))


def _style(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def roc_plot(labels: Sequence[int], scores: Sequence[float], auroc: float | None) -> str | None:
    """Image-level ROC curve; None when the test split lacks one of the two classes."""
    from sklearn.metrics import roc_curve

    y = np.asarray(labels, dtype=int)
    if len(set(y.tolist())) < 2:
        return None
    fpr, tpr, _ = roc_curve(y, np.asarray(scores, dtype=np.float64))
    fig = new_figure(4.6, 4.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls=":", color="#999999", lw=1)
    label = "GRAD" if auroc is None else f"AUROC {auroc:.3f}"
    ax.plot(fpr, tpr, color=ANOMALY_COLOUR, lw=2, label=label, drawstyle="steps-post")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right", frameon=False)
    ax.set_title("Image ROC")
    _style(ax, "false positive rate (good images flagged)", "true positive rate")
    return figure_uri(fig)


def pro_plot(fpr: np.ndarray, pro: np.ndarray, limit: float, au_pro: float | None) -> str:
    """PRO over pixel FPR, with the integration limit of AU-PRO marked and its area shaded."""
    fig = new_figure(4.6, 4.0)
    ax = fig.add_subplot()
    inside = fpr <= limit
    ax.fill_between(fpr[inside], pro[inside], color=ANOMALY_COLOUR, alpha=0.15, lw=0)
    ax.plot(fpr, pro, color=ANOMALY_COLOUR, lw=2)
    ax.axvline(limit, color=ACCENT, ls="--", lw=1.2)
    ax.text(limit + 0.02, 0.97, f"FPR limit {limit:g}", color=ACCENT, fontsize=9, va="top",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title("PRO curve" + ("" if au_pro is None else f" (AU-PRO {au_pro:.3f})"))
    _style(ax, "pixel false positive rate", "per-region overlap")
    return figure_uri(fig)


def score_histogram(normal: Sequence[float], anomalous: Sequence[float], threshold: float | None) -> str:
    """Image scores of good and anomalous test images, with the decision threshold."""
    both = np.concatenate([np.asarray(normal, float), np.asarray(anomalous, float)])
    if threshold is not None:
        both = np.append(both, threshold)
    lo, hi = float(both.min()), float(both.max())
    bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 31)
    fig = new_figure(7.6, 3.4)
    ax = fig.add_subplot()
    if len(normal):
        ax.hist(normal, bins=bins, color=NORMAL_COLOUR, alpha=0.6, label=f"good ({len(normal)})")
    if len(anomalous):
        ax.hist(anomalous, bins=bins, color=ANOMALY_COLOUR, alpha=0.6, label=f"anomalous ({len(anomalous)})")
    if threshold is not None:
        ax.axvline(threshold, color=ACCENT, ls="--", lw=1.5, label=f"threshold {threshold:.4g}")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Image scores on the test split")
    _style(ax, "image score", "images")
    return figure_uri(fig)


def loss_curves(curves: dict[str, tuple[Sequence[float], int]]) -> str | None:
    """One panel per training loss, given as (curve, total steps): curves are stored thinned to at most 200
    chunk means, so points are spread over the steps they summarise. None without any curve."""
    curves = {k: v for k, v in curves.items() if v[0]}
    if not curves:
        return None
    fig = new_figure(4.2 * len(curves), 3.2)
    for i, (name, (values, steps)) in enumerate(curves.items()):
        ax = fig.add_subplot(1, len(curves), i + 1)
        x = np.linspace(1, max(steps, len(values)), len(values))
        ax.plot(x, values, color=NORMAL_COLOUR if i == 0 else ANOMALY_COLOUR, lw=1.5,
                marker="." if len(x) < 30 else None)
        ax.set_title(name)
        _style(ax, "training step", "loss")
    return figure_uri(fig)
