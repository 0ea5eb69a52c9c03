"""Plan sections on the network: echelon shares and gaps, and the path to the self-service
target (the ``echelons`` and ``self-service-path`` sections of 00 and 03)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis import planning as pl
from bankanalysis.planning.echelons import GAP_KPIS
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

__all__ = [
    "echelons_section",
    "gap_trend_table",
    "plot_plan_trend",
    "self_service_section",
    "trend_alt",
    "trend_lines",
]

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
    rm_now = rm.loc[rm["month"] == scope.month]
    sizes = rm_now["customers"] if "customers" in rm_now.columns else pd.Series(dtype=float)
    small_regions = {
        str(r): bool(is_small(c, k)) for r, c in zip(rm_now["region_id"], sizes, strict=False)
    }
    first = pl.first_echelon_ratios(rm_now)
    ratios: dict[tuple[str, str], tuple[Any, Any]] = {}
    for r in first.itertuples(index=False):
        value = (
            Suppressed(k)
            if small_regions.get(r.region_id)
            else figure(
                r.ratio,
                "no value for the month"
                if is_missing(r.value)
                else "the first echelon has no positive figure",
            )
        )
        ratios[(r.region_id, r.kpi)] = (value, r)
        key = scope.key("first_echelon_ratio", "region", r.region_id, kpi=r.kpi)
        if key is not None:
            sec.metrics[key] = value
    if scope.region_id is not None and scope.echelon is not None:
        sec.parts.append(_region_against_first(ratios, scope))
    elif ratios:
        sec.parts.append(_first_echelon_table(ratios, scope))
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


def _first_echelon_table(ratios: dict, scope: PlanScope) -> KpiTable:
    """Regions x echelon goals: each region against the first echelon's average per region."""
    rows: dict[str, dict[str, str]] = {}
    for (rid, kpi), (value, _) in sorted(ratios.items()):
        row = rows.setdefault(rid, {"Region": scope.label("region", rid)})
        row[f"{kpi_dict.get(kpi).name}: against the first echelon"] = format_value(
            "first_echelon_ratio", value, unit=False
        )
    frame = pd.DataFrame(sorted(rows.values(), key=lambda r: r["Region"]))
    return KpiTable(
        frame,
        caption=f"{kpi_dict.get('first_echelon_ratio').name}, {scope.month} (1 = its average)",
        note="The region's figure divided by the first echelon's average per region.",
    )


def _region_against_first(ratios: dict, scope: PlanScope) -> str:
    """The region's echelon goals against the first echelon's average per region, in words."""
    who = scope.label("region", scope.region_id or "")
    parts = []
    for kpi in GAP_KPIS:
        if (scope.region_id, kpi) not in ratios:
            continue
        value, r = ratios[(scope.region_id, kpi)]
        name = kpi_dict.get(kpi).name.lower()
        if isinstance(value, Suppressed):
            parts.append(f"{name}: {format_value(kpi, value)}")
            continue
        parts.append(
            f"{name} {format_value(kpi, figure(r.value, 'no value for the month'), scope.currency)}"
            f" against {format_value(kpi, r.first_per_region, scope.currency)} per "
            + (
                f"first-echelon region (no ratio: {value.reason})"
                if isinstance(value, Absent)
                else f"first-echelon region (ratio {format_value('first_echelon_ratio', value)})"
            )
        )
    if not parts:
        return f"{who} has no figures for {scope.month}."
    return f"{who} in {scope.month}: " + "; ".join(parts) + "."


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
        ratio = trend.assign(
            level=np.where(trend["region_id"] == BANK_ID, "bank", "region"), id=trend["region_id"]
        )
        sec.parts.append(
            plot_plan_trend(
                trend_lines(ratio, "self_service_per_outlet", scope),
                "self_service_per_outlet",
                f"{kpi_label('self_service_per_outlet')}, month by month",
                scope,
                target=target,
            )
        )
        k = outlet_kpis.loc[outlet_kpis["month"] <= scope.month]
        rates = pd.concat(
            [pl.operating_rate_trend(k, "bank"), pl.operating_rate_trend(k, "region")],
            ignore_index=True,
        )
        if rates["device_operating_rate"].notna().any():
            sec.parts.append(
                plot_plan_trend(
                    trend_lines(rates, "device_operating_rate", scope),
                    "device_operating_rate",
                    f"{kpi_label('device_operating_rate')}, month by month",
                    scope,
                )
            )
        else:
            sec.parts.append("No device operating hours in the data: no operating-rate trend.")
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


