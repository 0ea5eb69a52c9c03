"""The DuckDB side of prepare: typed raw views, the big aggregations and customer_month.

Holdings, transactions and contacts are aggregated by DuckDB straight from the raw files
(never loaded whole into pandas); customer_month is computed and written month by month, with
the per-outlet and per-region sums of each month on the way (see docs/processed_data.md).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bankanalysis.contract import (
    ACCOUNTING_KINDS,
    CHANNELS,
    E_CHANNELS,
    PRODUCT_FAMILIES,
    TABLES,
)
from bankanalysis.data.sql_typing import quote_ident, source_columns, sql_value_expr

logger = logging.getLogger(__name__)

#: Rows per Parquet row group of customer_month (month and region filters prune on them).
ROW_GROUP_SIZE = 65_536
#: Products per UBIGINT holding mask.
MASK_BITS = 63
#: Decimals kept when money and minutes are summed exactly (see :func:`exact_sum`).
SUM_SCALE = 6
#: Columns computed with each month of customer_month for the unit sums, not written to it:
#: the month's accounting transactions, in all and outside the counter.
UNIT_ONLY_COLUMNS: tuple[str, ...] = ("acc_n_1m", "acc_offcounter_n_1m")
#: The processed units whose monthly sums are taken from customer_month.
UNITS: tuple[str, ...] = ("outlet_id", "region_id")


def typed_view(
    con: duckdb.DuckDBPyConnection,
    name: str,
    src: str,
    table: str,
    plain: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Create view ``name`` with the contract columns of ``table`` converted to their types.

    Columns in ``plain`` are text columns the validator found already clean (nothing to trim,
    no null tokens): they are read as stored, which spares a conversion per row.
    """
    types = source_columns(con, src)
    spec = TABLES[table]
    cols = []
    for col in spec.columns:
        if col.name in plain and col.name in types:
            cols.append(quote_ident(col.name))
        elif col.name in types:
            cols.append(
                f"{sql_value_expr(col.name, col.dtype, types[col.name])} AS {quote_ident(col.name)}"
            )
        else:
            cols.append(f"NULL AS {quote_ident(col.name)}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(cols)} FROM {src}")


@contextlib.contextmanager
def timed(what: str) -> Iterator[None]:
    """Log the wall and CPU time of a stage (DEBUG)."""
    w, c = time.perf_counter(), time.process_time()
    yield
    logger.debug(
        "%s: %.1f s wall, %.1f s CPU", what, time.perf_counter() - w, time.process_time() - c
    )


