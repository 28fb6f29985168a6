"""Speed, size and memory of anomalib's EfficientAD-S and PatchCore (untrained weights); prints one JSON line.

Runs only in .venv-bench (`make bench-env`), never in gradad's venv: anomalib pins its own torch. Called by bench.py
with the same pre-processed images (gradad's [-1, 1] tensors, mapped back to [0, 1] as anomalib expects).
PatchCore's memory bank is random, sized like a 10% coreset of `--bank-images` training images: the nearest
neighbour search costs the same for any values.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import measure, peak_rss_mb, run_worker  # noqa: E402

PEERS = ("EfficientAD-S", "PatchCore wide_resnet50_2")


def build(name: str, size: int, bank_images: int):
    import torch

    if name == "EfficientAD-S":
        from anomalib.models.image.efficient_ad.torch_model import EfficientAdModel, EfficientAdModelSize

        return EfficientAdModel(teacher_out_channels=384, model_size=EfficientAdModelSize.S).eval()
    from anomalib.models.image.patchcore.torch_model import PatchcoreModel

    model = PatchcoreModel(layers=["layer2", "layer3"], backbone="wide_resnet50_2", pre_trained=False,
                           num_neighbors=9).eval()
    dim = sum(model.feature_extractor.out_dims)
    patches = (size // 8) ** 2  # layer2 stride 8
    model.memory_bank = torch.randn(int(0.1 * bank_images * patches), dim)
    return model


def worker(args: argparse.Namespace) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    torch.set_num_threads(args.threads)
    base = peak_rss_mb()
    x = (torch.from_numpy(np.load(args.inputs)) + 1) / 2
    n, size = len(x), x.shape[-1]
    model = build(args.worker, size, args.bank_images)

    def run(t: torch.Tensor):
        with torch.inference_mode():
            return model(t)

    result = measure(run, lambda i: x[i % n:i % n + 1], x, n, args.runs, args.batch_runs)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x[:1])
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    import anomalib

    return {"model": args.worker, "backend": f"torch eager (anomalib {anomalib.__version__}, torch {torch.__version__})",
            "size": size, "params": sum(p.numel() for p in model.parameters()),
            "gflops": counter.get_total_flops() / 1e9, "file_mb": buf.tell() / 2 ** 20, "status": "measured",
            **result, "rss_after_imports_mb": base, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--inputs", type=Path, required=True, help=".npy of (N, 3, S, S) float32 in [-1, 1]")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--batch-runs", type=int, default=10)
    p.add_argument("--bank-images", type=int, default=200, help="training images the PatchCore bank stands for")
    p.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    rows = []
    for name in PEERS:
        print(f"  {name}", file=sys.stderr, flush=True)
        row = run_worker([sys.executable, __file__, "--worker", name, "--inputs", str(args.inputs),
                          "--threads", str(args.threads), "--runs", str(args.runs),
                          "--batch-runs", str(args.batch_runs), "--bank-images", str(args.bank_images)])
        rows.append(row if "model" in row else {"model": name, "size": int(np.load(args.inputs, mmap_mode="r").shape[-1]),
                                                **row})
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
