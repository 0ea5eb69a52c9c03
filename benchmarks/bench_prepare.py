"""Benchmark: ``bankanalysis data prepare`` on the 1,000,000-customer synthetic bank.

The bank is generated once with the generator CLI and cached in ``build/bench/bank_<n>/raw``.
Each measurement runs in its own child process (wall time, CPU time and the child's own peak
RSS from ``os.wait4``):

- ``prepare``: validate + build ``processed/`` from scratch (``--force``);
- the customer-month transaction aggregation (counts by channel, amounts and fees over the
  last 1 and 3 months) done the DuckDB way prepare does it, and done in plain pandas (read the
  whole transaction table, groupby). ``prepare_vs_pandas_speedup`` = pandas time / DuckDB time.

Targets (issue 2): prepare <= 60 s and <= 4 GB peak RSS on the 2-core reference machine.
Usage: ``python -m benchmarks.bench_prepare [--quick]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks._harness import bench_bank, cli, measure

FULL_CUSTOMERS = 1_000_000
QUICK_CUSTOMERS = 20_000


# --------------------------------------------------------------------------- the two aggregations


def txn_aggregation_duckdb(raw: Path, work: Path) -> int:
    """Customer-month transaction features the way prepare computes them; return rows."""
    from bankanalysis.contract import CHANNELS
    from bankanalysis.data import prepare_sql as psql
    from bankanalysis.data.io import bounded_connection, duckdb_source

    con = bounded_connection(work / "spill")
    psql.typed_view(
        con, "raw_transactions", duckdb_source(con, raw, "transactions"), "transactions"
    )
    psql.stage_events(con, "raw_transactions", "txn_date", psql.txn_aggs(), work / "tm")
    parts = sorted(int(p.name.split("=")[1]) for p in (work / "tm").iterdir())
    cols = ["n", *[f"n_{c}" for c in CHANNELS], "amount", "fee"]
    rows = 0
    for mi in parts:
        # as prepare does: the month and the two before joined by customer, summed oldest first
        files = [psql.partition_files(work / "tm", "mi", w) for w in range(mi - 2, mi + 1)]
        joins, exprs = psql.window_joins("t", files, cols)
        sel = ", ".join(f"{sql} AS {name}" for name, sql in exprs.items())
        every = psql.sql_list([f for month in files for f in month])
        customers = f"(SELECT DISTINCT customer_id FROM read_parquet({every}))"
        rows += (
            con.sql(f"SELECT h.customer_id, {sel} FROM {customers} h{joins}")
            .to_arrow_table()
            .num_rows
        )
    return rows


def txn_aggregation_pandas(raw: Path) -> int:
    """The same features in plain pandas: read everything, groupby; return rows."""
    import pandas as pd

    path = raw / "transactions.parquet"
    tx = pd.read_parquet(path) if path.exists() else pd.read_csv(raw / "transactions.csv")
    d = pd.to_datetime(tx["txn_date"])
    tx["mi"] = d.dt.year * 12 + d.dt.month - 1
    by_channel = (
        tx.groupby(["customer_id", "mi", "channel"], observed=True)
        .size()
        .unstack("channel", fill_value=0)
    )
    sums = tx.groupby(["customer_id", "mi"], observed=True)[["amount", "fee_income"]].sum()
    month = by_channel.join(sums).reset_index()
    month["n"] = month[[c for c in by_channel.columns]].sum(axis=1)
    value_cols = [c for c in month.columns if c not in ("customer_id", "mi")]
    windows = []
    for k in range(3):
        shifted = month.assign(mi=month["mi"] + k)
        windows.append(shifted)
    w3 = pd.concat(windows).groupby(["customer_id", "mi"], observed=True)[value_cols].sum()
    out = month.merge(w3.reset_index(), on=["customer_id", "mi"], how="right", suffixes=("", "_3m"))
    return len(out)


# --------------------------------------------------------------------------- entry point


def run(quick: bool = False) -> dict[str, float]:
    """Measure prepare and the transaction aggregation against pandas.

    Parameters
    ----------
    quick : bool
        Use a 20,000-customer bank instead of 1,000,000 (smoke run; same figure names).

    Returns
    -------
    dict of str to float
        ``prepare_1m_s``, ``prepare_1m_cpu_s``, ``prepare_1m_peak_rss_gb``,
        ``prepare_txn_agg_s``, ``pandas_txn_agg_s``, ``pandas_txn_agg_peak_rss_gb`` and
        ``prepare_vs_pandas_speedup``.
    """
    raw = bench_bank(QUICK_CUSTOMERS if quick else FULL_CUSTOMERS)
    me = [sys.executable, "-m", "benchmarks.bench_prepare"]
    with tempfile.TemporaryDirectory(prefix="bench-prepare-", dir=raw.parent) as tmp:
        out = Path(tmp) / "processed"
        prep = cli("data", "prepare", "--force", "--raw", str(raw), "--out", str(out))
        wall, cpu, rss = measure(prep)
        duck_s, _, _ = measure([*me, "--child", "duckdb", str(raw), tmp])
        pandas_s, _, pandas_rss = measure([*me, "--child", "pandas", str(raw), tmp])
    return {
        "prepare_1m_s": wall,
        "prepare_1m_cpu_s": cpu,
        "prepare_1m_peak_rss_gb": rss,
        "prepare_txn_agg_s": duck_s,
        "pandas_txn_agg_s": pandas_s,
        "pandas_txn_agg_peak_rss_gb": pandas_rss,
        "prepare_vs_pandas_speedup": pandas_s / duck_s,
    }


if __name__ == "__main__":  # pragma: no cover
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        kind, raw_dir, tmp_dir = sys.argv[i + 1], Path(sys.argv[i + 2]), Path(sys.argv[i + 3])
        if kind == "duckdb":
            work = Path(tempfile.mkdtemp(prefix="duck-", dir=tmp_dir))
            print(txn_aggregation_duckdb(raw_dir, work))
        else:
            print(txn_aggregation_pandas(raw_dir))
    else:
        for k, v in run(quick="--quick" in sys.argv).items():
            print(f"{k}: {v:.2f}")
