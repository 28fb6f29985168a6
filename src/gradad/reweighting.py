"""Self-supervised reweighting: how much each contrastive location counts, computed without labels.

Contrastive patterns are unlabelled and long-tailed: many generated locations look normal. Each method
maps a batch's per-location information to weights w >= 0 for the contrastive locations; the loss
normalises them, so only their relative size matters.

- uniform:    w = 1 (the ablation baseline).
- difference: w grows with how far the generated content moved from the real image it replaced,
              measured at the detector's cell scale; pasting background over background weighs little.
- belief:     after a warm-up, w = the rank (0..1] of the detector's own detached logit among the
              contrastive cells of the batch: cells the detector already finds normal-looking count less,
              and because it is a rank it never saturates the way a sigmoid belief does.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

METHODS = ("uniform", "difference", "belief")


def weights(method: str, *, target: torch.Tensor, logits: torch.Tensor, real: torch.Tensor,
            composite: torch.Tensor, stride: int, progress: float, warmup: float = 0.3,
            temperature: float = 1.0) -> torch.Tensor:
    """Per-cell weights (B, 1, h, w) for contrastive cells (target > 0); zero elsewhere."""
    on = target > 0
    if method == "uniform":
        w = torch.ones_like(target)
    elif method == "difference":
        diff = F.avg_pool2d((composite - real).abs().mean(1, keepdim=True), stride)
        scale = diff[on].mean().clamp_min(1e-6) if on.any() else diff.new_tensor(1.0)
        w = (diff / scale).clamp(max=3.0) ** temperature
    elif method == "belief":
        if progress < warmup or not on.any():
            w = torch.ones_like(target)
        else:
            z = logits.detach()[on]
            ranks = torch.empty_like(z)
            ranks[z.argsort()] = torch.arange(1, len(z) + 1, dtype=z.dtype, device=z.device) / len(z)
            w = torch.zeros_like(target)
            w[on] = ranks ** temperature
    else:
        raise ValueError(f"unknown reweighting method {method!r}; choose one of {', '.join(METHODS)}")
    return w * on
