"""`gradad export`: write a trained model as one deployable file (ONNX or TorchScript) plus a JSON sidecar."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gradad.cli.common import UserError, app, console, user_errors


@app.command()
@user_errors
def export(
    model_path: Path = typer.Option(..., "--model", help="A run folder or its model folder."),
    format: str = typer.Option("onnx", "--format", help="onnx or torchscript."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output file or folder (default: "
                                       "model.onnx or model.torchscript.pt in the model folder)."),
):
    """Export detector + post-processing as one graph (dynamic batch) with threshold and pre-processing metadata."""
    from gradad.export.exporters import FORMATS, export_onnx, export_torchscript, sidecar
    from gradad.workflow import MODEL_DIR, load_model

    if format not in FORMATS:
        raise UserError(f"--format {format!r}: choose one of {', '.join(FORMATS)}")
    model, _ = load_model(model_path)
    folder = model_path / MODEL_DIR if (model_path / MODEL_DIR).is_dir() else model_path
    target = out / FORMATS[format] if out and out.is_dir() else out or folder / FORMATS[format]
    write = {"onnx": export_onnx, "torchscript": export_torchscript}[format]
    try:
        write(model, target)
    except ModuleNotFoundError as err:
        raise UserError(f"--format {format} needs {err.name}: pip install 'gradad[export]'") from None
    console.print(f"{format} model written to {target} (metadata: {sidecar(target)})")
