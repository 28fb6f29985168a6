"""Cosine noise schedule with the three operations any denoiser needs: add noise, predict x0, DDIM step."""
from __future__ import annotations

import math

import torch


class CosineSchedule:
    """alpha_bar(t) = cos^2(((t/T)+s)/(1+s) * pi/2), as in Nichol & Dhariwal (2021)."""

    def __init__(self, timesteps: int = 1000, s: float = 0.008):
        self.T = timesteps
        t = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
        f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
        alpha_bar = (f / f[0]).clamp(1e-5, 1.0)
        # alpha_bar[t] for t = 1..T; index 0 is the clean image
        self.alpha_bar = alpha_bar.float()

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = self.alpha_bar.to(x0.device)[t].view(-1, 1, 1, 1)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def velocity(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The v-prediction target sqrt(a) noise - sqrt(1 - a) x0 of the noisy image add_noise makes."""
        a = self.alpha_bar.to(x0.device)[t].view(-1, 1, 1, 1)
        return a.sqrt() * noise - (1 - a).sqrt() * x0

    def x0_from_velocity(self, x_t: torch.Tensor, v: torch.Tensor, t: int) -> torch.Tensor:
        """The clean image a predicted velocity implies: sqrt(a) x_t - sqrt(1 - a) v (no amplification at any t)."""
        a_t = self.alpha_bar[t].item()
        return math.sqrt(a_t) * x_t - math.sqrt(1 - a_t) * v

    def ddim_timesteps(self, steps: int, t_start: int | None = None) -> list[int]:
        """Evenly spaced timesteps from t_start (default T) down to 1."""
        t_start = self.T if t_start is None else t_start
        steps = max(1, min(steps, t_start))
        return sorted({max(1, round(t_start * (i + 1) / steps)) for i in range(steps)}, reverse=True)

    def ddim_step(self, x_t: torch.Tensor, eps: torch.Tensor, t: int, t_prev: int,
                  x0: torch.Tensor | None = None) -> torch.Tensor:
        """Deterministic DDIM update (eta = 0) from t to t_prev (t_prev = 0 means the clean image). `x0`: an estimate
        of the clean image to use instead of the one the predicted noise implies (broadcast to x_t's shape)."""
        a_t = self.alpha_bar[t].item()
        a_prev = self.alpha_bar[t_prev].item()
        if x0 is None:
            x0 = (x_t - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
        x0 = x0.expand_as(x_t).clamp(-1, 1)
        eps = (x_t - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)
        return math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps
