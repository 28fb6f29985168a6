"""PatchDiff: the receptive-field bound, the schedule, and that sampling produces images in range."""
import torch

from gradad.config import PatchDiffConfig, profile
from gradad.patchdiff import CosineSchedule, PatchDiff, PatchUNet, receptive_field


def test_receptive_field_within_configured_bound_for_every_profile():
    for name in ("cpu", "demo", "paper"):
        cfg = profile(name).patchdiff
        r = receptive_field(PatchUNet(cfg.channels), size=160)
        assert r <= cfg.receptive_field, f"{name}: measured r={r} exceeds bound {cfg.receptive_field}"
        assert r < 160, "the denoiser must not see the whole canvas"


def test_receptive_field_measurement_sees_a_global_path():
    class Global(torch.nn.Module):
        def forward(self, x, t):
            return x + x.mean(dim=(2, 3), keepdim=True)

    assert receptive_field(Global(), size=64) == 64


def test_schedule_endpoints_and_ddim_timesteps():
    s = CosineSchedule(1000)
    assert s.alpha_bar[0] == 1.0 and s.alpha_bar[-1] < 1e-3
    assert torch.all(s.alpha_bar[1:] <= s.alpha_bar[:-1]) and s.alpha_bar[500] < s.alpha_bar[100]
    ts = s.ddim_timesteps(25)
    assert ts[0] == 1000 and ts[-1] >= 1 and len(ts) == 25 and ts == sorted(ts, reverse=True)
    assert s.ddim_timesteps(25, t_start=100)[0] == 100


def test_ddim_with_perfect_noise_prediction_recovers_the_image():
    s = CosineSchedule(1000)
    x0 = torch.rand(2, 3, 8, 8) * 2 - 1
    noise = torch.randn_like(x0)
    x = s.add_noise(x0, noise, torch.tensor([400, 400]))
    ts = s.ddim_timesteps(5, 400)
    for i, t in enumerate(ts):
        x = s.ddim_step(x, noise, t, ts[i + 1] if i + 1 < len(ts) else 0)
    assert torch.allclose(x, x0, atol=1e-4)


def test_tiny_patchdiff_trains_and_samples_in_range():
    cfg = PatchDiffConfig(channels=16, steps=3, batch_size=4, crop=16, sample_steps=3)
    pd = PatchDiff(cfg)
    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    losses = pd.fit(images, g)
    assert len(losses) == 3 and all(l == l for l in losses)
    canvas = pd.sample_canvas(2, 32, g)
    assert canvas.shape == (2, 3, 32, 32) and canvas.abs().max() <= 1
    renoised = pd.renoise(images, 100, g)
    assert renoised.shape == images.shape
