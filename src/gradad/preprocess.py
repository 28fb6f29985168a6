"""Image <-> tensor conversion shared by training, inference and export: resize to the working size, scale to [-1, 1]."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F


MIN_SIDE_FRACTION = 0.25  # an image whose shorter side is below this fraction of the working size is refused


def check_size(image: np.ndarray, size: int) -> None:
    """Refuse images so small that the model would see mostly interpolation (more than 4x upsampling)."""
    h, w = image.shape[:2]
    need = max(1, int(np.ceil(size * MIN_SIDE_FRACTION)))
    if min(h, w) < need:
        raise ValueError(f"image of {h}x{w} px is too small for this model (working size {size} px; "
                         f"needs at least {need} px on each side)")


def to_tensor(images: Sequence[np.ndarray], size: int) -> torch.Tensor:
    """uint8 HxWx3 arrays of any sizes -> (N, 3, size, size) float32 in [-1, 1] (bilinear, antialiased)."""
    out = torch.empty(len(images), 3, size, size)
    for i, img in enumerate(images):
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 image, got shape {img.shape} dtype {img.dtype}")
        t = torch.tensor(img).permute(2, 0, 1)[None].float()
        if t.shape[-2:] != (size, size):
            t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out[i] = t[0] / 127.5 - 1.0
    return out.clamp_(-1, 1)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
