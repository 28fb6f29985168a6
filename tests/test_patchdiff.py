"""PatchDiff: the receptive-field bound, the schedule, and that sampling produces images in range."""
import dataclasses

import pytest
import torch

from gradad.config import PatchDiffConfig, profile
from gradad.patchdiff import CosineSchedule, PatchDiff, receptive_field


def test_receptive_field_within_configured_bound_for_every_profile():
    for name in ("cpu", "demo", "paper"):
        cfg = profile(name).patchdiff
        r = receptive_field(PatchDiff(cfg).net, size=160)
        assert r <= cfg.receptive_field, f"{name}: measured r={r} exceeds bound {cfg.receptive_field}"
        assert r < 160, "the denoiser must not see the whole canvas"


@pytest.mark.parametrize("bound, expected", [(25, 25), (56, 25), (60, 57), (120, 117), (300, 237)])
def test_the_denoiser_is_the_widest_whose_measured_window_fits_the_bound(bound, expected):
    net = PatchDiff(PatchDiffConfig(receptive_field=bound, channels=4)).net
    assert receptive_field(net, size=320) == expected


def test_a_bound_below_the_smallest_denoiser_is_refused():
    with pytest.raises(ValueError, match="25 px"):
        PatchDiff(PatchDiffConfig(receptive_field=20))


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


class _Oracle(torch.nn.Module):
    """A denoiser that knows the clean image and the noise, and returns the target of `prediction` plus `error`."""

    def __init__(self, schedule, x0, noise, prediction, error=0.0):
        super().__init__()
        self.s, self.x0, self.noise, self.prediction, self.error = schedule, x0, noise, prediction, error

    def forward(self, x, t):
        target = self.noise if self.prediction == "eps" else self.s.velocity(self.x0, self.noise, t)
        return target + self.error


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_ddim_with_a_perfect_denoiser_recovers_the_image_for_either_prediction(prediction):
    pd = PatchDiff(PatchDiffConfig(channels=8, prediction=prediction))
    x0 = torch.rand(2, 3, 8, 8) * 2 - 1
    noise = torch.randn_like(x0)
    x = pd.schedule.add_noise(x0, noise, torch.tensor([400, 400]))
    out = pd.denoise(x, 400, 5, net=_Oracle(pd.schedule, x0, noise, prediction))
    assert torch.allclose(out, x0, atol=1e-4)


def test_a_velocity_error_near_pure_noise_is_not_amplified_the_way_a_noise_error_is():
    """From pure noise a noise-predicting denoiser's clean-image estimate is its error times sqrt((1 - a) / a) (~300
    at t = T): an error of 0.01 moves it by ~3, so the clamped estimate is the +-1 blob; a velocity error moves it by
    about the error itself."""
    s = CosineSchedule(1000)
    x0 = torch.zeros(1, 3, 8, 8)
    noise = torch.randn_like(x0)
    t = torch.tensor([1000])
    x = s.add_noise(x0, noise, t)
    a = s.alpha_bar[1000].item()
    from_eps = (x - (1 - a) ** 0.5 * (noise + 0.01)) / a ** 0.5
    from_v = s.x0_from_velocity(x, s.velocity(x0, noise, t) + 0.01, 1000)
    assert (from_eps - x0).abs().mean() > 2.5 and (from_v - x0).abs().max() < 0.02


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


def test_a_velocity_predicting_patchdiff_learns_and_samples_in_range():
    cfg = PatchDiffConfig(channels=16, steps=150, batch_size=8, crop=16, sample_steps=3, prediction="v", lr=2e-3)
    pd = PatchDiff(cfg)
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(4, 3, 1, 1) * 2 - 1).expand(4, 3, 32, 32).contiguous()  # flat colours: easy to learn
    losses = pd.fit(images, g)
    assert sum(losses[-10:]) / 10 < 0.8 * sum(losses[:10]) / 10
    canvas = pd.sample_canvas(2, 32, g)
    assert canvas.shape == (2, 3, 32, 32) and canvas.abs().max() <= 1


