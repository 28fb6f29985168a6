"""Assemble report.html: one self-contained page (inline CSS, images as data URIs) that opens offline anywhere."""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined
from PIL import Image

from gradad import __version__
from gradad.data import CategoryData, read_mask
from gradad.data.images import image_size
from gradad.evaluation import pro_curve, resize_map
from gradad.patchdiff import restore_source
from gradad.report import plots
from gradad.report.cases import case_grid, map_range, worst
from gradad.report.gallery import collect_patterns, gallery_png, load_bank, model_folder

REPORT_HTML = "report.html"
WORST_K = 4
GALLERY_N = 8
PRO_PLOT_SIDE = 256  # masks and maps are reduced to this side for the PRO plot only; AU-PRO is computed exactly
HEADLINE = (("image_auroc", "Image AUROC"), ("pixel_auroc", "Pixel AUROC"), ("au_pro", "AU-PRO"),
            ("image_f1_max", "Image F1-max"))
LOCO_KEYS = (("auroc_mean", "AUROC, mean of logical and structural"), ("au_spro", "AU-sPRO"),
             ("au_spro_logical", "AU-sPRO logical"), ("au_spro_structural", "AU-sPRO structural"))
FINGERPRINT_NOTE = ("AUROC of the detector between real normal images and the same images lightly passed through "
                    "PatchDiff (noised a little and denoised): near 0.5 is good, as it means the detector ignores the "
                    "generator's low-level fingerprint and judges structure; well above 0.5 means it learnt to spot "
                    "PatchDiff's traces, which real defects do not have.")

FINGERPRINT_FEW = 10  # below this many held-out images the fingerprint AUROC is too coarse to read closely


def fingerprint_sample_note(info: dict) -> str:
    """How many held-out images the check used; few images make it a rough sign only."""
    n = info.get("fingerprint_images")
    if not n:
        return ""
    draws = info.get("fingerprint_draws", 1)  # models saved before the re-noised copies were drawn several times: 1
    copies = f", each re-noised {draws} times" if draws > 1 else ""
    if n < FINGERPRINT_FEW:
        return (f" Measured on only {n} held-out normal images{copies}, so it moves in steps of 1/{n * n * draws}: "
                f"a rough sign, not a precise figure.")
    return f" Measured on {n} held-out normal images{copies}."


