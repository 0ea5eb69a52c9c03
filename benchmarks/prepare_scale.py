"""Side by side: CPU seconds, wall seconds and peak memory of ``data prepare``, old and new code.

At 10 million customers ``bankanalysis data prepare`` took 18.3 times the CPU seconds of 1
million (issue 18): its holdings aggregation and each month's ``customer_month`` join no longer
fitted DuckDB's fixed 2 GB memory limit and spilled. Since then the limit defaults to a third
of the machine's memory, between 2 and 8 GB (``data.io.default_memory_limit``;
``BANKANALYSIS_DUCKDB_MEMORY`` still sets it), the aggregates whose row order nothing
reads are built without DuckDB keeping insertion order (``prepare_sql.unordered``), and the
holdings are aggregated one month at a time, each right before its month of
``customer_month`` (``data.prepare_holdings``).

This script prepares the same raw bank with the old code (``git archive OLD_REF src``, first
on its child's ``PYTHONPATH``) and with this checkout's ``src``, one after the other in one
run, each ``data prepare --force`` in its own child process (wall time, CPU time and peak RSS
from ``os.wait4``; ``BANKANALYSIS_DUCKDB_MEMORY`` removed from both children's environment so
each takes its own default). With ``--new-limit 2GB`` the new code runs once more held to that
limit (``new_<limit>``), which separates the limit's share of the gain from the rest. Every
new processed folder is then compared with the old one table by table (values, types, row
order and the pandas schema; ``prepare_memory.same_tables``): a difference is an error, not a
figure. The machine's load is printed before and after each run.

Banks: ``--raw DIR[,DIR...]`` (raw folders, e.g. made with ``bankanalysis data generate
--customers 3000000``) or ``--sizes 1m,3m`` (the cached benchmark banks,
``build/bench/bank_<n>/raw``, generated when missing). Figures (merged into
``reports/bench/latest.json`` with ``--out``; the ``scale_`` prefix keeps them when ``make
bench`` rewrites the file): ``scale_prepare_<n>_{old,new}_{s,cpu_s,peak_rss_gb}`` and
``scale_prepare_<n>_{s,cpu_s,peak_rss}_ratio`` (new / old). Not part of ``make bench`` (3
million customers take about half an hour on a loaded 2-core machine). Usage: ``python -m
benchmarks.prepare_scale --raw /tmp/b1m/raw,/tmp/b3m/raw --work /tmp/prep``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks._harness import ROOT, bench_bank, cli, measure, merge_figures
from benchmarks.prepare_memory import export_source, same_tables
from benchmarks.scale import parse_size, size_label

#: main before the holdings were aggregated a month at a time (``prepare_holdings``); the
#: README's earlier table (the machine-sized DuckDB limit, the unordered aggregates) was
#: measured against ``576ece3``, main before those (``--old-ref``).
OLD_REF = "b995e07c273fd17a1dd7c8ecebe2d2a755f8df8d"


def bank_customers(raw: Path) -> int:
    """Customers of a raw bank (rows of its customers file, CSV or Parquet)."""
    pq_file = raw / "customers.parquet"
    if pq_file.is_file():
        return pq.ParquetFile(pq_file).metadata.num_rows
    with open(raw / "customers.csv", "rb") as f:
        return sum(1 for _ in f) - 1


def run_bank(raw: Path, old_src: Path, work: Path, new_limit: str | None) -> dict[str, float]:
    """Prepare ``raw`` with the old and the new code; compare; return the figures.

    Raises
    ------
    RuntimeError
        When a new processed folder differs from the old one.
    """
    label = size_label(bank_customers(raw))
    runs: list[tuple[str, Path, str | None]] = [("old", old_src, None), ("new", ROOT / "src", None)]
    if new_limit:
        runs.append((f"new_{new_limit.lower()}", ROOT / "src", new_limit))
    figures: dict[str, float] = {}
    outs = {}
    for kind, src, limit in runs:
        env = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}
        env.pop("BANKANALYSIS_DUCKDB_MEMORY", None)
        if limit:
            env["BANKANALYSIS_DUCKDB_MEMORY"] = limit
        outs[kind] = work / f"{label}_{kind}"
        cmd = cli("data", "prepare", "--force", "--raw", str(raw), "--out", str(outs[kind]))
        load = os.getloadavg()[0]
        print(f"  {label} customers, {kind} code: prepare (load {load:.1f}) ...", flush=True)
        wall, cpu, rss = measure(cmd, env=env)
        print(
            f"    {wall:.1f} s wall, {cpu:.1f} s CPU, {rss:.2f} GB (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        stem = f"scale_prepare_{label}_{kind}"
        figures.update({f"{stem}_s": wall, f"{stem}_cpu_s": cpu, f"{stem}_peak_rss_gb": rss})
    for kind in outs:
        if kind == "old":
            continue
        diffs = same_tables(outs["old"], outs[kind])
        if diffs:
            raise RuntimeError(f"old and {kind} prepare differ at {label}: {'; '.join(diffs)}")
        print(f"  {label}: {kind} tables identical to old", flush=True)
        for fig, unit in (("s", "s"), ("cpu_s", "cpu_s"), ("peak_rss_gb", "peak_rss")):
            old = figures[f"scale_prepare_{label}_old_{fig}"]
            new = figures[f"scale_prepare_{label}_{kind}_{fig}"]
            suffix = "" if kind == "new" else f"_{kind}"
            figures[f"scale_prepare_{label}{suffix}_{unit}_ratio"] = new / old
    for out in outs.values():
        shutil.rmtree(out, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--raw", default="", help="raw bank folders, comma-separated")
    ap.add_argument("--sizes", default="", help="cached benchmark banks instead, e.g. 1m,3m")
    ap.add_argument("--old-ref", default=OLD_REF, help="git ref of the old prepare")
    ap.add_argument("--new-limit", default="", help="also run the new code at this limit (2GB)")
    ap.add_argument("--work", default=str(ROOT / "build"), help="folder for the outputs")
    ap.add_argument("--out", default=str(ROOT / "reports" / "bench" / "latest.json"))
    args = ap.parse_args(argv)
    raws = [Path(r) for r in args.raw.split(",") if r.strip()]
    raws += [bench_bank(parse_size(s)) for s in args.sizes.split(",") if s.strip()]
    if not raws:
        ap.error("give --raw or --sizes")
    print(f"{os.cpu_count()} cores; load {os.getloadavg()}", flush=True)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prepare-scale-", dir=args.work) as tmp:
        old_src = export_source(args.old_ref, Path(tmp) / "old")
        for raw in raws:
            figures = run_bank(raw, old_src, Path(tmp), args.new_limit or None)
            merge_figures(Path(args.out), figures)
            for k, v in figures.items():
                print(f"  {k:50s} {v:10.3f}", flush=True)
    print(f"load at the end {os.getloadavg()}; figures merged into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
