"""MVTec LOCO AD metrics: logical/structural AUROCs and AU-sPRO, following the official LOCO evaluation code."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from gradad.evaluation.metrics import group_auroc, resize_map, trapezoid

LOGICAL = "logical_anomalies"
STRUCTURAL = "structural_anomalies"
AU_SPRO_FPR_LIMIT = 0.05
MAX_THRESHOLDS = 10_000
SAMPLE_BUDGET = 2_000_000


def loco_aurocs(labels, scores, types) -> dict[str, float | None]:
    """auroc_logical (good + logical), auroc_structural (good + structural) and their mean: LOCO's headline numbers."""
    logical = group_auroc(labels, scores, types, [LOGICAL])
    structural = group_auroc(labels, scores, types, [STRUCTURAL])
    mean = None if logical is None or structural is None else (logical + structural) / 2
    return {"auroc_logical": logical, "auroc_structural": structural, "auroc_mean": mean}


def saturation_area(defect_area: int, defect: Mapping) -> int:
    """Pixels of overlap at which a region's sPRO saturates to 1, as the official `get_saturation_area`.

    Relative: int(saturation_threshold * area); absolute: saturation_threshold capped at the area. Raised to at
    least 1 so that a tiny region cannot give 0/0 (the official code would yield NaN there).
    """
    threshold = defect["saturation_threshold"]
    if defect["relative_saturation"]:
        area = int(threshold * defect_area)
    else:
        area = min(int(threshold), int(defect_area))
    return max(area, 1)


