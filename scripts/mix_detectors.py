"""Offline: the average of any saved single detectors (e.g. one trained with another setting in place of a default
member), calibrated on the validation normals as a trained model is, scored on the test set with the benchmark's
metrics. The members' maps are averaged as `generation.banks` averages its detectors (bench_accuracy.average_of);
nothing is trained, the fingerprint check is skipped. Never run by tests.

    python scripts/mix_detectors.py demo grad-difference-match05 grad-difference-banks1-draw1 grad-difference-banks1-draw2
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import average_of, load_set, metrics  # noqa: E402

from gradad.workflow import read_images  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("set")
    p.add_argument("members", nargs="+", help="saved model names under RUNS/<set>/seed0 (bench_accuracy --save-models)")
    p.add_argument("--runs", type=Path, default=REPO / "runs" / "bench_accuracy")
    a = p.parse_args()
    torch.set_num_threads(1)
    data, groups = load_set(a.set, a.runs)
    model = average_of(a.runs / a.set.replace("/", "__") / "seed0", a.members)
    model.patchdiff = None  # no fingerprint check
    model.calibrate(read_images(data.val))
    preds = model.predict(read_images(data.test))
    m = metrics(data, groups, [r.score for r in preds], [r.anomaly_map for r in preds])
    cells = {"image": m["image_auroc"], "logical": m["auroc_logical"], "structural": m["auroc_structural"]}
    cells |= m["per_type_auroc"]
    print(a.set, " + ".join(a.members), ", ".join(f"{k} {v:.3f}" for k, v in cells.items() if v is not None), flush=True)


if __name__ == "__main__":
    main()
