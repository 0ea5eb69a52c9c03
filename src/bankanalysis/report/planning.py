"""Report sections of plan tracking (overview 00 and outlet benchmarking 03).

Takes :mod:`bankanalysis.planning` outputs and returns what a notebook shows under the section
anchors ``plan-progress``, ``quarters``, ``year-on-year``, ``echelons`` and
``self-service-path``: sentences, tables formatted by the KPI dictionary
(:func:`~bankanalysis.report.format.format_value`), met or missed by the KPI's direction on the
displayed values (:func:`~bankanalysis.report.format.attainment_met`), small groups withheld
(:mod:`bankanalysis.rules.disclosure`), and the figures recorded in ``metrics.json`` under KPI
ids. The bank report (``region_id`` ``None``) shows the bank, its echelons and regions and
records bank figures plainly and region figures as ``[region=R]``; a region report shows the
region, its outlets, its echelon and the bank and records the region's figures plainly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis import planning as pl
from bankanalysis.planning.periods import BANK_ID, long_values
from bankanalysis.report.format import (
    Absent,
    Suppressed,
    attainment_met,
    format_change,
    format_number,
    format_value,
    is_missing,
    kpi_label,
)
from bankanalysis.report.tables import KpiTable
from bankanalysis.rules import kpis as kpi_dict
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.kpis import metric_key
from bankanalysis.rules.months import parse_month, shift_month

__all__ = [
    "SECTION_IDS",
    "PlanScope",
    "Section",
    "attainment_view",
    "change_sentences",
    "changes_section",
    "echelons_section",
    "plan_end",
    "plan_monthly",
    "plan_progress_section",
    "quarters_section",
    "self_service_section",
]

logger = logging.getLogger(__name__)

#: The section anchors of the plan sections, in report order.
SECTION_IDS: tuple[str, ...] = (
    "plan-progress",
    "quarters",
    "year-on-year",
    "echelons",
    "self-service-path",
)
#: KPIs about devices and transactions: not withheld for small customer groups.
_NOT_CUSTOMER = (
    "device_operating_rate",
    "outlet_replacement_rate",
    "accounting_replacement_rate",
    "self_service_per_outlet",
)
_ORDER = {"bank": 0, "echelon": 1, "region": 2, "outlet": 3}


@dataclass
class Section:
    """What one plan section shows (Markdown, tables, figures in order) and records."""

    anchor: str
    parts: list[Any] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    def show(self, recorder: Any = None) -> None:
        """Record the metrics (when a recorder is given) and display the parts."""
        from IPython.display import Markdown, display

        if recorder is not None and self.metrics:
            recorder.record_many(self.metrics)
        for part in self.parts:
            if isinstance(part, str):
                display(Markdown(part))
            elif hasattr(part, "savefig"):
                import matplotlib.pyplot as plt

                display(part)
                plt.close(part)
            else:
                display(part)


@dataclass(frozen=True)
class PlanScope:
    """Whose plan a report follows.

    Attributes
    ----------
    month : str
        Data month.
    region_id : str or None
        The report's region; ``None`` for the bank report.
    echelon : int or None
        The region's echelon.
    names : mapping
        Region and outlet id -> display name.
    currency : str
        Currency of money figures.
    min_group_size : int
        ``k`` of the disclosure rule.
    outlet_ids : tuple of str
        The region's outlets (a region report shows their targets).
    """

    month: str
    region_id: str | None = None
    echelon: int | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    currency: str = "CNY"
    min_group_size: int = 10
    outlet_ids: tuple[str, ...] = ()

    @property
    def levels(self) -> tuple[str, ...]:
        """Levels the report shows."""
        if self.region_id is None:
            return ("bank", "echelon", "region")
        return ("bank", "echelon", "region", "outlet")

    def shown(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``frame`` (``level, id``) the report shows, bank first."""
        if self.region_id is None:
            keep = frame["level"].isin(self.levels)
        else:
            keep = (
                (frame["level"] == "bank")
                | ((frame["level"] == "echelon") & (frame["id"] == str(self.echelon)))
                | ((frame["level"] == "region") & (frame["id"] == self.region_id))
                | ((frame["level"] == "outlet") & frame["id"].isin(self.outlet_ids))
            )
        out = frame.loc[keep]
        return (
            out.assign(_o=out["level"].map(_ORDER))
            .sort_values(["_o", "id"], kind="stable")
            .drop(columns="_o")
        )

    def label(self, level: str, gid: str) -> str:
        """Display name of a row."""
        if level == "bank":
            return "The bank"
        if level == "echelon":
            return f"Echelon {gid}"
        return str(self.names.get(gid, gid))

    def key(self, kpi_id: str, level: str, gid: str, /, **by: object) -> str | None:
        """The ``metrics.json`` key of a figure, ``None`` when the report does not record it."""
        if self.region_id is None:
            if level == "bank":
                return metric_key(kpi_id, **by)
            if level == "region":
                return metric_key(kpi_id, region=gid, **by)
            return None
        if level == "region" and gid == self.region_id:
            return metric_key(kpi_id, **by)
        return None


