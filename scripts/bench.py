"""`make bench`: inference latency, throughput, size, FLOPs and peak memory of gradad's backends, and of anomalib peers.

Every backend runs in its own interpreter (peak RSS per backend), on the same pre-processed images, with the same
thread count. Writes runs/bench/bench.json and regenerates the marked section of BENCHMARKS.md; never run by tests.
Peers (EfficientAD-S, PatchCore) run in the separate .venv-bench interpreter (`make bench-env`), never in the product's.
"""
from __future__ import annotations

import argparse
import datetime
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine, measure, peak_rss_mb, run_worker  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
PEER_PYTHON = REPO / ".venv-bench" / "bin" / "python"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
VARIANTS = ("torch eager", "torch channels_last", "torch bn-fused", "torch bn-fused channels_last",
            "torch bn-fused channels_last bf16", "torchscript bn-fused", "onnxruntime", "onnxruntime int8")
PEERS = ("EfficientAD-S", "PatchCore wide_resnet50_2")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, help="a trained model (run or model folder); default: untrained weights")
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 128], help="working sizes; the first is the headline")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--images", type=int, default=16, help="images measured; also the throughput batch size")
    p.add_argument("--runs", type=int, default=100, help="batch-1 latency samples per backend")
    p.add_argument("--batch-runs", type=int, default=10, help="batch throughput samples per backend")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "bench")
    p.add_argument("--markdown", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--no-peers", action="store_true", help="skip anomalib peers even when .venv-bench exists")
    p.add_argument("--render-only", action="store_true", help="rewrite BENCHMARKS.md from OUT/bench.json, measure nothing")
    p.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    return p.parse_args()


# ---- one backend, in its own process ------------------------------------------------------------------------------
def worker(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    from gradad.export import OnnxBackend, inference_graph
    from gradad.export.graph import BFloat16Graph
    from gradad.pipeline import GRAD

    base = peak_rss_mb()
    x = torch.from_numpy(np.load(args.inputs))
    n = len(x)
    if args.worker.startswith("onnxruntime"):
        file = "model.int8.onnx" if args.worker.endswith("int8") else "model.onnx"
        backend = OnnxBackend(args.model_dir / file, threads=args.threads)
        xs = x.numpy()
        return {**measure(backend.run, lambda i: xs[i % n:i % n + 1], xs, n, args.runs, args.batch_runs),
                "rss_after_imports_mb": base, "peak_rss_mb": peak_rss_mb()}
    if args.worker.startswith("torchscript"):
        graph = torch.jit.load(str(args.model_dir / "model.torchscript.pt"), map_location="cpu")
    else:
        graph = inference_graph(GRAD.load(args.model_dir, device="cpu"), fuse="bn-fused" in args.worker)
    layout = torch.channels_last if "channels_last" in args.worker else torch.contiguous_format
    graph = graph.to(memory_format=layout) if layout is torch.channels_last else graph

    if args.worker.endswith("bf16"):
        graph = BFloat16Graph(graph)  # what `gradad predict --backend torch-bf16` runs

    def run(t: torch.Tensor):
        with torch.inference_mode():
            return graph(t.contiguous(memory_format=layout))

    return {**measure(run, lambda i: x[i % n:i % n + 1], x, n, args.runs, args.batch_runs),
            "rss_after_imports_mb": base, "peak_rss_mb": peak_rss_mb()}


# ---- orchestration -------------------------------------------------------------------------------------------------
def load_images(count: int) -> tuple[list[np.ndarray], str]:
    """Real photographs when ../shared/data is present (speed does not depend on content, but sizes do)."""
    from gradad.data import read_image

    paths = sorted((SHARED / "mvtec_ad" / "bottle" / "test").glob("*/*.png"))
    if len(paths) >= count:
        step = len(paths) // count
        return [read_image(p) for p in paths[::step][:count]], \
            f"{count} MVTec AD bottle test images (downsampled copy, 512x512)"
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (512, 512, 3), dtype=np.uint8) for _ in range(count)], \
        f"{count} random 512x512 images (../shared/data not found)"


def build_model(args: argparse.Namespace, size: int):
    """The model measured at `size`: the trained one given by --model, else the cpu profile with untrained weights."""
    import torch

    from gradad.config import profile
    from gradad.detector.network import build
    from gradad.pipeline import GRAD
    from gradad.workflow import load_model

    if args.model:
        model, _ = load_model(args.model)
        model.config = model.config.replace(image_size=size)
        model.patchdiff = model.bank = None
        return model
    torch.manual_seed(0)
    model = GRAD(profile("cpu").replace(image_size=size), device="cpu")
    model.detector = build(model.config.detector, model.config.generation.banks).eval()
    return model


