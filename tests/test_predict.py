"""`gradad predict` on what a production line holds: nested folders, clashing names, mixed sizes and modes, broken
files; and every bad input as one line with exit code 2."""
from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import write_image
from gradad import thresholds
from gradad.cli import app
from gradad.predict import OUTLINE, PredictError, find_images, overlay, predict_images


@pytest.fixture
def line(tiny_run, tmp_path) -> Path:
    """line/a/good/000.png (RGB 64x64), line/b/good/000.png (grayscale 80x100) beside 000.jpg (RGB 50x70),
    line/c/deep/x.TIF (RGB 90x130), a truncated line/broken.png and a notes.txt to ignore."""
    root = tmp_path / "line"
    tests = [s.path for s in tiny_run.data.test]
    (root / "a" / "good").mkdir(parents=True)
    shutil.copy(tests[0], root / "a" / "good" / "000.png")
    gray = np.asarray(Image.open(tests[-1]).convert("L").resize((100, 80)))
    write_image(root / "b" / "good" / "000.png", gray)
    Image.open(tests[1]).convert("RGB").resize((70, 50)).save(root / "b" / "good" / "000.jpg")
    (root / "c" / "deep").mkdir(parents=True)
    Image.open(tests[2]).convert("RGB").resize((130, 90)).save(root / "c" / "deep" / "x.TIF")
    (root / "broken.png").write_bytes((root / "a" / "good" / "000.png").read_bytes()[:200])
    (root / "notes.txt").write_text("not an image")
    return root


def _invoke(*args: str):
    return CliRunner().invoke(app, ["predict", *map(str, args)])


def test_outputs_for_a_nested_mixed_folder(tiny_run, line, tmp_path):
    out = tmp_path / "out"
    result = _invoke("--model", tiny_run.run, line, "--out", out, "--batch-size", 3)
    assert result.exit_code == 0, result.output
    assert "4 images scored" in result.stdout and "1 skipped" in result.stdout and "threshold" in result.stdout
    assert "broken.png" in result.stderr and "notes.txt" in result.stderr
    expected = {"a/good/000.png": (64, 64), "b/good/000.png": (80, 100), "b/good/000.jpg": (50, 70),
                "c/deep/x.TIF": (90, 130)}
    overlays = {"a/good/000.png": "a/good/000.png", "b/good/000.png": "b/good/000.png",
                "b/good/000.jpg": "b/good/000_jpg.png", "c/deep/x.TIF": "c/deep/x.png"}
    record = json.loads((out / "predictions.json").read_text())
    by_path = {Path(p["path"]).relative_to(line).as_posix(): p for p in record["predictions"]}
    assert set(by_path) == set(expected)
    for rel, (h, w) in expected.items():
        p = by_path[rel]
        assert p["overlay"] == f"overlays/{overlays[rel]}" and (p["height"], p["width"]) == (h, w)
        assert np.asarray(Image.open(out / p["overlay"])).shape == (h, w, 3)
        assert (p["decision"] == "anomalous") == (p["score"] > record["threshold"]["value"])
        assert (p["normalized_score"] > 0.5) == (p["decision"] == "anomalous")
    assert record["counts"] == {"images": 4, "anomalous": sum(p["decision"] == "anomalous" for p in by_path.values()),
                                "normal": sum(p["decision"] == "normal" for p in by_path.values()), "skipped": 1}
    assert record["skipped"][0]["path"] == str(line / "broken.png") and "cannot read image" in record["skipped"][0][
        "reason"]
    assert record["threshold"]["source"] == "model" and record["threshold"]["value"] == tiny_run.model.threshold
    with open(out / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["decision"] for r in rows].count("skipped") == 1 and len(rows) == 5
    assert {r["path"] for r in rows} == {str(line / rel) for rel in [*expected, "broken.png"]}


def test_scores_do_not_depend_on_batch_size_or_input_form(tiny_run, line, tmp_path):
    one = predict_images(tiny_run.run, [line / "a", line / "b" / "good" / "000.jpg"], tmp_path / "1", batch_size=1)
    many = predict_images(tiny_run.run / "model", [line], tmp_path / "2", batch_size=16)
    scores = {Path(r.path).name + Path(r.path).parent.parent.name: r.score for r in many.results}
    for r in one.results:
        assert r.score == pytest.approx(scores[Path(r.path).name + Path(r.path).parent.parent.name], abs=1e-5)


def test_find_images_dedupes_and_skips_the_output_folder(line):
    (line / "results" / "overlays").mkdir(parents=True)
    write_image(line / "results" / "overlays" / "old.png")
    found = find_images([line, line / "a" / "good" / "000.png"], exclude=line / "results")
    assert len(found) == 5 and not any("results" in str(f.path) for f in found)
    assert {f.path.relative_to(line).as_posix(): f.overlay.as_posix() for f in found} == {
        "a/good/000.png": "a/good/000.png", "b/good/000.jpg": "b/good/000_jpg.png", "b/good/000.png": "b/good/000.png",
        "broken.png": "broken.png", "c/deep/x.TIF": "c/deep/x.png"}
    same = find_images([line / "b" / "good" / "000.png", line / "a" / "good" / "000.png"])
    assert [f.overlay.as_posix() for f in same] == ["b/good/000.png", "a/good/000.png"]


