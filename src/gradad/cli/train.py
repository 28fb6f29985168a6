"""`gradad train`, `gradad test` and `gradad demo`: fit a model on a category, evaluate it, or do both on the demo set."""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from gradad.cli.common import UserError, app, console, user_errors
from gradad.cli.progress import phase_progress
from gradad.config import PROFILES, GRADConfig, profile
from gradad.data import FORMATS, load_category

FormatOpt = typer.Option("auto", "--format", help=f"Data-set layout: auto, {', '.join(FORMATS)}.")
PolarityOpt = typer.Option("auto", "--mask-polarity", help="Which mask value marks a defect: nonzero (MVTec AD), "
                           "zero (e.g. PIPED), or auto (inverted masks are detected and noted).")


def restore_notes(info: dict) -> list[str]:
    """One line per PatchDiff training collapse that was brought back (PatchDiff.fit) and per detector that learned
    nothing and was trained again or never learned (GRAD.fit_detector), so the user knows."""
    from gradad.patchdiff import restore_source

    retries, failed = info.get("detector_retries", []), info.get("detector_failed", [])
    return [f"PatchDiff{restore_source(r)} training collapsed at step {r['step']} (loss back at {r['loss']:.2f}) and was "
            f"restored from step {r['restored_to']} with half the learning rate" if r["restored_to"] else
            f"PatchDiff{restore_source(r)} learned nothing by step {r['step']} (loss at {r['loss']:.2f} of a constant "
            f"prediction's) and was restarted with half the learning rate"
            for r in info.get("patchdiff_restores", [])] + [
        f"detector {k} learned nothing (training loss at a constant prediction's) and was trained again "
        f"({retries.count(k)} time(s)){': it never learned, so it cannot find anomalies' if k in failed else ''}"
        for k in sorted(set(retries))]


def parse_overrides(items: list[str]) -> dict:
    """`--set detector.steps=200` -> {"detector.steps": 200} (values parsed as JSON when they parse)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. detector.steps=200")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def build_config(profile_name: str, seed: Optional[int], overrides: list[str]) -> GRADConfig:
    if profile_name not in PROFILES:
        raise UserError(f"--profile {profile_name!r}: choose one of {', '.join(PROFILES)}")
    cfg = profile(profile_name)
    extra = parse_overrides(overrides)
    if seed is not None:
        extra["seed"] = seed
    try:
        return cfg.replace(**extra)
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"--set: {str(err).strip(chr(39))}") from None


def print_results(result: dict) -> None:
    table = Table(title=f"{result['dataset']}/{result['category']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("image_auroc", "pixel_auroc", "au_pro", "image_f1_max", "auroc_logical", "auroc_structural",
                "fingerprint_auroc", "inference_ms_per_image"):
        if key in result:
            v = result[key]
            table.add_row(key, "absent" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v))
    for t, v in result.get("per_type_auroc", {}).items():
        table.add_row(escape(f"  auroc[{t}]"), "absent" if v is None else f"{v:.4f}")
    console.print(table)


@app.command()
@user_errors
def train(
    data: Path = typer.Option(..., "--data", help="Data-set root or category folder."),
    category: Optional[str] = typer.Option(None, "--category", help="Category (inferred for a category folder)."),
    format: str = FormatOpt,
    profile_name: str = typer.Option("cpu", "--profile", help=f"Configuration profile: {', '.join(PROFILES)}."),
    out: Path = typer.Option(Path("runs/model"), "--out", help="Run folder; the model goes to OUT/model."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (recorded in the model)."),
    overrides: list[str] = typer.Option([], "--set", help="Override a config value, e.g. --set detector.steps=200."),
    evaluate: bool = typer.Option(True, "--evaluate/--no-evaluate", help="Evaluate on the test split afterwards."),
    mask_polarity: str = PolarityOpt,
):
    """Train GRAD on the normal images of one category (PatchDiff, pattern bank, detector, threshold)."""
    from gradad.workflow import test_category, train_category

    cfg = build_config(profile_name, seed, overrides)
    ds = load_category(data, category, format, mask_polarity)
    for note in ds.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    console.print(f"training on {ds.dataset}/{ds.category}: {len(ds.train)} train, {len(ds.val)} validation images")
    with phase_progress() as progress, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"detector\(s\) .* learned nothing")  # a note below says it
        model = train_category(ds, cfg, out, progress)
    t = model.info["timings_s"]
    console.print("timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in t.items()))
    for note in restore_notes(model.info):
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    fp, n = model.info.get("fingerprint_auroc"), model.info.get("fingerprint_images")
    draws = model.info.get("fingerprint_draws", 1)
    console.print(f"threshold {model.threshold:.4f}; fingerprint check AUROC "
                  + (f"{fp:.3f} on {n} held-out images" + (f", each re-noised {draws} times" if draws > 1 else "")
                     if fp is not None else "absent (needs 2 held-out images)"))
    console.print(f"model saved to {out / 'model'}")
    if evaluate and ds.test:
        print_results(test_category(model, ds, out))
        console.print(f"results written to {out / 'results.json'}")
    else:
        from gradad.report import write_training_report

        write_training_report(out, model)
    console.print(f"report written to {out / 'report.html'}")


@app.command()
@user_errors
def test(
    model_path: Path = typer.Option(..., "--model", help="A run folder or its model folder."),
    data: Path = typer.Option(..., "--data", help="Data-set root or category folder."),
    category: Optional[str] = typer.Option(None, "--category"),
    format: str = FormatOpt,
    out: Optional[Path] = typer.Option(None, "--out", help="Where results.json goes (default: the run folder)."),
    mask_polarity: str = PolarityOpt,
):
    """Evaluate a trained model on a category's test split with the official protocols."""
    from gradad.workflow import load_model, test_category

    model, run = load_model(model_path)
    ds = load_category(data, category, format, mask_polarity)
    for note in ds.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    result = test_category(model, ds, out or run)
    print_results(result)
    console.print(f"results written to {(out or run) / 'results.json'}")
    console.print(f"report written to {(out or run) / 'report.html'}")


@app.command()
@user_errors
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Folder for the demo data, model and results."),
    profile_name: str = typer.Option("demo", "--profile", help="Configuration profile."),
    seed: int = typer.Option(0, "--seed"),
):
    """Write the built-in demo data set, train on it and evaluate (logical and structural anomalies)."""
    from gradad.data.demo import DEFECT_GROUPS, write_demo
    from gradad.workflow import test_category, train_category

    data_root = write_demo(out / "data", seed=seed)
    ds = load_category(data_root, None, "mvtec")
    console.print(f"demo data set written to {data_root}")
    cfg = build_config(profile_name, seed, [])
    with phase_progress() as progress:
        model = train_category(ds, cfg, out, progress)
    result = test_category(model, ds, out, type_groups=DEFECT_GROUPS)
    print_results(result)
    console.print(f"results written to {out / 'results.json'}")
    console.print(f"report written to {out / 'report.html'}")
