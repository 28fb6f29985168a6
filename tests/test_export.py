"""Exports reproduce GRAD.predict: onnxruntime parity on real photographs, metadata round trip, CLI errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from gradad.cli import app
from gradad.config import profile
from gradad.data import read_image
from gradad.detector.network import Detector, build
from gradad.export import OnnxBackend, fuse_bn, read_metadata, sidecar
from gradad.export.exporters import FORMAT_VERSION, export_onnx
from gradad.modelfile import ModelFileError
from gradad.pipeline import GRAD
from gradad.preprocess import to_tensor

pytest.importorskip("onnxruntime")


def _model(images: list[np.ndarray], size: int = 128, width: int = 32, score: str = "max", coords: bool = False,
           padding: str = "zeros", offset: bool = False) -> GRAD:
    """An untrained GRAD whose BatchNorm statistics are measured on `images`, so scores spread like a real model's.

    The threshold lies midway between two middle scores: decisions are mixed and no score sits on the threshold.
    """
    torch.manual_seed(0)
    model = GRAD(profile("cpu").replace(**{"image_size": size, "detector.width": width, "detector.score": score,
                                           "detector.coords": coords, "detector.padding": padding}), device="cpu")
    model.detector = build(model.config.detector, model.config.generation.banks)  # the default: an Ensemble
    for m in model.detector.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    with torch.no_grad():
        model.detector.train()(to_tensor(images, size))
    model.detector.eval()
    if offset:  # a map offset as calibration would learn one (gradad.detector.postprocess.map_offset)
        model.map_offset = np.random.default_rng(0).normal(0, 0.5, (size, size)).astype(np.float32)
    scores = np.sort([p.score for p in model.predict(images)])
    mid = len(scores) // 2
    model.threshold = float((scores[mid - 1] + scores[mid]) / 2)
    model.normalization = {"median": float(np.median(scores[:mid])), "threshold": model.threshold,
                           "target_false_alarm_rate": 0.01, "val_scores": scores[:mid].tolist(), "input_range": [-1.0, 1.0]}
    return model


@pytest.fixture(scope="module")
def real_images(shared_data) -> list[np.ndarray]:
    """8 bottle test images (512x512 RGB) and 8 magnetic-tile test images (grayscale, assorted sizes)."""
    bottle = sorted((shared_data / "mvtec_ad" / "bottle" / "test").glob("*/*.png"))[::10][:8]
    tile = sorted((shared_data / "magnetic_tile" / "tile" / "test").glob("*/*.*"))[::60][:8]
    assert len(bottle) == 8 and len(tile) == 8
    return [read_image(p) for p in bottle + tile]


@pytest.mark.parametrize("score,coords,padding,offset", [("max", False, "zeros", False), ("topk", False, "zeros", False),
                                                         ("max", True, "zeros", False), ("max", True, "reflect", False),
                                                         ("max", True, "zeros", True)])
def test_onnx_matches_pytorch_on_real_images(tmp_path, real_images, score, coords, padding, offset):
    model = _model(real_images, score=score, coords=coords, padding=padding, offset=offset)
    path = export_onnx(model, tmp_path / "model.onnx")
    backend = OnnxBackend(path, threads=2)
    expected = model.predict(real_images, batch_size=16)
    got = backend.predict(real_images, batch_size=5)  # batches of 5 and 1: the batch axis is dynamic
    map_diff = max(float(np.abs(e.anomaly_map - g.anomaly_map).max()) for e, g in zip(expected, got))
    score_diff = max(abs(e.score - g.score) for e, g in zip(expected, got))
    print(f"\nonnx parity ({score}, coords={coords}, {padding}, offset={offset}): max map diff {map_diff:.2e}, max score diff {score_diff:.2e}")
    assert {g.anomaly_map.shape for g in got} == {(128, 128)}
    assert map_diff <= 1e-4 and score_diff <= 1e-4
    assert [e.is_anomalous for e in expected] == [g.is_anomalous for g in got]
    assert 0 < sum(g.is_anomalous for g in got) < len(got)
    assert np.allclose([e.normalized_score for e in expected], [g.normalized_score for g in got], atol=1e-4)
    assert backend.threshold == model.threshold


def test_fused_batchnorm_matches(real_images):
    model = _model(real_images[:4], size=64, width=8)
    x = to_tensor(real_images[:4], 64)
    with torch.no_grad():
        assert torch.allclose(fuse_bn(model.detector)(x), model.detector(x), atol=1e-5)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fuse_bn(model.detector).modules())


def test_predict_runs_the_fused_graph_and_matches_the_unfused_model(real_images):
    """GRAD.predict folds BatchNorm once per detector; its maps and scores are those of the model as trained."""
    from gradad.export import inference_graph

    model = _model(real_images)
    got = model.predict(real_images)
    with torch.inference_mode():
        maps, scores = inference_graph(model, fuse=False)(to_tensor(real_images, 128))
    assert np.abs(np.stack([p.anomaly_map for p in got]) - maps.numpy()).max() <= 1e-4
    assert np.abs(np.array([p.score for p in got]) - scores.numpy()).max() <= 1e-4
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model._inference_graph().modules())
    model.detector = Detector(32).eval()  # a new detector (e.g. after fit) is picked up, not the cached graph
    assert np.abs(model.predict(real_images[:1])[0].anomaly_map - got[0].anomaly_map).max() > 1e-3


def test_bf16_precision_keeps_decisions_on_real_images(real_images):
    """The opt-in bfloat16 path: maps close to fp32 (bf16 keeps 8 bits of mantissa), the same decisions here."""
    model = _model(real_images)
    fp32 = model.predict(real_images)
    model.precision = "bf16"
    bf16 = model.predict(real_images)
    assert all(p.anomaly_map.dtype == np.float32 for p in bf16)
    scale = max(float(np.abs(p.anomaly_map).max()) for p in fp32)
    assert max(float(np.abs(a.anomaly_map - b.anomaly_map).max()) for a, b in zip(fp32, bf16)) <= 0.05 * scale
    assert [p.is_anomalous for p in fp32] == [p.is_anomalous for p in bf16]
    model.precision = "fp16"
    with pytest.raises(ValueError, match="precision 'fp16'"):
        model.predict(real_images[:1])


def _saved(tmp_path: Path) -> tuple[GRAD, Path, list[np.ndarray]]:
    """A tiny saved model in run-folder layout (<run>/model) and a few synthetic images."""
    images = [np.random.default_rng(i).integers(0, 256, (40 + 8 * i, 56, 3), dtype=np.uint8) for i in range(6)]
    model = _model(images, size=64, width=8)
    model.save(tmp_path / "run" / "model")
    return model, tmp_path / "run", images


@pytest.mark.parametrize("fmt,name", [("onnx", "model.onnx"), ("torchscript", "model.torchscript.pt")])
def test_cli_export_metadata_round_trip(tmp_path, fmt, name):
    model, run, images = _saved(tmp_path)
    result = CliRunner().invoke(app, ["export", "--model", str(run), "--format", fmt])
    assert result.exit_code == 0, result.output
    path = run / "model" / name
    meta = json.loads(sidecar(path).read_text())
    assert meta == read_metadata(path)
    assert meta["format"] == f"gradad-{fmt}" and meta["format_version"] == FORMAT_VERSION
    assert meta["image_size"] == 64 and meta["input"]["range"] == [-1.0, 1.0]
    assert meta["input"]["resize"] == {"size": [64, 64], "mode": "bilinear", "antialias": True,
                                       "align_corners": False, "skipped_when_already": [64, 64]}
    assert meta["threshold"] == model.threshold and meta["normalization"] == model.normalization
    assert meta["gradad_version"] and meta["postprocess"]["score"] == "max"
    if fmt == "onnx":
        backend = OnnxBackend(run)
        assert backend.source == str(path) and backend.metadata == meta
        got, expected = backend.predict(images), model.predict(images)
        assert [g.is_anomalous for g in got] == [e.is_anomalous for e in expected]


def test_backend_on_unexported_folder_exports_in_memory(tmp_path):
    model, run, images = _saved(tmp_path)
    backend = OnnxBackend(run / "model")
    assert "in memory" in backend.source and not list((run / "model").glob("*.onnx"))
    assert [round(p.score, 4) for p in backend.predict(images)] == [round(p.score, 4) for p in model.predict(images)]


def test_backend_refuses_foreign_files(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a readable ONNX model"):
        OnnxBackend(tmp_path / "junk.onnx")
    with pytest.raises(FileNotFoundError):
        OnnxBackend(tmp_path / "nowhere.onnx")


@pytest.mark.parametrize("args,needle", [
    (["--model", "{tmp}/nowhere"], "not a gradad model"),
    (["--model", "{tmp}"], "not a gradad model"),
    (["--model", "{tmp}", "--format", "tflite"], "--format 'tflite'"),
])
def test_cli_export_bad_input_is_one_line_exit_2(tmp_path, args, needle):
    result = CliRunner().invoke(app, ["export", *[a.format(tmp=tmp_path) for a in args]])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.output
