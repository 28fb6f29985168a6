"""The `gradad` command line: one typer app; each sub-module adds the commands of one pipeline stage."""
from __future__ import annotations

from gradad.cli import data as _data  # noqa: F401  (registers `gradad data ...`)
from gradad.cli import train as _train  # noqa: F401  (registers `gradad train/test/demo`)
from gradad.cli import export as _export  # noqa: F401  (registers `gradad export`)
from gradad.cli import predict as _predict  # noqa: F401  (registers `gradad predict`)
from gradad.cli import generate as _generate  # noqa: F401  (registers `gradad generate`)
from gradad.cli.common import app

__all__ = ["app"]
