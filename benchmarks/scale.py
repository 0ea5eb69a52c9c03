"""Growth benchmark (``make bench-scale``): every stage end to end at several bank sizes, and a
batch of many regions.

For each size (``--sizes 1m,3m,10m``; ``k`` and ``m`` suffixes) a fresh bank is generated into
``build/bench/scale_<label>/`` and each stage runs as its own child process, one after another:

- ``generate``: ``bankanalysis data generate`` (seed :data:`~benchmarks._harness.SEED`);
- ``validate``: ``bankanalysis data validate`` (standalone check; ``prepare`` validates again,
  so it is reported but not counted in the end-to-end time);
- ``prepare``: ``bankanalysis data prepare`` (DuckDB, memory limit and spill folder);
- ``reports``: ``bankanalysis run --force``, the batch as ``make reports`` runs it: every report
  of every region and the overview, the propensity models fitted by its first job (the first
  region's 02, :func:`~bankanalysis.batch.plan.execution_order`) while the other worker runs
  the reports that need no model. That job's own seconds are ``scale_<label>_fit_job_s``
  (:func:`fit_job_seconds`); they overlap the other worker's, so they are not added.

Each stage's wall seconds and peak memory are measured by sampling its whole process tree with
psutil (kernels forked by the batch included) together with ``os.wait4``: ``peak_rss_gb`` is the
largest single process, ``peak_tree_rss_gb`` the largest sum over the tree at one sample. Disk is
what raw and processed data (with the model cache) take after the run.

``--regions-batch N`` (default 120, 0 to skip) also times the whole batch of a small bank with
N regions in three echelons (``batch_<N>_regions_s``) and its per-job overhead: the workers'
time not spent executing notebook cells, per job (``batch_per_job_overhead_s``, from the cell
durations papermill records in every executed notebook).

Figures go into ``reports/bench/latest.json`` merged with the figures already there (atomic
write). Usage: ``python -m benchmarks.scale --sizes 1m,3m --regions-batch 120``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from benchmarks._harness import ROOT, SEED, cli, merge_figures

GB = 1024**3
#: Stages of one size, in the order they run.
STAGES = ("generate", "validate", "prepare", "reports")
#: Stages whose seconds add up to the end-to-end time (validate runs again inside prepare).
END_TO_END = ("generate", "prepare", "reports")
#: Customers of the many-regions batch bank (small: the batch, not the data, is measured).
BATCH_CUSTOMERS = 24_000
FIT_NOTEBOOK = "02_cross_sell_propensity"


@dataclass(frozen=True)
class StageResult:
    """Wall time and memory of one stage (one child process and everything it started)."""

    wall_s: float
    peak_rss_gb: float
    peak_tree_rss_gb: float
    #: User + system CPU seconds of the child and the descendants it waited for (``wait4``).
    cpu_s: float = float("nan")
    #: The command's exit code (0: it succeeded; a batch with a failed or timed-out job: 1).
    exit_code: int = 0


def parse_size(text: str) -> int:
    """Customers of a size written ``1m``, ``3m``, ``50k`` or ``20000``.

    Examples
    --------
    >>> parse_size("3m"), parse_size("50k"), parse_size("2000")
    (3000000, 50000, 2000)
    """
    t = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    number = float(t[:-1] if scale > 1 else t)
    n = int(round(number * scale))
    if n < 100:
        raise ValueError(f"size {text!r}: at least 100 customers")
    return n


def size_label(n: int) -> str:
    """Figure-name label of ``n`` customers: ``1m``, ``3m``, ``10m``, ``50k`` or ``2000``.

    Examples
    --------
    >>> size_label(1_000_000), size_label(2_500_000), size_label(50_000), size_label(1234)
    ('1m', '2.5m', '50k', '1234')
    """
    for unit, value in (("m", 1_000_000), ("k", 1_000)):
        if n >= value and (n * 10) % value == 0:
            return f"{n / value:g}{unit}"
    return str(n)


def _tree_rss(proc: object) -> tuple[int, int]:
    """(largest single RSS, summed RSS) in bytes of a psutil process and its descendants."""
    import psutil

    procs = [proc]
    try:
        procs += proc.children(recursive=True)  # type: ignore[attr-defined]
    except psutil.Error:
        pass
    largest = total = 0
    for p in procs:
        try:
            rss = p.memory_info().rss  # type: ignore[attr-defined]
        except psutil.Error:
            continue
        largest = max(largest, rss)
        total += rss
    return largest, total


def measure_tree(
    cmd: Sequence[str],
    env: dict[str, str] | None = None,
    interval: float = 0.2,
    check: bool = True,
) -> StageResult:
    """Run ``cmd`` to the end, sampling the memory of its process tree every ``interval`` s.

    With ``check=False`` a failing command's figures are returned with its ``exit_code``
    (what it took up to its failure) instead of raising.

    Raises
    ------
    subprocess.CalledProcessError
        When it fails and ``check`` is true.
    """
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    ps = psutil.Process(proc.pid)
    largest = total = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        one, tree = _tree_rss(ps)
        largest, total = max(largest, one), max(total, tree)
        time.sleep(interval)
    wall = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0 and check:
        raise subprocess.CalledProcessError(code, list(cmd))
    # ru_maxrss (KiB): the child's own peak, or that of a descendant it waited for
    largest = max(largest, usage.ru_maxrss * 1024)
    cpu = usage.ru_utime + usage.ru_stime
    return StageResult(wall, largest / GB, max(total, largest) / GB, cpu, code)


def measure_unchecked(cmd: list[str]) -> StageResult:
    """:func:`measure_tree` that returns a failed stage's figures with its exit code."""
    return measure_tree(cmd, check=False)


