"""The lightweight patch-level detector: a small fully convolutional network on raw pixels.

A local path (stride 8, receptive field 55 px at the working resolution) sees patch structure; a context
path (stride 32, receptive field ~250 px) sees the whole image, so a wrong arrangement or count of parts
(a logical anomaly) can change the score of a patch. Output: one logit per 8x8 cell. Channels stay narrow
at high resolution, where a CPU pays the most per channel.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDE = 8


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Detector(nn.Module):
    def __init__(self, width: int = 32):
        super().__init__()
        w = width
        self.local = nn.Sequential(
            conv_bn(3, w // 2, 2),
            conv_bn(w // 2, w, 2), conv_bn(w, w),
            conv_bn(w, 2 * w, 2), conv_bn(2 * w, 2 * w), conv_bn(2 * w, 2 * w),
        )
        self.context = nn.Sequential(
            conv_bn(2 * w, 2 * w, 2), conv_bn(2 * w, 2 * w),
            conv_bn(2 * w, 2 * w, 2), conv_bn(2 * w, 2 * w),
        )
        self.head = nn.Sequential(nn.Conv2d(4 * w, 2 * w, 1), nn.ReLU(inplace=True), nn.Conv2d(2 * w, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1], H and W multiples of 32 -> (B, 1, H/8, W/8) logits."""
        f = self.local(x)
        c = F.interpolate(self.context(f), size=f.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(torch.cat([f, c], dim=1))
