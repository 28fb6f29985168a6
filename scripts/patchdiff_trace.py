"""PatchDiff training as the benchmark runs it (GRAD.fit_generator: seed 0, its random streams; 1 thread) on one shared
set, printing loss, seconds per step and weight magnitudes every 25 steps: shows whether and when a denoiser collapses
(BENCHMARKS.md, session 8). Usage: python scripts/patchdiff_trace.py SET STEPS  (SET under ../shared/data, e.g.
magnetic_tile/tile) [KEY=VALUE ...]  (config overrides as --set takes them, e.g. 'patchdiff.prediction="v"'); stops
after STEPS steps, or when PatchDiff's training ends, before the bank is drawn."""
import json
import sys
import time
from pathlib import Path

import torch

from gradad.config import profile
from gradad.data import load_category
from gradad.pipeline import GRAD
from gradad.preprocess import to_tensor
from gradad.workflow import read_images

torch.set_num_threads(1)
name, stop = sys.argv[1], int(sys.argv[2])
overrides = {k: json.loads(v) for k, v in (a.split("=", 1) for a in sys.argv[3:])}
x = to_tensor(read_images(load_category(Path("../shared/data") / name).train), 128)
model = GRAD(profile("cpu").replace(**overrides), device="cpu")
last = [time.perf_counter()]


def progress(phase: str, step: int, total: int, loss: float) -> None:
    if phase != "patchdiff":
        print("rf", model.info["receptive_field"], "restores", model.info["patchdiff_restores"], flush=True)
        raise SystemExit
    if step % 25 == 0:
        params = [p.detach() for p in model.patchdiff.net.parameters()]
        tiny = sum(int(((p.abs() < 1.2e-38) & (p != 0)).sum()) for p in params)
        now = time.perf_counter()
        print(step, f"{(now - last[0]) / 25:.2f} s/step loss {loss:.4f} max|w| {max(float(p.abs().max()) for p in params):.3f}",
              f"denormal w {tiny}", flush=True)
        last[0] = now
        if step >= stop:
            raise SystemExit


model.fit_generator(x, progress)
