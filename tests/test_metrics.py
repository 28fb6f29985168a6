"""Metrics checked against hand-worked values, scikit-learn and brute-force threshold loops."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import label
from sklearn.metrics import roc_auc_score

from gradad.data.base import CategoryData, Sample
from gradad.evaluation import (
    au_pro,
    au_spro,
    evaluate_category,
    image_auroc,
    image_f1_max,
    loco_au_spros,
    loco_aurocs,
    per_type_auroc,
    pixel_auroc,
    pro_curve,
    resize_map,
    saturation_area,
    spro_curve,
    trapezoid,
)


# ---------------------------------------------------------------- image level

def test_image_auroc_and_f1_max_by_hand():
    labels, scores = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    # 3 of the 4 (anomalous, normal) pairs are ordered correctly.
    assert image_auroc(labels, scores) == pytest.approx(0.75)
    assert image_auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    # Thresholds 0.8 / 0.35 / 0.1 give (P, R) = (1, 1/2), (2/3, 1), (1/2, 1): F1 = 2/3, 4/5, 2/3.
    assert image_f1_max(labels, scores) == pytest.approx(0.8)


def test_f1_max_perfect_and_guarded():
    assert image_f1_max([0, 1, 1], [0.0, 1.0, 1.0]) == pytest.approx(1.0)
    # all scores tied: one threshold, P = 1/3, R = 1
    assert image_f1_max([0, 0, 1], [0.5, 0.5, 0.5]) == pytest.approx(0.5)


def test_image_metrics_reject_nan_and_single_class():
    with pytest.raises(ValueError):
        image_auroc([0, 1], [0.1, float("nan")])
    with pytest.raises(ValueError):
        image_f1_max([1, 1], [0.1, 0.2])


def test_per_type_auroc_uses_all_good_images():
    labels = [0, 0, 1, 1, 1]
    scores = [0.1, 0.4, 0.3, 0.5, 0.9]
    types = ["good", "good", "crack", "crack", "hole"]
    # crack: (0.3 > 0.1), (0.5 > 0.1), (0.5 > 0.4) of 4 pairs; hole beats both good images.
    assert per_type_auroc(labels, scores, types) == {"crack": pytest.approx(0.75), "hole": pytest.approx(1.0)}


# ---------------------------------------------------------------- pixel level

def test_resize_map_bilinear_half_pixel_centers():
    out = resize_map(np.array([[0.0, 1.0], [2.0, 3.0]]), (4, 4))
    # align_corners=False samples source coordinates -0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
    axis = np.array([0.0, 0.25, 0.75, 1.0])
    assert out.dtype == np.float32 and out.shape == (4, 4)
    np.testing.assert_allclose(out, axis[None, :] + 2 * axis[:, None], atol=1e-6)
    same = np.ones((3, 5), np.float64)
    assert resize_map(same, (3, 5)).dtype == np.float32


def test_pixel_auroc_pools_pixels_instead_of_averaging_images():
    masks = [np.array([[1, 0]]), np.array([[1, 0]])]
    maps = [np.array([[0.9, 0.8]]), np.array([[0.3, 0.2]])]
    # Each image alone is perfectly ranked (AUROC 1); pooled, 0.3 < 0.8 breaks one of the 4 pairs.
    assert pixel_auroc(masks, maps) == pytest.approx(0.75)


def test_pixel_auroc_resizes_maps_to_mask_size():
    mask = np.zeros((4, 4), bool)
    mask[:, 2:] = True
    low = np.array([[0.0, 1.0], [0.0, 1.0]])
    assert pixel_auroc([mask], [low]) == pytest.approx(1.0)
    good = np.zeros((4, 4), bool)
    assert pixel_auroc([mask, good], [low, np.full((2, 2), 0.9)]) < 1.0


def test_pixel_auroc_equals_sklearn_with_ties():
    rng = np.random.default_rng(0)
    masks = _random_masks(rng, 4, (10, 10))
    maps = [np.round(rng.random((5, 5)), 1) for _ in masks]
    flat_maps = np.concatenate([resize_map(a, (10, 10)).ravel() for a in maps])
    expected = roc_auc_score(np.concatenate([m.ravel() for m in masks]), flat_maps)
    assert pixel_auroc(masks, maps) == pytest.approx(expected, abs=1e-12)


def test_au_pro_by_hand():
    # Mask: region A = top-left 2x2 (4 px), region B = pixel (3, 3) (1 px), 11 normal pixels.
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True
    mask[3, 3] = True
    amap = np.full((4, 4), 0.1)
    amap[3, 3] = 0.9                   # B
    amap[0, 0] = amap[0, 1] = 0.8      # half of A ...
    amap[0, 2] = 0.8                   # ... tied with one normal pixel
    amap[0, 3] = amap[1, 2] = 0.5      # two normal pixels
    # A's other half ties with the 8 remaining normal pixels at 0.1.
    # Curve (FPR, PRO): >=0.9 (0, 1/2); >=0.8 (1/11, (1/2 + 1/2)/2 = 3/4); >=0.5 (3/11, 3/4); >=0.1 (1, 1).
    fpr, pro = pro_curve([mask], [amap])
    np.testing.assert_allclose(fpr, [0, 0, 1 / 11, 3 / 11, 1, 1])
    np.testing.assert_allclose(pro, [0, 0.5, 0.75, 0.75, 1, 1])
    # Up to FPR 0.5: the segment (3/11, 3/4)-(1, 1) gives PRO 3/4 + 1/4 * (2.5/11) / (8/11) = 0.828125 at 0.5.
    # Area = (1/2 + 3/4)/2 * 1/11 + 3/4 * 2/11 + (3/4 + 0.828125)/2 * 2.5/11 = 4.09765625 / 11; divided by 0.5.
    assert au_pro([mask], [amap], fpr_limit=0.5) == pytest.approx(8.1953125 / 11)


def test_pro_regions_are_eight_connected():
    mask = np.zeros((3, 3), bool)
    mask[0, 0] = mask[1, 1] = mask[1, 2] = True
    amap = np.zeros((3, 3))
    amap[0, 0] = 1.0
    _, pro = pro_curve([mask], [amap])
    # One diagonal-joined region of 3 px with 1 px found: 1/3. Four-connectivity would give (1 + 0) / 2.
    assert pro[1] == pytest.approx(1 / 3)


def _brute_pro_curve(masks, maps):
    regions = [label(m, structure=np.ones((3, 3)))[0] for m in masks]
    normal = sum(int((r == 0).sum()) for r in regions)
    fprs, pros = [0.0], [0.0]
    for t in np.unique(np.concatenate([a.ravel() for a in maps]))[::-1]:
        fp, overlaps = 0, []
        for r, a in zip(regions, maps):
            pred = a >= t
            fp += int((pred & (r == 0)).sum())
            overlaps += [(pred & (r == k)).sum() / (r == k).sum() for k in range(1, r.max() + 1)]
        fprs.append(fp / normal)
        pros.append(np.mean(overlaps))
    return np.array(fprs + [1.0]), np.array(pros + [1.0])


def _random_masks(rng, n, shape):
    masks = []
    for i in range(n):
        noise = rng.random(shape)
        masks.append(np.zeros(shape, bool) if i == 0 else noise > 0.8)
    return masks


def test_au_pro_matches_brute_force_threshold_loop():
    rng = np.random.default_rng(1)
    masks = _random_masks(rng, 4, (9, 9))
    maps = [np.round(rng.random((9, 9)) + 0.5 * m, 1).astype(np.float32) for m in masks]  # rounding makes ties
    fpr, pro = pro_curve(masks, maps)
    ref_fpr, ref_pro = _brute_pro_curve(masks, maps)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(pro, ref_pro)
    for limit in (0.05, 0.3, 1.0):
        assert au_pro(masks, maps, limit) == pytest.approx(trapezoid(ref_fpr, ref_pro, limit) / limit)


def test_trapezoid_interpolates_end_point():
    assert trapezoid([0, 1], [0, 1], x_max=0.5) == pytest.approx(0.125)
    assert trapezoid([0, 0.5, 1], [1, 1, 0], x_max=0.75) == pytest.approx(0.5 + 0.25 * 0.75)


# ---------------------------------------------------------------- MVTec LOCO

DEFECTS = [
    {"defect_name": "missing", "pixel_value": 255, "saturation_threshold": 0.5, "relative_saturation": True},
    {"defect_name": "extra", "pixel_value": 100, "saturation_threshold": 2, "relative_saturation": False},
    {"defect_name": "tiny", "pixel_value": 50, "saturation_threshold": 5, "relative_saturation": False},
]


def test_saturation_area_relative_and_absolute():
    assert saturation_area(4, DEFECTS[0]) == 2           # int(0.5 * 4)
    assert saturation_area(5, DEFECTS[0]) == 2           # int(2.5)
    assert saturation_area(3, DEFECTS[1]) == 2           # absolute 2 px
    assert saturation_area(1, DEFECTS[2]) == 1           # absolute 5 px capped at the 1-px area


def _loco_case():
    """One anomalous 4x4 image with three layers and one good 4x4 image."""
    a = np.zeros((4, 4), np.uint8)
    a[:2, :2] = 255                                      # area 4, saturates at int(0.5 * 4) = 2 px
    b = np.zeros((4, 4), np.uint8)
    b[3, 1:] = 100                                       # area 3, saturates at 2 px (absolute)
    c = np.zeros((4, 4), np.uint8)
    c[2, 3] = 50                                         # area 1, saturates at min(5, 1) = 1 px
    m1 = np.full((4, 4), 0.1)
    m1[0, 0], m1[0, 1], m1[1, 0], m1[1, 1] = 0.9, 0.7, 0.2, 0.2
    m1[3, 1], m1[3, 2], m1[3, 3] = 0.8, 0.6, 0.2
    m1[2, 3] = 0.7
    m1[2, 0] = 0.62                                      # a defect-free pixel of the anomalous image
    m2 = np.full((4, 4), 0.1)
    m2[0, 0] = 0.65
    return [[a, b, c], []], [m1, m2]


def test_spro_saturation_and_fpr_by_hand():
    layers, maps = _loco_case()
    fpr, spro, thr = spro_curve(layers, maps, DEFECTS)

    def at(t):
        i = int(np.argmin(np.abs(thr - t)))
        return fpr[i], spro[i]

    # score > 0.75: A 1 px of 2 -> 1/2, B 1 px of 2 -> 1/2, C 0 -> mean 1/3 (unsaturated PRO: (1/4 + 1/3 + 0)/3)
    assert at(0.7) == pytest.approx((0, 1 / 3))
    # > 0.65: A 2 px -> 1 (saturated), B 1/2, C 1 -> 2.5/3
    assert at(0.65) == pytest.approx((0, 2.5 / 3))
    # > 0.6: FPR counts defect-free pixels of both images: 24 = 16 (good) + 8 (outside the layers).
    assert at(0.62) == pytest.approx((1 / 24, 2.5 / 3))
    assert at(0.6) == pytest.approx((2 / 24, 2.5 / 3))
    assert at(0.2) == pytest.approx((2 / 24, 1.0))
    assert (fpr[0], spro[0], fpr[-1], spro[-1]) == (0, 0, 1, 1)
    # Area to FPR 0.5: 2.5/3 * 2/24 + 1 * (0.5 - 2/24) = 35/72; divided by 0.5 -> 35/36.
    assert au_spro(layers, maps, DEFECTS, fpr_limit=0.5) == pytest.approx(35 / 36)


def _brute_spro(layers, maps, thresholds):
    fprs, spros = [], []
    for t in thresholds:
        fp = normal = 0
        values = []
        for ls, a in zip(layers, maps):
            pred = a > t
            union = np.zeros(a.shape, bool)
            for layer in ls:
                region = layer > 0
                cfg = next(d for d in DEFECTS if d["pixel_value"] == layer.max())
                values.append(min((pred & region).sum() / saturation_area(region.sum(), cfg), 1.0))
                union |= region
            fp += int((pred & ~union).sum())
            normal += int((~union).sum())
        fprs.append(fp / normal)
        spros.append(np.mean(values))
    return np.array(fprs), np.array(spros)


def _random_loco(rng, n=5, shape=(8, 8)):
    layers, maps = [], []
    for i in range(n):
        ls = []
        if i >= 2:
            for cfg in rng.choice(DEFECTS, size=2, replace=False):
                ls.append(np.where(rng.random(shape) > 0.75, cfg["pixel_value"], 0).astype(np.uint8))  # may overlap
        layers.append(ls)
        maps.append(np.round(rng.random(shape), 2).astype(np.float32))
    return layers, maps


@pytest.mark.parametrize("max_thresholds", [10_000, 15])
def test_spro_curve_is_exact_at_its_thresholds(max_thresholds):
    layers, maps = _random_loco(np.random.default_rng(2))
    fpr, spro, thr = spro_curve(layers, maps, DEFECTS, max_thresholds=max_thresholds)
    assert len(thr) <= max_thresholds + 2 and np.all(np.diff(fpr) >= 0)
    ref_fpr, ref_spro = _brute_spro(layers, maps, thr)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(spro, ref_spro)


def test_loco_au_spros_split_by_group():
    layers, maps = _random_loco(np.random.default_rng(3))
    types = ["good", "good", "logical_anomalies", "structural_anomalies", "logical_anomalies"]
    got = loco_au_spros(layers, maps, types, DEFECTS)
    assert got["au_spro"] == pytest.approx(au_spro(layers, maps, DEFECTS))
    logical = [0, 1, 2, 4]
    expected = au_spro([layers[i] for i in logical], [maps[i] for i in logical], DEFECTS)
    assert got["au_spro_logical"] == pytest.approx(expected)
    structural = [0, 1, 3]
    expected = au_spro([layers[i] for i in structural], [maps[i] for i in structural], DEFECTS)
    assert got["au_spro_structural"] == pytest.approx(expected)


def test_loco_aurocs_by_hand():
    labels = [0, 0, 1, 1, 1, 1]
    scores = [0.1, 0.4, 0.3, 0.5, 0.6, 0.7]
    types = ["good", "good", "logical_anomalies", "logical_anomalies", "structural_anomalies", "structural_anomalies"]
    got = loco_aurocs(labels, scores, types)
    # logical: 0.3 > 0.1, 0.5 > 0.1, 0.5 > 0.4 -> 3 of 4 pairs; structural beats both good images.
    assert got == {"auroc_logical": pytest.approx(0.75), "auroc_structural": pytest.approx(1.0),
                   "auroc_mean": pytest.approx(0.875)}


# ---------------------------------------------------------------- evaluate_category

def _category(dataset="mvtec", masked=True):
    test = [Sample(Path(f"good_{i}.png")) for i in range(3)]
    test += [Sample(Path("crack_0.png"), 1, "crack", (Path("crack_0_mask.png"),)),
             Sample(Path("hole_0.png"), 1, "hole", (Path("hole_0_mask.png"),) if masked else ())]
    return CategoryData(dataset, Path("root"), "widget", [], [], test)


def _maps_and_masks():
    rng = np.random.default_rng(4)
    masks = [None, np.zeros((8, 8), bool), None]
    for _ in range(2):
        m = np.zeros((8, 8), bool)
        m[2:5, 3:6] = True
        masks.append(m)
    maps = [rng.random((4, 4)) + (0.8 if m is not None and m.any() else 0) for m in masks]
    return maps, masks


def test_evaluate_category_matches_the_metric_functions():
    maps, masks = _maps_and_masks()
    scores = [0.1, 0.2, 0.3, 0.25, 0.9]
    out = evaluate_category(_category(), scores, maps, masks, type_groups={"crack": "structural", "hole": "structural"})
    gts = [np.zeros((4, 4), bool) if m is None else m for m in masks]
    labels = [0, 0, 0, 1, 1]
    assert out["image_auroc"] == pytest.approx(image_auroc(labels, scores))
    assert out["image_f1_max"] == pytest.approx(image_f1_max(labels, scores))
    assert out["pixel_auroc"] == pytest.approx(pixel_auroc(gts, maps))
    assert out["au_pro"] == pytest.approx(au_pro(gts, maps))
    assert out["per_type_auroc"] == {"crack": pytest.approx(2 / 3), "hole": pytest.approx(1.0)}
    assert out["auroc_structural"] == pytest.approx(image_auroc(labels, scores))
    assert (out["num_images"], out["num_anomalous"], out["dataset"], out["category"]) == (5, 2, "mvtec", "widget")


def test_evaluate_category_without_all_masks_gives_none_and_warns():
    maps, masks = _maps_and_masks()
    masks[4] = None
    with pytest.warns(UserWarning, match="pixel metrics are absent"):
        out = evaluate_category(_category(masked=False), [0.1, 0.2, 0.3, 0.25, 0.9], maps, masks)
    assert out["pixel_auroc"] is None and out["au_pro"] is None
    assert out["image_auroc"] is not None
    with pytest.warns(UserWarning, match="pixel metrics are absent"):
        out = evaluate_category(_category(masked=False), [0.1, 0.2, 0.3, 0.25, 0.9], maps)  # nothing loaded
    assert out["pixel_auroc"] is None and out["au_pro"] is None


def test_evaluate_category_rejects_nan():
    maps, masks = _maps_and_masks()
    with pytest.raises(ValueError, match="crack_0.png"):
        evaluate_category(_category(), [0.1, 0.2, 0.3, float("nan"), 0.9], maps, masks)
    maps[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="good_0.png"):
        evaluate_category(_category(), [0.1, 0.2, 0.3, 0.4, 0.9], maps, masks)


def test_evaluate_category_loco():
    layers, maps = _random_loco(np.random.default_rng(5))
    types = ["good", "good", "logical_anomalies", "structural_anomalies", "logical_anomalies"]
    test = [Sample(Path(f"{i}.png"), int(t != "good"), t, (Path(f"{i}/000.png"),) if t != "good" else ())
            for i, t in enumerate(types)]
    data = CategoryData("loco", Path("root"), "juice_bottle", [], [], test, defects_config=DEFECTS)
    scores = [0.1, 0.2, 0.3, 0.6, 0.15]
    out = evaluate_category(data, scores, maps, layers=layers)
    labels = [int(t != "good") for t in types]
    assert {k: out[k] for k in ("auroc_logical", "auroc_structural", "auroc_mean")} == loco_aurocs(labels, scores, types)
    expected = loco_au_spros(layers, maps, types, DEFECTS)
    for key, value in expected.items():
        assert out[key] == pytest.approx(value)
    assert out["au_spro_fpr_limit"] == 0.05 and out["pixel_auroc"] is not None


def test_evaluate_category_loads_masks_at_image_resolution(tmp_path, monkeypatch):
    import sys
    import types as pytypes

    from PIL import Image

    test = []
    for i, (label_, kind) in enumerate([(0, "good"), (0, "good"), (1, "crack")]):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (8, 6)).save(path)
        test.append(Sample(path, label_, kind, (tmp_path / "m.png",) if label_ else ()))
    truth = np.zeros((6, 8), bool)
    truth[1:4, 2:5] = True
    shapes = []

    def read_mask(sample, shape):
        shapes.append(tuple(shape))
        return truth if sample.label else None

    def image_size(path):
        with Image.open(path) as im:
            return im.height, im.width

    fake = pytypes.ModuleType("gradad.data.images")
    fake.read_mask, fake.image_size = read_mask, image_size
    monkeypatch.setitem(sys.modules, "gradad.data.images", fake)
    rng = np.random.default_rng(6)
    maps = [rng.random((3, 4)) for _ in test]
    out = evaluate_category(CategoryData("mvtec", tmp_path, "w", [], [], test), [0.1, 0.2, 0.9], maps)
    assert shapes == [(6, 8)] * 3
    gts = [np.zeros((6, 8), bool), np.zeros((6, 8), bool), truth]
    assert out["pixel_auroc"] == pytest.approx(pixel_auroc(gts, maps))
    assert out["au_pro"] == pytest.approx(au_pro(gts, maps))


def test_evaluate_category_with_only_anomalous_test_images_reports_image_metrics_absent(tmp_path):
    from gradad.data.base import CategoryData, Sample

    samples = [Sample(tmp_path / f"{i}.png", 1, "crack") for i in range(2)]
    data = CategoryData("mvtec", tmp_path, "x", [], [], samples)
    maps = [np.zeros((4, 4)), np.ones((4, 4))]
    masks = [np.eye(4, dtype=bool)] * 2
    with pytest.warns(UserWarning):
        out = evaluate_category(data, [0.1, 0.9], maps, masks=masks, type_groups={"crack": "structural"})
    assert out["image_auroc"] is None and out["per_type_auroc"] == {} and out["auroc_structural"] is None
