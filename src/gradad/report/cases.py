"""The report's worst cases: the highest-scoring good test images and the lowest-scoring anomalous ones.

Each case shows the image and its anomaly map overlaid, both with the ground-truth outline, because where the map
fires (or fails to) says more about a miss than its score does.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image

from gradad.data import Sample, read_image, read_mask
from gradad.evaluation import resize_map
from gradad.report.plots import figure_uri, new_figure

DISPLAY = 224  # longest side of a panel, pixels: enough to see a defect, small enough to embed
OUTLINE = "#00e676"


def worst(samples: Sequence[Sample], scores: Sequence[float], label: int, k: int) -> list[int]:
    """Indices of the k test images of `label` the model gets most wrong (good: highest score; anomalous: lowest)."""
    chosen = [i for i, s in enumerate(samples) if s.label == label]
    return sorted(chosen, key=lambda i: scores[i], reverse=label == 0)[:k]


def map_range(maps: Sequence[np.ndarray]) -> tuple[float, float]:
    """One colour scale for every panel (1st to 99.9th percentile of all test map values), so panels compare."""
    values = np.concatenate([np.asarray(m, np.float32).ravel() for m in maps])
    lo, hi = np.percentile(values, [1, 99.9])
    return float(lo), float(hi if hi > lo else lo + 1e-6)


def _display(sample: Sample) -> tuple[np.ndarray, np.ndarray | None]:
    """The image shrunk to DISPLAY and its ground truth at the same size (None when it has no mask)."""
    image = read_image(sample.path)
    mask = read_mask(sample, image.shape)
    h, w = image.shape[:2]
    scale = min(1.0, DISPLAY / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))
    if mask is not None:
        mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.NEAREST)) > 0
    return small, mask


def case_grid(samples: Sequence[Sample], predictions, indices: Sequence[int], threshold: float | None,
              vrange: tuple[float, float]) -> str | None:
    """Two rows (image, map overlay) by one column per case, with a shared colour bar; None without cases."""
    if not indices:
        return None
    cols = len(indices)
    fig = new_figure(0.9 + 2.3 * cols, 4.9)
    axes = fig.subplots(2, cols, squeeze=False)
    shown = None
    for c, i in enumerate(indices):
        sample, pred = samples[i], predictions[i]
        image, mask = _display(sample)
        amap = resize_map(pred.anomaly_map, image.shape[:2])
        axes[0, c].imshow(image)
        axes[1, c].imshow(image)
        shown = axes[1, c].imshow(amap, cmap="inferno", alpha=0.55, vmin=vrange[0], vmax=vrange[1])
        if mask is not None and mask.any():
            for ax in axes[:, c]:
                ax.contour(mask, levels=[0.5], colors=OUTLINE, linewidths=1.2)
        verdict = "" if threshold is None else (" (flagged)" if pred.score > threshold else " (passed)")
        axes[0, c].set_title(f"{sample.defect_type} · {sample.path.name}\nscore {pred.score:.4g}{verdict}",
                             fontsize=8.5)
        for ax in axes[:, c]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("image", fontsize=9)
    axes[1, 0].set_ylabel("anomaly map", fontsize=9)
    fig.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.85, pad=0.01, label="map value")
    return figure_uri(fig)