def disk_gb(*folders: Path) -> float:
    """Bytes of every file under ``folders`` (missing ones count nothing), in GB."""
    total = 0
    for folder in folders:
        if folder.exists():
            total += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return total / GB


def stage_commands(
    base: Path, n_customers: int, n_regions: int | None = None, jobs: int | None = None
) -> list[tuple[str, list[str]]]:
    """(stage, command line) of every stage of one bank under ``base`` (see :data:`STAGES`)."""
    raw, processed, reports = base / "raw", base / "processed", base / "reports"
    gen = ["--customers", str(n_customers), "--seed", str(SEED), "--out", str(raw)]
    if n_regions is not None:
        gen += ["--regions", str(n_regions)]
    run = ["run", "--processed", str(processed), "--out", str(reports), "--no-progress"]
    run += ["--jobs", str(jobs or os.cpu_count() or 1), "--force"]
    return [
        ("generate", cli("data", "generate", *gen)),
        ("validate", cli("data", "validate", "--raw", str(raw))),
        ("prepare", cli("data", "prepare", "--raw", str(raw), "--out", str(processed), "--force")),
        ("reports", [*cli(*run), "--run-id", "all"]),
    ]


def fit_command(base: Path) -> list[str]:
    """The first region's propensity report alone (run id ``fit``): fits the models into the
    cache of the bank under ``base`` (the many-regions batch warms its cache with it)."""
    processed, reports = base / "processed", base / "reports"
    return cli(
        *("run", "--processed", str(processed), "--out", str(reports), "--no-progress"),
        *("--notebooks", FIT_NOTEBOOK, "--jobs", "1", "--force"),
        *("--regions", _first_region(processed), "--run-id", "fit"),
    )


def fit_job_seconds(run_dir: Path) -> float | None:
    """Seconds of the batch job that fitted the models: the first of ``FIT_NOTEBOOK``'s jobs
    to start (``finished`` less ``duration_s`` in the run's manifest); ``None`` when the run
    has no manifest or no such job finished."""
    path = run_dir / "manifest.json"
    if not path.exists():
        return None
    started = []
    for job in json.loads(path.read_text(encoding="utf-8"))["jobs"]:
        seconds, finished = job.get("duration_s"), job.get("finished")
        if job.get("notebook") == FIT_NOTEBOOK and seconds is not None and finished:
            end = datetime.fromisoformat(str(finished).replace("Z", "+00:00")).timestamp()
            started.append((end - float(seconds), float(seconds)))
    return min(started)[1] if started else None


def _first_region(processed: Path) -> str:
    import pyarrow.parquet as pq

    return str(pq.read_table(processed / "regions.parquet", columns=["region_id"])[0][0])