def gradad_rows(args: argparse.Namespace, images: list[np.ndarray], size: int) -> tuple[list[dict], float]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from gradad.export import export_onnx, export_torchscript, inference_graph
    from gradad.preprocess import to_tensor

    model = build_model(args, size)
    folder = args.out / "models" / str(size)
    model.save(folder)
    export_onnx(model, folder / "model.onnx")
    export_torchscript(model, folder / "model.torchscript.pt")
    x = to_tensor(images, size)
    quantize_int8(folder / "model.onnx", folder / "model.int8.onnx", x.numpy())
    inputs = args.out / f"inputs_{size}.npy"
    np.save(inputs, x.numpy())

    pre = []
    for i in range(20):
        t0 = time.perf_counter()
        to_tensor(images[i % len(images):i % len(images) + 1], size)
        pre.append(time.perf_counter() - t0)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        inference_graph(model, fuse=False)(x[:1])
    params = sum(p.numel() for p in model.detector.parameters())
    sizes = {"torch": folder / "model.safetensors", "torchscript": folder / "model.torchscript.pt",
             "onnxruntime": folder / "model.onnx", "onnxruntime int8": folder / "model.int8.onnx"}
    rows = []
    for variant in VARIANTS:
        print(f"  gradad {variant} @ {size}", file=sys.stderr, flush=True)
        result = run_worker([sys.executable, __file__, "--worker", variant, "--model-dir", str(folder),
                             "--inputs", str(inputs), "--threads", str(args.threads), "--runs", str(args.runs),
                             "--batch-runs", str(args.batch_runs)])
        file = sizes.get(variant, sizes[variant.split()[0]])
        rows.append({"model": "gradad", "backend": variant, "size": size, "params": params,
                     "gflops": counter.get_total_flops() / 1e9, "file_mb": file.stat().st_size / 2 ** 20,
                     "status": "measured", **result})
    return rows, 1000 * statistics.median(pre)


