"""PatchDiff: a diffusion model with a bounded receptive field that generates contrastive patterns.

Trained on random crops of normal images, it learns what small patches look like but not where they
belong; sampled on a whole canvas it keeps local structure and breaks global structure.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from gradad.config import PatchDiffConfig
from gradad.patchdiff.schedule import CosineSchedule
from gradad.patchdiff.unet import PatchUNet, levels_for, receptive_field

__all__ = ["PatchDiff", "CosineSchedule", "PatchUNet", "levels_for", "receptive_field"]


class PatchDiff:
    """The denoiser (with EMA weights for sampling) plus its schedule; images are tensors in [-1, 1]. The denoiser is
    the deepest UNet whose receptive field fits `cfg.receptive_field` (levels_for)."""

    def __init__(self, cfg: PatchDiffConfig, device: str | torch.device = "cpu"):
        self.cfg = cfg
        self.device = torch.device(device)
        self.net = PatchUNet(cfg.channels, levels_for(cfg.receptive_field), padding=cfg.padding).to(self.device)
        self.ema = copy.deepcopy(self.net).eval().requires_grad_(False)
        self.schedule = CosineSchedule(cfg.timesteps)
        self.snapshots: list[PatchUNet] = []  # earlier EMA denoisers, kept only while the bank is made
        self.restores: list[dict] = []  # training collapses brought back by fit (_CollapseGuard)
        self.mean: torch.Tensor | None = None  # (1, 3, 1, 1) mean colour of the training images, set by fit

    # ---- training -------------------------------------------------------------------------------
    def fit(self, images: torch.Tensor, generator: torch.Generator,
            progress: Callable[[int, int, float], None] | None = None,
            snapshots: tuple[float, ...] = ()) -> list[float]:
        """Denoising score matching on random crops of the normal images (N, 3, H, W); returns the loss curve.

        `snapshots`: fractions of training at which a copy of the EMA denoiser is kept in `self.snapshots`.
        Early denoisers make cruder patterns, later ones subtler: sampling from several spans the range
        from far-from-normal to near-normal contrastive patterns.
        """
        self.snapshots = []
        self.restores = []
        self.mean = images.mean(dim=(0, 2, 3)).view(1, -1, 1, 1).float()
        keep = {max(1, round(f * self.cfg.steps)) for f in snapshots}
        cfg = self.cfg
        opt = torch.optim.AdamW(self.net.parameters(), lr=cfg.lr, weight_decay=0.0)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.05)
        n, _, h, w = images.shape
        crop = min(cfg.crop, h, w)
        losses = []
        guard = _CollapseGuard(self, opt)
        self.net.train()
        for step in range(cfg.steps):
            idx = torch.randint(0, n, (cfg.batch_size,), generator=generator)
            ys = torch.randint(0, h - crop + 1, (cfg.batch_size,), generator=generator)
            xs = torch.randint(0, w - crop + 1, (cfg.batch_size,), generator=generator)
            x0 = torch.stack([images[i, :, y:y + crop, x:x + crop] for i, y, x in zip(idx, ys, xs)]).to(self.device)
            t = torch.randint(1, cfg.timesteps + 1, (cfg.batch_size,), generator=generator).to(self.device)
            noise = torch.randn(x0.shape, generator=generator).to(self.device)
            target = noise if cfg.prediction == "eps" else self.schedule.velocity(x0, noise, t)
            loss = F.mse_loss(self.net(self.schedule.add_noise(x0, noise, t), t), target)
            if not torch.isfinite(loss):
                raise RuntimeError(f"PatchDiff training diverged (loss {loss.item()} at step {step + 1} of {cfg.steps}); "
                                   f"a lower patchdiff.lr (now {cfg.lr}) may help")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
            opt.step()
            sched.step()
            self._update_ema(step)
            if step + 1 in keep and step + 1 < cfg.steps:
                self.snapshots.append(copy.deepcopy(self.ema))
            losses.append(loss.item())
            # the guard reads each loss against a constant prediction's (the target's variance: 1 for the noise)
            guard.check(step + 1, losses[-1] if cfg.prediction == "eps" else losses[-1] / target.var().item())
            if progress is not None:
                progress(step + 1, cfg.steps, loss.item())
        self.net.eval()
        return losses

    @torch.no_grad()
    def _update_ema(self, step: int) -> None:
        decay = min(self.cfg.ema, (1 + step) / (10 + step))
        for pe, p in zip(self.ema.parameters(), self.net.parameters()):
            pe.lerp_(p, 1 - decay)

    # ---- sampling -------------------------------------------------------------------------------
    @torch.no_grad()
    def denoise(self, x_t: torch.Tensor, t_start: int, steps: int, net: PatchUNet | None = None) -> torch.Tensor:
        """Run DDIM from noise level t_start down to a clean image with the EMA denoiser (or `net`). From pure noise
        (t = T) with `cfg.start` "mean", the first step's clean-image estimate is the training images' mean colour
        (see PatchDiffConfig.start). A v-predicting denoiser (`cfg.prediction`) gives the estimate directly."""
        net = net or self.ema
        ts = self.schedule.ddim_timesteps(steps, t_start)
        x = x_t.to(self.device)
        start_mean = self.cfg.start == "mean" and self.mean is not None
        for i, t in enumerate(ts):
            t_prev = ts[i + 1] if i + 1 < len(ts) else 0
            out = net(x, torch.full((x.shape[0],), t, device=self.device, dtype=torch.long))
            x0 = None if self.cfg.prediction == "eps" else self.schedule.x0_from_velocity(x, out, t)
            if start_mean and t == self.schedule.T:
                x0 = self.mean.to(self.device)
            x = self.schedule.ddim_step(x, out, t, t_prev, x0)
        return x.clamp(-1, 1).cpu()

    @torch.no_grad()
    def sample_canvas(self, n: int, size: int, generator: torch.Generator, batch: int = 8,
                      net: PatchUNet | None = None, margin: int = 0) -> torch.Tensor:
        """Full canvases from pure noise: locally plausible, globally scrambled. With `margin`, each is drawn that
        many pixels larger on every side and cropped back, so none of its content was denoised next to the padding."""
        out = []
        for i in range(0, n, batch):
            noise = torch.randn((min(batch, n - i), 3, size + 2 * margin, size + 2 * margin), generator=generator)
            y = self.denoise(noise, self.cfg.timesteps, self.cfg.sample_steps, net)
            out.append(y[..., margin:margin + size, margin:margin + size])
        return torch.cat(out)

    @torch.no_grad()
    def renoise(self, images: torch.Tensor, t: int, generator: torch.Generator, batch: int = 16,
                margin: int = 0) -> torch.Tensor:
        """Partial generation (SDEdit): noise real images to level t and denoise them.

        Small t keeps the image and only leaves PatchDiff's low-level fingerprint (the control the detector
        must learn to ignore); large t rewrites local arrangement. With `margin`, each image is first extended by
        that many mirrored pixels and cropped back after: its border is then denoised with image context rather
        than the convolutions' zero padding, whose traces would otherwise mark every re-noised border.
        """
        steps = max(1, round(self.cfg.sample_steps * t / self.cfg.timesteps))
        out = []
        for i in range(0, len(images), batch):
            x0 = images[i:i + batch]
            if margin:
                x0 = F.pad(x0, (margin,) * 4, mode="reflect")
            noise = torch.randn(x0.shape, generator=generator)
            tt = torch.full((len(x0),), t, dtype=torch.long)
            y = self.denoise(self.schedule.add_noise(x0, noise, tt), t, steps)
            out.append(y[..., margin:y.shape[-2] - margin, margin:y.shape[-1] - margin])
        return torch.cat(out)

    def receptive_field(self, size: int = 128) -> int:
        return receptive_field(self.net, size)

    def state_dict(self) -> dict[str, torch.Tensor]:
        state = {f"patchdiff.{k}": v for k, v in self.ema.state_dict().items()}
        return state if self.mean is None else state | {"patchdiff_mean": self.mean}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        sd = {k[len("patchdiff."):]: v for k, v in state.items() if k.startswith("patchdiff.")}
        self.ema.load_state_dict(sd)
        self.net.load_state_dict(sd)
        self.mean = state.get("patchdiff_mean")  # files written before it was kept have none: the denoiser's estimate


def restore_source(restore: dict) -> str:
    """Which PatchDiff a restore record (PatchDiff.restores, model info `patchdiff_restores`) belongs to, for messages:
    '' for the main one, ' (receptive field bound N px)' for a further one (generation.receptive_fields)."""
    bound = restore.get("receptive_field_bound")
    return "" if bound is None else f" (receptive field bound {bound} px)"


class _CollapseGuard:
    """Brings a denoiser back when its training collapses. Without normalisation layers a rare update can push the
    network into a dead state (every SiLU far negative: output constant, loss back at 1, the variance of the noise;
    gradients zero; each step several times slower on denormal numbers). Measured on magnetic tile: loss 0.03 to 1.0
    within 25 steps at step ~460 of 1500, never recovering. Every `window` steps the state (denoiser, EMA, optimiser,
    snapshots) is kept while the loss is healthy; when a window's mean loss is back near 1 after training had gone
    below `LEARNT`, the state from two healthy windows earlier is restored and the learning rate halved for the rest
    of the schedule. A denoiser that dies before it ever learns (never below `LEARNT`, and its loss still at a constant
    prediction's at a check at or after max(4 windows, 10 % of training): seen with v-prediction on VisA capsules at
    the default rate, constant by step 100) is restarted from its initial weights with half the learning rate.
    A healthy run is untouched, bit for bit (no random draws, no change to any update)."""

    LEARNT, DEAD, MAX_RESTORES = 0.5, 0.75, 3

    def __init__(self, model: PatchDiff, opt: torch.optim.Optimizer, window: int = 25):
        self.model, self.opt, self.window = model, opt, window
        self.learnt = False
        self.saved: list[tuple[int, dict]] = []  # the last two healthy states, oldest first
        self.losses: list[float] = []  # each step's loss over a constant prediction's
        self.span = max(4 * window, model.cfg.steps // 10)  # how long a denoiser may take to learn at all
        self.deadline = self.span
        self.initial = self._state()  # what a denoiser that never learnt restarts from

    def check(self, step: int, loss: float) -> None:
        """Called after every step with its loss divided by a constant prediction's."""
        self.losses.append(loss)
        if step % self.window:
            return
        mean = float(np.mean(self.losses[-self.window:]))
        if self.learnt and mean > self.DEAD:
            self._restore(step, mean)
        elif not self.learnt and mean > self.DEAD and step >= self.deadline:
            self._restore(step, mean, (0, self.initial))
            self.deadline = step + self.span
        elif mean < self.DEAD:
            self.learnt |= mean < self.LEARNT
            self.saved = (self.saved + [(step, self._state())])[-2:]

    def _state(self) -> dict:
        m = self.model
        return copy.deepcopy({"net": m.net.state_dict(), "ema": m.ema.state_dict(), "opt": self.opt.state_dict(),
                              "snapshots": len(m.snapshots)})

    def _restore(self, step: int, mean: float, to: tuple[int, dict] | None = None) -> None:
        m = self.model
        if len(m.restores) >= self.MAX_RESTORES or not (to or self.saved):
            what = "collapsed" if to is None else "learned nothing"
            raise RuntimeError(f"PatchDiff training {what} {len(m.restores) + 1} times (loss at {mean:.2f} of a "
                               f"constant prediction's, step {step} of {m.cfg.steps}); a lower patchdiff.lr (now "
                               f"{m.cfg.lr}) may help")
        at, state = to or self.saved[0]
        keys = ("lr", "initial_lr", "max_lr", "min_lr")  # OneCycleLR reads the last three at every step
        rates = [[group[k] for k in keys] for group in self.opt.param_groups]  # those in force now
        m.net.load_state_dict(state["net"])
        m.ema.load_state_dict(state["ema"])
        # a copy: the optimiser updates its state in place, and this state may be restored again
        self.opt.load_state_dict(copy.deepcopy(state["opt"]))
        for group, now in zip(self.opt.param_groups, rates):
            group.update({k: 0.5 * v for k, v in zip(keys, now)})
        # snapshots kept since that state were taken from a failing EMA: the restored one stands in for them
        m.snapshots[state["snapshots"]:] = [copy.deepcopy(m.ema) for _ in m.snapshots[state["snapshots"]:]]
        m.restores.append({"step": step, "restored_to": at, "loss": round(mean, 4)})
        self.saved = [] if to else self.saved[:1]

