"""Shared CLI plumbing: the root app and the rule that user errors are one line and a non-zero exit code."""
from __future__ import annotations

import functools
import sys

import typer
from rich.console import Console
from rich.markup import escape

from gradad.data.base import DatasetError
from gradad.modelfile import ModelFileError

app = typer.Typer(
    name="gradad",
    help="Unsupervised visual anomaly detection with GRAD: no pretrained weights, fast CPU inference.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)


class UserError(Exception):
    """A mistake in what the user typed or pointed at; shown as one line, never a traceback."""


USER_ERRORS = (UserError, DatasetError, ModelFileError, FileNotFoundError, NotADirectoryError, PermissionError)


def user_errors(fn):
    """Turn user errors into `error: <message>` on stderr and exit code 2; Ctrl-C into a resume hint and 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as err:
            console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
            sys.exit(2)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted.[/yellow] Run the same command again to resume: completed phases "
                          "(PatchDiff and the pattern bank) are kept in the run folder's checkpoint/.", highlight=False)
            sys.exit(130)

    return wrapper
