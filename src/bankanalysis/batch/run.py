"""Running a batch: plan, reuse, execute, then ``manifest.json``, ``index.html`` and ``latest``.

:func:`run_batch` ties the other modules together: it plans the jobs
(:mod:`~bankanalysis.batch.plan`), reserves the run folder, links the outputs of unchanged
jobs from earlier runs (:mod:`~bankanalysis.batch.jobcache`), hands the rest to an executor
(:mod:`~bankanalysis.batch.executors`), keeps the manifest and index current as jobs finish
and switches ``reports/latest`` atomically when the run is complete.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bankanalysis.batch.executors import Executor, LocalProcessExecutor
from bankanalysis.batch.jobcache import load_job_index, record_jobs, reuse_job
from bankanalysis.batch.jobs import OK_STATUSES, Job, JobResult, utc_now
from bankanalysis.batch.plan import Plan, execution_order, plan_jobs
from bankanalysis.batch.progress import BatchProgress, summary_table
from bankanalysis.contract import DEFAULT_CURRENCY
from bankanalysis.exceptions import BatchError, ParameterError
from bankanalysis.provenance import versions

__all__ = ["RunResult", "run_batch", "switch_latest"]

logger = logging.getLogger(__name__)


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
    restricted = []
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
        restricted += [{"job": job.name} | f for f in r.restricted]
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
        "currency": _currency(plan),
        "outlets": _outlets(plan),
        "jobs": jobs,
        # files with customer or manager ids and who they are for: never linked from any page
        "restricted": restricted,
    }


def _currency(plan: Plan) -> str:
    """The run's display currency (the jobs' ``currency`` parameter; one per run)."""
    found = list(
        dict.fromkeys(str(j.params["currency"]) for j in plan.jobs if j.params.get("currency"))
    )
    if len(found) > 1:
        logger.warning(
            "run %s: jobs use several currencies %s; index shows %s", plan.run_id, found, found[0]
        )
    return found[0] if found else DEFAULT_CURRENCY


def _outlets(plan: Plan) -> list[dict[str, str]]:
    """Outlet names of the run's regions, for the index's search (read once per plan)."""
    from bankanalysis.exceptions import ProcessedDataError
    from bankanalysis.report.index import outlet_entries

    cached = getattr(plan, "_index_outlets", None)
    if cached is None:
        try:
            outlets = plan.bank.read("outlets", columns=["region_id", "name"])
        except (AttributeError, KeyError, OSError, ValueError, ProcessedDataError) as exc:
            logger.info("run index: no outlet names to search (%s)", exc)
            outlets = None
        cached = outlet_entries(outlets, [str(r["region_id"]) for r in plan.regions])
        plan._index_outlets = cached  # type: ignore[attr-defined]
    return cached


def _write_run_files(run_dir: Path, manifest: Mapping[str, Any]) -> None:
    from bankanalysis.data.atomic import atomic_write_text
    from bankanalysis.report.glossary import GLOSSARY_FILE, glossary_html
    from bankanalysis.report.index import index_html, manifest_json

    atomic_write_text(run_dir / "manifest.json", manifest_json(manifest))
    atomic_write_text(
        run_dir / GLOSSARY_FILE, glossary_html(manifest.get("currency", DEFAULT_CURRENCY))
    )
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
        :func:`~bankanalysis.batch.keys.job_key` equals that of a successful job of an
        earlier run in ``out`` is not executed; its outputs are hard-linked into this run
        (:func:`~bankanalysis.batch.jobcache.reuse_job`) and its status is ``reused`` with
        ``reused_from`` naming the run that executed it. The key hashes the
        whole package source, so editing any ``bankanalysis`` module re-runs every job.
        Default ``False``: every job executes.
    warm_kernels : bool
        Fork each job's kernel from a pre-imported zygote per worker (default; see
        :mod:`bankanalysis.batch.kernels`); ``False`` starts every kernel from scratch.

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
    started = utc_now()
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
    with _sigterm_as_interrupt(), BatchProgress(len(to_run), progress) as bar:
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
    manifest = _manifest(plan, results, status, reason, started, utc_now())
    _write_run_files(plan.run_dir, manifest)
    switched = status == "complete" and switch_latest(out, plan.run_id)
    if progress:
        from rich.console import Console

        Console(stderr=True).print(summary_table(results))
    logger.info("run %s %s (%s)", plan.run_id, status, reason)
    return RunResult(plan.run_id, plan.run_dir, status, results, switched)
