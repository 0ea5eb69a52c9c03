"""Report shaping of the bank overview (notebook 00): labelled tables, chart grids, metrics.

Takes the outputs of :mod:`bankanalysis.overview` (pure analytics) and returns what the
notebook shows: tables indexed by names with KPI labels, small groups withheld, the grids the
heat maps draw and the ``metrics.json`` values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from bankanalysis.exceptions import OverviewError
from bankanalysis.overview import SCORECARD_KPIS

__all__ = [
    "ECHELON_TABLE_COLUMNS",
    "SCORECARD_SHARES",
    "attainment_grid",
    "attainment_metrics",
    "bank_totals",
    "echelon_metrics",
    "echelon_table",
    "league_metrics",
    "league_ranks",
    "scorecard_metrics",
    "scorecard_shares",
    "scorecard_table",
    "suppress_scorecard",
    "with_echelon_names",
    "with_region_names",
]

logger = logging.getLogger(__name__)

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


def with_echelon_names(echelons: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """Insert the ``echelon_name`` of each echelon (from ``regions``) as second column.

    Parameters
    ----------
    echelons : DataFrame
        :func:`bankanalysis.overview.echelon_comparison` output.
    regions : DataFrame
        Processed ``regions`` (``echelon, echelon_name``).

    Returns
    -------
    DataFrame
        A copy with ``echelon_name`` after ``echelon``.
    """
    if "echelon_name" not in regions.columns:
        raise OverviewError("with_echelon_names: the regions table has no echelon_name column")
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
    """Customers and AUM of the whole bank at the last month of :func:`bankanalysis.overview.monthly_trends`.

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
        :func:`bankanalysis.overview.region_scorecard` output (suppressed or not).
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
        :func:`bankanalysis.overview.league_table` output passed through :func:`with_region_names`.
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
    """Attainment as a region name x KPI grid (from :func:`bankanalysis.overview.target_attainment`)."""
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
