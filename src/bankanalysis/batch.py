"""The report batch: jobs, executors, progress, manifest, the index and ``reports/latest``.

One :class:`Job` is one (region, notebook) pair. :func:`plan_jobs` validates every parameter
before any kernel starts and builds the jobs; an :class:`Executor` runs them
(:class:`LocalProcessExecutor`: a pool of worker processes, each running papermill with its
own working directory; :class:`DaskExecutor`: tasks on a Dask distributed cluster); :func:`execute_job`
is the unit of work a worker runs (papermill, then the HTML report in-process);
:func:`run_batch` ties it together and writes ``manifest.json``, ``index.html`` and switches
``reports/latest`` atomically when the run is complete.

Every job carries a :func:`job_key` (notebook cells without outputs, merged parameters, the
source of the whole ``bankanalysis`` package, the processed-data fingerprint and, for notebooks
using cached propensity models, the model cache key), recorded in the manifest and in the
reports folder's job-key index ``.jobcache.json``. With ``reuse=True`` (``bankanalysis run``
without ``--force``) a job whose key matches a successful job of an earlier run is not
executed: its outputs are hard-linked into the new run. Editing ANY module of the package
changes every key, so it re-runs everything (imports are not traced).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from bankanalysis import __version__
from bankanalysis.exceptions import BatchError, ParameterError
from bankanalysis.params import (
    NOTEBOOK_PARAMS,
    check_safe_id,
    notebook_parameters,
    validate_batch_params,
)

__all__ = [
    "BANK_FOLDER",
    "DaskExecutor",
    "Executor",
    "Job",
    "JobResult",
    "LocalProcessExecutor",
    "RunResult",
    "default_run_id",
    "execute_job",
    "job_key",
    "load_job_index",
    "model_cache_extra",
    "notebook_content_hash",
    "package_source_hash",
    "plan_jobs",
    "record_jobs",
    "reuse_job",
    "run_batch",
    "source_tree_hash",
    "switch_latest",
]

logger = logging.getLogger(__name__)

#: Folder of bank-level reports (notebooks whose scope is ``"bank"``).
BANK_FOLDER = "_bank"
#: Statuses of a job that succeeded: it ran to the end without error, or its outputs were
#: reused from an earlier run with the same job key.
OK_STATUSES = ("ok", "reused")
#: Seconds a worker may overrun a job's timeout before the parent kills the worker itself.
HARD_TIMEOUT_GRACE_S = 60.0
_ENGINE = "bankanalysis"
#: Parameters that differ between runs without changing results (left out of job keys).
_KEYLESS_PARAMS = ("output_dir", "run_id", "processed_dir", "timeout_minutes")


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- jobs


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
        :func:`job_key` of the job.
    header : dict
        Report header fields known before the run (see :class:`bankanalysis.report.html.ReportHeader`).
    kernel_name : str
        Jupyter kernel to run the notebook with.
    model_key : str
        Key of the cached models the notebook fits or loads ("" for none); jobs sharing one
        wait for the first to fit them (see :func:`execution_order`).
    warm_kernel : bool
        Start the kernel by forking the worker's pre-imported zygote
        (:mod:`bankanalysis.kernels`): a new process per job, as isolated as a fresh kernel,
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
    worker_pid: int | None = None
    #: Run id whose outputs were reused instead of executing (incremental re-runs).
    reused_from: str | None = None

    @classmethod
    def for_job(cls, job: Job, **kw: Any) -> JobResult:
        return cls(name=job.name, region_id=job.region_id, notebook=job.notebook, **kw)


@lru_cache(maxsize=1)
def package_source_hash() -> str:
    """Return a sha256 over every source file of the installed ``bankanalysis`` package.

    Any edit to any module changes it, so every job's key changes: an edited package
    re-runs every report (the conservative choice; import tracing is not attempted).
    """
    import bankanalysis

    return source_tree_hash(Path(bankanalysis.__file__).parent)


def source_tree_hash(root: str | Path) -> str:
    """Return a sha256 over the names and bytes of the ``.py``/``.j2``/``.css``/``.json``
    files under ``root`` (``__pycache__`` left out); see :func:`package_source_hash`."""
    root = Path(root)
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if (
            p.is_file()
            and p.suffix in (".py", ".j2", ".css", ".json")
            and "__pycache__" not in p.parts
        ):
            h.update(p.relative_to(root).as_posix().encode())
            h.update(b"\0")
            h.update(p.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def notebook_content_hash(notebook_path: str | Path) -> str:
    """Return a sha256 of a notebook's cells, ignoring outputs and execution counts.

    Running a notebook in JupyterLab (which fills outputs and counts) or re-saving it does not
    change the hash; editing a cell's source, type or metadata (e.g. the ``parameters`` tag)
    does. A file that is not notebook JSON is hashed byte for byte.
    """
    raw = Path(notebook_path).read_bytes()
    try:
        nb = json.loads(raw)
        cells = [
            {
                "cell_type": c.get("cell_type"),
                "source": "".join(c.get("source", ""))
                if isinstance(c.get("source"), list)
                else c.get("source", ""),
                "metadata": c.get("metadata", {}),
            }
            for c in nb["cells"]
        ]
        text = json.dumps(
            {"cells": cells, "kernelspec": nb.get("metadata", {}).get("kernelspec")},
            sort_keys=True,
            ensure_ascii=True,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(text.encode()).hexdigest()


def model_cache_extra(params: Mapping[str, Any], data_fingerprint: str) -> dict[str, str]:
    """Return ``{"model_cache": key}`` for a job that uses cached propensity models, else ``{}``.

    The key is the propensity package's own :func:`bankanalysis.propensity.cache.cache_key`
    over the fingerprint and the training settings derived from ``params``.
    """
    if not params.get("use_model_cache"):
        return {}
    from bankanalysis.propensity.cache import cache_key
    from bankanalysis.propensity.training import TrainingSettings

    settings = TrainingSettings.from_params(dict(params))
    return {"model_cache": cache_key(data_fingerprint, settings.cache_params())}


def job_key(
    notebook_path: str | Path,
    params: Mapping[str, Any],
    package_hash: str,
    data_fingerprint: str,
    extra: Mapping[str, str] | None = None,
) -> str:
    """Return the key of a job: equal keys mean equal inputs, so outputs can be reused.

    Parameters
    ----------
    notebook_path : str or Path
        Source notebook (its cells enter the key, outputs and execution counts do not:
        :func:`notebook_content_hash`).
    params : dict
        Merged parameters; paths, run id and timeout are left out (they do not change results).
    package_hash : str
        :func:`package_source_hash`.
    data_fingerprint : str
        Processed-data fingerprint (``_manifest.json``).
    extra : dict, optional
        Further inputs, e.g. a model cache key.

    Returns
    -------
    str
        Hex sha256.
    """
    payload = {
        "notebook": notebook_content_hash(notebook_path),
        "params": {k: v for k, v in params.items() if k not in _KEYLESS_PARAMS},
        "package": package_hash,
        "data": data_fingerprint,
        "extra": dict(extra or {}),
    }
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def default_run_id(now: datetime | None = None) -> str:
    """Return a run id from the UTC time, e.g. ``20261130T041502Z``."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def git_commit(root: Path) -> str:
    """Return the project's git commit (``+dirty`` when tracked files changed), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def versions() -> dict[str, str]:
    """Versions of the software that shapes the reports."""
    from importlib import metadata

    out = {"bankanalysis": __version__, "python": sys.version.split()[0]}
    for dist in (
        "pandas",
        "numpy",
        "scikit-learn",
        "matplotlib",
        "seaborn",
        "papermill",
        "nbconvert",
        "ipykernel",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def _echelon_label(row: Mapping[str, Any]) -> str:
    ech = row.get("echelon")
    name = row.get("echelon_name")
    if name is None or (isinstance(name, float) and name != name):
        from bankanalysis.contract import ECHELONS

        name = ECHELONS.get(int(ech), "") if ech is not None else ""
    return f"{ech} ({name})" if name else str(ech)


@dataclass
class Plan:
    """Validated jobs and the run-level facts of a batch."""

    run_id: str
    run_dir: Path
    jobs: list[Job]
    notebooks: list[str]
    regions: list[dict[str, Any]]
    data: dict[str, Any]
    git_commit: str
    package_hash: str
    bank: Any = None
    #: Model cache keys computed for this plan (memo key -> key), to remember in ``out``.
    model_keys: dict[str, str] = field(default_factory=dict)


def _resolve_processed(processed_dir: str | Path | None) -> Path:
    from bankanalysis.config import Paths

    if processed_dir is not None:
        return Path(processed_dir).resolve()
    env = os.environ.get("BANKANALYSIS_PROCESSED")
    return Path(env).resolve() if env else Paths.default().processed.resolve()


def plan_jobs(
    *,
    regions: Sequence[str] | None,
    notebooks: Sequence[str] | None,
    run_id: str | None,
    out: str | Path,
    processed_dir: str | Path | None = None,
    params_dir: str | Path | None = None,
    notebooks_dir: str | Path | None = None,
    timeout_minutes: float | None = None,
    kernel_name: str = "python3",
    bank: Any = None,
) -> Plan:
    """Validate everything and build the jobs; no kernel is started and nothing is written.

    Raises
    ------
    ParameterError
        Listing every problem: parameters, regions, months, unknown or missing notebooks,
        unsafe or taken run id.
    """
    from bankanalysis.config import Paths

    paths = Paths.default()
    params_dir = Path(params_dir) if params_dir is not None else paths.params
    nb_dir = Path(notebooks_dir) if notebooks_dir is not None else paths.notebooks
    out = Path(out)
    problems: list[str] = []
    if run_id is not None and check_safe_id(run_id, "run id"):
        problems.append(check_safe_id(run_id, "run id"))
    elif run_id is not None and (out / run_id).exists():
        problems.append(f"run id {run_id!r} already exists in {out}; choose another --run-id")
    if timeout_minutes is not None and not timeout_minutes > 0:
        problems.append(f"--timeout-minutes must be positive, got {timeout_minutes}")
    if notebooks is None:
        wanted = [nb for nb in NOTEBOOK_PARAMS if (nb_dir / f"{nb}.ipynb").is_file()]
        missing = [nb for nb in NOTEBOOK_PARAMS if nb not in wanted]
        if missing:
            logger.warning("notebooks not found in %s, skipped: %s", nb_dir, ", ".join(missing))
        if not wanted:
            problems.append(f"no report notebooks found in {nb_dir}")
    else:
        wanted = list(dict.fromkeys(notebooks))
        for nb in wanted:
            if nb in NOTEBOOK_PARAMS and not (nb_dir / f"{nb}.ipynb").is_file():
                problems.append(f"notebook {nb!r}: file {nb_dir / (nb + '.ipynb')} not found")
    processed = _resolve_processed(processed_dir)
    if bank is None:
        from bankanalysis.data.load import load_processed

        bank = load_processed(processed)
    try:
        per_job = validate_batch_params(params_dir, regions, wanted, bank)
    except ParameterError as exc:
        problems.extend(exc.problems)
        per_job = {}
    if problems:
        raise ParameterError(list(dict.fromkeys(problems)), source=str(params_dir))

    if run_id is None:
        run_id = default_run_id()
        n = 2
        while (out / run_id).exists():
            run_id = f"{default_run_id()}-{n}"
            n += 1
    run_dir = (out / run_id).resolve()
    manifest = dict(getattr(bank, "manifest", {}) or {})
    fingerprint = str(manifest.get("fingerprint", ""))
    months = list(bank.months)
    data = {
        "fingerprint": fingerprint,
        "data_month": getattr(bank, "data_month", months[-1] if months else None),
        "months": [months[0], months[-1]] if months else [],
        "processed_dir": str(processed),
    }
    reg_rows = {str(r["region_id"]): r for r in bank.regions.to_dict("records")}
    commit = git_commit(paths.root)
    pkg = package_source_hash()
    # model cache keys remembered in the reports folder: a no-change re-run then never
    # imports the modelling stack (about a second) just to recompute them
    known_model_keys = _read_model_keys(out)
    memo: dict[str, Any] = {"known": known_model_keys, "new": {}, "package": pkg}
    jobs: list[Job] = []
    used_regions: list[str] = []
    for (rid, nb), params in per_job.items():
        p = dict(params)
        p.update(
            region_id=rid,
            processed_dir=str(processed),
            output_dir=str(run_dir / (rid or BANK_FOLDER) / nb),
            run_id=run_id,
        )
        if timeout_minutes is not None:
            p["timeout_minutes"] = float(timeout_minutes)
        row = reg_rows.get(rid or "", {})
        header = {
            "region_id": rid,
            "region_name": None if rid is None else str(row.get("name", rid)),
            "echelon": None if rid is None else _echelon_label(row),
            "data_month": p.get("data_month") or data["data_month"],
            "fingerprint": fingerprint,
            "package_version": __version__,
            "git_commit": commit,
            "run_id": run_id,
        }
        nb_path = (nb_dir / f"{nb}.ipynb").resolve()
        extra = _model_extra(p, fingerprint, memo)
        key = job_key(nb_path, p, pkg, fingerprint, extra=extra)
        job = Job(rid, nb, nb_path, run_dir, p, key, header, kernel_name)
        jobs.append(replace(job, model_key=extra.get("model_cache", "")))
        if rid is not None and rid not in used_regions:
            used_regions.append(rid)
    order = {nb: i for i, nb in enumerate(NOTEBOOK_PARAMS)}
    region_order = {r: i for i, r in enumerate(reg_rows)}
    jobs.sort(
        key=lambda j: (
            j.region_id is not None,
            region_order.get(j.region_id or "", -1),
            order[j.notebook],
        )
    )
    regions_info = [
        {
            "region_id": r,
            "name": str(reg_rows[r].get("name", r)),
            "echelon": _echelon_label(reg_rows[r]),
        }
        for r in sorted(used_regions, key=lambda r: region_order[r])
    ]
    return Plan(
        model_keys=memo["new"],
        run_id=run_id,
        run_dir=run_dir,
        jobs=jobs,
        notebooks=[nb for nb in NOTEBOOK_PARAMS if nb in wanted],
        regions=regions_info,
        data=data,
        git_commit=commit,
        package_hash=pkg,
        bank=bank,
    )


# --------------------------------------------------------------------------- one job


_ACTIVE_CLIENTS: dict[int, Any] = {}


def _register_engine() -> None:
    """Register a papermill engine that exposes the running notebook client to the watchdog."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class _WatchedEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
            from papermill.utils import merge_kwargs, remove_args

            kwargs = remove_args(["input_path"], **kwargs)
            timeout = kwargs.pop("execution_timeout", None)
            start_timeout = kwargs.pop("start_timeout", 60)
            final = merge_kwargs(
                remove_args(["timeout", "startup_timeout"], **kwargs),
                timeout=timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
            )
            client = PapermillNotebookClient(nb_man, **final)
            _ACTIVE_CLIENTS[threading.get_ident()] = client
            try:
                return client.execute()
            finally:
                _ACTIVE_CLIENTS.pop(threading.get_ident(), None)

    papermill_engines.register(_ENGINE, _WatchedEngine)


