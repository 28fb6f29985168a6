"""The one small interface every data-set format yields: samples, splits, and the error users see."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
VALIDATION_FRACTION = 0.1  # MVTec AD / VisA / Folder: seeded slice of train/good held out as normal validation
VALIDATION_MIN = 4  # ... but never fewer images than this (while leaving at least as many to train on)
VALIDATION_SEED = 0


class DatasetError(ValueError):
    """A data set that cannot be used as given; the message names the path and what was expected."""


@dataclass(frozen=True)
class Sample:
    """One image of a split.

    label: 0 normal, 1 anomalous. defect_type: "good" for normal images.
    mask_paths: ground-truth files (several for MVTec LOCO, one otherwise, none for good images or for
    anomalous images published without a mask, in which case has_mask is False).
    """

    path: Path
    label: int = 0
    defect_type: str = "good"
    mask_paths: tuple[Path, ...] = ()
    mask_inverted: bool = False  # the data set marks defects with 0 (e.g. PIPED); see data.polarity

    @property
    def has_mask(self) -> bool:
        return self.label == 0 or len(self.mask_paths) > 0


@dataclass
class CategoryData:
    """One category of one data set: normal training images, held-out normal validation images, and test images."""

    dataset: str  # "mvtec", "loco", "visa", "folder", "demo"
    root: Path
    category: str
    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    defects_config: list[dict] | None = None  # MVTec LOCO defects_config.json entries
    notes: list[str] = field(default_factory=list)  # warnings worth showing the user

    @property
    def defect_types(self) -> list[str]:
        return sorted({s.defect_type for s in self.test if s.label == 1})

    @property
    def has_pixel_masks(self) -> bool:
        """True when every anomalous test image has a mask, so pixel metrics are meaningful."""
        return any(s.label == 1 for s in self.test) and all(s.has_mask for s in self.test)


def validation_size(n: int) -> int:
    """How many of n normal training images to hold out: VALIDATION_FRACTION, at least VALIDATION_MIN,
    but leaving at least VALIDATION_MIN to train on (so tiny sets get a smaller, possibly empty, slice)."""
    held = max(VALIDATION_MIN, math.floor(VALIDATION_FRACTION * n + 0.5))
    return max(0, min(held, n - VALIDATION_MIN))


def seeded_split(items: list, count: int, seed: int = VALIDATION_SEED) -> tuple[list, list]:
    """(kept, held): `count` items drawn with a fixed seed, both in input order, so a sorted listing
    always yields the same slice on every machine."""
    held_idx = set(random.Random(seed).sample(range(len(items)), count))
    kept = [x for i, x in enumerate(items) if i not in held_idx]
    held = [x for i, x in enumerate(items) if i in held_idx]
    return kept, held


def split_validation(samples: list[Sample], notes: list[str], where: str) -> tuple[list[Sample], list[Sample]]:
    """(train, val) for formats without a published validation split (MVTec AD, VisA, Folder)."""
    train, val = seeded_split(samples, validation_size(len(samples)))
    if not val:
        notes.append(f"{where}: only {len(samples)} normal training images; no validation slice held out")
    return train, val
