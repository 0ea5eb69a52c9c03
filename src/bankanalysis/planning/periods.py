"""Targets over periods, KPI values at every level over months, quarters and years, attainment.

A target (processed ``targets``: ``month, level, id, kpi, target`` and, in newer extracts,
``period``) covers a month, a quarter or a year ending at ``month``. KPI values come from the
outlet KPIs (:func:`bankanalysis.benchmarking.kpis.outlet_kpis`) aggregated by
:func:`bankanalysis.benchmarking.kpis.group_aggregates` (sums, ratios recomputed from the sums):
over a quarter or a year the flows of :data:`FLOW_KPIS` and the product-family sales (``sales_<family>``) are summed over its months, the channel
and device rates are recomputed from the period's summed parts, and every other KPI (balances,
customers, coverage) is its value at the period's last month in the data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import pandas as pd

from bankanalysis.benchmarking.kpis import group_aggregates
from bankanalysis.benchmarking.self_service import RATE_COLUMNS
from bankanalysis.exceptions import BenchmarkingError
from bankanalysis.rules import kpis as kpi_dict
from bankanalysis.rules.months import parse_month, quarter_of
from bankanalysis.segmentation.coverage import customer_sums, kpis_from_sums

__all__ = [
    "CUSTOMER_PERIOD_KPIS",
    "FLOW_KPIS",
    "LEVEL_COLUMNS",
    "RATE_KPIS",
    "attainment",
    "customer_period_from_sums",
    "customer_period_values",
    "level_values",
    "long_values",
    "normalise_targets",
    "period_label",
    "period_values",
]

logger = logging.getLogger(__name__)

#: Level -> the outlet-KPI column identifying the group (``None``: the whole bank).
LEVEL_COLUMNS: dict[str, str | None] = {
    "outlet": "outlet_id",
    "region": "region_id",
    "echelon": "echelon",
    "bank": None,
}
#: The id of the whole bank (as in the targets table).
BANK_ID = "bank"
#: KPIs that are flows within the month: a quarter's or year's value is the sum of its months.
FLOW_KPIS: tuple[str, ...] = (
    "new_deposits",
    "fee_income",
    "new_customers",
    "sales_total",
    "closed_customers",
)
#: Rates recomputed from the period's summed numerators and denominators.
RATE_KPIS: tuple[str, ...] = tuple(RATE_COLUMNS)
#: The plan's customer KPIs over periods: their value at the period's last month in the data,
#: each from :func:`bankanalysis.segmentation.coverage.customer_kpis` (its one definition).
CUSTOMER_PERIOD_KPIS: tuple[str, ...] = (
    "stock_retention",
    "product_coverage",
    "wealth_card_matching",
)
#: Months a complete period has.
PERIOD_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}


def period_label(period: str, month: str) -> str:
    """The label of the ``period`` (month, quarter, year) containing ``month``.

    Examples
    --------
    >>> [period_label(p, "2025-05") for p in ("month", "quarter", "year")]
    ['2025-05', '2025-Q2', '2025']
    """
    if period == "month":
        return month
    if period == "quarter":
        return quarter_of(month)
    if period == "year":
        return str(parse_month(month)[0])
    raise BenchmarkingError(f"period must be month, quarter or year, got {period!r}")


def normalise_targets(targets: pd.DataFrame | None) -> pd.DataFrame:
    """Targets with ``period`` filled (empty or no column = ``month``) and ``period_label``.

    Returns
    -------
    DataFrame
        ``level, id, kpi, period, period_label, month, target``; empty without targets.
    """
    cols = ["level", "id", "kpi", "period", "period_label", "month", "target"]
    if targets is None or targets.empty:
        return pd.DataFrame(columns=cols)
    t = targets.copy()
    if "period" not in t.columns:
        t["period"] = "month"
    t["period"] = (
        t["period"].astype(object).where(t["period"].notna() & (t["period"] != ""), "month")
    )
    t["id"] = t["id"].astype(str)
    t["target"] = t["target"].astype("float64")
    t["period_label"] = [period_label(p, m) for p, m in zip(t["period"], t["month"], strict=True)]
    return t[cols].reset_index(drop=True)


def level_values(outlet_kpis: pd.DataFrame, level: str) -> pd.DataFrame:
    """Monthly KPI values at ``level`` (outlet rows as they are; groups by
    :func:`~bankanalysis.benchmarking.kpis.group_aggregates`).

    Returns
    -------
    DataFrame
        ``month, level, id`` (text; ``"bank"`` for the bank) and the KPI columns.
    """
    if level not in LEVEL_COLUMNS:
        raise BenchmarkingError(f"level must be one of {list(LEVEL_COLUMNS)}, got {level!r}")
    col = LEVEL_COLUMNS[level]
    if level == "outlet":
        out = outlet_kpis.copy()
    elif col is None:
        out = group_aggregates(outlet_kpis.assign(_bank=BANK_ID), "_bank")
        col = "_bank"
    else:
        out = group_aggregates(outlet_kpis, col)
    out = out.rename(columns={col: "id"})
    out["id"] = out["id"].astype(str)
    out.insert(1, "level", level)
    front = ["month", "level", "id"]
    return out[front + [c for c in out.columns if c not in front]]


def period_values(outlet_kpis: pd.DataFrame, level: str, period: str) -> pd.DataFrame:
    """KPI values at ``level`` per month, quarter or year.

    Flows (:data:`FLOW_KPIS`) are summed over the period's months in the data, rates
    (:data:`RATE_KPIS`) recomputed from the period's summed parts, every other KPI taken at the
    period's last month in the data.

    Returns
    -------
    DataFrame
        ``period_label, level, id``, the KPI columns, ``months`` (months of the period in the
        data) and ``complete`` (all of them).
    """
    if period not in PERIOD_MONTHS:
        raise BenchmarkingError(f"period must be month, quarter or year, got {period!r}")
    labels = outlet_kpis["month"].map(lambda m: period_label(period, m))
    om = outlet_kpis.assign(_period=labels)
    n_months = om.groupby("_period")["month"].nunique()
    last_month = om.groupby("_period")["month"].max()
    last = level_values(om.loc[om["month"].isin(set(last_month))], level)
    last = last.assign(period_label=last["month"].map(lambda m: period_label(period, m)))
    if period != "month":
        relabelled = om.assign(month=om["_period"])
        if level == "outlet":  # one row per outlet and period: sums, rates from the sums
            summed = group_aggregates(relabelled, "outlet_id").rename(columns={"outlet_id": "id"})
            summed["id"] = summed["id"].astype(str)
        else:
            summed = level_values(relabelled, level)
        summed = summed.rename(columns={"month": "period_label"}).set_index(["period_label", "id"])
        idx = pd.MultiIndex.from_frame(last[["period_label", "id"]])
        family = [c for c in summed.columns if c.startswith("sales_") and c != "sales_per_fte"]
        for c in (*FLOW_KPIS, *family, *RATE_KPIS):
            if c in summed.columns:
                last[c] = summed[c].reindex(idx).to_numpy()
    last["months"] = last["period_label"].map(n_months).astype("int64")
    last["complete"] = last["months"] == PERIOD_MONTHS[period]
    out = last.drop(columns=["month", "_period"], errors="ignore")
    front = ["period_label", "level", "id"]
    return out[front + [c for c in out.columns if c not in front]].reset_index(drop=True)


def customer_period_values(
    tiers_now: pd.DataFrame,
    cm_base: pd.DataFrame | None,
    month: str,
    level: str,
    period: str,
    months: Sequence[str],
    *,
    coverage_products: int = 3,
    wealth_card_product: str | None = "wealth_card",
) -> pd.DataFrame:
    """The customer KPIs (:data:`CUSTOMER_PERIOD_KPIS`) of the period containing ``month``, at
    ``level``, taken at ``month`` (the period's last month in the data), as in
    :func:`period_values` for every KPI that is not a flow or a rate.

    Parameters
    ----------
    tiers_now : DataFrame
        :func:`bankanalysis.rules.tiers.customer_tiers` of the whole bank at ``month`` with
        ``n_products``, the wealth card's ``hold_`` column and the level's column
        (:data:`LEVEL_COLUMNS`); the whole bank, so that a customer who moved between groups
        counts as retained.
    cm_base : DataFrame or None
        ``customer_month`` rows of the base month of ``month`` (``customer_id`` and the level's
        column); ``None`` leaves retention absent.
    month : str
        The period's last month in the data.
    level, period : str
        As in :func:`period_values`.
    months : sequence of str
        Months of the data (how many of the period's months the data hold).
    coverage_products, wealth_card_product
        As in :func:`~bankanalysis.segmentation.coverage.customer_kpis`.

    Returns
    -------
    DataFrame
        ``period_label, level, id``, the KPI columns (NaN where not computable), ``customers``,
        ``base_customers``, ``quality_plus_customers`` (the groups of the small-group rule),
        ``months`` and ``complete``.
    """
    sums = customer_sums(
        tiers_now,
        cm_base,
        None,
        by=_level_column(level),
        coverage_products=coverage_products,
        wealth_card_product=wealth_card_product,
    )
    return customer_period_from_sums(sums, month, level, period, months)


def _level_column(level: str) -> str | None:
    """The grouping column of ``level`` (:data:`LEVEL_COLUMNS`)."""
    if level not in LEVEL_COLUMNS:
        raise BenchmarkingError(f"level must be one of {list(LEVEL_COLUMNS)}, got {level!r}")
    return LEVEL_COLUMNS[level]


def customer_period_from_sums(
    sums: pd.DataFrame, month: str, level: str, period: str, months: Sequence[str]
) -> pd.DataFrame:
    """:func:`customer_period_values` from the counts of the level's groups.

    ``sums`` is :func:`~bankanalysis.segmentation.coverage.customer_sums` of ``tiers_now``
    and ``cm_base`` grouped by the level's column (no product catalogue), or the
    :func:`~bankanalysis.segmentation.coverage.add_customer_sums` of such counts over
    disjoint sets of customers: the same rows as :func:`customer_period_values` of all of them.
    """
    by = _level_column(level)
    kpis = kpis_from_sums(sums, by)
    label = period_label(period, month)
    out = kpis[[*CUSTOMER_PERIOD_KPIS, "customers", "base_customers", "quality_plus_customers"]]
    out = out.reset_index(drop=by is None)
    if by is None:
        out.insert(0, "id", BANK_ID)
    else:
        out = out.rename(columns={by: "id"})
        out["id"] = out["id"].astype(str)
    out.insert(0, "level", level)
    out.insert(0, "period_label", label)
    n = sum(1 for m in set(months) if period_label(period, m) == label)
    out["months"] = n
    out["complete"] = n == PERIOD_MONTHS[period]
    return out.reset_index(drop=True)


def long_values(
    frames: Iterable[pd.DataFrame], period: str, kpi_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Wide period values (:func:`period_values`) as long rows, KPI columns of the dictionary
    only.

    Returns
    -------
    DataFrame
        ``level, id, period, period_label, kpi, actual, complete``.
    """
    parts = []
    for wide in frames:
        cols = [c for c in wide.columns if kpi_dict.is_kpi(c) and (kpi_ids is None or c in kpi_ids)]
        if "complete" not in wide.columns:
            wide = wide.assign(complete=True)
        long = wide.melt(
            id_vars=["period_label", "level", "id", "complete"],
            value_vars=cols,
            var_name="kpi",
            value_name="actual",
        )
        parts.append(long.assign(period=period))
    cols = ["level", "id", "period", "period_label", "kpi", "actual", "complete"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out["actual"] = out["actual"].astype("float64")
    return out[cols]


def attainment(actuals: pd.DataFrame, targets: pd.DataFrame | None, month: str) -> pd.DataFrame:
    """Every target of a period containing ``month`` against its actual.

    Parameters
    ----------
    actuals : DataFrame
        :func:`long_values` rows (``level, id, period, period_label, kpi, actual, complete``);
        for a period still running the actual is to date.
    targets : DataFrame or None
        Processed ``targets``.
    month : str
        Data month.

    Returns
    -------
    DataFrame
        ``level, id, kpi, period, period_label, target, actual, attainment`` (actual / target;
        NaN for a target that is not positive or a missing actual) and ``complete`` (the period
        is over by ``month``; ``False`` for a quarter or year still running); sorted by level
        (bank first), id, period and KPI. Met or missed is decided on the displayed values by
        the report (:func:`bankanalysis.report.format.attainment_met`).
    """
    cols = ["level", "id", "kpi", "period", "period_label", "target", "actual", "attainment"]
    t = normalise_targets(targets)
    if t.empty:
        return pd.DataFrame(columns=[*cols, "complete"])
    current = [period_label(p, month) for p in t["period"]]
    t = t.loc[t["period_label"] == pd.Series(current, index=t.index)]
    keys = ["level", "id", "period", "period_label", "kpi"]
    a = actuals[[*keys, "actual", "complete"]].drop_duplicates(keys, keep="last")
    out = t.drop(columns="month").merge(a, on=keys, how="left")
    out["complete"] = [
        bool(c) and (p == "month" or _period_over(p, month))
        for c, p in zip(out["complete"].fillna(False), out["period"], strict=True)
    ]
    out["attainment"] = out["actual"] / out["target"].where(out["target"] > 0)
    order = {lv: i for i, lv in enumerate(("bank", "echelon", "region", "outlet"))}
    out = out.assign(
        _o=out["level"].map(order), _p=out["period"].map({"year": 0, "quarter": 1, "month": 2})
    )
    out = out.sort_values(["_o", "id", "_p", "kpi"], kind="stable")
    return out[[*cols, "complete"]].reset_index(drop=True)


def _period_over(period: str, month: str) -> bool:
    """Whether the ``period`` containing ``month`` ends with ``month``."""
    m = parse_month(month)[1]
    return m % 3 == 0 if period == "quarter" else m == 12