def _kill_kernel(thread_id: int, fired: threading.Event) -> None:
    """Watchdog action: kill the kernel (and its children) of the job running on a thread."""
    import psutil

    fired.set()
    client = _ACTIVE_CLIENTS.get(thread_id)
    km = getattr(client, "km", None)
    pid = getattr(getattr(km, "provisioner", None), "pid", None)
    if pid is None:
        return
    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(pid)
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        proc.kill()
        logger.warning("timeout: killed kernel %s", pid)


def _prepare_env() -> None:
    """Environment every kernel inherits: inline figures, fixed hash seed."""
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def _ipc_kernel_config(workdir: Path) -> Any:
    """Kernel-manager config using IPC sockets under ``workdir`` (no TCP port race)."""
    from traitlets.config import Config

    cfg = Config()
    cfg.KernelManager.transport = "ipc"
    cfg.KernelManager.ip = str(workdir / "kernel")
    return cfg


def execute_job(job: Job) -> JobResult:
    """Run one job: papermill with a watchdog, then the HTML report; never raises for a
    failing notebook.

    The notebook runs in a fresh temporary working directory. After ``timeout_minutes`` the
    kernel is killed. Whatever happened, the executed notebook is kept, the failing cell is
    marked and the report is rendered with the error visible.

    Parameters
    ----------
    job : Job
        The job.

    Returns
    -------
    JobResult
        Status ``ok``, ``failed`` (the notebook raised), ``timeout`` or ``killed`` (the
        kernel died).
    """
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    _prepare_env()
    from papermill.engines import papermill_engines

    if _ENGINE not in papermill_engines._engines:
        _register_engine()
    t0 = time.monotonic()
    started = _utc_now()
    job.output_dir.mkdir(parents=True, exist_ok=True)
    status, error = "ok", None
    fired = threading.Event()
    timer = threading.Timer(job.timeout_s, _kill_kernel, args=(threading.get_ident(), fired))
    timer.daemon = True
    workdir = tempfile.mkdtemp(prefix=f"bankanalysis-{job.folder}-{job.notebook}-")
    warm: dict[str, Any] = {}
    if job.warm_kernel:
        from bankanalysis.kernels import WarmKernelManager

        warm["kernel_manager_class"] = WarmKernelManager
    try:
        timer.start()
        papermill.execute_notebook(
            str(job.notebook_path),
            str(job.ipynb_path),
            parameters=job.injected(),
            engine_name=_ENGINE,
            kernel_name=job.kernel_name,
            cwd=workdir,
            progress_bar=False,
            log_output=False,
            start_timeout=120,
            # kernels talk over IPC sockets in the job's own folder: with TCP, kernels
            # started at the same moment could pick the same free port (ZMQError: Address
            # already in use, nteract/papermill#511)
            config=_ipc_kernel_config(Path(workdir)),
            # per-cell backstop; the watchdog (whole notebook) normally fires first
            execution_timeout=job.timeout_s + 30,
            **warm,
        )
    except PapermillExecutionError as exc:
        status, error = "failed", f"{exc.ename}: {exc.evalue}"
    except DeadKernelError as exc:
        status = "timeout" if fired.is_set() else "killed"
        error = f"kernel died ({exc})" if status == "killed" else None
    except Exception as exc:  # noqa: BLE001 - any failure of one job must not stop the batch
        status = "timeout" if fired.is_set() else "failed"
        error = f"{type(exc).__name__}: {exc}"
    finally:
        timer.cancel()
        shutil.rmtree(workdir, ignore_errors=True)
    if fired.is_set():  # whatever the kill looked like from inside, it was the timeout
        status = "timeout"
        error = f"timed out after {job.timeout_s / 60:g} minutes (timeout_minutes)"
    return finish_job(job, status, error, started, time.monotonic() - t0)


