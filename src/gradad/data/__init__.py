"""Data sets: recognise a layout, load one category as train/val/test samples, summarise what is there."""
from __future__ import annotations

import os
from pathlib import Path

from gradad.data import loco, mvtec
from gradad.data.base import CategoryData, DatasetError, Sample
from gradad.data.folder import load_folder
from gradad.data.images import image_size, is_image_file, read_image, read_mask, read_mask_layers
from gradad.data.loco import load_loco
from gradad.data.mvtec import load_mvtec
from gradad.data.polarity import POLARITIES, apply_polarity
from gradad.data.visa import SPLIT_CSV, load_visa, visa_categories

FORMATS = ("mvtec", "loco", "visa", "folder")
EXPECTED_ANY = ("expected MVTec AD (<root>/<category>/train/good, test/<type>, ground_truth/<type>), MVTec LOCO AD "
                "(... plus validation/good, defects_config.json), VisA (<root>/split_csv/1cls.csv) or a folder of "
                "normal images (use --format folder when they lie in sub-folders)")
_CATEGORY_MARKERS = ("train", "test", "ground_truth")
_FOLDER_NAMES = {  # sub-folder names that let `--format folder` find normal, abnormal and mask images under one path
    "normal": ("normal", "good", "ok"),
    "abnormal": ("abnormal", "anomaly", "anomalous", "defect", "defective", "bad", "ng"),
    "mask": ("masks", "mask", "ground_truth"),
}

__all__ = ["CategoryData", "DatasetError", "Sample", "FORMATS", "POLARITIES", "describe", "detect_format", "list_categories",
           "load_category", "load_folder", "read_image", "read_mask", "read_mask_layers"]


def _as_dir(root: Path | str) -> Path:
    """Absolute path (without resolving symlinks) of a folder that must exist."""
    path = Path(os.path.abspath(os.path.expanduser(root)))
    if not path.exists():
        raise DatasetError(f"{path}: no such folder; {EXPECTED_ANY}")
    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder; {EXPECTED_ANY}")
    return path


