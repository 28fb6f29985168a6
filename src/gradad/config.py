"""One configuration object (dataclasses) with named profiles; saved inside every model file."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


OFFSETS = ("none", "border", "pixel")  # detector.offset


@dataclass
class PatchDiffConfig:
    """PatchDiff: a DDPM whose denoiser sees only a bounded local window of `receptive_field` pixels."""

    receptive_field: int = 60  # bound on r, pixels at the working resolution; a test measures it
    channels: int = 32
    timesteps: int = 1000  # training diffusion steps (cosine schedule, epsilon prediction)
    # training crops, smaller than the default 57 px window, so every training window touches the crop's zero padding;
    # 64 px crops (9 a step, the same pixels) changed nothing measurable (BENCHMARKS.md, session 19)
    crop: int = 48
    steps: int = 1500
    batch_size: int = 16
    lr: float = 2e-3
    ema: float = 0.995
    sample_steps: int = 25  # DDIM steps for a full canvas
    # the clean-image estimate of a canvas's first DDIM step, from pure noise (t = T, signal-to-noise 1e-5): "model" =
    # the one the denoiser's noise prediction implies (its error amplified ~300x, then clamped: +-1 blobs that set the
    # canvas's brightness and layout), "mean" = the training images' mean colour, what an ideal denoiser would give
    # when it sees no signal: canvases then keep the training images' brightness (magnetic tile: mean -0.39 against
    # -0.10, real -0.47). Measured in BENCHMARKS.md (session 9): up on demo and PIPED BRG02/ZPB01, down on bottle
    # (2 seeds) and magnetic tile, so not the default. Files without the key: "model"
    start: str = "model"
    padding: str = "zeros"  # the denoiser's convolution padding: "zeros" or "reflect" (no traces of the canvas edge)
    # what the denoiser predicts: "eps" = the noise, "v" = the velocity sqrt(a) eps - sqrt(1 - a) x0 (Salimans & Ho,
    # 2022). Near t = T an epsilon model's clean-image estimate is its error amplified by sqrt((1 - a) / a) (300x at
    # t = T, 16x at t = 960) and clamped: the first DDIM steps of a canvas set +-1 blobs; a v model predicts the clean
    # image itself there. Measured in BENCHMARKS.md (session 18, averages of three): magnetic tile 0.792 -> 0.786,
    # bottle 0.990 -> 0.979, VisA capsules 0.875 -> 0.824 (canvases near the real contrast, no blobs), so "eps" stays.
    # Files without the key: "eps"
    prediction: str = "eps"


@dataclass
class GenerationConfig:
    """The contrastive-pattern bank made once per model from PatchDiff."""

    canvases: int = 24  # full-canvas samples from pure noise (local structure kept, global broken)
    renoise_t: tuple[int, ...] = (50, 100, 200)  # real normals lightly re-noised: the fingerprint control
    renoise_per_image: int = 2
    # mirrored pixels added around a real image while it is re-noised (copies and the fingerprint check), cropped back
    # after, so a zero-padded PatchDiff leaves no traces along its border (measured in BENCHMARKS.md, VisA capsules)
    renoise_margin: int = 0
    # canvases are drawn this many pixels larger on every side and cropped back: their content then never touches
    # the zero padding, so no canvas carries border traces (which the detector, pasting rolled canvases, would learn).
    # 16 is the default since session 11 (BENCHMARKS.md): over three draws of the bank from one PatchDiff it is level
    # with no margin on every set measured so (bottle, VisA capsules, magnetic tile, PIPED BRG02, BRG03, BTN01, FVN02,
    # GLA01: mean image AUROC 0.940 vs 0.939); the single-draw gains and losses of sessions 7-8 were the draw. Kept
    # for the artefact it removes, at 1.5x the canvases' sampling time. Files without the key: 0
    canvas_margin: int = 16
    # the fraction of each denoiser's canvases drawn inside `canvas_margin` (the others without): 1 = all of them.
    # 0.5 with a margin of 16 was measured in BENCHMARKS.md (session 9): below both 0 and 1 on bottle, PIPED BRG03
    # and FVN02, between them on VisA capsules
    canvas_margin_share: float = 1.0
    # canvas banks, each drawn with other noise from the same denoisers: one detector is trained on each (everything
    # else shared: re-noised copies, batches, initial weights) and the model averages their logits. 3 is the default
    # since session 12 (BENCHMARKS.md): one detector's image AUROC depends on the luck of its bank's draw (PIPED BRG03
    # 0.874-0.970, bottle 0.968-0.990); the average of three is above its members' mean on 9 of 15 sets, level on 5,
    # 0.001 below on one (mean 0.962 -> 0.968). The cut-and-paste baseline gains as much when averaged alike. Each
    # bank costs its canvases and one detector's training; inference runs every detector (about 3x one detector's
    # time). Files without the key: 1
    banks: int = 3
    # fractions of PatchDiff training whose EMA denoisers also draw canvases (an equal share each, with the final one);
    # the 10 % snapshot was dropped by the ablation in BENCHMARKS.md (its noise-like canvases hurt 4 of 5 sets)
    snapshots: tuple[float, ...] = (0.25, 0.5)
    # receptive-field bounds of further PatchDiffs, each trained like the main one (same steps) only to draw an equal
    # share of the canvases: a smaller window scrambles finer, a larger one keeps more of the layout. () = one PatchDiff
    receptive_fields: tuple[int, ...] = ()
    partials: int = 0  # SDEdit samples of training images (0 = none: see the ablation in BENCHMARKS.md)
    partial_t: tuple[int, int] = (300, 600)  # their noise levels, drawn uniformly: local arrangement rewritten


@dataclass
class ReweightConfig:
    """How much each contrastive location counts (see gradad/reweighting.py)."""

    method: str = "difference"  # chosen by the ablation in BENCHMARKS.md (fingerprint check and AUROC)
    warmup: float = 0.3  # fraction of detector steps before belief-based weights switch on
    # the weights' exponent. Measured in BENCHMARKS.md (session 21, difference weights squared, averages of three on
    # one PatchDiff): magnetic tile 0.789 -> 0.787, VisA capsules 0.861 -> 0.841; so 1 stays
    temperature: float = 1.0


@dataclass
class DetectorConfig:
    """The lightweight patch-level detector trained from scratch on raw pixels."""

    width: int = 32
    # two position channels (row, column) as extra input: the detector may learn where things belong. Measured in
    # BENCHMARKS.md ("Position-channel ablation"): image AUROC up on PIPED BRG01-03, VisA capsules and magnetic tile,
    # level on bottle and demo; the fingerprint check rose on capsules, bottle and GLA01. Files without the key: False
    coords: bool = True
    padding: str = "zeros"  # the convolutions' padding mode: "zeros" or "reflect"
    # training length: `steps`, but at most `passes` passes over the training images and never under `min_steps`
    # (gradad.detector.train.detector_steps). Measured in BENCHMARKS.md: 3000 steps help the sets of 180+ images
    # (demo, bottle pixel AUROC) and hurt the 28-image PIPED sets, which do best with 1500
    steps: int = 3000
    min_steps: int = 1500
    passes: int = 300  # 0 = no cap
    batch_size: int = 16
    lr: float = 2e-3
    # decay of an exponential moving average of the detector's weights, kept instead of the last ones (0 = off);
    # used only when its window 1/(1-ema) is at most 15 % of the training steps (so not in the short demo profile)
    ema: float = 0.995
    blob_area: tuple[float, float] = (0.02, 0.12)  # contrastive regions, fraction of the image
    # how each region's area is drawn within blob_area: "uniform", or "loguniform" (as many regions between 0.02 and
    # 0.04 as between 0.15 and 0.3: mostly small ones with a heavy tail of large ones). Measured in BENCHMARKS.md
    # (session 17, "loguniform" over 0.02-0.3, averages of three): demo 0.969 -> 0.975, magnetic tile 0.792 -> 0.796,
    # bottle's fingerprint check 0.73 -> 0.64, but bottle 0.990 -> 0.977 and VisA capsules 0.875 -> 0.860; so
    # "uniform" stays. Files without the key: "uniform"
    blob_law: str = "uniform"
    blobs: tuple[int, int] = (1, 3)
    whole_renoised: float = 0.25  # fraction of normals replaced by whole re-noised copies
    jitter: float = 0.5  # probability of blur/noise applied identically to both classes
    partial_fraction: float = 0.5  # share of batch images whose contrastive content is a partial sample, when there are any
    # the share of pasted canvas regions whose colour is matched to what they cover: each channel of the canvas is
    # shifted so its mean inside the region equals the covered image's mean there, so the two classes differ in
    # structure, not in brightness (canvases drawn from noise are often brighter or darker than the real images:
    # magnetic tile's by 0.37 on average). 1 is the default since session 13 (BENCHMARKS.md): with the same canvases,
    # initial weights and batches, PIPED BRG03's three single detectors 0.874 / 0.970 / 0.896 -> 0.965 / 0.971 /
    # 0.997, their average 0.945 -> 0.984. A share of 0.5 (session 14) keeps some colour-position cues: the demo's
    # average 0.969 -> 0.988 (structural 0.930 -> 0.972: dents of the red capacitor into the green board found again)
    # and bottle's fingerprint check 0.73 -> 0.64, magnetic tile 0.792 -> 0.801, but VisA capsules 0.875 -> 0.840
    # (below the cut-and-paste baseline's 0.863), PIPED BRG03 0.984 -> 0.974, BRG02 0.997 -> 0.993; so 1 stays.
    # Files without the key: 0
    match: float = 1.0
    # the share of matched regions whose colour comes from elsewhere in the same image instead of from what they
    # cover: the canvas is shifted so its mean inside the region equals the image's mean inside the same region moved
    # by a random offset (a quarter to three quarters of the image, each axis). The contrastive side then also carries
    # colours the image has, but in the wrong place (a part's colour across the board, a darker patch of a tile), as
    # real structural defects often do; only the normal images' own colours are used, no made-up change of brightness.
    # Measured in BENCHMARKS.md (session 28, averages of three): 0.5 magnetic tile 0.792 -> 0.803 (uneven 0.711 ->
    # 0.709), demo 0.969 -> 0.961 (structural 0.930 -> 0.912); 1.0 tile 0.806 (uneven 0.741), others not measured.
    # 0 = every matched region takes the colour it covers (the behaviour of every file without the key)
    match_elsewhere: float = 0.0
    smoothing_sigma: float = 2.0  # Gaussian smoothing of the upsampled map, in working-resolution pixels
    score: str = "max"  # image score from the map: "max" or "topk"
    topk: float = 0.01
    # a map offset learnt at calibration from the held-out normal images and subtracted from every map before the
    # image score: "border" = their mean map at each distance from the image border (the detector reads higher
    # along the border, where it sees padding), "pixel" = their mean map at each pixel, "none". Measured on all 16
    # sets in BENCHMARKS.md (session 7): "border" up on 6 sets, within 0.005 elsewhere; "pixel" loses BRG03 (4
    # validation images). Files without the key: "none"
    offset: str = "border"


# settings added after model files were first written, with the value every file without them was made with
ADDED_LATER = {("detector", "coords"): False, ("detector", "offset"): "none", ("generation", "canvas_margin"): 0,
               ("patchdiff", "start"): "model", ("generation", "banks"): 1,
               ("detector", "match"): 0.0, ("detector", "blob_law"): "uniform", ("patchdiff", "prediction"): "eps"}


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
        """Inverse of to_dict (JSON lists become tuples); keys this version does not know are ignored, and
        settings a file predates take the value it was made with (ADDED_LATER), not today's default."""

        def build(klass, values: dict, section_name: str = ""):
            kwargs = {}
            for f in dataclasses.fields(klass):
                if f.name in values:
                    v = values[f.name]
                    section = f.default_factory if dataclasses.is_dataclass(f.default_factory) else None
                    kwargs[f.name] = build(section, v, f.name) if section else tuple(v) if isinstance(v, list) else v
                elif (section_name, f.name) in ADDED_LATER:
                    kwargs[f.name] = ADDED_LATER[section_name, f.name]
            return klass(**kwargs)

        return build(cls, d)

    def replace(self, **overrides) -> "GRADConfig":
        """Copy with dotted overrides, e.g. replace(**{"detector.steps": 100})."""
        d = self.to_dict()
        for key, value in overrides.items():
            node = d
            *parents, leaf = key.split(".")
            for p in parents:
                if not isinstance(node.get(p), dict):
                    raise KeyError(f"unknown config key {key!r}")
                node = node[p]
            if leaf not in node or isinstance(node[leaf], dict):
                raise KeyError(f"unknown config key {key!r}")
            node[leaf] = value
        return GRADConfig.from_dict(d).validate()

    def validate(self) -> "GRADConfig":
        """Raise ValueError naming the first out-of-range setting (before minutes of training are spent)."""
        from gradad.reweighting import METHODS

        checks = [
            ("image_size", self.image_size, isinstance(self.image_size, int) and self.image_size >= 32
             and self.image_size % 32 == 0, "a multiple of 32, at least 32"),
            ("false_alarm_rate", self.false_alarm_rate, 0 < self.false_alarm_rate < 1, "in (0, 1)"),
            ("patchdiff.crop", self.patchdiff.crop, 8 <= self.patchdiff.crop <= self.image_size, "in [8, image_size]"),
            ("patchdiff.receptive_field", self.patchdiff.receptive_field, self.patchdiff.receptive_field >= 25,
             "at least 25 (the smallest denoiser's window)"),
            ("generation.receptive_fields", self.generation.receptive_fields,
             all(isinstance(r, int) and r >= 25 for r in self.generation.receptive_fields), "bounds of at least 25"),
            ("patchdiff.padding", self.patchdiff.padding, self.patchdiff.padding in ("zeros", "reflect"), "zeros or reflect"),
            ("patchdiff.prediction", self.patchdiff.prediction, self.patchdiff.prediction in ("eps", "v"), "eps or v"),
            ("reweight.method", self.reweight.method, self.reweight.method in METHODS, f"one of {', '.join(METHODS)}"),
            ("detector.coords", self.detector.coords, isinstance(self.detector.coords, bool), "true or false"),
            ("detector.padding", self.detector.padding, self.detector.padding == "zeros" or (
                self.detector.padding == "reflect" and self.image_size >= 64), "zeros, or reflect with image_size >= 64"),
            ("detector.ema", self.detector.ema, 0 <= self.detector.ema < 1, "in [0, 1) (0 = off)"),
            ("detector.score", self.detector.score, self.detector.score in ("max", "topk"), "max or topk"),
            ("patchdiff.start", self.patchdiff.start, self.patchdiff.start in ("mean", "model"), "mean or model"),
            ("detector.offset", self.detector.offset, self.detector.offset in OFFSETS, " or ".join(OFFSETS)),
            ("detector.blob_area", self.detector.blob_area, 0 < self.detector.blob_area[0] <= self.detector.blob_area[1] <= 1,
             "two fractions lo <= hi in (0, 1]"),
            ("detector.blob_law", self.detector.blob_law, self.detector.blob_law in ("uniform", "loguniform"),
             "uniform or loguniform"),
        ]
        for name in ("patchdiff.steps", "patchdiff.batch_size", "patchdiff.channels", "patchdiff.sample_steps",
                     "generation.canvases", "generation.banks", "generation.renoise_per_image", "detector.steps",
                     "detector.min_steps", "detector.batch_size", "detector.width"):
            section, field_name = name.split(".")
            v = getattr(getattr(self, section), field_name)
            checks.append((name, v, isinstance(v, int) and v >= 1, "a positive integer"))
        lo, hi = self.generation.partial_t
        checks.append(("generation.partial_t", self.generation.partial_t, 0 < lo <= hi < self.patchdiff.timesteps,
                       "two noise levels lo <= hi in (0, timesteps)"))
        checks.append(("detector.passes", self.detector.passes,
                       isinstance(self.detector.passes, int) and self.detector.passes >= 0, "an integer >= 0 (0 = no cap)"))
        checks.append(("generation.partials", self.generation.partials,
                       isinstance(self.generation.partials, int) and self.generation.partials >= 0, "an integer >= 0"))
        checks.append(("generation.renoise_margin", self.generation.renoise_margin,
                       isinstance(self.generation.renoise_margin, int) and 0 <= self.generation.renoise_margin < self.image_size // 2,
                       "an integer in [0, image_size / 2)"))
        checks.append(("generation.canvas_margin", self.generation.canvas_margin,
                       isinstance(self.generation.canvas_margin, int) and 0 <= self.generation.canvas_margin <= self.image_size,
                       "an integer in [0, image_size]"))
        for name, share in (("generation.canvas_margin_share", self.generation.canvas_margin_share),
                            ("detector.match", self.detector.match), ("detector.match_elsewhere", self.detector.match_elsewhere)):
            checks.append((name, share, isinstance(share, (int, float)) and not isinstance(share, bool) and 0 <= share <= 1,
                           "a number in [0, 1]"))
        checks.append(("generation.renoise_t", self.generation.renoise_t,
                       all(0 < t < self.patchdiff.timesteps for t in self.generation.renoise_t), "noise levels in (0, timesteps)"))
        for name, value, ok, expected in checks:
            if not ok:
                raise ValueError(f"config {name}={value!r} is out of range: expected {expected}")
        return self


def profile(name: str) -> GRADConfig:
    """Named profiles: `cpu` (default, ~30 min a category on 2 cores), `demo` (minutes), `paper` (GPU scale)."""
    base = GRADConfig()
    if name == "cpu":
        return base
    if name == "demo":
        return base.replace(**{
            "patchdiff.steps": 400, "generation.canvases": 24, "generation.renoise_per_image": 1,
            "detector.steps": 600, "generation.banks": 1,  # one detector: within the demo's 5 minutes
        })
    if name == "paper":
        return base.replace(**{
            "image_size": 256, "patchdiff.receptive_field": 60, "patchdiff.crop": 96, "patchdiff.channels": 64,
            "patchdiff.steps": 20000, "generation.canvases": 256, "detector.steps": 10000, "detector.passes": 0, "detector.width": 48,
        })
    raise KeyError(f"unknown profile {name!r}; choose one of: cpu, demo, paper")


PROFILES = ("cpu", "demo", "paper")
