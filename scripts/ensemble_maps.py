"""Image and pixel AUROC of the mean map of several saved detectors of one (set, seed), against each alone.

Measures whether averaging detectors trained on other draws of the bank (scripts/redraw_bank.py) buys accuracy, and
how much of a single detector's figure is the luck of its draw. Each model's own calibrated map (its map offset
subtracted, smoothed) is averaged; the image score is the mean map's maximum, as one model scores.

    python scripts/ensemble_maps.py piped/PA_BRG03_TL 0 grad-difference-offb grad-difference-draw1-offb ...
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import load_set, metrics  # noqa: E402
from mix_banks import OUT  # noqa: E402

from gradad.pipeline import GRAD  # noqa: E402
from gradad.workflow import read_images  # noqa: E402


def main() -> None:
    name, seed, variants = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    folder = OUT / name.replace("/", "__") / f"seed{seed}"
    data, groups = load_set(name, OUT)
    images = read_images(data.test)
    maps = []
    for v in variants:
        preds = GRAD.load(folder / f"{v}.model").predict(images)
        maps.append(np.stack([p.anomaly_map for p in preds]))
        r = metrics(data, groups, [float(m.max()) for m in maps[-1]], list(maps[-1]))
        print(f"{v}: image {r['image_auroc']:.3f} pixel {r['pixel_auroc']:.3f}", flush=True)
    for k in range(1, len(maps) + 1):
        mean = np.mean(maps[:k], axis=0)
        r = metrics(data, groups, [float(m.max()) for m in mean], list(mean))
        print(f"mean map of the first {k}: image {r['image_auroc']:.3f} pixel {r['pixel_auroc']:.3f}", flush=True)


if __name__ == "__main__":
    main()
