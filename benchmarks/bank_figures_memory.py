"""Side by side: peak memory of the three bank-wide figures before and after issue 18's change.

Every report of a run reads three figures of the whole bank, each computed once per data
(:func:`bankanalysis.propensity.cache.cached_for_data`): the quarter customer KPIs
(``planning_scope._customer_quarters``: retention, coverage and card matching at the last five
quarter ends, about ten months of every customer), the whole bank's tiers
(``bank_tiers._bank_tiers``: the tier windows at the report month and at the migration base)
and the outlet KPIs (``benchmarking._outlet_kpis``: the tier window of the data month). Until
commit :data:`OLD_REF` each read all its months of every customer into pandas at once.

This script computes each figure in its own child process with the old code (``git archive
OLD_REF src`` first on the child's ``PYTHONPATH``) and then with this checkout's ``src``, on
the same processed bank, one after the other in one run; each child's wall time, CPU time and
peak RSS come from ``os.wait4``. The two results are then compared (pandas, exactly: values,
dtypes, index, row order); a difference is an error, not a figure.

The bank is a processed folder given with ``--processed``, or the cached benchmark bank of
``--size`` customers (``build/bench/bank_<n>``, generated and prepared when missing).
Figures (merged into ``reports/bench/latest.json`` with ``--out``; the ``scale_`` prefix keeps
them when ``make bench`` rewrites the file): ``scale_figures_<n>_<figure>_{old,new}_peak_rss_gb``,
``..._{old,new}_s``, ``..._peak_rss_ratio`` and ``..._s_ratio`` (new / old). Not part of
``make bench`` (a million-customer bank takes minutes). Usage: ``python -m
benchmarks.bank_figures_memory --processed /tmp/bank/processed``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

from benchmarks._harness import ROOT, bench_bank, cli, measure, merge_figures, old_source
from benchmarks.scale import parse_size, size_label

#: The last commit of main before the bank-wide figures were read in customer chunks.
OLD_REF = "8a92d80e6675734e0e4115b3d364a051566209cd"
#: The figures, by the name of their function.
FIGURES = ("customer_quarters", "bank_tiers", "outlet_kpis")
#: The report parameters used (``params/defaults.yaml``).
THRESHOLDS = [50_000.0, 500_000.0, 6_000_000.0]
TIER_MONTHS, MIGRATION_MONTHS, COVERAGE_PRODUCTS, MA_KPI = 3, 12, 3, "sales_per_fte"


def compute(figure: str, processed: Path) -> object:
    """The figure computed by whichever ``bankanalysis`` is first on the path (no cache)."""
    from bankanalysis.data.load import load_processed

    bank = load_processed(processed)
    ctx = SimpleNamespace(bank=bank, month=bank.data_month)
    if figure == "customer_quarters":
        from bankanalysis.report.planning_scope import ALL_LEVELS, _customer_quarters
        from bankanalysis.report.standing import scorecard_params

        return _customer_quarters(ctx, ctx.month, scorecard_params({}), 5, ALL_LEVELS)
    if figure == "bank_tiers":
        from bankanalysis.report.bank_tiers import _bank_tiers

        return _bank_tiers(ctx, THRESHOLDS, TIER_MONTHS, MIGRATION_MONTHS)
    from bankanalysis.report.benchmarking import _outlet_kpis

    return _outlet_kpis(ctx, THRESHOLDS, TIER_MONTHS, COVERAGE_PRODUCTS, MA_KPI)


def differences(old: object, new: object) -> str | None:
    """What differs between two results (``None`` when they are the same)."""
    import pandas as pd

    olds = old if isinstance(old, tuple) else (old,)
    news = new if isinstance(new, tuple) else (new,)
    if len(olds) != len(news):
        return f"{len(olds)} vs {len(news)} parts"
    for i, (a, b) in enumerate(zip(olds, news, strict=True)):
        if isinstance(a, pd.DataFrame):
            try:
                pd.testing.assert_frame_equal(a, b, check_exact=True)
            except AssertionError as exc:
                return f"part {i}: {str(exc)[:400]}"
        elif a != b:
            return f"part {i}: {a!r} vs {b!r}"
    return None


def run_bank(
    processed: Path, old_src: Path, work: Path, figures: list[str], chunks: list[int]
) -> dict[str, float]:
    """Each figure with the old and the new code on ``processed``; compare; return figures.

    The new code runs once with its default parts of customers (``new``) and once more for
    each size of ``chunks`` (``new_<size>``, ``$BANKANALYSIS_CHUNK_CUSTOMERS``).

    Raises
    ------
    RuntimeError
        When a new result of a figure differs from the old one.
    """
    label = size_label(bank_customers(processed))
    runs: list[tuple[str, Path, int | None]] = [("old", old_src, None), ("new", ROOT / "src", None)]
    runs += [(f"new_{size_label(c)}", ROOT / "src", c) for c in chunks]
    out: dict[str, float] = {}
    for figure in figures:
        results = {}
        for kind, src, chunk in runs:
            env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}", "PYTHONHASHSEED": "0"}
            env.pop("BANKANALYSIS_CHUNK_CUSTOMERS", None)
            if chunk is not None:
                env["BANKANALYSIS_CHUNK_CUSTOMERS"] = str(chunk)
            result = work / f"{figure}_{kind}.pkl"
            cmd = [sys.executable, "-m", "benchmarks.bank_figures_memory", "--child", figure]
            cmd += ["--processed", str(processed), "--result", str(result)]
            print(f"  {label} customers, {figure}, {kind} code ...", flush=True)
            wall, cpu, rss = measure(cmd, env=env)
            stem = f"scale_figures_{label}_{figure}_{kind}"
            out.update({f"{stem}_s": wall, f"{stem}_cpu_s": cpu, f"{stem}_peak_rss_gb": rss})
            with open(result, "rb") as f:
                results[kind] = pickle.load(f)
            result.unlink()
        stem = f"scale_figures_{label}_{figure}"
        for kind, _, _ in runs[1:]:
            diff = differences(results["old"], results[kind])
            if diff:
                raise RuntimeError(f"old and {kind} {figure} differ at {label}: {diff}")
            ratio = kind.replace("new", "ratio", 1)
            old_rss, old_cpu = out[f"{stem}_old_peak_rss_gb"], out[f"{stem}_old_cpu_s"]
            out[f"{stem}_peak_rss_{ratio}"] = out[f"{stem}_{kind}_peak_rss_gb"] / old_rss
            out[f"{stem}_cpu_s_{ratio}"] = out[f"{stem}_{kind}_cpu_s"] / old_cpu
            out[f"{stem}_s_{ratio}"] = out[f"{stem}_{kind}_s"] / out[f"{stem}_old_s"]
        for k in sorted(k for k in out if k.startswith(stem)):
            print(f"    {k:62s} {out[k]:9.3f}", flush=True)
    return out


def bank_customers(processed: Path) -> int:
    """Customers of a processed bank (rows of its ``customers`` table)."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(processed / "customers.parquet").metadata.num_rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--processed", help="a processed bank (default: the cached --size bank)")
    ap.add_argument("--size", default="300k", help="customers of the cached bank, e.g. 1m")
    ap.add_argument("--figures", default=",".join(FIGURES), help="which figures")
    ap.add_argument("--chunks", default="", help="also run the new code in parts of these sizes")
    ap.add_argument("--old-ref", default=OLD_REF, help="git ref of the old code")
    ap.add_argument("--old-src", help="a folder with the old package source instead of --old-ref")
    ap.add_argument(
        "--out", help="merge the figures into this JSON file (reports/bench/latest.json)"
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        with open(args.result, "wb") as f:
            pickle.dump(compute(args.child, Path(args.processed)), f, pickle.HIGHEST_PROTOCOL)
        return 0
    print(f"{os.cpu_count()} cores; load {os.getloadavg()}", flush=True)
    processed = Path(args.processed) if args.processed else None
    with tempfile.TemporaryDirectory(prefix="bank-figures-", dir=ROOT / "build") as tmp:
        if processed is None:
            raw = bench_bank(parse_size(args.size))
            processed = raw.parent / "processed"
            measure(cli("data", "prepare", "--raw", str(raw), "--out", str(processed)))
        old_src = old_source(args.old_src, args.old_ref, Path(tmp))
        wanted = [f for f in args.figures.split(",") if f.strip()]
        chunks = [parse_size(c) for c in args.chunks.split(",") if c.strip()]
        figures = run_bank(processed, old_src, Path(tmp), wanted, chunks)
    if args.out:
        merge_figures(Path(args.out), figures)
    print(f"load at the end {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
