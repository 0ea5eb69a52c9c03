"""Side by side: peak memory of ``bankanalysis data prepare`` before and after issue 18's change.

Until commit :data:`OLD_REF` prepare typed the whole ``customers`` dimension in pandas and built
each month of ``customer_month`` as one Arrow table in Python; since then customers are typed
in DuckDB and each month is computed in DuckDB (memory limit, spill folder) and streamed to
the file. This script runs both on the same generated banks, one after the other in the same
run: the old code is taken from git (``git archive OLD_REF src``) and put first on the
``PYTHONPATH`` of its child process, the new code is this checkout's ``src``.

For each size (``--sizes 200k,600k``) the bank is generated once (cached in
``build/bench/bank_<n>/raw``, like the other benchmarks), then ``data prepare --force`` runs
in a child process with the old code, then with the new; each child's wall time, CPU time and
peak RSS come from ``os.wait4``. The two processed folders are then compared table by table
(the frames ``bankanalysis.data.load`` reads, row for row, and the schemas); a difference is
an error, not a figure.

Figures (merged into ``reports/bench/latest.json``; the ``scale_`` prefix keeps them when
``make bench`` rewrites the file): ``scale_prepare_<n>_old_peak_rss_gb``,
``scale_prepare_<n>_new_peak_rss_gb``, ``scale_prepare_<n>_peak_rss_ratio`` (new / old),
``scale_prepare_<n>_old_s``, ``scale_prepare_<n>_new_s`` and their ``_cpu_s``. Not part of
``make bench`` (it would lengthen it). Usage: ``python -m benchmarks.prepare_memory --sizes
200k,600k``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks._harness import ROOT, bench_bank, cli, measure, merge_figures
from benchmarks.scale import parse_size, size_label

#: The last commit of main before prepare became out-of-core (issue 18).
OLD_REF = "d050e2435841e5a70544bab346afc752ecb31470"


def export_source(ref: str, dest: Path) -> Path:
    """Write the package source of git ``ref`` under ``dest``; return its ``src`` folder."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "src.tar"
    with open(archive, "wb") as f:
        subprocess.run(["git", "archive", ref, "src"], cwd=ROOT, check=True, stdout=f)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return dest / "src"


def same_tables(a: Path, b: Path) -> list[str]:
    """Differences between two processed folders (empty when they hold the same tables).

    Compares every Parquet table as Arrow (values, types, row order; row groups may differ)
    and its schema with the pandas metadata, so ``bankanalysis.data.load`` reads the same
    frames from both. ``customer_month`` is compared one row group at a time.
    """
    diffs = []
    names = sorted(p.name for p in a.glob("*.parquet"))
    if names != sorted(p.name for p in b.glob("*.parquet")):
        return [f"tables differ: {names}"]
    for name in names:
        fa, fb = pq.ParquetFile(a / name), pq.ParquetFile(b / name)
        if not fa.schema_arrow.equals(fb.schema_arrow, check_metadata=True):
            diffs.append(f"{name}: schemas differ")
            continue
        if fa.metadata.num_rows != fb.metadata.num_rows:
            diffs.append(f"{name}: {fa.metadata.num_rows} vs {fb.metadata.num_rows} rows")
            continue
        layout_a = [fa.metadata.row_group(i).num_rows for i in range(fa.num_row_groups)]
        layout_b = [fb.metadata.row_group(i).num_rows for i in range(fb.num_row_groups)]
        if layout_a == layout_b:
            same = all(
                fa.read_row_group(i).equals(fb.read_row_group(i)) for i in range(len(layout_a))
            )
        else:
            same = fa.read().equals(fb.read())
        if not same:
            diffs.append(f"{name}: values differ")
    return diffs


def run_size(n: int, old_src: Path, work: Path) -> dict[str, float]:
    """Prepare the ``n``-customer bank with the old and the new code; compare; return figures.

    Raises
    ------
    RuntimeError
        When the two processed folders differ.
    """
    raw = bench_bank(n)
    label = size_label(n)
    figures: dict[str, float] = {}
    outs = {}
    for kind, src in (("old", old_src), ("new", ROOT / "src")):
        env = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}
        outs[kind] = work / f"{label}_{kind}"
        cmd = cli("data", "prepare", "--force", "--raw", str(raw), "--out", str(outs[kind]))
        print(f"  {label} customers, {kind} code: prepare ...", flush=True)
        wall, cpu, rss = measure(cmd, env=env)
        figures[f"scale_prepare_{label}_{kind}_s"] = wall
        figures[f"scale_prepare_{label}_{kind}_cpu_s"] = cpu
        figures[f"scale_prepare_{label}_{kind}_peak_rss_gb"] = rss
    diffs = same_tables(outs["old"], outs["new"])
    if diffs:
        raise RuntimeError(f"old and new prepare differ at {label}: {'; '.join(diffs)}")
    old, new = (figures[f"scale_prepare_{label}_{k}_peak_rss_gb"] for k in ("old", "new"))
    figures[f"scale_prepare_{label}_peak_rss_ratio"] = new / old
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="200k,600k", help="bank sizes, e.g. 200k,600k,1m")
    ap.add_argument("--old-ref", default=OLD_REF, help="git ref of the old prepare")
    ap.add_argument("--out", default=str(ROOT / "reports" / "bench" / "latest.json"))
    args = ap.parse_args(argv)
    print(f"{os.cpu_count()} cores; load {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="prepare-memory-", dir=ROOT / "build") as tmp:
        old_src = export_source(args.old_ref, Path(tmp) / "old")
        for size in [s for s in args.sizes.split(",") if s.strip()]:
            figures = run_size(parse_size(size), old_src, Path(tmp))
            merge_figures(Path(args.out), figures)
            for k, v in figures.items():
                print(f"  {k:45s} {v:10.3f}", flush=True)
    print(f"load at the end {os.getloadavg()}; figures merged into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
