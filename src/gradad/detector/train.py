"""Training the detector: normal images against reweighted contrastive patterns, fingerprint balanced.

Each batch holds real normal images. Into about half of them, PatchDiff full-canvas content is blended
inside random smooth regions (the contrastive patterns, label = the soft region), shifted to the mean colour
of what it covers (`match`), so it differs from the image in structure, not in brightness. Into every image, the
image's own lightly re-noised copy is blended inside other regions labelled normal (the control): PatchDiff's
low-level fingerprint then appears on both sides, so the only thing that separates the classes is
structure. Some normals are replaced whole by re-noised copies for the same reason. Blur or noise is
applied to whole images, so it too is on both sides. With `ema` > 0 the detector kept is an exponential moving
average of the weights (BatchNorm statistics too) rather than the last ones.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from gradad.config import DetectorConfig, ReweightConfig
from gradad.detector.network import STRIDE, Detector
from gradad import reweighting


@dataclass
class PatternBank:
    """What PatchDiff made once per model: full canvases and re-noised copies of each training image."""

    canvases: torch.Tensor  # (C, 3, S, S) in [-1, 1]
    renoised: torch.Tensor  # (N, K, 3, S, S): K re-noised copies of each of the N training images
    partials: torch.Tensor | None = None  # (P, 3, S, S): SDEdit samples of training images at a high noise level
    partial_source: torch.Tensor | None = None  # (P,) index of each partial's source training image

    def tensors(self) -> dict[str, torch.Tensor]:
        """The bank as named tensors (for safetensors); from_tensors is the inverse."""
        out = {"canvases": self.canvases, "renoised": self.renoised}
        if self.partials is not None:
            out |= {"partials": self.partials, "partial_source": self.partial_source}
        return out

    @classmethod
    def from_tensors(cls, t: dict[str, torch.Tensor]) -> "PatternBank":
        partials = t.get("partials")
        return cls(t["canvases"].float(), t["renoised"].float(), None if partials is None else partials.float(),
                   t.get("partial_source"))


def random_regions(n: int, size: int, area: tuple[float, float], count: tuple[int, int],
                   g: torch.Generator, law: str = "uniform") -> torch.Tensor:
    """(n, 1, size, size) soft masks of 1..k smooth random blobs, each covering a fraction of the image drawn from
    `area` uniformly or log-uniformly (`law`)."""
    masks = torch.zeros(n, 1, size, size)
    for i in range(n):
        k = int(torch.randint(count[0], count[1] + 1, (1,), generator=g))
        for _ in range(k):
            u = torch.rand(1, generator=g).item()
            frac = area[0] * (area[1] / area[0]) ** u if law == "loguniform" else area[0] + (area[1] - area[0]) * u
            side = max(2, int(round(size * frac ** 0.5)))
            cy, cx = torch.randint(0, size, (2,), generator=g).tolist()
            noise = torch.rand(1, 1, 4, 4, generator=g)
            blob = F.interpolate(noise, size=(side, side), mode="bicubic", align_corners=False)
            yy, xx = torch.meshgrid(torch.linspace(-1, 1, side), torch.linspace(-1, 1, side), indexing="ij")
            blob = blob[0, 0] * (1 - (xx ** 2 + yy ** 2)).clamp(min=0)
            blob = (blob > blob.flatten().quantile(0.55)).float()
            y0, x0 = cy - side // 2, cx - side // 2
            ys, xs = slice(max(0, y0), min(size, y0 + side)), slice(max(0, x0), min(size, x0 + side))
            patch = blob[ys.start - y0: ys.stop - y0, xs.start - x0: xs.stop - x0]
            masks[i, 0, ys, xs] = torch.maximum(masks[i, 0, ys, xs], patch)
    soft = F.avg_pool2d(masks, 5, stride=1, padding=2, count_include_pad=False)
    return soft


def jitter(x: torch.Tensor, p: float, g: torch.Generator) -> torch.Tensor:
    """Whole-image blur or noise, drawn per image, so neither class owns low-level statistics."""
    out = x.clone()
    for i in range(len(x)):
        r = torch.rand(1, generator=g).item()
        if r < p / 2:
            sigma = 0.3 + 0.7 * torch.rand(1, generator=g).item()
            k = torch.exp(-torch.arange(-2, 3, dtype=torch.float32) ** 2 / (2 * sigma ** 2))
            k = k / k.sum()
            y = F.conv2d(F.pad(x[i:i + 1], (2, 2, 0, 0), mode="replicate"), k.view(1, 1, 1, 5).repeat(3, 1, 1, 1), groups=3)
            out[i:i + 1] = F.conv2d(F.pad(y, (0, 0, 2, 2), mode="replicate"), k.view(1, 1, 5, 1).repeat(3, 1, 1, 1), groups=3)
        elif r < p:
            out[i] = (x[i] + 0.03 * torch.rand(1, generator=g).item() * torch.randn(x[i].shape, generator=g)).clamp(-1, 1)
    return out


class RegionSampler:
    """Random smooth regions drawn from a pool made once, then rolled and flipped: cheap per batch."""

    def __init__(self, size: int, cfg: DetectorConfig, g: torch.Generator, pool: int = 256):
        self.pool = random_regions(pool, size, cfg.blob_area, cfg.blobs, g, cfg.blob_law)
        self.g = g

    def __call__(self, n: int) -> torch.Tensor:
        m = self.pool[torch.randint(0, len(self.pool), (n,), generator=self.g)]
        dy, dx = torch.randint(0, m.shape[-1], (2,), generator=self.g).tolist()
        m = m.roll(shifts=(dy, dx), dims=(-2, -1))
        if torch.rand(1, generator=self.g).item() < 0.5:
            m = m.flip(-1)
        return m


def match_colour(canvas: torch.Tensor, under: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """`canvas` shifted per image and channel so its mean inside the soft `region` equals that of `under`."""
    area = region.sum((-2, -1), keepdim=True).clamp_min(1e-6)
    shift = ((under - canvas) * region).sum((-2, -1), keepdim=True) / area
    return (canvas + shift).clamp(-1, 1)


def colour_source(x: torch.Tensor, elsewhere: float, g: torch.Generator) -> torch.Tensor:
    """What each pasted region's colour is matched to: `x` itself, or for a share `elsewhere` of the images `x`
    rolled by a random offset of a quarter to three quarters of its side on each axis (so the region takes the
    colour of another place of the same image). No random numbers are drawn when `elsewhere` is 0."""
    if elsewhere <= 0:
        return x
    out = x.clone()
    s = x.shape[-1]
    for i in range(len(x)):
        if torch.rand(1, generator=g).item() < elsewhere:
            dy, dx = torch.randint(s // 4, s - s // 4 + 1, (2,), generator=g).tolist()
            out[i] = x[i].roll(shifts=(dy, dx), dims=(-2, -1))
    return out


def contrastive_batch(images: torch.Tensor, bank: PatternBank, cfg: DetectorConfig, regions: RegionSampler,
                      g: torch.Generator):
    """Assemble one batch: (composite, real, target, control) with target/control at the detector's stride."""
    n, _, s, _ = images.shape
    b = cfg.batch_size
    idx = torch.randint(0, n, (b,), generator=g)
    # partial samples are pasted where they came from, into their own source image: only the local arrangement differs
    aligned = torch.zeros(b, dtype=torch.bool)
    if bank.partials is not None and cfg.partial_fraction > 0:
        aligned = torch.rand(b, generator=g) < cfg.partial_fraction
        pick = torch.randint(0, len(bank.partials), (b,), generator=g)
        idx = torch.where(aligned, bank.partial_source[pick], idx)
    real = images[idx]
    renoised = bank.renoised[idx, torch.randint(0, bank.renoised.shape[1], (b,), generator=g)]
    whole = ((torch.rand(b, generator=g) < cfg.whole_renoised) & ~aligned).view(-1, 1, 1, 1)
    base = torch.where(whole, renoised, real)

    ctrl = regions(b)
    x = base * (1 - ctrl) + renoised * ctrl

    canvas = bank.canvases[torch.randint(0, len(bank.canvases), (b,), generator=g)]
    shift = torch.randint(0, s, (2,), generator=g).tolist()
    canvas = canvas.roll(shifts=shift, dims=(-2, -1))
    if aligned.any():
        canvas[aligned] = bank.partials[pick[aligned]]
    anom = regions(b) * (torch.rand(b, generator=g) < 0.5).view(-1, 1, 1, 1).float()
    if cfg.match > 0:
        chosen = (~aligned if cfg.match >= 1 else (torch.rand(b, generator=g) < cfg.match) & ~aligned).view(-1, 1, 1, 1)
        canvas = torch.where(chosen, match_colour(canvas, colour_source(x, cfg.match_elsewhere, g), anom), canvas)
    x = x * (1 - anom) + canvas * anom

    x = jitter(x, cfg.jitter, g)
    target = F.avg_pool2d(anom, STRIDE)
    control = F.avg_pool2d(ctrl, STRIDE) * (target < 0.05)
    return x, real, target, control