def plan_end(month: str, plan_start: str | None, plan_years: int) -> str:
    """The plan date: the last month of ``plan_years`` years from ``plan_start`` (default
    January of the data month's year).

    Examples
    --------
    >>> plan_end("2025-06", None, 3)
    '2027-12'
    >>> plan_end("2025-06", "2024-07", 3)
    '2027-06'
    """
    start = plan_start or f"{parse_month(month)[0]:04d}-01"
    return shift_month(start, 12 * plan_years - 1)


def plan_monthly(outlet_kpis: pd.DataFrame, scope: PlanScope) -> pd.DataFrame:
    """Monthly KPI values of every level the report shows (up to the data month)."""
    k = outlet_kpis.loc[outlet_kpis["month"] <= scope.month]
    if scope.region_id is not None:
        mine = k.loc[k["region_id"] == scope.region_id]
        parts = [pl.level_values(mine, "outlet"), pl.level_values(mine, "region")]
        parts.append(pl.level_values(k.loc[k["echelon"] == scope.echelon], "echelon"))
    else:
        parts = [pl.level_values(k, "region"), pl.level_values(k, "echelon")]
    parts.append(pl.level_values(k, "bank"))
    return pd.concat(parts, ignore_index=True)


def _small(frame: pd.DataFrame, k: int) -> pd.Series:
    """Rows whose group holds 1 to k-1 customers (by ``customers``; unknown = not small)."""
    if "customers" not in frame.columns:
        return pd.Series(False, index=frame.index)
    c = frame["customers"].astype("float64").fillna(0.0)
    return pd.Series(is_small(c, k), index=frame.index)


def _cell(kpi: str, value: Any, currency: str, withheld: bool, k: int) -> str:
    if withheld and kpi not in _NOT_CUSTOMER:
        return format_value(kpi, Suppressed(k), currency)
    return format_value(kpi, value, currency)


def _figure(value: float, reason: str) -> Any:
    return value if not is_missing(value) else Absent(reason)


# --------------------------------------------------------------------------- plan progress


def attainment_view(
    att: pd.DataFrame, scope: PlanScope, customers: Mapping[tuple[str, str], float] | None = None
) -> KpiTable:
    """Every target of a period containing the data month: target, actual, attainment, and met,
    missed or to date (a quarter or year still running)."""
    shown = scope.shown(att)
    rows = []
    for r in shown.itertuples(index=False):
        small = customers is not None and bool(
            is_small(customers.get((r.level, r.id), 0.0), scope.min_group_size)
        )
        withheld = small and r.kpi not in _NOT_CUSTOMER
        met = attainment_met(r.kpi, r.actual, r.target)
        status = (
            "withheld"
            if withheld
            else "no actual"
            if is_missing(r.actual)
            else "to date"
            if not r.complete
            else "met"
            if met
            else "missed"
            if met is False
            else "no direction"
        )
        rows.append(
            {
                "Scope": scope.label(r.level, r.id),
                "KPI": kpi_dict.get(r.kpi).name,
                "Period": r.period_label,
                "Target": format_value(r.kpi, r.target, scope.currency),
                "Actual": _cell(r.kpi, r.actual, scope.currency, withheld, scope.min_group_size),
                kpi_label("target_attainment"): (
                    format_value("target_attainment", Suppressed(scope.min_group_size))
                    if withheld
                    else format_value("target_attainment", r.attainment, unit=False)
                ),
                "Status": status,
            }
        )
    cols = ["Scope", "KPI", "Period", "Target", "Actual", kpi_label("target_attainment"), "Status"]
    note = (
        "Met or missed by the KPI's direction on the displayed values; a quarter or year still "
        "running is shown to date. A figure whose group has 1 to k-1 customers is withheld."
    )
    return KpiTable(pd.DataFrame(rows, columns=cols), note=note)


