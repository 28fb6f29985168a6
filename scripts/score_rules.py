"""Image AUROC of saved benchmark models under other image-score rules and map smoothing, training nothing.

The image score (detector.score: the map's maximum or the mean of its top fraction) and the map's Gaussian smoothing
(detector.smoothing_sigma) are applied after the detector, so a saved model is re-scored under each rule: the map
offset is learnt again from the validation images (GRAD.fit_map_offset, as calibration does), then the test images
are scored. Prints a markdown table (one row per saved model, a mean row) and writes the figures as JSON.

    python scripts/score_rules.py --variant grad-difference-offb --sets demo mvtec_ad/bottle
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import load_set  # noqa: E402

from gradad.pipeline import GRAD  # noqa: E402
from gradad.preprocess import to_tensor  # noqa: E402
from gradad.workflow import read_images  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "runs" / "bench_accuracy"
# (score, top fraction, smoothing sigma); the first is the default
RULES = [("max", 0.01, 2.0), ("max", 0.01, 1.0), ("max", 0.01, 4.0), ("topk", 0.001, 2.0), ("topk", 0.003, 2.0),
         ("topk", 0.01, 2.0), ("topk", 0.03, 2.0), ("topk", 0.1, 2.0), ("topk", 0.003, 4.0), ("topk", 0.01, 4.0)]


def rule_name(score: str, topk: float, sigma: float) -> str:
    return (f"top {topk:g}" if score == "topk" else "max") + f", σ {sigma:g}"


def image_aurocs(model: GRAD, val, test, labels: list[int]) -> dict[str, float]:
    out = {}
    for score, topk, sigma in RULES:
        model.config = model.config.replace(**{"detector.score": score, "detector.topk": topk,
                                               "detector.smoothing_sigma": sigma})
        model.fit_map_offset(val)
        scores = [p.score for i in range(0, len(test), 32) for p in model._predict_raw(test[i:i + 32])]
        out[rule_name(score, topk, sigma)] = float(roc_auc_score(labels, scores))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="grad-difference-offb", help="saved models <variant>.model of each set/seed")
    p.add_argument("--sets", nargs="+", required=True)
    p.add_argument("--json", type=Path, default=Path("runs/analysis/score_rules.json"))
    a = p.parse_args()
    rows = {}
    for name in a.sets:
        for model_dir in sorted((OUT / name.replace("/", "__")).glob(f"seed*/{a.variant}.model")):
            data, _ = load_set(name, OUT)
            model = GRAD.load(model_dir)
            size = model.config.image_size
            rows[f"{name} {model_dir.parent.name}"] = image_aurocs(
                model, to_tensor(read_images(data.val), size), to_tensor(read_images(data.test), size),
                [s.label for s in data.test])
    if not rows:
        sys.exit(f"no saved {a.variant}.model under {OUT} for these sets")
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(rows, indent=1))
    names = list(next(iter(rows.values())))
    print("| set, seed | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names))
    for key, r in rows.items():
        print(f"| {key} | " + " | ".join(f"{r[n]:.3f}" for n in names) + " |")
    print("| **mean** | " + " | ".join(f"**{np.mean([r[n] for r in rows.values()]):.4f}**" for n in names) + " |")


if __name__ == "__main__":
    main()
