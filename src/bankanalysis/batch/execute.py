"""Executing one job: papermill with a watchdog, then the HTML report, in the worker process.

:func:`execute_job` is the unit of work every executor runs (a picklable
:class:`~bankanalysis.batch.jobs.Job` in, a :class:`~bankanalysis.batch.jobs.JobResult` out);
:func:`finish_job` marks a failing cell, renders the report and collects ``metrics.json`` and
side outputs (:func:`collect_outputs`), also for jobs whose worker died.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bankanalysis.batch.jobs import OK_STATUSES, Job, JobResult, utc_now
from bankanalysis.shared_work import MAX_CREDIT, credited_seconds, mark_job_folder

__all__ = ["SCRATCH_ENV", "collect_outputs", "execute_job", "finish_job", "prepare_env"]

logger = logging.getLogger(__name__)

#: Name of the papermill engine registered by :func:`_register_engine`.
_ENGINE = "bankanalysis"
#: The notebook client running on each thread (the watchdog kills its kernel on timeout).
_ACTIVE_CLIENTS: dict[int, Any] = {}
#: Environment variable naming the folder a worker's job folders go in (set by the local
#: executor for its workers, which removes the folder when it stops or replaces a worker:
#: a worker killed mid-job cannot remove its job's folder and kernel sockets itself).
SCRATCH_ENV = "BANKANALYSIS_SCRATCH"


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


#: Seconds between the watchdog's looks for a kernel that has not started yet.
WATCHDOG_RETRY_S = 0.5


def _kill_kernel(thread_id: int, fired: threading.Event, done: threading.Event) -> None:
    """Watchdog action: kill the kernel (and its children) of the job running on a thread.

    A kernel still starting when the timeout comes (a short timeout, a loaded machine) has no
    process yet: the watchdog looks again every :data:`WATCHDOG_RETRY_S` seconds until it has
    one or the job is ``done``, so the job stops at its timeout and not at the notebook
    client's per-cell backstop.
    """
    fired.set()
    while not done.is_set():
        client = _ACTIVE_CLIENTS.get(thread_id)
        km = getattr(client, "km", None)
        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        if pid is not None:
            _kill_process_tree(pid)
            logger.warning("timeout: killed kernel %s", pid)
            return
        done.wait(WATCHDOG_RETRY_S)


def _watchdog(
    thread_id: int,
    fired: threading.Event,
    done: threading.Event,
    timeout_s: float,
    workdir: Path,
    extra: list[float],
) -> None:
    """Kill the job's kernel ``timeout_s`` after the start, plus the seconds the kernel spent
    on figures the whole run shares (:func:`~bankanalysis.shared_work.credited_seconds`, at
    most :data:`~bankanalysis.shared_work.MAX_CREDIT` times the timeout; ``extra[0]`` says how
    many were granted), unless the job is ``done`` first."""
    deadline = time.monotonic() + timeout_s
    while not done.wait(max(0.0, deadline - time.monotonic())):
        credit = min(credited_seconds(workdir), MAX_CREDIT * timeout_s)
        if credit > extra[0] + 1e-3:
            deadline += credit - extra[0]
            extra[0] = credit
            logger.info("shared figures: the job's deadline is %.0f s later", credit)
            continue
        _kill_kernel(thread_id, fired, done)
        return


def _kill_process_tree(pid: int) -> None:
    import psutil

    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(pid)
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        proc.kill()


def prepare_env() -> None:
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


def _job_folder(job: Job) -> str:
    """A fresh working folder for ``job``: in the worker's scratch folder
    (:data:`SCRATCH_ENV`) when it has one, else in the system's temporary folder."""
    scratch = os.environ.get(SCRATCH_ENV, "")
    if scratch and os.path.isdir(scratch):
        return tempfile.mkdtemp(prefix=f"{job.folder}-{job.notebook[:2]}-", dir=scratch)
    return tempfile.mkdtemp(prefix=f"bankanalysis-{job.folder}-{job.notebook}-")


