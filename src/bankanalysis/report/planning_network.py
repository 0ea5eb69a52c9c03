"""Plan sections on the network: echelon shares and gaps, and the path to the self-service
target (the ``echelons`` and ``self-service-path`` sections of 00 and 03)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis import planning as pl
from bankanalysis.planning.periods import BANK_ID
from bankanalysis.report.format import (
    Absent,
    Suppressed,
    format_change,
    format_value,
    is_missing,
    kpi_label,
)
from bankanalysis.report.planning_scope import PlanScope, Section, figure
from bankanalysis.report.tables import KpiTable
from bankanalysis.rules import kpis as kpi_dict
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.kpis import metric_key
from bankanalysis.rules.months import shift_month

__all__ = ["echelons_section", "gap_trend_table", "self_service_section"]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- echelons


def echelons_section(region_month: pd.DataFrame, scope: PlanScope) -> Section:
    """Each echelon's share of deposits, fee income and customers, and the gap to the echelon
    above (average per region) in the data month and a year before."""
    sec = Section("echelons")
    rm = region_month.loc[region_month["month"] <= scope.month]
    con = pl.echelon_contributions(rm)
    gaps = pl.echelon_gaps(rm)
    now = con.loc[con["month"] == scope.month]
    k = scope.min_group_size
    cust = now.loc[now["kpi"] == "customers"].set_index("echelon")["value"]
    small = {e: bool(is_small(c, k)) for e, c in cust.items()}
    rows = []
    for e, grp in now.groupby("echelon", sort=True):
        row = {"Echelon": f"Echelon {e}"}
        for r in grp.itertuples(index=False):
            value = Suppressed(k) if small.get(e) else r.share
            row[f"Share of {kpi_dict.get(r.kpi).name.lower()}"] = format_value(
                "echelon_contribution_share", value, unit=False
            )
            if scope.region_id is None:
                sec.metrics[metric_key("echelon_contribution_share", echelon=e, kpi=r.kpi)] = (
                    value if small.get(e) else figure(r.share, "the bank's total is 0")
                )
        rows.append(row)
    sec.parts.append(
        KpiTable(pd.DataFrame(rows), caption=f"Echelons' shares of the bank, {scope.month}")
    )
    year_ago = shift_month(scope.month, -12)
    no_value = "no value for the month"
    no_ratio = "the echelon above has no positive figure"
    grows = []
    for r in gaps.loc[gaps["month"].isin([scope.month, year_ago])].itertuples(index=False):
        grows.append(
            {
                "Month": r.month,
                "KPI": kpi_label(r.kpi, scope.currency),
                "Echelon": f"{r.echelon} against {r.compared_with}",
                "Per region": format_value(r.kpi, figure(r.per_region, no_value), scope.currency),
                "Echelon above, per region": format_value(
                    r.kpi, figure(r.compared_per_region, no_value), scope.currency
                ),
                "Gap": format_change(r.kpi, figure(r.gap, no_value), scope.currency),
                kpi_label("echelon_gap_ratio"): format_value(
                    "echelon_gap_ratio",
                    figure(r.ratio, no_value if is_missing(r.gap) else no_ratio),
                    unit=False,
                ),
            }
        )
        if r.month == scope.month and scope.region_id is None:
            sec.metrics[metric_key("echelon_gap_ratio", echelon=r.echelon, kpi=r.kpi)] = figure(
                r.ratio, "the echelon above has no positive figure"
            )
    if grows:
        note = (
            "Gap = the echelon's average per region minus the echelon above's (negative = behind)."
        )
        if year_ago not in set(gaps["month"]):
            note += f" The data start after {year_ago}, so the gap a year ago cannot be shown."
        sec.parts.append(KpiTable(pd.DataFrame(grows), note=note))
        sec.parts.append(gap_trend_table(gaps, scope))
    else:
        sec.parts.append("The bank has regions in one echelon only: there is no gap to show.")
    if scope.region_id is not None and scope.echelon is not None:
        sec.parts.append(_region_against_echelons(rm, scope))
    return sec


def gap_trend_table(gaps: pd.DataFrame, scope: PlanScope, n_months: int = 12) -> KpiTable:
    """Each echelon against the one above (average per region, as a ratio) month by month,
    the last ``n_months`` months: is the gap shortening?"""
    months = sorted(gaps["month"].unique())[-n_months:]
    rows = []
    for (kpi, ech, above), grp in gaps.groupby(["kpi", "echelon", "compared_with"], sort=True):
        g = grp.set_index("month")
        row = {"KPI": kpi_label(kpi, scope.currency), "Echelon": f"{ech} against {above}"}
        for m in months:
            value = g["ratio"].get(m, np.nan)
            reason = (
                "no value for the month"
                if m not in g.index or is_missing(g.at[m, "gap"])
                else "the echelon above has no positive figure"
            )
            row[m] = format_value("echelon_gap_ratio", figure(value, reason), unit=False)
        rows.append(row)
    return KpiTable(
        pd.DataFrame(rows),
        caption=f"{kpi_label('echelon_gap_ratio')}, month by month (1 = no gap)",
    )


def _region_against_echelons(rm: pd.DataFrame, scope: PlanScope) -> str:
    now = rm.loc[rm["month"] == scope.month]
    mine = now.loc[now["region_id"] == scope.region_id]
    if mine.empty:
        return f"{scope.label('region', scope.region_id or '')} has no figures for {scope.month}."
    first = now.loc[now["echelon"] == 1]
    parts = []
    for kpi in ("new_deposits", "fee_income"):
        own = float(mine[kpi].iloc[0])
        avg = float(first[kpi].sum() / first["region_id"].nunique()) if len(first) else np.nan
        parts.append(
            f"{kpi_dict.get(kpi).name.lower()} {format_value(kpi, own, scope.currency)} against "
            f"{format_value(kpi, avg, scope.currency)} per first-echelon region"
        )
    return (
        f"{scope.label('region', scope.region_id or '')} in {scope.month}: "
        + "; ".join(parts)
        + "."
    )


# --------------------------------------------------------------------------- self-service path


def self_service_section(
    region_month: pd.DataFrame,
    devices: pd.DataFrame | None,
    outlet_kpis: pd.DataFrame,
    scope: PlanScope,
    *,
    target: float = 3.0,
    plan_date: str,
    has_devices: bool = True,
) -> Section:
    """Self-service banks per outlet now and over time, the sites and installs per year needed
    by the plan date against the recent pace, and the device operating rate trend."""
    sec = Section("self-service-path")
    rm = region_month.loc[region_month["month"] <= scope.month]
    trend = pl.self_service_trend(rm, target, has_devices)
    path = pl.self_service_path(
        trend, devices if has_devices else None, scope.month, plan_date, target
    )
    if scope.region_id is not None:
        path = path.loc[path["region_id"].isin([scope.region_id, BANK_ID])]
    reason = path["reason"].iloc[0] if len(path) else "no regions"
    every = trend.loc[(trend["month"] == scope.month) & (trend["region_id"] != BANK_ID)]
    at_target = int((every["sites_missing"] == 0).sum())
    n_regions = int(
        trend.loc[
            (trend["month"] == scope.month) & (trend["region_id"] != BANK_ID), "region_id"
        ].nunique()
    )
    bank = path.loc[path["region_id"] == BANK_ID].iloc[0]
    if not has_devices:
        sec.parts.append(
            "This extract has no device data, so the path to the self-service target cannot be shown."
        )
    else:
        sec.parts.append(_path_sentence(path, bank, scope, target, plan_date, at_target, n_regions))
    rows = []
    for r in path.itertuples(index=False):
        level = "bank" if r.region_id == BANK_ID else "region"
        why = Absent(reason) if reason else None
        rows.append(
            {
                "Scope": scope.label(level, r.region_id),
                kpi_label("self_service_per_outlet"): format_value(
                    "self_service_per_outlet", why or r.self_service_per_outlet
                ),
                kpi_label("self_service_sites_missing"): format_value(
                    "self_service_sites_missing", why or r.sites_missing
                ),
                kpi_label("self_service_installs_needed"): format_value(
                    "self_service_installs_needed", why or r.installs_needed_per_year
                ),
                kpi_label("self_service_install_pace"): format_value(
                    "self_service_install_pace", why or r.install_pace
                ),
                "On pace": "–" if r.on_pace is None or reason else ("yes" if r.on_pace else "no"),
                f"Per outlet by {plan_date} at this pace": format_value(
                    "self_service_per_outlet", why or r.projected_per_outlet
                ),
            }
        )
        for kpi, value in (
            ("self_service_installs_needed", r.installs_needed_per_year),
            ("self_service_install_pace", r.install_pace),
        ):
            key = scope.key(kpi, level, r.region_id)
            if key is not None:
                sec.metrics[key] = (
                    Absent(reason) if reason else figure(value, "no device installation dates")
                )
    if scope.region_id is None:
        sec.metrics["regions_at_self_service_target"] = (
            Absent(reason) if not has_devices else at_target
        )
        sec.metrics["self_service_sites_missing"] = (
            Absent(reason) if not has_devices else float(bank.sites_missing)
        )
    note = (
        "Sites needed per year = sites short / years to the plan date; the bank's shortfall is the "
        "sum of its regions' (a region above target does not lend sites to another). Recent pace "
        "= new sites (first device installed) in the last 12 months."
    )
    sec.parts.append(KpiTable(pd.DataFrame(rows), note=note))
    if has_devices:
        shown = (
            trend
            if scope.region_id is None
            else trend.loc[trend["region_id"].isin([scope.region_id, BANK_ID])]
        )
        sec.parts.append(_ratio_trend_table(shown, scope))
        rates = _operating_trend(outlet_kpis, scope)
        sec.parts.append(rates)
    return sec


def _path_sentence(
    path: pd.DataFrame,
    bank: Any,
    scope: PlanScope,
    target: float,
    plan_date: str,
    at_target: int,
    n_regions: int,
) -> str:
    """The self-service path in words: the region's (region report), then the bank's."""
    fv = format_value
    text = ""
    if scope.region_id is not None:
        me = path.loc[path["region_id"] == scope.region_id]
        if len(me):
            r = me.iloc[0]
            text = (
                f"{scope.label('region', scope.region_id)}: "
                f"{fv('self_service_per_outlet', r.self_service_per_outlet)} self-service banks per "
                "outlet, "
                + (
                    "at the target. "
                    if r.at_target
                    else f"{fv('self_service_sites_missing', r.sites_missing)} sites short, "
                    f"{fv('self_service_installs_needed', r.installs_needed_per_year)} a year to "
                    f"add by {plan_date} against {fv('self_service_install_pace', r.install_pace)} "
                    "a year recently. "
                )
            )
    return text + (
        f"Bank-wide {fv('self_service_per_outlet', bank.self_service_per_outlet)} per outlet in "
        f"{scope.month} (target {target:g}); {at_target} of {n_regions} regions at the target; "
        f"{fv('self_service_sites_missing', bank.sites_missing)} sites short in the regions below "
        f"it, {fv('self_service_installs_needed', bank.installs_needed_per_year)} a year to add "
        f"by {plan_date} against {fv('self_service_install_pace', bank.install_pace)} a year "
        "recently."
    )


def _ratio_trend_table(trend: pd.DataFrame, scope: PlanScope, n_months: int = 12) -> KpiTable:
    months = sorted(trend["month"].unique())[-n_months:]
    wide = trend.loc[trend["month"].isin(months)].pivot(
        index="region_id", columns="month", values="self_service_per_outlet"
    )
    rows = []
    for rid, vals in wide.iterrows():
        level = "bank" if rid == BANK_ID else "region"
        row = {"Scope": scope.label(level, str(rid))}
        row.update(
            {
                m: format_value("self_service_per_outlet", figure(vals[m], "no open outlet"))
                for m in months
            }
        )
        rows.append(row)
    rows.sort(key=lambda r: r["Scope"] != "The bank")
    return KpiTable(
        pd.DataFrame(rows), caption=kpi_label("self_service_per_outlet") + ", month by month"
    )


def _operating_trend(outlet_kpis: pd.DataFrame, scope: PlanScope, n_months: int = 12) -> KpiTable:
    k = outlet_kpis.loc[outlet_kpis["month"] <= scope.month]
    parts = [pl.operating_rate_trend(k, "bank")]
    if scope.region_id is None:
        parts.append(pl.operating_rate_trend(k, "region"))
    else:
        parts.append(pl.operating_rate_trend(k.loc[k["region_id"] == scope.region_id], "region"))
    t = pd.concat(parts, ignore_index=True)
    months = sorted(t["month"].unique())[-n_months:]
    rows = []
    for (level, gid), grp in scope.shown(t.loc[t["month"].isin(months)]).groupby(
        ["level", "id"], sort=False
    ):
        g = grp.set_index("month")["device_operating_rate"]
        row = {"Scope": scope.label(level, gid)}
        row.update(
            {
                m: format_value(
                    "device_operating_rate", figure(g.get(m, np.nan), "no device hours")
                )
                for m in months
            }
        )
        rows.append(row)
    return KpiTable(
        pd.DataFrame(rows), caption=kpi_label("device_operating_rate") + ", month by month"
    )