def _collect_outputs(job: Job) -> tuple[dict[str, Any], list[str]]:
    from bankanalysis.metrics import read_metrics

    metrics: dict[str, Any] = {}
    mpath = job.output_dir / "metrics.json"
    if mpath.is_file():
        try:
            metrics = read_metrics(mpath)
        except (OSError, ValueError) as exc:
            logger.warning("%s: unreadable metrics.json (%s)", job.name, exc)
    outputs = (
        sorted(
            p.relative_to(job.run_dir).as_posix()
            for p in job.output_dir.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )
        if job.output_dir.is_dir()
        else []
    )
    return metrics, outputs


def finish_job(
    job: Job, status: str, error: str | None, started: str, duration_s: float
) -> JobResult:
    """Mark the failing cell, render the HTML report and collect metrics of a finished job."""
    import nbformat

    from bankanalysis.data.atomic import atomic_write_text
    from bankanalysis.report.html import (
        ReportHeader,
        find_error,
        mark_failed_cell,
        render_report,
        report_title,
    )

    result = JobResult.for_job(job, status=status, error=error, started=started)
    result.worker_pid = os.getpid()
    try:
        if job.ipynb_path.is_file():
            nb = nbformat.read(str(job.ipynb_path), as_version=4)
        else:  # the kernel never started: report the source notebook with the error
            nb = nbformat.read(str(job.notebook_path), as_version=4)
        if status not in OK_STATUSES:
            found = find_error(nb)
            if found is not None:
                idx, ename, evalue = found
                if result.error is None:
                    result.error = f"{ename}: {evalue}".strip(": ")
            else:
                idx = next(
                    (
                        i
                        for i, c in enumerate(nb.cells)
                        if c.cell_type == "code" and c.get("execution_count") is None
                    ),
                    len(nb.cells),
                )
            nb = mark_failed_cell(nb, idx, result.error or status)
            result.error_cell = idx
            atomic_write_text(job.ipynb_path, nbformat.writes(nb))
        header = ReportHeader(
            title=report_title(nb, job.notebook),
            parameters={
                k: v for k, v in job.injected().items() if k not in ("processed_dir", "output_dir")
            },
            run_time=_utc_now(),
            status=status,
            error=result.error,
            job_key=job.key,
            **{k: v for k, v in job.header.items()},
        )
        side = {}
        if job.output_dir.is_dir():
            rel = os.path.relpath(job.output_dir, job.html_path.parent)
            side = {
                f.name: f"{Path(rel).as_posix()}/{f.name}"
                for f in job.output_dir.iterdir()
                if f.is_file() and not f.name.startswith(".")
            }
        atomic_write_text(job.html_path, render_report(nb, header, side_files=side))
        result.html = job.html_path.relative_to(job.run_dir).as_posix()
    except Exception as exc:  # noqa: BLE001 - report the rendering problem, keep going
        logger.exception("%s: could not render the report", job.name)
        result.status = "failed"
        result.error = (
            f"{result.error + '; ' if result.error else ''}report: {type(exc).__name__}: {exc}"
        )
    if job.ipynb_path.is_file():
        result.ipynb = job.ipynb_path.relative_to(job.run_dir).as_posix()
    result.metrics, result.outputs = _collect_outputs(job)
    result.finished = _utc_now()
    result.duration_s = round(duration_s, 3)
    return result


