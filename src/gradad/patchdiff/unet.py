"""PatchDiff's denoiser: a small fully convolutional UNet whose receptive field is bounded by design.

No attention, no global pooling and no position input, so each output pixel depends only on a local
window of the input; `receptive_field()` measures that window from gradients.
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a timestep-conditioned channel bias."""

    def __init__(self, cin: int, cout: int, tdim: int, padding: str = "zeros"):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, padding_mode=padding)
        self.temb = nn.Linear(tdim, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, padding_mode=padding)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb):
        h = self.conv1(F.silu(x))
        h = h + self.temb(temb)[:, :, None, None]
        h = self.conv2(F.silu(h))
        return h + self.skip(x)


class PatchUNet(nn.Module):
    """`levels` down-samplings by 2. No normalisation layer: GroupNorm statistics would span the whole
    canvas, a global path; without it the receptive field is exactly the convolutions' window. `padding`: the
    convolutions' padding mode ("zeros" or "reflect"; reflect leaves no trace of the canvas edge in what it draws)."""

    def __init__(self, channels: int = 48, levels: int = 2, in_ch: int = 3, padding: str = "zeros"):
        super().__init__()
        c = channels
        pad = {"padding": 1, "padding_mode": padding}
        self.tdim = c * 4
        self.t_mlp = nn.Sequential(nn.Linear(c, self.tdim), nn.SiLU(), nn.Linear(self.tdim, self.tdim))
        self.inp = nn.Conv2d(in_ch, c, 3, **pad)
        chans = [c * min(2 ** i, 2) for i in range(levels + 1)]
        self.down_blocks = nn.ModuleList()
        self.downs = nn.ModuleList()
        for i in range(levels):
            self.down_blocks.append(ResBlock(chans[i], chans[i], self.tdim, padding))
            self.downs.append(nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, **pad))
        self.mid = ResBlock(chans[-1], chans[-1], self.tdim, padding)
        self.ups = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        for i in reversed(range(levels)):
            self.ups.append(nn.Conv2d(chans[i + 1], chans[i], 3, **pad))
            self.up_blocks.append(ResBlock(chans[i] * 2, chans[i], self.tdim, padding))
        self.out = nn.Sequential(nn.SiLU(), nn.Conv2d(c, in_ch, 3, **pad))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)
        self.levels = levels

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.t_mlp(timestep_embedding(t, self.inp.out_channels))
        h = self.inp(x)
        skips = []
        for block, down in zip(self.down_blocks, self.downs):
            h = block(h, temb)
            skips.append(h)
            h = down(h)
        h = self.mid(h, temb)
        for up, block in zip(self.ups, self.up_blocks):
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = block(torch.cat([up(h), skips.pop()], dim=1), temb)
        return self.out(h)


def receptive_field(net: nn.Module, size: int = 128, channels: int = 3, t: int = 500) -> int:
    """Width in pixels of the input window that influences the centre output pixel, measured by gradients.
    """
    net = copy.deepcopy(net).eval()
    with torch.no_grad():  # zero-initialised layers (the output conv) would hide the window
        for p in net.parameters():
            if not p.any():
                p.normal_(0, 0.02)
    x = torch.randn(1, channels, size, size, requires_grad=True)
    out = net(x, torch.full((1,), t, dtype=torch.long))
    c = size // 2
    out[0, :, c, c].sum().backward()
    g = x.grad.abs().sum(dim=(0, 1))
    mask = g > 0
    rows = torch.nonzero(mask.any(dim=1)).flatten()
    cols = torch.nonzero(mask.any(dim=0)).flatten()
    return int(max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1))


# the receptive field of PatchUNet per number of down-samplings, in pixels (independent of the width; measured by
# receptive_field(), which tests/test_patchdiff.py repeats)
RECEPTIVE_FIELDS = {1: 25, 2: 57, 3: 117, 4: 237}


def levels_for(bound: int) -> int:
    """The deepest PatchUNet whose receptive field is within `bound` pixels."""
    fits = [levels for levels, r in RECEPTIVE_FIELDS.items() if r <= bound]
    if not fits:
        raise ValueError(f"no PatchDiff denoiser has a receptive field within {bound} px "
                         f"(the smallest has {RECEPTIVE_FIELDS[1]} px)")
    return max(fits)
