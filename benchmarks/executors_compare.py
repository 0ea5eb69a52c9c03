"""Side by side: the same batch with the local executor and with Dask, compared file by file.

Issue 18 asks that, with the Dask executor on a local cluster of several workers, the reports
are identical to the local executor's. ``tests/test_dask.py`` shows it on the stub bank (two
fixture notebooks, one region). This script shows it on a real bank with the real notebooks:
it runs ``bankanalysis run`` twice on the same processed data, regions and parameters, once
with ``--executor local --jobs N`` and once with ``--executor dask`` (a ``LocalCluster`` of N
single-threaded worker processes), each as its own child process timed by ``os.wait4``, then
compares every file of the two runs:

- ``metrics.json``, the restricted CSVs and every other file byte for byte, except the pages,
  the workbooks and the run's own records;
- each lead workbook (``.xlsx``) part by part, byte for byte, with the time it was written
  (its document properties) normalised;
- each HTML page after replacing what differs by construction: the run id, the UTC times of
  the run and the git commit line (the same normalisation as ``tests/test_dask.py``);
- ``manifest.json``: the same jobs with the same keys and statuses.

A difference is listed and the script exits 1. Figures (merged into
``reports/bench/latest.json`` with ``--out``; prefix ``scale_`` so ``make bench`` keeps them):
``scale_executors_jobs``, ``scale_executors_files``, ``scale_executors_local_s``,
``scale_executors_dask_s`` and ``scale_executors_dask_over_local``. Not part of ``make bench``
(a 120-region batch takes about 40 minutes per executor on 2 cores). Usage::

    python -m benchmarks.executors_compare --processed <bank>/processed --regions R001,R002 \
        --workers 2 --work /tmp/compare
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path

from benchmarks._harness import ROOT, measure, merge_figures

#: Files of a run that record the run itself (its id, times, durations, worker pids).
RUN_RECORDS = ("manifest.json", "run.log")


def normalise_page(page: str, run_id: str) -> str:
    """A page with the run id, UTC times and git commit replaced (they differ by construction)."""
    page = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", "<time>", page)
    page = page.replace(run_id, "<run>") if run_id else page
    return re.sub(r'"git-commit">[^<]*<', '"git-commit"><commit><', page)


def workbook_parts(path: Path) -> dict[str, bytes]:
    """An ``.xlsx`` file's parts, with the times of its document properties normalised.

    A workbook records when it was written (``docProps/core.xml``); every other part (the
    sheets, their cells, styles) must be the same byte for byte.
    """
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in sorted(z.namelist())}
    if "docProps/core.xml" in parts:
        core = parts["docProps/core.xml"].decode("utf-8")
        parts["docProps/core.xml"] = normalise_page(core, "").encode("utf-8")
    return parts


def _files(run_dir: Path) -> dict[str, Path]:
    return {
        p.relative_to(run_dir).as_posix(): p
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.suffix != ".ipynb" and p.name not in RUN_RECORDS
    }


def _jobs(run_dir: Path) -> list[tuple[str, str, str]]:
    m = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    return sorted((j["name"], j["status"], j["key"]) for j in m["jobs"])


def compare_runs(a: Path, b: Path) -> tuple[int, list[str]]:
    """Compare two run folders; return the number of files compared and the differences."""
    diffs: list[str] = []
    if _jobs(a) != _jobs(b):
        diffs.append("manifest.json: the jobs, their keys or statuses differ")
    fa, fb = _files(a), _files(b)
    for name in sorted(set(fa) ^ set(fb)):
        diffs.append(f"{name}: only in {'the first' if name in fa else 'the second'} run")
    for name in sorted(set(fa) & set(fb)):
        if name.endswith(".html"):
            pa = normalise_page(fa[name].read_text(encoding="utf-8"), a.name)
            pb = normalise_page(fb[name].read_text(encoding="utf-8"), b.name)
            same = pa == pb
        elif name.endswith(".xlsx"):
            same = workbook_parts(fa[name]) == workbook_parts(fb[name])
        else:
            same = fa[name].read_bytes() == fb[name].read_bytes()
        if not same:
            diffs.append(f"{name}: differs")
    return len(set(fa) & set(fb)), diffs


def _run_cmd(args: argparse.Namespace, executor: str, run_id: str, out: Path) -> list[str]:
    cmd = [sys.executable, "-m", "bankanalysis.cli", "run", "--processed", args.processed]
    cmd += ["--out", str(out), "--run-id", run_id, "--no-progress", "--force"]
    cmd += ["--regions", args.regions, "--executor", executor]
    return cmd + ["--jobs", str(args.workers)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--processed", required=True, help="processed folder of the bank")
    ap.add_argument("--regions", default="all", help="region ids, comma-separated, or all")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of each executor")
    ap.add_argument("--work", default=str(ROOT / "build" / "executors"), help="work folder")
    ap.add_argument("--out", default=None, help="merge the figures into this JSON file")
    args = ap.parse_args(argv)
    args.processed = str(Path(args.processed).resolve())
    work = Path(args.work).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"{os.cpu_count()} cores; load {os.getloadavg()}", flush=True)
    timing = {}
    for executor in ("local", "dask"):
        wall, cpu, _ = measure(_run_cmd(args, executor, f"run_{executor}", work / "reports"))
        timing[executor] = wall
        print(f"  {executor}: {wall:.1f} s wall, {cpu:.1f} CPU s", flush=True)
    a, b = work / "reports" / "run_local", work / "reports" / "run_dask"
    n_files, diffs = compare_runs(a, b)
    figures = {
        "scale_executors_jobs": float(len(_jobs(a))),
        "scale_executors_files": float(n_files),
        "scale_executors_local_s": timing["local"],
        "scale_executors_dask_s": timing["dask"],
        "scale_executors_dask_over_local": timing["dask"] / timing["local"],
    }
    for k, v in figures.items():
        print(f"  {k:36s} {v:10.3f}")
    print(f"load at the end {os.getloadavg()}")
    if args.out:
        merge_figures(Path(args.out), figures)
    if diffs:
        print(f"{len(diffs)} differences:", *diffs[:50], sep="\n  ")
        return 1
    print(f"identical: {n_files} files of {len(_jobs(a))} jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
