"""Bank-wide counts over the processed ``customer_month`` file, computed by DuckDB.

A figure every report of a run needs about every customer of the bank (the run's disclosure
answers) used to read the months it needs into pandas; at ten million customers that is tens
of millions of rows of text ids held in Python. The queries here read only the columns and the
month row groups they need straight from the Parquet file (DuckDB, held to
:func:`~bankanalysis.data.io.duckdb_memory_limit` and spilling to a temporary folder) and give
back small frames of counts per unit.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bankanalysis.data.io import bounded_connection
from bankanalysis.data.sql_typing import sql_str
from bankanalysis.exceptions import ProcessedDataError

__all__ = ["QuarterCounts", "base_lost_counts", "quarter_unit_counts"]

logger = logging.getLogger(__name__)

#: Columns of :func:`base_lost_counts`.
LOST_COLUMNS: tuple[str, ...] = ("end", "region_id", "outlet_id", "base", "lost")


def base_lost_counts(folder: str | Path, pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Customers of each region and outlet at a base month, and how many of them are not
    active anywhere at the month-end, for each ``(end, base)`` pair.

    A base customer is a ``customer_month`` row of the base month (counted in its
    ``region_id`` and ``outlet_id`` of that month); it is lost when its ``customer_id`` has no
    row at ``end``. Reads ``month, customer_id, region_id, outlet_id`` of those months only.

    Parameters
    ----------
    folder : str or Path
        The processed folder (its ``customer_month.parquet``).
    pairs : sequence of (str, str)
        ``(end, base)`` months ``YYYY-MM``.

    Returns
    -------
    DataFrame
        ``end, region_id, outlet_id, base, lost`` (counts as int64), one row per pair and unit
        with base customers, sorted by ``end, region_id, outlet_id``.

    Raises
    ------
    ProcessedDataError
        When ``customer_month.parquet`` is missing.
    """
    src = _source(folder)
    parts = []
    for end, base in pairs:
        parts.append(
            f"""
            SELECT {sql_str(end)} AS "end", b.region_id, b.outlet_id, count(*) AS base,
                   count(*) FILTER (WHERE n.customer_id IS NULL) AS lost
            FROM (SELECT customer_id, region_id, outlet_id FROM {src}
                  WHERE month = {sql_str(base)}) b
            LEFT JOIN (SELECT DISTINCT customer_id FROM {src} WHERE month = {sql_str(end)}) n
                ON b.customer_id = n.customer_id
            GROUP BY b.region_id, b.outlet_id"""
        )
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c in ("base", "lost") else "str") for c in LOST_COLUMNS}
        )
    query = " UNION ALL ".join(parts) + ' ORDER BY "end", region_id, outlet_id'
    (out,) = _run([], [query])
    logger.debug("lost customers of %d month-end(s) counted in SQL", len(parts))
    return out.astype({"base": "int64", "lost": "int64"})


def _source(folder: str | Path) -> str:
    """``read_parquet(...)`` of the folder's ``customer_month.parquet``.

    Raises
    ------
    ProcessedDataError
        When the file is missing.
    """
    path = Path(folder) / "customer_month.parquet"
    if not path.is_file():
        raise ProcessedDataError(f"{path} is missing: the processed folder is incomplete")
    return f"read_parquet({sql_str(path)})"


def _run(setup: Sequence[str], queries: Sequence[str]) -> list[pd.DataFrame]:
    """Run the ``setup`` statements, then each query into a frame, on one bounded connection
    (its temporary tables gone with it)."""
    with tempfile.TemporaryDirectory(prefix="bankanalysis-sql-") as spill:
        con = bounded_connection(Path(spill))
        try:
            for statement in setup:
                con.execute(statement)
            return [con.execute(q).df() for q in queries]
        finally:
            con.close()


#: Relative distance from the quality threshold within which a window average is left to
#: pandas (:class:`QuarterCounts`): far more than the rounding of an average of a few AUMs.
NEAR_THRESHOLD = 1e-9

#: Count columns of :attr:`QuarterCounts.now`.
NOW_COLUMNS: tuple[str, ...] = ("one", "n", "covered", "qplus", "qplus_card")


