"""`gradad generate`: show what PatchDiff makes for a trained model (gallery PNG plus each sample as a PNG)."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from gradad.cli.common import UserError, app, console, user_errors


@app.command()
@user_errors
def generate(
    model_path: Path = typer.Option(..., "--model", help="A run folder or its model folder."),
    out: Path = typer.Option(..., "--out", help="Folder for gallery.png, canvases/ and renoised/."),
    n: int = typer.Option(16, "--n", help="How many of each kind to show."),
    seed: int = typer.Option(0, "--seed", help="Seed for choosing from the bank, or for sampling without one."),
):
    """Write a gallery of contrastive patterns: real normal images, PatchDiff full canvases, re-noised copies.

    Uses the pattern bank cached in the model; a model saved without one is sampled fresh from PatchDiff.
    """
    from gradad.pipeline import GRAD
    from gradad.report.gallery import model_folder, write_gallery

    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    model = GRAD.load(model_folder(model_path), with_bank=True)
    if model.bank is None and model.patchdiff is None:
        raise UserError(f"{model_path}: the model holds neither a pattern bank nor PatchDiff weights; "
                        "nothing to generate from (retrain it with `gradad train`)")
    if model.bank is None:
        console.print("no cached pattern bank in the model: sampling fresh canvases from PatchDiff")
    path = write_gallery(model, out, n=n, seed=seed)
    console.print(f"gallery written to {escape(str(path))}; samples under {escape(str(out))}/canvases and "
                  f"{escape(str(out))}/renoised", soft_wrap=True, highlight=False)