def run_size(
    n_customers: int,
    base: Path,
    measure: Callable[[list[str]], StageResult] = measure_unchecked,
    stages: Sequence[str] = STAGES,
    jobs: int | None = None,
) -> dict[str, float]:
    """Run the ``stages`` of one bank size in ``base`` (emptied first); return its figures.

    Figures: ``scale_<label>_<stage>_s``, ``scale_<label>_<stage>_peak_rss_gb``,
    ``scale_<label>_<stage>_cpu_s``,
    ``scale_<label>_peak_rss_gb`` (largest single process of any stage),
    ``scale_<label>_peak_tree_rss_gb``, ``scale_<label>_disk_gb`` (raw + processed) and, when
    every stage of :data:`END_TO_END` ran and succeeded, ``scale_<label>_end_to_end_s``.

    A stage that fails (e.g. a batch job past its notebook timeout) keeps the figures of what
    it took up to then, adds ``scale_<label>_<stage>_exit_code`` and stops the stages after it
    (they need its output); the batch stage (``reports``) also gives
    ``scale_<label>_reports_jobs_not_ok``, its jobs that did not end ``ok``, and when its
    fitting job finished, ``scale_<label>_fit_job_s`` (:func:`fit_job_seconds`). So a 10M run
    whose batch has one timed-out job still writes the figures of every stage, without an
    end-to-end time.
    """
    label = f"scale_{size_label(n_customers)}"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    figures: dict[str, float] = {}
    results: dict[str, StageResult] = {}
    for stage, cmd in stage_commands(base, n_customers, jobs=jobs):
        if stage not in stages:
            continue
        print(f"  [{label}] {stage} ...", flush=True)
        res = results[stage] = measure(cmd)
        figures[f"{label}_{stage}_s"] = res.wall_s
        figures[f"{label}_{stage}_peak_rss_gb"] = res.peak_rss_gb
        if res.cpu_s == res.cpu_s:  # measured (not NaN)
            figures[f"{label}_{stage}_cpu_s"] = res.cpu_s
        print(f"  [{label}] {stage}: {res.wall_s:.1f} s, {res.peak_rss_gb:.2f} GB", flush=True)
        run_id = cmd[cmd.index("--run-id") + 1] if "--run-id" in cmd else None
        if run_id is not None:
            not_ok = jobs_not_ok(base / "reports" / run_id)
            if not_ok is not None:
                figures[f"{label}_{stage}_jobs_not_ok"] = float(not_ok)
        if res.exit_code != 0:
            figures[f"{label}_{stage}_exit_code"] = float(res.exit_code)
            print(f"  [{label}] {stage} failed (exit {res.exit_code}): later stages not run")
            break
    if results:
        figures[f"{label}_peak_rss_gb"] = max(r.peak_rss_gb for r in results.values())
        figures[f"{label}_peak_tree_rss_gb"] = max(r.peak_tree_rss_gb for r in results.values())
    figures[f"{label}_disk_gb"] = disk_gb(base / "raw", base / "processed")
    if all(s in results and results[s].exit_code == 0 for s in END_TO_END):
        figures[f"{label}_end_to_end_s"] = sum(results[s].wall_s for s in END_TO_END)
    run_dir = base / "reports" / "all"
    fit_s = fit_job_seconds(run_dir) if "reports" in results else None
    if fit_s is not None:
        figures[f"{label}_fit_job_s"] = fit_s
    if "reports" in results and (run_dir / "manifest.json").exists():
        for notebook, seconds in cells_by_notebook(run_dir).items():
            figures[f"{label}_reports_{notebook}_cell_s"] = seconds
        for notebook, region, head, seconds in slowest_cells(run_dir):
            print(f"  [{label}] slow cell {seconds:7.1f} s  {notebook} {region}: {head}")
    return figures


def jobs_not_ok(run_dir: Path) -> int | None:
    """Jobs of a batch run that did not end ``ok`` (``None`` without its ``manifest.json``)."""
    path = run_dir / "manifest.json"
    if not path.exists():
        return None
    jobs = json.loads(path.read_text(encoding="utf-8"))["jobs"]
    return sum(job.get("status") != "ok" for job in jobs)


def cell_seconds(ipynb: Path) -> float:
    """Seconds papermill recorded for the cells of one executed notebook (0 when none)."""
    return sum(seconds for _, seconds in _cells(ipynb))


def _cells(ipynb: Path) -> list[tuple[str, float]]:
    """(first source line, seconds) of every executed cell papermill timed in ``ipynb``."""
    nb = json.loads(ipynb.read_text(encoding="utf-8"))
    out = []
    for cell in nb.get("cells", []):
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if isinstance(duration, (int, float)):
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            out.append((lines[0][:80] if lines else "", float(duration)))
    return out


def cells_by_notebook(run_dir: Path) -> dict[str, float]:
    """Cell seconds of a finished run summed per notebook over its jobs (where reports spend).

    Parameters
    ----------
    run_dir : Path
        The run folder; its ``manifest.json`` lists each job's notebook and executed copy.

    Returns
    -------
    dict of str to float
        ``{notebook: seconds}``, in the manifest's order of first appearance.
    """
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    out: dict[str, float] = {}
    for job in manifest["jobs"]:
        ipynb = run_dir / job["ipynb"] if job.get("ipynb") else None
        if ipynb is not None and ipynb.exists():
            out[job["notebook"]] = out.get(job["notebook"], 0.0) + cell_seconds(ipynb)
    return out