def test_partial_samples_round_trip_and_are_pasted_into_their_own_source(tmp_path):
    """With generation.partials > 0 the bank holds SDEdit samples and their source indices, saved with the model;
    a batch that uses one pastes it where it came from, so outside the contrastive region the image is its source."""
    import numpy as np

    from gradad.detector.train import RegionSampler, contrastive_batch
    from gradad.pipeline import GRAD

    from conftest import TINY_CONFIG

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(6)]
    cfg = profile("cpu").replace(**TINY_CONFIG, **{"generation.partials": 8, "generation.partial_t": [300, 400],
                                                 "generation.renoise_t": [50], "detector.partial_fraction": 1.0,
                                                 "detector.whole_renoised": 0.0, "detector.jitter": 0.0})
    model = GRAD(cfg, device="cpu").fit(images[:4], images[4:])
    bank = model.bank
    assert bank.partials.shape == (8, 3, 64, 64) and bank.partial_source.shape == (8,)
    assert int(bank.partial_source.max()) < 4
    loaded = GRAD.load(model.save(tmp_path / "m"), with_bank=True).bank
    assert torch.equal(loaded.partial_source, bank.partial_source)
    assert (loaded.partials - bank.partials).abs().max() < 1e-2  # stored in half precision

    g = torch.Generator().manual_seed(1)
    train = torch.stack([torch.from_numpy(i).permute(2, 0, 1).float() / 127.5 - 1 for i in images[:4]])
    bank.renoised = train[:, None].clone()  # control regions then change nothing: the composite is real or partial
    comp, real, target, _ = contrastive_batch(train, bank, cfg.detector, RegionSampler(64, cfg.detector, g), g)
    assert target.sum() > 0
    for c, r in zip(comp, real):
        src = next(k for k, t in enumerate(train) if torch.equal(r, t))
        changed = (c - r).abs() > 1e-5
        if not changed.any():
            continue  # this image drew no contrastive region
        # every changed pixel lies between the source and one of the source's own partial samples (soft blend)
        own = bank.partials[bank.partial_source == src]
        assert any(bool(((c - r) * (p - c) >= -1e-5)[changed].all()) for p in own)


