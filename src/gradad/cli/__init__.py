"""The `gradad` command line: one typer app; each sub-module adds the commands of one pipeline stage."""
from __future__ import annotations

import typer

from gradad.cli.common import app
from gradad.cli import data as _data  # noqa: F401  (registers `gradad data ...`)

__all__ = ["app", "typer"]
