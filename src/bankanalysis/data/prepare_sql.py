"""The DuckDB side of prepare: typed raw views, the big aggregations and customer_month.

Transactions and contacts are aggregated by DuckDB straight from the raw files (never loaded
whole into pandas); customer_month is computed and written month by month from that month's
holdings aggregate (:mod:`bankanalysis.data.prepare_holdings`), with the per-outlet and
per-region sums of each month on the way (see docs/processed_data.md).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bankanalysis.contract import (
    ACCOUNTING_KINDS,
    CHANNELS,
    E_CHANNELS,
    PRODUCT_FAMILIES,
    TABLES,
)
from bankanalysis.data.sql_typing import quote_ident, source_columns, sql_value_expr
from bankanalysis.exceptions import DataContractError, Violation

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
    keep_time: bool = False,
) -> None:
    """Create view ``name`` with the contract columns of ``table`` converted to their types.

    Columns in ``plain`` are text columns the validator found already clean (nothing to trim,
    no null tokens): they are read as stored, which spares a conversion per row. With
    ``keep_time``, a date column stored as a timestamp (without time zone) keeps its time of
    day (``TIMESTAMP_NS``), as the pandas reading of the dimension tables does.
    """
    types = source_columns(con, src)
    spec = TABLES[table]
    cols = []
    for col in spec.columns:
        if col.name in plain and col.name in types:
            cols.append(quote_ident(col.name))
        elif keep_time and col.dtype == "date" and _naive_timestamp(types.get(col.name, "")):
            cols.append(f"CAST({quote_ident(col.name)} AS TIMESTAMP_NS) AS {quote_ident(col.name)}")
        elif col.name in types:
            cols.append(
                f"{sql_value_expr(col.name, col.dtype, types[col.name])} AS {quote_ident(col.name)}"
            )
        else:
            cols.append(f"NULL AS {quote_ident(col.name)}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(cols)} FROM {src}")


def _naive_timestamp(source_type: str) -> bool:
    """Whether a DuckDB type is a timestamp without time zone."""
    t = source_type.upper()
    return t.startswith("TIMESTAMP") and "TIME ZONE" not in t and not t.endswith("TZ")


@contextlib.contextmanager
def timed(what: str) -> Iterator[None]:
    """Log the wall and CPU time of a stage (DEBUG)."""
    w, c = time.perf_counter(), time.process_time()
    yield
    logger.debug(
        "%s: %.1f s wall, %.1f s CPU", what, time.perf_counter() - w, time.process_time() - c
    )


@contextlib.contextmanager
def unordered(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let DuckDB return rows in any order inside the block (``preserve_insertion_order``).

    Only for statements whose row order nothing reads: aggregates kept as tables or partition
    files that are later joined by customer, and each month's ``cm_cur``, which is written in
    ``sort_key`` order. Keeping the order costs DuckDB memory (and, above its limit, spilling)
    in every parallel scan; :func:`write_customers` needs it and runs outside such a block.
    """
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute("SET preserve_insertion_order = true")


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


def stage_events(
    con: duckdb.DuckDBPyConnection, view: str, date_col: str, aggs: str, out: Path
) -> None:
    """Aggregate an event table per (month index, customer) into ``out/mi=.../``."""
    d = quote_ident(date_col)
    target = str(out).replace("'", "''")
    with unordered(con):
        _copy_events(con, view, d, aggs, target)


def _copy_events(con: duckdb.DuckDBPyConnection, view: str, d: str, aggs: str, target: str) -> None:
    """The event aggregate itself (see :func:`stage_events`)."""
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


# --------------------------------------------------------------------------- the customers dimension

#: Rows per Parquet row group of the processed customers table (streamed from DuckDB).
CUSTOMER_ROW_GROUP_SIZE = 1 << 18
#: Columns the processed customers table adds to the contract's: those of the home outlet.
CUSTOMER_OUTLET_COLUMNS: tuple[str, ...] = ("region_id", "echelon")
#: pandas dtype of each contract dtype in the processed dimension tables (non-null columns).
_PANDAS_DTYPES = {
    "str": "str",
    "month": "str",
    "int": "int64",
    "float": "float64",
    "date": "datetime64[ns]",
    "bool": "bool",
}


def customers_schema() -> pa.Schema:
    """Arrow schema of the processed customers table, with the pandas metadata.

    The contract columns in contract order, then ``region_id`` and ``echelon`` of the home
    outlet: the schema pandas wrote when the table was typed in pandas, so the file reads back
    into the same frame (``str``, ``int64``, ``datetime64[ns]``, ``int8`` columns).
    """
    cols = {
        c.name: pd.Series([], dtype=_PANDAS_DTYPES[c.dtype]) for c in TABLES["customers"].columns
    }
    cols["region_id"] = pd.Series([], dtype="str")
    cols["echelon"] = pd.Series([], dtype="int8")
    return pa.Schema.from_pandas(pd.DataFrame(cols), preserve_index=False)


#: Dates a ``datetime64[ns]`` column holds (the processed dimension tables' date type).
DATE_RANGE = ("1677-09-22", "2262-04-11")


def check_customer_dates(con: duckdb.DuckDBPyConnection, file: str) -> None:
    """Refuse customers dates the processed table cannot hold (``datetime64[ns]``).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection with the view ``raw_customers``.
    file : str
        The raw customers file (named in the error).

    Raises
    ------
    DataContractError
        Naming the file, each offending column, its rows and up to five examples.
    """
    lo, hi = DATE_RANGE
    problems = []
    for col in (c.name for c in TABLES["customers"].columns if c.dtype == "date"):
        q = quote_ident(col)
        bad = f"{q} < DATE '{lo}' OR {q} > DATE '{hi}'"
        n = con.execute(f"SELECT count(*) FROM raw_customers WHERE {bad}").fetchall()[0][0]
        if n:
            rows = con.execute(
                f"SELECT customer_id, strftime({q}, '%Y-%m-%d') FROM raw_customers WHERE {bad} "
                "LIMIT 5"
            ).fetchall()
            problems.append(
                Violation(
                    table="customers",
                    file=file,
                    column=col,
                    rule="date_range",
                    message=f"dates before {lo} or after {hi} cannot be stored; correct them",
                    n_rows=int(n),
                    examples=[{"customer_id": cid, col: d} for cid, d in rows],
                )
            )
    if problems:
        raise DataContractError(problems, source=str(Path(file).parent))


def stage_customers(con: duckdb.DuckDBPyConnection, outlets: pd.DataFrame) -> None:
    """Table ``dim_customers`` from the typed view ``raw_customers`` and the outlets.

    Each customer with the ``region_id`` and ``echelon`` of the home outlet, ``since`` and
    ``closed`` as dates, and ``sort_key`` ranking (region_id, customer_id), so each month of
    customer_month sorts on one integer. A native table, joined once per month.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection with the view ``raw_customers`` (:func:`typed_view`).
    outlets : pandas.DataFrame
        Typed outlets with ``outlet_id``, ``region_id`` and ``echelon`` (small).
    """
    unit = outlets[["outlet_id", *CUSTOMER_OUTLET_COLUMNS]]
    con.register("dim_outlets", pa.Table.from_pandas(unit, preserve_index=False))
    try:
        con.execute(
            """CREATE TEMP TABLE dim_customers AS
            SELECT c.customer_id, c.outlet_id, o.region_id, o.echelon, c.manager_id,
                   c.birth_year, CAST(c.since AS DATE) AS since,
                   CAST(c.closed AS DATE) AS closed,
                   CAST(row_number() OVER (ORDER BY o.region_id, c.customer_id) AS INTEGER)
                       AS sort_key
            FROM raw_customers c LEFT JOIN dim_outlets o ON c.outlet_id = o.outlet_id"""
        )
    finally:
        con.unregister("dim_outlets")


def _with_outlet_columns(
    batch: pa.RecordBatch, outlets: pd.DataFrame, schema: pa.Schema
) -> pa.RecordBatch:
    """A batch of typed customers with its home outlet's columns, cast to ``schema``."""
    ids = pa.array(outlets["outlet_id"].tolist(), type=pa.string())
    at = pc.index_in(batch.column("outlet_id").cast(pa.string()), value_set=ids)
    cols = list(batch.columns)
    for c in CUSTOMER_OUTLET_COLUMNS:
        cols.append(pa.array(outlets[c].tolist(), type=schema.field(c).type).take(at))
    return pa.RecordBatch.from_arrays(
        [col.cast(f.type) for col, f in zip(cols, schema, strict=True)], schema=schema
    )


def write_customers(con: duckdb.DuckDBPyConnection, outlets: pd.DataFrame, path: Path) -> int:
    """Write the processed customers table from the view ``raw_customers``, in file order.

    The rows are streamed from DuckDB in the raw file's order (a plain scan keeps it) and
    written in row groups of :data:`CUSTOMER_ROW_GROUP_SIZE`; the home outlet's columns are
    looked up per batch (the outlets are few), so no step holds the whole table.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection with the view ``raw_customers`` (``keep_time``, :func:`typed_view`).
    outlets : pandas.DataFrame
        Typed outlets with ``outlet_id``, ``region_id`` and ``echelon``.
    path : Path
        Parquet file to write (in the build folder, swapped in whole).

    Returns
    -------
    int
        Rows written.
    """
    schema = customers_schema()
    contract = [c for c in TABLES["customers"].columns]
    sel = ", ".join(
        f"CAST({quote_ident(c.name)} AS TIMESTAMP_NS) AS {quote_ident(c.name)}"
        if c.dtype == "date"
        else quote_ident(c.name)
        for c in contract
    )
    reader = con.sql(f"SELECT {sel} FROM raw_customers").to_arrow_reader(CUSTOMER_ROW_GROUP_SIZE)
    rows = 0
    with pq.ParquetWriter(path, schema) as writer:
        for batch in reader:
            if batch.num_rows:
                writer.write_batch(_with_outlet_columns(batch, outlets, schema))
                rows += batch.num_rows
    return rows


def customer_events(con: duckdb.DuckDBPyConnection, unit: str, months: list[str]) -> pd.DataFrame:
    """New and closed customers per (month, unit) from ``dim_customers`` (``since``, ``closed``).

    Returns
    -------
    pandas.DataFrame
        ``month, <unit>, new_customers, closed_customers`` for the months of the data with at
        least one event, sorted by month and unit.
    """
    cols = ["month", unit, "new_customers", "closed_customers"]
    if not months:
        return pd.DataFrame(columns=cols)
    u = quote_ident(unit)
    events = " UNION ALL ".join(
        f"SELECT strftime({c}, '%Y-%m') AS month, {u} AS unit, {k} AS kind FROM dim_customers "
        f"WHERE {c} IS NOT NULL AND {u} IS NOT NULL"
        for k, c in enumerate(("since", "closed"))
    )
    return con.execute(
        f"""SELECT month, unit AS {u}, count(*) FILTER (WHERE kind = 0) AS new_customers,
               count(*) FILTER (WHERE kind = 1) AS closed_customers
        FROM ({events}) WHERE month IN {_sql_in(tuple(months))}
        GROUP BY month, unit ORDER BY month, unit"""
    ).df()[cols]


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
    """SQL of one month of customer_month (plus the holding masks, :data:`UNIT_ONLY_COLUMNS` and
    ``sort_key``, dropped before writing; the rows are written in ``sort_key`` order).

    The holdings come from table ``hm_cur``, the month's aggregate per customer
    (:func:`bankanalysis.data.prepare_holdings.stage_holdings_month`); ``tm_files`` and
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
           {masks}, cu.sort_key
    FROM hm_cur h
    JOIN dim_customers cu ON h.customer_id = cu.customer_id{t_joins}{c_joins}"""


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


def _submit(pool: ThreadPoolExecutor, pending: Future | None, fn: object, *args: object) -> Future:
    """Run ``fn(*args)`` in ``pool`` once the previous job (``pending``) is done."""
    if pending is not None:
        pending.result()
    return pool.submit(fn, *args)


def write_row_groups(
    reader: pa.RecordBatchReader,
    writer: pq.ParquetWriter,
    size: int,
    pool: ThreadPoolExecutor,
    pending: Future | None = None,
) -> tuple[int, Future | None]:
    """Write a stream of record batches as row groups of exactly ``size`` rows (the last shorter).

    The same row groups as ``writer.write_table(whole, row_group_size=size)`` would write,
    without ever holding more than one row group and one batch: each row group is encoded in
    ``pool`` while the next one is read.

    Parameters
    ----------
    reader : pyarrow.RecordBatchReader
        Batches of any length (DuckDB's do not follow the requested size).
    writer : pyarrow.parquet.ParquetWriter
        Open writer with the reader's schema.
    size : int
        Rows per row group.
    pool : ThreadPoolExecutor
        One-thread pool that writes.
    pending : Future, optional
        The pool's job still running (awaited before the next is submitted).

    Returns
    -------
    (int, Future or None)
        Rows written and the last job (to await before closing the writer).
    """
    buf: list[pa.RecordBatch] = []
    n_buf = rows = 0
    for batch in reader:
        buf.append(batch)
        n_buf += batch.num_rows
        while n_buf >= size:
            table = pa.Table.from_batches(buf, schema=reader.schema)
            pending = _submit(pool, pending, writer.write_table, table.slice(0, size), size)
            buf, n_buf, rows = table.slice(size).to_batches(), n_buf - size, rows + size
    if n_buf:
        table = pa.Table.from_batches(buf, schema=reader.schema)
        pending = _submit(pool, pending, writer.write_table, table, size)
        rows += n_buf
    return rows, pending


def _month_sums(
    con: duckdb.DuckDBPyConnection, cat: Catalogue, month: str, first: bool
) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """The per-unit sums and the bank's product counts of the month in table ``cm_cur``."""
    sums, counts = {}, []
    for unit in UNITS:
        # the bank's product counts come with the region sums (same scan)
        with_products = unit == UNITS[-1]
        agg = con.execute(unit_aggregates_sql(unit, cat, first=first, products=with_products)).df()
        if with_products:
            counts = _bank_product_counts(agg, cat, month)
            agg = agg.drop(columns=[c for c in agg if c.startswith(_COUNT_PREFIXES)])
        sums[unit] = agg.assign(month=month)
    return sums, counts


def write_customer_month(
    con: duckdb.DuckDBPyConnection,
    cat: Catalogue,
    months: list[str],
    work: Path,
    path: Path,
    stage_month: Callable[[str], None],
) -> MonthLoop:
    """Compute and write customer_month month by month; return its rows and the monthly sums.

    Needs the table ``dim_customers`` (:func:`stage_customers`) and the transaction and
    contact partitions under ``work/tm`` and ``work/ct`` (:func:`stage_events`). Before each
    month, ``stage_month(month)`` puts that month's holdings aggregate into the table
    ``hm_cur`` (:func:`bankanalysis.data.prepare_holdings.stage_holdings_month`), which is
    dropped once the month is built: only one month of holdings is ever aggregated or kept.
    Each month is computed into the DuckDB table
    ``cm_cur`` (under the connection's memory limit, spilled beyond it), summed per outlet
    and region there (small results), then streamed to the file in ``sort_key`` order, one
    row group at a time: no month is ever held whole in Python.

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
    stage_month : callable
        Creates the table ``hm_cur`` of a month's holdings per customer.

    Returns
    -------
    MonthLoop
    """
    per_month: dict[str, list[pd.DataFrame]] = {unit: [] for unit in UNITS}
    counts: list[dict] = []
    writer = None
    n_cm = 0
    masks = ", ".join(f"mask_{k}" for k in range(cat.n_masks))
    dropped = ", ".join([masks, *UNIT_ONLY_COLUMNS, "sort_key"])
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
            with timed(f"holdings {m}"):
                stage_month(m)
            with timed(f"customer_month {m}"), unordered(con):
                con.execute(f"CREATE OR REPLACE TEMP TABLE cm_cur AS {sql}")
            con.execute("DROP TABLE hm_cur")
            with timed(f"unit sums {m}"):
                sums, month_counts = _month_sums(con, cat, m, first=i == 0)
            for unit, agg in sums.items():
                per_month[unit].append(agg)
            counts += month_counts
            reader = con.sql(f"SELECT * EXCLUDE ({dropped}) FROM cm_cur ORDER BY sort_key")
            reader = reader.to_arrow_reader(ROW_GROUP_SIZE)
            if writer is None:
                writer = pq.ParquetWriter(path, reader.schema)
            with timed(f"customer_month {m} written"):
                rows, pending = write_row_groups(reader, writer, ROW_GROUP_SIZE, pool, pending)
            n_cm += rows
            with unordered(con):  # joined by customer only
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE cm_prev AS SELECT customer_id, {masks} FROM cm_cur"
                )
            con.execute("DROP TABLE cm_cur")
            logger.info("customer_month %s: %s customers", m, f"{rows:,}")
        if pending is not None:
            pending.result()
    finally:
        pool.shutdown(wait=True)
        if writer is not None:
            writer.close()
    product_counts = pd.DataFrame(counts, columns=["month", "product", "holders", "buyers"])
    product_counts[["holders", "buyers"]] = product_counts[["holders", "buyers"]].astype("Int64")
    return MonthLoop(n_cm, per_month, product_counts)
