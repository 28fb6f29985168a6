"""What users point gradad at by mistake, and odd image encodings: clear one-line errors or correct pixels."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile
from typer.testing import CliRunner

from conftest import write_image, write_mask
from gradad.cli import app
from gradad.data import DatasetError, detect_format, load_category
from gradad.data.base import Sample
from gradad.data.images import read_image, read_mask


def _mvtec(root: Path, n_train: int = 6, masked: bool = True, size: tuple[int, int] = (8, 8)) -> Path:
    """A tiny MVTec AD category 'widget' with one anomalous test image of type 'scratch'."""
    cat = root / "widget"
    for i in range(n_train):
        write_image(cat / "train" / "good" / f"{i:03d}.png", seed=i)
    write_image(cat / "test" / "good" / "000.png", seed=10)
    write_image(cat / "test" / "scratch" / "000.png", seed=11)
    if masked:
        write_mask(cat / "ground_truth" / "scratch" / "000_mask.png", size=size)
    return cat


def test_missing_root(tmp_path):
    with pytest.raises(DatasetError, match="no such folder") as err:
        load_category(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value)


def test_empty_folder(tmp_path):
    with pytest.raises(DatasetError, match="empty folder"):
        detect_format(tmp_path)


def test_empty_train_good_folder(tmp_path):
    cat = _mvtec(tmp_path, n_train=0)
    (cat / "train" / "good").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no images") as err:
        load_category(tmp_path, "widget")
    assert str(cat / "train" / "good") in str(err.value)


def test_folder_without_expected_layout(tmp_path):
    cat = _mvtec(tmp_path)
    for p in (cat / "train" / "good").iterdir():
        p.unlink()
    (cat / "train" / "good").rmdir()
    (cat / "train" / "normal").mkdir()
    with pytest.raises(DatasetError, match=r"no 'train/good' folder; expected MVTec AD layout") as err:
        load_category(tmp_path)
    assert "\n" not in str(err.value) and str(cat) in str(err.value)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello")
    with pytest.raises(DatasetError, match="no data-set layout recognised"):
        detect_format(tmp_path / "notes")
    with pytest.raises(DatasetError, match="validation/good"):
        load_category(tmp_path, "widget", format="loco")


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_image_raises(tmp_path, monkeypatch, suffix):
    whole = write_image(tmp_path / f"whole{suffix}", size=(64, 64))
    half = tmp_path / f"half{suffix}"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as some libraries set it globally
    with pytest.raises(DatasetError, match="cannot read image") as err:
        read_image(half)
    assert str(half) in str(err.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    assert read_image(whole).shape == (64, 64, 3)


def test_not_an_image_raises(tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture")
    with pytest.raises(DatasetError, match="fake.png"):
        read_image(fake)


def test_non_image_files_are_skipped_with_a_note(tmp_path):
    cat = _mvtec(tmp_path)
    (cat / "train" / "good" / "license.txt").write_text("CC BY-NC-SA")
    (cat / "train" / "good" / ".DS_Store").write_bytes(b"\0\1")
    (cat / "test" / "good" / "._000.png").write_bytes(b"\0\5\x16\7")  # macOS AppleDouble companion
    data = load_category(cat)
    assert len(data.train) + len(data.val) == 6 and sum(s.label == 0 for s in data.test) == 1
    assert any("train/good: skipped 2" in n and "license.txt" in n for n in data.notes)
    assert any("test/good: skipped 1" in n for n in data.notes)


def test_mask_size_differs_from_image(tmp_path):
    cat = _mvtec(tmp_path, size=(6, 8))
    sample = next(s for s in load_category(cat).test if s.label == 1)
    with pytest.raises(DatasetError) as err:
        read_mask(sample, read_image(sample.path).shape)
    message = str(err.value)
    assert "000_mask.png" in message and str(sample.path) in message and "6x8" in message and "8x8" in message


def test_mask_that_is_a_scaled_copy_is_resized_with_a_warning(tmp_path, shared_data):
    """Magnetic tile in ../shared/data holds masks downsampled to 512 px beside full-size images (e.g. 214x512 for
    247x592): same aspect ratio, so they are resized to the image rather than refused."""
    data = load_category(shared_data / "magnetic_tile" / "tile")
    sample = next(s for s in data.test if s.path.name == "exp1_num_116934.jpg")
    image = read_image(sample.path)
    with pytest.warns(UserWarning, match="scaled copy"):
        mask = read_mask(sample, image.shape)
    assert mask.shape == image.shape[:2] == (247, 592) and 0 < mask.mean() < 0.5


def test_inverted_masks_are_detected_noted_and_overridable(tmp_path):
    """A defect drawn as 0 on a white mask (PIPED's convention) is read as the defect, with a note; the reading can
    be forced either way; an unknown polarity is refused."""
    cat = _mvtec(tmp_path, masked=False)
    mask = np.full((8, 8), 255, dtype=np.uint8)
    mask[2:5, 2:5] = 0
    write_image(cat / "ground_truth" / "scratch" / "000_mask.png", mask)
    data = load_category(cat)
    sample = next(s for s in data.test if s.label == 1)
    assert read_mask(sample, (8, 8)).sum() == 9 and read_mask(sample, (8, 8))[2:5, 2:5].all()
    assert any("masks look inverted" in n and "--mask-polarity nonzero" in n for n in data.notes)
    forced = next(s for s in load_category(cat, mask_polarity="nonzero").test if s.label == 1)
    assert read_mask(forced, (8, 8)).sum() == 64 - 9
    normal = _mvtec(tmp_path / "plain")  # MVTec AD convention: left alone, no note
    plain = load_category(normal)
    assert read_mask(next(s for s in plain.test if s.label == 1), (8, 8)).sum() == 9
    assert not any("inverted" in n for n in plain.notes)
    assert read_mask(next(s for s in load_category(normal, mask_polarity="zero").test if s.label == 1), (8, 8)).sum() == 55
    with pytest.raises(DatasetError, match="mask polarity 'white'"):
        load_category(cat, mask_polarity="white")


def _png16_rgb(path: Path, array: np.ndarray) -> None:
    """A 16-bit RGB PNG written by hand (Pillow cannot write one)."""
    h, w, _ = array.shape
    raw = b"".join(b"\0" + array[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_16bit_png_is_scaled_to_8bit(tmp_path):
    gray = np.array([[0, 257 * 100, 65535], [128, 300, 65000]], dtype=np.uint16)
    path = tmp_path / "gray16.png"
    Image.fromarray(gray).save(path)
    with Image.open(path) as stored:
        assert stored.mode.startswith("I")
    image = read_image(path)
    assert image.shape == (2, 3, 3) and image.dtype == np.uint8
    assert image[..., 0].tolist() == [[0, 100, 255], [0, 1, 253]]
    rgb = np.zeros((2, 2, 3), dtype=np.uint16)
    rgb[0, 0] = (65535, 257 * 100, 0)
    _png16_rgb(tmp_path / "rgb16.png", rgb)
    assert read_image(tmp_path / "rgb16.png")[0, 0].tolist() == [255, 100, 0]


def test_rgba_png_reads_as_rgb(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 200, 100, 50, 0
    path = write_image(tmp_path / "rgba.png", rgba)
    image = read_image(path)
    assert image.shape == (4, 4, 3) and image[0, 0].tolist() == [200, 100, 50]


def test_grayscale_and_palette_read_as_three_channels(tmp_path):
    gray = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    image = read_image(write_image(tmp_path / "gray.jpg", gray))
    assert image.shape == (4, 4, 3) and (image[..., 0] == image[..., 2]).all()
    assert abs(int(image[3, 3, 1]) - 150) <= 8
    palette = Image.new("P", (3, 2))
    palette.putpalette([0, 0, 0, 10, 20, 30])
    palette.putpixel((1, 1), 1)
    palette.save(tmp_path / "palette.png")
    image = read_image(tmp_path / "palette.png")
    assert image.shape == (2, 3, 3) and image[1, 1].tolist() == [10, 20, 30] and image[0, 0].tolist() == [0, 0, 0]


def test_anomalous_image_without_mask_is_allowed(tmp_path):
    cat = _mvtec(tmp_path, masked=False)
    data = load_category(cat)
    anomalous = [s for s in data.test if s.label == 1]
    assert len(anomalous) == 1 and not anomalous[0].has_mask and anomalous[0].mask_paths == ()
    assert not data.has_pixel_masks
    assert any("no mask" in n and "pixel metrics will be absent" in n for n in data.notes)
    assert read_mask(anomalous[0], (8, 8)) is None
    assert not read_mask(Sample(cat / "test" / "good" / "000.png"), (8, 8)).any()


def test_several_categories_need_a_choice(tmp_path):
    _mvtec(tmp_path / "set")
    _mvtec(tmp_path / "set" / "other")
    (tmp_path / "set" / "other" / "widget").rename(tmp_path / "set" / "gadget")
    with pytest.raises(DatasetError, match=r"holds 2 categories \(gadget, widget\)"):
        load_category(tmp_path / "set")
    with pytest.raises(DatasetError, match="no category 'gizmo'"):
        load_category(tmp_path / "set", "gizmo")


def test_broken_visa_csv(tmp_path):
    (tmp_path / "split_csv").mkdir()
    (tmp_path / "split_csv" / "1cls.csv").write_text("object,split,label,image,mask\nx,train,normal,x/a.JPG,\n")
    with pytest.raises(DatasetError, match=r"a.JPG: image listed in .*1cls.csv line 2 does not exist"):
        load_category(tmp_path)
    (tmp_path / "split_csv" / "1cls.csv").write_text("object,image\nx,x/a.JPG\n")
    with pytest.raises(DatasetError, match="missing column"):
        load_category(tmp_path)


@pytest.mark.parametrize("make", ["missing", "layout"])
def test_cli_bad_path_is_one_line_exit_2(tmp_path, make):
    target = tmp_path / "nowhere"
    if make == "layout":
        target = _mvtec(tmp_path)
        (target / "test" / "good" / "000.png").unlink()
        (target / "test" / "scratch" / "000.png").unlink()
    result = CliRunner().invoke(app, ["data", "info", str(target)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(target) in lines[0]
