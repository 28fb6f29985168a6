"""From the detector's logit grid to a pixel anomaly map and an image score (identical in every backend)."""
from __future__ import annotations

import math

import numpy as np
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

    def __init__(self, size: int, sigma: float = 2.0, score: str = "max", topk: float = 0.01,
                 offset: torch.Tensor | None = None):
        super().__init__()
        self.size = size
        # (S, S) subtracted from every map before scoring (map_offset); None = nothing
        self.register_buffer("offset", None if offset is None else offset.float().view(1, 1, size, size),
                             persistent=False)
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
        if self.offset is not None:
            m = m - self.offset
        flat = m.flatten(1)
        if self.score == "max":
            s = flat.amax(dim=1)
        else:
            s = flat.topk(self.k, dim=1).values.mean(dim=1)
        return m[:, 0], s


def map_offset(maps: np.ndarray, kind: str) -> np.ndarray | None:
    """The (S, S) offset the maps of held-out normal images (N, S, S) give: "border" = their mean at each distance
    from the image border (a ring profile: robust with a handful of images), "pixel" = their mean map, "none" = None."""
    if kind == "none":
        return None
    mean = maps.mean(0)
    if kind == "pixel":
        return mean.astype(np.float32)
    if kind != "border":
        raise ValueError(f"unknown map offset {kind!r}: choose none, border or pixel")
    h, w = mean.shape
    i, j = np.indices((h, w))
    ring = np.minimum(np.minimum(i, j), np.minimum(h - 1 - i, w - 1 - j))
    profile = np.bincount(ring.ravel(), weights=mean.ravel()) / np.bincount(ring.ravel())
    return profile[ring].astype(np.float32)
