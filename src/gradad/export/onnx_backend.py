"""GRAD inference on onnxruntime, record for record the same as GRAD.predict (pre-processing, graph, decisions)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from gradad.export.exporters import FORMAT_VERSION, FORMATS, INPUT, METADATA_KEY, onnx_bytes
from gradad.modelfile import MODEL_JSON, ModelFileError
from gradad.pipeline import Prediction, to_predictions
from gradad.preprocess import to_tensor


def _locate(path: Path) -> tuple[str | bytes, str]:
    """An .onnx file, or a model/run folder: its exported model.onnx, else a fresh export held in memory."""
    if path.is_file():
        return str(path), str(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such ONNX file or model folder")
    folder = path / "model" if (path / "model" / MODEL_JSON).is_file() else path
    onnx_file = folder / FORMATS["onnx"]
    if onnx_file.is_file():
        return str(onnx_file), str(onnx_file)
    from gradad.pipeline import GRAD

    return onnx_bytes(GRAD.load(folder, device="cpu")), f"{folder} (exported in memory)"


class OnnxBackend:
    """`OnnxBackend(model_dir_or_onnx).predict(images)` -> list[Prediction]; `.threshold`, `.metadata`."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime as ort

        model, self.source = _locate(Path(path))
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types for foreign or truncated files
            raise ModelFileError(f"{self.source}: not a readable ONNX model ({str(err).splitlines()[0]})") from None
        props = self.session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in props:
            raise ModelFileError(f"{self.source}: an ONNX model, but not a gradad export (no '{METADATA_KEY}' metadata)")
        self.metadata: dict = json.loads(props[METADATA_KEY])
        if self.metadata.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(f"{self.source}: export format version {self.metadata.get('format_version')} "
                                 f"(gradad {self.metadata.get('gradad_version', '?')}); this gradad reads "
                                 f"{FORMAT_VERSION}; export the model again with `gradad export`")
        self.image_size: int = self.metadata["image_size"]
        self.threshold: float | None = self.metadata["threshold"]
        self.normalization: dict = self.metadata["normalization"]

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw graph call on a to_tensor batch: (maps, scores)."""
        maps, scores = self.session.run(None, {INPUT: np.ascontiguousarray(x, dtype=np.float32)})
        return maps, scores

    def predict(self, images: Sequence[np.ndarray], batch_size: int = 16) -> list[Prediction]:
        out: list[Prediction] = []
        for i in range(0, len(images), batch_size):
            maps, scores = self.run(to_tensor(images[i:i + batch_size], self.image_size).numpy())
            out += to_predictions(maps, scores, self.threshold, self.normalization)
        return out
