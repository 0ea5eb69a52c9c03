"""Whole-bank overview analytics: echelons compared, monthly trends, region scorecard, league
table, target attainment.

Pure functions (DataFrame in, DataFrame out) behind ``notebooks/00_bank_overview.ipynb``, the
bank's "notification and assessment" of its secondary branches. Every KPI is computed by its
one implementation (see :mod:`bankanalysis.rules.kpis`): the customer and account-manager KPIs
by :mod:`bankanalysis.segmentation` with ``by="region_id"``, self-service and the replacement
rates by :mod:`bankanalysis.benchmarking.self_service`; this module only puts them side by side,
ranks them and compares them with the plan's targets. The small-group rule is
:mod:`bankanalysis.rules.disclosure`. No sentences, styling or charts here: the report shaping is
:mod:`bankanalysis.report.overview`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bankanalysis.benchmarking.self_service import add_channel_rates
from bankanalysis.exceptions import OverviewError
from bankanalysis.rules import kpis
from bankanalysis.rules.disclosure import KPI_GROUP, is_small
from bankanalysis.rules.materiality import material_values
from bankanalysis.rules.months import base_month, month_window
from bankanalysis.segmentation.coverage import customer_kpis
from bankanalysis.segmentation.managers import manager_kpis

__all__ = [
    "CHANNEL_COUNTS",
    "NO_CHANNEL_COUNTS",
    "SCORECARD_KPIS",
    "echelon_comparison",
    "league_table",
    "monthly_trends",
    "overview_months",
    "region_scorecard",
    "scorecard_columns",
    "suppress_scorecard",
    "target_attainment",
    "withheld_cells",
]

logger = logging.getLogger(__name__)

#: The plan's KPIs of the region scorecard and the league table, in display order.
SCORECARD_KPIS: tuple[str, ...] = (
    "customer_growth",
    "stock_retention",
    "product_coverage",
    "wealth_card_matching",
    "contact_plan_coverage",
    "manager_coverage",
    "manager_adequacy",
    "vip_service_duration_ratio",
    "self_service_per_outlet",
    "accounting_replacement_rate",
    "outlet_replacement_rate",
    "new_deposits",
)


#: Transaction counts of ``outlet_month`` the replacement rates are computed from (summed).
CHANNEL_COUNTS: tuple[str, ...] = (
    "txn_self_service_n",
    "txn_counter_n",
    "txn_accounting_offcounter_n",
    "txn_accounting_n",
)


#: Why a replacement rate cannot be computed (the data lack its transaction counts).
NO_CHANNEL_COUNTS = "the data carry no transaction counts by channel for it"
NO_DEVICES = "no device data in this extract"


def _require(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise OverviewError(
            f"{what}: missing column(s) {', '.join(missing)}; pass the processed table "
            "from bankanalysis.data.load (see docs/processed_data.md)"
        )


def overview_months(
    months: Sequence[str], month: str, tier_months: int, lookback: int = 12
) -> list[str]:
    """Months of ``customer_month`` the scorecard needs: the tier window and the base month.

    Examples
    --------
    >>> overview_months(["2024-01", "2024-02", "2024-03", "2024-04"], "2024-04", 2, 12)
    ['2024-01', '2024-03', '2024-04']
    """
    have = set(months)
    window = [m for m in month_window(month, tier_months) if m in have]
    return sorted({*window, base_month(months, month, lookback)})


def scorecard_columns(wealth_card_product: str | None, has_contacts: bool = True) -> list[str]:
    """``customer_month`` columns that :func:`region_scorecard` reads.

    Examples
    --------
    >>> scorecard_columns("wealth_card")[-1]
    'hold_wealth_card'
    >>> "contacts_1m" in scorecard_columns(None, has_contacts=False)
    False
    """
    cols = ["month", "customer_id", "outlet_id", "region_id", "aum", "n_products", "manager_id"]
    if has_contacts:
        cols += ["contacts_1m", "contact_minutes_1m", "contact_minutes_3m"]
    if wealth_card_product is not None:
        cols.append(f"hold_{wealth_card_product}")
    return cols


def _channel_rates(outlet_month: pd.DataFrame, month: str | None, by: str) -> pd.DataFrame:
    """Replacement rates per ``by`` (and month when ``month`` is None) from summed counts."""
    counts = [c for c in CHANNEL_COUNTS if c in outlet_month.columns]
    om = outlet_month if month is None else outlet_month.loc[outlet_month["month"] == month]
    keys = [by] if month is not None else ["month", by]
    summed = om.groupby(keys, observed=True, sort=True)[counts].sum()
    rates = add_channel_rates(summed)
    return rates.drop(columns=["device_operating_rate"], errors="ignore")


def _with_rates(totals: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """``totals`` with the replacement rates of ``rates`` (NaN where not measurable)."""
    out = totals.join(rates, how="left")
    for kpi in ("accounting_replacement_rate", "outlet_replacement_rate"):
        if kpi not in out.columns:
            out[kpi] = np.nan
    return out


def echelon_comparison(
    region_month: pd.DataFrame, outlet_month: pd.DataFrame, month: str, has_devices: bool = True
) -> pd.DataFrame:
    """Compare the echelons at one month.

    Parameters
    ----------
    region_month : DataFrame
        Processed ``region_month``.
    outlet_month : DataFrame
        Processed ``outlet_month`` (transaction counts by channel, for the replacement rates).
    month : str
        Month ``YYYY-MM``.
    has_devices : bool
        Whether the extract has device data; without it ``self_service_per_outlet`` is NaN
        (unknown, not 0).

    Returns
    -------
    DataFrame
        One row per echelon: ``regions, outlets, customers, aum, deposit_balance,
        new_deposits, fee_income, sales_total, self_service_sites`` (sums),
        ``aum_per_customer``, ``products_per_customer`` (products held / customers),
        ``self_service_per_outlet`` (sites / outlets), ``outlet_replacement_rate`` and
        ``accounting_replacement_rate`` (from the summed counts; NaN when the data do not
        carry the accounting counts).
    """
    cols = ["month", "region_id", "echelon", "outlets", "customers", "aum", "deposit_balance"]
    cols += ["new_deposits", "fee_income", "sales_total", "products_per_customer"]
    cols += ["self_service_sites"]
    _require(region_month, cols, "echelon_comparison")
    _require(outlet_month, ["month", "echelon", "txn_self_service_n", "txn_counter_n"], "echelon")
    rm = region_month.loc[region_month["month"] == month]
    rm = rm.assign(_products=rm["products_per_customer"] * rm["customers"])
    out = rm.groupby("echelon", observed=True, sort=True).agg(
        regions=("region_id", "nunique"),
        outlets=("outlets", "sum"),
        customers=("customers", "sum"),
        aum=("aum", "sum"),
        deposit_balance=("deposit_balance", "sum"),
        new_deposits=("new_deposits", "sum"),
        fee_income=("fee_income", "sum"),
        sales_total=("sales_total", "sum"),
        _products=("_products", "sum"),
        self_service_sites=("self_service_sites", "sum"),
    )
    customers = out["customers"].where(out["customers"] > 0)
    out["aum_per_customer"] = out["aum"] / customers
    out["products_per_customer"] = out["_products"] / customers
    out["self_service_per_outlet"] = out["self_service_sites"] / out["outlets"].where(
        (out["outlets"] > 0) & has_devices
    )
    out = _with_rates(out.drop(columns="_products"), _channel_rates(outlet_month, month, "echelon"))
    return out.drop(columns=[c for c in CHANNEL_COUNTS if c in out.columns]).reset_index()


def monthly_trends(region_month: pd.DataFrame) -> pd.DataFrame:
    """Monthly totals per echelon: customers, AUM, new deposits and fee income.

    Returns
    -------
    DataFrame
        One row per (``month``, ``echelon``), sorted. New deposits of the first month (no
        previous balance) stay NaN, never 0.
    """
    _require(
        region_month,
        ["month", "echelon", "customers", "aum", "new_deposits", "fee_income"],
        "monthly_trends",
    )
    return (
        region_month.groupby(["month", "echelon"], observed=True, sort=True)[
            ["customers", "aum", "new_deposits", "fee_income"]
        ]
        .sum(min_count=1)
        .reset_index()
    )


def region_scorecard(
    tiers_now: pd.DataFrame,
    cm_base: pd.DataFrame | None,
    region_month: pd.DataFrame,
    outlet_month: pd.DataFrame,
    month: str,
    *,
    managers: pd.DataFrame | None,
    has_contacts: bool,
    has_devices: bool = True,
    coverage_products: int = 3,
    wealth_card_product: str | None = "wealth_card",
    by_region: bool = True,
) -> pd.DataFrame:
    """The plan's KPIs (:data:`SCORECARD_KPIS`) per region, or for the whole bank, at ``month``.

    The customer KPIs come from :func:`bankanalysis.segmentation.coverage.customer_kpis`, the
    account-manager KPIs from :func:`bankanalysis.segmentation.managers.manager_kpis` (both
    grouped by ``region_id``), the replacement rates from the summed transaction counts
    (:func:`bankanalysis.benchmarking.self_service.add_channel_rates`), self-service banks per
    outlet and new deposits from ``region_month``. Definitions: ``bankanalysis kpis``.

    Parameters
    ----------
    tiers_now : DataFrame
        :func:`bankanalysis.rules.tiers.customer_tiers` of the whole bank at ``month`` with the
        :func:`scorecard_columns`.
    cm_base : DataFrame or None
        ``customer_month`` rows of the base month (``customer_id, region_id``, optionally
        ``kept``: :func:`~bankanalysis.segmentation.coverage.customer_sums`); ``None`` leaves
        growth and retention absent.
    region_month, outlet_month : DataFrame
        Processed ``region_month`` and ``outlet_month``.
    month : str
        Analysis month.
    managers : DataFrame or None
        Processed ``managers`` (``None`` when the bank has none).
    has_contacts : bool
        Whether the bank's extract has the contacts table.
    has_devices : bool
        Whether it has device data; without it self-service banks per outlet are absent.
    coverage_products : int
        Products a customer must hold to count as covered.
    wealth_card_product : str or None
        Product id of the wealth-management card (``None``: the bank has none).
    by_region : bool
        One row per region (default) or one row ``"all"`` for the whole bank.

    Returns
    -------
    DataFrame
        One row per region (sorted by ``region_id``; ``region_id`` ``"all"`` for the bank):
        ``region_id, echelon, customers``, the KPI columns and the group sizes
        ``base_customers, quality_plus_customers, vip_plus_customers`` (for
        :func:`withheld_cells`). ``attrs["absent"]`` maps KPIs that cannot be computed at all to
        the reason.
    """
    _require(tiers_now, ["customer_id", "region_id", "tier", "n_products"], "region_scorecard")
    _require(region_month, ["month", "region_id", "echelon", "outlets"], "region_scorecard")
    _require(region_month, ["self_service_sites", "new_deposits"], "region_scorecard")
    by = "region_id" if by_region else None
    cust = customer_kpis(
        tiers_now,
        cm_base,
        None,
        by=by,
        coverage_products=coverage_products,
        wealth_card_product=wealth_card_product,
    )
    mgr = manager_kpis(tiers_now, managers, has_contacts, by=by)
    rm = region_month.loc[region_month["month"] == month]
    om = outlet_month.assign(_group=outlet_month["region_id"] if by_region else "all")
    rm = rm.assign(_group=rm["region_id"] if by_region else "all")
    totals = rm.groupby("_group", observed=True, sort=True).agg(
        outlets=("outlets", "sum"),
        self_service_sites=("self_service_sites", "sum"),
        new_deposits=("new_deposits", lambda s: s.sum(min_count=1)),
    )
    totals["self_service_per_outlet"] = totals["self_service_sites"] / totals["outlets"].where(
        (totals["outlets"] > 0) & has_devices
    )
    totals = _with_rates(totals, _channel_rates(om, month, "_group"))
    groups = sorted(set(totals.index) | set(cust.index))
    out = pd.DataFrame(index=pd.Index(groups, name="region_id"))
    if by_region:
        out["echelon"] = rm.groupby("region_id", observed=True)["echelon"].first().reindex(groups)
    else:
        out["echelon"] = np.nan
    out["customers"] = cust["customers"].reindex(groups).fillna(0).astype("int64")
    for kpi in SCORECARD_KPIS:
        source = cust if kpi in cust.columns else mgr if kpi in mgr.columns else totals
        out[kpi] = source[kpi].reindex(groups).astype("float64")
    out["base_customers"] = cust["base_customers"].reindex(groups)
    out["quality_plus_customers"] = cust["quality_plus_customers"].reindex(groups).fillna(0)
    out["vip_plus_customers"] = mgr["vip_plus_customers"].reindex(groups).fillna(0)
    absent = {**cust.attrs.get("absent", {}), **mgr.attrs.get("absent", {})}
    for kpi in ("accounting_replacement_rate", "outlet_replacement_rate"):
        if totals[kpi].isna().all():
            absent.setdefault(kpi, NO_CHANNEL_COUNTS)
    if not has_devices:
        absent["self_service_per_outlet"] = NO_DEVICES
    out = out.reset_index()
    out.attrs["absent"] = {k: v for k, v in absent.items() if k in SCORECARD_KPIS}
    return out


def withheld_cells(scorecard: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Which KPI figures of the scorecard the small-group rule withholds.

    A figure is withheld when the region holds 1 to ``min_group_size - 1`` customers, or when
    the group its KPI is about (:data:`KPI_GROUP`: base-month customers, quality-and-above or
    VIP-and-above customers) is that small.

    Returns
    -------
    DataFrame of bool
        Aligned with ``scorecard``, one column per KPI of :data:`SCORECARD_KPIS` present.
    """
    region_small = is_small(scorecard["customers"], min_group_size)
    out = pd.DataFrame(index=scorecard.index)
    for kpi in SCORECARD_KPIS:
        if kpi not in scorecard.columns:
            continue
        small = region_small.copy()
        group = KPI_GROUP.get(kpi)
        if group is not None:
            sizes = scorecard[group].astype("float64").fillna(0.0)
            small |= is_small(sizes, min_group_size)
        out[kpi] = small
    return out