def _thresholds(maps: Sequence[np.ndarray], max_thresholds: int) -> np.ndarray:
    """Ascending thresholds: -inf (all positive), then the distinct scores, or equal-count quantiles of them when
    there are more than max_thresholds, ending at the maximum score (nothing positive).

    Beyond SAMPLE_BUDGET pixels the scores come from a seeded sample per image, as the official code samples.
    """
    rng = np.random.default_rng(0)
    subsample = sum(m.size for m in maps) > SAMPLE_BUDGET
    per_image = max(1, SAMPLE_BUDGET // max(len(maps), 1))
    parts = [
        rng.choice(m.ravel(), per_image, replace=False) if subsample and m.size > per_image else m.ravel()
        for m in maps
    ]
    sample = np.unique(np.concatenate(parts))
    top = max(float(m.max()) for m in maps)
    if len(sample) > max_thresholds:
        sample = np.unique(sample[np.linspace(0, len(sample) - 1, max_thresholds - 1).astype(int)])
    return np.unique(np.concatenate(([-np.inf], sample, [top])))


def _positives(bins: np.ndarray, num_thresholds: int) -> np.ndarray:
    """Per threshold, how many of the given pixels score strictly above it (bins = thresholds below each score)."""
    hist = np.bincount(bins, minlength=num_thresholds + 1)
    return np.cumsum(hist[::-1])[::-1][1:]


def _image_counts(layers: Sequence[np.ndarray], amap: np.ndarray, thresholds: np.ndarray, by_value: dict):
    """False-positive counts, normal-pixel count and per-region sPRO arrays of one image at every threshold."""
    k = len(thresholds)
    if len(layers) == 0:
        bins = np.searchsorted(thresholds, amap.ravel(), side="left")
        return _positives(bins, k), amap.size, []
    union = np.zeros(np.asarray(layers[0]).shape[:2], bool)
    spros = []
    bins = None
    for i, layer in enumerate(layers):
        layer = np.asarray(layer)
        if layer.ndim != 2:
            raise ValueError(f"mask layer {i} must be a 2-D integer image, got shape {layer.shape}")
        values = np.unique(layer[layer > 0])
        if len(values) != 1:
            raise ValueError(f"mask layer {i} must hold exactly one defect pixel value, found {values.tolist()}")
        if int(values[0]) not in by_value:
            raise ValueError(f"mask layer {i} has pixel value {int(values[0])}, which defects_config.json lacks")
        if bins is None:
            bins = np.searchsorted(thresholds, resize_map(amap, layer.shape).ravel(), side="left")
        region = (layer > 0).ravel()
        sat = saturation_area(int(region.sum()), by_value[int(values[0])])
        spros.append(np.minimum(_positives(bins[region], k) / sat, 1.0))
        union |= layer > 0
    normal = ~union.ravel()
    return _positives(bins[normal], k), int(normal.sum()), spros


def _curve(counts, thresholds: np.ndarray):
    fp = np.sum([c[0] for c in counts], axis=0)
    normal = sum(c[1] for c in counts)
    spros = [s for c in counts for s in c[2]]
    if not spros or normal == 0:
        raise ValueError("sPRO needs at least one defect region and one defect-free pixel")
    fpr = fp / normal
    spro = np.mean(spros, axis=0)
    return fpr[::-1], spro[::-1], thresholds[::-1]


def _all_counts(layers, maps, defects_config, max_thresholds):
    if len(layers) != len(maps):
        raise ValueError(f"{len(layers)} mask layer lists but {len(maps)} anomaly maps")
    by_value = {int(d["pixel_value"]): d for d in defects_config}
    arrays = [np.asarray(m, dtype=np.float32) for m in maps]
    thresholds = _thresholds(arrays, max_thresholds)
    return [_image_counts(ls, a, thresholds, by_value) for ls, a in zip(layers, arrays)], thresholds


def spro_curve(
    layers: Sequence[Sequence[np.ndarray]],
    maps: Sequence[np.ndarray],
    defects_config: Sequence[Mapping],
    max_thresholds: int = MAX_THRESHOLDS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(FPR, mean sPRO, threshold) points in ascending FPR, from (0, 0) to (1, 1).

    layers[i] are image i's mask layers (one region each; empty for good images); each map is resized to its
    layers' size, good images' maps are used as given. A pixel is positive when its score is strictly above the
    threshold, as in the official code. The values are exact at every threshold returned (each region's scores
    are histogrammed over the thresholds). With at most max_thresholds distinct scores (and SAMPLE_BUDGET pixels)
    the thresholds are all of them and the curve is exact everywhere; otherwise they are score quantiles, between
    which the curve is linear, as the official code interpolates between its adaptively refined thresholds.

    FPR: false positives over all defect-free pixels of the evaluated images (good images plus the pixels of
    anomalous images outside every layer), exactly as the official `get_fp_areas_for_thresholds`/`get_fp_rates`.
    """
    counts, thresholds = _all_counts(layers, maps, defects_config, max_thresholds)
    return _curve(counts, thresholds)


def au_spro(
    layers: Sequence[Sequence[np.ndarray]],
    maps: Sequence[np.ndarray],
    defects_config: Sequence[Mapping],
    fpr_limit: float = AU_SPRO_FPR_LIMIT,
    max_thresholds: int = MAX_THRESHOLDS,
) -> float:
    """Area under the sPRO curve up to fpr_limit (end point interpolated), divided by fpr_limit."""
    fpr, spro, _ = spro_curve(layers, maps, defects_config, max_thresholds)
    return trapezoid(fpr, spro, x_max=fpr_limit) / fpr_limit


def loco_au_spros(
    layers: Sequence[Sequence[np.ndarray]],
    maps: Sequence[np.ndarray],
    types: Sequence[str],
    defects_config: Sequence[Mapping],
    fpr_limit: float = AU_SPRO_FPR_LIMIT,
    max_thresholds: int = MAX_THRESHOLDS,
) -> dict[str, float | None]:
    """AU-sPRO over all test images and over good+logical and good+structural, sharing one threshold set as the
    official evaluation does; a subset without regions gives None."""
    counts, thresholds = _all_counts(layers, maps, defects_config, max_thresholds)
    types = list(types)
    out: dict[str, float | None] = {}
    for key, kinds in (("au_spro", None), ("au_spro_logical", {LOGICAL}), ("au_spro_structural", {STRUCTURAL})):
        subset = [c for c, t in zip(counts, types) if kinds is None or t == "good" or t in kinds]
        if not any(c[2] for c in subset):
            out[key] = None
            continue
        fpr, spro, _ = _curve(subset, thresholds)
        out[key] = trapezoid(fpr, spro, x_max=fpr_limit) / fpr_limit
    return out