def _children(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")]


def _is_category(folder: Path) -> bool:
    return any((folder / m).is_dir() for m in _CATEGORY_MARKERS)


def _is_visa_category(folder: Path) -> bool:
    return (folder.parent / SPLIT_CSV).is_file() and folder.name in visa_categories(folder.parent)


def _named_child(folder: Path, role: str) -> Path | None:
    return next((p for p in _children(folder) if p.name.lower() in _FOLDER_NAMES[role]), None)


def _detect(root: Path) -> str | None:
    if (root / SPLIT_CSV).is_file() or _is_visa_category(root):
        return "visa"
    categories = [root] if _is_category(root) else [d for d in _children(root) if _is_category(d)]
    if categories:
        loco = any((d / "validation").is_dir() or (d / "defects_config.json").is_file() for d in categories)
        return "loco" if loco else "mvtec"
    if _named_child(root, "normal") or any(p.is_file() and is_image_file(p) for p in root.iterdir()):
        return "folder"
    return None


def detect_format(root: Path | str) -> str:
    """"mvtec", "loco", "visa" or "folder", from marker files and folders (no images are opened)."""
    root = _as_dir(root)
    found = _detect(root)
    if found:
        return found
    if not any(root.iterdir()):
        raise DatasetError(f"{root}: empty folder; {EXPECTED_ANY}")
    nested = [f"{d.name} ({fmt})" for d in _children(root) if (fmt := _detect(d)) in ("mvtec", "loco", "visa")]
    if nested:
        raise DatasetError(f"{root}: holds data sets in sub-folders: {', '.join(nested)}; point at one of them")
    raise DatasetError(f"{root}: no data-set layout recognised; {EXPECTED_ANY}")


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise DatasetError(f"unknown data-set format '{format}'; expected auto or one of {', '.join(FORMATS)}")
    return format


def list_categories(root: Path | str, format: str) -> list[str]:
    """Category names under root (a data-set root, or a single category folder)."""
    root, format = _as_dir(root), _check_format(format)
    if format == "folder":
        return [root.name]
    if format == "visa":
        return [root.name] if _is_visa_category(root) else visa_categories(root)
    if _is_category(root):
        return [root.name]
    names = [d.name for d in _children(root) if _is_category(d)]
    if not names:
        expected = loco.EXPECTED if format == "loco" else mvtec.EXPECTED
        raise DatasetError(f"{root}: no category folder with 'train/good'; {expected}")
    return names


def _load_folder_root(root: Path, category: str | None) -> CategoryData:
    """--format folder on one path: normal/, abnormal/ and masks/ sub-folders if present, else all normal."""
    normal = _named_child(root, "normal")
    if normal is None:
        return load_folder(root, category=category or root.name)
    return load_folder(normal, _named_child(root, "abnormal"), _named_child(root, "mask"), category or root.name)


def load_category(root: Path | str, category: str | None = None, format: str = "auto",
                  mask_polarity: str = "auto") -> CategoryData:
    """One category of a data set; root may be the data-set root or the category folder itself.

    mask_polarity: "nonzero" (MVTec AD: non-zero marks the defect), "zero", or "auto" (gradad.data.polarity)."""
    return apply_polarity(_load_category(root, category, format), mask_polarity)


def _load_category(root: Path | str, category: str | None, format: str) -> CategoryData:
    root = _as_dir(root)
    format = detect_format(root) if format == "auto" else _check_format(format)
    if format == "folder":
        return _load_folder_root(root, category)
    names = list_categories(root, format)
    is_category = _is_visa_category(root) if format == "visa" else _is_category(root)
    if is_category:
        if category not in (None, root.name):
            raise DatasetError(f"{root}: is category '{root.name}', not '{category}'")
        dataset_root, category = root.parent, root.name
    else:
        dataset_root = root
        if category is None:
            if len(names) > 1:
                raise DatasetError(f"{root}: holds {len(names)} categories ({', '.join(names)}); choose one")
            category = names[0]
        elif category not in names:
            raise DatasetError(f"{root}: no category '{category}'; found {', '.join(names)}")
    return {"mvtec": load_mvtec, "loco": load_loco, "visa": load_visa}[format](dataset_root, category)


def _size_range(data: CategoryData) -> tuple[tuple[int, int], tuple[int, int]] | None:
    sizes = [image_size(s.path) for s in (*data.train, *data.val, *data.test)]
    if not sizes:
        return None
    heights, widths = zip(*sizes)
    return (min(heights), min(widths)), (max(heights), max(widths))


def describe(root: Path | str, format: str = "auto", category: str | None = None) -> list[dict]:
    """Per category (or only `category`): counts per split and defect type, image size range (headers only),
    masks and notes."""
    root = _as_dir(root)
    format = detect_format(root) if format == "auto" else _check_format(format)
    names = [category] if category is not None else list_categories(root, format)
    summaries = []
    for name in names:
        data = load_category(root, None if format == "folder" and category is None else name, format)
        anomalous = [s for s in data.test if s.label == 1]
        types: dict[str, dict[str, int]] = {}
        for s in anomalous:
            entry = types.setdefault(s.defect_type, {"images": 0, "masks": 0})
            entry["images"] += 1
            entry["masks"] += bool(s.mask_paths)
        size = _size_range(data)
        summaries.append({
            "dataset": data.dataset, "category": data.category, "root": str(data.root),
            "train": len(data.train), "val": len(data.val),
            "test_good": len(data.test) - len(anomalous), "test_anomalous": len(anomalous),
            "defect_types": dict(sorted(types.items())),
            "masks": sum(e["masks"] for e in types.values()), "has_pixel_masks": data.has_pixel_masks,
            "size_min": size[0] if size else None, "size_max": size[1] if size else None,
            "defects_config": len(data.defects_config) if data.defects_config is not None else None,
            "notes": list(data.notes),
        })
    return summaries
