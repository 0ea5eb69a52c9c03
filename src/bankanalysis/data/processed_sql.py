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
from pathlib import Path

import pandas as pd

from bankanalysis.data.io import bounded_connection
from bankanalysis.data.sql_typing import sql_str
from bankanalysis.exceptions import ProcessedDataError

__all__ = ["base_lost_counts"]

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
    path = Path(folder) / "customer_month.parquet"
    if not path.is_file():
        raise ProcessedDataError(f"{path} is missing: the processed folder is incomplete")
    src = f"read_parquet({sql_str(path)})"
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
    with tempfile.TemporaryDirectory(prefix="bankanalysis-sql-") as spill:
        con = bounded_connection(Path(spill))
        try:
            out = con.execute(query).df()
        finally:
            con.close()
    logger.debug("lost customers of %d month-end(s) counted in SQL", len(parts))
    return out.astype({"base": "int64", "lost": "int64"})
