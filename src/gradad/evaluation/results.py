"""Write and read evaluation results: results.json (full record) and results.csv (one flat row per category)."""
from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

SCHEMA_VERSION = 1
JSON_NAME = "results.json"
CSV_NAME = "results.csv"
LEADING_COLUMNS = (
    "dataset", "category", "num_images", "num_anomalous", "image_auroc", "image_f1_max",
    "pixel_auroc", "au_pro", "au_pro_fpr_limit",
    "auroc_logical", "auroc_structural", "auroc_mean",
    "au_spro", "au_spro_logical", "au_spro_structural", "au_spro_fpr_limit",
)


def _plain(value):
    """JSON-safe copy: numpy scalars and arrays become Python values; NaN/inf become null rather than invalid JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _csv_row(result: dict) -> dict[str, str]:
    """Scalars as columns, per_type_auroc as auroc[<type>], other dicts as key[sub]; lists stay JSON-only."""
    row: dict[str, str] = {}
    for key, value in result.items():
        if isinstance(value, dict):
            prefix = "auroc" if key == "per_type_auroc" else key
            for sub, v in value.items():
                if not isinstance(v, (dict, list)):
                    row[f"{prefix}[{sub}]"] = "" if v is None else repr(v) if isinstance(v, float) else str(v)
        elif not isinstance(value, list):
            row[key] = "" if value is None else repr(value) if isinstance(value, float) else str(value)
    return row


def write_results(out_dir, results: dict | list[dict], model_info: dict) -> Path:
    """Write results.json and results.csv into out_dir (created if needed); returns the JSON path.

    Every result needs "dataset" and "category" so rows stay identifiable once merged with other runs.
    """
    from gradad import __version__

    items = [results] if isinstance(results, dict) else list(results)
    for i, r in enumerate(items):
        if not isinstance(r, dict) or "dataset" not in r or "category" not in r:
            raise ValueError(f"result {i} must be a dict with 'dataset' and 'category'")
    record = {
        "schema_version": SCHEMA_VERSION,
        "gradad_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": _plain(dict(model_info)),
        "results": [_plain(r) for r in items],
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / JSON_NAME
    json_path.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n", encoding="utf-8")

    rows = [_csv_row(r) for r in record["results"]]
    seen = {k for row in rows for k in row}
    columns = [c for c in LEADING_COLUMNS if c in seen]
    columns += sorted(k for k in seen if k not in columns and not k.startswith("auroc["))
    columns += sorted(k for k in seen if k.startswith("auroc["))
    with open(out / CSV_NAME, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return json_path


def read_results(path) -> dict:
    """Load results.json (or the results.json inside a directory), refusing schema versions this code cannot read."""
    p = Path(path)
    if p.is_dir():
        p = p / JSON_NAME
    record = json.loads(p.read_text(encoding="utf-8"))
    version = record.get("schema_version") if isinstance(record, dict) else None
    if version != SCHEMA_VERSION:
        raise ValueError(f"{p}: results schema_version {version!r} is not supported (expected {SCHEMA_VERSION})")
    return record