def _ytd_table(ytd: pd.DataFrame, scope: PlanScope, path: str) -> KpiTable:
    rows = []
    for r in scope.shown(ytd).itertuples(index=False):
        why = Absent(r.reason) if r.reason else None
        rows.append(
            {
                "Scope": scope.label(r.level, r.id),
                "KPI": kpi_dict.get(r.kpi).name,
                "Annual target": format_value(r.kpi, r.annual_target, scope.currency),
                "Year to date": format_value(r.kpi, why or r.ytd_actual, scope.currency),
                "Plan to date": format_value(r.kpi, r.plan_to_date, scope.currency),
                kpi_label("plan_ytd_attainment"): format_value(
                    "plan_ytd_attainment", why or r.ytd_vs_plan, unit=False
                ),
                "Projected year-end": format_value(
                    r.kpi, why or r.projected_year_end, scope.currency
                ),
                "Gap": format_change(r.kpi, why or r.gap, scope.currency),
                kpi_label("plan_projected_gap"): format_value(
                    "plan_projected_gap", why or r.gap_share, unit=False
                ),
            }
        )
    note = (
        f"Plan path: {path}. Projected year-end = year to date / the plan's share of the year "
        "due by now; the gap is projected minus the annual target (negative = short)."
    )
    return KpiTable(pd.DataFrame(rows), note=note)


def _ytd_metrics(ytd: pd.DataFrame, scope: PlanScope) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in ytd.itertuples(index=False):
        reason = r.reason or "the annual target is not positive"
        for kpi, value, by in (
            (r.kpi, r.ytd_actual, {"period": "ytd"}),
            ("plan_ytd_attainment", r.ytd_vs_plan, {"kpi": r.kpi}),
            ("plan_projected_gap", r.gap_share, {"kpi": r.kpi}),
        ):
            key = scope.key(kpi, r.level, r.id, **by)
            if key is not None:
                out[key] = _figure(value, r.reason or reason)
    return out


def plan_progress_section(
    monthly: pd.DataFrame,
    targets: pd.DataFrame | None,
    scope: PlanScope,
    *,
    path: str = "linear",
    weights: Sequence[float] | None = None,
    extra_actuals: pd.DataFrame | None = None,
) -> Section:
    """Year to date against the annual plan, and attainment of every target of the month's
    month, quarter and year.

    Parameters
    ----------
    monthly : DataFrame
        :func:`plan_monthly` output.
    targets : DataFrame or None
        Processed ``targets``.
    scope : PlanScope
        Whose plan.
    path, weights
        The plan path (:func:`bankanalysis.planning.plan_path`).
    extra_actuals : DataFrame, optional
        More actuals (``level, id, period, period_label, kpi, actual, complete``), e.g. the
        scorecard's customer KPIs at the data month.
    """
    sec = Section("plan-progress")
    if targets is None or targets.empty:
        sec.parts.append(
            "This bank's extract has no `targets` table, so progress against the plan cannot be shown."
        )
        level = "bank" if scope.region_id is None else "region"
        for kpi in pl.PLAN_FLOW_KPIS:
            key = scope.key("plan_ytd_attainment", level, scope.region_id or BANK_ID, kpi=kpi)
            if key is not None:
                sec.metrics[key] = Absent("no targets table")
        return sec
    ytd = pl.ytd_progress(monthly, targets, scope.month, path, weights)
    frames = []
    kpis = monthly.assign(period_label=monthly["month"], complete=True)
    frames.append(long_values([kpis.loc[kpis["month"] == scope.month]], "month"))
    for period in ("quarter", "year"):
        frames.append(long_values([_period_frame(monthly, period)], period))
    if extra_actuals is not None and len(extra_actuals):
        frames.append(extra_actuals)
    actuals = pd.concat(frames, ignore_index=True)
    att = pl.attainment(actuals, targets, scope.month)
    customers = _customers(monthly, scope.month)
    year = parse_month(scope.month)[0]
    if ytd.empty:
        sec.parts.append(f"No annual targets for {year} of the plan's cumulative KPIs in the data.")
    else:
        sec.parts += [_ytd_sentence(ytd, scope), _ytd_table(ytd, scope, path)]
        sec.metrics.update(_ytd_metrics(ytd, scope))
    if att.empty:
        sec.parts.append(f"No targets for {scope.month}, its quarter or its year in the data.")
    else:
        sec.parts.append(attainment_view(att, scope, customers))
    return sec


