"""The echelons over time: each one's share of the bank and the gaps between them.

The plan sets echelon goals on new personal deposits and intermediary income ("aim at the first
echelon, shorten the gap"). Echelons have different numbers of regions, so the gap compares
the average per region: the second echelon's average against the first's, the third's against
the second's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from bankanalysis.exceptions import OverviewError

__all__ = [
    "CONTRIBUTION_KPIS",
    "GAP_KPIS",
    "echelon_contributions",
    "echelon_gaps",
    "first_echelon_ratios",
]

logger = logging.getLogger(__name__)

#: KPIs whose split over the echelons is shown.
CONTRIBUTION_KPIS: tuple[str, ...] = ("deposit_balance", "fee_income", "customers")
#: The echelon goals whose gaps are followed.
GAP_KPIS: tuple[str, ...] = ("new_deposits", "fee_income")
#: (lower echelon, the echelon it is compared with).
PAIRS: tuple[tuple[int, int], ...] = ((2, 1), (3, 2))


def _check(region_month: pd.DataFrame, kpi_ids: Sequence[str]) -> None:
    missing = [c for c in ("month", "region_id", "echelon", *kpi_ids) if c not in region_month]
    if missing:
        raise OverviewError(
            f"echelon figures: region_month lacks {missing}; pass the processed region_month"
        )


def echelon_contributions(
    region_month: pd.DataFrame, kpi_ids: Sequence[str] = CONTRIBUTION_KPIS
) -> pd.DataFrame:
    """Each echelon's total and its share of the bank's total, per month and KPI.

    Returns
    -------
    DataFrame
        ``month, echelon, kpi, value, share`` (value / the bank's total; NaN when the bank's
        total is not positive).
    """
    _check(region_month, kpi_ids)
    sums = region_month.groupby(["month", "echelon"], observed=True, sort=True)[list(kpi_ids)].sum(
        min_count=1
    )
    long = sums.reset_index().melt(
        id_vars=["month", "echelon"], value_vars=list(kpi_ids), var_name="kpi", value_name="value"
    )
    total = long.groupby(["month", "kpi"])["value"].transform("sum")
    long["share"] = long["value"] / total.where(total > 0)
    long["echelon"] = long["echelon"].astype(int)
    return long.sort_values(["kpi", "month", "echelon"], kind="stable").reset_index(drop=True)


def echelon_gaps(region_month: pd.DataFrame, kpi_ids: Sequence[str] = GAP_KPIS) -> pd.DataFrame:
    """The gap of each echelon to the one above, per region on average, per month and KPI.

    Returns
    -------
    DataFrame
        ``month, kpi, echelon, compared_with, per_region, compared_per_region, gap`` (per
        region minus the compared echelon's per region: negative = behind) and ``ratio``
        (per region / the compared echelon's; NaN when that is not positive). Pairs where an
        echelon has no region are left out.
    """
    _check(region_month, kpi_ids)
    g = region_month.groupby(["month", "echelon"], observed=True, sort=True)
    per_region = g[list(kpi_ids)].sum(min_count=1).div(g["region_id"].nunique(), axis=0)
    rows = []
    months = per_region.index.get_level_values("month").unique()
    for month in months:
        now = per_region.loc[month]
        for low, high in PAIRS:
            if low not in now.index or high not in now.index:
                continue
            for k in kpi_ids:
                a, b = float(now.at[low, k]), float(now.at[high, k])
                rows.append(
                    {
                        "month": month,
                        "kpi": k,
                        "echelon": low,
                        "compared_with": high,
                        "per_region": a,
                        "compared_per_region": b,
                        "gap": a - b,
                        "ratio": a / b if b > 0 else float("nan"),
                    }
                )
    cols = ["month", "kpi", "echelon", "compared_with", "per_region", "compared_per_region"]
    cols += ["gap", "ratio"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["kpi", "echelon", "month"], kind="stable").reset_index(drop=True)


def first_echelon_ratios(
    region_month: pd.DataFrame, kpi_ids: Sequence[str] = GAP_KPIS
) -> pd.DataFrame:
    """Each region against the first echelon ("aim at the first echelon"), per month and KPI.

    Returns
    -------
    DataFrame
        ``month, region_id, echelon, kpi, value, first_per_region`` (the first echelon's total
        / its number of regions, as in :func:`echelon_gaps`) and ``ratio`` (value / that; NaN
        when the value is missing or the first echelon's average is not positive). Empty
        without a first-echelon region.

    Examples
    --------
    >>> rm = pd.DataFrame({"month": "2025-03", "region_id": ["A", "B", "C"],
    ...                    "echelon": [1, 1, 2], "fee_income": [100.0, 300.0, 150.0]})
    >>> first_echelon_ratios(rm, ["fee_income"])["ratio"].tolist()
    [0.5, 1.5, 0.75]
    """
    _check(region_month, kpi_ids)
    cols = ["month", "region_id", "echelon", "kpi", "value", "first_per_region", "ratio"]
    first = region_month.loc[region_month["echelon"] == 1]
    g = first.groupby("month", sort=True)
    per_region = g[list(kpi_ids)].sum(min_count=1).div(g["region_id"].nunique(), axis=0)
    long = region_month[["month", "region_id", "echelon", *kpi_ids]].melt(
        id_vars=["month", "region_id", "echelon"], var_name="kpi", value_name="value"
    )
    avg = per_region.reset_index().melt(id_vars="month", var_name="kpi", value_name="first")
    out = long.merge(avg.rename(columns={"first": "first_per_region"}), on=["month", "kpi"])
    out["ratio"] = out["value"] / out["first_per_region"].where(out["first_per_region"] > 0)
    out["echelon"] = out["echelon"].astype(int)
    out["region_id"] = out["region_id"].astype(str)
    return (
        out[cols].sort_values(["kpi", "month", "region_id"], kind="stable").reset_index(drop=True)
    )