@dataclass(frozen=True)
class QuarterCounts:
    """The customer counts of one quarter end per region and outlet (:func:`quarter_unit_counts`).

    Attributes
    ----------
    now : DataFrame
        ``region_id, outlet_id`` of the customers active at the quarter end and, per unit,
        ``one`` (customers), ``n`` (products held), ``covered`` (at least the coverage's
        number of products), ``qplus`` and ``qplus_card`` (quality-and-above, and of them
        holding the wealth card) over the customers whose tier SQL decided (not ``near``);
        all float64.
    base : DataFrame
        ``region_id, outlet_id`` of the base month's customers (their unit at the base month)
        and ``base``, ``kept`` (still active anywhere at the quarter end), float64.
    near : DataFrame
        ``customer_id, region_id, outlet_id, card`` of the active customers whose window
        average is missing, not finite or within :data:`NEAR_THRESHOLD` of the threshold:
        their tier is left to :func:`~bankanalysis.rules.tiers.customer_tiers` (pandas'
        average, to the last bit), so the counts are those of the pandas rule.
    """

    now: pd.DataFrame
    base: pd.DataFrame
    near: pd.DataFrame


def quarter_unit_counts(
    folder: str | Path,
    end: str,
    base: str,
    window: Sequence[str],
    quality_from: float,
    coverage_products: int,
    card_column: str | None,
) -> QuarterCounts:
    """The counts behind the quarter customer KPIs of month-end ``end``, per region and outlet.

    A customer active at ``end`` (a ``customer_month`` row) is quality-and-above when the
    average of its AUM over the month-ends of ``window`` it has a row at reaches
    ``quality_from`` (:func:`~bankanalysis.rules.tiers.window_average_aum`); averages within
    :data:`NEAR_THRESHOLD` of it (relative to the threshold and the customer's largest AUM of
    the window), missing or not finite are not decided here but listed in ``near``. A base
    customer is a row of ``base``, kept when its ``customer_id`` has a row at ``end``. Reads
    ``month, customer_id, region_id, outlet_id, aum, n_products`` and ``card_column`` of those
    months only, straight from the Parquet file.

    Parameters
    ----------
    folder : str or Path
        The processed folder (its ``customer_month.parquet``).
    end, base : str
        The quarter end and its base month ``YYYY-MM``.
    window : sequence of str
        The tier window's month-ends in the data (``end`` among them).
    quality_from : float
        Lower bound of the quality tier.
    coverage_products : int
        Products held for a customer to be covered.
    card_column : str or None
        ``hold_<wealth card>``, or ``None`` (no card: ``qplus_card`` is 0).

    Returns
    -------
    QuarterCounts

    Raises
    ------
    ProcessedDataError
        When ``customer_month.parquet`` is missing.
    """
    src = _source(folder)
    months = ", ".join(sql_str(m) for m in window)
    card = f"coalesce({card_column} > 0, false)" if card_column else "false"
    t = float(quality_from)
    setup = [
        f"""CREATE TEMP TABLE act AS SELECT customer_id, region_id, outlet_id, n_products,
                   {card} AS card
            FROM {src} WHERE month = {sql_str(end)}""",
        f"""CREATE TEMP TABLE av AS
            SELECT customer_id, avg(aum) AS a, max(abs(aum)) AS mx FROM {src}
            WHERE month IN ({months}) AND customer_id IN (SELECT customer_id FROM act)
            GROUP BY customer_id""",
        f"""CREATE TEMP TABLE tiered AS
            SELECT act.*, av.a,
                   (av.a IS NULL OR isnan(av.a) OR isinf(av.a)
                    OR abs(av.a - {t!r}) <= {NEAR_THRESHOLD!r} * ({abs(t)!r} + av.mx)) AS near
            FROM act LEFT JOIN av USING (customer_id)""",
    ]
    now = f"""
        SELECT region_id, outlet_id, count(*)::DOUBLE AS one,
               coalesce(sum(n_products), 0)::DOUBLE AS n,
               count(*) FILTER (WHERE n_products >= {int(coverage_products)})::DOUBLE AS covered,
               count(*) FILTER (WHERE NOT near AND a >= {t!r})::DOUBLE AS qplus,
               count(*) FILTER (WHERE NOT near AND a >= {t!r} AND card)::DOUBLE AS qplus_card
        FROM tiered GROUP BY region_id, outlet_id ORDER BY region_id, outlet_id"""
    kept = f"""
        SELECT b.region_id, b.outlet_id, count(*)::DOUBLE AS base,
               count(act.customer_id)::DOUBLE AS kept
        FROM (SELECT customer_id, region_id, outlet_id FROM {src}
              WHERE month = {sql_str(base)}) b
        LEFT JOIN act ON b.customer_id = act.customer_id
        GROUP BY b.region_id, b.outlet_id ORDER BY b.region_id, b.outlet_id"""
    near = """SELECT customer_id, region_id, outlet_id, card FROM tiered WHERE near
              ORDER BY customer_id"""
    now_units, base_units, near_rows = _run(setup, [now, kept, near])
    logger.debug("quarter end %s counted in SQL (%d near the threshold)", end, len(near_rows))
    return QuarterCounts(now=now_units, base=base_units, near=near_rows)
