"""Read images and masks as plain arrays, failing loudly on anything that is not a whole, decodable image."""
from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from gradad.data.base import IMAGE_EXTENSIONS, DatasetError, Sample

_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def is_image_file(path: Path) -> bool:
    """An image by name: a known extension (any case), and not a hidden/AppleDouble file such as ._000.png."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def list_images(folder: Path, notes: list[str], recursive: bool = False, label: str | None = None) -> list[Path]:
    """Image files of a folder in sorted order; anything else is skipped and reported once in `notes`."""
    entries = sorted(folder.rglob("*") if recursive else folder.iterdir())
    images, skipped = [], []
    for path in entries:
        if any(part.startswith(".") for part in path.relative_to(folder).parts[:-1]):
            continue
        if path.is_file() and is_image_file(path):
            images.append(path)
        elif path.is_file() or not recursive:
            skipped.append(path.name + ("/" if path.is_dir() else ""))
    if skipped:
        shown = ", ".join(skipped[:3]) + (", ..." if len(skipped) > 3 else "")
        noun = "entry" if len(skipped) == 1 else "entries"
        notes.append(f"{label or folder}: skipped {len(skipped)} non-image {noun} ({shown})")
    return images


@contextlib.contextmanager
def _strict_decoding():
    """Pillow pads truncated files with grey when LOAD_TRUNCATED_IMAGES is set (some libraries set it globally);
    a half-written image must fail instead, so force it off while we decode."""
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


@contextlib.contextmanager
def _opened(path: Path):
    """Open, verify (chunk CRCs where the format has them) and fully decode the first frame; closes the file."""
    path, im = Path(path), None
    try:
        with _strict_decoding():
            with Image.open(path) as probe:
                probe.verify()
            im = Image.open(path)
            im.load()
    except Exception as err:  # Pillow signals bad data with OSError, SyntaxError, ValueError, struct.error, ...
        if im is not None:
            im.close()
        raise DatasetError(f"{path}: cannot read image ({type(err).__name__}: {err}); expected a complete "
                           f"{'/'.join(e.lstrip('.') for e in IMAGE_EXTENSIONS)} file") from None
    with im:
        yield im


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header alone: cheap enough to survey a whole data set."""
    try:
        with Image.open(path) as im:
            return im.height, im.width
    except Exception as err:
        raise DatasetError(f"{path}: cannot read image header ({type(err).__name__}: {err})") from None


def _wide_to_uint8(a: np.ndarray) -> np.ndarray:
    """16/32-bit integer and float pixels to 0..255: 16-bit range divided by 257 (65535 -> 255), wider
    integer ranges scaled by their maximum, floats in [0, 1] times 255, other floats by their own range."""
    if a.dtype.kind == "f":
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        if lo >= 0.0 and hi <= 1.0:
            scaled = a * 255.0
        else:
            scaled = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        return np.clip(np.nan_to_num(scaled) + 0.5, 0, 255).astype(np.uint8)
    a = a.astype(np.int64)
    top = int(a.max()) if a.size else 0
    if top <= 65535:
        return ((np.clip(a, 0, 65535) + 128) // 257).astype(np.uint8)
    return (np.clip(a, 0, None) * 255 // top).astype(np.uint8)


def read_image(path: Path) -> np.ndarray:
    """The image as uint8 H x W x 3 RGB, whatever the stored mode. Alpha is dropped (colour kept as stored,
    not composited); EXIF orientation is not applied because masks are aligned to the stored pixels."""
    with _opened(path) as im:
        if im.mode in _WIDE_MODES:
            gray = _wide_to_uint8(np.asarray(im))
            return np.repeat(gray[:, :, None], 3, axis=2)
        if im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif im.mode in _ALPHA_MODES:
            im = im.convert("RGBA")
        elif im.mode != "RGB":
            try:
                im = im.convert("RGB")
            except ValueError as err:
                raise DatasetError(f"{path}: image mode {im.mode} cannot be converted to RGB ({err})") from None
        return np.ascontiguousarray(np.asarray(im)[:, :, :3])


def _mask_values(path: Path) -> np.ndarray:
    """One mask file as uint8 H x W, keeping its values (LOCO defect ids, VisA instance ids; palette masks
    give their indices, colour masks their brightest channel): values above 255 are clipped and tiny
    positive floats rounded up, so that no anomalous pixel turns into 0."""
    with _opened(path) as im:
        if im.mode == "1":
            return np.asarray(im, dtype=np.uint8) * np.uint8(255)
        if im.mode in ("LA", "La", "PA"):
            im = im.getchannel(0)
        elif im.mode not in ("L", "P", "RGB", "RGBA", "RGBa", *_WIDE_MODES):
            im = im.convert("RGB")
        a = np.asarray(im)
    if a.ndim == 3:
        a = a[:, :, :3].max(axis=2)
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    return np.clip(np.ceil(np.nan_to_num(a.astype(np.float64))), 0, 255).astype(np.uint8)


def read_mask_layers(sample: Sample) -> list[np.ndarray]:
    """Every mask file of a sample as raw uint8 H x W (MVTec LOCO sPRO needs the per-defect pixel values)."""
    return [_mask_values(p) for p in sample.mask_paths]


SCALED_MASK_WARNING = ("some masks are a scaled copy of their image's size (same aspect ratio, e.g. masks downsampled "
                       "separately); they were resized to the image size with nearest-neighbour sampling")


def _same_aspect(mask: tuple[int, int], image: tuple[int, int]) -> bool:
    """A mask that is the image's size scaled by one factor, up to rounding (one pixel, or 1 %, of each side)."""
    (mh, mw), (h, w) = mask, image
    return abs(mh * w / mw - h) <= max(1.0, 0.01 * h) and abs(mw * h / mh - w) <= max(1.0, 0.01 * w)


def read_mask(sample: Sample, shape: tuple[int, ...]) -> np.ndarray | None:
    """Bool H x W ground truth (nonzero in any mask file = anomalous) for an image of `shape` (H, W[, C]):
    all False for a normal image without masks, None for an anomalous image published without one."""
    height, width = shape[:2]
    if not sample.mask_paths:
        return np.zeros((height, width), dtype=bool) if sample.label == 0 else None
    union = np.zeros((height, width), dtype=bool)
    for mask_path, layer in zip(sample.mask_paths, read_mask_layers(sample)):
        if layer.shape != (height, width) and _same_aspect(layer.shape, (height, width)):
            warnings.warn(SCALED_MASK_WARNING, stacklevel=2)
            layer = np.asarray(Image.fromarray(layer).resize((width, height), Image.NEAREST))
        if layer.shape != (height, width):
            raise DatasetError(
                f"{mask_path}: mask is {layer.shape[0]}x{layer.shape[1]} (HxW) but its image {sample.path} is "
                f"{height}x{width}; expected a mask of the image's size")
        union |= (layer == 0) if sample.mask_inverted else (layer != 0)
    return union
