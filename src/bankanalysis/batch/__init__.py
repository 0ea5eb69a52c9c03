"""The report batch: every report notebook for every region, run in parallel, with a manifest.

One concern per module (each imports only from the ones listed before it):

- :mod:`~bankanalysis.batch.jobs`: :class:`Job` (one region x notebook) and :class:`JobResult`;
- :mod:`~bankanalysis.batch.keys`: :func:`job_key` (notebook cells, parameters, package
  source, data fingerprint, model cache key): equal keys mean reusable outputs;
- :mod:`~bankanalysis.batch.kernels`: warm kernels, forked per job from a pre-imported zygote;
- :mod:`~bankanalysis.batch.execute`: :func:`execute_job`, papermill with a watchdog, then the
  HTML report;
- :mod:`~bankanalysis.batch.executors`: :class:`LocalProcessExecutor` (worker processes) and
  :class:`DaskExecutor` (a Dask cluster);
- :mod:`~bankanalysis.batch.jobcache`: the job-key index ``.jobcache.json`` and reuse of
  earlier outputs by hard link;
- :mod:`~bankanalysis.batch.plan`: :func:`plan_jobs` validates every parameter and builds the
  jobs before any kernel starts;
- :mod:`~bankanalysis.batch.progress`: the live progress display and the summary table;
- :mod:`~bankanalysis.batch.run`: :func:`run_batch`, ``manifest.json``, ``index.html`` and the
  atomic switch of ``reports/latest``.

Source hashes, the git commit and library versions come from :mod:`bankanalysis.provenance`.
Nothing runs on import; the heavy libraries (papermill, jupyter_client, rich, distributed) are
imported where they are used.
"""

from __future__ import annotations

from bankanalysis.batch.execute import execute_job, finish_job
from bankanalysis.batch.executors import (
    DaskExecutor,
    EventCallback,
    Executor,
    LocalProcessExecutor,
    limit_threads,
)
from bankanalysis.batch.jobcache import JOBCACHE_FILE, load_job_index, record_jobs, reuse_job
from bankanalysis.batch.jobs import BANK_FOLDER, OK_STATUSES, Job, JobResult
from bankanalysis.batch.keys import job_key, model_cache_extra, notebook_content_hash
from bankanalysis.batch.plan import Plan, default_run_id, execution_order, plan_jobs
from bankanalysis.batch.progress import summary_table
from bankanalysis.batch.run import RunResult, run_batch, switch_latest

__all__ = [
    "BANK_FOLDER",
    "JOBCACHE_FILE",
    "OK_STATUSES",
    "DaskExecutor",
    "EventCallback",
    "Executor",
    "Job",
    "JobResult",
    "LocalProcessExecutor",
    "Plan",
    "RunResult",
    "default_run_id",
    "execute_job",
    "execution_order",
    "finish_job",
    "job_key",
    "limit_threads",
    "load_job_index",
    "model_cache_extra",
    "notebook_content_hash",
    "plan_jobs",
    "record_jobs",
    "reuse_job",
    "run_batch",
    "summary_table",
    "switch_latest",
]
