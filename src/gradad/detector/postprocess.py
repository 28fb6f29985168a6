"""From the detector's logit grid to a pixel anomaly map and an image score (identical in every backend)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    return k / k.sum()


class AnomalyMap(nn.Module):
    """Upsample logits to the input size, smooth with a separable Gaussian, score the image.

    The kernel is built once here, not per call. Score "max" is the map's maximum; "topk" the mean of its
    top `topk` fraction of pixels.
    """

    def __init__(self, size: int, sigma: float = 2.0, score: str = "max", topk: float = 0.01):
        super().__init__()
        self.size = size
        k = gaussian_kernel(sigma)
        self.register_buffer("kx", k.view(1, 1, 1, -1), persistent=False)
        self.register_buffer("ky", k.view(1, 1, -1, 1), persistent=False)
        self.pad = k.numel() // 2
        self.score = score
        self.k = max(1, int(round(topk * size * size)))

    def forward(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = F.interpolate(logits, size=(self.size, self.size), mode="bilinear", align_corners=False)
        m = F.pad(m, (self.pad, self.pad, 0, 0), mode="replicate")
        m = F.conv2d(m, self.kx)
        m = F.pad(m, (0, 0, self.pad, self.pad), mode="replicate")
        m = F.conv2d(m, self.ky)
        flat = m.flatten(1)
        if self.score == "max":
            s = flat.amax(dim=1)
        else:
            s = flat.topk(self.k, dim=1).values.mean(dim=1)
        return m[:, 0], s
