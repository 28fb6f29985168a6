"""A detector trained on a cached pattern bank plus more canvases from its final denoiser, without training PatchDiff.

The question: does the detector lack variety in its contrastive patterns? The default draws 24 canvases (8 per
denoiser: two training snapshots and the final one). The benchmark's generator caches keep the final denoiser only,
so this adds `--extra` canvases drawn by the final denoiser (its own random stream) to the cached 24, then trains
the default detector; calibration, evaluation and the JSON written are those of scripts/bench_accuracy.py. The mix
leans to the final denoiser (8 / 8 / 8 + extra), so it answers "more canvases" only approximately.

    python scripts/extra_canvases.py --sets visa/capsules --seeds 0 --extra 72 --tag extra72-offb
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import load_set  # noqa: E402
from mix_banks import OUT, bank_cli, fit_and_record, load_bank, pending  # noqa: E402

from gradad.config import profile  # noqa: E402
from gradad.detector.train import PatternBank  # noqa: E402
from gradad.patchdiff import PatchDiff  # noqa: E402
from gradad.pipeline import GRAD  # noqa: E402
from gradad.preprocess import to_tensor  # noqa: E402
from gradad.workflow import read_images  # noqa: E402

COMMAND = "python scripts/extra_canvases.py " + " ".join(sys.argv[1:])


def run(name: str, seed: int, tag: str, extra: int, cache: str, overrides: dict) -> None:
    if not (todo := pending(name, seed, tag)):
        return
    folder, target = todo
    made, meta, weights, bank, blocks = load_bank(folder / cache)
    data, groups = load_set(name, OUT)
    cfg = profile("cpu").replace(seed=seed, **{"generation.banks": 1, **overrides})  # one detector on one bank
    train, val = read_images(data.train), read_images(data.val)
    x = to_tensor(train, cfg.image_size)
    model = GRAD(cfg)
    model.patchdiff = PatchDiff(made.patchdiff, model.device)
    model.patchdiff.load_state_dict(weights)
    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(seed * 7919 + 17)
    new = torch.cat([model.patchdiff.sample_canvas(min(4, extra - i), cfg.image_size, g,
                                                   margin=cfg.generation.canvas_margin) for i in range(0, extra, 4)])
    generation = time.perf_counter() - t0
    canvases = torch.cat([*blocks, new])
    model.bank = PatternBank(canvases, bank["renoised"].float())
    model.info.update(meta["info"])
    model.info["timings_s"] = {"extra_generation": generation}
    bank_record = {"snapshots": list(made.generation.snapshots), "canvases": len(canvases), "extra_final": extra,
                   "cached_from": str((folder / cache).relative_to(OUT))}
    fit_and_record(model, x, val, data, groups, name, seed, target, bank_record, overrides, COMMAND)


def main() -> None:
    a, overrides = bank_cli(__doc__, (("--extra",), {"type": int, "default": 72,
                                                      "help": "canvases added, drawn by the cached final denoiser"}),
                            (("--cache",), {"default": "generator", "help": "the cached generator's folder in each seed folder"}))
    for name in a.sets:
        for seed in a.seeds:
            run(name, seed, a.tag, a.extra, a.cache, overrides)


if __name__ == "__main__":
    main()
