"""A detector trained on canvases drawn again from a cached generator's denoisers, without training PatchDiff.

Generator caches written since session 10 keep every denoiser that drew canvases (the snapshots, the final one), so
the same PatchDiff can draw another bank: other noise (`--draw K`, K > 0: the spread that comes from the draw alone)
or another number of canvases (`--canvases`). `--train` trains the generator into the cache first when it is not there
(with today's code, so it keeps its denoisers). `--draw 0` uses the pipeline's own random stream, the bank a fresh run
with those settings draws. Detector, calibration, evaluation and the JSON written are those of
scripts/bench_accuracy.py.

    python scripts/redraw_bank.py --sets piped/PA_BRG03_TL --cache cache-c96 --canvases 24 --draw 1 --tag draw1-offb
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import draw_streams, load_set  # noqa: E402
from mix_banks import OUT, bank_cli, fit_and_record, pending  # noqa: E402

from gradad.config import profile  # noqa: E402
from gradad.pipeline import CANVAS_KEYS, GRAD  # noqa: E402
from gradad.preprocess import to_tensor  # noqa: E402
from gradad.workflow import read_images  # noqa: E402

COMMAND = "python scripts/redraw_bank.py " + " ".join(sys.argv[1:])


def run(name: str, seed: int, tag: str, cache: str, canvases: int, draw: int, overrides: dict,
        train: bool = False) -> None:
    if not (todo := pending(name, seed, tag)):
        return
    folder, target = todo
    data, groups = load_set(name, OUT)
    cfg = profile("cpu").replace(seed=seed, **{"generation.canvases": canvases, **overrides})
    x = to_tensor(read_images(data.train), cfg.image_size)
    val = read_images(data.val)
    model = GRAD(cfg)
    if train and not (folder / cache / "generator").exists():
        # the cache is made with the default canvas settings (those a draw may change are left out)
        drawing = {f"{section}.{k}" for section, keys in CANVAS_KEYS for k in keys}
        maker = GRAD(profile("cpu").replace(seed=seed, **{k: v for k, v in overrides.items() if k not in drawing}))
        maker.fit_generator(x)
        maker._save_generator(folder / cache)
        print(f"{name} {seed}: generator trained into {folder / cache}", maker.info["timings_s"], flush=True)
    if not model._resume(folder / cache, x) or not model._canvas_nets:
        sys.exit(f"{folder / cache}: no cached generator with its denoisers for these settings")
    t0 = time.perf_counter()
    if draw:  # draw 0: the cached bank, or the one _resume drew again with the pipeline's stream
        model.bank.canvases = model.draw_canvases(draw_streams(seed, draw, cfg.generation.banks))
    model.info["timings_s"] = {"generation": time.perf_counter() - t0}
    bank_record = {"snapshots": list(cfg.generation.snapshots), "canvases": len(model.bank.canvases), "draw": draw,
                   "cache": str((folder / cache).relative_to(OUT))}
    fit_and_record(model, x, val, data, groups, name, seed, target, bank_record,
                   {"generation.canvases": canvases, **overrides}, COMMAND)


def main() -> None:
    a, overrides = bank_cli(
        __doc__, (("--cache",), {"required": True, "help": "a generator cache with its denoisers, in each seed folder"}),
        (("--canvases",), {"type": int, "default": 24}),
        (("--draw",), {"type": int, "default": 0, "help": "0 = the pipeline's own random stream; K > 0 another noise"}),
        (("--train",), {"action": "store_true", "help": "train the generator into --cache first if it is not there"}))
    for name in a.sets:
        for seed in a.seeds:
            run(name, seed, a.tag, a.cache, a.canvases, a.draw, overrides, a.train)


if __name__ == "__main__":
    main()
