"""results.json / results.csv round trip and schema checks."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from gradad import __version__
from gradad.evaluation import read_results, write_results

RESULTS = [
    {"dataset": "mvtec", "category": "bottle", "num_images": 83, "num_anomalous": 63,
     "image_auroc": 0.987654321, "image_f1_max": np.float64(0.95), "pixel_auroc": 0.9712, "au_pro": 0.91,
     "au_pro_fpr_limit": 0.3, "per_type_auroc": {"broken_large": 1.0, "contamination": 0.96}},
    {"dataset": "mvtec", "category": "screw", "num_images": 160, "num_anomalous": 119,
     "image_auroc": 0.81, "image_f1_max": 0.86, "pixel_auroc": None, "au_pro": None,
     "au_pro_fpr_limit": 0.3, "per_type_auroc": {"thread_top": 0.7}},
]
MODEL = {"name": "grad", "config": {"image_size": 256, "seed": 0}}


def test_json_round_trip(tmp_path):
    path = write_results(tmp_path / "run", RESULTS, MODEL)
    record = read_results(path)
    assert record == read_results(tmp_path / "run")
    assert record["schema_version"] == 1 and record["gradad_version"] == __version__
    assert record["model"] == MODEL and record["created"].endswith("+00:00")
    assert record["results"][0]["image_f1_max"] == 0.95
    assert record["results"][1]["pixel_auroc"] is None
    assert record["results"][0]["per_type_auroc"] == RESULTS[0]["per_type_auroc"]


def test_csv_has_one_flat_row_per_category(tmp_path):
    write_results(tmp_path, RESULTS, MODEL)
    with open(tmp_path / "results.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        columns = reader.fieldnames
    assert columns[:2] == ["dataset", "category"]
    assert columns[-3:] == ["auroc[broken_large]", "auroc[contamination]", "auroc[thread_top]"]
    assert [r["category"] for r in rows] == ["bottle", "screw"]
    assert float(rows[0]["image_auroc"]) == RESULTS[0]["image_auroc"]
    assert float(rows[0]["auroc[contamination]"]) == 0.96
    assert rows[1]["pixel_auroc"] == "" and rows[1]["auroc[broken_large]"] == ""
    assert int(rows[1]["num_images"]) == 160


def test_single_result_nan_and_bad_input(tmp_path):
    path = write_results(tmp_path, {"dataset": "demo", "category": "tiles", "image_auroc": float("nan")}, MODEL)
    assert read_results(path)["results"][0]["image_auroc"] is None
    with pytest.raises(ValueError, match="category"):
        write_results(tmp_path, [{"dataset": "demo"}], MODEL)
    record = json.loads(path.read_text())
    record["schema_version"] = 2
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="schema_version"):
        read_results(path)
