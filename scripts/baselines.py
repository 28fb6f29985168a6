"""Baselines gradad must beat, run through the same evaluation: never part of the product's pipeline.

- meanstd:  per-pixel mean/std of the normal training images; map = channel-mean |x - mean| / std.
- cutpaste: the same detector and training loop as GRAD, but the contrastive content is cut from other
            *real* training images (a hand-made anomaly simulation) and the control is the image itself.
"""
from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
import torch

from gradad.detector.postprocess import AnomalyMap
from gradad.detector.train import PatternBank
from gradad.pipeline import GRAD
from gradad.preprocess import to_tensor


class MeanStd:
    def __init__(self, size: int, sigma: float = 2.0):
        self.size, self.sigma = size, sigma

    def fit(self, train: Sequence[np.ndarray]) -> "MeanStd":
        x = to_tensor(train, self.size)
        self.mean, self.std = x.mean(0), x.std(0) + 0.02
        self.post = AnomalyMap(self.size, self.sigma)
        return self

    @torch.inference_mode()
    def predict(self, images: Sequence[np.ndarray]) -> tuple[list[float], list[np.ndarray]]:
        x = to_tensor(images, self.size)
        d = ((x - self.mean).abs() / self.std).mean(1, keepdim=True)
        maps, scores = self.post(d)
        return scores.tolist(), list(maps.numpy())


def cutpaste_model(config, train: Sequence[np.ndarray], val: Sequence[np.ndarray]) -> GRAD:
    """GRAD's detector trained on real-image content pasted into real images (no PatchDiff). With
    `generation.banks` = B > 1, B detectors averaged, each pasting from every training image, taken in its own order
    (GRAD's detectors share their batches' random stream, so the order is what makes them differ)."""
    model = GRAD(copy.deepcopy(config))
    x = to_tensor(train, config.image_size)
    g = torch.Generator().manual_seed(config.seed)
    pools = [x.flip(0)] + [x[torch.randperm(len(x), generator=g)] for _ in range(config.generation.banks - 1)]
    model.bank = PatternBank(canvases=torch.cat(pools), renoised=x[:, None])
    # GRAD's own detector phase: seeded initial weights, training, calibration (no PatchDiff, so no fingerprint check)
    model.fit_detector(x, val)
    return model
