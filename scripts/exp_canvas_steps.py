"""Experiment: do sharper canvases help? The final denoiser's share of a cached bank is drawn again with more DDIM
steps (sharper samples), the detector retrained on it and evaluated. Needs the generator cache that
`bench_accuracy.py` keeps; writes runs/bench_accuracy/<set>/seed<k>/exp-canvas<steps>.result (JSON) and prints it.
Result: BENCHMARKS.md, "What these numbers say".

    python scripts/exp_canvas_steps.py piped/PA_BRG01_RL 0 100 [KEY=VALUE config overrides, e.g. detector.ema=0]
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_accuracy as bench  # noqa: E402

from gradad.config import profile  # noqa: E402
from gradad.evaluation import evaluate_category  # noqa: E402
from gradad.pipeline import GRAD  # noqa: E402
from gradad.preprocess import to_tensor  # noqa: E402
from gradad.workflow import predict_samples, read_images  # noqa: E402


def main() -> None:
    name, seed, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out = bench.REPO / "runs" / "bench_accuracy"
    data, groups = bench.load_set(name, out)
    overrides = {k: json.loads(v) for k, v in (a.split("=", 1) for a in sys.argv[4:])}
    cfg = profile("cpu").replace(seed=seed, **{"generation.banks": 1, **overrides})  # one detector on one bank
    folder = out / name.replace("/", "__") / f"seed{seed}"
    x = to_tensor(read_images(data.train), cfg.image_size)
    model = GRAD(cfg)
    if not model._resume(folder, x):
        sys.exit(f"no generator cache with the default settings in {folder}")
    share = len(model.bank.canvases) // (len(cfg.generation.snapshots) + 1)  # the last share: the final denoiser's
    t0 = time.perf_counter()
    configured = model.patchdiff.cfg.sample_steps  # the same object as cfg.patchdiff
    model.patchdiff.cfg.sample_steps = steps
    model.bank.canvases[-share:] = model.patchdiff.sample_canvas(share, cfg.image_size,
                                                                 torch.Generator().manual_seed(1000 * seed + 77), batch=4)
    resample_s = time.perf_counter() - t0
    model.patchdiff.cfg.sample_steps = configured  # the fingerprint check re-noises as configured
    model.fit_detector(x, read_images(data.val))
    preds, ms = predict_samples(model, data.test)
    r = evaluate_category(data, [p.score for p in preds], [p.anomaly_map for p in preds], type_groups=groups)
    result = {k: r.get(k) for k in bench.KEYS} | {
        "per_type_auroc": r["per_type_auroc"], "fingerprint_auroc": model.info["fingerprint_auroc"],
        "timings_s": model.info["timings_s"], "resample_s": resample_s, "inference_ms_per_image": ms}
    print(name, seed, f"canvas{steps}", {k: round(v, 3) for k, v in result.items() if isinstance(v, float)}, flush=True)
    (folder / f"exp-canvas{steps}.result").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
