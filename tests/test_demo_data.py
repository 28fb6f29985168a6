"""The built-in demo data set: reproducible to the byte, MVTec AD layout, and masks that are exactly the defect."""
from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gradad.data import load_category
from gradad.data.base import DatasetError
from gradad.data.demo import DEFECT_GROUPS, DEFECT_TYPES, DEMO_CATEGORY, render_demo, render_pair, write_demo

SMALL = dict(n_train=3, n_test_good=2, n_per_type=1)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """The full default demo data set, written once for the module."""
    return write_demo(tmp_path_factory.mktemp("demo"), seed=0)


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_layout_and_counts(demo_dir):
    assert demo_dir.name == DEMO_CATEGORY
    expected = [f"train/good/{i:03d}.png" for i in range(200)] + [f"test/good/{i:03d}.png" for i in range(40)]
    for kind in DEFECT_TYPES:
        expected += [f"test/{kind}/{i:03d}.png" for i in range(12)]
        expected += [f"ground_truth/{kind}/{i:03d}_mask.png" for i in range(12)]
    assert _files(demo_dir) == sorted(expected + ["README.md"])
    readme = (demo_dir / "README.md").read_text()
    assert "seed 0" in readme and all(f"| `{k}` | {g} |" in readme for k, g in DEFECT_GROUPS.items())


def test_images_and_masks_are_well_formed(demo_dir):
    with Image.open(demo_dir / "train/good/000.png") as im:
        assert (im.mode, im.size) == ("RGB", (128, 128))
    for kind in DEFECT_TYPES:
        for path in sorted((demo_dir / "ground_truth" / kind).glob("*.png")):
            with Image.open(path) as im:
                assert (im.mode, im.size) == ("L", (128, 128))
                mask = np.asarray(im)
            assert set(np.unique(mask)) == {0, 255}, path
            assert 0.003 <= (mask > 0).mean() <= 0.08, (path, (mask > 0).mean())


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path):
    a = write_demo(tmp_path / "a", seed=3, **SMALL)
    b = write_demo(tmp_path / "b", seed=3, **SMALL)
    c = write_demo(tmp_path / "c", seed=4, **SMALL)
    files = _files(a)
    assert files == _files(b) == _files(c) and len(files) == 3 + 2 + 2 * len(DEFECT_TYPES) + 1
    assert filecmp.cmpfiles(a, b, files, shallow=False)[0] == files
    pngs = [f for f in files if f.endswith(".png") and "ground_truth" not in f]
    assert not filecmp.cmpfiles(a, c, pngs, shallow=False)[0]  # every image differs


@pytest.mark.parametrize("kind", DEFECT_TYPES)
def test_mask_is_exactly_what_the_defect_changed(kind):
    """The clean twin differs from the defective image only inside the mask, and visibly over most of it."""
    for index in range(4):
        clean, image, mask = render_pair(0, "test", kind, index)
        changed = (clean != image).any(axis=-1)
        assert mask.dtype == bool and mask.any()
        assert not (changed & ~mask).any(), f"{kind} {index}: pixels changed outside the mask"
        visible = np.abs(clean.astype(int) - image).max(axis=-1) >= 10
        assert visible[mask].mean() > 0.3, f"{kind} {index}: most of the mask looks unchanged"


def test_render_demo_matches_render_pair():
    items = list(render_demo(seed=1, **SMALL))
    assert [(s, k) for s, k, *_ in items][:5] == [("train", "good")] * 3 + [("test", "good")] * 2
    for split, kind, name, image, mask in items:
        clean, again, pair_mask = render_pair(1, split, kind, int(name))
        assert image.shape == (128, 128, 3) and image.dtype == np.uint8
        assert np.array_equal(image, again)
        if kind == "good":
            assert mask is None and np.array_equal(clean, image)
        else:
            assert np.array_equal(mask, pair_mask) and mask.shape == (128, 128)


def test_both_groups_present():
    assert set(DEFECT_GROUPS.values()) == {"structural", "logical"}
    assert {"scratch", "hole", "stain", "deformation"} <= {k for k, g in DEFECT_GROUPS.items() if g == "structural"}
    assert "missing_part" in DEFECT_GROUPS and DEFECT_GROUPS["swapped_parts"] == "logical"


def test_normal_images_vary_but_keep_the_layout():
    images = [render_pair(0, "train", "good", i)[1].astype(float) for i in range(6)]
    for i in range(len(images)):
        for j in range(i):
            assert np.abs(images[i] - images[j]).mean() > 2.0
    # the arrangement is a rule: the red capacitor is always top left (frame point (-24, -17) -> pixel ~(47, 40))
    for im in images:
        r, g, b = im[44:51, 37:44].mean(axis=(0, 1))
        assert r > 1.5 * g and r > 1.5 * b


def test_other_sizes():
    clean, image, mask = render_pair(0, "test", "scratch", 0, size=64)
    assert image.shape == (64, 64, 3) and mask.shape == (64, 64) and mask.any()


def test_refuses_foreign_non_empty_dir(tmp_path):
    (tmp_path / "mine.txt").write_text("user data")
    with pytest.raises(DatasetError, match="not empty"):
        write_demo(tmp_path, **SMALL)
    assert _files(tmp_path) == ["mine.txt"]
    with pytest.raises(DatasetError, match="not a directory"):
        write_demo(tmp_path / "mine.txt", **SMALL)


def test_overwrites_previous_demo(tmp_path):
    first = write_demo(tmp_path, seed=0, **SMALL)
    (first / "test" / "good" / "999.png").write_bytes(b"stale")
    second = write_demo(tmp_path, seed=0, **SMALL)
    assert second == first and not (second / "test" / "good" / "999.png").exists()
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_loads_with_mvtec_loader(demo_dir):
    data = load_category(demo_dir.parent, DEMO_CATEGORY)
    assert data.category == DEMO_CATEGORY
    assert len(data.train) + len(data.val) == 200 and len(data.val) > 0
    assert len(data.test) == 40 + 12 * len(DEFECT_TYPES)
    assert data.defect_types == sorted(DEFECT_TYPES) and data.has_pixel_masks


def test_cli_writes_and_refuses(tmp_path):
    from typer.testing import CliRunner

    from gradad.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["data", "demo", "--out", str(tmp_path / "d"), "--seed", "2", "--size", "48"])
    assert result.exit_code == 0, result.output
    assert "train/good: 200" in result.output and "structural:" in result.output and "logical:" in result.output
    with Image.open(tmp_path / "d" / DEMO_CATEGORY / "test" / "hole" / "000.png") as im:
        assert im.size == (48, 48)
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "keep.txt").write_text("x")
    result = runner.invoke(app, ["data", "demo", "--out", str(tmp_path / "e")])
    assert result.exit_code == 2 and "not empty" in result.output
