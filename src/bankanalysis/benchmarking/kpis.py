"""Outlet KPIs per month, group aggregates (region, echelon, bank) and attainment of targets.

KPI columns are named by their KPI id (``bankanalysis.rules.kpis``). Units: money in the bank's
currency, counts in customers or products, rates as shares in [0, 1]; ``*_per_fte`` divide by
the outlet's staff in full-time equivalents. Ratios of a group are recomputed from its sums,
never averaged over outlets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from bankanalysis.benchmarking._frame import require_columns, safe_div
from bankanalysis.benchmarking.self_service import add_channel_rates
from bankanalysis.contract import PRODUCT_FAMILIES
from bankanalysis.exceptions import BenchmarkingError
from bankanalysis.rules.months import month_window
from bankanalysis.rules.tiers import assign_tiers, rolling_average_aum_part, tier_at_least

__all__ = [
    "ADDITIVE",
    "CUSTOMER_KPIS",
    "attainment",
    "customer_counts",
    "customer_counts_in_parts",
    "customer_months",
    "group_aggregates",
    "outlet_kpis",
    "outlet_kpis_from_counts",
]

logger = logging.getLogger(__name__)

#: Flow and stock columns summed in aggregates; ratios are recomputed from the sums.
ADDITIVE: tuple[str, ...] = (
    "customers",
    "new_customers",
    "closed_customers",
    "staff_fte",
    "aum",
    "deposit_balance",
    "new_deposits",
    "fee_income",
    "sales_total",
    *(f"sales_{family}" for family in PRODUCT_FAMILIES),
    "txn_n",
    "txn_counter_n",
    "txn_self_service_n",
    "txn_accounting_n",
    "txn_accounting_offcounter_n",
    "devices",
    "device_available_hours",
    "device_operating_hours",
    "n_quality_plus",
    "n_covered",
    "n_products_total",
)

#: KPIs of :func:`outlet_kpis` computed from customer rows (need every month's customers).
CUSTOMER_KPIS: tuple[str, ...] = ("share_quality_plus", "product_coverage", "products_per_customer")


def customer_months(months: Sequence[str], month: str, tier_months: int, ma_kpi: str) -> list[str]:
    """Months of ``customer_month`` the benchmarking report reads.

    Only the tier window of the data month (the ``tier_months`` calendar months ending at
    ``month``, :func:`bankanalysis.rules.months.month_window`), unless the moving-average KPI is computed from
    customers (:data:`CUSTOMER_KPIS`): then every month up to ``month``.

    Examples
    --------
    >>> customer_months(["2024-01", "2024-02", "2024-03", "2024-04"], "2024-03", 2, "aum_per_fte")
    ['2024-02', '2024-03']
    """
    if ma_kpi in CUSTOMER_KPIS:
        return [m for m in months if m <= month]
    window = set(month_window(month, tier_months))
    return [m for m in months if m in window]


def customer_counts(
    customer_month: pd.DataFrame,
    tier_thresholds: Sequence[float],
    tier_months: int = 3,
    coverage_products: int = 3,
) -> pd.DataFrame:
    """Per outlet and month: quality-and-above customers and customers with broad coverage.

    Parameters
    ----------
    customer_month : DataFrame
        ``month, customer_id, outlet_id, aum, n_products`` (``customer_month.parquet``).
    tier_thresholds : sequence of float
        Tier thresholds ``[t1, t2, t3]``; "quality and above" = the tier rule's average AUM
        (``bankanalysis.rules.tiers``) at least ``t1``.
    tier_months : int
        Month-ends averaged for the tier.
    coverage_products : int
        A customer is "covered" when holding at least this many distinct products.

    Returns
    -------
    DataFrame
        ``month, outlet_id, n_quality_plus, n_covered, n_products_total``.
    """
    return _counts_of_part(customer_month, tier_thresholds, tier_months, coverage_products)[0]


def customer_counts_in_parts(
    parts: Iterable[pd.DataFrame],
    tier_thresholds: Sequence[float],
    tier_months: int = 3,
    coverage_products: int = 3,
) -> tuple[pd.DataFrame, list[str]]:
    """:func:`customer_counts` of a read given in parts of customers, one part in memory at a
    time.

    The parts must hold every row of their customers and come in customer-id order (ranges
    of ids, :meth:`bankanalysis.data.load.ProcessedBank.customer_ranges`). Each part's
    window averages continue the running sum of the one before
    (:func:`~bankanalysis.rules.tiers.rolling_average_aum_part`), so every customer's tier is
    the whole read's to the last bit; the counts are whole numbers, added exactly.

    Returns
    -------
    (DataFrame, list of str)
        :func:`customer_counts` of all the rows (sorted by ``month, outlet_id``) and the
        months present in them (sorted).
    """
    carry = 0.0
    counts: list[pd.DataFrame] = []
    months: set[str] = set()
    for cm in parts:
        part, carry = _counts_of_part(cm, tier_thresholds, tier_months, coverage_products, carry)
        counts.append(part)
        months.update(str(m) for m in pd.unique(cm["month"]))
    kept = [c for c in counts if len(c)] or counts[:1]
    if not kept:
        raise BenchmarkingError("customer_counts_in_parts: no part of customer_month given")
    if len(kept) == 1:
        return kept[0], sorted(months)
    total = pd.concat(kept, ignore_index=True)
    total = total.groupby(["month", "outlet_id"], observed=True, sort=True).sum().reset_index()
    return total, sorted(months)


def _counts_of_part(
    customer_month: pd.DataFrame,
    tier_thresholds: Sequence[float],
    tier_months: int,
    coverage_products: int,
    carry: float = 0.0,
) -> tuple[pd.DataFrame, float]:
    """:func:`customer_counts` of one part of a read and the running sum of AUM after it."""
    cols = ["month", "customer_id", "outlet_id", "aum", "n_products"]
    require_columns(customer_month, cols, "customer_month")
    cm = customer_month[cols].sort_values(["customer_id", "month"], kind="stable")
    avg, carry = rolling_average_aum_part(cm, tier_months, carry)
    cm = cm.assign(
        q=tier_at_least(assign_tiers(avg, tier_thresholds), "quality").astype(np.int64),
        c=(cm["n_products"] >= coverage_products).astype(np.int64),
    )
    counts = (
        cm.groupby(["month", "outlet_id"], observed=True, sort=True)
        .agg(
            n_quality_plus=("q", "sum"),
            n_covered=("c", "sum"),
            n_products_total=("n_products", "sum"),
        )
        .reset_index()
    )
    return counts, carry


def _ratios(df: pd.DataFrame) -> pd.DataFrame:
    """(Re)compute every ratio KPI from the additive columns present."""
    out = df.copy()
    out["customers_per_fte"] = safe_div(out["customers"], out["staff_fte"])
    out["sales_per_fte"] = safe_div(out["sales_total"], out["staff_fte"])
    out["aum_per_fte"] = safe_div(out["aum"], out["staff_fte"])
    out["aum_per_customer"] = safe_div(out["aum"], out["customers"])
    if "n_quality_plus" in out:
        out["share_quality_plus"] = safe_div(out["n_quality_plus"], out["customers"])
        out["product_coverage"] = safe_div(out["n_covered"], out["customers"])
        out["products_per_customer"] = safe_div(out["n_products_total"], out["customers"])
    return add_channel_rates(out)


def outlet_kpis(
    outlet_month: pd.DataFrame,
    customer_month: pd.DataFrame | None = None,
    tier_thresholds: Sequence[float] = (50000.0, 500000.0, 6000000.0),
    tier_months: int = 3,
    coverage_products: int = 3,
) -> pd.DataFrame:
    """Outlet KPIs per month.

    Parameters
    ----------
    outlet_month : DataFrame
        ``outlet_month.parquet``: ``month, outlet_id, region_id, echelon, outlet_type,
        staff_fte, customers, new_customers, aum, deposit_balance, new_deposits, fee_income,
        sales_<family>, sales_total, txn_n, txn_<channel>_n`` (and, when prepared,
        ``txn_accounting_n, txn_accounting_offcounter_n``), ``devices, device_*`` hours.
    customer_month : DataFrame, optional
        Needed for the share of quality-and-above customers and product coverage
        (see :func:`customer_counts`); without it those KPIs are NaN and
        ``products_per_customer`` comes from ``outlet_month``. Months absent from it get NaN
        for these KPIs (pass the data month and the ``tier_months - 1`` months before it to
        get the data month right at a fraction of the cost).
    tier_thresholds, tier_months, coverage_products
        See :func:`customer_counts`.

    Returns
    -------
    DataFrame
        One row per (month, outlet): the inputs' columns plus ``customers_per_fte``,
        ``sales_per_fte``, ``aum_per_fte``, ``aum_per_customer``, ``share_quality_plus``,
        ``product_coverage``, ``products_per_customer`` and the channel rates of
        :func:`bankanalysis.benchmarking.self_service.add_channel_rates` whose columns exist
        (``device_operating_rate``, ``outlet_replacement_rate``,
        ``accounting_replacement_rate``).

    Examples
    --------
    >>> om = pd.DataFrame({"month": ["2025-01"], "outlet_id": ["o1"], "staff_fte": [4.0],
    ...     "customers": [100], "sales_total": [20.0], "aum": [1e6], "txn_self_service_n": [6],
    ...     "txn_counter_n": [2]})
    >>> k = outlet_kpis(om)
    >>> k[["customers_per_fte", "sales_per_fte", "outlet_replacement_rate"]].iloc[0].tolist()
    [25.0, 5.0, 0.75]
    """
    _require_outlet_month(outlet_month)
    if customer_month is not None:
        counts = customer_counts(customer_month, tier_thresholds, tier_months, coverage_products)
        return outlet_kpis_from_counts(outlet_month, counts, pd.unique(customer_month["month"]))
    out = _ratios(outlet_month.copy())
    out["share_quality_plus"] = np.nan
    out["product_coverage"] = np.nan
    return out.sort_values(["month", "outlet_id"], kind="stable").reset_index(drop=True)


def _require_outlet_month(outlet_month: pd.DataFrame) -> None:
    require_columns(
        outlet_month,
        ["month", "outlet_id", "staff_fte", "customers", "sales_total", "aum"],
        "outlet_month",
    )


def outlet_kpis_from_counts(
    outlet_month: pd.DataFrame, counts: pd.DataFrame, months: Iterable[str]
) -> pd.DataFrame:
    """:func:`outlet_kpis` of ``outlet_month`` with the customer counts ``counts``
    (:func:`customer_counts` or :func:`customer_counts_in_parts`) of the customer-month rows
    of ``months``: outlets without active customers count 0, other months stay NaN."""
    _require_outlet_month(outlet_month)
    om = outlet_month.copy()
    om = om.drop(columns=[c for c in counts.columns[2:] if c in om.columns]).merge(
        counts, on=["month", "outlet_id"], how="left"
    )
    covered = om["month"].isin(list(months))
    for c in ("n_quality_plus", "n_covered", "n_products_total"):
        om[c] = om[c].where(~covered, om[c].fillna(0))
    out = _ratios(om)
    return out.sort_values(["month", "outlet_id"], kind="stable").reset_index(drop=True)


def group_aggregates(kpis: pd.DataFrame, by: str | Sequence[str] = "region_id") -> pd.DataFrame:
    """Aggregate outlet KPIs per month and group (region, echelon, ...).

    Additive columns are summed and every ratio is recomputed from the sums (a region's
    customers per FTE is its customers over its FTE, not the mean of its outlets' ratios).

    Parameters
    ----------
    kpis : DataFrame
        Output of :func:`outlet_kpis`.
    by : str or sequence of str
        Grouping column(s) besides ``month``.

    Returns
    -------
    DataFrame
        ``month, <by>, outlets`` + summed additive columns + ratios.
    """
    by = [by] if isinstance(by, str) else list(by)
    require_columns(kpis, ["month", *by], "outlet KPIs")
    cols = [c for c in ADDITIVE if c in kpis.columns]
    g = kpis.groupby(["month", *by], observed=True, sort=True)
    agg = g[cols].sum(min_count=1)
    agg.insert(0, "outlets", g.size())
    return _ratios(agg.reset_index())


def attainment(
    actual: pd.DataFrame, targets: pd.DataFrame | None, level: str = "outlet"
) -> pd.DataFrame | None:
    """Actual KPI values against the plan's targets.

    Parameters
    ----------
    actual : DataFrame
        ``month``, the id column (``outlet_id`` for level ``"outlet"``, ``region_id`` for
        ``"region"``) and KPI columns (from :func:`outlet_kpis` or :func:`group_aggregates`).
    targets : DataFrame or None
        ``targets.parquet``: ``month, level, id, kpi, target``. ``None`` when the bank has no
        targets table: the function returns ``None`` and the report says so.
    level : {"outlet", "region"}
        Which targets to use.

    Returns
    -------
    DataFrame or None
        ``month, id, kpi, target, actual, attainment`` (actual / target; NaN when the target
        is 0 or the KPI is not a column of ``actual``, which is logged).
    """
    if targets is None:
        return None
    idcol = {"outlet": "outlet_id", "region": "region_id"}.get(level)
    if idcol is None:
        raise BenchmarkingError(f"level must be 'outlet' or 'region', got {level!r}")
    t = targets[targets["level"] == level]
    if "period" in t.columns:  # quarter and year targets: bankanalysis.planning
        t = t[t["period"].fillna("month").isin(["month", ""])]
    if t.empty:
        return t.assign(actual=pd.Series(dtype=float), attainment=pd.Series(dtype=float))[
            ["month", "id", "kpi", "target", "actual", "attainment"]
        ]
    unknown = sorted(set(t["kpi"]) - set(actual.columns))
    if unknown:
        logger.warning("targets name KPI(s) %s that are not computed; attainment is NaN", unknown)
    known = [k for k in t["kpi"].unique() if k in actual.columns]
    long = actual.melt(
        id_vars=["month", idcol], value_vars=known, var_name="kpi", value_name="actual"
    ).rename(columns={idcol: "id"})
    long["id"] = long["id"].astype(str)
    t = t.assign(id=t["id"].astype(str))
    out = t[["month", "id", "kpi", "target"]].merge(long, on=["month", "id", "kpi"], how="left")
    out["attainment"] = safe_div(out["actual"], out["target"].where(out["target"] != 0))
    return out.sort_values(["month", "id", "kpi"], kind="stable").reset_index(drop=True)