def detector_steps(cfg: DetectorConfig, n_images: int) -> int:
    """Training steps for n training images: at most `passes` passes over them (batches of `batch_size`), within
    [min_steps, steps]; `steps` always wins, so a short profile stays short."""
    n = cfg.steps if not cfg.passes else -(-cfg.passes * n_images // cfg.batch_size)
    return min(cfg.steps, max(cfg.min_steps, n))


# the training loss of a detector that predicts the same probability everywhere: its three balanced terms (normal,
# contrastive, control cells) are then best served by 1/3, so 2 ln(3/2) + ln 3 = 1.910. A detector that ends near it
# learned nothing: seen on PIPED BRG01 (one of three colour-matched detectors; retrained from other initial weights
# it learned) and on the cut-and-paste baseline of the PIPED reflected-light sets, whose pasted content is the paper
# itself (BENCHMARKS.md, session 14)
CONSTANT_LOSS = 2 * math.log(1.5) + math.log(3.0)


def learned_nothing(losses: list[float], tail: float = 0.1, margin: float = 0.95, min_steps: int = 100) -> bool:
    """Whether a training of at least `min_steps` steps ended at the constant prediction's loss or above: the mean
    of its last `tail` of steps is at least `margin` x CONSTANT_LOSS (healthy detectors of the benchmark end at
    0.1-1.4, the cut-and-paste baseline's at up to 1.72). Shorter trainings (tests, smoke runs) are not judged."""
    end = losses[-max(1, int(len(losses) * tail)):]
    return len(losses) >= min_steps and sum(end) / len(end) >= margin * CONSTANT_LOSS


def train_detector(images: torch.Tensor, bank: PatternBank, cfg: DetectorConfig, rw: ReweightConfig,
                   g: torch.Generator, device: torch.device,
                   progress: Callable[[int, int, float], None] | None = None) -> tuple[Detector, list[float]]:
    """Weighted BCE with three balanced terms: normal cells, reweighted contrastive cells, control cells."""
    steps = detector_steps(cfg, len(images))
    net = Detector.from_config(cfg).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.1)
    regions = RegionSampler(images.shape[-1], cfg, g)
    # an exponential moving average of the weights (BatchNorm statistics included) is the detector kept, when asked
    # and when its window 1/(1-ema) is at most 15 % of the training: in short trainings (the demo profile, tests)
    # the average reaches back into the high-learning-rate phase and cost accuracy, so they keep the last weights
    use_ema = 0 < cfg.ema and 1 / (1 - cfg.ema) <= 0.15 * steps
    ema = torch.optim.swa_utils.AveragedModel(
        net, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema), use_buffers=True) if use_ema else None
    losses = []
    net.train()
    for step in range(steps):
        x, real, target, control = (t.to(device) for t in contrastive_batch(images, bank, cfg, regions, g))
        z = net(x)
        bce_pos = F.binary_cross_entropy_with_logits(z, torch.ones_like(z), reduction="none")
        bce_neg = F.binary_cross_entropy_with_logits(z, torch.zeros_like(z), reduction="none")
        w = reweighting.weights(rw.method, target=target, logits=z, real=real, composite=x, stride=STRIDE,
                                progress=step / steps, warmup=rw.warmup, temperature=rw.temperature)
        w_pos = w * target
        normal = (1 - target) * (control == 0)
        loss = (bce_neg * normal).sum() / normal.sum().clamp_min(1)
        if w_pos.sum() > 0:
            loss = loss + (bce_pos * w_pos).sum() / w_pos.sum()
        if control.sum() > 0:
            loss = loss + (bce_neg * control).sum() / control.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if ema is not None:
            ema.update_parameters(net)
        losses.append(loss.item())
        if progress is not None:
            progress(step + 1, steps, loss.item())
    if ema is not None:
        net = ema.module
    net.eval()
    return net, losses
