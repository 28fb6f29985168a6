"""VisA layout: the official split_csv/1cls.csv lists every image and mask of every category."""
from __future__ import annotations

import csv
from pathlib import Path

from gradad.data.base import CategoryData, DatasetError, Sample, split_validation

SPLIT_CSV = Path("split_csv") / "1cls.csv"
COLUMNS = ("object", "split", "label", "image", "mask")
EXPECTED = ("expected VisA layout <root>/split_csv/1cls.csv (columns object,split,label,image,mask; paths relative "
            "to <root>) and <root>/<category>/Data/Images/{Normal,Anomaly}, Data/Masks/Anomaly")
DEFECT_TYPE = "anomaly"  # 1cls.csv does not name defect types


def read_split(root: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of 1cls.csv, after checking the header."""
    path = root / SPLIT_CSV
    if not path.is_file():
        raise DatasetError(f"{root}: no '{SPLIT_CSV.as_posix()}' file; {EXPECTED}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}; {EXPECTED}")
            rows = [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DatasetError(f"{path}: cannot read CSV ({err}); {EXPECTED}") from None
    if not rows:
        raise DatasetError(f"{path}: no rows; {EXPECTED}")
    return rows


def visa_categories(root: Path) -> list[str]:
    """The objects named in 1cls.csv, sorted."""
    return sorted({row["object"] for _, row in read_split(root)})


def _existing(root: Path, rel: str, csv_line: int, what: str) -> Path:
    path = root / rel
    if not path.is_file():
        raise DatasetError(f"{path}: {what} listed in {root / SPLIT_CSV} line {csv_line} does not exist; {EXPECTED}")
    return path


def load_visa(root: Path, category: str) -> CategoryData:
    """One VisA category from 1cls.csv; validation is a seeded slice of the train normals (VisA has none)."""
    rows = [(n, r) for n, r in read_split(root) if r["object"] == category]
    if not rows:
        raise DatasetError(f"{root / SPLIT_CSV}: no rows for object '{category}'; categories: "
                           f"{', '.join(visa_categories(root))}")
    notes: list[str] = []
    good, test, skipped_train, unmasked = [], [], 0, 0
    for line, row in rows:
        split, label = row["split"].lower(), row["label"].lower()
        if split not in ("train", "test") or label not in ("normal", "anomaly"):
            raise DatasetError(f"{root / SPLIT_CSV} line {line}: split '{row['split']}' / label '{row['label']}'; "
                               "expected split train|test and label normal|anomaly")
        image = _existing(root, row["image"], line, "image")
        masks = (_existing(root, row["mask"], line, "mask"),) if row["mask"] else ()
        if split == "train" and label == "anomaly":
            skipped_train += 1
        elif split == "train":
            good.append(Sample(image))
        elif label == "normal":
            test.append(Sample(image, 0, "good", masks))
        else:
            test.append(Sample(image, 1, DEFECT_TYPE, masks))
            unmasked += not masks
    if skipped_train:
        notes.append(f"{category}: skipped {skipped_train} anomalous training images (training uses normals only)")
    if unmasked:
        notes.append(f"{category}: {unmasked} anomalous test images have no mask; pixel metrics will be absent")
    if not good:
        raise DatasetError(f"{root / SPLIT_CSV}: no normal training images for '{category}'; {EXPECTED}")
    if not test:
        raise DatasetError(f"{root / SPLIT_CSV}: no test images for '{category}'; {EXPECTED}")
    good.sort(key=lambda s: s.path)
    test.sort(key=lambda s: (s.label, s.path))
    train, val = split_validation(good, notes, f"{category}/train")
    return CategoryData("visa", root, category, train, val, test, notes=notes)
