"""The detector's training batches: where contrastive content goes and what it keeps of the generated canvases."""
import dataclasses

import pytest
import torch

from gradad.config import profile
from gradad.detector.train import PatternBank, RegionSampler, contrastive_batch


def _batch(match: float):
    """One batch of dark flat images with bright textured canvases pasted in, nothing else changing the images."""
    cfg = profile("cpu").replace(**{"detector.match": match, "detector.jitter": 0.0, "detector.whole_renoised": 0.0,
                                    "detector.batch_size": 32}).detector
    g = torch.Generator().manual_seed(0)
    images = torch.full((4, 3, 64, 64), -0.5)
    texture = 0.2 * torch.sin(torch.arange(64.0) / 2).view(1, 1, 1, 64).expand(6, 3, 64, 64)
    bank = PatternBank(canvases=0.6 + texture, renoised=images[:, None].clone())
    x, real, target, _ = contrastive_batch(images, bank, cfg, RegionSampler(64, cfg, g), g)
    return x, real, target


def _region_shifts(x: torch.Tensor, real: torch.Tensor) -> list[float]:
    """Per image where content went in: the mean change of its pixels there (how much brighter the pasted region is)."""
    moved = ((x - real).abs() > 1e-4).flatten(1)
    return [float((x - real).flatten(1)[i][moved[i]].mean()) for i in range(len(x)) if moved[i].any()]


def test_matched_canvases_take_the_brightness_of_what_they_cover_and_keep_their_structure():
    x, real, target = _batch(match=1.0)
    moved = ((x - real).abs() > 1e-4).expand_as(x)
    assert target.sum() > 0 and moved.any()
    # where canvas content went in, the image is as bright as before on average, and the texture is there
    assert abs(float((x - real)[moved].mean())) < 0.02
    assert float((x - real)[moved].abs().mean()) > 0.05


def test_unmatched_canvases_keep_their_own_brightness():
    x, real, _ = _batch(match=0.0)
    moved = (x - real).abs() > 1e-4
    assert float((x - real)[moved].mean()) > 0.3


def test_a_share_of_matched_canvases_leaves_the_others_their_own_brightness():
    x, real, _ = _batch(match=0.5)
    shift = _region_shifts(x, real)
    matched = [abs(s) < 0.05 for s in shift]
    assert any(matched) and not all(matched)
    assert all(s > 0.3 for s, m in zip(shift, matched) if not m)


def test_colour_from_elsewhere_brings_a_colour_the_image_has_into_a_place_it_does_not_belong():
    """Two-tone images (dark left half, bright right half): regions matched to where they are keep the tone they
    cover; regions matched to elsewhere often take the other half's tone, and never one the image does not have."""
    cfg = profile("cpu").replace(**{"detector.jitter": 0.0, "detector.whole_renoised": 0.0, "detector.batch_size": 64,
                                    "detector.blob_area": (0.02, 0.04), "detector.blobs": (1, 1)}).detector
    images = torch.full((4, 3, 64, 64), -0.6)
    images[..., 32:] = 0.2
    texture = 0.1 * torch.sin(torch.arange(64.0) / 2).view(1, 1, 1, 64).expand(6, 3, 64, 64)
    bank = PatternBank(canvases=0.6 + texture, renoised=images[:, None].clone())
    shifts = {}
    for elsewhere in (0.0, 1.0):
        c = dataclasses.replace(cfg, match_elsewhere=elsewhere)
        g = torch.Generator().manual_seed(0)
        x, real, _, _ = contrastive_batch(images, bank, c, RegionSampler(64, c, g), g)
        shifts[elsewhere] = _region_shifts(x, real)
    assert all(abs(s) < 0.1 for s in shifts[0.0])
    moved_tone = [s for s in shifts[1.0] if abs(s) > 0.2]
    assert len(moved_tone) >= len(shifts[1.0]) // 3
    assert all(abs(s) < 0.9 for s in shifts[1.0])  # at most the two tones' difference (0.8), region edges aside


def test_colour_from_elsewhere_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="detector.match_elsewhere"):
        profile("cpu").replace(**{"detector.match_elsewhere": 1.5})


def _region_areas(law: str) -> torch.Tensor:
    """Area of each of 300 single-blob regions drawn over 2-30 % of a 64x64 image, as a fraction of the image."""
    cfg = profile("cpu").replace(**{"detector.blob_area": (0.02, 0.3), "detector.blobs": (1, 1),
                                    "detector.blob_law": law}).detector
    return (RegionSampler(64, cfg, torch.Generator().manual_seed(0), pool=300).pool > 0.5).float().mean((1, 2, 3))


def test_log_uniform_regions_are_mostly_small_with_a_tail_of_large_ones():
    uniform, log = _region_areas("uniform"), _region_areas("loguniform")
    assert float(log.median()) < 0.75 * float(uniform.median())
    # the largest regions reach as far under both laws: the range bounds them, the law only shifts the mass
    assert float(log.quantile(0.98)) > 0.7 * float(uniform.quantile(0.98))


def test_an_unknown_region_law_is_refused_before_training():
    with pytest.raises(ValueError, match="detector.blob_law"):
        profile("cpu").replace(**{"detector.blob_law": "gaussian"}).validate()
