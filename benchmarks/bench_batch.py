"""Benchmark: the report batch against a plain papermill/nbconvert shell loop, and at scale.

Side by side in one run, on the same notebooks, parameters and processed data:

- baseline: what a user writes without this project, a shell loop running the ``papermill``
  CLI and then ``jupyter nbconvert --to html --no-input`` for each job, one after another;
- ``bankanalysis run --force`` (cold: every job executes) with as many workers as cores;
- ``bankanalysis run`` again with nothing changed (incremental: every job reused).

Before timing, one propensity notebook runs untimed so the model cache under
``<processed>/_models`` is warm for both sides (and the OS file cache too).

Figures: ``batch_vs_naive_speedup`` = baseline wall / cold batch wall (target >= 4 on 2 cores),
``batch_parallel_efficiency`` = cold batch wall / (sum of the jobs' own durations / workers)
(target <= 1.3), ``batch_rerun_ratio`` = no-change re-run wall / cold wall (target <= 0.05),
with the CPU seconds of each side. Full mode adds the 1M-customer bank end to end (generate,
prepare, every region's reports, each in its own child process): ``scale_1m_end_to_end_s``
(target <= 600) and ``scale_1m_peak_rss_gb`` (largest single process, target <= 8).

Quick mode: the CI bank (``tests/ci_bank.py``) and its first 2 regions, no scale run.
Usage: ``python -m benchmarks.bench_batch [--quick] [--no-scale]``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks._harness import ROOT, bench_bank, cli, measure

BIN = Path(sys.executable).parent
SCALE_CUSTOMERS = 1_000_000

_LOOP = """\
set -u
while IFS=$'\\t' read -r nb out params cwd; do
  papermill "$nb" "$out" -f "$params" --cwd "$cwd" -k python3 --no-progress-bar --log-level ERROR \\
    || echo "failed: $out" >&2
  jupyter nbconvert --to html --no-input --log-level ERROR "$out" || echo "no html: $out" >&2
done < "$1"
"""


def _default_processed() -> Path:
    """``data/processed``, generated and prepared when missing."""
    processed = ROOT / "data" / "processed"
    if not (processed / "_manifest.json").is_file():
        raw = ROOT / "data" / "raw"
        if not any(raw.glob("customers.*")):
            measure(cli("data", "generate", "--out", str(raw)))
        measure(cli("data", "prepare", "--raw", str(raw), "--out", str(processed)))
    return processed


def _regions(processed: Path) -> list[str]:
    import pandas as pd

    return [str(r) for r in pd.read_parquet(processed / "regions.parquet")["region_id"]]


def _loop_jobs(processed: Path, regions: list[str], work: Path, snap: Path) -> Path:
    """Write the baseline's job list (notebook, output, parameters file, working dir)."""
    from bankanalysis.batch import plan_jobs

    plan = plan_jobs(
        regions=regions,
        notebooks=None,
        run_id="naive",
        out=work,
        processed_dir=processed,
        params_dir=snap / "params",
        notebooks_dir=snap / "notebooks",
    )
    lines = []
    for job in plan.jobs:
        folder = work / "naive" / job.folder
        params = job.injected() | {"output_dir": str(folder / job.notebook)}
        (folder / job.notebook).mkdir(parents=True, exist_ok=True)
        pfile = folder / f"{job.notebook}.params.json"
        pfile.write_text(json.dumps(params), encoding="utf-8")
        cwd = Path(tempfile.mkdtemp(prefix="cwd-", dir=work))
        out = folder / f"{job.notebook}.ipynb"
        lines.append(f"{job.notebook_path}\t{out}\t{pfile}\t{cwd}")
    jobs = work / "naive-jobs.tsv"
    jobs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return jobs


