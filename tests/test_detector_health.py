"""A detector that learns nothing (contrastive content identical to what it covers) is trained again, and the user is
told when no retry helps; a detector that learns is left alone."""
import numpy as np
import pytest
import torch

from gradad import GRAD
from gradad.cli.train import restore_notes
from gradad.config import profile
from gradad.detector.train import PatternBank
from gradad.pipeline import DETECTOR_RETRIES

SMALL = {"image_size": 64, "detector.steps": 120, "detector.min_steps": 120, "detector.width": 8,
         "detector.batch_size": 16, "detector.jitter": 0.0, "generation.banks": 1,
         "reweight.method": "uniform"}  # "difference" gives identical content no weight at all


def _fit(canvases_like_images: bool) -> GRAD:
    rng = np.random.default_rng(0)
    images = [np.full((64, 64, 3), 120, np.uint8) + rng.integers(0, 3, (64, 64, 3), dtype=np.uint8) for _ in range(6)]
    model = GRAD(profile("cpu").replace(**SMALL))
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
    # pasted content: the images themselves (nothing to learn), or bright stripes (easy to learn)
    stripes = x.clone()
    stripes[..., ::4] = 1.0
    model.bank = PatternBank(canvases=x.clone() if canvases_like_images else stripes, renoised=x[:, None].clone())
    model.fit_detector(x, images[:3])
    return model


def test_a_detector_that_learns_nothing_is_retrained_then_reported():
    with pytest.warns(RuntimeWarning, match="learned nothing"):
        model = _fit(canvases_like_images=True)
    assert model.info["detector_retries"] == [0] * DETECTOR_RETRIES
    assert model.info["detector_failed"] == [0]
    # what `gradad train` prints (and the report shows)
    assert restore_notes(model.info) == [f"detector 0 learned nothing (training loss at a constant prediction's) and was "
                                         f"trained again ({DETECTOR_RETRIES} time(s)): it never learned, so it cannot "
                                         "find anomalies"]


def test_a_detector_that_learns_is_trained_once():
    model = _fit(canvases_like_images=False)
    assert model.info["detector_retries"] == [] and model.info["detector_failed"] == []
    assert restore_notes(model.info) == []
