"""Accuracy of the optimised inference paths: image and pixel AUROC of each backend against the unoptimised model.

For every trained model kept by `bench_accuracy.py --save-models` (runs/bench_accuracy/<set>/seed<k>/<variant>.model),
the whole test set of its data set runs through each inference path below, and the table in BENCHMARKS.md (between
the parity markers) reports the AUROC differences to the reference, the largest map difference and how many
decisions changed. Never run by tests.

- reference:            eager PyTorch, fp32, BatchNorm as trained (the unoptimised model)
- torch bn-fused:       BatchNorm folded into the convolutions (what GRAD.predict runs on a CPU)
- onnxruntime:          the `gradad export --format onnx` file
- torch-bf16 (opt-in):  bn-fused, channels_last, autocast to bfloat16 (`gradad predict --backend torch-bf16`)
- onnxruntime int8:     the ONNX file statically quantised (QDQ, per channel) on 32 training images

    python scripts/bench_parity.py
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from gradad.evaluation import evaluate_category
from gradad.export import OnnxBackend, export_onnx, inference_graph
from gradad.pipeline import GRAD
from gradad.preprocess import to_tensor
from gradad.workflow import read_images

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import quantize_int8  # noqa: E402
from bench_accuracy import load_set, record  # noqa: E402
from benchlib import machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- parity:start -->", "<!-- parity:end -->"
TOLERANCE = 0.002  # the issue's bound on AUROC lost by speed work


def torch_path(model: GRAD, fuse: bool, precision: str = "fp32"):
    """reference (fuse=False): the detector as trained, eager; otherwise the graph GRAD.predict runs."""
    if fuse:
        model.precision = precision
        graph = model._inference_graph()
    else:
        graph = inference_graph(model, fuse=False)

    def run(x: np.ndarray):
        with torch.inference_mode():
            maps, scores = graph(torch.from_numpy(x))
        return maps.numpy(), scores.numpy()
    return run


def onnx_paths(model: GRAD, calibration: np.ndarray, folder: Path):
    fp32 = export_onnx(model, folder / "model.onnx")
    int8 = folder / "model.int8.onnx"
    quantize_int8(fp32, int8, calibration)
    return OnnxBackend(fp32).run, OnnxBackend(int8).run


def compare(model_dir: Path, threads: int) -> dict:
    result = json.loads(record(model_dir.parent, model_dir.stem).read_text())
    name = result["set"]
    data, groups = load_set(name, model_dir.parents[2])
    model = GRAD.load(model_dir, device="cpu")
    size = model.config.image_size
    x = to_tensor(read_images(data.test), size).numpy()
    calibration = to_tensor(read_images(data.train[:32]), size).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        onnx_fp32, onnx_int8 = onnx_paths(model, calibration, Path(tmp))
        paths = {"reference": torch_path(model, fuse=False), "torch bn-fused": torch_path(model, fuse=True),
                 "onnxruntime": onnx_fp32, "torch-bf16 (opt-in)": torch_path(model, fuse=True, precision="bf16"),
                 "onnxruntime int8": onnx_int8}
        outputs = {}
        for label, run in paths.items():
            torch.set_num_threads(threads)
            maps, scores = zip(*(run(x[i:i + 16]) for i in range(0, len(x), 16)))
            outputs[label] = np.concatenate(maps), np.concatenate(scores)
    ref_maps, ref_scores = outputs["reference"]
    ref = evaluate_category(data, list(ref_scores), list(ref_maps), type_groups=groups)
    rows = []
    for label, (maps, scores) in outputs.items():
        r = ref if label == "reference" else evaluate_category(data, list(scores), list(maps), type_groups=groups)
        rows.append({"path": label, "image_auroc": r["image_auroc"], "pixel_auroc": r["pixel_auroc"],
                     "d_image": abs(r["image_auroc"] - ref["image_auroc"]),
                     "d_pixel": None if r["pixel_auroc"] is None else abs(r["pixel_auroc"] - ref["pixel_auroc"]),
                     "max_map_diff": float(np.abs(maps - ref_maps).max()),
                     "decisions_changed": int(((scores > model.threshold) != (ref_scores > model.threshold)).sum())})
    return {"set": name, "model": str(model_dir.relative_to(model_dir.parents[2])), "num_test": len(x), "threads": threads,
            "image_size": size, "rows": rows}


def table(results: list[dict]) -> str:
    lines = ["| set (model) | inference path | image AUROC | pixel AUROC | Δ image | Δ pixel | max map Δ | decisions changed | within 0.002 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        for r in res["rows"]:
            ok = r["d_image"] <= TOLERANCE and (r["d_pixel"] is None or r["d_pixel"] <= TOLERANCE)
            pix = "–" if r["pixel_auroc"] is None else f"{r['pixel_auroc']:.4f}"
            dpix = "–" if r["d_pixel"] is None else f"{r['d_pixel']:.4f}"
            lines.append(f"| {res['model']} | {r['path']} | {r['image_auroc']:.4f} | {pix} | {r['d_image']:.4f} | "
                         f"{dpix} | {r['max_map_diff']:.1e} | {r['decisions_changed']}/{res['num_test']} | "
                         f"{'yes' if ok else '**no**'} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=Path, nargs="*", help="model folders; default: every *.model under --runs")
    p.add_argument("--runs", type=Path, default=REPO / "runs" / "bench_accuracy")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=REPO / "runs" / "bench_parity.json")
    p.add_argument("--markdown", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--table-only", action="store_true", help="rewrite the markdown section from --out, measure nothing")
    a = p.parse_args()
    models = [] if a.table_only else a.models or sorted(a.runs.glob("*/seed*/*.model"))
    if not models and not a.table_only:
        sys.exit(f"no trained models under {a.runs}: run scripts/bench_accuracy.py --save-models first")
    # results of models not measured this time are kept while their model folder exists (e.g. --models NEW...)
    kept = json.loads(a.out.read_text()) if a.out.exists() else []
    measured = {str(m.resolve().relative_to(m.resolve().parents[2])) for m in models}
    results = [r for r in kept if r["model"] not in measured and (a.runs / r["model"]).is_dir()]
    for m in models:
        results.append(compare(m, a.threads))
        print(table(results[-1:]), flush=True)
    results.sort(key=lambda r: r["model"])
    a.out.write_text(json.dumps(results, indent=1))
    body = (f"{START}\n_Regenerated by `python scripts/bench_parity.py` on {datetime.date.today()}; machine: "
            f"{machine()['cpu']}; torch threads {', '.join(sorted({str(r.get('threads', '?')) for r in results}))} (`--models` adds to the kept results); every test image of each set at the model's working size; "
            f"do not edit by hand._\n\n{table(results)}\n{END}")
    text = a.markdown.read_text() if a.markdown.exists() else "# Benchmarks\n"
    if START in text:
        text = text[:text.index(START)] + body + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Accuracy of the optimised inference paths\n\n" + body + "\n"
    a.markdown.write_text(text)


if __name__ == "__main__":
    main()
