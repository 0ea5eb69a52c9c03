"""Jobs of the report batch: what to run (:class:`Job`) and what became of it (:class:`JobResult`).

One :class:`Job` is one (region, notebook) pair of a run; both classes are plain picklable
data, handed to worker processes and Dask workers as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bankanalysis.params import notebook_parameters

__all__ = ["BANK_FOLDER", "OK_STATUSES", "Job", "JobResult", "utc_now"]

#: Folder of bank-level reports (notebooks whose scope is ``"bank"``).
BANK_FOLDER = "_bank"
#: Statuses of a job that succeeded: it ran to the end without error, or its outputs were
#: reused from an earlier run with the same job key.
OK_STATUSES = ("ok", "reused")


def utc_now() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ`` (the stamps of manifests and reports)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Job:
    """One notebook run for one region (or the whole bank).

    Attributes
    ----------
    region_id : str or None
        Region id; ``None`` for bank-level notebooks (folder :data:`BANK_FOLDER`).
    notebook : str
        Notebook stem, e.g. ``"01_customer_segmentation"``.
    notebook_path : Path
        Source notebook.
    run_dir : Path
        ``reports/<run-id>``.
    params : dict
        Validated merged parameters (runtime keys filled in).
    key : str
        :func:`~bankanalysis.batch.keys.job_key` of the job.
    header : dict
        Report header fields known before the run (see
        :class:`bankanalysis.report.html.ReportHeader`).
    kernel_name : str
        Jupyter kernel to run the notebook with.
    model_key : str
        Key of the cached models the notebook fits or loads ("" for none); jobs sharing one
        wait for the first to fit them (see :func:`~bankanalysis.batch.plan.execution_order`).
    warm_kernel : bool
        Start the kernel by forking the worker's pre-imported zygote
        (:mod:`bankanalysis.batch.kernels`): a new process per job, as isolated as a fresh kernel,
        without the seconds of start-up and imports. ``False``: a fresh
        ``python -m ipykernel_launcher`` process. Not part of the job key (results are the same).
    """

    region_id: str | None
    notebook: str
    notebook_path: Path
    run_dir: Path
    params: dict[str, Any]
    key: str = ""
    header: dict[str, Any] = field(default_factory=dict)
    kernel_name: str = "python3"
    model_key: str = ""
    warm_kernel: bool = True

    @property
    def folder(self) -> str:
        """Folder name of the job's reports under the run folder."""
        return self.region_id or BANK_FOLDER

    @property
    def name(self) -> str:
        """``<folder>/<notebook>``, unique within a run."""
        return f"{self.folder}/{self.notebook}"

    @property
    def html_path(self) -> Path:
        return self.run_dir / self.folder / f"{self.notebook}.html"

    @property
    def ipynb_path(self) -> Path:
        return self.run_dir / self.folder / f"{self.notebook}.ipynb"

    @property
    def output_dir(self) -> Path:
        """Where the notebook writes ``metrics.json`` and side outputs (lead lists)."""
        return self.run_dir / self.folder / self.notebook

    @property
    def timeout_s(self) -> float:
        return float(self.params.get("timeout_minutes", 20)) * 60.0

    def injected(self) -> dict[str, Any]:
        """Parameters papermill injects into the notebook."""
        return notebook_parameters(self.params)


@dataclass
class JobResult:
    """What became of a job. Paths are relative to the run folder."""

    name: str
    region_id: str | None
    notebook: str
    status: str = "not_run"
    duration_s: float | None = None
    started: str | None = None
    finished: str | None = None
    error: str | None = None
    error_cell: int | None = None
    html: str | None = None
    ipynb: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    #: Files holding customer or manager ids (``{"path", "audience"}``): listed, never linked
    #: (:mod:`bankanalysis.data.restricted`).
    restricted: list[dict[str, str]] = field(default_factory=list)
    worker_pid: int | None = None
    #: Run id whose outputs were reused instead of executing (incremental re-runs).
    reused_from: str | None = None
    #: How the job's kernel was started: ``"warm"`` (forked from the worker's zygote,
    #: :mod:`bankanalysis.batch.kernels`) or ``"fresh"`` (a new ``ipykernel_launcher``
    #: process); ``None`` when no kernel ran for it (reused, or the job never started).
    kernel: str | None = None

    @classmethod
    def for_job(cls, job: Job, **kw: Any) -> JobResult:
        return cls(name=job.name, region_id=job.region_id, notebook=job.notebook, **kw)
