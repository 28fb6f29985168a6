"""Brightness and contrast of PatchDiff canvases against the real training images, per first-step rule.

Loads a cached generator of the accuracy benchmark (its final EMA denoiser), draws canvases from pure noise with
each `patchdiff.start` rule, and prints mean, standard deviation and low-frequency standard deviation (of 16x16-pixel
block means) over all pixels, for the training images and for the canvases. Trains nothing.

    python scripts/canvas_stats.py magnetic_tile/tile runs/bench_accuracy/magnetic_tile__tile/seed0/generator
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from gradad import modelfile
from gradad.config import GRADConfig
from gradad.data import load_category
from gradad.patchdiff import PatchDiff
from gradad.preprocess import to_tensor
from gradad.workflow import read_images

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def stats(x: torch.Tensor) -> str:
    low = F.avg_pool2d(x, 16).std(dim=(2, 3)).mean()
    return f"mean {x.mean():+.3f}, std {x.std():.3f}, low-frequency std {low:.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("set", help="a set under ../shared/data, e.g. mvtec_ad/bottle")
    p.add_argument("generator", type=Path, help="a cached generator folder of scripts/bench_accuracy.py")
    p.add_argument("--canvases", type=int, default=8)
    p.add_argument("--images", type=int, default=60, help="training images the mean colour and the statistics use")
    a = p.parse_args()
    meta, weights = modelfile.load(a.generator)[:2]
    cfg = GRADConfig.from_dict(meta["key"])
    data = load_category(SHARED / a.set)
    x = to_tensor(read_images(data.train[:a.images]), cfg.image_size)
    print(f"{a.set}: training images ({len(x)}): {stats(x)}")
    for start in ("model", "mean"):
        pd = PatchDiff(cfg.replace(**{"patchdiff.start": start}).patchdiff)
        pd.load_state_dict(weights)
        pd.mean = x.mean(dim=(0, 2, 3)).view(1, -1, 1, 1)  # what PatchDiff.fit keeps
        canvases = pd.sample_canvas(a.canvases, cfg.image_size, torch.Generator().manual_seed(0))
        print(f"{a.set}: canvases, patchdiff.start={start!r}: {stats(canvases)}")


if __name__ == "__main__":
    sys.exit(main())
