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
from gradad.detector.train import PatternBank, train_detector
from gradad.pipeline import GRAD, _generator
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
    """GRAD's detector trained on real-image content pasted into real images (no PatchDiff)."""
    model = GRAD(copy.deepcopy(config))
    x = to_tensor(train, config.image_size)
    # the detector's initial weights come from the global generator, seeded as GRAD.fit_detector seeds it: without
    # this, the baseline depended on what the process had run before (capsules: 0.734 vs 0.841, same settings)
    torch.manual_seed(config.seed)
    model.bank = PatternBank(canvases=x.flip(0), renoised=x[:, None])
    model.detector, _ = train_detector(x, model.bank, config.detector, config.reweight,
                                       _generator(config.seed, "detector"), model.device)
    model.calibrate(val, _generator(config.seed, "calibration"))
    return model