def fmt(value) -> str:
    """Metric values to four decimals; None, NaN and missing are "absent", never 0."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "absent"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "absent"
    if s < 120:
        return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"
    return f"{int(s // 60)} min {s % 60:.0f} s"


def metric_rows(result: dict) -> list[dict]:
    """Headline metrics, then group AUROCs (auroc_<group>) and LOCO keys, each only when the result has it."""
    limit = result.get("au_pro_fpr_limit")
    rows = [{"name": name + (f" (FPR ≤ {limit:g})" if key == "au_pro" and limit else ""), "key": key,
             "value": fmt(result.get(key))} for key, name in HEADLINE]
    loco = {k for k, _ in LOCO_KEYS}
    for key in sorted(k for k in result if k.startswith("auroc_") and k not in loco):
        rows.append({"name": "AUROC " + key[len("auroc_"):].replace("_", " "), "key": key, "value": fmt(result[key])})
    spro_limit = result.get("au_spro_fpr_limit")
    for key, name in LOCO_KEYS:
        if key in result:
            suffix = f" (FPR ≤ {spro_limit:g})" if key.startswith("au_spro") and spro_limit else ""
            rows.append({"name": name + suffix, "key": key, "value": fmt(result[key])})
    return rows


def type_rows(data: CategoryData, predictions, result: dict) -> list[dict]:
    """Per defect type: images, AUROC against all good images, and the share flagged at the threshold."""
    per_type = result.get("per_type_auroc", {})
    rows = []
    for kind in ["good", *data.defect_types]:
        flags = [p.is_anomalous for s, p in zip(data.test, predictions) if s.defect_type == kind]
        rows.append({"type": kind, "images": len(flags), "auroc": "—" if kind == "good" else fmt(per_type.get(kind)),
                     "flagged": f"{sum(flags)} / {len(flags)}"})
    return rows


def _pro_plot(data: CategoryData, predictions, result: dict) -> str | None:
    """The PRO curve at reduced resolution (pixel metrics absent: no plot)."""
    if result.get("au_pro") is None:
        return None
    masks, maps = [], []
    for sample, pred in zip(data.test, predictions):
        h, w = image_size(sample.path)
        mask = read_mask(sample, (h, w))
        if mask is None:
            return None
        scale = min(1.0, PRO_PLOT_SIDE / max(h, w))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        masks.append(np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.NEAREST)) > 0)
        maps.append(resize_map(pred.anomaly_map, masks[-1].shape))
    fpr, pro = pro_curve(masks, maps)
    return plots.pro_plot(fpr, pro, result.get("au_pro_fpr_limit", 0.3), result.get("au_pro"))


def _threshold(model) -> dict:
    """The threshold and, from the calibration record (gradad.thresholds), how it was chosen and what it implies."""
    norm = model.normalization or {}
    n = norm.get("val_count", len(norm.get("val_scores", [])))
    if model.threshold is None:
        return {"value": "absent", "how": ["The model was not calibrated, so it makes no decisions."]}
    how = [f"Set at training from the scores of {n} held-out normal validation images only; no anomalous image "
           f"and no test image influenced it. Images scoring above it are reported anomalous; normalised scores "
           f"place it at 0.5."]
    if "target_false_alarm_rate" in norm:
        how.append(f"Target false-alarm rate {norm['target_false_alarm_rate']:.2%} (config false_alarm_rate), "
                   f"basis: {str(norm.get('basis', '?')).replace('_', ' ')}.")
    if norm.get("rule"):
        how.append(f"Rule: {norm['rule']}.")
    if norm.get("val_false_alarm_rate") is not None and norm.get("false_alarm_rate_bound") is not None:
        how.append(f"False alarms on the validation normals: {norm['val_false_alarm_rate']:.1%}; bound for new "
                   f"normal images: {norm['false_alarm_rate_bound']:.1%}.")
    return {"value": fmt(model.threshold), "how": how}


def config_sections(config: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """The config as (section, [(key, JSON value)]) with top-level scalars first, for compact side-by-side tables."""
    scalars = [(k, json.dumps(v)) for k, v in config.items() if not isinstance(v, dict)]
    nested = [(k, [(kk, json.dumps(vv)) for kk, vv in v.items()]) for k, v in config.items() if isinstance(v, dict)]
    return [("general", scalars), *nested] if scalars else nested


def _gallery(model, samples, bank) -> dict:
    patterns = collect_patterns(model, GALLERY_N, 0, samples, bank)
    if not patterns.canvases and not patterns.renoised:
        return {"uri": None, "source": "none"}
    source = {"bank": "the pattern bank cached at training time (the detector trained on these)",
              "sampled": "PatchDiff, sampled fresh for this report (no cached bank found)"}[patterns.source]
    return {"uri": plots.data_uri(gallery_png(patterns)), "source": source}


def _training(model, run_dir: Path, samples) -> dict:
    """The sections shared with the training-only report: gallery, curves, timings, fingerprint, threshold, config."""
    cfg = model.config
    bank = model.bank if model.bank is not None else load_bank(model_folder(run_dir))
    timings = [{"phase": k, "time": fmt_seconds(v), "total": False} for k, v in model.info.get("timings_s", {}).items()]
    if timings:
        total = sum(model.info["timings_s"].values())
        timings.append({"phase": "total", "time": fmt_seconds(total), "total": True})
    fp = model.info.get("fingerprint_auroc")
    return {
        "gallery": _gallery(model, samples, bank),
        "curves": plots.loss_curves({
            "PatchDiff loss": (model.info.get("patchdiff_loss", []), cfg.patchdiff.steps),
            "Detector loss": (model.info.get("detector_loss", []), model.info.get("detector_steps", cfg.detector.steps))}),
        "timings": timings,
        "fingerprint": {"value": fmt(fp), "note": FINGERPRINT_NOTE + fingerprint_sample_note(model.info),
                        "warn": fp is not None and abs(fp - 0.5) > 0.15},
        "threshold": _threshold(model),
        "config": config_sections(cfg.to_dict()),
        "model": [("gradad version", __version__), ("image size", f"{cfg.image_size} px"),
                  ("PatchDiff receptive field", fmt(model.info.get("receptive_field")) + " px"),
                  ("detectors", "1" if cfg.generation.banks == 1 else
                   f"{cfg.generation.banks}, one per canvas bank, their maps averaged"),
                  # training that collapsed and was brought back (PatchDiff.fit): the user should know it happened
                  *[("PatchDiff collapse restored", f"at step {r['step']}, from step {r['restored_to']}, learning rate "
                     f"halved{restore_source(r)}") if r["restored_to"] else
                    ("PatchDiff restarted", f"it learned nothing by step {r['step']}: restarted from its initial "
                     f"weights, learning rate halved{restore_source(r)}") for r in model.info.get("patchdiff_restores", [])],
                  # detectors that learned nothing and were trained again, or never learned (GRAD.fit_detector)
                  *[("detector trained again", f"detector {k}: it learned nothing the first time")
                    for k in sorted(set(model.info.get("detector_retries", [])))],
                  *[("DETECTOR LEARNED NOTHING", f"detector {k}: its training ended at the loss of a constant "
                     "prediction, even after retries; see the detector loss above")
                    for k in model.info.get("detector_failed", [])],
                  *[(k.replace("_", " "), str(v)) for k, v in (model.info.get("data") or {}).items()]],
    }


def _render(run_dir: Path, context: dict) -> Path:
    env = Environment(loader=PackageLoader("gradad.report", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    html = env.get_template("report.html.j2").render(
        version=__version__, created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **context)
    path = Path(run_dir) / REPORT_HTML
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def _same_data(model, data: CategoryData) -> bool:
    info = model.info.get("data") or {}
    return info.get("root") == str(data.root) and info.get("category") == data.category


def write_report(run_dir, model, data: CategoryData, predictions: Sequence, result: dict) -> Path:
    """Write run_dir/report.html for a model evaluated on data's test split (predictions follow data.test)."""
    scores = [p.score for p in predictions]
    labels = [s.label for s in data.test]
    vrange = map_range([p.anomaly_map for p in predictions]) if predictions else (0.0, 1.0)
    good = [x for x, y in zip(scores, labels) if y == 0]
    bad = [x for x, y in zip(scores, labels) if y == 1]
    context = {
        "title": f"{result.get('dataset', data.dataset)}/{result.get('category', data.category)}",
        "training_only": False,
        "headline": [{"name": n, "value": fmt(result.get(k))} for k, n in HEADLINE[:3]],
        "counts": {"good": len(good), "anomalous": len(bad)},
        "metrics": metric_rows(result),
        "types": type_rows(data, predictions, result),
        "roc": plots.roc_plot(labels, scores, result.get("image_auroc")),
        "pro": _pro_plot(data, predictions, result),
        "histogram": plots.score_histogram(good, bad, model.threshold) if scores else None,
        "false_positives": case_grid(data.test, predictions, worst(data.test, scores, 0, WORST_K),
                                     model.threshold, vrange),
        "false_negatives": case_grid(data.test, predictions, worst(data.test, scores, 1, WORST_K),
                                     model.threshold, vrange),
        "inference_ms": result.get("inference_ms_per_image"),
        **_training(model, run_dir, data.train if _same_data(model, data) else None),
    }
    return _render(run_dir, context)


def write_training_report(run_dir, model) -> Path:
    """Write run_dir/report.html for a freshly trained model without test data: no metrics, everything else."""
    data = model.info.get("data") or {}
    title = f"{data.get('dataset', '?')}/{data.get('category', '?')}"
    return _render(run_dir, {"title": title, "training_only": True, "inference_ms": None,
                              **_training(model, run_dir, None)})
