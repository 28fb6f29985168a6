"""Image and pixel anomaly metrics computed the way the official MVTec AD / VisA evaluation code computes them."""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from scipy.ndimage import label
from sklearn.metrics import precision_recall_curve, roc_auc_score

from gradad.data.base import CategoryData

AU_PRO_FPR_LIMIT = 0.3
EIGHT_CONNECTED = np.ones((3, 3), dtype=int)


def resize_map(anomaly_map: np.ndarray, shape) -> np.ndarray:
    """Bilinearly resize a score map to a mask's HxW (align_corners=False): metrics are taken at mask resolution."""
    arr = np.asarray(anomaly_map, dtype=np.float32)
    if arr.ndim > 2 and all(d == 1 for d in arr.shape[:-2]):
        arr = arr.reshape(arr.shape[-2:])
    if arr.ndim != 2:
        raise ValueError(f"an anomaly map must be 2-D (H, W), got shape {arr.shape}")
    size = (int(shape[-2]), int(shape[-1]))
    if arr.shape == size:
        return arr
    import torch  # imported here so that reading results does not pay for torch

    t = torch.from_numpy(np.ascontiguousarray(arr))[None, None]
    out = torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=False)
    return out[0, 0].numpy()


def _image_arrays(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """Validated label/score arrays: AUROC and F1 are undefined without both classes or with NaN scores."""
    y = np.asarray(labels).astype(int).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    if not np.isfinite(s).all():
        raise ValueError("image scores contain NaN or infinite values")
    if set(np.unique(y).tolist()) != {0, 1}:
        raise ValueError("image metrics need both normal (0) and anomalous (1) images")
    return y, s


def image_auroc(labels, scores) -> float:
    """Area under the image-level ROC curve (anomalous = positive)."""
    y, s = _image_arrays(labels, scores)
    return float(roc_auc_score(y, s))


def image_f1_max(labels, scores) -> float:
    """Best F1 over all thresholds of the precision-recall curve; 0/0 counts as 0 so degenerate points cannot win."""
    y, s = _image_arrays(labels, scores)
    precision, recall, _ = precision_recall_curve(y, s)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    return float(f1.max())


def group_auroc(labels, scores, types, members) -> float | None:
    """AUROC of the anomalous images whose type is in `members` against all good images; None for an empty group."""
    y = np.asarray(labels).astype(int).ravel()
    t = np.asarray(types, dtype=object).ravel()
    chosen = (y == 1) & np.isin(t, list(members))
    if not chosen.any() or not (y == 0).any():
        return None
    keep = (y == 0) | chosen
    return image_auroc(y[keep], np.asarray(scores, dtype=np.float64).ravel()[keep])


def per_type_auroc(labels, scores, types) -> dict[str, float]:
    """Each defect type's images against all good images, keyed by defect type."""
    y = np.asarray(labels).astype(int).ravel()
    t = np.asarray(types, dtype=object).ravel()
    return {str(d): group_auroc(y, scores, t, [d]) for d in sorted(set(t[y == 1].tolist()))}


def _ranked_pixels(masks, maps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pixels of all images pooled at ground-truth resolution and sorted once by descending score.

    Returns each sorted pixel's region id (0 = normal; 8-connected components numbered across images), a mask
    marking the last pixel of each run of equal scores (so ties turn positive together), and the pixel count of
    each id. Sorting once serves both pixel AUROC and PRO, which matters at 10^8 pixels.
    """
    if len(masks) != len(maps):
        raise ValueError(f"{len(masks)} masks but {len(maps)} anomaly maps")
    score_parts, region_parts, sizes = [], [], [0]
    for mask, amap in zip(masks, maps):
        gt = np.asarray(mask).astype(bool)
        regions, n = label(gt, structure=EIGHT_CONNECTED)
        counts = np.bincount(regions.ravel(), minlength=n + 1)
        regions[regions > 0] += len(sizes) - 1
        sizes[0] += int(counts[0])
        sizes.extend(counts[1:].tolist())
        score_parts.append(resize_map(amap, gt.shape).ravel())
        region_parts.append(regions.ravel())
    scores = np.concatenate(score_parts)
    del score_parts
    if not np.isfinite(scores).all():
        raise ValueError("anomaly maps contain NaN or infinite values")
    order = np.argsort(scores)[::-1]
    scores = scores[order]
    keep = np.append(scores[1:] != scores[:-1], True)
    del scores
    regions = np.concatenate(region_parts)[order]
    return regions, keep, np.asarray(sizes, dtype=np.int64)


def _roc_auc(regions, keep, sizes) -> float:
    positives = len(regions) - sizes[0]
    if positives == 0 or sizes[0] == 0:
        raise ValueError("pixel AUROC needs both normal and anomalous pixels")
    normal = regions == 0
    fpr = np.concatenate(([0.0], np.cumsum(normal)[keep] / sizes[0]))
    tpr = np.concatenate(([0.0], np.cumsum(~normal)[keep] / positives))
    return trapezoid(fpr, tpr)


def _pro_curve(regions, keep, sizes) -> tuple[np.ndarray, np.ndarray]:
    num_regions = len(sizes) - 1
    if num_regions == 0 or sizes[0] == 0:
        raise ValueError("PRO needs at least one anomalous region and one normal pixel")
    fpr = np.cumsum(regions == 0)[keep] / sizes[0]
    weights = np.zeros(len(sizes))
    weights[1:] = 1.0 / sizes[1:]
    pro = np.cumsum(weights[regions])[keep] / num_regions
    fpr, pro = np.clip(fpr, 0.0, 1.0), np.clip(pro, 0.0, 1.0)
    return np.concatenate(([0.0], fpr, [1.0])), np.concatenate(([0.0], pro, [1.0]))


def pixel_auroc(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray]) -> float:
    """ROC AUC over every test pixel of every image (good ones included), pooled rather than averaged per image.

    Equal to sklearn's roc_auc_score on the flattened pixels (tested), computed from the sort PRO needs anyway
    because sklearn's several sorts of 10^8 float64 pixels cost minutes and gigabytes.
    """
    return _roc_auc(*_ranked_pixels(masks, maps))


def pro_curve(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The full (FPR, PRO) curve, ascending, from one sort of all pixel scores as MVTec's `compute_pro` does.

    Regions are 8-connected components of each mask. Each region pixel adds 1/(num_regions * region_size) to PRO
    and each normal pixel 1/num_normal_pixels to FPR; only the last index of each run of equal scores is kept.
    The curve starts at (0, 0) and ends at (1, 1).
    """
    return _pro_curve(*_ranked_pixels(masks, maps))


def trapezoid(x, y, x_max: float | None = None) -> float:
    """Trapezoid area under y(x) up to x_max, interpolating the end point at x_max (MVTec's `trapezoid`).

    x must be ascending and may repeat (vertical steps). Non-finite points are dropped with a warning.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.all():
        warnings.warn("trapezoid: dropping non-finite curve points", RuntimeWarning, stacklevel=2)
        x, y = x[finite], y[finite]
    correction = 0.0
    if x_max is not None:
        if x_max not in x:
            ins = int(np.searchsorted(x, x_max, side="right"))
            if not 0 < ins < len(x):
                raise ValueError(f"x_max={x_max} lies outside the curve's range [{x[0]}, {x[-1]}]")
            y_interp = y[ins - 1] + (y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (x[ins] - x[ins - 1])
            correction = 0.5 * (y_interp + y[ins - 1]) * (x_max - x[ins - 1])
        inside = x <= x_max
        x, y = x[inside], y[inside]
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * (x[1:] - x[:-1])) + correction)


def _au_pro(ranked, fpr_limit: float) -> float:
    if not 0 < fpr_limit <= 1:
        raise ValueError(f"fpr_limit must lie in (0, 1], got {fpr_limit}")
    fpr, pro = _pro_curve(*ranked)
    return trapezoid(fpr, pro, x_max=fpr_limit) / fpr_limit


def au_pro(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray], fpr_limit: float = AU_PRO_FPR_LIMIT) -> float:
    """Area under the PRO curve from FPR 0 to fpr_limit, divided by fpr_limit so that a perfect map scores 1."""
    return _au_pro(_ranked_pixels(masks, maps), fpr_limit)


def _load_masks(data: CategoryData) -> list[np.ndarray | None]:
    """Ground-truth masks at image resolution, read by the data layer (imported lazily: it is optional here)."""
    from gradad.data.images import image_size, read_mask

    masks = []
    for sample in data.test:
        shape = image_size(sample.path)
        mask = read_mask(sample, shape)
        masks.append(np.zeros(shape, bool) if mask is None and sample.label == 0 else mask)
    return masks


def _load_layers(data: CategoryData) -> list[list[np.ndarray]]:
    from gradad.data.images import read_mask_layers

    return [list(read_mask_layers(s) or []) if s.label == 1 else [] for s in data.test]


def evaluate_category(
    data: CategoryData,
    scores: Sequence[float],
    maps: Sequence[np.ndarray],
    masks: Sequence[np.ndarray | None] | None = None,
    type_groups: dict[str, str] | None = None,
    layers: Sequence[Sequence[np.ndarray]] | None = None,
) -> dict:
    """All metrics of one category's test split, in the flat form results.json stores.

    scores and maps follow data.test. masks default to the data layer's ground truth; a None mask for a good
    image means all-normal at the map's resolution. Pixel metrics are None (with a warning, never 0) unless every
    anomalous image has a mask. type_groups maps defect types to groups, each reported as auroc_<group> against
    all good images. For MVTec LOCO, layers are the per-image mask layer images for sPRO (default: read by the
    data layer when data.defects_config is present; given layers also stand in for missing masks as their union).
    A NaN or infinite score or map raises ValueError naming the image, since it would silently skew every metric.
    """
    samples = data.test
    if not (len(samples) == len(scores) == len(maps)):
        raise ValueError(f"{len(samples)} test images but {len(scores)} scores and {len(maps)} maps")
    if masks is not None and len(masks) != len(samples):
        raise ValueError(f"{len(samples)} test images but {len(masks)} masks")
    s = np.asarray(scores, dtype=np.float64).ravel()
    for sample, score, amap in zip(samples, s, maps):
        if not np.isfinite(score) or not np.isfinite(np.asarray(amap, dtype=np.float64)).all():
            raise ValueError(f"{sample.path}: image score or anomaly map is NaN or infinite")
    labels = np.array([x.label for x in samples], dtype=int)
    types = np.array([x.defect_type for x in samples], dtype=object)
    name = f"{data.dataset}/{data.category}"
    is_loco = data.dataset == "loco"

    out: dict = {
        "dataset": data.dataset,
        "category": data.category,
        "num_images": len(samples),
        "num_anomalous": int(labels.sum()),
    }
    if 0 < labels.sum() < len(labels):
        out["image_auroc"] = image_auroc(labels, s)
        out["image_f1_max"] = image_f1_max(labels, s)
    else:
        warnings.warn(f"{name}: the test split lacks normal or anomalous images; image metrics are absent",
                      stacklevel=2)
        out["image_auroc"] = out["image_f1_max"] = None

    if masks is None and layers is not None:
        masks = [np.any([np.asarray(x) > 0 for x in ls], axis=0) if len(ls) else None for ls in layers]
    elif masks is None and data.has_pixel_masks:
        masks = _load_masks(data)
    if is_loco and layers is None and data.defects_config and data.has_pixel_masks:
        layers = _load_layers(data)
    has_pixels = masks is not None and all(m is not None for m, y in zip(masks, labels) if y == 1) and labels.any()
    out["pixel_auroc"] = out["au_pro"] = None
    out["au_pro_fpr_limit"] = AU_PRO_FPR_LIMIT
    gt_maps = list(maps)
    if has_pixels:
        gts = [
            np.zeros(np.asarray(a).shape[-2:], bool) if m is None else np.asarray(m).astype(bool)
            for m, a in zip(masks, maps)
        ]
        gt_maps = [resize_map(a, g.shape) for a, g in zip(maps, gts)]
        ranked = _ranked_pixels(gts, gt_maps)
        out["pixel_auroc"] = _roc_auc(*ranked)
        out["au_pro"] = _au_pro(ranked, AU_PRO_FPR_LIMIT)
        del ranked
    else:
        warnings.warn(f"{name}: some anomalous test images have no ground-truth mask; pixel metrics are absent",
                      stacklevel=2)

    out["per_type_auroc"] = per_type_auroc(labels, s, types) if 0 < labels.sum() < len(labels) else {}
    for group in sorted(set((type_groups or {}).values())):
        members = [t for t, g in type_groups.items() if g == group]
        out[f"auroc_{group}"] = group_auroc(labels, s, types, members)

    if is_loco:
        from gradad.evaluation import loco

        out.update(loco.loco_aurocs(labels, s, types))
        out.update({"au_spro": None, "au_spro_logical": None, "au_spro_structural": None})
        out["au_spro_fpr_limit"] = loco.AU_SPRO_FPR_LIMIT
        if has_pixels and layers is not None and data.defects_config:
            out.update(loco.loco_au_spros(layers, gt_maps, types, data.defects_config))
        else:
            warnings.warn(f"{name}: mask layers or defects_config.json missing; AU-sPRO is absent", stacklevel=2)
    return out
