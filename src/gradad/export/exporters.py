"""Write a trained GRAD as one self-describing file (ONNX or TorchScript) holding detector + post-processing.

The file takes the output of gradad.preprocess.to_tensor and returns (maps, scores); the threshold, the score
normalisation and the pre-processing rule travel inside it (ONNX metadata_props / TorchScript extra file) and in a
JSON sidecar beside it, so a deployment needs nothing else to reproduce GRAD.predict.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from gradad import __version__
from gradad.export.graph import inference_graph

if TYPE_CHECKING:
    from gradad.pipeline import GRAD

FORMAT_VERSION = 1
METADATA_KEY = "gradad"
OPSET = 17
INPUT, OUTPUTS = "images", ("maps", "scores")
FORMATS = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}  # format -> default file name
PARITY_TOL = 1e-4


class ExportError(RuntimeError):
    """The exported graph does not reproduce the PyTorch model (a bug, never a user mistake)."""


def sidecar(path: str | Path) -> Path:
    """model.onnx -> model.onnx.json (never model.json, which is the model folder's own description)."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def describe(model: "GRAD", fmt: str) -> dict:
    """Everything a consumer of the exported file needs besides the graph itself."""
    size = model.config.image_size
    d = model.config.detector
    return {
        "format": f"gradad-{fmt}", "format_version": FORMAT_VERSION, "gradad_version": __version__,
        "image_size": size,
        "input": {
            "name": INPUT, "shape": ["batch", 3, size, size], "dtype": "float32", "layout": "NCHW, RGB",
            "range": [-1.0, 1.0],
            "resize": {"size": [size, size], "mode": "bilinear", "antialias": True, "align_corners": False,
                       "skipped_when_already": [size, size]},
            "preprocess": (f"uint8 HxWx3 RGB -> resize to {size}x{size} (bilinear, antialiased, align_corners=False) "
                           "-> x / 127.5 - 1 -> clamp to [-1, 1] (gradad.preprocess.to_tensor)"),
        },
        "outputs": {
            "maps": {"shape": ["batch", size, size], "dtype": "float32",
                     "meaning": "anomaly map at the working resolution (detector logits, upsampled and smoothed, "
                                "minus the calibration's map offset when there is one)"},
            "scores": {"shape": ["batch"], "dtype": "float32",
                       "meaning": f"image score: {d.score} of the map" + (f" (top {d.topk:g} fraction)"
                                                                         if d.score == "topk" else "")},
        },
        "detectors": model.config.generation.banks,  # averaged inside the graph (one per canvas bank)
        "postprocess": {"upsample": "bilinear", "smoothing_sigma": d.smoothing_sigma, "score": d.score,
                        "topk": d.topk, "offset": d.offset if model.map_offset is not None else "none"},
        "threshold": model.threshold,
        "decision": "is_anomalous = score > threshold",
        "normalization": model.normalization,
        "normalized_score": "clip(0.5 * (score - median) / max(threshold - median, 1e-6), 0, 1)",
        "batchnorm_fused": True,
        "config": model.config.to_dict(),
    }


def onnx_bytes(model: "GRAD", opset: int = OPSET) -> bytes:
    """The checked ONNX graph with its metadata, as bytes (nothing written; OnnxBackend uses this for folders)."""
    import onnx

    graph = inference_graph(model)
    size = model.config.image_size
    example = torch.rand(2, 3, size, size) * 2 - 1
    buf = io.BytesIO()
    axes = {INPUT: {0: "batch"}, OUTPUTS[0]: {0: "batch"}, OUTPUTS[1]: {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and constant-folding notes; parity is checked
        torch.onnx.export(graph, (example,), buf, dynamo=False, input_names=[INPUT], output_names=list(OUTPUTS),
                          dynamic_axes=axes, opset_version=opset, do_constant_folding=True)
    proto = onnx.load_from_string(buf.getvalue())
    proto.producer_name, proto.producer_version = "gradad", __version__
    proto.doc_string = "GRAD anomaly detector: detector + post-processing; see metadata key 'gradad'"
    meta = describe(model, "onnx")
    for key, value in {METADATA_KEY: json.dumps(meta), "image_size": str(meta["image_size"]),
                       "threshold": json.dumps(meta["threshold"]), "format_version": str(FORMAT_VERSION)}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    _check_parity(graph, example, lambda x: _run_onnx(data, x))
    return data


def export_onnx(model: "GRAD", path: str | Path) -> Path:
    """Write `path` (.onnx, dynamic batch axis) and its JSON sidecar; returns the path."""
    return _write(Path(path), onnx_bytes(model), describe(model, "onnx"))


def export_torchscript(model: "GRAD", path: str | Path) -> Path:
    """Write a traced TorchScript module (BatchNorm fused) with the metadata as extra file `gradad.json`."""
    graph = inference_graph(model)
    size = model.config.image_size
    example = torch.rand(2, 3, size, size) * 2 - 1
    meta = describe(model, "torchscript")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated upstream but still the cheapest C++-loadable format
        traced = torch.jit.trace(graph, example)
        buf = io.BytesIO()
        torch.jit.save(traced, buf, _extra_files={f"{METADATA_KEY}.json": json.dumps(meta)})
    _check_parity(graph, example, lambda x: [t.numpy() for t in traced(torch.from_numpy(x))])
    return _write(Path(path), buf.getvalue(), meta)


def read_metadata(path: str | Path) -> dict:
    """The metadata embedded in an exported file (ONNX or TorchScript), without building a session."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        return json.loads(props[METADATA_KEY])
    extra = {f"{METADATA_KEY}.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return json.loads(extra[f"{METADATA_KEY}.json"])


def _run_onnx(data: bytes, x: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    return ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {INPUT: x})


def _check_parity(graph, example: torch.Tensor, run) -> None:
    """Refuse to write a file whose outputs differ from the PyTorch graph on the tracing example."""
    with torch.inference_mode():
        expected = [t.numpy() for t in graph(example)]
        got = run(example.numpy())
    for name, e, g in zip(OUTPUTS, expected, got):
        diff = float(np.abs(e - g).max())
        if e.shape != g.shape or not diff <= PARITY_TOL:
            raise ExportError(f"exported {name} differ from PyTorch (shape {g.shape} vs {e.shape}, max diff {diff:g})")


def _write(path: Path, data: bytes, meta: dict) -> Path:
    """Atomic writes: the file first, then the sidecar that describes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, payload in ((path, data), (sidecar(path), json.dumps(meta, indent=2).encode())):
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, target)
    return path
