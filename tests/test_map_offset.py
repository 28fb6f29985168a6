"""The calibration's map offset: hand-computed profiles, what calibrate() learns, and that it survives save/load."""
import copy

import numpy as np
import pytest
import torch

from gradad import GRAD
from gradad.detector.postprocess import map_offset
from gradad.workflow import read_images


def test_border_offset_is_the_mean_at_each_distance_from_the_border():
    # two 4x4 maps: the outer ring (distance 0) holds 12 pixels, the inner 2x2 block (distance 1) 4
    a = np.zeros((4, 4)); a[1:3, 1:3] = 2.0  # outer ring 0, centre 2
    b = np.full((4, 4), 4.0); b[0, 0] = 16.0  # outer ring mean (11*4 + 16)/12 = 5, centre 4
    offset = map_offset(np.stack([a, b]), "border")
    # mean map: outer ring pixels average (0 + 5) / 2 = 2.5 over the ring, centre (2 + 4) / 2 = 3
    expected = np.full((4, 4), 2.5); expected[1:3, 1:3] = 3.0
    np.testing.assert_allclose(offset, expected)
    np.testing.assert_allclose(map_offset(np.stack([a, b]), "pixel"), (a + b) / 2)
    assert map_offset(np.stack([a, b]), "none") is None
    with pytest.raises(ValueError, match="none, border or pixel"):
        map_offset(np.stack([a, b]), "ring")


@pytest.mark.parametrize("kind", ["border", "pixel"])
def test_calibration_learns_the_offset_from_held_out_normals_and_keeps_it(tiny_run, tmp_path, kind):
    model = copy.deepcopy(tiny_run.model)
    val = read_images(tiny_run.data.val)
    model.config = model.config.replace(**{"detector.offset": "none"})
    model.calibrate(val, torch.Generator().manual_seed(0))
    assert model.map_offset is None
    raw = np.stack([p.anomaly_map for p in model.predict(val)])
    model.config = model.config.replace(**{"detector.offset": kind})
    model.calibrate(val, torch.Generator().manual_seed(0))
    assert model.map_offset.shape == raw.shape[1:]
    after = np.stack([p.anomaly_map for p in model.predict(val)])
    np.testing.assert_allclose(after, raw - model.map_offset, atol=1e-5)
    # the held-out normals' mean map is zero at every border distance (border) or every pixel (pixel)
    centred = map_offset(after, kind)
    np.testing.assert_allclose(centred, 0, atol=1e-4)
    # the threshold is calibrated on the offset maps, and the file keeps the offset
    assert model.threshold == pytest.approx(model.normalization["threshold"])
    loaded = GRAD.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.map_offset, model.map_offset)
    test = read_images(tiny_run.data.test)
    for a, b in zip(model.predict(test), loaded.predict(test)):
        assert a.score == b.score
        np.testing.assert_array_equal(a.anomaly_map, b.anomaly_map)


def test_the_default_model_carries_its_border_offset(tiny_run):
    assert tiny_run.model.config.detector.offset == "border"
    assert tiny_run.model.map_offset.shape == (tiny_run.model.image_size,) * 2
