"""The GRAD pipeline: PatchDiff -> contrastive-pattern bank -> reweighted detector -> threshold.

    model = GRAD(profile("cpu")).fit(train_images, val_images)
    records = model.predict(images)        # score, decision, anomaly map per image
    model.save("runs/bottle/model"); GRAD.load("runs/bottle/model")

Images are uint8 HxWx3 numpy arrays of any size. Only the detector (by default three, averaged) runs at inference.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from gradad import __version__, modelfile, thresholds
from gradad.config import GRADConfig, profile
from gradad.detector.network import Ensemble, build
from gradad.detector.postprocess import map_offset
from gradad.detector.train import PatternBank, learned_nothing, train_detector
from gradad.patchdiff import PatchDiff
from gradad.preprocess import to_tensor

Progress = Callable[[str, int, int, float], None]  # (phase, step, total, loss)
PHASES = ("patchdiff", "generation", "detector", "calibration")
PRECISIONS = ("fp32", "bf16")
PARTIAL_KEYS = ("partials", "partial_t")  # generation settings that only the partial samples depend on
RENOISE_KEYS = ("renoise_t", "renoise_per_image", "renoise_margin")  # ... that only the re-noised copies depend on
# ... that only the canvases depend on (section, keys): a checkpoint that keeps its denoisers draws them again
CANVAS_KEYS = (("generation", ("canvases", "canvas_margin", "canvas_margin_share", "banks")), ("patchdiff", ("sample_steps", "start")))
STREAMS = (*PHASES, "renoise")  # one random stream each (_generator)
DETECTOR_RETRIES = 2  # further trainings of a detector that learned nothing (gradad.detector.train.learned_nothing)
FINGERPRINT_T = 100  # noise level of the fingerprint check: a few denoising steps, structure intact
# re-noised copies in the fingerprint check: each held-out image is re-noised with fresh noise until there are at least
# this many (at most 8 per image), so a check on 4 PIPED validation images moves in steps of 1/128, not 1/16
FINGERPRINT_COPIES = 32


@dataclass
class Prediction:
    """The inference record of one image: score, normalised score (threshold at 0.5), decision, map."""

    score: float
    normalized_score: float
    is_anomalous: bool
    anomaly_map: np.ndarray  # float32, working resolution; resize with gradad.evaluation.resize_map


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class GRAD:
    def __init__(self, config: GRADConfig | None = None, device: str | torch.device | None = None):
        self.config = config or profile("cpu")
        self.device = torch.device(device) if device else default_device()
        self.detector: torch.nn.Module | None = None  # a Detector, or an Ensemble of one per canvas bank
        self.patchdiff: PatchDiff | None = None
        self.bank: PatternBank | None = None
        self.threshold: float | None = None
        self.normalization: dict = {}
        self.info: dict = {"timings_s": {}}
        self.map_offset: np.ndarray | None = None  # (S, S) subtracted from every map (detector.offset, calibrate)
        self._graph: tuple | None = None  # (detector, map offset, settings, inference graph), see _inference_graph
        # the denoisers that drew canvases besides the final one (snapshots, further PatchDiffs): (receptive-field
        # bound, network) each, kept for the checkpoint only (never in a model file)
        self._canvas_nets: list = []
        # "bf16": inference in bfloat16 on a CPU (opt-in; faster only where the CPU computes bf16 natively, e.g.
        # AVX512-BF16/AMX; maps move by up to ~0.3 logit, AUROC by up to 0.004: the parity table in BENCHMARKS.md)
        self.precision = "fp32"

    # ---- training -------------------------------------------------------------------------------
    def fit(self, train_images: Sequence[np.ndarray], val_images: Sequence[np.ndarray],
            progress: Progress | None = None, checkpoint: str | Path | None = None) -> "GRAD":
        """All phases: PatchDiff, pattern bank, detector, calibration.

        With `checkpoint` (a folder), each completed generation phase is saved there and reused by a later
        call with the same settings, so an interrupted training resumes from the last completed phase.
        """
        if len(train_images) < 2:
            raise ValueError(f"need at least 2 normal training images, got {len(train_images)}")
        if len(val_images) < 1:
            raise ValueError("need at least 1 held-out normal validation image to set the threshold")
        x = to_tensor(train_images, self.config.image_size)
        if not (checkpoint and self._resume(Path(checkpoint), x)):
            self.fit_generator(x, progress)
            if checkpoint:
                self._save_generator(Path(checkpoint))
        self._canvas_nets = []  # needed for the checkpoint only
        self.fit_detector(x, val_images, progress)
        return self

    def fit_generator(self, x: torch.Tensor, progress: Progress | None = None) -> None:
        """Train PatchDiff on the normal images (N, 3, S, S) and make the contrastive-pattern bank."""
        cfg = self.config
        timings = self.info["timings_s"]
        t0 = time.perf_counter()
        torch.manual_seed(cfg.seed)
        bounds = cfg.generation.receptive_fields
        step = self._phase(progress, "patchdiff")
        total = cfg.patchdiff.steps * (1 + len(bounds))
        self.patchdiff = PatchDiff(cfg.patchdiff, self.device)
        curve = self.patchdiff.fit(x, _generator(cfg.seed, "patchdiff"), step and (lambda i, n, loss: step(i, total, loss)),
                                   snapshots=cfg.generation.snapshots)
        self.info["patchdiff_loss"] = _thin(curve)
        self.info["patchdiff_restores"] = list(self.patchdiff.restores)  # collapses brought back (PatchDiff.fit)
        self.info["receptive_field"] = self.patchdiff.receptive_field(cfg.image_size)
        # further PatchDiffs with other windows draw canvases alongside the snapshots; only the main one is kept
        extra = []
        for k, bound in enumerate(bounds):
            other = PatchDiff(dataclasses.replace(cfg.patchdiff, receptive_field=bound), self.device)
            offset = (k + 1) * cfg.patchdiff.steps
            other.fit(x, torch.Generator().manual_seed(cfg.seed * 1000 + 100 + k),
                      step and (lambda i, n, loss, o=offset: step(o + i, total, loss)))
            extra.append(other)
            # a collapse brought back in a further PatchDiff is reported too, named by its window
            self.info["patchdiff_restores"] += [r | {"receptive_field_bound": bound} for r in other.restores]
        self._canvas_nets = [*((cfg.patchdiff.receptive_field, net) for net in self.patchdiff.snapshots),
                             *((bound, other.ema) for bound, other in zip(bounds, extra))]
        self.patchdiff.snapshots = []
        self.info["extra_receptive_fields"] = [other.receptive_field(cfg.image_size) for other in extra]
        timings["patchdiff"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.bank = self.generate_bank(x, _generator(cfg.seed, "generation"), progress)
        timings["generation"] = time.perf_counter() - t0

    def fit_detector(self, x: torch.Tensor, val_images: Sequence[np.ndarray], progress: Progress | None = None) -> None:
        """Train the detector against the bank, then set the threshold from the validation images."""
        cfg = self.config
        timings = self.info["timings_s"]
        t0 = time.perf_counter()
        # one detector per canvas bank, each trained exactly as a lone detector would be on its bank (same initial
        # weights, same batches): only the canvases differ
        banks = cfg.generation.banks
        share = len(self.bank.canvases) // banks
        step = self._phase(progress, "detector")
        members, curves, retried, failed = [], [], [], []
        for k in range(banks):
            bank = dataclasses.replace(self.bank, canvases=self.bank.canvases[k * share:(k + 1) * share])
            # a detector that ended at the constant prediction's loss learned nothing: it is trained again from other
            # initial weights and batches (same bank), at most DETECTOR_RETRIES times
            for attempt in range(1 + DETECTOR_RETRIES):
                g = _generator(cfg.seed, "detector") if attempt == 0 else retry_generator(cfg.seed, attempt)
                torch.manual_seed(cfg.seed if attempt == 0 else int(g.initial_seed()))
                net, curve = train_detector(x, bank, cfg.detector, cfg.reweight, g, self.device,
                                            step and (lambda i, n, loss, k=k: step(k * n + i, banks * n, loss)))
                dead = learned_nothing(curve)
                if not dead:
                    break
            retried += [k] * attempt
            failed += [k] * dead
            members.append(net)
            curves.append(curve)
        self.info["detector_retries"], self.info["detector_failed"] = retried, failed
        if failed:
            warnings.warn(f"detector(s) {failed} of {banks} learned nothing from the contrastive patterns, even after "
                          f"{DETECTOR_RETRIES} retries (training loss at the constant prediction's): "
                          + ("the model cannot find anomalies" if len(failed) == banks else
                             "they add little more than a constant to the averaged map"), RuntimeWarning)
        self.detector = members[0] if banks == 1 else Ensemble(members).eval()
        self.info["detector_loss"] = _thin(list(np.mean(curves, axis=0)))  # the members' mean loss at each step
        self.info["detector_steps"] = len(curves[0])  # detector_steps(): fewer than detector.steps on a small set
        timings["detector"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.calibrate(val_images)
        timings["calibration"] = time.perf_counter() - t0

    def _save_generator(self, folder: Path) -> None:
        info = {k: v for k, v in self.info.items()
                if k in ("patchdiff_loss", "patchdiff_restores", "receptive_field", "extra_receptive_fields", "timings_s")}
        # the other denoisers are kept too, so a later call that changes only how canvases are drawn redraws them
        weights = self.patchdiff.state_dict() | {f"canvas_net{i}.{k}": v for i, (_, net) in enumerate(self._canvas_nets)
                                                  for k, v in net.state_dict().items()}
        meta = {"gradad_version": __version__, "key": generator_key(self.config), "info": info,
                "canvas_nets": [bound for bound, _ in self._canvas_nets]}
        modelfile.save(folder / "generator", meta, weights, self._bank_tensors())

    def _resume(self, folder: Path, x: torch.Tensor | None = None) -> bool:
        """Load PatchDiff and the bank from a checkpoint made with the same settings; False if there is none.
        With the training images `x`, the partial samples the settings ask for are drawn again."""
        try:
            meta, weights, bank = modelfile.load(folder / "generator", with_bank=True)
        except modelfile.ModelFileError:
            return False
        # the cache's settings read like a model file's: those it predates take the value it was made with
        made = GRADConfig.from_dict(meta.get("key") or {})
        # a cache whose only difference is in the re-noising settings serves too: its copies are made again; and one
        # whose only difference is in how canvases are drawn, when it kept all its denoisers: they draw them again
        def differ(**kw) -> bool:
            return generator_key(made, **kw) != generator_key(self.config, **kw)

        copies_differ, canvases_differ = differ(canvases=False), differ(copies=False)
        nets = meta.get("canvas_nets")
        if bank is None or differ(copies=False, canvases=False) or (
                (copies_differ or canvases_differ) and x is None) or (canvases_differ and nets is None):
            return False
        self.patchdiff = PatchDiff(self.config.patchdiff, self.device)
        self.patchdiff.load_state_dict(weights)
        self.bank = dataclasses.replace(PatternBank.from_tensors(bank), partials=None, partial_source=None)
        self._canvas_nets = []
        for i, bound in enumerate(nets or []):
            net = PatchDiff(dataclasses.replace(self.config.patchdiff, receptive_field=bound), self.device).ema
            prefix = f"canvas_net{i}."
            net.load_state_dict({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
            self._canvas_nets.append((bound, net))
        if canvases_differ:
            self.bank.canvases = self.draw_canvases(self.canvas_streams(_generator(self.config.seed, "generation")))
            self.info["canvases_redrawn"] = True
        if copies_differ:
            self.bank.renoised = self.renoise_copies(x)
            self.info["renoised_redrawn"] = True
        if x is not None:
            self.bank = self.add_partials(self.bank, x, _generator(self.config.seed, "generation"))
        self.info.update(meta["info"])
        self.info["resumed_from"] = str(folder / "generator")
        return True

    def generate_bank(self, x: torch.Tensor, g: torch.Generator, progress: Progress | None = None) -> PatternBank:
        """Full canvases from noise (shared evenly among the training snapshots, the further PatchDiffs and the
        final denoiser), and `renoise_per_image` lightly re-noised copies of each training image (noise levels
        cycle through `renoise_t` across images, so each copy costs a few denoising steps)."""
        gen = self.config.generation
        step = self._phase(progress, "generation")
        drawn = gen.canvases * gen.banks
        total = drawn + gen.renoise_per_image * len(gen.renoise_t)
        canvases = self.draw_canvases(self.canvas_streams(g), step and (lambda i: step(i, total, 0.0)))
        copies = self.renoise_copies(x, step and (lambda i: step(drawn + i, total, 0.0)))
        bank = PatternBank(canvases, copies)
        return self.add_partials(bank, x, g)

    def canvas_streams(self, g: torch.Generator) -> list[torch.Generator]:
        """The random stream of each canvas bank: the first bank's is `g`, bank k's is bank_generator(seed, k)."""
        return [g, *(bank_generator(self.config.seed, k) for k in range(1, self.config.generation.banks))]

    def draw_canvases(self, streams: Sequence[torch.Generator], step: Callable[[int], None] | None = None) -> torch.Tensor:
        """One bank of `generation.canvases` full canvases per stream, concatenated bank after bank; each bank takes
        an even share from each of the other denoisers (_canvas_nets) then the final one."""
        n = self.config.generation.canvases
        return torch.cat([self._draw_bank(g, step and (lambda i, done=k * n: step(done + i)))
                          for k, g in enumerate(streams)])

    def _draw_bank(self, g: torch.Generator, step: Callable[[int], None] | None = None) -> torch.Tensor:
        """One bank: `generation.canvases` canvases, an even share from each denoiser."""
        gen = self.config.generation
        size = self.config.image_size
        nets = [*(net for _, net in self._canvas_nets), self.patchdiff.ema]
        canvases = []
        bounds = np.linspace(0, gen.canvases, len(nets) + 1).round().astype(int)
        for net, lo, hi in zip(nets, bounds[:-1], bounds[1:]):
            # the first `canvas_margin_share` of each denoiser's canvases are drawn inside the margin, the rest without
            split = lo + round(gen.canvas_margin_share * (hi - lo))
            for a, b, margin in ((lo, split, gen.canvas_margin), (split, hi, 0)):
                for i in range(a, b, 4):
                    canvases.append(self.patchdiff.sample_canvas(min(4, b - i), size, g, net=net, margin=margin))
                    if step:
                        step(min(i + 4, b))
        return torch.cat(canvases)

    def renoise_copies(self, x: torch.Tensor, step: Callable[[int], None] | None = None) -> torch.Tensor:
        """(N, K, 3, S, S): `renoise_per_image` lightly re-noised copies of each training image, noise levels
        cycling through `renoise_t`, drawn from their own random stream (so a resume can draw them again)."""
        gen = self.config.generation
        levels, g = gen.renoise_t, _generator(self.config.seed, "renoise")
        copies = torch.empty(len(x), gen.renoise_per_image, *x.shape[1:])
        for k in range(gen.renoise_per_image):
            for j, t in enumerate(levels):
                idx = [i for i in range(len(x)) if (i + k) % len(levels) == j]
                if idx:
                    copies[idx, k] = self.patchdiff.renoise(x[idx], t, g, margin=gen.renoise_margin)
                if step:
                    step(k * len(levels) + j + 1)
        return copies

    def add_partials(self, bank: PatternBank, x: torch.Tensor, g: torch.Generator) -> PatternBank:
        """`generation.partials` SDEdit samples of random training images, noise levels drawn from `partial_t`
        (in groups of 8): the source's layout is kept, its local arrangement rewritten."""
        gen = self.config.generation
        if not gen.partials:
            return bank
        source = torch.randint(0, len(x), (gen.partials,), generator=g)
        lo, hi = gen.partial_t
        partials = [self.patchdiff.renoise(x[source[i:i + 8]], int(torch.randint(lo, hi + 1, (1,), generator=g)), g)
                    for i in range(0, gen.partials, 8)]
        return dataclasses.replace(bank, partials=torch.cat(partials), partial_source=source)

    def calibrate(self, val_images: Sequence[np.ndarray], g: torch.Generator | None = None) -> None:
        """The map offset (detector.offset), threshold and score normalisation from held-out normal images only
        (rule: gradad.thresholds), so no test image ever influences the decision; then the fingerprint check (its
        noise from `g`, by default the model's own calibration stream)."""
        x = to_tensor(val_images, self.config.image_size)
        self.fit_map_offset(x)
        scores = [p.score for p in self._predict_raw(x)]
        self.normalization = thresholds.calibration(scores, self.config.false_alarm_rate)
        self.threshold = self.normalization["threshold"]
        g = g or _generator(self.config.seed, "calibration")
        self.info["fingerprint_auroc"] = self.fingerprint_check(val_images, g)
        self.info["fingerprint_images"] = len(val_images)  # with few images the AUROC is coarse
        self.info["fingerprint_draws"] = fingerprint_draws(len(val_images))

    def fit_map_offset(self, x: torch.Tensor) -> None:
        """The map offset (detector.offset) from the maps of held-out normal images `x` (N, 3, S, S); None for "none"."""
        self.map_offset = None
        if self.config.detector.offset != "none":
            maps = np.stack([p.anomaly_map for p in self._predict_raw(x)])
            self.map_offset = map_offset(maps, self.config.detector.offset)

    def fingerprint_check(self, normal_images: Sequence[np.ndarray], g: torch.Generator) -> float | None:
        """AUROC between real normal images and the same images lightly passed through PatchDiff (with the model's
        re-noising margin), each re-noised `fingerprint_draws(n)` times with fresh noise (a finer estimate when
        there are few images).

        Near 0.5 means the detector does not read the generator's low-level fingerprint.
        """
        if self.patchdiff is None or len(normal_images) < 2:
            return None
        x = to_tensor(normal_images, self.config.image_size)
        margin = self.config.generation.renoise_margin
        s_real = [p.score for p in self._predict_raw(x)]
        s_gen = [p.score for _ in range(fingerprint_draws(len(x)))
                 for p in self._predict_raw(self.patchdiff.renoise(x, FINGERPRINT_T, g, margin=margin))]
        return float(roc_auc_score([0] * len(s_real) + [1] * len(s_gen), s_real + s_gen))

    # ---- inference ------------------------------------------------------------------------------
    def predict(self, images: Sequence[np.ndarray], batch_size: int = 16) -> list[Prediction]:
        if self.detector is None:
            raise RuntimeError("the model is not trained; call fit() or GRAD.load()")
        out = []
        for i in range(0, len(images), batch_size):
            out += self._predict_raw(to_tensor(images[i:i + batch_size], self.config.image_size))
        return out

    @torch.inference_mode()
    def _predict_raw(self, x: torch.Tensor) -> list[Prediction]:
        maps, scores = self._inference_graph()(x.to(self.device))
        return to_predictions(maps.cpu().numpy(), scores.cpu().numpy(), self.threshold, self.normalization)

    def _inference_graph(self) -> torch.nn.Module:
        """Detector + post-processing, built once per trained detector and map offset. On a CPU it is the graph `gradad export`
        writes, BatchNorm folded into the convolutions (BENCHMARKS.md: the gain, and AUROC unchanged)."""
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: choose one of {', '.join(PRECISIONS)}")
        key = (self.config.image_size, dataclasses.astuple(self.config.detector), self.device, self.precision)
        if (self._graph is None or self._graph[0] is not self.detector or self._graph[1] is not self.map_offset
                or self._graph[2] != key):
            from gradad.export.graph import BFloat16Graph, inference_graph

            graph = inference_graph(self, fuse=self.device.type == "cpu").to(self.device)
            if self.precision == "bf16":
                graph = BFloat16Graph(graph)
            self._graph = (self.detector, self.map_offset, key, graph)
        return self._graph[3]

    @property
    def image_size(self) -> int:
        """The working resolution every image is resized to (the same attribute as the ONNX backend's)."""
        return self.config.image_size

    def normalize(self, score: float) -> float:
        """The normalised score (0.5 at the threshold); see normalize_score."""
        return normalize_score(score, self.normalization)

    # ---- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path, with_bank: bool = True) -> Path:
        """Write the model folder (gradad.modelfile); `with_bank=False` leaves out the pattern bank."""
        weights = {f"detector.{k}": v for k, v in self.detector.state_dict().items()}
        if self.map_offset is not None:
            weights["calibration.map_offset"] = torch.from_numpy(self.map_offset)
        if self.patchdiff is not None:
            weights.update(self.patchdiff.state_dict())
        bank = self._bank_tensors() if with_bank else None
        meta = {"gradad_version": __version__, "config": self.config.to_dict(), "threshold": self.threshold,
                "normalization": self.normalization, "info": self.info}
        modelfile.save(Path(path), meta, weights, bank)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device | None = None, with_bank: bool = False) -> "GRAD":
        meta, weights, bank = modelfile.load(Path(path), with_bank)
        model = cls(GRADConfig.from_dict(meta["config"]), device)
        detector = {k[9:]: v for k, v in weights.items() if k.startswith("detector.")}
        # one detector, or an Ensemble of one per canvas bank (its weights under members.<k>.)
        members = 1 + max((int(k.split(".")[1]) for k in detector if k.startswith("members.")), default=0)
        model.detector = build(model.config.detector, members).to(model.device).eval()
        model.detector.load_state_dict(detector)
        if "calibration.map_offset" in weights:
            model.map_offset = weights["calibration.map_offset"].float().numpy()
        if any(k.startswith("patchdiff.") for k in weights):
            model.patchdiff = PatchDiff(model.config.patchdiff, model.device)
            model.patchdiff.load_state_dict(weights)
        if bank is not None:
            model.bank = PatternBank.from_tensors(bank)
        model.threshold = meta["threshold"]
        model.normalization = meta["normalization"]
        model.info = meta["info"]
        return model

    def _bank_tensors(self) -> dict[str, torch.Tensor] | None:
        """The bank in half precision: half the float32 size; the rounding is far below 8-bit image quantisation."""
        if self.bank is None:
            return None
        return {k: v.half() if v.is_floating_point() else v for k, v in self.bank.tensors().items()}

    @staticmethod
    def _phase(progress: Progress | None, name: str):
        return (lambda step, total, loss: progress(name, step, total, loss)) if progress else None


def generator_key(c: GRADConfig, copies: bool = True, canvases: bool = True) -> dict:
    """The settings PatchDiff, (with `canvases`) the canvases and (with `copies`) the re-noised copies depend on.
    Partial samples are redrawn on resume, so their settings are not part of it."""
    skip = {"generation": PARTIAL_KEYS + (() if copies else RENOISE_KEYS)}
    if not canvases:
        for section, keys in CANVAS_KEYS:
            skip[section] = skip.get(section, ()) + keys
    return {"image_size": c.image_size, "seed": c.seed,
            **{section: {k: v for k, v in dataclasses.asdict(getattr(c, section)).items() if k not in skip.get(section, ())}
               for section in ("patchdiff", "generation")}}


def fingerprint_draws(n: int) -> int:
    """Re-noised copies per image in the fingerprint check: at least FINGERPRINT_COPIES in all, at most 8 each."""
    return max(1, min(8, -(-FINGERPRINT_COPIES // max(n, 1))))


def normalize_score(score: float, normalization: dict) -> float:
    """Validation median -> 0, threshold -> 0.5, linear and unclipped so rankings survive (gradad.thresholds)."""
    if not normalization:
        return float("nan")
    return thresholds.normalize(score, normalization["median"], normalization["threshold"],
                                thresholds.spread(normalization))


def to_predictions(maps: np.ndarray, scores: np.ndarray, threshold: float | None,
                   normalization: dict) -> list[Prediction]:
    """Records from a batch of maps and scores; shared by every backend so decisions cannot drift apart."""
    return [Prediction(float(s), normalize_score(float(s), normalization),
                       threshold is not None and bool(s > threshold), m) for s, m in zip(scores, maps)]


def _generator(seed: int, phase: str) -> torch.Generator:
    """One random stream per phase, so a resumed or re-run phase draws exactly what it drew the first time."""
    return torch.Generator().manual_seed(seed * 1000 + STREAMS.index(phase))


def retry_generator(seed: int, attempt: int) -> torch.Generator:
    """The random stream (batches; its seed also seeds the initial weights) of a detector's retry `attempt` >= 1."""
    return torch.Generator().manual_seed(seed * 1000 + 900 + attempt)


def bank_generator(seed: int, k: int) -> torch.Generator:
    """The random stream of canvas bank k > 0 (bank 0 draws from the generation stream)."""
    return torch.Generator().manual_seed(seed * 1000 + 500 + k)


def _thin(curve: list[float], points: int = 200) -> list[float]:
    """A loss curve reduced to at most `points` means, small enough for model.json and the report."""
    if len(curve) <= points:
        return [float(v) for v in curve]
    chunks = np.array_split(np.asarray(curve), points)
    return [float(c.mean()) for c in chunks]
