"""One configuration object (dataclasses) with named profiles; saved inside every model file."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class PatchDiffConfig:
    """PatchDiff: a DDPM whose denoiser sees only a bounded local window of `receptive_field` pixels."""

    receptive_field: int = 60  # bound on r, pixels at the working resolution; a test measures it
    channels: int = 32
    timesteps: int = 1000  # training diffusion steps (cosine schedule, epsilon prediction)
    crop: int = 48  # training crops, a little larger than r
    steps: int = 1500
    batch_size: int = 16
    lr: float = 2e-3
    ema: float = 0.995
    sample_steps: int = 25  # DDIM steps for a full canvas


@dataclass
class GenerationConfig:
    """The contrastive-pattern bank made once per model from PatchDiff."""

    canvases: int = 32  # full-canvas samples from pure noise (local structure kept, global broken)
    renoise_t: tuple[int, ...] = (50, 100, 200)  # real normals lightly re-noised: the fingerprint control
    renoise_per_image: int = 2


@dataclass
class ReweightConfig:
    """How much each contrastive location counts (see gradad/reweighting.py)."""

    method: str = "uniform"
    warmup: float = 0.3  # fraction of detector steps before belief-based weights switch on
    temperature: float = 1.0


@dataclass
class DetectorConfig:
    """The lightweight patch-level detector trained from scratch on raw pixels."""

    width: int = 32
    steps: int = 1500
    batch_size: int = 16
    lr: float = 2e-3
    blob_area: tuple[float, float] = (0.02, 0.12)  # contrastive regions, fraction of the image
    blobs: tuple[int, int] = (1, 3)
    whole_renoised: float = 0.25  # fraction of normals replaced by whole re-noised copies
    jitter: float = 0.5  # probability of blur/noise applied identically to both classes
    smoothing_sigma: float = 2.0  # Gaussian smoothing of the upsampled map, in working-resolution pixels
    score: str = "max"  # image score from the map: "max" or "topk"
    topk: float = 0.01


@dataclass
class GRADConfig:
    image_size: int = 128
    seed: int = 0
    false_alarm_rate: float = 0.01  # target rate on normal images; the threshold rule is in gradad/thresholds.py
    patchdiff: PatchDiffConfig = field(default_factory=PatchDiffConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    reweight: ReweightConfig = field(default_factory=ReweightConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GRADConfig":
        def build(klass, values):
            kwargs = {}
            for f in dataclasses.fields(klass):
                if f.name not in values:
                    continue
                v = values[f.name]
                if dataclasses.is_dataclass(f.default_factory if f.default_factory is not dataclasses.MISSING else None):
                    v = build(f.default_factory, v)
                elif isinstance(v, list):
                    v = tuple(v)
                kwargs[f.name] = v
            return klass(**kwargs)

        return build(cls, d)

    def replace(self, **overrides) -> "GRADConfig":
        """Copy with dotted overrides, e.g. replace(**{"detector.steps": 100})."""
        d = self.to_dict()
        for key, value in overrides.items():
            node = d
            *parents, leaf = key.split(".")
            for p in parents:
                node = node[p]
            if leaf not in node:
                raise KeyError(f"unknown config key {key!r}")
            node[leaf] = value
        return GRADConfig.from_dict(d)


def profile(name: str) -> GRADConfig:
    """Named profiles: `cpu` (default, ~30 min a category on 2 cores), `demo` (minutes), `paper` (GPU scale)."""
    base = GRADConfig()
    if name == "cpu":
        return base
    if name == "demo":
        return base.replace(**{
            "patchdiff.steps": 400, "generation.canvases": 16, "detector.steps": 500,
        })
    if name == "paper":
        return base.replace(**{
            "image_size": 256, "patchdiff.receptive_field": 60, "patchdiff.crop": 96, "patchdiff.channels": 64,
            "patchdiff.steps": 20000, "generation.canvases": 256, "detector.steps": 10000, "detector.width": 48,
        })
    raise KeyError(f"unknown profile {name!r}; choose one of: cpu, demo, paper")


PROFILES = ("cpu", "demo", "paper")