def slowest_cells(run_dir: Path, n: int = 8) -> list[tuple[str, str, str, float]]:
    """The ``n`` slowest cells of a finished run: (notebook, region, first line, seconds)."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    found = []
    for job in manifest["jobs"]:
        ipynb = run_dir / job["ipynb"] if job.get("ipynb") else None
        if ipynb is not None and ipynb.exists():
            region = str(job.get("region_id") or "bank")
            found += [(job["notebook"], region, h, s) for h, s in _cells(ipynb)]
    return sorted(found, key=lambda c: -c[3])[:n]


def batch_overhead(run_dir: Path, wall_s: float, workers: int) -> dict[str, float]:
    """Per-job overhead of a finished batch: (wall x workers - cell seconds) / jobs.

    Parameters
    ----------
    run_dir : Path
        The run folder (its ``manifest.json`` lists the jobs and their executed notebooks).
    wall_s : float
        Wall seconds of the whole batch.
    workers : int
        Parallel workers it ran with.

    Returns
    -------
    dict of str to float
        ``jobs``, ``cell_s`` (sum over jobs of their cells' seconds) and ``per_job_overhead_s``.
    """
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    if manifest["status"] != "complete":
        raise RuntimeError(f"batch {manifest['status']}: {manifest.get('reason')}")
    jobs = manifest["jobs"]
    cells = sum(cell_seconds(run_dir / j["ipynb"]) for j in jobs)
    overhead = (wall_s * workers - cells) / len(jobs)
    return {"jobs": float(len(jobs)), "cell_s": cells, "per_job_overhead_s": overhead}


def run_regions_batch(
    n_regions: int,
    base: Path,
    n_customers: int = BATCH_CUSTOMERS,
    measure: Callable[[list[str]], StageResult] = measure_tree,
    jobs: int | None = None,
) -> dict[str, float]:
    """Time the whole batch (3 reports per region plus the overview) of an ``n_regions`` bank.

    The bank is generated and prepared first and the model cache warmed (untimed), so the
    figure is the batch itself. Returns ``batch_<N>_regions_s``, ``batch_<N>_regions_jobs``,
    ``batch_<N>_regions_peak_rss_gb``, ``batch_per_job_overhead_s`` and
    ``batch_<N>_regions_cell_s``.
    """
    workers = jobs or os.cpu_count() or 1
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    cmds = dict(stage_commands(base, n_customers, n_regions=n_regions, jobs=workers))
    for stage in ("generate", "prepare", "fit"):
        cmd = fit_command(base) if stage == "fit" else cmds[stage]
        print(f"  [batch {n_regions} regions] {stage} (untimed) ...", flush=True)
        measure(cmd)
    print(f"  [batch {n_regions} regions] batch ...", flush=True)
    res = measure(cmds["reports"])
    over = batch_overhead(base / "reports" / "all", res.wall_s, workers)
    name = f"batch_{n_regions}_regions"
    return {
        f"{name}_s": res.wall_s,
        f"{name}_jobs": over["jobs"],
        f"{name}_cell_s": over["cell_s"],
        f"{name}_peak_rss_gb": res.peak_rss_gb,
        f"{name}_cpu_s": res.cpu_s,
        "batch_per_job_overhead_s": over["per_job_overhead_s"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--sizes",
        default=os.environ.get("SCALE_SIZES", "1m,3m,10m"),
        help="bank sizes, e.g. 1m,3m,10m (env SCALE_SIZES)",
    )
    ap.add_argument(
        "--stages",
        default=",".join(STAGES),
        help=f"subset of {','.join(STAGES)} (a stage needs the ones before it)",
    )
    ap.add_argument("--regions-batch", type=int, default=120, help="regions of the batch (0: skip)")
    ap.add_argument("--jobs", type=int, default=None, help="batch workers (default: cores)")
    ap.add_argument("--keep", action="store_true", help="keep the generated banks")
    ap.add_argument("--work", default=str(ROOT / "build" / "bench"), help="work folder")
    ap.add_argument("--out", default=str(ROOT / "reports" / "bench" / "latest.json"))
    args = ap.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        ap.error(f"unknown stages: {', '.join(unknown)}")
    work = Path(args.work)
    failed: list[str] = []
    print(f"machine: {platform.machine()} {os.cpu_count()} cores; load {os.getloadavg()}")
    for size in [s for s in args.sizes.split(",") if s.strip()]:
        n = parse_size(size)
        base = work / f"scale_{size_label(n)}"
        figures = run_size(n, base, stages=stages, jobs=args.jobs)
        # after each size (a later failure keeps it); this run's figures of the size replace
        # all its earlier ones, so none is left from a run measured differently
        merge_figures(Path(args.out), figures, drop_prefix=f"scale_{size_label(n)}_")
        _print(figures)
        failed += [k for k in figures if k.endswith("_exit_code")]
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    if args.regions_batch > 0:
        base = work / f"batch_{args.regions_batch}_regions"
        figures = run_regions_batch(args.regions_batch, base, jobs=args.jobs)
        merge_figures(Path(args.out), figures)
        _print(figures)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"load at the end {os.getloadavg()}; figures merged into {args.out}")
    if failed:
        print(f"failed stages: {', '.join(failed)}")
    return 1 if failed else 0


def _print(figures: dict[str, float]) -> None:
    for k, v in figures.items():
        print(f"  {k:40s} {v:12.3f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