def _period_frame(monthly: pd.DataFrame, period: str) -> pd.DataFrame:
    """Period values of the monthly rows (flows summed; other KPIs at the last month).

    Rates are taken at the period's last month here; :func:`bankanalysis.planning.period_values`
    recomputes them from outlet rows where those are at hand (the quarters section).
    """
    lab = monthly["month"].map(lambda m: pl.period_label(period, m))
    m = monthly.assign(period_label=lab)
    last = m.sort_values("month").groupby(["level", "id", "period_label"], sort=True).tail(1)
    flows = [c for c in pl.FLOW_KPIS if c in m.columns]
    sums = m.groupby(["level", "id", "period_label"], sort=True)[flows].sum(min_count=1)
    n = m.groupby(["level", "id", "period_label"], sort=True)["month"].nunique()
    out = last.set_index(["level", "id", "period_label"])
    out[flows] = sums.reindex(out.index)
    full = {"quarter": 3, "year": 12}[period]
    out["complete"] = n.reindex(out.index).to_numpy() == full
    return out.reset_index().drop(columns="month")


def _customers(monthly: pd.DataFrame, month: str) -> dict[tuple[str, str], float]:
    if "customers" not in monthly.columns:
        return {}
    now = monthly.loc[monthly["month"] == month]
    return {
        (lv, i): float(c)
        for lv, i, c in zip(now["level"], now["id"], now["customers"], strict=True)
    }


def _ytd_sentence(ytd: pd.DataFrame, scope: PlanScope) -> str:
    me = ytd.loc[
        (ytd["level"] == ("bank" if scope.region_id is None else "region"))
        & (ytd["id"] == (scope.region_id or BANK_ID))
    ]
    who = "The bank" if scope.region_id is None else scope.label("region", scope.region_id)
    parts = []
    for r in me.itertuples(index=False):
        name = kpi_dict.get(r.kpi).name.lower()
        if r.reason:
            parts.append(f"{name}: not available ({r.reason})")
        else:
            side = "ahead of" if r.gap >= 0 else "short of"
            parts.append(
                f"{name} {format_value(r.kpi, r.ytd_actual, scope.currency)} to date, on pace for "
                f"{format_value(r.kpi, r.projected_year_end, scope.currency)} "
                f"({format_value('plan_projected_gap', abs(r.gap_share), unit=False)} {side} the "
                "annual target)"
            )
    if not parts:
        return f"{who} has no annual targets of the plan's cumulative KPIs."
    return f"{who}, year to date {scope.month}: " + "; ".join(parts) + "."


# --------------------------------------------------------------------------- quarters


def quarters_section(
    outlet_kpis: pd.DataFrame, scope: PlanScope, kpi_ids: Sequence[str], n_quarters: int = 5
) -> Section:
    """The plan's focus KPIs by quarter for every level the report shows (last ``n_quarters``;
    a quarter still running is marked "to date")."""
    sec = Section("quarters")
    k = outlet_kpis.loc[outlet_kpis["month"] <= scope.month]
    if scope.region_id is not None:
        groups = [
            (k.loc[k["region_id"] == scope.region_id], "region"),
            (k.loc[k["region_id"] == scope.region_id], "outlet"),
            (k.loc[k["echelon"] == scope.echelon], "echelon"),
            (k, "bank"),
        ]
    else:
        groups = [(k, "bank"), (k, "echelon"), (k, "region")]
    q = pd.concat([pl.period_values(df, lv, "quarter") for df, lv in groups], ignore_index=True)
    quarters = sorted(q["period_label"].unique())[-n_quarters:]
    q = q.loc[q["period_label"].isin(quarters)]
    ids = [c for c in kpi_ids if c in q.columns]
    left_out = [c for c in kpi_ids if c not in q.columns]
    complete = q.groupby("period_label")["complete"].all()
    heads = {p: p if complete[p] else f"{p} (to date)" for p in quarters}
    rows = []
    for (level, gid), grp in scope.shown(q).groupby(["level", "id"], sort=False):
        g = grp.set_index("period_label")
        for kpi in ids:
            row = {"Scope": scope.label(level, gid), "KPI": kpi_label(kpi, scope.currency)}
            for p in quarters:
                if p not in g.index:
                    row[heads[p]] = format_value(kpi, Absent("not in the data"), scope.currency)
                    continue
                small = bool(_small(g.loc[[p]], scope.min_group_size).iloc[0])
                row[heads[p]] = _cell(
                    kpi, g.at[p, kpi], scope.currency, small, scope.min_group_size
                )
                key = scope.key(kpi, level, gid, quarter=p)
                if key is not None and complete[p]:
                    v = g.at[p, kpi]
                    sec.metrics[key] = (
                        Suppressed(scope.min_group_size)
                        if small and kpi not in _NOT_CUSTOMER
                        else _figure(v, "not measured in the quarter")
                    )
            rows.append(row)
    note = (
        "Flows (deposits added, fee income, sales, new customers) are the quarter's sums; rates "
        "are recomputed from the quarter's summed hours and transactions; other KPIs are at the "
        "quarter's last month."
    )
    if left_out:
        note += " Not computed from this extract: " + ", ".join(left_out) + "."
    sec.parts.append(KpiTable(pd.DataFrame(rows), note=note))
    return sec