def execute_job(job: Job) -> JobResult:
    """Run one job: papermill with a watchdog, then the HTML report; never raises for a
    failing notebook.

    The notebook runs in a fresh temporary working directory. After ``timeout_minutes`` the
    kernel is killed, later by the time it spent computing figures the whole run shares
    (:mod:`bankanalysis.shared_work`). Whatever happened, the executed notebook is kept, the failing cell is
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

    prepare_env()
    from papermill.engines import papermill_engines

    if _ENGINE not in papermill_engines._engines:
        _register_engine()
    t0 = time.monotonic()
    started = utc_now()
    job.output_dir.mkdir(parents=True, exist_ok=True)
    status, error = "ok", None
    fired, done = threading.Event(), threading.Event()
    workdir = _job_folder(job)
    mark_job_folder(Path(workdir))  # the kernel records its shared work there
    extra: list[float] = [0.0]
    timer = threading.Thread(
        target=_watchdog,
        args=(threading.get_ident(), fired, done, job.timeout_s, Path(workdir), extra),
        daemon=True,
    )
    config = _ipc_kernel_config(Path(workdir))
    from bankanalysis.batch.kernels import QuietKernelManager, WarmKernelManager

    warm: dict[str, Any] = {"kernel_manager_class": QuietKernelManager}
    if job.warm_kernel:
        warm["kernel_manager_class"] = WarmKernelManager
        # the kernel manager records under this tag whether it forked the kernel
        config.WarmKernelManager.launch_tag = workdir
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
            config=config,
            # per-cell backstop; the watchdog (whole notebook) normally fires first
            execution_timeout=job.timeout_s * (1 + MAX_CREDIT) + 30,
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
        done.set()  # the watchdog stops
        shutil.rmtree(workdir, ignore_errors=True)
    if fired.is_set():  # whatever the kill looked like from inside, it was the timeout
        status = "timeout"
        error = f"timed out after {job.timeout_s / 60:g} minutes (timeout_minutes)"
        if extra[0] > 0:
            error += (
                f" and {extra[0] / 60:.1f} more computing figures the whole run shares"
                f" (at most {MAX_CREDIT:g} times the timeout)"
            )
    result = finish_job(job, status, error, started, time.monotonic() - t0)
    result.kernel = _kernel_mode(job, workdir)
    return result


def _kernel_mode(job: Job, tag: str) -> str | None:
    """``"warm"``/``"fresh"``: how the job's kernel was started (``None``: it never was)."""
    if not job.warm_kernel:
        return "fresh"
    from bankanalysis.batch.kernels import pop_launch

    return pop_launch(tag)


def collect_outputs(job: Job) -> tuple[dict[str, Any], list[str]]:
    """``metrics.json`` (``{}`` when missing or unreadable) and the side outputs of a job,
    relative to the run folder; files in a restricted folder (:mod:`bankanalysis.data.
    restricted`) are not side outputs (they are listed by :func:`collect_restricted`)."""
    from bankanalysis.data.restricted import is_restricted
    from bankanalysis.report.metrics import read_metrics

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
            if p.is_file()
            and not p.name.startswith(".")
            and not is_restricted(p.relative_to(job.output_dir))
        )
        if job.output_dir.is_dir()
        else []
    )
    return metrics, outputs


def collect_restricted(job: Job) -> list[dict[str, str]]:
    """The job's restricted files (customer or manager ids) with their audience, relative to
    the run folder: listed in the manifest, never linked."""
    from bankanalysis.data.restricted import restricted_files

    return restricted_files(job.output_dir, job.run_dir)


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
            run_time=utc_now(),
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
    result.metrics, result.outputs = collect_outputs(job)
    result.restricted = collect_restricted(job)
    result.finished = utc_now()
    result.duration_s = round(duration_s, 3)
    return result
