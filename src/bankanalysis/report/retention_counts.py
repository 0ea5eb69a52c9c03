"""The lost customers behind the run's stock-retention answer, counted in SQL.

:func:`~bankanalysis.report.disclosure_retention.load_retention` needs, once per run, the base
and lost customers of every region, echelon, outlet and the bank at each month-end a report
prints a retention for. :func:`~bankanalysis.report.disclosure_retention.lost_counts` counts
them from ``customer_month`` rows in pandas: at one million customers that took 74 CPU seconds
(most of them testing a million text ids for membership in a Python set, once per month-end
and unit level), growing with the bank. :func:`bank_lost_counts` gives the same frame from
DuckDB's counts per region and outlet
(:func:`~bankanalysis.data.processed_sql.base_lost_counts`): pandas only adds up a few hundred
rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from bankanalysis.data.processed_sql import base_lost_counts
from bankanalysis.rules.months import base_month

__all__ = ["bank_lost_counts", "end_rows", "lost_counts_of_units"]

_COLUMNS = ["month", "level", "id", "base", "lost"]


def end_rows(
    end: str, rows: pd.DataFrame, regions: Sequence[str], echelon_of: Mapping[str, Any]
) -> list[pd.DataFrame]:
    """The ``month, level, id, base, lost`` frames of one month-end: ``rows`` (``region_id``,
    optionally ``outlet_id``, ``base``, ``lost`` as float: per customer or per unit) summed
    per region (every one of ``regions``), echelon, outlet and the bank.

    Examples
    --------
    >>> rows = pd.DataFrame({"region_id": ["R1", "R1"], "base": [1.0, 1.0], "lost": [0.0, 1.0]})
    >>> [f.values.tolist() for f in end_rows("2025-02", rows, ["R1"], {"R1": 1})]
    [[[2.0, 1.0, '2025-02', 'region', 'R1']], [[2.0, 1.0, '2025-02', 'echelon', '1']], [['2025-02', 'bank', 'bank', 2.0, 1.0]]]
    """
    g = rows.groupby("region_id")[["base", "lost"]].sum().reindex(regions, fill_value=0.0)
    ech = g.groupby(g.index.map(lambda r: str(echelon_of[r])))[["base", "lost"]].sum()
    out = [
        part.assign(month=end, level=level, id=part.index.astype(str))
        for level, part in (("region", g), ("echelon", ech))
    ]
    if "outlet_id" in rows.columns:
        og = rows.groupby("outlet_id")[["base", "lost"]].sum()
        out.append(og.assign(month=end, level="outlet", id=og.index.astype(str)))
    out.append(
        pd.DataFrame(
            {"month": [end], "level": ["bank"], "id": ["bank"]}
            | {c: [float(g[c].sum())] for c in ("base", "lost")}
        )
    )
    return out


def lost_counts_of_units(
    units: pd.DataFrame, ends: Iterable[str], echelon_of: Mapping[str, Any]
) -> pd.DataFrame:
    """:func:`~bankanalysis.report.disclosure_retention.lost_counts` from counts per unit.

    ``units`` holds ``end, region_id, outlet_id, base, lost``: the base customers of each
    region and outlet at the base month of ``end`` and how many of them are not active at
    ``end`` (:func:`~bankanalysis.data.processed_sql.base_lost_counts`). The regions, echelons,
    outlets and the bank are summed in the same order and way as ``lost_counts`` sums its
    rows (counts as float, which add up exactly), so the frame is the same.

    Examples
    --------
    >>> units = pd.DataFrame({"end": ["2025-02"] * 2, "region_id": ["R1", "R2"],
    ...                       "outlet_id": ["O1", "O2"], "base": [2, 1], "lost": [1, 1]})
    >>> lost_counts_of_units(units, ["2025-02"], {"R1": 1, "R2": 1}
    ...                      )[["level", "id", "base", "lost"]].values.tolist()
    [['region', 'R1', 2.0, 1.0], ['region', 'R2', 1.0, 1.0], ['echelon', '1', 3.0, 2.0], ['outlet', 'O1', 2.0, 1.0], ['outlet', 'O2', 1.0, 1.0], ['bank', 'bank', 3.0, 2.0]]
    """
    frames = []
    regions = sorted(str(r) for r in echelon_of)
    for end in ends:
        u = units.loc[units["end"] == end]
        rows = u[["region_id", "outlet_id"]].astype(str)
        rows["base"], rows["lost"] = u["base"].astype("float64"), u["lost"].astype("float64")
        frames += end_rows(end, rows, regions, echelon_of)
    if not frames:
        return pd.DataFrame(columns=_COLUMNS)
    return pd.concat(frames, ignore_index=True)[_COLUMNS].reset_index(drop=True)


def bank_lost_counts(
    bank: Any,
    ends: Iterable[str],
    months: Sequence[str],
    lookback: int,
    echelon_of: Mapping[str, Any],
) -> pd.DataFrame:
    """:func:`~bankanalysis.report.disclosure_retention.lost_counts` of every customer of
    ``bank`` (a :class:`~bankanalysis.data.load.ProcessedBank`), counted by DuckDB.

    Reads ``month, customer_id, region_id, outlet_id`` of the month-ends and their base months
    from ``customer_month.parquet``; the same frame as ``lost_counts`` of those rows read
    whole (the tests compare them).
    """
    ends = list(ends)
    pairs = [(end, base_month(months, end, lookback)) for end in ends]
    units = base_lost_counts(bank.folder, pairs)
    return lost_counts_of_units(units, ends, echelon_of)