# --------------------------------------------------------------------------- changes


def changes_section(monthly: pd.DataFrame, scope: PlanScope) -> Section:
    """Month-on-month and year-on-year changes of every plan KPI the data measure."""
    sec = Section("year-on-year")
    ids = [k.id for k in kpi_dict.plan_kpis() if k.id in monthly.columns]
    every = scope.shown(pl.changes(monthly, scope.month, ids))
    ch = every.loc[every["level"] != "region"] if scope.region_id is None else every
    customers = _customers(monthly, scope.month)
    rows = []
    for r in ch.itertuples(index=False):
        small = bool(is_small(customers.get((r.level, r.id), 0.0), scope.min_group_size))
        hide = small and r.kpi not in _NOT_CUSTOMER
        k = scope.min_group_size
        rows.append(
            {
                "Scope": scope.label(r.level, r.id),
                "KPI": kpi_label(r.kpi, scope.currency),
                scope.month: _cell(r.kpi, r.value, scope.currency, hide, scope.min_group_size),
                "On the month": _change(r.kpi, r.mom_change, r.mom_reason, hide, k, scope.currency),
                "On the month (%)": _pct(r.mom_pct, r.mom_reason, hide, k),
                "On the year": _change(r.kpi, r.yoy_change, r.yoy_reason, hide, k, scope.currency),
                "On the year (%)": _pct(r.yoy_pct, r.yoy_reason, hide, k),
            }
        )
    sec.parts.append(change_sentences(ch, scope))
    note = "Shares change in percentage points (pp); the % columns are relative changes of amounts and counts."
    sec.parts.append(KpiTable(pd.DataFrame(rows), note=note))
    if scope.region_id is None:
        sec.parts.append(
            _region_change_grid(every.loc[every["level"] == "region"], scope, customers)
        )
    return sec


def _region_change_grid(
    ch: pd.DataFrame, scope: PlanScope, customers: Mapping[tuple[str, str], float]
) -> KpiTable:
    """Regions x plan KPIs: the change on the year (absent with its reason without one)."""
    rows = []
    for gid, grp in ch.groupby("id", sort=True):
        small = bool(is_small(customers.get(("region", gid), 0.0), scope.min_group_size))
        row = {"Region": scope.label("region", gid)}
        for r in grp.itertuples(index=False):
            hide = small and r.kpi not in _NOT_CUSTOMER
            row[kpi_label(r.kpi, scope.currency)] = _change(
                r.kpi, r.yoy_change, r.yoy_reason, hide, scope.min_group_size, scope.currency
            )
        rows.append(row)
    return KpiTable(pd.DataFrame(rows), caption=f"Change on the year per region, {scope.month}")


def _change(kpi: str, value: float, reason: str, hide: bool, k: int, currency: str) -> str:
    """A change in the KPI's unit; withheld, or absent with its reason."""
    if hide:
        return format_value(kpi, Suppressed(k), currency)
    return format_change(kpi, Absent(reason) if reason else value, currency)


def _pct(value: float, reason: str, hide: bool, k: int) -> str:
    """A relative change as a signed %; "–" where a relative change has no meaning (shares)."""
    if hide:
        return format_value("plan_projected_gap", Suppressed(k))
    if reason:
        return format_value("plan_projected_gap", Absent(reason))
    if is_missing(value):
        return "–"
    return format_number(100.0 * float(value), 1, sign=True) + "%"


