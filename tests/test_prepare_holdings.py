"""prepare_holdings: each month's holdings aggregate equals the one-pass aggregate of every month."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bankanalysis.contract import PRODUCT_FAMILIES
from bankanalysis.data import prepare_sql
from bankanalysis.data.io import duckdb_source
from bankanalysis.data.prepare_holdings import (
    PARTITION_DIR,
    HoldingsByMonth,
    month_clustered,
    register_catalogue,
    split_holdings,
    stage_holdings_month,
)
from bankanalysis.data.prepare_sql import Catalogue, exact_sum, typed_view

PRODUCTS = {"dep": "deposit", "fund": "investment", "card": "card", "loan": "loan"}
IN_AUM = {"dep": True, "fund": True, "card": False, "loan": False}

#: Hand-built holdings: A in every month with holdings, B not in 2024-02, C only in 2024-02,
#: no holdings at all in 2024-03, zero balances (B's deposit in 2024-01, the cards).
HOLDINGS = [
    ("2024-01", "A", "dep", 100.5),
    ("2024-01", "A", "card", 0.0),
    ("2024-01", "B", "dep", 0.0),
    ("2024-01", "B", "fund", 250.25),
    ("2024-02", "A", "dep", 120.0),
    ("2024-02", "A", "fund", 30.0),
    ("2024-02", "C", "loan", 5000.0),
    ("2024-04", "A", "dep", 90.0),
    ("2024-04", "B", "card", 0.0),
]

#: (month, customer): aum, bal_deposit, bal_investment, bal_card, bal_loan, n_products,
#: products held (bits dep 0, fund 1, card 2, loan 3), computed by hand.
EXPECTED = {
    ("2024-01", "A"): (100.5, 100.5, 0.0, 0.0, 0.0, 2, {"dep", "card"}),
    ("2024-01", "B"): (250.25, 0.0, 250.25, 0.0, 0.0, 2, {"dep", "fund"}),
    ("2024-02", "A"): (150.0, 120.0, 30.0, 0.0, 0.0, 2, {"dep", "fund"}),
    ("2024-02", "C"): (0.0, 0.0, 0.0, 0.0, 5000.0, 1, {"loan"}),
    ("2024-04", "A"): (90.0, 90.0, 0.0, 0.0, 0.0, 1, {"dep"}),
    ("2024-04", "B"): (0.0, 0.0, 0.0, 0.0, 0.0, 1, {"card"}),
}


def _catalogue() -> Catalogue:
    return Catalogue(products=list(PRODUCTS), families=dict(PRODUCTS), in_aum=dict(IN_AUM))


def _frame(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["month", "customer_id", "product", "balance"])


def _write(raw: Path, rows: list[tuple[str, str, str, float]], layout: str) -> Path:
    """Holdings as CSV, as Parquet in one row group, or as Parquet with a row group per month."""
    raw.mkdir(parents=True)
    df = _frame(rows)
    if layout == "csv":
        df.to_csv(raw / "holdings.csv", index=False)
        return raw / "holdings.csv"
    path = raw / "holdings.parquet"
    table = pa.Table.from_pandas(df, preserve_index=False)
    if layout == "parquet":
        pq.write_table(table, path)
        return path
    with pq.ParquetWriter(path, table.schema) as writer:
        for m in sorted(df["month"].unique()):
            writer.write_table(pa.Table.from_pandas(df[df["month"] == m], preserve_index=False))
    return path


def _connection(raw: Path, plain: set[str], cat: Catalogue) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    register_catalogue(con, cat)
    src = duckdb_source(con, raw, "holdings")
    typed_view(con, "raw_holdings", src, "holdings", plain)
    return con


def _one_pass(con: duckdb.DuckDBPyConnection, cat: Catalogue) -> pd.DataFrame:
    """main's aggregate: one hash aggregate over every (month, customer), the same sums."""
    fam = ", ".join(
        f"coalesce({exact_sum('h.balance', f'p.fam = {i}')}, 0) AS bal_{f}"
        for i, f in enumerate(PRODUCT_FAMILIES)
    )
    masks = ", ".join(
        f"CAST(bit_or(CASE WHEN p.grp = {k} THEN (1::UBIGINT << CAST(p.bit AS UBIGINT)) "
        f"ELSE 0::UBIGINT END) AS UBIGINT) AS mask_{k}"
        for k in range(cat.n_masks)
    )
    return con.execute(
        f"""SELECT h.month, h.customer_id,
               coalesce({exact_sum("h.balance", "p.in_aum")}, 0) AS aum, {fam},
               count(*) AS n_products, {masks}
        FROM raw_holdings h JOIN dim_catalogue p ON h.product = p.product
        GROUP BY h.month, h.customer_id ORDER BY h.month, h.customer_id"""
    ).df()


def _source(base: Path) -> Path:
    (path,) = [p for p in (base / "raw").iterdir() if p.stem == "holdings"]
    return path


