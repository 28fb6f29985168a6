"""Offline: the average of any saved single detectors (e.g. one trained with another setting in place of a default
member), calibrated on the validation normals as a trained model is, scored on the test set. The members' maps are
averaged as `generation.banks` averages its detectors (gradad.detector.network.Ensemble); nothing is trained, the
fingerprint check is skipped. Never run by tests.

    python scripts/mix_detectors.py demo grad-difference-match05 grad-difference-banks1-draw1 grad-difference-banks1-draw2
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import load_set  # noqa: E402

from gradad.detector.network import Ensemble  # noqa: E402
from gradad.pipeline import GRAD  # noqa: E402
from gradad.workflow import read_images  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def auroc(y: np.ndarray, s: np.ndarray, keep: np.ndarray) -> float:
    """Image AUROC of the anomalies selected by `keep` against every normal test image."""
    sel = keep | (y == 0)
    return roc_auc_score(y[sel], s[sel])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("set")
    p.add_argument("members", nargs="+", help="saved model names under RUNS/<set>/seed0 (bench_accuracy --save-models)")
    p.add_argument("--runs", type=Path, default=REPO / "runs" / "bench_accuracy")
    a = p.parse_args()
    torch.set_num_threads(1)
    folder = a.runs / a.set.replace("/", "__") / "seed0"
    data, groups = load_set(a.set, a.runs)
    models = [GRAD.load(folder / f"{m}.model", device="cpu") for m in a.members]
    model = models[0]
    model.detector = Ensemble([m.detector for m in models]).eval()
    model.patchdiff = None  # no fingerprint check
    model.calibrate(read_images(data.val))
    s = np.array([r.score for r in model.predict(read_images(data.test))])
    y = np.array([x.label for x in data.test])
    types = np.array([x.defect_type for x in data.test])
    cells = {"image": roc_auc_score(y, s)}
    cells |= {g: auroc(y, s, np.isin(types, [t for t, v in groups.items() if v == g]))
              for g in sorted(set((groups or {}).values()))}
    cells |= {t: auroc(y, s, types == t) for t in sorted(set(types) - {"good"})}
    print(a.set, " + ".join(a.members), ", ".join(f"{k} {v:.3f}" for k, v in cells.items()), flush=True)


if __name__ == "__main__":
    main()
