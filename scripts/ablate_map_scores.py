"""Offline image-score ablation on saved models: the map's maximum (the product's score) against the maximum less a
per-image baseline of the same map (its median, mean or lower quartile): an image whose whole map reads high would
not score high for that alone (meant for sets whose images differ in brightness, like magnetic tile). Uses `GRAD.predict`, the product's path (map offset
included); nothing is trained. Never run by tests.

    python scripts/ablate_map_scores.py --sets magnetic_tile/tile visa/capsules [--variant grad-difference]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import saved_models  # noqa: E402

from gradad.workflow import read_images  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCORES = {
    "max": lambda flat: flat.max(1),
    "max-median": lambda flat: flat.max(1) - np.median(flat, 1),
    "max-mean": lambda flat: flat.max(1) - flat.mean(1),
    "max-q25": lambda flat: flat.max(1) - np.quantile(flat, 0.25, axis=1),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", nargs="+", required=True)
    p.add_argument("--variant", default="grad-difference", help="the saved model's name (bench_accuracy --save-models)")
    p.add_argument("--runs", type=Path, default=REPO / "runs" / "bench_accuracy")
    a = p.parse_args()
    torch.set_num_threads(1)
    print("| set | " + " | ".join(SCORES) + " |\n|---|" + "---|" * len(SCORES))
    for name, data, model in saved_models(a.sets, a.variant, a.runs):
        maps = np.stack([r.anomaly_map for r in model.predict(read_images(data.test))])
        flat, y = maps.reshape(len(maps), -1), [s.label for s in data.test]
        print(f"| {name} | " + " | ".join(f"{roc_auc_score(y, f(flat)):.3f}" for f in SCORES.values()) + " |", flush=True)


if __name__ == "__main__":
    main()
