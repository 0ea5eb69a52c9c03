"""The job-key index of a reports folder (``.jobcache.json``) and the reuse of earlier outputs.

A successful job is recorded under its :func:`~bankanalysis.batch.keys.job_key`; a later run
whose job has the same key links that job's outputs instead of executing it
(:func:`reuse_job`). The index also remembers model cache keys, so a no-change re-run never
imports the modelling stack to recompute them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bankanalysis.batch.execute import collect_outputs, collect_restricted
from bankanalysis.batch.jobs import OK_STATUSES, Job, JobResult

__all__ = ["JOBCACHE_FILE", "load_job_index", "read_model_keys", "record_jobs", "reuse_job"]

logger = logging.getLogger(__name__)

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


def read_model_keys(out: str | Path) -> dict[str, str]:
    """Model cache keys remembered in the reports folder ``out`` (memo key -> cache key)."""
    data = _read_jobcache_file(Path(out))
    keys = data.get("model_keys") if data else None
    return keys if isinstance(keys, dict) else {}


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
    result.metrics, result.outputs = collect_outputs(job)
    result.restricted = collect_restricted(job)
    return result
