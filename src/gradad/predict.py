"""Score images on disk with a trained model: find, read, predict in batches, write overlays and one table per run."""
from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image
from scipy import ndimage

from gradad import thresholds
from gradad.data.base import IMAGE_EXTENSIONS, DatasetError
from gradad.data.images import is_image_file, list_images, read_image
from gradad.preprocess import check_size
from gradad.evaluation import resize_map

BACKENDS = ("torch", "torch-bf16", "onnx")  # torch-bf16: see GRAD.precision
OVERLAYS, CSV_FILE, JSON_FILE = "overlays", "predictions.csv", "predictions.json"
COLORMAP, OUTLINE, MAX_ALPHA = "inferno", (0, 255, 255), 0.6
SUPPORTED = "/".join(e.lstrip(".") for e in IMAGE_EXTENSIONS)


class PredictError(ValueError):
    """A prediction run that cannot start as asked (paths, options, backend); the message is one line."""


@dataclass
class ImageResult:
    path: str
    score: float
    normalized_score: float
    decision: str  # "anomalous" or "normal"
    overlay: str  # relative to the output folder
    height: int
    width: int


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class Run:
    """Everything one run decided and wrote; predictions.json is this record."""

    out: Path
    model: str
    backend: str
    threshold: thresholds.ThresholdChoice
    results: list[ImageResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        anomalous = sum(r.decision == "anomalous" for r in self.results)
        return {"images": len(self.results), "anomalous": anomalous, "normal": len(self.results) - anomalous,
                "skipped": len(self.skipped)}


@dataclass
class Found:
    path: Path  # as the user wrote it, joined with the part found below a folder
    absolute: Path
    overlay: Path  # relative to OVERLAYS


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(os.path.expanduser(path)))


def _overlay_names(found: list[tuple[Path, Path]], base: Path) -> list[Path]:
    """Input paths relative to `base` with a .png suffix; on a clash (a.png beside a.jpg, or names differing only
    in case on a case-insensitive disk) PNG inputs keep the plain name, others add their extension, then a counter."""
    rels = [absolute.relative_to(base) for _, absolute in found]
    used: set[str] = set()
    names: list[Path] = [Path()] * len(rels)
    for i in sorted(range(len(rels)), key=lambda i: rels[i].suffix.lower() != ".png"):
        rel, ext = rels[i], rels[i].suffix.lstrip(".")
        candidates = [rel.with_suffix(".png"), rel.with_name(f"{rel.stem}_{ext}.png")]
        candidates += [rel.with_name(f"{rel.stem}_{ext}-{k}.png") for k in range(2, len(rels) + 2)]
        names[i] = next(c for c in candidates if str(c).lower() not in used)
        used.add(str(names[i]).lower())
    return names


def find_images(inputs: Sequence[Path | str], exclude: Path | None = None,
                notes: list[str] | None = None) -> list[Found]:
    """Image files named directly or found recursively under folders (any supported extension), sorted per folder,
    without duplicates, and without anything under `exclude` (the output folder of an earlier run)."""
    if not inputs:
        raise PredictError("no images or folders given")
    notes = [] if notes is None else notes
    found: list[tuple[Path, Path]] = []
    roots = []
    for given in map(Path, inputs):
        absolute = _absolute(given)
        if not absolute.exists():
            raise PredictError(f"{given}: no such file or folder")
        if absolute.is_dir():
            roots.append(absolute)
            images = [p for p in list_images(absolute, notes, recursive=True, label=str(given))
                      if exclude is None or not p.is_relative_to(exclude)]
            if not images:
                raise PredictError(f"{given}: no images in this folder or its sub-folders (looked for {SUPPORTED})")
            found += [(given / p.relative_to(absolute), p) for p in images]
        elif is_image_file(absolute):
            roots.append(absolute.parent)
            found.append((given, absolute))
        else:
            raise PredictError(f"{given}: not an image file (expected {SUPPORTED})")
    seen: set[Path] = set()
    unique = [(p, a) for p, a in found if not (a in seen or seen.add(a))]
    base = Path(os.path.commonpath(roots))
    return [Found(p, a, o) for (p, a), o in zip(unique, _overlay_names(unique, base))]


