"""Plain folders: normal images, optionally abnormal images (sub-folders = defect types) and masks."""
from __future__ import annotations

import math
import os
from pathlib import Path

from gradad.data.base import CategoryData, DatasetError, IMAGE_EXTENSIONS, Sample, seeded_split, split_validation
from gradad.data.images import list_images

TEST_FRACTION = 0.2  # of the normals, held out as test "good" when abnormal images exist, so image AUROC is defined
TEST_SEED = 1  # differs from VALIDATION_SEED so the test and validation draws are independent
FLAT_TYPE = "anomaly"  # defect type of abnormal images lying directly in abnormal_dir
EXPECTED = ("expected a folder of normal images (searched recursively), optionally a folder of abnormal images "
            "(sub-folders = defect types) and a mask folder mirroring it (<stem>.<ext> or <stem>_mask.<ext>)")


def _images(folder: Path, notes: list[str], what: str, exclude: tuple[Path, ...] = ()) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: {what} folder does not exist; {EXPECTED}")
    images = [p for p in list_images(folder, notes, recursive=True, label=f"{what} {folder.name}")
              if not any(p.is_relative_to(e) for e in exclude)]
    if not images:
        raise DatasetError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) in {what} folder; {EXPECTED}")
    return images


def _mask_index(mask_dir: Path, notes: list[str]) -> dict[tuple[str, ...], list[Path]]:
    """Masks keyed by relative path without extension and without a trailing _mask."""
    index: dict[tuple[str, ...], list[Path]] = {}
    for mask in _images(mask_dir, notes, "mask"):
        rel = mask.relative_to(mask_dir).with_suffix("")
        stem = rel.name[: -len("_mask")] if rel.name.endswith("_mask") else rel.name
        index.setdefault((*rel.parent.parts, stem), []).append(mask)
    return index


def _test_count(n: int) -> int:
    return max(0, min(max(1, math.floor(TEST_FRACTION * n + 0.5)), n - 1))


def load_folder(normal_dir: Path, abnormal_dir: Path | None = None, mask_dir: Path | None = None,
                category: str | None = None) -> CategoryData:
    """A category from plain folders; normals are split into train, a seeded validation slice and, when
    abnormal images are given, a seeded TEST_FRACTION test slice."""
    normal_dir, abnormal_dir, mask_dir = (Path(os.path.abspath(os.path.expanduser(d))) if d is not None else None
                                          for d in (normal_dir, abnormal_dir, mask_dir))
    notes: list[str] = []
    others = tuple(d for d in (abnormal_dir, mask_dir) if d is not None)
    normals = [Sample(p) for p in _images(normal_dir, notes, "normal", exclude=others)]
    test: list[Sample] = []
    if abnormal_dir is not None:
        normals, test = seeded_split(normals, _test_count(len(normals)), seed=TEST_SEED)
        index = _mask_index(mask_dir, notes) if mask_dir is not None else {}
        unmasked = 0
        for path in _images(abnormal_dir, notes, "abnormal"):
            rel = path.relative_to(abnormal_dir)
            kind = rel.parts[0] if len(rel.parts) > 1 else FLAT_TYPE
            masks = index.get((*rel.parent.parts, path.stem), [])
            if len(masks) > 1:
                raise DatasetError(f"{path}: several masks match ({', '.join(m.name for m in masks)}); {EXPECTED}")
            test.append(Sample(path, 1, kind, tuple(masks)))
            unmasked += not masks
        if unmasked:
            notes.append(f"{abnormal_dir.name}: {unmasked} abnormal images have no mask; pixel metrics will be absent")
    elif mask_dir is not None:
        notes.append(f"{mask_dir}: masks ignored because no abnormal folder was given")
    train, val = split_validation(normals, notes, f"normal {normal_dir.name}")
    name = category or normal_dir.name
    return CategoryData("folder", normal_dir, name, train, val, test, notes=notes)