def test_further_receptive_fields_train_their_own_patchdiff_and_share_the_canvases(monkeypatch):
    from conftest import TINY_CONFIG
    from gradad.pipeline import GRAD

    cfg = profile("cpu").replace(**TINY_CONFIG | {"generation.receptive_fields": [25], "generation.snapshots": [],
                                                 "generation.canvases": 6, "generation.renoise_per_image": 1,
                                                 "generation.banks": 1})
    drawn, sample = [], PatchDiff.sample_canvas
    monkeypatch.setattr(PatchDiff, "sample_canvas",
                        lambda self, n, size, g, net=None, margin=0: drawn.append((n, net.levels)) or sample(self, n, size, g, net=net))
    model = GRAD(cfg, device="cpu")
    model.fit_generator(torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    assert model.info["receptive_field"] == 57 and model.info["extra_receptive_fields"] == [25]
    assert drawn == [(3, 1), (3, 2)], "the 25-px PatchDiff draws half of the canvases, the main one the rest"
    assert len(model.bank.canvases) == 6 and model.patchdiff.net.levels == 2


def test_a_diverging_patchdiff_training_stops_with_a_clear_error(monkeypatch):
    pd = PatchDiff(PatchDiffConfig(steps=5, channels=8))
    forward = type(pd.net).forward
    monkeypatch.setattr(type(pd.net), "forward", lambda self, x, t: forward(self, x, t) * float("nan"))
    with pytest.raises(RuntimeError, match="diverged .* step 1 of 5"):
        pd.fit(torch.rand(4, 3, 64, 64) * 2 - 1, torch.Generator().manual_seed(0))


def test_a_canvas_margin_draws_a_larger_canvas_and_keeps_its_centre():
    """With `margin`, no kept pixel was denoised next to the zero padding: the canvas is the centre of a larger one
    drawn from the same noise."""
    pd = PatchDiff(PatchDiffConfig(channels=8, sample_steps=2))
    canvas = pd.sample_canvas(2, 32, torch.Generator().manual_seed(3), margin=8)
    larger = pd.sample_canvas(2, 48, torch.Generator().manual_seed(3))
    assert canvas.shape == (2, 3, 32, 32)
    torch.testing.assert_close(canvas, larger[..., 8:40, 8:40])
    assert not torch.allclose(canvas, pd.sample_canvas(2, 32, torch.Generator().manual_seed(3)))


def test_a_collapse_restored_in_a_further_patchdiff_is_recorded_and_named_by_its_window(monkeypatch):
    from conftest import TINY_CONFIG
    from gradad.cli.train import restore_notes
    from gradad.pipeline import GRAD

    cfg = profile("cpu").replace(**TINY_CONFIG | {"generation.receptive_fields": [25], "generation.snapshots": []})
    fit = PatchDiff.fit

    def fit_collapsing_in_the_small_window(self, *args, **kwargs):  # the record the guard keeps after a restore
        curve = fit(self, *args, **kwargs)
        if self.cfg.receptive_field == 25:
            self.restores.append({"step": 50, "restored_to": 25, "loss": 0.99})
        return curve

    monkeypatch.setattr(PatchDiff, "fit", fit_collapsing_in_the_small_window)
    model = GRAD(cfg, device="cpu")
    model.fit_generator(torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    assert model.info["patchdiff_restores"] == [{"step": 50, "restored_to": 25, "loss": 0.99, "receptive_field_bound": 25}]
    assert restore_notes(model.info) == ["PatchDiff (receptive field bound 25 px) training collapsed at step 50 (loss "
                                         "back at 0.99) and was restored from step 25 with half the learning rate"]


@pytest.mark.parametrize("share, margins", [(1.0, [8, 8, 8, 8]), (0.5, [8, 0, 8, 0]), (0.0, [0, 0, 0, 0])])
def test_the_canvas_margin_share_sets_how_many_of_each_denoisers_canvases_are_drawn_inside_the_margin(
        monkeypatch, share, margins):
    """`generation.canvas_margin_share`: the first part of every denoiser's canvases (snapshots and final one) is
    drawn inside the margin, the rest without; 1 = all (the behaviour before the setting existed)."""
    from conftest import TINY_CONFIG
    from gradad.pipeline import GRAD

    cfg = profile("cpu").replace(**TINY_CONFIG | {"generation.snapshots": [0.5], "generation.canvases": 8,
                                                 "generation.canvas_margin": 8, "generation.canvas_margin_share": share,
                                                 "generation.renoise_per_image": 1, "generation.banks": 1})
    drawn, sample = [], PatchDiff.sample_canvas
    monkeypatch.setattr(PatchDiff, "sample_canvas", lambda self, n, size, g, net=None, margin=0:
                        drawn.append((n, margin)) or sample(self, n, size, g, net=net, margin=margin))
    model = GRAD(cfg, device="cpu")
    model.fit_generator(torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    assert sum(n for n, _ in drawn) == len(model.bank.canvases) == 8
    assert [m for n, m in drawn for _ in range(n // 2)] == margins, "per denoiser: margin first, then none"


def test_canvases_start_from_the_training_images_mean_colour_and_keep_their_brightness():
    """From pure noise the denoiser sees no signal, so the first DDIM step takes the training images' mean colour
    (patchdiff.start "mean") instead of the denoiser's noise-amplified estimate ("model"): canvases of dark images
    come out dark."""
    g = torch.Generator().manual_seed(0)
    stripes = 0.1 * torch.sin(torch.arange(64.0) / 2)[None, None, None, :]
    dark = -0.6 + stripes.expand(8, 3, 64, 64) + 0.05 * torch.randn(8, 3, 64, 64, generator=g)
    cfg = PatchDiffConfig(receptive_field=25, channels=8, crop=16, steps=200, batch_size=8, sample_steps=10)
    torch.manual_seed(0)
    pd = PatchDiff(cfg)
    pd.fit(dark, torch.Generator().manual_seed(1))
    torch.testing.assert_close(pd.mean.flatten(), dark.mean(dim=(0, 2, 3)))
    miss = {}
    for start in ("model", "mean"):
        pd.cfg = dataclasses.replace(cfg, start=start)
        miss[start] = abs(float(pd.sample_canvas(4, 64, torch.Generator().manual_seed(2)).mean()) + 0.6)
    assert miss["mean"] < miss["model"] - 0.1, miss


def _smooth_images(n: int = 8, size: int = 32) -> torch.Tensor:
    """Colour gradients: easy to denoise, so a small PatchDiff learns them in tens of steps."""
    g = torch.Generator().manual_seed(0)
    ramp = torch.linspace(-0.8, 0.8, size)
    base = torch.stack([ramp[None, :].expand(size, size), ramp[:, None].expand(size, size), -ramp[None, :].expand(size, size)])
    return (base[None] * torch.rand(n, 3, 1, 1, generator=g)).contiguous()


def _kill(net) -> None:
    """What the collapse measured on magnetic tile looks like: every activation far negative, the denoiser dead."""
    with torch.no_grad():
        net.inp.bias.fill_(-1e4)


def test_a_collapsed_denoiser_is_restored_and_trains_on():
    """Training that falls back to loss ~1 (a dead network) is brought back from a healthy state and finishes with a
    denoiser that works."""
    cfg = PatchDiffConfig(receptive_field=25, channels=8, crop=16, steps=200, batch_size=8)
    torch.manual_seed(0)
    model = PatchDiff(cfg)
    progress = lambda step, total, loss: _kill(model.net) if step == 100 else None
    curve = model.fit(_smooth_images(), torch.Generator().manual_seed(1), progress)
    assert len(model.restores) == 1 and model.restores[0]["restored_to"] <= 100
    assert sum(curve[-25:]) / 25 < 0.5, "the restored denoiser trains on"
    assert receptive_field(model.net, size=64) == 25  # a dead network has no window at all


def test_a_denoiser_dead_before_it_learns_is_restarted_from_its_initial_weights():
    """A denoiser that dies at its first step never reaches a healthy state to restore: it is restarted from its
    initial weights with half the learning rate, and learns."""
    cfg = PatchDiffConfig(receptive_field=25, channels=8, crop=16, steps=600, batch_size=8)
    torch.manual_seed(0)
    model = PatchDiff(cfg)
    progress = lambda step, total, loss: _kill(model.net) if step == 1 else None
    curve = model.fit(_smooth_images(), torch.Generator().manual_seed(1), progress)
    assert [r["restored_to"] for r in model.restores] == [0] and model.restores[0]["step"] == 100
    assert sum(curve[-25:]) / 25 < 0.5, "the restarted denoiser learns"
    assert receptive_field(model.net, size=64) == 25


def test_a_denoiser_that_never_learns_stops_with_a_clear_error():
    cfg = PatchDiffConfig(receptive_field=25, channels=8, crop=16, steps=500, batch_size=8)
    model = PatchDiff(cfg)
    progress = lambda step, total, loss: _kill(model.net) if step % 100 == 1 else None
    with pytest.raises(RuntimeError, match="learned nothing 4 times .* patchdiff.lr"):
        model.fit(_smooth_images(), torch.Generator().manual_seed(1), progress)
    assert [r["restored_to"] for r in model.restores] == [0, 0, 0]


def test_a_run_that_never_collapses_is_the_same_with_or_without_the_guard(monkeypatch):
    cfg = PatchDiffConfig(receptive_field=25, channels=8, crop=16, steps=60, batch_size=8)

    def train():
        torch.manual_seed(0)
        model = PatchDiff(cfg)
        model.fit(_smooth_images(), torch.Generator().manual_seed(1))
        return model

    guarded = train()
    monkeypatch.setattr("gradad.patchdiff._CollapseGuard.check", lambda *a: None)
    unguarded = train()
    assert guarded.restores == []
    assert all(torch.equal(a, b) for a, b in zip(guarded.net.state_dict().values(), unguarded.net.state_dict().values()))


def test_a_denoiser_that_keeps_collapsing_stops_with_a_clear_error():
    cfg = PatchDiffConfig(receptive_field=25, channels=8, crop=16, steps=400, batch_size=8)
    model = PatchDiff(cfg)
    progress = lambda step, total, loss: _kill(model.net) if step >= 100 and step % 50 == 0 else None
    with pytest.raises(RuntimeError, match="collapsed 4 times .* patchdiff.lr"):
        model.fit(_smooth_images(), torch.Generator().manual_seed(1), progress)
    assert len(model.restores) == 3
