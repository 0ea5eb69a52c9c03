"""Time a batch job spends computing figures the whole run shares, so its timeout does not
count it.

The first report of a run computes the figures every other report reads back (the bank's
standing, its whole-bank tiers, the run-wide disclosure decisions:
:func:`~bankanalysis.propensity.cache.cached_for_data`). That work grows with the bank, not
with the report's region: at 10 million customers it alone took the first report past its
20-minute ``timeout_minutes``, and the report was killed for work done for all of them. So:

- the batch marks a job's working folder (:func:`mark_job_folder`, :data:`MARKER`);
- a kernel computing a shared figure in such a folder records how long it takes
  (:func:`shared_work`, in :data:`LEDGER`; outside a batch job, e.g. in JupyterLab, nothing
  is written);
- the job's watchdog extends its deadline by those seconds (:func:`credited_seconds`), up to
  :data:`MAX_CREDIT` times the timeout, so a hung computation still ends.

Nothing happens on import.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "LEDGER",
    "MARKER",
    "MAX_CREDIT",
    "credited_seconds",
    "mark_job_folder",
    "shared_work",
]

#: File the batch writes into a job's working folder (the kernel's current directory).
MARKER = ".bankanalysis-job"
#: File a kernel writes there: ``{"seconds": done, "since": start of the one in progress}``.
LEDGER = ".bankanalysis-shared-work.json"
#: The most a job's deadline is extended, as a multiple of its timeout.
MAX_CREDIT = 2.0

_depth = 0  # shared figures computed inside another's computation count once


def mark_job_folder(folder: Path) -> None:
    """Mark ``folder`` as a batch job's working folder (before its kernel starts)."""
    (Path(folder) / MARKER).write_text("", encoding="utf-8")


def _write(folder: Path, ledger: dict[str, float | None]) -> None:
    tmp = folder / f"{LEDGER}.tmp"
    tmp.write_text(json.dumps(ledger), encoding="utf-8")
    os.replace(tmp, folder / LEDGER)


def _read(folder: Path) -> dict[str, float | None]:
    try:
        return json.loads((Path(folder) / LEDGER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"seconds": 0.0, "since": None}


@contextlib.contextmanager
def shared_work() -> Iterator[None]:
    """Around the computation of a figure every report of the run reads: in a batch job's
    working folder, its wall seconds are added to the folder's :data:`LEDGER` (the one in
    progress as ``since``); elsewhere nothing is written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     here = os.getcwd()
    ...     os.chdir(d)
    ...     try:
    ...         with shared_work():
    ...             marked_before = os.path.exists(LEDGER)
    ...         mark_job_folder(Path(d))
    ...         with shared_work():
    ...             running = credited_seconds(Path(d)) >= 0 and _read(Path(d))["since"] is not None
    ...         done = _read(Path(d))
    ...     finally:
    ...         os.chdir(here)
    >>> marked_before, running, done["since"], done["seconds"] >= 0
    (False, True, None, True)
    """
    global _depth
    folder = Path.cwd()
    if _depth or not (folder / MARKER).exists():
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    done = float(_read(folder).get("seconds") or 0.0)
    start = time.time()
    _depth += 1
    _write(folder, {"seconds": done, "since": start})
    try:
        yield
    finally:
        _depth -= 1
        _write(folder, {"seconds": done + time.time() - start, "since": None})


def credited_seconds(folder: Path) -> float:
    """Seconds the kernel working in ``folder`` has spent on shared figures so far (the one
    in progress included); 0 when it has spent none or the folder is not a job's."""
    ledger = _read(folder)
    seconds = float(ledger.get("seconds") or 0.0)
    since = ledger.get("since")
    if since is not None:
        seconds += max(0.0, time.time() - float(since))
    return seconds
