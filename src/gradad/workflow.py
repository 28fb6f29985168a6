"""Glue between data sets, the GRAD model and evaluation: train one category, test one category.

The CLI, `make demo` and the benchmark scripts all go through these two functions, so every number is
produced by the same path.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np

from gradad.config import GRADConfig
from gradad.data import CategoryData, read_image
from gradad.evaluation import evaluate_category, write_results
from gradad.pipeline import GRAD, Prediction, Progress

MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoint"  # completed generation phases of an unfinished training, for resuming


def read_images(samples, on_image: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
    images = []
    for i, s in enumerate(samples):
        images.append(read_image(s.path))
        if on_image:
            on_image(i + 1, len(samples))
    return images


def train_category(data: CategoryData, config: GRADConfig, out: Path, progress: Progress | None = None) -> GRAD:
    """Fit on the normal training images, calibrate on the held-out normal images, save `<out>/model`.

    If an earlier run into the same `out` was interrupted after PatchDiff and the bank were made, they are
    reused (same settings only) rather than trained again.
    """
    if not data.train:
        raise ValueError(f"{data.root}: no normal training images")
    train = read_images(data.train)
    val = read_images(data.val)
    checkpoint = Path(out) / CHECKPOINT_DIR
    model = GRAD(config).fit(train, val, progress, checkpoint=checkpoint)
    model.info["data"] = {"dataset": data.dataset, "root": str(data.root), "category": data.category,
                          "num_train": len(train), "num_val": len(val)}
    model.save(Path(out) / MODEL_DIR)
    shutil.rmtree(checkpoint, ignore_errors=True)
    return model


def predict_samples(model: GRAD, samples, batch_size: int = 16) -> tuple[list[Prediction], float]:
    """Predictions for samples read from disk, and the mean detector+post-processing time per image (ms)."""
    preds, seconds = [], 0.0
    for i in range(0, len(samples), batch_size):
        images = read_images(samples[i:i + batch_size])
        t0 = time.perf_counter()
        preds += model.predict(images, batch_size=batch_size)
        seconds += time.perf_counter() - t0
    return preds, 1000 * seconds / max(1, len(samples))


def test_category(model: GRAD, data: CategoryData, out: Path, type_groups: dict[str, str] | None = None) -> dict:
    """Evaluate on the test split with the official protocols; write results.json/.csv and report.html to `out`."""
    if not data.test:
        raise ValueError(f"{data.root}: no test images to evaluate on")
    preds, ms = predict_samples(model, data.test)
    result = evaluate_category(data, [p.score for p in preds], [p.anomaly_map for p in preds],
                               type_groups=type_groups)
    result["threshold"] = model.threshold
    result["fingerprint_auroc"] = model.info.get("fingerprint_auroc")
    result["inference_ms_per_image"] = ms
    result["timings_s"] = model.info.get("timings_s", {})
    model_info = {"name": "GRAD", "config": model.config.to_dict(), "threshold": model.threshold,
                  "data": model.info.get("data")}
    write_results(out, result, model_info)
    (Path(out) / "predictions.json").write_text(json.dumps(
        [{"path": str(s.path), "label": s.label, "defect_type": s.defect_type, "score": p.score,
          "normalized_score": p.normalized_score, "is_anomalous": bool(p.is_anomalous)}
         for s, p in zip(data.test, preds)], indent=1))
    from gradad.report import write_report  # here, not at the top: matplotlib loads only when a report is written

    write_report(out, model, data, preds, result)
    return result


def load_model(path: Path) -> tuple[GRAD, Path]:
    """Load a model from a run folder (containing `model/`) or the model folder itself; return it and the run folder."""
    path = Path(path)
    if (path / MODEL_DIR).is_dir():
        return GRAD.load(path / MODEL_DIR), path
    return GRAD.load(path), path.parent
