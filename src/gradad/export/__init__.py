"""Fast inference and deployment: one-file exports (ONNX, TorchScript) and an onnxruntime backend."""
from __future__ import annotations

from gradad.export.exporters import (FORMATS, ExportError, describe, export_onnx, export_torchscript, read_metadata,
                                     sidecar)
from gradad.export.graph import InferenceGraph, fuse_bn, inference_graph
from gradad.export.onnx_backend import OnnxBackend

__all__ = ["FORMATS", "ExportError", "InferenceGraph", "OnnxBackend", "describe", "export_onnx",
           "export_torchscript", "fuse_bn", "inference_graph", "read_metadata", "sidecar"]