# --------------------------------------------------------------------------- executors

#: ``on_event(kind, job, result)`` with kind ``"start"`` (result None) or ``"done"``.
EventCallback = Callable[[str, Job, "JobResult | None"], None]


class Executor(ABC):
    """Runs jobs. Implementations: :class:`LocalProcessExecutor`, :class:`DaskExecutor`.

    Contract: :meth:`run` returns one :class:`JobResult` per job, in job order; a failing
    job never stops the others; on ``KeyboardInterrupt`` (Ctrl-C or SIGTERM) it stops every
    worker and kernel and returns, unfinished jobs marked ``interrupted`` or ``not_run``.

    The unit of work is :func:`execute_job` (a picklable :class:`Job` in, a
    :class:`JobResult` out; it enforces the job's timeout itself), so a Dask executor is
    ``client.submit(execute_job, job, pure=False)`` per job and ``as_completed`` calling
    ``on_event``; its workers need ``nthreads=1`` (papermill changes the working directory)
    and must see the run folder and the processed data under the same paths.
    """

    @abstractmethod
    def run(self, jobs: Sequence[Job], on_event: EventCallback) -> list[JobResult]:
        """Run ``jobs``; call ``on_event`` when each starts and finishes."""


#: Thread-pool variables of numpy/scipy (BLAS) and scikit-learn (OpenMP).
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads(threads: int) -> None:
    """Cap the BLAS/OpenMP threads of the kernels this process starts (unless set already).

    With one worker per core, kernels that each start a thread per core oversubscribe the
    machine; OpenMP's spinning threads then make k-means and boosting several times slower.
    Dask workers apply the same cap (one thread) by default.
    """
    for var in _THREAD_VARS:
        os.environ.setdefault(var, str(max(1, int(threads))))