def month_index(month: str) -> int:
    """Months since year 0 of a ``YYYY-MM`` month (the ``mi`` partition key)."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_end(month: str) -> pd.Timestamp:
    """Last day of a ``YYYY-MM`` month."""
    return pd.Period(month, freq="M").end_time.normalize()


def partition_files(folder: Path, key: str, value: object) -> list[str]:
    """Parquet files of the hive partition ``folder/key=value`` (none when absent)."""
    d = folder / f"{key}={value}"
    return sorted(str(p) for p in d.glob("*.parquet")) if d.is_dir() else []


def sql_list(paths: list[str]) -> str:
    """A DuckDB list literal of file paths."""
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def exact_sum(expr: str, where: str | None = None) -> str:
    """SQL of an order-independent sum of a DOUBLE expression (NULL when no rows).

    DuckDB adds doubles in the order its threads happen to combine partial sums, so the same
    raw data could give sums differing in the last bits from one prepare to the next. Summing
    as ``DECIMAL(38, SUM_SCALE)`` (exact integer arithmetic; inputs rounded to a millionth of
    a currency unit) and converting back once makes every run give the same, correctly
    rounded, result.

    Parameters
    ----------
    expr : str
        SQL expression (DOUBLE).
    where : str, optional
        ``FILTER`` condition.

    Returns
    -------
    str
        SQL of a DOUBLE aggregate.
    """
    filt = f" FILTER (WHERE {where})" if where else ""
    return f"CAST(sum(CAST({expr} AS DECIMAL(38, {SUM_SCALE}))){filt} AS DOUBLE)"


@dataclass
class Catalogue:
    """Products in catalogue order with their bit in the holding masks."""

    products: list[str]
    families: dict[str, str]
    in_aum: dict[str, bool]

    @property
    def n_masks(self) -> int:
        return max(1, -(-len(self.products) // MASK_BITS))

    def slot(self, product: str) -> tuple[int, int]:
        i = self.products.index(product)
        return i // MASK_BITS, i % MASK_BITS

    def family_mask(self, family: str, k: int) -> int:
        bits = 0
        for p in self.products:
            g, b = self.slot(p)
            if g == k and self.families[p] == family:
                bits |= 1 << b
        return bits


# --------------------------------------------------------------------------- stage 1: big aggregates


def stage_holdings(con: duckdb.DuckDBPyConnection, cat: Catalogue) -> None:
    """Aggregate holdings per (month, customer) into the temporary table ``hm`` (one scan).

    A DuckDB table (spilled to the build folder above the memory limit) rather than Parquet
    files: nothing to encode and compress, and each month reads its rows back cheaply.

    ``n_products`` is the number of rows; each product sets its own bit of the masks, so a
    group with more rows than bits set holds a duplicated (month, customer_id, product) key
    (see :func:`has_duplicate_holdings`).
    """
    fam = ", ".join(
        f"coalesce({exact_sum('h.balance', f'p.fam = {i}')}, 0) AS bal_{f}"
        for i, f in enumerate(PRODUCT_FAMILIES)
    )
    masks = ", ".join(
        f"CAST(bit_or(CASE WHEN p.grp = {k} THEN (1::UBIGINT << CAST(p.bit AS UBIGINT)) "
        f"ELSE 0::UBIGINT END) AS UBIGINT) AS mask_{k}"
        for k in range(cat.n_masks)
    )
    con.execute(
        f"""CREATE TEMP TABLE hm AS
        SELECT h.month, h.customer_id,
               coalesce({exact_sum("h.balance", "p.in_aum")}, 0) AS aum, {fam},
               count(*) AS n_products, {masks}
        FROM raw_holdings h JOIN dim_catalogue p ON h.product = p.product
        GROUP BY h.month, h.customer_id"""
    )


def has_duplicate_holdings(con: duckdb.DuckDBPyConnection, cat: Catalogue) -> bool:
    """Whether a (month, customer) group of ``hm`` has more rows than products."""
    bits = " + ".join(f"CAST(bit_count(mask_{k}) AS INTEGER)" for k in range(cat.n_masks))
    sql = f"SELECT count(*) FROM hm WHERE n_products > {bits}"
    return bool(con.execute(sql).fetchall()[0][0])


def stage_events(
    con: duckdb.DuckDBPyConnection, view: str, date_col: str, aggs: str, out: Path
) -> None:
    """Aggregate an event table per (month index, customer) into ``out/mi=.../``."""
    d = quote_ident(date_col)
    target = str(out).replace("'", "''")
    con.execute(
        f"""COPY (
        SELECT CAST(year({d}) * 12 + month({d}) - 1 AS INTEGER) AS mi, customer_id, {aggs}
        FROM {view} WHERE {d} IS NOT NULL GROUP BY ALL
        ) TO '{target}' (FORMAT parquet, PARTITION_BY (mi))"""
    )


def _sql_in(values: tuple[str, ...]) -> str:
    """``('a', 'b')`` for an SQL ``IN`` (contract categories: no quotes inside)."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def txn_aggs() -> str:
    """Per-customer aggregates of the transactions: counts by channel, accounting counts, money.

    ``n_acc`` counts the accounting kinds (:data:`bankanalysis.contract.ACCOUNTING_KINDS`),
    ``n_acc_off`` those of them made outside the counter (:data:`~bankanalysis.contract.E_CHANNELS`).
    """
    ch = ", ".join(f"count(*) FILTER (WHERE channel = '{c}') AS n_{c}" for c in CHANNELS)
    acc = f"kind IN {_sql_in(ACCOUNTING_KINDS)}"
    acc_n = (
        f"count(*) FILTER (WHERE {acc}) AS n_acc, "
        f"count(*) FILTER (WHERE {acc} AND channel IN {_sql_in(E_CHANNELS)}) AS n_acc_off"
    )
    money = f"{exact_sum('amount')} AS amount, {exact_sum('fee_income')} AS fee"
    return f"count(*) AS n, {ch}, {acc_n}, {money}"


# --------------------------------------------------------------------------- stage 2: per month