def trend_lines(
    frame: pd.DataFrame, value: str, scope: PlanScope, n_months: int = 12
) -> pd.DataFrame:
    """The data behind a plan trend chart: month (rows, the last ``n_months`` to the data month)
    x the bank and every region by name (columns, the bank first).

    ``frame`` holds ``month, level, id`` and ``value`` (bank and region rows); device and
    self-service figures are not about customers, so no region is withheld.
    """
    f = frame.loc[(frame["month"] <= scope.month) & frame["level"].isin(["bank", "region"])]
    months = sorted(f["month"].unique())[-n_months:]
    f = f.loc[f["month"].isin(months)]
    f = f.assign(group=[scope.label(lv, str(i)) for lv, i in zip(f["level"], f["id"], strict=True)])
    table = f.pivot_table(index="month", columns="group", values=value, aggfunc="first", sort=True)
    table = table.reindex(months).astype("float64")
    bank = [c for c in table.columns if c == scope.label("bank", BANK_ID)]
    table = table[bank + sorted(c for c in table.columns if c not in bank)]
    table.columns.name = None
    return table


def trend_alt(table: pd.DataFrame, kpi: str, title: str, scope: PlanScope) -> str:
    """Alt text of a plan trend chart: the reader's line (the region's, then the bank's) from the
    first to the last month, and the regions' range in the last month."""
    if table.empty:
        return f"Chart. {title}: no months to show."
    first, last = table.index[0], table.index[-1]
    parts = [f"Chart. {title}, {first} to {last}."]
    bank = scope.label("bank", BANK_ID)
    who = [scope.label("region", scope.region_id)] if scope.region_id is not None else []
    for name in [*who, bank]:
        if name in table.columns:
            s = table[name].dropna()
            if len(s):
                parts.append(
                    f"{name}: {format_value(kpi, s.iloc[0])} in {s.index[0]}, "
                    f"{format_value(kpi, s.iloc[-1])} in {s.index[-1]}."
                )
    now = table.drop(columns=[bank], errors="ignore").loc[last].dropna()
    if len(now) > 1:
        lo, hi = now.idxmin(), now.idxmax()
        parts.append(
            f"Regions in {last} from {format_value(kpi, now[lo])} ({lo}) to "
            f"{format_value(kpi, now[hi])} ({hi})."
        )
    return " ".join(parts)


def plot_plan_trend(
    table: pd.DataFrame, kpi: str, title: str, scope: PlanScope, target: float | None = None
) -> Any:
    """One line per region (:func:`trend_lines`), the reader's region thick and dark over the
    others' grey (:func:`bankanalysis.report.heatmaps.highlighted_lines`), the bank dashed and
    the plan's ``target`` as a red rule; shares on a % axis, alt text by :func:`trend_alt`."""
    import matplotlib.pyplot as plt

    from bankanalysis.report.figures import set_alt
    from bankanalysis.report.heatmaps import highlighted_lines
    from bankanalysis.report.plots import percent_axis

    fig, ax = plt.subplots(figsize=(9, 4))
    bank = scope.label("bank", BANK_ID)
    regions = table.drop(columns=[bank], errors="ignore")
    mine = scope.label("region", scope.region_id) if scope.region_id is not None else None
    highlighted_lines(ax, regions, mine if mine in regions.columns else None)
    xs = np.arange(len(table.index))
    if bank in table.columns:
        ax.plot(xs, table[bank].to_numpy(), color="black", ls="--", lw=2.0, zorder=4, label=bank)
    if target is not None:
        ax.axhline(target, color="#d62728", lw=0.9, label=f"target {target:g}")
    if kpi_dict.get(kpi).unit == "share":  # shares on 0-100% like the reports' other rates
        percent_axis(ax.yaxis)
        ax.set_ylim(0.0, max(1.0, float(np.nanmax(table.to_numpy(), initial=0.0))))
    ax.set_title(title)
    ax.set_ylabel(kpi_label(kpi))
    ax.set_xlabel("")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    return set_alt(fig, trend_alt(table, kpi, title, scope))