def compare(processed: Path, regions: list[str], workers: int | None = None) -> dict[str, float]:
    """Baseline loop, cold batch and no-change re-run on the same inputs; return the figures."""
    workers = workers or os.cpu_count() or 1
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    with tempfile.TemporaryDirectory(prefix="bench-batch-", dir=ROOT / "build") as tmp:
        work = Path(tmp)
        # a frozen copy of package, notebooks and parameters: edits to the working tree
        # during the benchmark must not change job keys between the cold run and the re-run
        snap = work / "snapshot"
        ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
        shutil.copytree(ROOT / "src", snap / "src", ignore=ignore)
        for folder in ("notebooks", "params"):
            shutil.copytree(ROOT / folder, snap / folder, ignore=ignore)
        env["PYTHONPATH"] = str(snap / "src")
        reports = work / "reports"
        base = cli("run", "--processed", str(processed), "--out", str(reports), "--no-progress")
        base += ["--notebooks-dir", str(snap / "notebooks"), "--params", str(snap / "params")]
        run = [*base, "--regions", ",".join(regions), "--jobs", str(workers)]
        # warm the model cache and the file cache for both sides (untimed)
        warm = ["--regions", regions[0], "--notebooks", "02_cross_sell_propensity", "--force"]
        measure([*base, *warm, "--jobs", "1", "--run-id", "warmup"], env)
        shutil.rmtree(reports)
        jobs = _loop_jobs(processed, regions, work, snap)
        n_jobs = len(jobs.read_text(encoding="utf-8").splitlines())
        script = work / "naive.sh"
        script.write_text(_LOOP, encoding="utf-8")
        naive_s, naive_cpu, _ = measure(["bash", str(script), str(jobs)], env)
        n_html = len(list((work / "naive").rglob("*.html")))
        cold_s, cold_cpu, _ = measure([*run, "--run-id", "cold", "--force"], env)
        rerun_s, rerun_cpu, _ = measure([*run, "--run-id", "rerun"], env)
        cold = json.loads((reports / "cold" / "manifest.json").read_text(encoding="utf-8"))
        rerun = json.loads((reports / "rerun" / "manifest.json").read_text(encoding="utf-8"))
        if cold["status"] != "complete" or n_html != n_jobs:
            raise RuntimeError(
                f"batch {cold['status']} ({cold['reason']}), baseline {n_html}/{n_jobs} reports"
            )
        own = sum(float(j["duration_s"]) for j in cold["jobs"])
    return {
        "batch_jobs": float(n_jobs),
        "batch_naive_loop_s": naive_s,
        "batch_naive_loop_cpu_s": naive_cpu,
        "batch_cold_s": cold_s,
        "batch_cold_cpu_s": cold_cpu,
        "batch_rerun_s": rerun_s,
        "batch_rerun_cpu_s": rerun_cpu,
        "batch_rerun_reused_jobs": float(rerun["counts"].get("reused", 0)),
        "batch_vs_naive_speedup": naive_s / cold_s,
        "batch_parallel_efficiency": cold_s / (own / workers),
        "batch_rerun_ratio": rerun_s / cold_s,
    }


def scale(n_customers: int = SCALE_CUSTOMERS) -> dict[str, float]:
    """Generate (into a temp folder), prepare and run every report on an ``n_customers`` bank."""
    base = bench_bank(n_customers).parent  # keeps the cached raw bank warm for other benches
    with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=base) as tmp:
        raw, processed = Path(tmp) / "raw", Path(tmp) / "processed"
        gen_s, _, gen_rss = measure(cli("data", "generate", "--customers", str(n_customers),
                                        "--out", str(raw)))  # fmt: skip
        prep_s, _, prep_rss = measure(cli("data", "prepare", "--raw", str(raw), "--out",
                                          str(processed)))  # fmt: skip
        run_s, run_cpu, run_rss = measure(
            cli(
                "run",
                "--processed",
                str(processed),
                "--out",
                str(Path(tmp) / "reports"),
                "--no-progress",
                "--force",
            )  # fmt: skip
        )
    return {
        "scale_1m_generate_s": gen_s,
        "scale_1m_prepare_s": prep_s,
        "scale_1m_reports_s": run_s,
        "scale_1m_reports_cpu_s": run_cpu,
        "scale_1m_end_to_end_s": gen_s + prep_s + run_s,
        "scale_1m_peak_rss_gb": max(gen_rss, prep_rss, run_rss),
    }


def run(quick: bool = False, with_scale: bool = True) -> dict[str, float]:
    """Measure the batch against the naive loop, its re-run, and (full mode) the 1M bank.

    Parameters
    ----------
    quick : bool
        CI bank and 2 regions, no scale run (smoke test; same comparison figure names).
    with_scale : bool
        Include the 1M-customer end-to-end run in full mode.

    Returns
    -------
    dict of str to float
        ``batch_vs_naive_speedup``, ``batch_parallel_efficiency``, ``batch_rerun_ratio``,
        the wall/CPU seconds behind them, and in full mode ``scale_1m_end_to_end_s`` and
        ``scale_1m_peak_rss_gb`` with the time of each stage.
    """
    (ROOT / "build").mkdir(exist_ok=True)
    if quick:
        sys.path.insert(0, str(ROOT / "tests"))
        from ci_bank import build_ci_bank

        processed = build_ci_bank(ROOT / "build" / "ci").processed
        regions = _regions(processed)[:2]
    else:
        processed = _default_processed()
        regions = _regions(processed)
    figures = compare(processed, regions)
    if not quick and with_scale:
        figures |= scale()
    return figures


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    result = run(quick=quick, with_scale="--no-scale" not in sys.argv)
    for name, value in result.items():
        print(f"{name:32s} {value:10.3f}")