def sum_months(col: str, aliases: list[str | None]) -> str:
    """SQL adding the 3 monthly values of ``col`` oldest first (``aliases`` oldest first).

    Each monthly value comes from its own joined partition (``None``: no file, counts 0);
    the fixed order keeps prepare bit-for-bit deterministic.
    """
    terms = [f"coalesce({a}.{col}, 0)" if a else "0" for a in aliases]
    return "(" + " + ".join(terms) + ")"


def window_joins(
    prefix: str, files: list[list[str]], cols: list[str]
) -> tuple[str, dict[str, str]]:
    """Joins and expressions of the 1- and 3-month windows of a monthly aggregate.

    Parameters
    ----------
    prefix : str
        Alias prefix (``t``: ``t2`` is two months back, ``t0`` the month itself).
    files : list of list of str
        Partition files of the 3 months, oldest first (one row per customer and month).
    cols : list of str
        Columns to sum.

    Returns
    -------
    (str, dict)
        ``LEFT JOIN`` clauses onto ``h``, and ``{col_1m: SQL, col_3m: SQL}`` (NULL where the
        customer has no row).
    """
    aliases = [f"{prefix}{2 - i}" if f else None for i, f in enumerate(files)]
    joins = "".join(
        f"\n    LEFT JOIN read_parquet({sql_list(f)}) {a} ON h.customer_id = {a}.customer_id"
        for a, f in zip(aliases, files, strict=True)
        if a
    )
    exprs = {}
    for c in cols:
        exprs[f"{c}_1m"] = f"{aliases[-1]}.{c}" if aliases[-1] else "NULL"
        exprs[f"{c}_3m"] = sum_months(c, aliases)
    return joins, exprs


def customer_month_sql(
    month: str,
    cat: Catalogue,
    tm_files: list[list[str]],
    ct_files: list[list[str]],
) -> str:
    """SQL of one month of customer_month (plus the holding masks and :data:`UNIT_ONLY_COLUMNS`,
    dropped before writing).

    The holdings come from table ``hm`` (:func:`stage_holdings`); ``tm_files`` and
    ``ct_files`` are the transaction and contact partitions of the month and the two before,
    oldest first; each is joined by customer (no regrouping).
    """
    end = month_end(month)
    hold = ", ".join(
        f"CAST((h.mask_{g} >> CAST({b} AS UBIGINT)) & 1::UBIGINT AS TINYINT) AS {quote_ident('hold_' + p)}"
        for p in cat.products
        for g, b in [cat.slot(p)]
    )
    bal = ", ".join(f"h.bal_{f}" for f in PRODUCT_FAMILIES)
    masks = ", ".join(f"h.mask_{k}" for k in range(cat.n_masks))
    t_cols = ["n", *[f"n_{c}" for c in CHANNELS], "n_acc", "n_acc_off", "amount", "fee"]
    t_joins, t = window_joins("t", tm_files, t_cols)
    c_joins, c = window_joins("c", ct_files, ["n", "minutes"])
    txn_cols = ", ".join(
        [
            f"CAST(coalesce({t['n_1m']}, 0) AS INTEGER) AS txn_n_1m",
            f"CAST(coalesce({t['n_3m']}, 0) AS INTEGER) AS txn_n_3m",
        ]
        + [
            f"CAST(coalesce({t[f'n_{ch}_{w}']}, 0) AS INTEGER) AS txn_{ch}_n_{w}"
            for ch in CHANNELS
            for w in ("1m", "3m")
        ]
        + [
            f"CAST(coalesce({t['amount_1m']}, 0) AS DOUBLE) AS txn_amount_1m",
            f"CAST(coalesce({t['amount_3m']}, 0) AS DOUBLE) AS txn_amount_3m",
            f"CAST(coalesce({t['fee_1m']}, 0) AS DOUBLE) AS fee_income_1m",
            f"CAST(coalesce({t['fee_3m']}, 0) AS DOUBLE) AS fee_income_3m",
        ]
    )
    e3 = " + ".join(f"coalesce({t[f'n_{ch}_3m']}, 0)" for ch in E_CHANNELS)
    return f"""
    SELECT '{month}' AS month, h.customer_id, cu.outlet_id, cu.region_id,
           CAST(cu.echelon AS TINYINT) AS echelon, cu.manager_id,
           CAST({end.year} - cu.birth_year AS SMALLINT) AS age,
           CAST({end.year * 12 + end.month} - (year(cu.since) * 12 + month(cu.since))
                - CASE WHEN day(cu.since) > {end.day} THEN 1 ELSE 0 END AS SMALLINT)
               AS tenure_months,
           CAST(h.aum AS DOUBLE) AS aum, {bal}, CAST(h.n_products AS SMALLINT) AS n_products,
           {hold}, {txn_cols},
           CASE WHEN coalesce({t["n_3m"]}, 0) > 0 THEN ({e3}) / {t["n_3m"]} ELSE 0.0 END
               AS e_channel_share_3m,
           CAST(coalesce({c["n_1m"]}, 0) AS INTEGER) AS contacts_1m,
           CAST(coalesce({c["minutes_1m"]}, 0) AS DOUBLE) AS contact_minutes_1m,
           CAST(coalesce({c["minutes_3m"]}, 0) AS DOUBLE) AS contact_minutes_3m,
           CAST(coalesce({t["n_acc_1m"]}, 0) AS INTEGER) AS acc_n_1m,
           CAST(coalesce({t["n_acc_off_1m"]}, 0) AS INTEGER) AS acc_offcounter_n_1m,
           {masks}
    FROM (SELECT * FROM hm WHERE month = '{month}') h
    JOIN dim_customers cu ON h.customer_id = cu.customer_id{t_joins}{c_joins}
    ORDER BY cu.sort_key"""


