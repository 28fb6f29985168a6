"""Batch-1 latency of the inference graph with and without the detector's position channels (untrained weights).

Torch (BatchNorm folded) and onnxruntime, 2 threads, median of 100 runs, at 256 and 128 px.
"""
import tempfile
import time

import numpy as np
import onnxruntime as ort
import torch

from gradad.config import profile
from gradad.detector.network import Detector
from gradad.export import inference_graph
from gradad.pipeline import GRAD


def median_ms(run, runs: int = 100) -> float:
    for _ in range(10):
        run()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3


def main() -> None:
    torch.set_num_threads(2)
    for size in (256, 128):
        for coords in (False, True):
            torch.manual_seed(0)
            model = GRAD(profile("cpu").replace(**{"image_size": size, "detector.coords": coords}), device="cpu")
            model.detector = Detector.from_config(model.config.detector).eval()
            graph = inference_graph(model)
            x = torch.randn(1, 3, size, size)
            with torch.inference_mode():
                eager = median_ms(lambda: graph(x))
            path = tempfile.mktemp(suffix=".onnx")
            torch.onnx.export(graph, (x,), path, input_names=["x"], dynamo=False)
            options = ort.SessionOptions()
            options.intra_op_num_threads = 2
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            onnx = median_ms(lambda: session.run(None, {"x": x.numpy()}))
            print(size, "coords" if coords else "no coords", f"torch bn-fused {eager:.2f} ms, onnxruntime {onnx:.2f} ms")


if __name__ == "__main__":
    main()
