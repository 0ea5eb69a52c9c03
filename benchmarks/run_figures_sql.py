"""Side by side: the run's bank-wide figures counted by DuckDB against main's pandas code.

Every run computes, once, figures about every customer of the bank that the 00 and 03 reports
(and every report's summary) read back from ``<processed>/_models``:

- ``customer_quarters``: the quarter customer KPIs (retention, coverage and card matching at
  the last five quarter ends, ``planning_scope._customer_quarters``), which main counted in
  pandas, one part of at most a million customers at a time, and this code counts per region
  and outlet in DuckDB (``processed_sql.quarter_unit_counts``);
- ``standing``: the standing of every region, echelon and the bank at three months
  (``standing.load_standing``).

This script computes each figure in its own child process with the old code (``git archive
OLD_REF src`` first on the child's ``PYTHONPATH``, or ``--old-src``) and then with this
checkout's ``src``, alternating, on the same processed bank (read only; nothing is cached);
each child's wall and CPU seconds (user + system, DuckDB's threads included) and peak RSS come
from ``os.wait4``. The two results are then compared exactly (pandas frames: values, dtypes,
index, row order; the standing's every scorecard, withheld cells and absent KPIs); a difference
is an error, not a figure. Figures (``--out`` merges them into ``reports/bench/latest.json``;
the ``scale_`` prefix keeps them when ``make bench`` rewrites the file):
``scale_run_figures_<n>_<figure>_{old,new}_{s,cpu_s,peak_rss_gb}`` and ``..._cpu_s_ratio``,
``..._peak_rss_ratio`` (new / old). Not part of ``make bench`` (about two minutes at a million
customers). Usage: ``python -m benchmarks.run_figures_sql --processed /tmp/bank/processed``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
from pathlib import Path
from types import SimpleNamespace

from benchmarks._harness import (
    ROOT,
    add_old_code_arguments,
    add_ratios,
    load_text,
    measure,
    old_and_new,
    print_figures,
    report_figures,
    write_result,
)
from benchmarks.scale import size_label

#: main before the quarter customer KPIs were counted in DuckDB.
OLD_REF = "213b63dd2a3d29f077ef91fb4e3b13f0705ce69c"
#: The figures, in the order they run.
FIGURES = ("customer_quarters", "standing")


def compute(figure: str, processed: Path) -> object:
    """The figure computed by whichever ``bankanalysis`` is first on the path (no cache), as
    plain frames and values to compare."""
    from bankanalysis.data.load import load_processed
    from bankanalysis.report.standing import scorecard_params

    bank = load_processed(processed)
    p = scorecard_params({})
    if figure == "customer_quarters":
        from bankanalysis.report.planning_scope import ALL_LEVELS, _customer_quarters

        ctx = SimpleNamespace(bank=bank, month=bank.data_month)
        return {"quarters": _customer_quarters(ctx, bank.data_month, p, 5, ALL_LEVELS)}
    from bankanalysis.report.standing import load_standing

    ctx = SimpleNamespace(bank=bank, month=bank.data_month, min_group_size=10)
    standing = load_standing(ctx, **p)
    out: dict[str, object] = {"since": standing.since, "echelons_of": standing.region_echelon}
    for scope in ("regions", "echelons", "bank"):
        for month, card in getattr(standing, scope).items():
            key = f"{scope} {month}"
            out[f"{key} scorecard"] = card.regions
            out[f"{key} withheld"] = card.withheld
            out[f"{key} bank"] = card.bank
            out[f"{key} absent"] = (card.base_month, card.absent)
    return out


def differences(old: dict, new: dict) -> list[str]:
    """What differs between two results, exactly (empty: nothing)."""
    import pandas as pd

    out = [f"{k}: only in one" for k in sorted(set(old) ^ set(new))]
    for key in sorted(set(old) & set(new)):
        a, b = old[key], new[key]
        if isinstance(a, pd.DataFrame):
            try:
                pd.testing.assert_frame_equal(a, b, check_exact=True)
                if a.attrs != b.attrs:
                    out.append(f"{key}: attrs {a.attrs} vs {b.attrs}")
            except AssertionError as exc:
                out.append(f"{key}: {str(exc)[:300]}")
        elif a != b:
            out.append(f"{key}: {a!r} vs {b!r}")
    return out


def run_bank(processed: Path, old_src: Path, work: Path, figures: list[str]) -> dict[str, float]:
    """Each figure with the old and the new code; compare; return the figures.

    Raises
    ------
    RuntimeError
        When the two codes' results differ.
    """
    import pyarrow.parquet as pq

    n = int(pq.ParquetFile(processed / "customers.parquet").metadata.num_rows)
    label = size_label(n)
    srcs = {"old": old_src, "new": ROOT / "src"}
    out: dict[str, float] = {}
    for figure in figures:
        results = {}
        stem = f"scale_run_figures_{label}_{figure}"
        for kind in ("old", "new"):
            env = {**os.environ, "PYTHONPATH": f"{srcs[kind]}{os.pathsep}{ROOT}"}
            env |= {"PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
            result = work / f"{figure}-{kind}.pkl"
            cmd = [sys.executable, "-m", "benchmarks.run_figures_sql", "--child", figure]
            cmd += ["--processed", str(processed), "--result", str(result)]
            print(f"  {label}, {figure}, {kind} code (load {load_text()}) ...", flush=True)
            wall, cpu, rss = measure(cmd, env=env)
            out |= {f"{stem}_{kind}_s": wall, f"{stem}_{kind}_cpu_s": cpu}
            out[f"{stem}_{kind}_peak_rss_gb"] = rss
            print(f"    {wall:.1f} s, {cpu:.1f} CPU s, {rss:.2f} GB", flush=True)
            with open(result, "rb") as f:
                results[kind] = pickle.load(f)
            result.unlink()
        diff = differences(results["old"], results["new"])
        if diff:
            raise RuntimeError(f"old and new {figure} differ at {label}: {diff[:5]}")
        print(f"    {figure}: the same frames ({len(results['new'])} compared)", flush=True)
        add_ratios(out, stem)
    print_figures(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--processed", required=True, help="a processed bank (read only)")
    ap.add_argument("--figures", default=",".join(FIGURES), help="which figures")
    add_old_code_arguments(ap, OLD_REF)
    ap.add_argument("--child", choices=FIGURES, help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        found = compute(args.child, Path(args.processed))
        write_result(args.result, found)
        return 0
    wanted = [f.strip() for f in args.figures.split(",") if f.strip()]
    with old_and_new("run-figures-", args) as (old_src, tmp):
        figures = run_bank(Path(args.processed), old_src, tmp, wanted)
    return report_figures(args, figures)


if __name__ == "__main__":
    sys.exit(main())
