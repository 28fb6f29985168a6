"""The lightweight patch-level detector: a small fully convolutional network on raw pixels.

A local path (stride 8, receptive field 55 px at the working resolution) sees patch structure; a context
path (stride 32, receptive field ~250 px) sees the whole image, so a wrong arrangement or count of parts
(a logical anomaly) can change the score of a patch. With `coords`, two position channels (row, column) join the
input, so on aligned images the detector can learn what belongs where. Output: one logit per 8x8 cell. Channels
stay narrow at high resolution, where a CPU pays the most per channel. An Ensemble averages the logits of several
detectors (one per canvas bank, `generation.banks`).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gradad.config import DetectorConfig

STRIDE = 8


def conv_bn(cin: int, cout: int, stride: int = 1, padding: str = "zeros") -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False, padding_mode=padding), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


def coordinates(x: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W) row and column positions in [-1, 1] for a batch shaped like x."""
    b, _, h, w = x.shape
    ys = torch.linspace(-1, 1, h, dtype=x.dtype, device=x.device).view(1, 1, h, 1).expand(b, 1, h, w)
    xs = torch.linspace(-1, 1, w, dtype=x.dtype, device=x.device).view(1, 1, 1, w).expand(b, 1, h, w)
    return torch.cat([ys, xs], dim=1)


class Detector(nn.Module):
    def __init__(self, width: int = 32, coords: bool = False, padding: str = "zeros"):
        super().__init__()
        w = width
        self.coords = coords
        # zero padding (the default) or reflect padding, an option measured in BENCHMARKS.md
        c = lambda cin, cout, stride=1: conv_bn(cin, cout, stride, padding)  # noqa: E731
        self.local = nn.Sequential(
            c(5 if coords else 3, w // 2, 2),
            c(w // 2, w, 2), c(w, w),
            c(w, 2 * w, 2), c(2 * w, 2 * w), c(2 * w, 2 * w),
        )
        self.context = nn.Sequential(
            c(2 * w, 2 * w, 2), c(2 * w, 2 * w),
            c(2 * w, 2 * w, 2), c(2 * w, 2 * w),
        )
        self.head = nn.Sequential(nn.Conv2d(4 * w, 2 * w, 1), nn.ReLU(inplace=True), nn.Conv2d(2 * w, 1, 1))

    @classmethod
    def from_config(cls, cfg: DetectorConfig) -> "Detector":
        """The architecture a DetectorConfig describes (untrained weights)."""
        return cls(cfg.width, cfg.coords, cfg.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1], H and W multiples of 32 -> (B, 1, H/8, W/8) logits."""
        f = self.local(torch.cat([x, coordinates(x)], dim=1) if self.coords else x)
        c = F.interpolate(self.context(f), size=f.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(torch.cat([f, c], dim=1))


class Ensemble(nn.Module):
    """Detectors of one architecture whose logits are averaged. Upsampling, smoothing and the map offset are linear,
    so the map is the mean of the members' maps too."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(dim=0)


def build(cfg: DetectorConfig, members: int = 1) -> nn.Module:
    """The untrained network a model file holds: one Detector, or an Ensemble of `members` of them."""
    if members == 1:
        return Detector.from_config(cfg)
    return Ensemble([Detector.from_config(cfg) for _ in range(members)])
