"""MVTec LOCO AD layout: published validation/good, several masks per image, defect ids in defects_config.json."""
from __future__ import annotations

import json
from pathlib import Path

from gradad.data.base import CategoryData, DatasetError, Sample
from gradad.data.images import list_images
from gradad.data.mvtec import find_mask_files, load_test, require_images

EXPECTED = ("expected MVTec LOCO AD layout <root>/<category>/train/good, validation/good, "
            "test/{good,logical_anomalies,structural_anomalies}, ground_truth/<type>/<stem>/000.png, "
            "defects_config.json")
DEFECT_KEYS = ("defect_name", "pixel_value", "saturation_threshold", "relative_saturation")


def find_mask_folders(gt_dir: Path, images: list[Path], notes: list[str], label: str) -> dict[Path, tuple[Path, ...]]:
    """All masks in ground_truth/<type>/<stem>/ (one file per defect); a plain <stem>_mask file is accepted too."""
    found = {}
    for image in images:
        folder = gt_dir / image.stem
        if folder.is_dir():
            masks = list_images(folder, notes, label=f"{label}/{image.stem}")
            if masks:
                found[image] = tuple(masks)
    rest = [p for p in images if p not in found]
    if rest:
        found.update(find_mask_files(gt_dir, rest, [], label))
    return found


def read_defects_config(category_dir: Path, notes: list[str]) -> list[dict] | None:
    """defects_config.json entries, checked for the keys sPRO needs; absent file -> None and a note."""
    path = category_dir / "defects_config.json"
    if not path.is_file():
        notes.append(f"{category_dir.name}: no defects_config.json; sPRO saturation thresholds unavailable")
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path}: cannot read JSON ({err}); {EXPECTED}") from None
    if not isinstance(config, list) or not all(isinstance(e, dict) for e in config):
        raise DatasetError(f"{path}: expected a JSON list of objects with keys {', '.join(DEFECT_KEYS)}")
    for i, entry in enumerate(config):
        missing = [k for k in DEFECT_KEYS if k not in entry]
        if missing:
            raise DatasetError(f"{path}: entry {i} lacks {', '.join(missing)}; expected keys {', '.join(DEFECT_KEYS)}")
    return config


def load_loco(root: Path, category: str) -> CategoryData:
    """One MVTec LOCO AD category; validation/good is the published normal validation split."""
    category_dir, notes = root / category, []
    if not category_dir.is_dir():
        raise DatasetError(f"{category_dir}: no such category folder; {EXPECTED}")
    train = [Sample(p) for p in require_images(category_dir / "train" / "good", category_dir, notes, EXPECTED)]
    val = [Sample(p) for p in require_images(category_dir / "validation" / "good", category_dir, notes, EXPECTED)]
    test = load_test(category_dir, notes, EXPECTED, find_mask_folders)
    config = read_defects_config(category_dir, notes)
    return CategoryData("loco", root, category, train, val, test, defects_config=config, notes=notes)