def _worker_main(task_q: Any, result_q: Any, threads: int = 1) -> None:
    """Loop of a worker process: take a job, run it, report; ``None`` ends the loop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides about interrupts
    _prepare_env()
    limit_threads(threads)
    import papermill  # noqa: F401 - import once per worker, not once per job

    from bankanalysis.kernels import stop_process_zygote

    try:
        while True:
            item = task_q.get()
            if item is None:
                return
            idx, job = item
            try:
                result = execute_job(job)
            except BaseException as exc:  # noqa: BLE001 - reported, worker keeps going
                result = JobResult.for_job(
                    job, status="failed", error=f"{type(exc).__name__}: {exc}"
                )
            result_q.put((idx, result))
    finally:
        stop_process_zygote()


def _kill_tree(pid: int) -> None:
    import psutil

    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(pid)
        children = proc.children(recursive=True)
        for p in [*children, proc]:
            with contextlib.suppress(psutil.Error):
                p.kill()


@dataclass
class _Worker:
    proc: Any
    task_q: Any
    idx: int | None = None
    since: float = 0.0


class LocalProcessExecutor(Executor):
    """A pool of ``n_workers`` worker processes (spawned, so no state is inherited).

    Each worker runs one job at a time (papermill changes the working directory, which is
    not thread-safe). A worker that hangs past the job timeout plus a grace period, or dies,
    is killed with its kernel and replaced; its job is reported as ``timeout``/``killed``.
    Each worker's kernels get ``cores // n_workers`` BLAS/OpenMP threads
    (:func:`limit_threads`) unless ``OMP_NUM_THREADS`` etc. are set.
    """

    def __init__(self, n_workers: int | None = None) -> None:
        self.n_workers = n_workers

    def _start(self, ctx: Any, result_q: Any, threads: int) -> _Worker:
        task_q = ctx.SimpleQueue()
        proc = ctx.Process(target=_worker_main, args=(task_q, result_q, threads), daemon=True)
        proc.start()
        return _Worker(proc, task_q)

    def run(self, jobs: Sequence[Job], on_event: EventCallback) -> list[JobResult]:
        """Run ``jobs`` on the pool; see :class:`Executor`."""
        import queue

        n = max(1, min(self.n_workers or os.cpu_count() or 1, len(jobs)))
        results: list[JobResult | None] = [None] * len(jobs)
        if not jobs:
            return []
        ctx = mp.get_context("spawn")
        result_q = ctx.Queue()
        pending = deque(range(len(jobs)))
        threads = max(1, (os.cpu_count() or 1) // n)  # the cores each worker's kernel may use
        workers = [self._start(ctx, result_q, threads) for _ in range(n)]
        try:
            while pending or any(w.idx is not None for w in workers):
                for w in workers:
                    if w.idx is None and pending:
                        w.idx, w.since = pending.popleft(), time.monotonic()
                        w.task_q.put((w.idx, jobs[w.idx]))
                        on_event("start", jobs[w.idx], None)
                try:
                    idx, res = result_q.get(timeout=0.2)
                except queue.Empty:
                    idx = None
                if idx is not None:
                    results[idx] = res
                    for w in workers:
                        if w.idx == idx:
                            w.idx = None
                    on_event("done", jobs[idx], res)
                for i, w in enumerate(workers):
                    if w.idx is None:
                        continue
                    job = jobs[w.idx]
                    overdue = time.monotonic() - w.since > job.timeout_s + HARD_TIMEOUT_GRACE_S
                    if w.proc.is_alive() and not overdue:
                        continue
                    _kill_tree(w.proc.pid)
                    w.proc.join(5)
                    status = "timeout" if overdue else "killed"
                    res = finish_job(
                        job,
                        status,
                        f"worker {'hung' if overdue else 'died'} (exit code {w.proc.exitcode})",
                        _utc_now(),
                        time.monotonic() - w.since,
                    )
                    results[w.idx] = res
                    on_event("done", job, res)
                    workers[i] = self._start(ctx, result_q, threads)
        except KeyboardInterrupt:
            logger.warning("interrupted: stopping %d workers and their kernels", len(workers))
            for w in workers:
                if w.idx is not None and results[w.idx] is None:
                    results[w.idx] = JobResult.for_job(
                        jobs[w.idx], status="interrupted", error="batch interrupted"
                    )
        finally:
            for w in workers:
                if w.idx is None and w.proc.is_alive():
                    with contextlib.suppress(Exception):
                        w.task_q.put(None)
            deadline = time.monotonic() + 5
            for w in workers:
                if w.idx is None:
                    w.proc.join(max(0.0, deadline - time.monotonic()))
                if w.proc.is_alive():
                    _kill_tree(w.proc.pid)
                    w.proc.join(5)
            result_q.close()
        return [
            r if r is not None else JobResult.for_job(jobs[i], status="not_run")
            for i, r in enumerate(results)
        ]


class DaskExecutor(Executor):
    """Send jobs to a Dask distributed cluster; each task is :func:`execute_job`.

    Parameters
    ----------
    scheduler : str, optional
        Scheduler address, e.g. ``tcp://10.0.0.5:8786``. ``None`` starts a
        ``LocalCluster`` of ``n_workers`` worker processes with one thread each for the
        duration of :meth:`run`.
    n_workers : int, optional
        Workers of the local cluster (default: number of cores); ignored with ``scheduler``.

    Notes
    -----
    Workers of a real cluster must have this package installed (same version) and see the
    processed data, notebooks and reports folder under the same paths as the client, and
    run one thread per worker process (``dask worker --nthreads 1``): papermill changes the
    working directory, which is not thread-safe. ``execute_job`` enforces each job's timeout
    itself; a worker that dies is reported as ``killed``.
    """

    def __init__(self, scheduler: str | None = None, n_workers: int | None = None) -> None:
        self.scheduler = scheduler
        self.n_workers = n_workers

    @contextlib.contextmanager
    def _client(self, n_jobs: int) -> Any:
        from distributed import Client, LocalCluster

        if self.scheduler:
            with Client(self.scheduler) as client:
                yield client
            return
        n = max(1, min(self.n_workers or os.cpu_count() or 1, n_jobs))
        with (
            LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.WARNING,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client

    def run(self, jobs: Sequence[Job], on_event: EventCallback) -> list[JobResult]:
        """Run ``jobs`` on the cluster; see :class:`Executor`."""
        from distributed import as_completed

        if not jobs:
            return []
        results: list[JobResult | None] = [None] * len(jobs)
        with self._client(len(jobs)) as client:
            futures = []
            for i, job in enumerate(jobs):
                futures.append(
                    client.submit(execute_job, job, pure=False, key=f"bankanalysis-{i}-{job.key}")
                )
                on_event("start", job, None)
            position = {f.key: i for i, f in enumerate(futures)}
            started = time.monotonic()
            try:
                for fut in as_completed(futures):
                    i = position[fut.key]
                    try:
                        res = fut.result()
                    except Exception as exc:  # noqa: BLE001 - worker died or task lost
                        res = finish_job(
                            jobs[i],
                            "killed",
                            f"dask task failed: {type(exc).__name__}: {exc}",
                            _utc_now(),
                            time.monotonic() - started,
                        )
                    results[i] = res
                    on_event("done", jobs[i], res)
            except KeyboardInterrupt:
                logger.warning("interrupted: cancelling %d dask tasks", len(futures))
                client.cancel(futures)
                for i, r in enumerate(results):
                    if r is None:
                        results[i] = JobResult.for_job(
                            jobs[i], status="interrupted", error="batch interrupted"
                        )
        return [
            r if r is not None else JobResult.for_job(jobs[i], status="not_run")
            for i, r in enumerate(results)
        ]


# --------------------------------------------------------------------------- progress


class _Progress:
    """Live progress (rich): done/running/failed, elapsed and ETA."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.running = 0
        self.failed = 0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
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