def test_overlay_outlines_the_predicted_region_at_image_resolution():
    image = np.full((90, 120, 3), 128, np.uint8)
    amap = np.zeros((32, 32), np.float32)
    amap[8:16, 8:16] = 1.0
    choice = thresholds.ThresholdChoice(0.5, "--threshold", median=0.0, spread=1.0)
    out = overlay(image, amap, choice)
    outline = np.all(out == OUTLINE, axis=2)
    assert out.shape == image.shape and outline.any()
    rows, cols = np.nonzero(outline)
    assert 15 <= rows.min() and rows.max() <= 50 and 20 <= cols.min() and cols.max() <= 70
    assert np.array_equal(out[80:, 100:], image[80:, 100:])  # the cold corner keeps the image as it was


def test_threshold_overrides_change_decisions(tiny_run, line, tmp_path):
    low = predict_images(tiny_run.run, [line], tmp_path / "low", threshold=-1e9)
    high = predict_images(tiny_run.run, [line], tmp_path / "high", threshold=1e9)
    assert low.counts["anomalous"] == 4 and high.counts["normal"] == 4
    rate = predict_images(tiny_run.run, [line], tmp_path / "rate", max_false_alarm_rate=0.9)
    val = tiny_run.model.normalization["val_scores"]
    assert rate.threshold.value == thresholds.threshold_for_rate(val, 0.9)[0] != tiny_run.model.threshold
    assert all((r.decision == "anomalous") == (r.score > rate.threshold.value) for r in rate.results)


def test_onnx_backend_agrees_with_torch(tiny_run, line, tmp_path):
    pytest.importorskip("onnxruntime")  # the optional export extra
    torch_run = predict_images(tiny_run.run, [line], tmp_path / "t")
    onnx_run = predict_images(tiny_run.run, [line], tmp_path / "o", backend="onnx")
    assert [r.path for r in onnx_run.results] == [r.path for r in torch_run.results]
    assert np.allclose([r.score for r in onnx_run.results], [r.score for r in torch_run.results], atol=1e-4)


def test_bf16_backend_scores_close_to_torch(tiny_run, line, tmp_path):
    torch_run = predict_images(tiny_run.run, [line], tmp_path / "t")
    bf16_run = predict_images(tiny_run.run, [line], tmp_path / "b", backend="torch-bf16")
    assert [r.path for r in bf16_run.results] == [r.path for r in torch_run.results]
    # bfloat16 rounds the detector's logits: the tolerance is relative to their size, before the calibration's offset
    scale = max(abs(r.score) for r in torch_run.results) + float(np.abs(tiny_run.model.map_offset).max())
    assert np.allclose([r.score for r in bf16_run.results], [r.score for r in torch_run.results], atol=0.05 * scale)


def _one_line_exit_2(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], result.output


@pytest.mark.parametrize("args,needle", [
    (["{line}/nowhere"], "no such file or folder"),
    (["{empty}"], "no images in this folder"),
    (["{line}/notes.txt"], "not an image file"),
    (["--batch-size", "0", "{line}"], "--batch-size must be at least 1"),
    (["--batch-size", "-4", "{line}"], "--batch-size must be at least 1"),
    (["--max-false-alarm-rate", "0", "{line}"], "strictly between 0 and 1"),
    (["--max-false-alarm-rate", "1", "{line}"], "strictly between 0 and 1"),
    (["--max-false-alarm-rate", "1.5", "{line}"], "strictly between 0 and 1"),
    (["--max-false-alarm-rate", "-0.1", "{line}"], "strictly between 0 and 1"),
    (["--threshold", "0.2", "--max-false-alarm-rate", "0.1", "{line}"], "not both"),
    (["--threshold", "nan", "{line}"], "finite"),
    (["--backend", "tensorrt", "{line}"], "choose one of torch, torch-bf16, onnx"),
])
def test_bad_input_is_one_line(tiny_run, line, tmp_path, args, needle):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.md").write_text("x")
    args = [a.format(line=line, empty=tmp_path / "empty") for a in args]
    _one_line_exit_2(_invoke("--model", tiny_run.run, "--out", tmp_path / "out", *args), needle)


def test_model_path_that_is_not_a_model(line, tmp_path):
    _one_line_exit_2(_invoke("--model", line, "--out", tmp_path / "out", line), "not a gradad model")
    _one_line_exit_2(_invoke("--model", tmp_path / "nope", "--out", tmp_path / "out", line), "not a gradad model")


def test_out_is_a_file(tiny_run, line, tmp_path):
    (tmp_path / "taken").write_text("x")
    _one_line_exit_2(_invoke("--model", tiny_run.run, "--out", tmp_path / "taken", line), "not a folder")


def test_onnx_backend_missing_is_one_line(tiny_run, line, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gradad.export.onnx_backend", None)
    _one_line_exit_2(_invoke("--model", tiny_run.run, "--out", tmp_path / "o", "--backend", "onnx", line),
                     "onnx backend is not available")
    with pytest.raises(PredictError, match="onnx backend"):
        predict_images(tiny_run.run, [line], tmp_path / "o", backend="onnx")


def test_images_too_small_for_the_model_are_skipped_with_the_reason(tiny_run, tmp_path):
    folder = tmp_path / "tiny"
    write_image(folder / "thumb.png", size=(10, 40))
    write_image(folder / "ok.png", size=(16, 16))
    run = predict_images(tiny_run.run, [folder], tmp_path / "out")
    assert [Path(r.path).name for r in run.results] == ["ok.png"]
    assert len(run.skipped) == 1 and "too small for this model" in run.skipped[0].reason
    assert "10x40" in run.skipped[0].reason and "16 px" in run.skipped[0].reason