def quantize_int8(fp32: Path, int8: Path, calibration: np.ndarray) -> None:
    """Static int8 quantisation of the convolutions (QDQ, per-channel weights), calibrated on the bench images."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"images": calibration[i:i + 1]} for i in range(len(calibration))])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(fp32), str(int8), Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def peer_rows(args: argparse.Namespace, size: int) -> list[dict]:
    if args.no_peers:
        return [{"model": p, "size": size, "status": "not measured (--no-peers)"} for p in PEERS]
    if not PEER_PYTHON.exists():
        return [{"model": p, "size": size, "status": "not measured (run make bench-env)"} for p in PEERS]
    print(f"  peers @ {size} ({PEER_PYTHON})", file=sys.stderr, flush=True)
    result = run_worker([str(PEER_PYTHON), str(Path(__file__).with_name("bench_peers.py")),
                         "--inputs", str(args.out / f"inputs_{size}.npy"), "--threads", str(args.threads),
                         "--runs", str(args.runs), "--batch-runs", str(args.batch_runs)], timeout=7200)
    if "rows" not in result:
        return [{"model": p, "size": size, "status": result.get("status", "failed")} for p in PEERS]
    return result["rows"]


def headline(rows: list[dict], size: int) -> list[str]:
    """peer / gradad ratios at the headline size: against gradad's best backend, and against its torch eager row
    (the peers run in torch eager, so that pair compares models, not runtimes)."""
    ours = [r for r in rows if r["model"] == "gradad" and r["size"] == size and "latency_ms_median" in r]
    lines = []
    for r in rows:
        if r["model"] == "gradad" or r["size"] != size or "latency_ms_median" not in r or not ours:
            continue
        for label, pool in (("best backend", ours), ("torch eager", [o for o in ours if o["backend"] == "torch eager"])):
            if not pool:
                continue
            lat = {k: r[k] / min(o[k] for o in pool) for k in ("latency_ms_median", "latency_ms_min")}
            thr = {k: max(o[k] for o in pool) / r[k] for k in ("throughput_img_s", "throughput_img_s_best")}
            lines.append(f"{r['model']} / gradad ({label}) at {size}x{size}: batch-1 latency "
                         f"x{lat['latency_ms_median']:.0f} (fastest runs x{lat['latency_ms_min']:.0f}), batch "
                         f"throughput x{thr['throughput_img_s']:.0f} (x{thr['throughput_img_s_best']:.0f})")
    return lines


def markdown(report: dict) -> str:
    m = report["machine"]
    out = [f"_Generated by `{report['command']}` on {report['date']}; do not edit by hand._", "",
           f"- Machine: {m['cpu']}, {m['cores']} cores visible, {report['threads']} threads per backend "
           f"(torch.set_num_threads, onnxruntime intra_op_num_threads); 1-min load average {m['load_avg_1m']:.2f} "
           f"at start, {report['load_avg_end']:.2f} at end (other processes may share the CPUs).",
           f"- Versions: {report['versions']}.",
           f"- Input: {report['images']}, pre-processed once with `gradad.preprocess.to_tensor`; times cover detector + "
           "post-processing (map and score); pre-processing of one 512x512 image takes "
           + ", ".join(f"{v:.1f} ms at {k}" for k, v in report["preprocess_ms"].items()) + ".",
           f"- Weights: {report['weights']}.",
           "- Latency: batch 1 after warm-up, median (fastest run; the better guide when the CPUs are shared); "
           f"throughput: batch {report['batch_size']}, from the median (fastest) batch time; load: 1-min load "
           "average when the row finished. Peak RSS: VmHWM of the backend's own process (includes the interpreter "
           "and torch; the onnxruntime row imports torch for to_tensor). FLOPs: torch.utils.flop_counter "
           "(convolutions and matrix products, 2 per multiply-add).", "",
           "| model | backend | input | params | GFLOPs/img | file MB | latency ms b=1 | throughput img/s "
           "| peak RSS MB | load |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["rows"]:
        if "latency_ms_median" not in r:
            out.append(f"| {r['model']} | {r.get('backend', '-')} | {r['size']} | | | | {r['status']} | | | |")
            continue
        out.append(f"| {r['model']} | {r['backend']} | {r['size']} | {r['params'] / 1e6:.2f} M | {r['gflops']:.2f} | "
                   f"{r['file_mb']:.1f} | {r['latency_ms_median']:.1f} ({r['latency_ms_min']:.1f}) | "
                   f"{r['throughput_img_s']:.1f} ({r['throughput_img_s_best']:.1f}) | {r['peak_rss_mb']:.0f} | "
                   f"{r['load_avg_1m']:.1f} |")
    if report["headline"]:
        out += [""] + [f"**{line}**" for line in report["headline"]]
    for note in report.get("notes", []):
        out += ["", f"Note: {note}"]
    return "\n".join(out)


def write_markdown(path: Path, section: str) -> None:
    """Replace what lies between the markers (the file is created with a title and the markers if missing)."""
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text = text.rstrip() + f"\n\n{START}\n{END}\n"
    text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: f"{START}\n{section}\n{END}", text,
                  flags=re.S)
    path.write_text(text)


def main() -> None:
    args = parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if args.render_only:
        report = json.loads((args.out / "bench.json").read_text())
        report["headline"] = headline(report["rows"], report["rows"][0]["size"])
        (args.out / "bench.json").write_text(json.dumps(report, indent=2))
        write_markdown(args.markdown, markdown(report))
        print(markdown(report))
        return
    import onnxruntime
    import torch

    from gradad import __version__
    from gradad.config import profile

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    info = machine()
    images, described = load_images(args.images)
    rows, pre = [], {}
    for size in args.sizes:
        ours, pre[size] = gradad_rows(args, images, size)
        rows += ours
        if size == args.sizes[0]:
            rows += peer_rows(args, size)
    notes = [] if args.model else ["untrained gradad weights: speed does not depend on weight values."]
    cpu = profile("cpu")
    report = {
        "date": datetime.date.today().isoformat(), "machine": info, "threads": args.threads,
        "command": "python scripts/bench.py" + "".join(f" {a}" for a in sys.argv[1:]),
        "versions": f"gradad {__version__}, torch {torch.__version__}, onnxruntime {onnxruntime.__version__}",
        "images": described, "batch_size": args.images, "preprocess_ms": pre,
        "weights": f"trained model {args.model}" if args.model else
        f"untrained (the cpu profile's default: {cpu.generation.banks} detectors of width {cpu.detector.width}, "
        f"their logits averaged in one graph)",
        "rows": rows, "headline": headline(rows, args.sizes[0]), "load_avg_end": machine()["load_avg_1m"],
        "notes": notes,
    }
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    write_markdown(args.markdown, markdown(report))
    print(markdown(report))
    print(f"\nwritten: {args.out / 'bench.json'}, {args.markdown}", file=sys.stderr)


if __name__ == "__main__":
    main()
