"""`gradad data ...`: inspect data sets and write the built-in demo data set."""
from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gradad.cli.common import app, user_errors
from gradad.data import describe

data_app = typer.Typer(help="Inspect data sets; write the built-in demo data set.", no_args_is_help=True)
app.add_typer(data_app, name="data")
out = Console(highlight=False)


class DataFormat(str, Enum):
    auto = "auto"
    mvtec = "mvtec"
    loco = "loco"
    visa = "visa"
    folder = "folder"


def _size(hw: tuple[int, int] | None) -> str:
    return f"{hw[0]}x{hw[1]}" if hw else "-"


def _category_table(summary: dict) -> Table:
    """One category: a row per split and per defect type, with image and mask counts."""
    table = Table()
    table.add_column("split")
    table.add_column("defect type")
    table.add_column("images", justify="right")
    table.add_column("masks", justify="right")
    table.add_row("train", "good", str(summary["train"]), "")
    table.add_row("val", "good", str(summary["val"]), "")
    table.add_row("test", "good", str(summary["test_good"]), "")
    for kind, counts in summary["defect_types"].items():
        table.add_row("test", escape(kind), str(counts["images"]), f"{counts['masks']}/{counts['images']}")
    return table


def _print_category(summary: dict) -> None:
    out.print(f"[bold]{escape(summary['category'])}[/bold]  {summary['dataset']}  {escape(summary['root'])}",
              soft_wrap=True)
    out.print(_category_table(summary))
    out.print(f"  image size (HxW, min .. max per side): {_size(summary['size_min'])} .. {_size(summary['size_max'])}")
    if summary["has_pixel_masks"]:
        out.print("  masks: every anomalous test image")
    else:
        out.print("  masks: [yellow]incomplete[/yellow], pixel metrics will be absent")
    if summary["defects_config"] is not None:
        out.print(f"  defects_config.json: {summary['defects_config']} defect entries")
    for note in summary["notes"]:
        out.print(f"  [yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    out.print()


@data_app.command("info")
@user_errors
def info(
    path: Path = typer.Argument(..., help="Data-set root, or one category folder of it."),
    format: DataFormat = typer.Option(DataFormat.auto, "--format", "-f", help="Layout; auto detects it."),
    category: str | None = typer.Option(None, "--category", "-c", help="Show only this category."),
) -> None:
    """Show per category: images per split and defect type, image sizes, masks and warnings."""
    for summary in describe(path, format.value, category):
        _print_category(summary)


@data_app.command("demo")
@user_errors
def demo(
    out_dir: Path = typer.Option(..., "--out", help="Folder to write into (new, empty, or a previous demo folder)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Same seed, byte-identical files."),
    size: int = typer.Option(128, "--size", min=32, max=1024, help="Image side in pixels."),
) -> None:
    """Write the built-in synthetic demo data set (MVTec AD layout, exact masks) to --out."""
    from gradad.data.demo import DEFECT_GROUPS, write_demo

    category_dir = write_demo(out_dir, seed=seed, size=size)
    count = lambda d: sum(1 for _ in d.glob("*.png"))  # noqa: E731
    test = {d.name: count(d) for d in sorted((category_dir / "test").iterdir())}
    out.print(f"wrote demo data set to {escape(str(category_dir))} (seed {seed}, {size}x{size})", soft_wrap=True)
    out.print(f"  train/good: {count(category_dir / 'train' / 'good')}  test/good: {test.pop('good', 0)}")
    for group in ("structural", "logical"):
        kinds = [k for k, g in DEFECT_GROUPS.items() if g == group]
        out.print(f"  {group}: " + ", ".join(f"{k} {test.get(k, 0)}" for k in kinds), soft_wrap=True)
