"""The contrastive-pattern gallery: real normal images beside PatchDiff full canvases and re-noised copies.

Seeing the three side by side is the quickest check of GRAD's premise: canvases should look locally normal but
globally scrambled, and re-noised copies should be near-twins of their real image (column by column, when they
come from the model's cached bank, the copy in a column is of the real image above it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from gradad import modelfile
from gradad.data import DatasetError, Sample, load_category, read_image
from gradad.detector.train import PatternBank
from gradad.preprocess import to_tensor, to_uint8
from gradad.report.plots import new_figure, png_bytes

GALLERY_PNG = "gallery.png"


@dataclass
class Patterns:
    """What the gallery shows, as uint8 HxWx3 images at the model's working size."""

    real: list[np.ndarray] = field(default_factory=list)
    canvases: list[np.ndarray] = field(default_factory=list)
    renoised: list[np.ndarray] = field(default_factory=list)
    renoise_t: list[int] = field(default_factory=list)  # noise level of each re-noised copy
    source: str = "none"  # "bank" (cached at training time), "sampled" (fresh from PatchDiff) or "none"


def model_folder(path: Path) -> Path:
    """The model folder of a run folder (`<run>/model`), or the path itself."""
    from gradad.workflow import MODEL_DIR  # lazily: the workflow calls the report

    path = Path(path)
    return path / MODEL_DIR if (path / MODEL_DIR).is_dir() else path


def load_bank(model_dir: Path) -> PatternBank | None:
    """The pattern bank cached beside a saved model, without reloading its weights; None when absent."""
    path = Path(model_dir) / modelfile.BANK
    if not path.is_file():
        return None
    try:
        bank = load_file(path)
    except Exception as err:  # safetensors raises several types for truncated or foreign files
        raise modelfile.ModelFileError(f"{path}: cannot read the pattern bank ({err})") from None
    return PatternBank.from_tensors(bank)


def training_samples(model) -> list[Sample]:
    """The model's normal training images, found again from the data set recorded at training time ([] if gone)."""
    data = model.info.get("data") or {}
    try:
        return list(load_category(data["root"], data.get("category"), data.get("dataset", "auto")).train)
    except (KeyError, TypeError, DatasetError, OSError):
        return []


def _pick(count: int, n: int, rng: np.random.Generator) -> list[int]:
    return list(range(count)) if count <= n else sorted(rng.choice(count, n, replace=False).tolist())


def _working(images: Sequence[np.ndarray], size: int) -> list[np.ndarray]:
    return list(to_uint8(to_tensor(images, size))) if len(images) else []


def collect_patterns(model, n: int = 16, seed: int = 0, samples: Sequence[Sample] | None = None,
                     bank: PatternBank | None = None) -> Patterns:
    """Up to n of each row, from the bank (default model.bank) when there is one, else sampled fresh from
    model.patchdiff. samples are the model's training images in training order (default: found again via
    model.info["data"]); they give the real row and, without a bank, the images to re-noise.
    """
    samples = list(training_samples(model) if samples is None else samples)
    size, gen = model.config.image_size, model.config.generation
    rng, g = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    bank = model.bank if bank is None else bank
    levels = list(gen.renoise_t)
    out = Patterns()
    if bank is not None:
        idx = _pick(len(bank.renoised), n, rng)
        if len(samples) == len(bank.renoised):
            out.real = _working([read_image(samples[i].path) for i in idx], size)
        else:
            out.real = _working([read_image(s.path) for s in samples[:n]], size)
        out.canvases = list(to_uint8(bank.canvases[_pick(len(bank.canvases), n, rng)]))
        copies = bank.renoised.shape[1]
        out.renoised = list(to_uint8(torch.stack([bank.renoised[i, j % copies] for j, i in enumerate(idx)])))
        out.renoise_t = [levels[(j % copies) % len(levels)] for j in range(len(idx))]
        out.source = "bank"
    elif model.patchdiff is not None:
        picked = [samples[i] for i in _pick(len(samples), n, rng)]
        out.real = _working([read_image(s.path) for s in picked], size)
        out.canvases = list(to_uint8(model.patchdiff.sample_canvas(n, size, g, margin=model.config.generation.canvas_margin)))
        out.renoise_t = [levels[j % len(levels)] for j in range(len(out.real))]
        x = to_tensor(out.real, size) if out.real else None
        out.renoised = [to_uint8(model.patchdiff.renoise(x[j:j + 1], t, g))[0] for j, t in enumerate(out.renoise_t)]
        out.source = "sampled"
    return out


def gallery_png(patterns: Patterns) -> bytes:
    """The three labelled rows as one PNG (a row without images says so instead of disappearing)."""
    rows = [("real normal\nimages", patterns.real, []),
            ("PatchDiff\nfull canvases", patterns.canvases, []),
            ("re-noised\ncopies", patterns.renoised, [f"t={t}" for t in patterns.renoise_t])]
    cols = max(1, *(len(r[1]) for r in rows))
    tile = 1.15 if cols <= 16 else 18.0 / cols  # inches
    left, step, title = 1.3, tile * 1.05, 0.22
    width, height = left + cols * step + 0.05, 3 * (tile + title) + 0.05
    fig = new_figure(width, height, layout=None)
    for r, (label, images, titles) in enumerate(rows):
        bottom = height - (r + 1) * (tile + title)
        for c in range(max(1, len(images))):
            ax = fig.add_axes(((left + c * step) / width, bottom / height, tile / width, tile / height))
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if not images:
                ax.text(0.02, 0.5, "not available", fontsize=9, color="#888888", va="center")
                continue
            ax.imshow(images[c])
            if c < len(titles):
                ax.set_title(titles[c], fontsize=8, pad=2)
        fig.text((left - 0.12) / width, (bottom + tile / 2) / height, label, ha="right", va="center", fontsize=10)
    return png_bytes(fig)


def write_gallery(model, out_dir: Path, n: int = 16, seed: int = 0, samples: Sequence[Sample] | None = None) -> Path:
    """Write out_dir/gallery.png plus each canvas and re-noised copy as its own PNG; return the gallery's path."""
    out = Path(out_dir)
    patterns = collect_patterns(model, n, seed, samples)
    for sub, images, names in (
        ("canvases", patterns.canvases, [f"{i:03d}" for i in range(len(patterns.canvases))]),
        ("renoised", patterns.renoised, [f"{i:03d}_t{t}" for i, t in enumerate(patterns.renoise_t)]),
    ):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for image, name in zip(images, names):
            Image.fromarray(image).save(out / sub / f"{name}.png")
    path = out / GALLERY_PNG
    path.write_bytes(gallery_png(patterns))
    return path
