"""PatchDiff training as the benchmark runs it (seed 0, its random streams, 1 thread) on one shared set, printing loss,
seconds per step and weight magnitudes every 25 steps: shows whether and when a denoiser collapses (BENCHMARKS.md,
session 8). Usage: python scripts/patchdiff_trace.py SET STEPS  (SET under ../shared/data, e.g. magnetic_tile/tile)."""
import sys, time
from pathlib import Path
import torch
from gradad.config import profile
from gradad.data import load_category
from gradad.patchdiff import PatchDiff
from gradad.pipeline import _generator
from gradad.preprocess import to_tensor
from gradad.workflow import read_images
torch.set_num_threads(1)
name, stop = sys.argv[1], int(sys.argv[2])
data = load_category(Path("../shared/data") / name)
x = to_tensor(read_images(data.train), 128)
torch.manual_seed(0)
pd = PatchDiff(profile("cpu").patchdiff)
last = [time.perf_counter()]
def prog(step, total, loss):
    if step % 25 == 0:
        now = time.perf_counter()
        big = max((n, float(p.abs().max())) for n, p in pd.net.named_parameters())
        tiny = sum(int(((p.abs() < 1.2e-38) & (p != 0)).sum()) for p in pd.net.parameters())
        print(step, f"{(now - last[0]) / 25:.2f} s/step loss {loss:.4f} max|w| {max(float(p.abs().max()) for p in pd.net.parameters()):.3f}",
              f"denormal w {tiny}", flush=True)
        last[0] = now
        if step >= stop:
            raise SystemExit
pd.fit(x, _generator(0, "patchdiff"), progress=prog, snapshots=(0.25, 0.5))
print("rf", pd.receptive_field(128))
