"""What the batch shows while it runs (a live rich progress bar) and the summary table after."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bankanalysis.batch.jobs import OK_STATUSES, Job, JobResult

__all__ = ["BatchProgress", "summary_table"]

logger = logging.getLogger(__name__)


class BatchProgress:
    """Live progress (rich): done/running/failed, elapsed and ETA."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.running = 0
        self.failed = 0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> BatchProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]reports"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("running {task.fields[running]}  failed {task.fields[failed]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("reports", total=self.total, running=0, failed=0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def event(self, kind: str, job: Job, result: JobResult | None) -> None:
        if kind == "start":
            self.running += 1
        else:
            self.running -= 1
            if result is not None and result.status not in OK_STATUSES:
                self.failed += 1
                logger.warning("%s %s: %s", job.name, result.status, result.error)
        if self._progress is not None:
            self._progress.update(
                self._task,
                advance=1 if kind == "done" else 0,
                running=self.running,
                failed=self.failed,
            )


def summary_table(results: Sequence[JobResult]) -> Any:
    """Return a rich table summarising the results."""
    from rich.table import Table

    table = Table(title="report batch")
    for col in ("job", "status", "seconds", "error"):
        table.add_column(col)
    for r in results:
        colour = "green" if r.status in OK_STATUSES else "red"
        table.add_row(
            r.name,
            f"[{colour}]{r.status}[/{colour}]",
            "" if r.duration_s is None else f"{r.duration_s:.1f}",
            (r.error or "")[:80],
        )
    return table
