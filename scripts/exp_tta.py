"""Offline experiment on saved models: test-time flips. Each image is scored by the detector on flipped copies too,
the logit grids flipped back and averaged, the map offset refitted on the validation images like calibrate() does,
then scored by the product's own inference graph. Nothing is trained. Never run by tests.

    python scripts/exp_tta.py --sets magnetic_tile/tile visa/capsules --variant grad-difference-re22-avg3

Columns: the saved model as it is; the same through the wrapper with no flip (must equal it: the check that the
wrapper changes nothing else); horizontal flip; vertical flip; all four of identity, h, v and both.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import saved_models  # noqa: E402

from gradad.preprocess import to_tensor  # noqa: E402
from gradad.workflow import read_images  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FLIPS = {"none": [()], "h": [(), (3,)], "v": [(), (2,)], "hv4": [(), (3,), (2,), (2, 3)]}


class Flipped(nn.Module):
    """A detector averaged over flipped inputs, each logit grid flipped back before the mean."""

    def __init__(self, detector: nn.Module, dims: list[tuple[int, ...]]):
        super().__init__()
        self.detector, self.dims = detector, dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = [self.detector(x.flip(d) if d else x) for d in self.dims]
        return torch.stack([o.flip(d) if d else o for o, d in zip(out, self.dims)]).mean(0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", nargs="+", required=True)
    p.add_argument("--variant", default="grad-difference")
    p.add_argument("--runs", type=Path, default=REPO / "runs" / "bench_accuracy")
    a = p.parse_args()
    torch.set_num_threads(1)
    cols = ["product", *FLIPS]
    print("| set | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
    for name, data, model in saved_models(a.sets, a.variant, a.runs):
        y = np.array([s.label for s in data.test])
        test = read_images(data.test)
        val = to_tensor(read_images(data.val), model.config.image_size)
        row = [np.array([r.score for r in model.predict(test)])]
        base = model.detector
        for dims in FLIPS.values():
            model.detector = Flipped(base, dims).eval()
            model.fit_map_offset(val)
            row.append(np.array([r.score for r in model.predict(test)]))
        model.detector = base
        print(f"| {name} | " + " | ".join(f"{roc_auc_score(y, s):.3f}" for s in row) + " |", flush=True)


if __name__ == "__main__":
    main()