def suppress_scorecard(scorecard: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """The scorecard with every withheld figure (:func:`withheld_cells`) set to NaN."""
    withheld = withheld_cells(scorecard, min_group_size)
    out = scorecard.copy()
    for kpi in withheld.columns:
        out[kpi] = out[kpi].mask(withheld[kpi])
    return out


def league_table(
    scorecard: pd.DataFrame,
    kpi_ids: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
    materiality: float = 0.0,
) -> pd.DataFrame:
    """Rank the regions within their echelon on every KPI and on a composite score.

    Each KPI is ranked by its direction in the KPI dictionary (higher or lower is better). The
    composite (``league_score``) is the weighted mean of the region's percentile rank (0..1,
    1 = best) within its echelon over the KPIs it has (NaN KPIs are left out). A region alone
    in its echelon is never ranked against itself: its KPI ranks and score are among all the
    bank's regions (``compared_with`` ``"bank"``) and its ``league_rank`` is NaN. Figures that
    differ by less than ``materiality`` (:mod:`bankanalysis.rules.materiality`) are ties: they
    share the better rank and the same percentile.

    Parameters
    ----------
    scorecard : DataFrame
        :func:`region_scorecard` output, withheld figures NaN (:func:`suppress_scorecard`).
    kpi_ids : sequence of str, optional
        KPI columns (default every :data:`SCORECARD_KPIS` column present).
    weights : dict, optional
        Weight per KPI (default 1 each).
    materiality : float
        Tie threshold (the ``materiality`` parameter); 0 ranks every difference.

    Returns
    -------
    DataFrame
        ``region_id, echelon, league_score, league_rank`` (1 = best within the echelon; scores
        within ``materiality`` of each other (absolute, the score being 0..1) share the best
        rank), ``compared_with`` (``"echelon"`` or ``"bank"``) and
        ``rank_<kpi>`` per KPI; sorted by echelon and rank.
    """
    ids = [k for k in (kpi_ids or SCORECARD_KPIS) if k in scorecard.columns]
    if not ids:
        raise OverviewError("league_table: none of the KPI columns is in the scorecard")
    sc = scorecard.set_index("region_id")
    lone = sc.groupby("echelon", observed=True)["echelon"].transform("size").eq(1)
    by = sc.groupby("echelon", observed=True, sort=True)
    pct = pd.DataFrame(index=sc.index)
    out = sc[["echelon"]].copy()
    for k in ids:
        higher = kpis.get(k).direction != "lower"
        tied = by[k].transform(lambda s, k=k, h=higher: material_values(s, k, materiality, h))
        g = tied.groupby(sc["echelon"], observed=True, sort=True)
        out[f"rank_{k}"] = g.rank(ascending=not higher, method="min")
        n = g.transform("count").astype("float64")
        r = g.rank(ascending=higher, method="average")
        pct[k] = np.where(n > 1, (r - 1) / (n - 1).where(n > 1), 1.0)
        pct.loc[sc[k].isna(), k] = np.nan
        if lone.any():  # a lone region's rank among every region of the bank
            tied_all = material_values(sc[k], k, materiality, higher)
            whole = tied_all.rank(ascending=not higher, method="min")
            out.loc[lone, f"rank_{k}"] = whole[lone]
            n_all = float(sc[k].count())
            r_all = tied_all.rank(ascending=higher, method="average")
            pct.loc[lone, k] = (r_all[lone] - 1) / (n_all - 1) if n_all > 1 else np.nan
            pct.loc[sc[k].isna(), k] = np.nan
    w = pd.Series({k: float((weights or {}).get(k, 1.0)) for k in ids})
    have = pct.notna().astype("float64") * w
    total = have.sum(axis=1)
    score = (pct.fillna(0.0) * w).sum(axis=1) / total.where(total > 0)
    out["league_score"] = score.round(12)  # equal scores tie despite float noise
    # the score is a share of the way from last (0) to first (1): ties within ``materiality``
    # share the better rank, by the same rule as the KPI ranks
    tied_score = out.groupby("echelon", observed=True)["league_score"].transform(
        lambda s: material_values(s, None, materiality, True)
    )
    out["league_rank"] = tied_score.groupby(out["echelon"], observed=True).rank(
        ascending=False, method="min"
    )
    out.loc[lone, "league_rank"] = np.nan  # first of one is no rank
    out["compared_with"] = np.where(lone, "bank", "echelon")
    out = out.reset_index().sort_values(["echelon", "league_rank", "region_id"], kind="stable")
    front = ["region_id", "echelon", "league_score", "league_rank"]
    return out[front + [c for c in out.columns if c not in front]].reset_index(drop=True)


def target_attainment(
    region_month: pd.DataFrame, targets: pd.DataFrame | None, month: str
) -> pd.DataFrame:
    """Region actuals against the plan's region-level targets at ``month``.

    Parameters
    ----------
    region_month : DataFrame
        Processed ``region_month``.
    targets : DataFrame or None
        Processed ``targets`` (``month, level, id, kpi, target``); ``None`` when absent.
    month : str
        Month.

    Returns
    -------
    DataFrame
        ``region_id, kpi, target, actual, attainment`` (actual / target; NaN for a target
        that is not positive) and ``met`` (actual at or above the target for a KPI where higher
        is better, at or below where lower is); empty when there are no targets for ``month``.
        Targets of KPIs that are not ``region_month`` columns and KPIs of the dictionary are
        left out.
    """
    cols = ["region_id", "kpi", "target", "actual", "attainment", "met"]
    if targets is None or targets.empty:
        return pd.DataFrame(columns=cols)
    known = [c for c in region_month.columns if kpis.is_kpi(c)]
    monthly = targets["period"].fillna("month").isin(["month", ""]) if "period" in targets else True
    t = targets.loc[
        (targets["month"] == month)
        & (targets["level"] == "region")
        & targets["kpi"].isin(known)
        & monthly
    ]
    if t.empty:
        return pd.DataFrame(columns=cols)
    rm = region_month.loc[region_month["month"] == month].set_index("region_id")
    actual = [
        float(rm.at[rid, kpi]) if rid in rm.index else np.nan
        for rid, kpi in zip(t["id"], t["kpi"], strict=True)
    ]
    out = pd.DataFrame(
        {
            "region_id": t["id"].to_numpy(),
            "kpi": t["kpi"].to_numpy(),
            "target": t["target"].to_numpy().astype("float64"),
            "actual": actual,
        }
    )
    out["attainment"] = out["actual"] / out["target"].where(out["target"] > 0)
    lower = out["kpi"].map(lambda k: kpis.get(k).direction == "lower").astype(bool)
    out["met"] = np.where(lower, out["actual"] <= out["target"], out["actual"] >= out["target"])
    return out.sort_values(["region_id", "kpi"]).reset_index(drop=True)
