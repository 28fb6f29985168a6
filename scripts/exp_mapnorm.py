"""Experiment (offline, no training): standardise each anomaly map per pixel with the maps of the held-out normal
(validation) images, then score by the maximum. Reads the `<variant>.model` (default
grad-difference) kept by `bench_accuracy.py --save-models`; prints image/pixel AUROC raw, mean-subtracted, and divided by a standard
deviation shrunk toward the global one by k (k=1: per-pixel only). Result: BENCHMARKS.md, "What these numbers say".

    python scripts/exp_mapnorm.py [--variant grad-difference-noema] mvtec_ad/bottle:0 demo:1 piped/PA_BRG01_RL:0
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_accuracy as bench  # noqa: E402

from gradad.evaluation import evaluate_category  # noqa: E402
from gradad.pipeline import GRAD  # noqa: E402
from gradad.workflow import read_images  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    out = bench.REPO / "runs" / "bench_accuracy"
    args = sys.argv[1:]
    variant = "grad-difference"
    if args[:1] == ["--variant"]:
        variant, args = args[1], args[2:]
    for arg in args:
        name, seed = arg.rsplit(":", 1)
        data, _ = bench.load_set(name, out)
        model = GRAD.load(out / name.replace("/", "__") / f"seed{seed}" / f"{variant}.model")
        test, val = (np.stack([p.anomaly_map for p in model.predict(read_images(s))]) for s in (data.test, data.val))

        def auroc(maps: np.ndarray, tag: str) -> str:
            r = evaluate_category(data, list(maps.max((1, 2))), list(maps))
            return f"{tag} {r['image_auroc']:.3f}/{r['pixel_auroc']:.3f}"

        mu, sd, spread = gaussian_filter(val.mean(0), 4), gaussian_filter(val.std(0), 4), val.std()
        cells = [name, seed, f"val={len(val)}", auroc(test, "raw"), auroc(test - mu, "mean")]
        cells += [auroc((test - mu) / np.sqrt(k * sd ** 2 + (1 - k) * spread ** 2), f"k{k}") for k in (0.25, 0.5, 1.0)]
        print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