def unit_aggregates_sql(unit: str, cat: Catalogue, first: bool, products: bool = False) -> str:
    """Per-outlet or per-region sums of one month of customer_month (view ``cm_cur``).

    With ``products``, also the holders and buyers of every product
    (:func:`product_count_columns`), taken in the same scan.
    """
    sales = []
    for f in PRODUCT_FAMILIES:
        if first:
            sales.append(f"NULL::DOUBLE AS sales_{f}")
            continue
        terms = [
            f"bit_count(cm.mask_{k} & ~coalesce(pm.mask_{k}, 0::UBIGINT) & "
            f"{cat.family_mask(f, k)}::UBIGINT)"
            for k in range(cat.n_masks)
        ]
        sales.append(f"CAST(sum({' + '.join(terms)}) AS DOUBLE) AS sales_{f}")
    ch = ", ".join(f"sum(cm.txn_{c}_n_1m) AS txn_{c}_n" for c in CHANNELS)
    join = "" if first else "LEFT JOIN cm_prev pm ON cm.customer_id = pm.customer_id"
    return f"""
    SELECT cm.{unit} AS {unit}, count(*) AS customers, {exact_sum("cm.aum")} AS aum,
           {exact_sum("cm.bal_deposit")} AS deposit_balance,
           {exact_sum("cm.fee_income_1m")} AS fee_income,
           sum(cm.n_products) AS n_products, sum(cm.txn_n_1m) AS txn_n, {ch},
           sum(cm.acc_n_1m) AS txn_accounting_n,
           sum(cm.acc_offcounter_n_1m) AS txn_accounting_offcounter_n, {", ".join(sales)}
           {", " + product_count_columns(cat, first) if products else ""}
    FROM cm_cur cm {join} GROUP BY cm.{unit}"""


def product_count_columns(cat: Catalogue, first: bool) -> str:
    """SELECT list of the holders and buyers of every product (``cm``, ``pm`` as in the unit sums).

    Holders hold the product at the month end; buyers hold it now, were active at the
    previous month end (``pm``) and did not hold it then (NULL in the first month). Columns
    ``holders_<i>`` and ``buyers_<i>`` for product ``i`` in catalogue order.
    """
    holders = ", ".join(
        f"CAST(sum(cm.{quote_ident('hold_' + p)}) AS BIGINT) AS holders_{i}"
        for i, p in enumerate(cat.products)
    )
    if first:
        buyers = ", ".join(f"NULL::BIGINT AS buyers_{i}" for i in range(len(cat.products)))
    else:
        buyers = ", ".join(
            f"CAST(sum(CASE WHEN pm.customer_id IS NOT NULL AND ((cm.mask_{g} & ~pm.mask_{g}) "
            f">> CAST({b} AS UBIGINT)) & 1::UBIGINT = 1 THEN 1 ELSE 0 END) AS BIGINT) "
            f"AS buyers_{i}"
            for i, p in enumerate(cat.products)
            for g, b in [cat.slot(p)]
        )
    return f"{holders}, {buyers}"


def aum_range(con: duckdb.DuckDBPyConnection) -> tuple[float, float] | None:
    """Smallest and largest customer AUM over all month ends (table ``hm``); None when empty."""
    lo, hi = con.execute("SELECT min(aum), max(aum) FROM hm").fetchall()[0]
    return None if lo is None else (float(lo), float(hi))


