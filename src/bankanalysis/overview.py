"""Whole-bank overview: echelon comparison, region scorecard, league tables, trends, targets.

Pure functions (DataFrame in, DataFrame out) behind ``notebooks/00_bank_overview.ipynb``:
the bank's "notification and assessment" of its secondary branches. Inputs are the
processed ``region_month`` and ``customer_month`` tables (docs/processed_data.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bankanalysis.exceptions import OverviewError
from bankanalysis.rules.months import month_window, shift_month
from bankanalysis.rules.tiers import customer_tiers

__all__ = [
    "ECHELON_TABLE_COLUMNS",
    "SCORECARD_KPIS",
    "SCORECARD_SHARES",
    "attainment_grid",
    "attainment_metrics",
    "bank_totals",
    "base_month",
    "echelon_comparison",
    "echelon_metrics",
    "echelon_table",
    "league_metrics",
    "league_ranks",
    "league_table",
    "monthly_trends",
    "overview_months",
    "region_scorecard",
    "scorecard_columns",
    "scorecard_metrics",
    "scorecard_shares",
    "scorecard_table",
    "suppress_scorecard",
    "target_attainment",
    "with_echelon_names",
    "with_region_names",
]

logger = logging.getLogger(__name__)

#: Scorecard KPIs of the plan: column -> (label, unit). Higher is better for all of them.
SCORECARD_KPIS: dict[str, tuple[str, str]] = {
    "customer_growth": ("customer growth", "share"),
    "product_coverage": ("product coverage", "share of customers"),
    "wealth_card_matching": ("wealth-card matching", "share of quality+VIP"),
    "stock_retention": ("stock retention", "share of base-month customers"),
    "vip_service": ("VIP service", "share of VIP+ contacted in 3 months"),
    "contact_plan_coverage": ("contact-plan coverage", "share of quality+ with a manager"),
    "self_service_ratio": ("self-service ratio", "sites per outlet"),
    "e_channel_share": ("e-channel replacement", "share of transactions"),
    "new_deposits": ("new deposits", "currency"),
}


def _require(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise OverviewError(
            f"{what}: missing column(s) {', '.join(missing)}; pass the processed table "
            "from bankanalysis.data.load (see docs/processed_data.md)"
        )


def base_month(months: Sequence[str], month: str, lookback: int = 12) -> str:
    """Return the comparison month ``lookback`` months before ``month``, or the first month.

    Examples
    --------
    >>> base_month(["2024-01", "2024-02", "2024-03"], "2024-03", 12)
    '2024-01'
    >>> base_month([f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01"], "2025-01", 12)
    '2024-01'
    """
    months = sorted(months)
    if month not in months:
        raise OverviewError(f"month {month!r} is not in the data ({months[0]}..{months[-1]})")
    wanted = shift_month(month, -lookback)
    return wanted if wanted in months else months[0]


def overview_months(
    months: Sequence[str], month: str, tier_months: int, lookback: int = 12
) -> list[str]:
    """Months of ``customer_month`` the scorecard needs: the tier window and the base month."""
    window = [m for m in month_window(month, tier_months) if m in set(months)]
    return sorted({*window, base_month(months, month, lookback)})


def echelon_comparison(region_month: pd.DataFrame, month: str) -> pd.DataFrame:
    """Compare the echelons at one month.

    Parameters
    ----------
    region_month : DataFrame
        Processed ``region_month``.
    month : str
        Month ``YYYY-MM``.

    Returns
    -------
    DataFrame
        One row per echelon: ``regions, outlets, customers, aum, aum_per_customer,
        deposit_balance, new_deposits, fee_income, sales_total, products_per_customer``
        (customer-weighted), ``e_channel_share`` (transaction-weighted) and
        ``self_service_ratio`` (self-service sites per outlet).
    """
    cols = ["month", "region_id", "echelon", "outlets", "customers", "aum", "deposit_balance"]
    cols += ["new_deposits", "fee_income", "sales_total", "products_per_customer", "txn_n"]
    cols += ["e_channel_share", "self_service_sites"]
    _require(region_month, cols, "echelon_comparison")
    rm = region_month.loc[region_month["month"] == month].copy()
    rm["_products"] = rm["products_per_customer"] * rm["customers"]
    rm["_e_txn"] = rm["e_channel_share"] * rm["txn_n"]
    g = rm.groupby("echelon", observed=True, sort=True)
    out = g.agg(
        regions=("region_id", "nunique"),
        outlets=("outlets", "sum"),
        customers=("customers", "sum"),
        aum=("aum", "sum"),
        deposit_balance=("deposit_balance", "sum"),
        new_deposits=("new_deposits", "sum"),
        fee_income=("fee_income", "sum"),
        sales_total=("sales_total", "sum"),
        _products=("_products", "sum"),
        txn_n=("txn_n", "sum"),
        _e_txn=("_e_txn", "sum"),
        self_service_sites=("self_service_sites", "sum"),
    )
    out["aum_per_customer"] = out["aum"] / out["customers"].where(out["customers"] > 0)
    out["products_per_customer"] = out["_products"] / out["customers"].where(out["customers"] > 0)
    out["e_channel_share"] = out["_e_txn"] / out["txn_n"].where(out["txn_n"] > 0)
    out["self_service_ratio"] = out["self_service_sites"] / out["outlets"].where(out["outlets"] > 0)
    return out.drop(columns=["_products", "_e_txn"]).reset_index()


def monthly_trends(region_month: pd.DataFrame) -> pd.DataFrame:
    """Monthly totals per echelon: customers, AUM, new deposits, fee income, e-channel share.

    Returns
    -------
    DataFrame
        One row per (``month``, ``echelon``), sorted.
    """
    _require(
        region_month,
        ["month", "echelon", "customers", "aum", "new_deposits", "fee_income", "txn_n"],
        "monthly_trends",
    )
    rm = region_month.assign(_e_txn=region_month["e_channel_share"] * region_month["txn_n"])
    out = (
        rm.groupby(["month", "echelon"], observed=True, sort=True)[
            ["customers", "aum", "new_deposits", "fee_income", "txn_n", "_e_txn"]
        ]
        .sum(min_count=1)  # new deposits of the first month stay NaN, not 0
        .reset_index()
    )
    out["e_channel_share"] = out["_e_txn"] / out["txn_n"].where(out["txn_n"] > 0)
    return out.drop(columns=["_e_txn"])


def _rate(num: pd.Series, den: pd.Series, min_group_size: int) -> pd.Series:
    """``num / den``, NaN where the denominator is below ``min_group_size`` (suppressed)."""
    den = den.astype("float64")
    return (num.astype("float64") / den).where(den >= min_group_size)


def region_scorecard(
    customer_month: pd.DataFrame,
    region_month: pd.DataFrame,
    month: str,
    *,
    thresholds: Sequence[float],
    tier_months: int = 3,
    lookback: int = 12,
    coverage_products: int = 3,
    wealth_card_product: str = "wealth_card",
    min_group_size: int = 10,
) -> pd.DataFrame:
    """The plan's KPIs per region at ``month`` (see :data:`SCORECARD_KPIS`).

    Definitions (``base`` = :func:`base_month`, ``lookback`` months earlier or the first month):

    - ``customer_growth``: customers at ``month`` / customers at ``base`` - 1.
    - ``product_coverage``: share of customers holding at least ``coverage_products`` products.
    - ``wealth_card_matching``: share of quality and VIP customers holding the wealth card.
    - ``stock_retention``: share of the region's customers at ``base`` still active at ``month``.
    - ``vip_service``: share of VIP and private-banking customers with contact minutes in the
      last three months.
    - ``contact_plan_coverage``: share of quality-and-above customers with an account manager.
    - ``self_service_ratio``, ``e_channel_share``, ``new_deposits``: from ``region_month``.

    Rates whose denominator is below ``min_group_size`` are NaN (suppressed).

    Parameters
    ----------
    customer_month : DataFrame
        Processed ``customer_month`` rows for at least :func:`overview_months`.
    region_month : DataFrame
        Processed ``region_month``.
    month : str
        Analysis month.
    thresholds : sequence of float
        Tier lower bounds (quality, VIP, private banking).
    tier_months, lookback, coverage_products, wealth_card_product, min_group_size
        See the definitions above.

    Returns
    -------
    DataFrame
        One row per region (sorted by ``region_id``): ``region_id, echelon, customers`` and
        the KPI columns.
    """
    cm = customer_month
    _require(cm, ["month", "customer_id", "region_id", "aum", "n_products"], "region_scorecard")
    _require(cm, ["manager_id", "contact_minutes_3m"], "region_scorecard")
    hold = f"hold_{wealth_card_product}"
    if hold not in cm.columns:
        raise OverviewError(
            f"product {wealth_card_product!r} is not in the catalogue (no column {hold}); set "
            "wealth_card_product to a product id of products.csv"
        )
    months = sorted(region_month["month"].unique().tolist())
    base = base_month(months, month, lookback)
    rm = region_month.set_index(["month", "region_id"]).sort_index()
    now_rm = rm.xs(month, level="month")
    base_rm = rm.xs(base, level="month")

    tiers = customer_tiers(cm, month, thresholds, tier_months)
    quality_plus = tiers["tier"].astype(str) != "mass"
    vip_plus = tiers["tier"].astype(str).isin(["vip", "private_banking"])
    tiers = tiers.assign(
        covered=(tiers["n_products"] >= coverage_products).astype("float64"),
        qv=tiers["tier"].astype(str).isin(["quality", "vip"]).astype("float64"),
        qv_card=(tiers["tier"].astype(str).isin(["quality", "vip"]) & (tiers[hold] > 0)).astype(
            "float64"
        ),
        vip=vip_plus.astype("float64"),
        vip_contacted=(vip_plus & (tiers["contact_minutes_3m"] > 0)).astype("float64"),
        qplus=quality_plus.astype("float64"),
        qplus_managed=(quality_plus & tiers["manager_id"].notna()).astype("float64"),
        one=1.0,
    )
    g = tiers.groupby("region_id", observed=True, sort=True)[
        ["one", "covered", "qv", "qv_card", "vip", "vip_contacted", "qplus", "qplus_managed"]
    ].sum()

    before = cm.loc[cm["month"] == base, ["customer_id", "region_id"]]
    active_now = set(cm.loc[cm["month"] == month, "customer_id"])
    kept = before.assign(kept=before["customer_id"].isin(active_now).astype("float64"))
    ret = kept.groupby("region_id", observed=True, sort=True)["kept"].agg(["sum", "size"])

    regions = sorted(now_rm.index)
    out = pd.DataFrame(index=pd.Index(regions, name="region_id"))
    out["echelon"] = now_rm["echelon"].reindex(regions).to_numpy()
    out["customers"] = now_rm["customers"].reindex(regions).to_numpy()
    base_customers = base_rm["customers"].reindex(regions)
    out["customer_growth"] = np.where(
        base_customers.to_numpy() >= min_group_size,
        out["customers"].to_numpy() / base_customers.to_numpy() - 1.0,
        np.nan,
    )
    g = g.reindex(regions).fillna(0.0)
    ret = ret.reindex(regions).fillna(0.0)
    out["product_coverage"] = _rate(g["covered"], g["one"], min_group_size)
    out["wealth_card_matching"] = _rate(g["qv_card"], g["qv"], min_group_size)
    out["stock_retention"] = _rate(ret["sum"], ret["size"], min_group_size)
    out["vip_service"] = _rate(g["vip_contacted"], g["vip"], min_group_size)
    out["contact_plan_coverage"] = _rate(g["qplus_managed"], g["qplus"], min_group_size)
    for col in ("self_service_ratio", "e_channel_share", "new_deposits"):
        out[col] = now_rm[col].reindex(regions).to_numpy().astype("float64")
    out.attrs["base_month"] = base
    return out.reset_index()


def league_table(
    scorecard: pd.DataFrame,
    kpis: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Rank the regions within their echelon on every KPI and on a composite score.

    The composite is the weighted mean of the region's percentile rank (0..1, 1 = best)
    within its echelon over the KPIs it has (NaN KPIs are left out).

    Parameters
    ----------
    scorecard : DataFrame
        :func:`region_scorecard` output.
    kpis : sequence of str, optional
        KPI columns (default every :data:`SCORECARD_KPIS` column present).
    weights : dict, optional
        Weight per KPI (default 1 each).

    Returns
    -------
    DataFrame
        ``region_id, echelon, score, rank`` (1 = best within the echelon, ties share the
        best rank) and ``rank_<kpi>`` per KPI; sorted by echelon and rank.
    """
    kpis = [k for k in (kpis or SCORECARD_KPIS) if k in scorecard.columns]
    if not kpis:
        raise OverviewError("league_table: none of the KPI columns is in the scorecard")
    sc = scorecard.set_index("region_id")
    by = sc.groupby("echelon", observed=True, sort=True)
    pct = pd.DataFrame(index=sc.index)
    out = sc[["echelon"]].copy()
    for k in kpis:
        out[f"rank_{k}"] = by[k].rank(ascending=False, method="min")
        n = by[k].transform("count").astype("float64")
        r = by[k].rank(ascending=True, method="average")
        pct[k] = np.where(n > 1, (r - 1) / (n - 1).where(n > 1), 1.0)
        pct.loc[sc[k].isna(), k] = np.nan
    w = pd.Series({k: float((weights or {}).get(k, 1.0)) for k in kpis})
    have = pct.notna().astype("float64") * w
    out["score"] = (pct.fillna(0.0) * w).sum(axis=1) / have.sum(axis=1).where(have.sum(axis=1) > 0)
    out["score"] = out["score"].round(12)  # equal scores tie despite float noise
    out["rank"] = out.groupby("echelon", observed=True)["score"].rank(ascending=False, method="min")
    out = out.reset_index().sort_values(["echelon", "rank", "region_id"], kind="stable")
    front = ["region_id", "echelon", "score", "rank"]
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
        that is not positive) and ``met``; empty when there are no targets for ``month``.
        KPIs that are not ``region_month`` columns are left out.
    """
    cols = ["region_id", "kpi", "target", "actual", "attainment", "met"]
    if targets is None or targets.empty:
        return pd.DataFrame(columns=cols)
    t = targets.loc[
        (targets["month"] == month)
        & (targets["level"] == "region")
        & targets["kpi"].isin(list(region_month.columns))
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
    out["met"] = out["actual"] >= out["target"]
    return out.sort_values(["region_id", "kpi"]).reset_index(drop=True)


# --------------------------------------------------------------------------- report helpers

#: Scorecard KPIs that are shares (0..1), shown in the heat map of the overview report.
SCORECARD_SHARES: tuple[str, ...] = (
    "product_coverage",
    "wealth_card_matching",
    "stock_retention",
    "vip_service",
    "contact_plan_coverage",
    "e_channel_share",
)

#: Columns of the echelon table shown in the overview report.
ECHELON_TABLE_COLUMNS: tuple[str, ...] = (
    "echelon_name",
    "regions",
    "outlets",
    "customers",
    "aum_per_customer",
    "products_per_customer",
    "e_channel_share",
    "self_service_ratio",
)


def scorecard_columns(wealth_card_product: str) -> list[str]:
    """``customer_month`` columns that :func:`region_scorecard` reads.

    Examples
    --------
    >>> scorecard_columns("wealth_card")[-1]
    'hold_wealth_card'
    """
    return [
        "month",
        "customer_id",
        "region_id",
        "aum",
        "n_products",
        "manager_id",
        "contact_minutes_3m",
        f"hold_{wealth_card_product}",
    ]


def with_echelon_names(echelons: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """Insert the ``echelon_name`` of each echelon (from ``regions``) as second column.

    Parameters
    ----------
    echelons : DataFrame
        :func:`echelon_comparison` output.
    regions : DataFrame
        Processed ``regions`` (``echelon, echelon_name``).

    Returns
    -------
    DataFrame
        A copy with ``echelon_name`` after ``echelon``.
    """
    _require(regions, ["echelon", "echelon_name"], "with_echelon_names")
    lookup = regions.drop_duplicates("echelon").set_index("echelon")["echelon_name"]
    out = echelons.copy()
    out.insert(1, "echelon_name", out["echelon"].map(lookup))
    return out


def echelon_table(echelons: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """The echelon comparison as the report shows it, small echelons suppressed.

    Parameters
    ----------
    echelons : DataFrame
        :func:`with_echelon_names` output.
    min_group_size : int
        Echelons with fewer customers lose their per-customer figures.

    Returns
    -------
    DataFrame
        Indexed by ``echelon``, columns :data:`ECHELON_TABLE_COLUMNS`.
    """
    from bankanalysis.privacy import suppress_small_groups

    shown = suppress_small_groups(
        echelons,
        "customers",
        min_group_size,
        value_cols=["aum_per_customer", "products_per_customer"],
    )
    return shown.set_index("echelon")[list(ECHELON_TABLE_COLUMNS)]


def echelon_metrics(echelons: pd.DataFrame) -> dict[str, float | int]:
    """``echelon.<e>.customers``, ``.aum_per_customer`` and ``.e_channel_share`` per echelon."""
    out: dict[str, float | int] = {}
    for row in echelons.itertuples(index=False):
        e = int(row.echelon)
        out[f"echelon.{e}.customers"] = int(row.customers)
        out[f"echelon.{e}.aum_per_customer"] = float(row.aum_per_customer)
        out[f"echelon.{e}.e_channel_share"] = float(row.e_channel_share)
    return out


def bank_totals(trends: pd.DataFrame, n_regions: int) -> dict[str, float | int]:
    """Customers and AUM of the whole bank at the last month of :func:`monthly_trends`.

    Returns
    -------
    dict
        ``bank.customers``, ``bank.aum`` and ``bank.regions`` (= ``n_regions``).
    """
    total = trends.groupby("month", sort=True)[["customers", "aum"]].sum()
    return {
        "bank.customers": int(total["customers"].iloc[-1]),
        "bank.aum": float(total["aum"].iloc[-1]),
        "bank.regions": int(n_regions),
    }


def suppress_scorecard(scorecard: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Blank every KPI of a region with fewer than ``min_group_size`` customers."""
    from bankanalysis.privacy import suppress_small_groups

    kpis = [k for k in SCORECARD_KPIS if k in scorecard.columns]
    shown = suppress_small_groups(scorecard, "customers", min_group_size, value_cols=kpis)
    return shown.drop(columns="suppressed")


def scorecard_table(scorecard: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """The scorecard indexed by region name, KPI columns under their labels.

    Parameters
    ----------
    scorecard : DataFrame
        :func:`region_scorecard` output (suppressed or not).
    names : mapping
        ``region_id`` -> region name.
    """
    table = scorecard.assign(region=scorecard["region_id"].map(names)).set_index("region")
    return table.drop(columns="region_id").rename(
        columns={k: v[0] for k, v in SCORECARD_KPIS.items()}
    )


def scorecard_shares(scorecard: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """The share KPIs (:data:`SCORECARD_SHARES`) by region name, columns under their labels."""
    heat = scorecard.set_index(scorecard["region_id"].map(names))[list(SCORECARD_SHARES)]
    heat.columns = [SCORECARD_KPIS[c][0] for c in SCORECARD_SHARES]
    return heat


def scorecard_metrics(scorecard: pd.DataFrame) -> dict[str, float | None]:
    """``scorecard.<kpi>.median/min/max`` over the regions; ``None`` when all are blank."""
    out: dict[str, float | None] = {}
    for kpi in SCORECARD_KPIS:
        col = scorecard[kpi].dropna()
        out[f"scorecard.{kpi}.median"] = float(col.median()) if len(col) else None
        out[f"scorecard.{kpi}.min"] = float(col.min()) if len(col) else None
        out[f"scorecard.{kpi}.max"] = float(col.max()) if len(col) else None
    return out


def with_region_names(df: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """Insert a ``region`` name column after ``region_id``."""
    out = df.copy()
    out.insert(1, "region", out["region_id"].map(names))
    return out


def league_ranks(league: pd.DataFrame) -> pd.DataFrame:
    """The league table by region name with the rank columns under the KPI labels.

    Parameters
    ----------
    league : DataFrame
        :func:`league_table` output passed through :func:`with_region_names`.
    """
    ranks = league.set_index("region").drop(columns="region_id")
    return ranks.rename(columns={f"rank_{k}": v[0] for k, v in SCORECARD_KPIS.items()})


def league_metrics(league: pd.DataFrame) -> dict[str, float | int]:
    """``league.regions_ranked`` (regions with a score) and ``league.score.spread``."""
    return {
        "league.regions_ranked": int(league["score"].notna().sum()),
        "league.score.spread": float(league["score"].max() - league["score"].min()),
    }


def attainment_grid(attain: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """Attainment as a region name x KPI grid (from :func:`target_attainment`)."""
    grid = attain.pivot(index="region_id", columns="kpi", values="attainment")
    grid.index = grid.index.map(names)
    return grid


def attainment_metrics(attain: pd.DataFrame) -> dict[str, float | int]:
    """``targets.region_kpis``, ``targets.share_met`` and ``targets.<kpi>.regions_below``.

    With no targets only ``targets.region_kpis`` (= 0) is returned.
    """
    out: dict[str, float | int] = {"targets.region_kpis": int(len(attain))}
    if attain.empty:
        return out
    out["targets.share_met"] = float(attain["met"].mean())
    for kpi, grp in attain.groupby("kpi", sort=True):
        out[f"targets.{kpi}.regions_below"] = int((~grp["met"].astype(bool)).sum())
    return out