# --------------------------------------------------------------------------- run


@dataclass
class RunResult:
    """Outcome of :func:`run_batch`."""

    run_id: str
    run_dir: Path
    status: str
    results: list[JobResult]
    latest_switched: bool

    @property
    def exit_code(self) -> int:
        """0 when complete, 130 when interrupted, otherwise 1 (some job failed)."""
        if self.status == "complete":
            return 0
        if any(r.status in ("interrupted", "not_run") for r in self.results):
            return 130
        return BatchError.exit_code


def _manifest(
    plan: Plan,
    results: Sequence[JobResult],
    status: str,
    reason: str,
    started: str,
    finished: str | None,
) -> dict[str, Any]:
    by_name = {r.name: r for r in results}
    counts: dict[str, int] = {}
    jobs = []
    for job in plan.jobs:
        r = by_name.get(job.name) or JobResult.for_job(job)
        counts[r.status] = counts.get(r.status, 0) + 1
        entry = asdict(r)
        entry.update(
            folder=job.folder,
            key=job.key,
            notebook_path=job.notebook_path.name,
            params=job.injected() | {"timeout_minutes": job.params.get("timeout_minutes")},
            input_fingerprint=plan.data["fingerprint"],
        )
        jobs.append(entry)
    return {
        "run_id": plan.run_id,
        "status": status,
        "reason": reason,
        "started": started,
        "finished": finished,
        "counts": counts,
        "git_commit": plan.git_commit,
        "package_source_hash": plan.package_hash,
        "versions": versions(),
        "data": plan.data,
        "notebooks": plan.notebooks,
        "regions": plan.regions,
        "jobs": jobs,
    }


def _write_run_files(run_dir: Path, manifest: Mapping[str, Any]) -> None:
    from bankanalysis.data.atomic import atomic_write_text
    from bankanalysis.report.index import index_html, manifest_json

    atomic_write_text(run_dir / "manifest.json", manifest_json(manifest))
    atomic_write_text(run_dir / "index.html", index_html(manifest))


