"""The holdings of prepare, one month at a time: where each month's rows are read, and their aggregate.

Holdings are the largest raw table (about 50 rows per customer and year). Aggregated in one
hash aggregate over every month and customer (110 million groups at 10 million customers) the
working set outgrew DuckDB's memory limit and spilled, and each month of ``customer_month``
then scanned the whole aggregate for its own rows: ``prepare`` grew faster than the bank
(issue 18). Here each month is aggregated alone, right before its ``customer_month`` is built,
so the working set is one month of customers whatever the number of months.

A month's rows are read in one of two ways (:func:`split_holdings`):

- straight from the raw Parquet file with a ``month = '...'`` filter, when every row group of
  the file holds one month (its ``month`` statistics have ``min == max``, as the synthetic
  generator and any extract written month by month have) and the column is read as stored:
  DuckDB then skips the other months' row groups, so the months together read the file once;
- otherwise (CSV, or row groups mixing months) from a month-partitioned copy of the typed rows
  written in one pass into the build's work folder (``hm/month=YYYY-MM/``), which the build
  removes with the rest of its work folder, on success and on failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bankanalysis.contract import PRODUCT_FAMILIES
from bankanalysis.data.prepare_sql import Catalogue, exact_sum, partition_files, sql_list, unordered
from bankanalysis.data.sql_typing import sql_str

logger = logging.getLogger(__name__)

#: The table holding the current month's aggregate (one row per customer holding something).
MONTH_TABLE = "hm_cur"
#: Sub-folder of the work folder with the month-partitioned copy of the holdings.
PARTITION_DIR = "hm"


@dataclass
class MonthlyHoldings:
    """Where each month's typed holdings rows are read from.

    Attributes
    ----------
    months : list of str
        Sorted months that have holdings (``YYYY-MM``).
    relations : dict
        ``{month: SQL relation}`` of that month's rows, with ``customer_id``, ``product`` and
        ``balance`` typed as the view ``raw_holdings`` types them.
    partitioned : bool
        Whether the rows were copied into a month-partitioned folder (else read from the raw
        Parquet file, skipping the other months' row groups).
    """

    months: list[str]
    relations: dict[str, str]
    partitioned: bool


def month_clustered(path: Path) -> list[str] | None:
    """The months of a Parquet file whose every row group holds a single month.

    Parameters
    ----------
    path : Path
        A raw holdings Parquet file.

    Returns
    -------
    list of str or None
        The sorted distinct ``month`` values (each row group's ``min == max``), or ``None``
        when a row group mixes months, has no ``month`` statistics or the column is not text.
    """
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    if "month" not in names:
        return None
    col = names.index("month")
    if meta.schema.column(col).physical_type != "BYTE_ARRAY":
        return None
    months: set[str] = set()
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        if rg.num_rows == 0:
            continue
        st = rg.column(col).statistics
        if st is None or not st.has_min_max or st.null_count or st.min != st.max:
            return None
        value = st.min
        months.add(value.decode() if isinstance(value, bytes) else str(value))
    return sorted(months)


def split_holdings(
    con: duckdb.DuckDBPyConnection, raw_file: Path, plain: set[str] | frozenset[str], work: Path
) -> MonthlyHoldings:
    """Decide how each month's holdings are read; copy them by month when the file needs it.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection with the typed view ``raw_holdings``
        (:func:`bankanalysis.data.prepare_sql.typed_view`).
    raw_file : Path
        The raw holdings file (CSV or Parquet).
    plain : set of str
        Holdings columns read as stored (the validator's ``plain``): the ``month`` filter
        reaches the Parquet scan only when ``month`` is one of them.
    work : Path
        The build's work folder (the partitioned copy goes to ``work/hm``).

    Returns
    -------
    MonthlyHoldings
    """
    months = None
    if Path(raw_file).suffix == ".parquet" and "month" in plain:
        months = month_clustered(Path(raw_file))
    if months is not None:
        logger.info("holdings: one month per row group; each month read on its own")
        cols = "customer_id, product, balance"
        relations = {
            m: f"(SELECT {cols} FROM raw_holdings WHERE month = {sql_str(m)})" for m in months
        }
        return MonthlyHoldings(months, relations, partitioned=False)
    logger.info("holdings: copying the rows by month into the work folder")
    out = Path(work) / PARTITION_DIR
    target = str(out).replace("'", "''")
    with unordered(con):
        con.execute(
            f"""COPY (SELECT month, customer_id, product, balance FROM raw_holdings
            WHERE month IS NOT NULL) TO '{target}' (FORMAT parquet, PARTITION_BY (month))"""
        )
    months = sorted(p.name.split("=", 1)[1] for p in out.glob("month=*")) if out.is_dir() else []
    relations = {m: f"read_parquet({sql_list(partition_files(out, 'month', m))})" for m in months}
    return MonthlyHoldings(months, relations, partitioned=True)


def register_catalogue(con: duckdb.DuckDBPyConnection, cat: Catalogue) -> None:
    """Register the products as the table ``dim_catalogue`` (family index, AUM flag, mask bit).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The build connection.
    cat : Catalogue
        Products in catalogue order.
    """
    catalogue = pd.DataFrame(
        {
            "product": cat.products,
            "family": [cat.families[p] for p in cat.products],
            "fam": [PRODUCT_FAMILIES.index(cat.families[p]) for p in cat.products],
            "in_aum": [cat.in_aum[p] for p in cat.products],
            "grp": [cat.slot(p)[0] for p in cat.products],
            "bit": [cat.slot(p)[1] for p in cat.products],
        }
    )
    con.register("dim_catalogue", pa.Table.from_pandas(catalogue, preserve_index=False))


def holdings_aggregate_sql(cat: Catalogue, relation: str) -> str:
    """SQL aggregating holdings rows per customer: AUM, family balances, products, masks.

    ``n_products`` is the number of rows; each product sets its own bit of the masks
    (``mask_<k>``, :class:`~bankanalysis.data.prepare_sql.Catalogue`), so a customer with more
    rows than bits set holds a duplicated (month, customer_id, product) key (see
    :func:`has_duplicate_holdings`). Money is summed exactly
    (:func:`~bankanalysis.data.prepare_sql.exact_sum`), so the figures do not depend on how
    the rows are grouped or ordered.

    Parameters
    ----------
    cat : Catalogue
        Products and their mask bits (table ``dim_catalogue`` in the connection).
    relation : str
        SQL relation of one month's rows (``customer_id``, ``product``, ``balance``).

    Returns
    -------
    str
        ``SELECT customer_id, aum, bal_<family>..., n_products, mask_<k>...``.
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
    return f"""SELECT h.customer_id, coalesce({exact_sum("h.balance", "p.in_aum")}, 0) AS aum,
           {fam}, count(*) AS n_products, {masks}
        FROM {relation} h JOIN dim_catalogue p ON h.product = p.product
        GROUP BY h.customer_id"""


def stage_holdings_month(
    con: duckdb.DuckDBPyConnection, cat: Catalogue, holdings: MonthlyHoldings, month: str
) -> None:
    """Aggregate one month's holdings into the temporary table :data:`MONTH_TABLE`.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The build connection (``raw_holdings`` or the partitioned copy, ``dim_catalogue``).
    cat : Catalogue
        Products and their mask bits.
    holdings : MonthlyHoldings
        Where the month's rows are (:func:`split_holdings`).
    month : str
        The month (one of ``holdings.months``).
    """
    sql = holdings_aggregate_sql(cat, holdings.relations[month])
    with unordered(con):  # joined by customer only
        con.execute(f"CREATE OR REPLACE TEMP TABLE {MONTH_TABLE} AS {sql}")


def has_duplicate_holdings(con: duckdb.DuckDBPyConnection, cat: Catalogue) -> bool:
    """Whether a customer of the month's aggregate has more holdings rows than products."""
    bits = " + ".join(f"CAST(bit_count(mask_{k}) AS INTEGER)" for k in range(cat.n_masks))
    sql = f"SELECT count(*) FROM {MONTH_TABLE} WHERE n_products > {bits}"
    return bool(con.execute(sql).fetchall()[0][0])


def month_aum_range(con: duckdb.DuckDBPyConnection) -> tuple[float, float] | None:
    """Smallest and largest customer AUM of the month's aggregate; None when it is empty."""
    lo, hi = con.execute(f"SELECT min(aum), max(aum) FROM {MONTH_TABLE}").fetchall()[0]
    return None if lo is None else (float(lo), float(hi))


def widen(
    aum: tuple[float, float] | None, month: tuple[float, float] | None
) -> tuple[float, float] | None:
    """The AUM range over the months so far (``aum``) and one more month's range."""
    if aum is None or month is None:
        return aum or month
    return (min(aum[0], month[0]), max(aum[1], month[1]))


@dataclass
class HoldingsByMonth:
    """Stages each month's holdings aggregate for the month loop, checking keys on the way.

    Called with a month (``stage(month)``, the ``stage_month`` of
    :func:`bankanalysis.data.prepare_sql.write_customer_month`): aggregates it into
    :data:`MONTH_TABLE`, widens :attr:`aum_range` and, while ``on_duplicate`` is set, calls it
    when the month holds a duplicated key. ``on_duplicate`` raises the contract error when the
    exact key check fails; when it returns (ids apart only by blanks around them are different
    keys to the validator), the exact check has covered every month and is not asked again.

    Attributes
    ----------
    con : duckdb.DuckDBPyConnection
        The build connection.
    cat : Catalogue
        Products and their mask bits.
    holdings : MonthlyHoldings
        Where each month's rows are (:func:`split_holdings`).
    on_duplicate : callable or None
        The exact key check, when the validation left it to prepare.
    aum_range : (float, float) or None
        Smallest and largest customer AUM over the months staged so far.
    """

    con: duckdb.DuckDBPyConnection
    cat: Catalogue
    holdings: MonthlyHoldings
    on_duplicate: Callable[[], None] | None = None
    aum_range: tuple[float, float] | None = None

    def stage(self, month: str) -> None:
        """Aggregate ``month`` into :data:`MONTH_TABLE`; check its keys; widen the AUM range."""
        stage_holdings_month(self.con, self.cat, self.holdings, month)
        if self.on_duplicate is not None and has_duplicate_holdings(self.con, self.cat):
            check, self.on_duplicate = self.on_duplicate, None
            check()
        self.aum_range = widen(self.aum_range, month_aum_range(self.con))