@dataclass
class MonthLoop:
    """What :func:`write_customer_month` produced besides the file.

    Attributes
    ----------
    rows : int
        Rows of customer_month written.
    unit_sums : dict
        ``{unit: [one frame of sums per month]}`` for :data:`UNITS`.
    product_counts : pandas.DataFrame
        ``month, product, holders, buyers`` (buyers NA in the first month).
    """

    rows: int
    unit_sums: dict[str, list[pd.DataFrame]]
    product_counts: pd.DataFrame


# --------------------------------------------------------------------------- stage 2: the month loop


_COUNT_PREFIXES = ("holders_", "buyers_")


def _bank_product_counts(agg: pd.DataFrame, cat: Catalogue, month: str) -> list[dict]:
    """``month, product, holders, buyers`` records: the unit sums of one month added up."""
    out = []
    for i, p in enumerate(cat.products):
        buyers = agg[f"buyers_{i}"]
        out.append(
            {
                "month": month,
                "product": p,
                "holders": int(agg[f"holders_{i}"].sum()),
                "buyers": int(buyers.sum()) if buyers.notna().any() else None,
            }
        )
    return out


def write_customer_month(
    con: duckdb.DuckDBPyConnection, cat: Catalogue, months: list[str], work: Path, path: Path
) -> MonthLoop:
    """Compute and write customer_month month by month; return its rows and the monthly sums.

    Needs the tables ``hm`` (:func:`stage_holdings`) and ``dim_customers``, and the
    transaction and contact partitions under ``work/tm`` and ``work/ct``
    (:func:`stage_events`).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The build connection.
    cat : Catalogue
        Products and their holding-mask bits.
    months : list of str
        Sorted data months.
    work : Path
        The build's work folder.
    path : Path
        The customer_month Parquet file to write.

    Returns
    -------
    MonthLoop
    """
    per_month: dict[str, list[pd.DataFrame]] = {unit: [] for unit in UNITS}
    counts: list[dict] = []
    writer = None
    n_cm = 0
    prev: pa.Table | None = None
    mask_cols = [f"mask_{k}" for k in range(cat.n_masks)]
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cm-writer")
    pending: Future | None = None
    try:
        for i, m in enumerate(months):
            mi = month_index(m)
            window = range(mi - 2, mi + 1)
            sql = customer_month_sql(
                m,
                cat,
                [partition_files(work / "tm", "mi", w) for w in window],
                [partition_files(work / "ct", "mi", w) for w in window],
            )
            with timed(f"customer_month {m}"):
                cur = con.sql(sql).to_arrow_table()
            con.register("cm_cur", cur)
            if prev is not None:
                con.register("cm_prev", prev)
            with timed(f"unit sums {m}"):
                for unit in per_month:
                    # the bank's product counts come with the region sums (same scan)
                    with_products = unit == UNITS[-1]
                    sql = unit_aggregates_sql(unit, cat, first=i == 0, products=with_products)
                    agg = con.execute(sql).df()
                    if with_products:
                        counts += _bank_product_counts(agg, cat, m)
                        agg = agg.drop(columns=[c for c in agg if c.startswith(_COUNT_PREFIXES)])
                    per_month[unit].append(agg.assign(month=m))
            con.unregister("cm_cur")
            if prev is not None:
                con.unregister("cm_prev")
            prev = cur.select(["customer_id", *mask_cols])
            out = cur.drop_columns([*mask_cols, *UNIT_ONLY_COLUMNS])
            if writer is None:
                writer = pq.ParquetWriter(path, out.schema)
            # Encode and compress this month while DuckDB computes the next one.
            if pending is not None:
                pending.result()
            pending = pool.submit(writer.write_table, out, row_group_size=ROW_GROUP_SIZE)
            n_cm += out.num_rows
            logger.info("customer_month %s: %s customers", m, f"{out.num_rows:,}")
        if pending is not None:
            pending.result()
    finally:
        pool.shutdown(wait=True)
        if writer is not None:
            writer.close()
    product_counts = pd.DataFrame(counts, columns=["month", "product", "holders", "buyers"])
    product_counts[["holders", "buyers"]] = product_counts[["holders", "buyers"]].astype("Int64")
    return MonthLoop(n_cm, per_month, product_counts)
