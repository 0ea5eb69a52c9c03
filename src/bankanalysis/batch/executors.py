"""Executors: where the jobs of a batch run.

:class:`LocalProcessExecutor` runs a pool of spawned worker processes on this machine;
:class:`DaskExecutor` sends the jobs to a Dask distributed cluster. Both run
:func:`~bankanalysis.batch.execute.execute_job` per job and report through an
:data:`EventCallback`.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bankanalysis.batch.execute import SCRATCH_ENV, execute_job, finish_job, prepare_env
from bankanalysis.batch.jobs import Job, JobResult, utc_now
from bankanalysis.shared_work import MAX_CREDIT

__all__ = [
    "HARD_TIMEOUT_GRACE_S",
    "DaskExecutor",
    "EventCallback",
    "Executor",
    "LocalProcessExecutor",
    "limit_threads",
]

logger = logging.getLogger(__name__)

#: Seconds a worker may overrun a job's timeout before the parent kills the worker itself.
HARD_TIMEOUT_GRACE_S = 60.0

#: ``on_event(kind, job, result)`` with kind ``"start"`` (result None) or ``"done"``.
EventCallback = Callable[[str, Job, "JobResult | None"], None]


class Executor(ABC):
    """Runs jobs. Implementations: :class:`LocalProcessExecutor`, :class:`DaskExecutor`.

    Contract: :meth:`run` returns one :class:`JobResult` per job, in job order; a failing
    job never stops the others; on ``KeyboardInterrupt`` (Ctrl-C or SIGTERM) it stops every
    worker and kernel and returns, unfinished jobs marked ``interrupted`` or ``not_run``.

    The unit of work is :func:`~bankanalysis.batch.execute.execute_job` (a picklable
    :class:`Job` in, a :class:`JobResult` out; it enforces the job's timeout itself), so a
    Dask executor is
    ``client.submit(execute_job, job, pure=False)`` per job and ``as_completed`` calling
    ``on_event``; its workers need ``nthreads=1`` (papermill changes the working directory)
    and must see the run folder and the processed data under the same paths.
    """

    @abstractmethod
    def run(self, jobs: Sequence[Job], on_event: EventCallback) -> list[JobResult]:
        """Run ``jobs``; call ``on_event`` when each starts and finishes."""


#: Thread-pool variables of numpy/scipy (BLAS) and scikit-learn (OpenMP).
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: How OpenMP threads wait for work: ``PASSIVE`` sleeps instead of spinning.
OMP_WAIT_POLICY = "PASSIVE"


def limit_threads(threads: int) -> None:
    """Cap the BLAS/OpenMP threads of the kernels this process starts (unless set already).

    With one worker per core, kernels that each start a thread per core oversubscribe the
    machine; OpenMP's spinning threads then make k-means and boosting several times slower.
    Dask workers apply the same cap (one thread) by default.

    The kernels' OpenMP threads also wait passively (``OMP_WAIT_POLICY``, unless set): with
    more than one thread per kernel (one worker on two cores, or a machine shared with other
    work) a spinning thread burns the core its partner needs, and 01's k-means of R01 at 1M
    took 19.4 CPU s (98 s wall at load 16) instead of 2.9 (15 s). The threads and their
    share of the work are the same, so the results are the same to the bit
    (``python -m benchmarks.segmentation_job``).
    """
    for var in _THREAD_VARS:
        os.environ.setdefault(var, str(max(1, int(threads))))
    os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)


def _worker_main(task_q: Any, result_q: Any, threads: int = 1, scratch: str = "") -> None:
    """Loop of a worker process: take a job, run it, report; ``None`` ends the loop.

    Its jobs' working folders (:data:`~bankanalysis.batch.execute.SCRATCH_ENV`) and every
    temporary file of the worker and its kernels (``TMPDIR``: the kernels' connection files,
    the warm kernels' zygote folder) go in ``scratch``, which the parent removes when the
    worker stops or is killed mid-job."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides about interrupts
    if scratch:
        os.environ[SCRATCH_ENV] = os.environ["TMPDIR"] = scratch
        tempfile.tempdir = scratch
    prepare_env()
    limit_threads(threads)
    import papermill  # noqa: F401 - import once per worker, not once per job

    from bankanalysis.batch.kernels import stop_process_zygote

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
    scratch: str = ""
    idx: int | None = None
    since: float = 0.0

    def remove_scratch(self) -> None:
        """Remove the worker's scratch folder (its jobs' folders and kernel sockets), once it
        has stopped: a worker killed mid-job leaves its job's folder behind."""
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


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
        scratch = tempfile.mkdtemp(prefix="bankanalysis-w-")
        args = (task_q, result_q, threads, scratch)
        proc = ctx.Process(target=_worker_main, args=args, daemon=True)
        proc.start()
        return _Worker(proc, task_q, scratch)

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
                    # the job's own watchdog may grant up to MAX_CREDIT timeouts more for
                    # figures the whole run shares (bankanalysis.shared_work)
                    longest = job.timeout_s * (1 + MAX_CREDIT)
                    overdue = time.monotonic() - w.since > longest + HARD_TIMEOUT_GRACE_S
                    if w.proc.is_alive() and not overdue:
                        continue
                    _kill_tree(w.proc.pid)
                    w.proc.join(5)
                    w.remove_scratch()
                    status = "timeout" if overdue else "killed"
                    why = (
                        f"timed out after {job.timeout_s / 60:g} minutes (timeout_minutes, up"
                        f" to {MAX_CREDIT:g} times more for figures the run shares); its"
                        f" worker did not stop within {HARD_TIMEOUT_GRACE_S:g} s more and was"
                        " stopped"
                        if overdue
                        else f"worker died (exit code {w.proc.exitcode})"
                    )
                    res = finish_job(
                        job,
                        status,
                        why,
                        utc_now(),
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
                w.remove_scratch()
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
                            utc_now(),
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