def change_sentences(ch: pd.DataFrame, scope: PlanScope) -> str:
    """The scope's plan KPIs' changes on the year (or on the month without a year) in words."""
    level = "bank" if scope.region_id is None else "region"
    me = ch.loc[(ch["level"] == level) & (ch["id"] == (scope.region_id or BANK_ID))]
    who = "The bank" if scope.region_id is None else scope.label("region", scope.region_id)
    said = []
    for r in me.itertuples(index=False):
        name = kpi_dict.get(r.kpi).name.lower()
        if not r.yoy_reason and not is_missing(r.yoy_change):
            said.append(f"{name} {format_change(r.kpi, r.yoy_change, scope.currency)} on the year")
        elif not r.mom_reason and not is_missing(r.mom_change):
            said.append(f"{name} {format_change(r.kpi, r.mom_change, scope.currency)} on the month")
    if not said:
        return f"{who}: the data hold no earlier month to compare {scope.month} with."
    return f"{who}, {scope.month}: " + "; ".join(said) + "."


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
                    value if small.get(e) else _figure(r.share, "the bank's total is 0")
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
                "Per region": format_value(r.kpi, _figure(r.per_region, no_value), scope.currency),
                "Echelon above, per region": format_value(
                    r.kpi, _figure(r.compared_per_region, no_value), scope.currency
                ),
                "Gap": format_change(r.kpi, _figure(r.gap, no_value), scope.currency),
                kpi_label("echelon_gap_ratio"): format_value(
                    "echelon_gap_ratio",
                    _figure(r.ratio, no_value if is_missing(r.gap) else no_ratio),
                    unit=False,
                ),
            }
        )
        if r.month == scope.month and scope.region_id is None:
            sec.metrics[metric_key("echelon_gap_ratio", echelon=r.echelon, kpi=r.kpi)] = _figure(
                r.ratio, "the echelon above has no positive figure"
            )
    if grows:
        note = (
            "Gap = the echelon's average per region minus the echelon above's (negative = behind)."
        )
        if year_ago not in set(gaps["month"]):
            note += f" The data start after {year_ago}, so the gap a year ago cannot be shown."
        sec.parts.append(KpiTable(pd.DataFrame(grows), note=note))
    else:
        sec.parts.append("The bank has regions in one echelon only: there is no gap to show.")
    if scope.region_id is not None and scope.echelon is not None:
        sec.parts.append(_region_against_echelons(rm, scope))
    return sec


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
                    Absent(reason) if reason else _figure(value, "no device installation dates")
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
        row.update({m: format_value("self_service_per_outlet", vals[m]) for m in months})
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
        row.update({m: format_value("device_operating_rate", g.get(m, np.nan)) for m in months})
        rows.append(row)
    return KpiTable(
        pd.DataFrame(rows), caption=kpi_label("device_operating_rate") + ", month by month"
    )


# --------------------------------------------------------------------------- notebook helpers


def load_plan_kpis(ctx: Any) -> pd.DataFrame:
    """Outlet KPIs of every outlet up to the report's month (no customer-month reads; KPIs
    whose raw table the extract lacks are NaN)."""
    from bankanalysis.benchmarking.kpis import outlet_kpis
    from bankanalysis.report.benchmarking import blank_unmeasured

    om = ctx.bank.outlet_month()
    return blank_unmeasured(outlet_kpis(om.loc[om["month"] <= ctx.month]), ctx.bank.has)


def scope_for(ctx: Any) -> PlanScope:
    """The :class:`PlanScope` of a report context (the bank when it has no region)."""
    return PlanScope(
        month=ctx.month,
        region_id=ctx.region_id,
        echelon=ctx.echelon,
        names={**ctx.region_names, **ctx.outlet_names},
        currency=ctx.currency,
        min_group_size=ctx.min_group_size,
        outlet_ids=tuple(ctx.region_outlets) if ctx.region_id is not None else (),
    )


def scorecard_actuals(regions: pd.DataFrame, bank: pd.DataFrame, month: str) -> pd.DataFrame:
    """The overview scorecard's KPIs (per region and the bank, withheld figures NaN) as actuals
    of the month for :func:`plan_progress_section`."""
    frames = []
    for frame, level in ((regions, "region"), (bank, "bank")):
        wide = frame.assign(
            level=level,
            id=frame["region_id"].astype(str) if level == "region" else BANK_ID,
            period_label=month,
        )
        frames.append(wide.drop(columns=["region_id", "echelon"], errors="ignore"))
    return long_values(frames, "month")
