"""`gradad predict`: score images and folders with a trained model; overlays, predictions.csv/json and a summary."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from gradad.cli.common import UserError, app, console, user_errors

out_console = Console(highlight=False)


@app.command()
@user_errors
def predict(
    inputs: list[Path] = typer.Argument(..., help="Image files and/or folders (searched recursively).",
                                        metavar="IMAGES_OR_FOLDERS", show_default=False),
    model_path: Path = typer.Option(..., "--model", help="A run folder or its model folder."),
    out: Path = typer.Option(..., "--out", help="Folder for overlays/, predictions.csv and predictions.json."),
    threshold: Optional[float] = typer.Option(None, "--threshold",
                                              help="Raw score threshold to use instead of the model's."),
    rate: Optional[float] = typer.Option(None, "--max-false-alarm-rate",
                                         help="Recompute the threshold for this false-alarm rate (0..1) from the "
                                              "model's validation scores."),
    batch_size: int = typer.Option(16, "--batch-size", help="Images per forward pass."),
    backend: str = typer.Option("torch", "--backend", help="torch; torch-bf16 (bfloat16, faster on CPUs with native "
                                "bf16 such as AVX512-BF16/AMX, slower elsewhere); or onnx (onnxruntime; needs the "
                                "export extra)."),
):
    """Flag anomalous images: one overlay per image (heat map, predicted region outlined) and one table per run."""
    from gradad.predict import BACKENDS, CSV_FILE, JSON_FILE, OVERLAYS, PredictError, predict_images

    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}")
    if rate is not None and not 0 < rate < 1:
        raise UserError(f"--max-false-alarm-rate must lie strictly between 0 and 1, got {rate}")
    if threshold is not None and not math.isfinite(threshold):
        raise UserError(f"--threshold must be a finite number, got {threshold}")
    if threshold is not None and rate is not None:
        raise UserError("give --threshold or --max-false-alarm-rate, not both")
    if backend not in BACKENDS:
        raise UserError(f"--backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    bars = Progress(TextColumn("Scoring images"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=True,
                    disable=not console.is_terminal)
    task = bars.add_task("predict", total=None)
    warn = lambda text: console.print(f"[yellow]warning:[/yellow] {escape(text)}", soft_wrap=True)  # noqa: E731
    try:
        with bars:
            run = predict_images(model_path, inputs, out, threshold=threshold, max_false_alarm_rate=rate,
                                 batch_size=batch_size, backend=backend, warn=warn,
                                 progress=lambda done, total: bars.update(task, completed=done, total=total))
    except PredictError as err:
        raise UserError(str(err)) from None
    n = run.counts
    out_console.print(f"{n['images']} images scored: [bold]{n['anomalous']} anomalous[/bold], {n['normal']} normal"
                      + (f"; {n['skipped']} skipped (unreadable, listed in {CSV_FILE})" if n["skipped"] else ""),
                      soft_wrap=True)
    out_console.print(f"threshold {run.threshold.value:.6g}: {escape(run.threshold.describe())}", soft_wrap=True)
    out_console.print(f"wrote {escape(str(run.out / CSV_FILE))}, {JSON_FILE} and {n['images']} overlays under "
                      f"{OVERLAYS}/", soft_wrap=True)
