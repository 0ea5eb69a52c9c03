"""Year to date against the annual plan: cumulative flows, plan path, projection, gap.

The annual target of a KPI is its ``year`` target, or, without one, the sum of its twelve
``month`` targets of the year. The plan path spreads it over the months: ``linear`` (a twelfth a
month) or ``seasonal`` (by twelve weights, e.g. a peak-season first quarter). The projected
year-end at the current pace is the year-to-date actual divided by the share of the year's plan
due by now (under the linear path: the monthly average times twelve).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bankanalysis.exceptions import BenchmarkingError
from bankanalysis.planning.periods import normalise_targets
from bankanalysis.rules.months import parse_month, year_to_date

__all__ = ["PLAN_FLOW_KPIS", "annual_targets", "plan_path", "ytd_progress"]

logger = logging.getLogger(__name__)

#: The plan's cumulative KPIs followed year to date.
PLAN_FLOW_KPIS: tuple[str, ...] = ("new_deposits", "fee_income", "sales_total", "new_customers")


def plan_path(path: str = "linear", weights: Sequence[float] | None = None) -> np.ndarray:
    """Share of the annual plan due by the end of each month (12 values, the last 1).

    Examples
    --------
    >>> plan_path("linear")[[0, 2, 11]].round(4).tolist()
    [0.0833, 0.25, 1.0]
    >>> plan_path("seasonal", [2, 2, 2] + [1] * 9)[[0, 2, 11]].round(4).tolist()
    [0.1333, 0.4, 1.0]
    """
    if path == "linear":
        w = np.ones(12)
    elif path == "seasonal":
        if weights is None or len(weights) != 12:
            raise BenchmarkingError("a seasonal plan path needs twelve monthly weights")
        w = np.asarray(weights, dtype=float)
        if (w < 0).any() or w.sum() <= 0:
            raise BenchmarkingError("plan path weights must be >= 0 and not all 0")
    else:
        raise BenchmarkingError(f"plan path must be 'linear' or 'seasonal', got {path!r}")
    return np.cumsum(w) / w.sum()


def annual_targets(targets: pd.DataFrame | None, year: int) -> pd.DataFrame:
    """The year's target per level, id and KPI.

    Returns
    -------
    DataFrame
        ``level, id, kpi, annual_target, source`` (``"year"``: a year target; ``"months"``:
        the sum of twelve month targets).
    """
    cols = ["level", "id", "kpi", "annual_target", "source"]
    t = normalise_targets(targets)
    t = t.loc[t["period_label"].str.startswith(str(year))]
    if t.empty:
        return pd.DataFrame(columns=cols)
    keys = ["level", "id", "kpi"]
    yearly = t.loc[t["period"] == "year", [*keys, "target"]].assign(source="year")
    months = t.loc[t["period"] == "month"]
    summed = months.groupby(keys, sort=True).agg(
        annual_target=("target", "sum"), n=("month", "nunique")
    )
    summed = summed.loc[summed["n"] == 12].drop(columns="n").reset_index().assign(source="months")
    yearly = yearly.rename(columns={"target": "annual_target"})
    both = pd.concat([yearly, summed], ignore_index=True).drop_duplicates(keys, keep="first")
    return both[cols].sort_values(keys).reset_index(drop=True)


def ytd_progress(
    monthly: pd.DataFrame,
    targets: pd.DataFrame | None,
    month: str,
    path: str = "linear",
    weights: Sequence[float] | None = None,
    kpi_ids: Sequence[str] = PLAN_FLOW_KPIS,
) -> pd.DataFrame:
    """Year-to-date actuals against the annual target and the plan path.

    Parameters
    ----------
    monthly : DataFrame
        Monthly values at one or more levels (``month, level, id`` and KPI columns, from
        :func:`bankanalysis.planning.periods.level_values`).
    targets : DataFrame or None
        Processed ``targets``.
    month : str
        Data month.
    path, weights
        The plan path (:func:`plan_path`).
    kpi_ids : sequence of str
        Flow KPIs followed (default :data:`PLAN_FLOW_KPIS`).

    Returns
    -------
    DataFrame
        One row per (level, id, KPI) with an annual target: ``annual_target, source,
        ytd_actual, plan_to_date`` (annual target x the plan's share due by ``month``),
        ``ytd_vs_plan`` (ytd / plan to date), ``projected_year_end`` (ytd / that share),
        ``gap`` (projected minus annual target: negative = short), ``gap_share`` (gap / annual
        target) and ``reason`` (why the year to date is unknown, else empty).
    """
    year, m = parse_month(month)
    share = float(plan_path(path, weights)[m - 1])
    ann = annual_targets(targets, year)
    ann = ann.loc[ann["kpi"].isin(kpi_ids)]
    ytd_months = year_to_date(month)
    rows = []
    have_months = set(monthly["month"])
    # each (level, id)'s year-to-date rows, found once: the targets cover every level and id of
    # the bank (thousands of rows), filtering the whole frame for each was most of the time
    in_ytd = monthly.loc[monthly["month"].isin(ytd_months)]
    empty = in_ytd.iloc[:0]
    by_id = dict(iter(in_ytd.groupby(["level", "id"], sort=False)))
    for r in ann.itertuples(index=False):
        sel = by_id.get((r.level, r.id), empty)
        reason = ""
        ytd = np.nan
        if r.kpi not in monthly.columns:
            reason = f"{r.kpi} is not computed from this extract"
        elif sel.empty:
            reason = f"no {r.level} {r.id} in the data"
        else:
            missing = [mm for mm in ytd_months if mm not in have_months]
            values = sel.set_index("month")[r.kpi].reindex(ytd_months)
            if missing:
                reason = f"the data start at {min(have_months)}, after January {year}"
            elif values.isna().all():
                reason = f"{r.kpi} is not measured in this extract (a table it needs is missing)"
            elif values.isna().any():
                first = values.index[values.isna()][0]
                reason = f"no value for {first}" + (
                    " (the data's first month has no change to measure)"
                    if first == min(have_months)
                    else ""
                )
            else:
                ytd = float(values.sum())
        rows.append({**r._asdict(), "ytd_actual": ytd, "reason": reason})
    cols = [
        "level", "id", "kpi", "annual_target", "source", "ytd_actual", "plan_to_date",
        "ytd_vs_plan", "projected_year_end", "gap", "gap_share", "reason",
    ]  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(rows)
    out["plan_to_date"] = out["annual_target"] * share
    pos = out["plan_to_date"].where(out["plan_to_date"] > 0)
    out["ytd_vs_plan"] = out["ytd_actual"] / pos
    out["projected_year_end"] = out["ytd_actual"] / share
    out["gap"] = out["projected_year_end"] - out["annual_target"]
    out["gap_share"] = out["gap"] / out["annual_target"].where(out["annual_target"] > 0)
    return out[cols]