def load_backend(model_path: Path, backend: str = "torch"):
    """A GRAD model or an OnnxBackend: both have .predict(images, batch_size), .threshold and .normalization."""
    if backend in ("torch", "torch-bf16"):
        from gradad.workflow import load_model

        model = load_model(model_path)[0]
        model.precision = "bf16" if backend == "torch-bf16" else "fp32"
        return model
    if backend == "onnx":
        try:
            from gradad.export.onnx_backend import OnnxBackend
        except ImportError as err:
            raise PredictError(f"the onnx backend is not available ({err}); install onnxruntime (the export "
                               f"extra of gradad) or use the torch backend") from None
        return OnnxBackend(model_path)
    raise PredictError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def overlay(image: np.ndarray, anomaly_map: np.ndarray, choice: thresholds.ThresholdChoice) -> np.ndarray:
    """The heat map over the image at the image's resolution, more opaque where it is hotter (the validation
    median is clear, the threshold at 0.3), with the predicted region (map > threshold) outlined."""
    from matplotlib import colormaps

    h, w = image.shape[:2]
    amap = resize_map(anomaly_map, (h, w))
    heat = np.clip(choice.normalize(amap), 0.0, 1.0)
    colour = colormaps[COLORMAP](heat, bytes=True)[..., :3].astype(np.float32)
    alpha = (MAX_ALPHA * heat)[..., None]
    out = (image.astype(np.float32) * (1 - alpha) + colour * alpha).round().astype(np.uint8)
    region = amap > choice.value
    edge = region & ~ndimage.binary_erosion(region)
    if max(h, w) >= 512:
        edge = ndimage.binary_dilation(edge, iterations=max(h, w) // 512)
    out[edge] = OUTLINE
    return out


def _reason(err: DatasetError, path: Path) -> str:
    text = str(err)
    return text.split(": ", 1)[1] if text.startswith(f"{path}: ") else text


def predict_images(model_path: Path | str, inputs: Sequence[Path | str], out: Path | str, *,
                   threshold: float | None = None, max_false_alarm_rate: float | None = None, batch_size: int = 16,
                   backend: str = "torch", progress: Callable[[int, int], None] | None = None,
                   warn: Callable[[str], None] | None = None) -> Run:
    """Score every image under `inputs`; write OUT/overlays/..., OUT/predictions.csv and OUT/predictions.json.

    A line feeds folders of mixed files, so an unreadable image is skipped and listed, never fatal; overlays mirror
    the input folders, so same-named images in different folders cannot overwrite each other.

    The threshold is the model's (set at training from validation normals), or `threshold`, or the one the model's
    stored validation scores give for `max_false_alarm_rate` (rule: gradad.thresholds)."""
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise PredictError(f"batch size must be a whole number of at least 1, got {batch_size}")
    if max_false_alarm_rate is not None and not 0 < max_false_alarm_rate < 1:
        raise PredictError(f"maximum false-alarm rate must lie strictly between 0 and 1, got {max_false_alarm_rate}")
    out = _absolute(Path(out))
    if out.exists() and not out.is_dir():
        raise PredictError(f"{out}: exists and is not a folder; give a folder for the outputs")
    notes: list[str] = []
    found = find_images(inputs, exclude=out, notes=notes)
    model = load_backend(Path(model_path), backend)
    try:
        choice = thresholds.choose(model.normalization, model.threshold, threshold, max_false_alarm_rate)
    except ValueError as err:
        raise PredictError(str(err)) from None
    thresholds.apply(model, choice)
    for note in notes if warn else ():
        warn(note)
    run = Run(out, str(model_path), backend, choice)
    (out / OVERLAYS).mkdir(parents=True, exist_ok=True)
    for start in range(0, len(found), batch_size):
        batch, images = [], []
        for item in found[start:start + batch_size]:
            try:
                image = read_image(item.absolute)
                check_size(image, model.image_size)
                images.append(image)
                batch.append(item)
            except (DatasetError, ValueError) as err:
                run.skipped.append(Skipped(str(item.path), _reason(err, item.absolute)))
                if warn:
                    warn(f"skipped {item.path}: {run.skipped[-1].reason}")
        for item, image, pred in zip(batch, images, model.predict(images, batch_size=batch_size) if images else []):
            target = out / OVERLAYS / item.overlay
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(overlay(image, pred.anomaly_map, choice)).save(target)
            run.results.append(ImageResult(str(item.path), pred.score, pred.normalized_score,
                                           "anomalous" if pred.is_anomalous else "normal",
                                           str(Path(OVERLAYS) / item.overlay), *image.shape[:2]))
        if progress:
            progress(min(start + batch_size, len(found)), len(found))
    write_tables(run)
    return run


def write_tables(run: Run) -> None:
    """predictions.csv (one row per input, skipped ones with their reason) and predictions.json (the whole run)."""
    columns = ["path", "score", "normalized_score", "decision", "overlay", "height", "width", "reason"]
    with open(run.out / CSV_FILE, "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        for r in run.results:
            writer.writerow({**asdict(r), "score": f"{r.score:.6g}", "normalized_score": f"{r.normalized_score:.6g}",
                             "reason": ""})
        for s in run.skipped:
            writer.writerow({"path": s.path, "decision": "skipped", "reason": s.reason})
    c = run.threshold
    record = {"model": run.model, "backend": run.backend,
              "threshold": {"value": c.value, "source": c.source, "description": c.describe(), **c.rates},
              "counts": run.counts, "predictions": [asdict(r) for r in run.results],
              "skipped": [asdict(s) for s in run.skipped]}
    (run.out / JSON_FILE).write_text(json.dumps(record, indent=1))
