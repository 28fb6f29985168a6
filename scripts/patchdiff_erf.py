"""Effective receptive field of a cached PatchDiff denoiser: where the gradient of its output at one pixel comes from.

Loads a cached generator of the accuracy benchmark (its final EMA denoiser), feeds pure-noise 128x128 inputs at
several diffusion steps t, and prints the share of |d output(centre) / d input| that lies beyond 16, 24 and 28 px
of the centre (Chebyshev distance, i.e. outside a square window of that half-width). The architectural window
(57 px at the default, half-width 28) bounds it; this shows how much of that window the trained denoiser uses.
Trains nothing.

    python scripts/patchdiff_erf.py runs/bench_accuracy/magnetic_tile__tile/seed0/generator
"""
from __future__ import annotations

import argparse

import torch

from gradad import modelfile
from gradad.config import GRADConfig
from gradad.patchdiff import PatchDiff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("generator", help="a cached generator folder (runs/bench_accuracy/SET/seed0/generator)")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--inputs", type=int, default=4, help="noise inputs averaged per t")
    args = ap.parse_args()
    meta, weights = modelfile.load(args.generator)[:2]
    pd = PatchDiff(GRADConfig.from_dict(meta["key"]).patchdiff)
    pd.load_state_dict(weights)
    net, s = pd.ema, args.size
    torch.manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
    dist = torch.maximum((yy - s // 2).abs(), (xx - s // 2).abs())
    for t in (999, 700, 400, 100, 30):
        g = torch.zeros(s, s)
        for _ in range(args.inputs):
            x = torch.randn(1, 3, s, s, requires_grad=True)
            net(x, torch.tensor([t]))[0, :, s // 2, s // 2].sum().backward()
            g += x.grad.abs().sum(1)[0]
        shares = ", ".join(f"beyond {r} px {g[dist > r].sum() / g.sum():.4f}" for r in (16, 24, 28))
        print(f"t={t}: {shares}")


if __name__ == "__main__":
    main()
