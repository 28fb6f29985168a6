"""`gradad data ...`: inspect data sets and write the built-in demo data set."""
from __future__ import annotations

import typer

from gradad.cli.common import app

data_app = typer.Typer(help="Inspect data sets; write the built-in demo data set.", no_args_is_help=True)
app.add_typer(data_app, name="data")
