"""Loaders on the real data sets in ../shared/data and on tiny LOCO / VisA / Folder layouts built in tmp_path."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import write_image, write_mask
from gradad.cli import app
from gradad.data import describe, detect_format, list_categories, load_category, load_folder
from gradad.data.base import validation_size
from gradad.data.images import read_image, read_mask, read_mask_layers

PIPED = ["PA_BDP01_TL", "PA_BFT01_TL", "PA_BRG01_RL", "PA_BRG02_RL", "PA_BRG03_TL", "PA_BTN01_RL",
         "PA_FLR01_TL", "PA_FLR02_TL", "PA_FVN01_TL", "PA_FVN02_RL", "PA_GLA01_TL", "PA_ZPB01_RL"]
# (folder, category, format, train good incl. val, test good, {defect type: anomalous images}) from shared/data/README.md
REAL = [
    ("mvtec_ad", "bottle", "mvtec", 209, 20, {"broken_large": 20, "broken_small": 22, "contamination": 21}),
    ("magnetic_tile", "tile", "mvtec", 762, 190,
     {"blowhole": 115, "break": 85, "crack": 57, "fray": 32, "uneven": 103}),
    *[("piped", name, "mvtec", 32, 16, {"impurity": 48}) for name in PIPED],
    ("visa", "capsules", "visa", 542, 60, {"anomaly": 100}),
]


def _check_counts(data, fmt, train_total, test_good, types):
    assert data.dataset == fmt
    assert len(data.train) + len(data.val) == train_total
    assert len(data.val) == validation_size(train_total)
    assert not {s.path for s in data.train} & {s.path for s in data.val}
    assert all(s.label == 0 for s in (*data.train, *data.val))
    assert sum(s.label == 0 for s in data.test) == test_good
    found = {t: sum(s.defect_type == t for s in data.test) for t in data.defect_types}
    assert found == types
    assert all(s.has_mask and len(s.mask_paths) == 1 for s in data.test if s.label == 1)
    assert data.has_pixel_masks and all("masks look inverted" in n for n in data.notes)  # PIPED: see below


@pytest.mark.parametrize("folder,category,fmt,train_total,test_good,types", REAL,
                         ids=[f"{r[0]}/{r[1]}" for r in REAL])
def test_real_data_sets(shared_data, folder, category, fmt, train_total, test_good, types):
    root = shared_data / folder
    assert detect_format(root) == fmt
    assert category in list_categories(root, fmt)
    data = load_category(root, category)
    _check_counts(data, fmt, train_total, test_good, types)
    first_anomalous = next(s for s in data.test if s.label == 1)
    image = read_image(first_anomalous.path)
    mask = read_mask(first_anomalous, image.shape)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert mask.shape == image.shape[:2] and mask.dtype == bool and mask.any()


def test_real_piped_lists_all_classes_and_category_folder_as_root(shared_data):
    assert list_categories(shared_data / "piped", "mvtec") == PIPED
    via_root = load_category(shared_data / "mvtec_ad", "bottle")
    via_folder = load_category(shared_data / "mvtec_ad" / "bottle")
    assert via_folder.category == "bottle" and via_folder.root == via_root.root
    assert [s.path for s in via_folder.val] == [s.path for s in via_root.val]
    assert load_category(shared_data / "visa" / "capsules").category == "capsules"


def test_real_masks_match_image_sizes_per_defect_type(shared_data):
    data = load_category(shared_data / "mvtec_ad", "bottle")
    for kind in data.defect_types:
        sample = next(s for s in data.test if s.defect_type == kind)
        image = read_image(sample.path)
        assert image.shape == (512, 512, 3)
        assert read_mask(sample, image.shape).any()
    good = next(s for s in data.test if s.label == 0)
    assert not read_mask(good, (512, 512)).any()


def test_cli_info_on_real_mvtec_ad(shared_data):
    result = CliRunner().invoke(app, ["data", "info", str(shared_data / "mvtec_ad")])
    assert result.exit_code == 0, result.output
    for text in ("bottle", "188", "21", "broken_large", "22/22", "contamination", "512x512"):
        assert text in result.output


def _build_loco(root: Path) -> Path:
    cat = root / "pushpins"
    for i in range(6):
        write_image(cat / "train" / "good" / f"{i:03d}.png", seed=i)
    for i in range(2):
        write_image(cat / "validation" / "good" / f"{i:03d}.png", seed=10 + i)
        write_image(cat / "test" / "good" / f"{i:03d}.png", seed=20 + i)
        write_image(cat / "test" / "logical_anomalies" / f"{i:03d}.png", seed=30 + i)
    write_image(cat / "test" / "structural_anomalies" / "000.png", seed=40)
    gt = cat / "ground_truth"
    write_mask(gt / "logical_anomalies" / "000" / "000.png", value=255, box=(0, 0, 2, 2))
    write_mask(gt / "logical_anomalies" / "000" / "001.png", value=254, box=(6, 6, 8, 8))
    write_mask(gt / "logical_anomalies" / "001" / "000.png", value=255)
    write_mask(gt / "structural_anomalies" / "000" / "000.png", value=253)
    config = [{"defect_name": "missing_pushpin", "pixel_value": 255, "saturation_threshold": 6300,
               "relative_saturation": False},
              {"defect_name": "additional_pushpin", "pixel_value": 254, "saturation_threshold": 1.0,
               "relative_saturation": True}]
    (cat / "defects_config.json").write_text(json.dumps(config))
    return cat


def test_loco_fixture(tmp_path):
    _build_loco(tmp_path)
    assert detect_format(tmp_path) == "loco"
    data = load_category(tmp_path)
    assert (data.dataset, data.category, len(data.train), len(data.val)) == ("loco", "pushpins", 6, 2)
    assert data.defect_types == ["logical_anomalies", "structural_anomalies"]
    assert [len(s.mask_paths) for s in data.test] == [0, 0, 2, 1, 1]
    assert data.defects_config[1]["pixel_value"] == 254 and data.has_pixel_masks
    two_masks = data.test[2]
    layers = read_mask_layers(two_masks)
    assert [int(layer.max()) for layer in layers] == [255, 254]
    union = read_mask(two_masks, (8, 8, 3))
    assert union.sum() == 8 and union[0, 0] and union[7, 7]
    assert describe(tmp_path / "pushpins")[0]["defects_config"] == 2


def _build_visa(root: Path) -> None:
    rows = ["object,split,label,image,mask"]
    for obj in ("candle", "pcb1"):
        for i in range(10):
            rel = f"{obj}/Data/Images/Normal/{i:03d}.JPG"
            write_image(root / rel, seed=i)
            rows.append(f"{obj},{'train' if i < 8 else 'test'},normal,{rel},")
        for i in range(2):
            rel, mask = f"{obj}/Data/Images/Anomaly/{i:03d}.JPG", f"{obj}/Data/Masks/Anomaly/{i:03d}.png"
            write_image(root / rel, seed=50 + i)
            write_mask(root / mask, value=i + 1)
            rows.append(f"{obj},test,anomaly,{rel},{mask}")
    (root / "split_csv").mkdir()
    (root / "split_csv" / "1cls.csv").write_text("\n".join(rows) + "\n")


def test_visa_fixture(tmp_path):
    _build_visa(tmp_path)
    assert detect_format(tmp_path) == "visa"
    assert list_categories(tmp_path, "visa") == ["candle", "pcb1"]
    data = load_category(tmp_path, "pcb1")
    assert (len(data.train), len(data.val)) == (4, 4)
    assert [(s.label, s.defect_type) for s in data.test] == [(0, "good")] * 2 + [(1, "anomaly")] * 2
    assert all("pcb1" in str(s.path) for s in (*data.train, *data.val, *data.test))
    instance_one = data.test[2]
    assert int(read_mask_layers(instance_one)[0].max()) == 1
    assert read_mask(instance_one, (8, 8)).sum() == 9
    assert load_category(tmp_path / "candle").category == "candle"


def _build_folder(root: Path) -> None:
    for i in range(10):
        write_image(root / "normal" / ("a" if i < 5 else "b") / f"{i:02d}.png", seed=i)
    write_image(root / "abnormal" / "scratch" / "s0.png", seed=20)
    write_image(root / "abnormal" / "scratch" / "s1.jpg", seed=21)
    write_image(root / "abnormal" / "dent" / "d0.png", seed=22)
    write_image(root / "abnormal" / "loose.png", seed=23)
    write_mask(root / "masks" / "scratch" / "s0_mask.png")
    write_mask(root / "masks" / "scratch" / "s1.PNG")
    write_mask(root / "masks" / "dent" / "d0.png")
    write_mask(root / "masks" / "loose_mask.bmp")


def test_folder_fixture(tmp_path):
    _build_folder(tmp_path)
    data = load_folder(tmp_path / "normal", tmp_path / "abnormal", tmp_path / "masks", category="widget")
    assert (data.dataset, data.category) == ("folder", "widget")
    assert sum(s.label == 0 for s in data.test) == 2
    assert (len(data.train), len(data.val)) == (4, 4)
    assert {s.defect_type for s in data.test if s.label == 1} == {"scratch", "dent", "anomaly"}
    assert data.has_pixel_masks and all(len(s.mask_paths) == 1 for s in data.test if s.label == 1)
    assert load_folder(tmp_path / "normal", tmp_path / "abnormal", tmp_path / "masks").test == data.test
    assert detect_format(tmp_path) == "folder"
    assert load_category(tmp_path).test == data.test


def test_folder_without_abnormal_images_has_no_test(tmp_path):
    _build_folder(tmp_path)
    data = load_folder(tmp_path / "normal")
    assert (len(data.train), len(data.val), data.test) == (6, 4, [])
    assert data.category == "normal"


@pytest.mark.parametrize("n,held", [(209, 21), (762, 76), (542, 54), (32, 4), (6, 2), (4, 0), (0, 0)])
def test_validation_size_rule(n, held):
    assert validation_size(n) == held


def test_mvtec_mask_names_and_extensions(tmp_path):
    cat = tmp_path / "widget"
    for i in range(5):
        write_image(cat / "train" / "good" / f"{i:03d}.png", seed=i)
    for name in ("a.png", "b.JPG", "c.bmp"):
        write_image(cat / "test" / "dent" / name, seed=9)
    write_mask(cat / "ground_truth" / "dent" / "a_mask.png")
    write_mask(cat / "ground_truth" / "dent" / "b.PNG")
    write_mask(cat / "ground_truth" / "dent" / "c_mask.TIFF")
    write_mask(cat / "ground_truth" / "dent" / "z_mask.png")
    data = load_category(cat)
    assert [s.mask_paths[0].name for s in data.test] == ["a_mask.png", "b.PNG", "c_mask.TIFF"]
    assert (len(data.train), len(data.val)) == (4, 1)
    assert any("1 mask file(s) match no test image" in n for n in data.notes)


@pytest.mark.parametrize("name", PIPED)
def test_real_piped_masks_are_read_with_the_impurity_as_the_defect(shared_data, name):
    """PIPED draws the impurity black on a white mask: every class is detected as inverted, so the defect is the
    small dark blob (a few % of the image at most), while the other shared sets keep the MVTec AD reading."""
    data = load_category(shared_data / "piped" / name)
    assert any("masks look inverted" in n for n in data.notes)
    fractions = [read_mask(s, read_image(s.path).shape).mean() for s in data.test if s.label == 1][:8]
    assert all(0 < f < 0.2 for f in fractions)
    for other in ("mvtec_ad/bottle", "visa/capsules", "magnetic_tile/tile"):
        assert not any("inverted" in n for n in load_category(shared_data / other).notes)
