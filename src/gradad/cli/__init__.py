"""The `gradad` command line: one typer app; each sub-module adds the commands of one pipeline stage."""
from __future__ import annotations

from gradad.cli import data as _data  # noqa: F401  (registers `gradad data ...`)
from gradad.cli import train as _train  # noqa: F401  (registers `gradad train/test/demo`)
from gradad.cli.common import app

__all__ = ["app"]
