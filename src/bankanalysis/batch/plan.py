"""Planning a batch: validate every parameter, then build the jobs, before any kernel starts.

:func:`plan_jobs` turns (regions, notebooks, parameter files, processed data) into a
:class:`Plan`: the run id and folder, one :class:`~bankanalysis.batch.jobs.Job` per
(region, notebook) with its key, and the run-level facts the manifest records.
:func:`execution_order` decides in which order the jobs are handed to the workers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bankanalysis import __version__
from bankanalysis.batch.jobcache import read_model_keys
from bankanalysis.batch.jobs import BANK_FOLDER, Job
from bankanalysis.batch.keys import job_key, memo_model_cache_extra
from bankanalysis.exceptions import ParameterError
from bankanalysis.params import NOTEBOOK_PARAMS, check_safe_id, validate_batch_params
from bankanalysis.provenance import git_commit, package_source_hash

__all__ = ["Plan", "default_run_id", "execution_order", "plan_jobs"]

logger = logging.getLogger(__name__)


def default_run_id(now: datetime | None = None) -> str:
    """Return a run id from the UTC time, e.g. ``20261130T041502Z``."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


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
    fallbacks: list[str] = []
    try:
        per_job = validate_batch_params(params_dir, regions, wanted, bank, fallbacks)
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
        # parameters needing data the extract lacks, and the fallback each report states
        "fallbacks": fallbacks,
    }
    reg_rows = {str(r["region_id"]): r for r in bank.regions.to_dict("records")}
    commit = git_commit(paths.root)
    pkg = package_source_hash()
    # model cache keys remembered in the reports folder: a no-change re-run then never
    # imports the modelling stack (about a second) just to recompute them
    known_model_keys = read_model_keys(out)
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
        extra = memo_model_cache_extra(p, fingerprint, memo)
        key = job_key(nb_path, p, pkg, fingerprint, extra=extra)
        job = Job(rid, nb, nb_path, run_dir, p, key, header, kernel_name)
        jobs.append(replace(job, model_key=extra.get("model_cache", "")))
        if rid is not None and rid not in used_regions:
            used_regions.append(rid)
    from bankanalysis.report.index import sibling_links

    planned = [(j.region_id, j.notebook) for j in jobs]
    for job in jobs:  # every report links to its region's other reports (issue 14)
        job.header["siblings"] = sibling_links(job.region_id, job.notebook, planned, BANK_FOLDER)
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