def switch_latest(out: str | Path, run_id: str) -> bool:
    """Point ``<out>/latest`` at ``run_id`` atomically, unless a newer complete run holds it.

    A symlink is made under a temp name and renamed over ``latest`` (``os.replace``); a lock
    file serialises concurrent batches. Returns whether ``latest`` now points at ``run_id``.
    """
    import fcntl

    out = Path(out)
    latest = out / "latest"
    ours = json.loads((out / run_id / "manifest.json").read_text(encoding="utf-8"))
    with open(out / ".latest.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if latest.is_symlink():
            current = out / os.readlink(latest)
            with contextlib.suppress(OSError, ValueError):
                theirs = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
                if (theirs.get("started", ""), current.name) > (ours.get("started", ""), run_id):
                    return False
        elif latest.exists():
            raise BatchError(f"{latest} exists and is not a symlink; move it away")
        tmp = out / f".latest.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        os.symlink(run_id, tmp)
        os.replace(tmp, latest)
    return True


# --------------------------------------------------------------------------- reuse

#: Job-key index of a reports folder: ``{"version": 1, "jobs": {key: entry}}``.
JOBCACHE_FILE = ".jobcache.json"
_JOBCACHE_VERSION = 1


def _read_jobcache_file(out: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(out) / JOBCACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != _JOBCACHE_VERSION:
        return None
    return data


def _read_jobcache(out: Path) -> dict[str, dict[str, Any]] | None:
    data = _read_jobcache_file(out)
    jobs = data.get("jobs") if data else None
    return jobs if isinstance(jobs, dict) else None


def _read_model_keys(out: Path) -> dict[str, str]:
    data = _read_jobcache_file(out)
    keys = data.get("model_keys") if data else None
    return keys if isinstance(keys, dict) else {}


def _model_extra(params: Mapping[str, Any], fingerprint: str, memo: dict[str, Any]) -> dict:
    """:func:`model_cache_extra`, memoised on (package source, fingerprint, parameters)."""
    if not params.get("use_model_cache"):
        return {}
    relevant = {k: v for k, v in params.items() if k not in _KEYLESS_PARAMS}
    text = json.dumps([memo["package"], fingerprint, relevant], sort_keys=True, default=str)
    mkey = hashlib.sha256(text.encode()).hexdigest()
    if mkey in memo["known"]:
        return {"model_cache": memo["known"][mkey]}
    extra = model_cache_extra(params, fingerprint)
    memo["known"][mkey] = memo["new"][mkey] = extra["model_cache"]
    return extra


def _entry(result: JobResult, key: str, run_id: str) -> dict[str, Any]:
    return {
        "name": result.name,
        "run": run_id,
        "origin": result.reused_from or run_id,
        "duration_s": result.duration_s,
        "started": result.started,
        "finished": result.finished,
    }


def _scan_manifests(out: Path) -> dict[str, dict[str, Any]]:
    """Rebuild the job-key index from the run manifests (when ``.jobcache.json`` is lost)."""
    index: dict[str, dict[str, Any]] = {}
    manifests = []
    for m in out.glob("*/manifest.json"):
        if m.parent.is_symlink():
            continue
        with contextlib.suppress(OSError, ValueError):
            manifests.append(json.loads(m.read_text(encoding="utf-8")))
    for man in sorted(manifests, key=lambda m: (str(m.get("started", "")), m.get("run_id", ""))):
        for j in man.get("jobs", []):
            if j.get("status") in OK_STATUSES and j.get("key"):
                fields = {k: j.get(k) for k in JobResult.__dataclass_fields__}
                index[j["key"]] = _entry(JobResult(**fields), j["key"], str(man["run_id"]))
    return index


def load_job_index(out: str | Path) -> dict[str, dict[str, Any]]:
    """Return the job-key index of a reports folder: key -> where a successful job's outputs are.

    Read from ``<out>/.jobcache.json``; rebuilt from the run manifests when that file is
    missing or unreadable. Entries: ``name`` (``<folder>/<notebook>``), ``run`` (the run
    folder holding the outputs), ``origin`` (the run that executed the job), ``duration_s``,
    ``started``, ``finished``.
    """
    out = Path(out)
    jobs = _read_jobcache(out)
    return jobs if jobs is not None else _scan_manifests(out)


def record_jobs(
    out: str | Path,
    run_id: str,
    items: Sequence[tuple[str, JobResult]],
    model_keys: Mapping[str, str] | None = None,
) -> None:
    """Add successful jobs of run ``run_id`` (and memoised model keys) to ``.jobcache.json``.

    Safe for concurrent batches: an exclusive lock on ``<out>/.jobcache.lock`` serialises
    writers, each re-reads the file under the lock, merges and replaces it atomically
    (readers never take the lock and never see a partial file).
    """
    import fcntl

    from bankanalysis.data.atomic import atomic_write_text

    items = [(k, r) for k, r in items if k and r.status in OK_STATUSES]
    if not items and not model_keys:
        return
    out = Path(out)
    with open(out / ".jobcache.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = _read_jobcache_file(out) or {}
        jobs = data.get("jobs") if isinstance(data.get("jobs"), dict) else _scan_manifests(out)
        for key, result in items:
            jobs[key] = _entry(result, key, run_id)
        mkeys = dict(data.get("model_keys") or {}) | dict(model_keys or {})
        text = json.dumps(
            {"version": _JOBCACHE_VERSION, "jobs": jobs, "model_keys": mkeys},
            indent=1,
            sort_keys=True,
        )
        atomic_write_text(out / JOBCACHE_FILE, text + "\n")


def _job_files(job: Job, run_dir: Path) -> list[Path]:
    """Files of a job's outputs, relative to ``run_dir``."""
    folder = run_dir / job.folder
    files = [Path(job.folder) / f"{job.notebook}.html", Path(job.folder) / f"{job.notebook}.ipynb"]
    outdir = folder / job.notebook
    if outdir.is_dir():
        files += sorted(p.relative_to(run_dir) for p in outdir.rglob("*") if p.is_file())
    return files


def reuse_job(job: Job, out: str | Path, entry: Mapping[str, Any]) -> JobResult | None:
    """Link a finished job's outputs from an earlier run into ``job``'s run; ``None`` if gone.

    Every file (report, executed notebook, ``metrics.json``, side files) is hard-linked
    (copied where links fail, e.g. across file systems). The report keeps its original
    header (run id and time of the run that executed it); the result says ``reused_from``.
    """
    src_run = Path(out) / str(entry["run"])
    if entry.get("name") != job.name or not src_run.is_dir():
        return None
    files = _job_files(job, src_run)
    if not all((src_run / f).is_file() for f in files[:2]):
        return None
    try:
        for rel in files:
            dst = job.run_dir / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src_run / rel, dst)
            except OSError:
                shutil.copy2(src_run / rel, dst)
    except OSError as exc:
        logger.warning("%s: could not reuse run %s (%s); running it", job.name, src_run, exc)
        shutil.rmtree(job.output_dir, ignore_errors=True)
        for p in (job.html_path, job.ipynb_path):
            p.unlink(missing_ok=True)
        return None
    result = JobResult.for_job(
        job,
        status="reused",
        duration_s=entry.get("duration_s"),
        started=entry.get("started"),
        finished=entry.get("finished"),
        html=job.html_path.relative_to(job.run_dir).as_posix(),
        ipynb=job.ipynb_path.relative_to(job.run_dir).as_posix(),
        reused_from=str(entry.get("origin") or entry["run"]),
    )
    result.metrics, result.outputs = _collect_outputs(job)
    return result


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Any:
    """Turn SIGTERM into KeyboardInterrupt while the batch runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _reuse_earlier(plan: Plan, out: Path) -> tuple[list[Job], list[JobResult]]:
    """Split the plan into jobs to execute and results reused from earlier runs in ``out``."""
    index = load_job_index(out)
    to_run: list[Job] = []
    reused: list[JobResult] = []
    for job in plan.jobs:
        entry = index.get(job.key)
        result = reuse_job(job, out, entry) if entry and entry.get("run") != plan.run_id else None
        if result is None:
            to_run.append(job)
        else:
            reused.append(result)
    record_jobs(
        out,
        plan.run_id,
        [(r_job.key, r) for r_job, r in _pairs(plan.jobs, reused)],
        model_keys=plan.model_keys,
    )
    return to_run, reused


def execution_order(jobs: Sequence[Job]) -> list[Job]:
    """Order in which to hand jobs to the workers (reports keep the plan's order).

    The first job of each model cache key goes first (it fits the models, or finds them
    cached); the other jobs of that key go last, after every job without models. Otherwise
    they would queue behind the fitting job's lock while jobs that need nothing wait.

    Parameters
    ----------
    jobs : sequence of Job
        Jobs in plan order.

    Returns
    -------
    list of Job
        The same jobs, reordered; stable within each group.
    """
    seen: set[str] = set()
    first, plain, later = [], [], []
    for job in jobs:
        if not job.model_key:
            plain.append(job)
        elif job.model_key in seen:
            later.append(job)
        else:
            seen.add(job.model_key)
            first.append(job)
    return [*first, *plain, *later]


def _pairs(jobs: Sequence[Job], results: Sequence[JobResult]) -> list[tuple[Job, JobResult]]:
    by_name = {j.name: j for j in jobs}
    return [(by_name[r.name], r) for r in results]


def run_batch(
    *,
    regions: Sequence[str] | None = None,
    notebooks: Sequence[str] | None = None,
    jobs: int | None = None,
    run_id: str | None = None,
    out: str | Path = "reports",
    processed_dir: str | Path | None = None,
    params_dir: str | Path | None = None,
    notebooks_dir: str | Path | None = None,
    timeout_minutes: float | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    kernel_name: str = "python3",
    bank: Any = None,
    reuse: bool = False,
    warm_kernels: bool = True,
) -> RunResult:
    """Run the report batch.

    Parameters
    ----------
    regions : list of str, optional
        Region ids; ``None`` = every region of the data.
    notebooks : list of str, optional
        Notebook stems; ``None`` = every report notebook present.
    jobs : int, optional
        Worker processes (default: number of cores).
    run_id : str, optional
        Run id (letters, digits, ``_``, ``-``); default from the UTC time.
    out : str or Path
        Reports folder; the run goes to ``<out>/<run-id>/``.
    processed_dir, params_dir, notebooks_dir : str or Path, optional
        Inputs (defaults: ``$BANKANALYSIS_PROCESSED`` or ``data/processed``, ``params/``,
        ``notebooks/``).
    timeout_minutes : float, optional
        Overrides every job's ``timeout_minutes`` parameter.
    executor : Executor, optional
        Default :class:`LocalProcessExecutor` with ``jobs`` workers.
    progress : bool
        Show the live progress display.
    kernel_name : str
        Jupyter kernel for the notebooks.
    bank : object, optional
        Already loaded processed data (default: ``load_processed(processed_dir)``).
    reuse : bool
        Incremental re-run (``bankanalysis run`` does this unless ``--force``): a job whose
        :func:`job_key` equals that of a successful job of an earlier run in ``out`` is not
        executed; its outputs are hard-linked into this run (:func:`reuse_job`) and its status
        is ``reused`` with ``reused_from`` naming the run that executed it. The key hashes the
        whole package source, so editing any ``bankanalysis`` module re-runs every job.
        Default ``False``: every job executes.
    warm_kernels : bool
        Fork each job's kernel from a pre-imported zygote per worker (default; see
        :mod:`bankanalysis.kernels`); ``False`` starts every kernel from scratch.

    Returns
    -------
    RunResult
        Its ``exit_code`` is 0 only when every job succeeded.

    Raises
    ------
    ParameterError
        Before anything runs, listing every problem.
    """
    out = Path(out)

    def replan(rid: str | None, loaded_bank: Any) -> Plan:
        return plan_jobs(
            regions=regions,
            notebooks=notebooks,
            run_id=rid,
            out=out,
            processed_dir=processed_dir,
            params_dir=params_dir,
            notebooks_dir=notebooks_dir,
            timeout_minutes=timeout_minutes,
            kernel_name=kernel_name,
            bank=loaded_bank,
        )

    plan = replan(run_id, bank)
    out.mkdir(parents=True, exist_ok=True)
    for attempt in range(2, 100):
        try:  # the run folder is the run's reservation: two batches never share one
            plan.run_dir.mkdir(parents=False, exist_ok=False)
            break
        except FileExistsError as exc:
            if run_id is not None:
                raise ParameterError(
                    [f"run folder {plan.run_dir} already exists; choose another --run-id"]
                ) from exc
            # a batch started in the same second took the default id: take the next suffix
            candidate = f"{plan.run_id.split('-')[0]}-{attempt}"
            if (out / candidate).exists():
                continue
            plan = replan(candidate, plan.bank)
    started = _utc_now()
    results: list[JobResult] = []
    _write_run_files(plan.run_dir, _manifest(plan, results, "running", "running", started, None))
    to_run, reused = list(plan.jobs), []
    if reuse:
        to_run, reused = _reuse_earlier(plan, out)
    else:
        record_jobs(out, plan.run_id, [], model_keys=plan.model_keys)
    to_run = execution_order([replace(j, warm_kernel=warm_kernels) for j in to_run])
    logger.info(
        "run %s: %d jobs into %s (%d reused from earlier runs)",
        plan.run_id,
        len(to_run),
        plan.run_dir,
        len(reused),
    )
    done: list[JobResult] = list(reused)

    def on_event(kind: str, job: Job, result: JobResult | None) -> None:
        bar.event(kind, job, result)
        if kind == "done" and result is not None:
            done.append(result)
            _write_run_files(
                plan.run_dir, _manifest(plan, done, "running", "running", started, None)
            )
            record_jobs(out, plan.run_id, [(job.key, result)])

    interrupted = False
    executed: list[JobResult] = []
    with _sigterm_as_interrupt(), _Progress(len(to_run), progress) as bar:
        try:
            if to_run:
                executed = (executor or LocalProcessExecutor(jobs)).run(to_run, on_event)
        except KeyboardInterrupt:
            interrupted = True
            executed = [r for r in done if r.status != "reused"]
    by_name = {r.name: r for r in [*reused, *executed]}
    results = [by_name[j.name] for j in plan.jobs if j.name in by_name]
    if not interrupted:  # a job missing from the executor's answer did not run
        results = [by_name.get(j.name) or JobResult.for_job(j) for j in plan.jobs]
    interrupted = interrupted or any(r.status in ("interrupted", "not_run") for r in results)
    n_bad = sum(r.status not in OK_STATUSES for r in results)
    if interrupted:
        status, reason = "incomplete", "interrupted"
    elif n_bad:
        status, reason = "incomplete", f"{n_bad} job{'s' if n_bad != 1 else ''} failed"
    else:
        status, reason = "complete", f"{len(results)} jobs succeeded"
    manifest = _manifest(plan, results, status, reason, started, _utc_now())
    _write_run_files(plan.run_dir, manifest)
    switched = status == "complete" and switch_latest(out, plan.run_id)
    if progress:
        from rich.console import Console

        Console(stderr=True).print(summary_table(results))
    logger.info("run %s %s (%s)", plan.run_id, status, reason)
    return RunResult(plan.run_id, plan.run_dir, status, results, switched)