@pytest.mark.parametrize("mask_bits", [63, 3])
@pytest.mark.parametrize(
    ("layout", "plain", "partitioned"),
    [
        ("by_month", {"month", "customer_id", "product"}, False),
        ("by_month", set(), True),  # month not read as stored: no row-group pruning
        ("parquet", {"month", "customer_id", "product"}, True),  # months mixed in a row group
        ("csv", set(), True),
    ],
)
def test_month_at_a_time_gives_the_rows_of_one_pass(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mask_bits: int,
    layout: str,
    plain: set[str],
    partitioned: bool,
) -> None:
    monkeypatch.setattr(prepare_sql, "MASK_BITS", mask_bits)  # 3: two masks for 4 products
    cat = _catalogue()
    raw = tmp_path / "raw"
    _write(raw, HOLDINGS, layout)
    work = tmp_path / "work"
    work.mkdir()
    con = _connection(raw, plain, cat)
    holdings = split_holdings(con, _source(tmp_path), plain, work)
    assert holdings.partitioned is partitioned
    assert (work / PARTITION_DIR).is_dir() is partitioned
    assert holdings.months == ["2024-01", "2024-02", "2024-04"]  # 2024-03 has no holdings
    parts = []
    for m in holdings.months:
        stage_holdings_month(con, cat, holdings, m)
        parts.append(con.execute(f"SELECT '{m}' AS month, * FROM hm_cur ORDER BY customer_id").df())
    by_month = pd.concat(parts, ignore_index=True)
    one_pass = _one_pass(con, cat)
    pd.testing.assert_frame_equal(by_month, one_pass)
    got = {}
    for r in by_month.itertuples(index=False):
        held = set()
        for p in cat.products:
            g, b = cat.slot(p)
            if (getattr(r, f"mask_{g}") >> b) & 1:
                held.add(p)
        bal = (r.bal_deposit, r.bal_investment, r.bal_card, r.bal_loan)
        got[(r.month, r.customer_id)] = (r.aum, *bal, r.n_products, held)
    assert got == EXPECTED
    assert (by_month[["bal_insurance", "bal_e_banking", "bal_service"]] == 0).all().all()
    con.close()


def test_month_clustered_needs_one_text_month_per_row_group(tmp_path: Path) -> None:
    by_month = _write(tmp_path / "a", HOLDINGS, "by_month")
    assert month_clustered(by_month) == ["2024-01", "2024-02", "2024-04"]
    assert pq.ParquetFile(by_month).num_row_groups == 3
    mixed = _write(tmp_path / "b", HOLDINGS, "parquet")  # one row group, three months
    assert month_clustered(mixed) is None
    one = _write(tmp_path / "c", [r for r in HOLDINGS if r[0] == "2024-02"], "parquet")
    assert month_clustered(one) == ["2024-02"]
    dated = _frame(HOLDINGS).assign(month=lambda d: pd.to_datetime(d["month"] + "-28"))
    pq.write_table(pa.Table.from_pandas(dated, preserve_index=False), tmp_path / "d.parquet")
    assert month_clustered(tmp_path / "d.parquet") is None  # a date column: not compared as text
    nameless = _frame(HOLDINGS).rename(columns={"month": "period"})
    pq.write_table(pa.Table.from_pandas(nameless, preserve_index=False), tmp_path / "e.parquet")
    assert month_clustered(tmp_path / "e.parquet") is None


def test_holdings_by_month_checks_keys_once_and_widens_the_aum_range(tmp_path: Path) -> None:
    cat = _catalogue()
    dup = [*HOLDINGS, ("2024-01", "B", "fund", 1.0), ("2024-04", "A", "dep", 90.0)]
    raw = tmp_path / "raw"
    _write(raw, dup, "by_month")
    work = tmp_path / "work"
    work.mkdir()
    plain = {"month", "customer_id", "product"}
    con = _connection(raw, plain, cat)
    holdings = split_holdings(con, _source(tmp_path), plain, work)
    calls: list[str] = []
    stager = HoldingsByMonth(con, cat, holdings, on_duplicate=lambda: calls.append("checked"))
    ranges = []
    for m in holdings.months:
        stager.stage(m)
        ranges.append(stager.aum_range)
    # the exact check runs once, at the first month with a duplicate, and covers every month
    assert calls == ["checked"]
    # 2024-01: A 100.5, B 251.25 (the duplicated fund row counted twice); 2024-02: A 150, C 0
    assert ranges == [(100.5, 251.25), (0.0, 251.25), (0.0, 251.25)]
    con.close()


def test_a_failing_key_check_stops_at_the_month_with_the_duplicate(tmp_path: Path) -> None:
    cat = _catalogue()
    raw = tmp_path / "raw"
    _write(raw, [*HOLDINGS, ("2024-02", "C", "loan", 5000.0)], "csv")
    work = tmp_path / "work"
    work.mkdir()
    con = _connection(raw, set(), cat)
    holdings = split_holdings(con, _source(tmp_path), set(), work)

    def refuse() -> None:
        raise RuntimeError("duplicate key")

    stager = HoldingsByMonth(con, cat, holdings, on_duplicate=refuse)
    stager.stage("2024-01")
    with pytest.raises(RuntimeError, match="duplicate key"):
        stager.stage("2024-02")
    assert stager.aum_range == (100.5, 250.25)  # 2024-01 only
    con.close()
