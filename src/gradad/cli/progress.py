"""Rich progress bars with ETA, one per training phase, fed by GRAD.fit's progress callback."""
from __future__ import annotations

from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from gradad.cli.common import console

PHASES = {"patchdiff": "PatchDiff training", "generation": "Generating contrastive patterns",
          "detector": "Detector training"}


@contextmanager
def phase_progress():
    bars = Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=console)
    tasks: dict[str, int] = {}

    def update(phase: str, step: int, total: int, loss: float) -> None:
        if phase not in tasks:
            tasks[phase] = bars.add_task(PHASES.get(phase, phase), total=total, loss=0.0)
        bars.update(tasks[phase], completed=step, loss=loss)

    with bars:
        yield update
