"""MVTec AD layout (<root>/<category>/train/good, test/<type>, ground_truth/<type>), also used by many other sets."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gradad.data.base import CategoryData, DatasetError, IMAGE_EXTENSIONS, Sample, split_validation
from gradad.data.images import list_images

EXPECTED = "expected MVTec AD layout <root>/<category>/train/good, test/<type>, ground_truth/<type>"

MaskFinder = Callable[[Path, list[Path], list[str], str], dict[Path, tuple[Path, ...]]]


def require_images(folder: Path, category_dir: Path, notes: list[str], expected: str) -> list[Path]:
    """The images of a folder the layout demands; a missing or image-less folder is the user's error."""
    rel = folder.relative_to(category_dir).as_posix()
    if not folder.is_dir():
        raise DatasetError(f"{category_dir}: no '{rel}' folder; {expected}")
    images = list_images(folder, notes, label=f"{category_dir.name}/{rel}")
    if not images:
        raise DatasetError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}); {expected}")
    return images


def _subdirs(folder: Path, notes: list[str], label: str) -> list[Path]:
    """Sub-folders in sorted order; stray files are reported, hidden entries ignored."""
    entries = [p for p in sorted(folder.iterdir()) if not p.name.startswith(".")]
    stray = [p.name for p in entries if not p.is_dir()]
    if stray:
        notes.append(f"{label}: skipped {len(stray)} file(s) outside <type> folders ({', '.join(stray[:3])})")
    return [p for p in entries if p.is_dir()]


def load_test(category_dir: Path, notes: list[str], expected: str, find_masks: MaskFinder) -> list[Sample]:
    """test/<type> images ("good" first, then types alphabetically) with masks from ground_truth/<type>."""
    name, test_dir = category_dir.name, category_dir / "test"
    if not test_dir.is_dir():
        raise DatasetError(f"{category_dir}: no 'test' folder; {expected}")
    type_dirs = sorted(_subdirs(test_dir, notes, f"{name}/test"), key=lambda d: (d.name != "good", d.name))
    samples: list[Sample] = []
    for type_dir in type_dirs:
        kind, label = type_dir.name, f"{name}/test/{type_dir.name}"
        images = list_images(type_dir, notes, label=label)
        if not images:
            notes.append(f"{label}: no images")
        elif kind == "good":
            samples += [Sample(p) for p in images]
        else:
            masks = find_masks(category_dir / "ground_truth" / kind, images, notes, f"{name}/ground_truth/{kind}")
            samples += [Sample(p, 1, kind, masks.get(p, ())) for p in images]
            missing = sum(1 for p in images if p not in masks)
            if missing:
                notes.append(f"{label}: {missing} of {len(images)} anomalous images have no mask in "
                             f"ground_truth/{kind}; pixel metrics will be absent")
    if not samples:
        raise DatasetError(f"{test_dir}: no test images in any <type> folder; {expected}")
    return samples


def find_mask_files(gt_dir: Path, images: list[Path], notes: list[str], label: str) -> dict[Path, tuple[Path, ...]]:
    """One mask file per image, named <stem>_mask.<ext> or <stem>.<ext> (any image extension, any case)."""
    if not gt_dir.is_dir():
        return {}
    by_stem: dict[str, list[Path]] = {}
    for mask in list_images(gt_dir, notes, label=label):
        by_stem.setdefault(mask.stem, []).append(mask)
    found, used = {}, set()
    for image in images:
        candidates = by_stem.get(image.stem + "_mask") or by_stem.get(image.stem) or []
        if len(candidates) > 1:
            raise DatasetError(f"{image}: several masks match ({', '.join(c.name for c in candidates)}); "
                               f"expected one {image.stem}_mask.<ext> in {gt_dir}")
        if candidates:
            found[image] = (candidates[0],)
            used.add(candidates[0])
    unused = sum(len(v) for v in by_stem.values()) - len(used)
    if unused:
        notes.append(f"{label}: {unused} mask file(s) match no test image")
    return found


def load_mvtec(root: Path, category: str) -> CategoryData:
    """One MVTec AD category; validation is a seeded slice of train/good (MVTec AD publishes none)."""
    category_dir, notes = root / category, []
    if not category_dir.is_dir():
        raise DatasetError(f"{category_dir}: no such category folder; {EXPECTED}")
    good = [Sample(p) for p in require_images(category_dir / "train" / "good", category_dir, notes, EXPECTED)]
    train, val = split_validation(good, notes, f"{category}/train/good")
    test = load_test(category_dir, notes, EXPECTED, find_mask_files)
    return CategoryData("mvtec", root, category, train, val, test, notes=notes)
