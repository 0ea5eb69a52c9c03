"""Report sections of plan tracking (overview 00 and outlet benchmarking 03).

Takes :mod:`bankanalysis.planning` outputs and returns what a notebook shows under the section
anchors ``plan-progress``, ``quarters``, ``year-on-year``, ``echelons`` and
``self-service-path``: sentences, tables formatted by the KPI dictionary
(:func:`~bankanalysis.report.format.format_value`), met or missed by the KPI's direction on the
exact values (:func:`~bankanalysis.report.format.attainment_met`) with actual and target shown
at decimals that tell them apart, small groups withheld (:mod:`bankanalysis.rules.disclosure`), and the figures recorded in ``metrics.json`` under KPI
ids. The bank report (``region_id`` ``None``) shows the bank, its echelons and regions and
records bank figures plainly and region figures as ``[region=R]``; a region report shows the
region, its outlets, its echelon and the bank and records the region's figures plainly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis import planning as pl
from bankanalysis.planning.periods import BANK_ID, long_values
from bankanalysis.report.disclosure_grid import cell_value
from bankanalysis.report.disclosure_plan import MOM, YOY, PlanCounts, unit_key
from bankanalysis.report.format import (
    Absent,
    Suppressed,
    attainment_met,
    distinct_decimals,
    format_change,
    format_number,
    format_value,
    is_missing,
    kpi_label,
)
from bankanalysis.report.planning_network import (
    echelons_section,
    plot_plan_trend,
    self_service_section,
    trend_lines,
)
from bankanalysis.report.planning_scope import (
    NOT_CUSTOMER,
    SECTION_IDS,
    PlanScope,
    Section,
    cell,
    customers_at,
    figure,
    load_customer_quarters,
    load_plan_kpis,
    load_total_counts,
    plan_end,
    plan_monthly,
    scope_for,
    small_rows,
)
from bankanalysis.report.tables import KpiTable
from bankanalysis.rules import kpis as kpi_dict
from bankanalysis.rules.disclosure import KPI_GROUP, is_small
from bankanalysis.rules.months import parse_month

__all__ = [
    "SECTION_IDS",
    "PlanScope",
    "Section",
    "attainment_view",
    "change_sentences",
    "changes_section",
    "echelons_section",
    "load_customer_quarters",
    "load_plan_kpis",
    "load_total_counts",
    "plan_end",
    "plan_monthly",
    "plan_progress_section",
    "plan_summary_html",
    "plan_summary_sentences",
    "plot_plan_trend",
    "plot_ytd_path",
    "quarters_section",
    "scope_for",
    "scorecard_actuals",
    "self_service_section",
    "trend_lines",
    "ytd_left_out_text",
    "ytd_path_data",
]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- plan progress


def _count_status(counts: PlanCounts | None, level: str, gid: str, kpi: str, period: str) -> str:
    """How :func:`~bankanalysis.report.disclosure_plan.protect_plan_counts` (an outlet's) or
    :func:`~bankanalysis.report.disclosure_plan.protect_total_counts` (a region's, an
    echelon's, the bank's) stands a count of a period (``""`` shown)."""
    if counts is None:
        return ""
    return counts.of_level(level, gid, kpi, period)


def attainment_view(
    att: pd.DataFrame,
    scope: PlanScope,
    customers: Mapping[tuple[str, str], float] | None = None,
    counts: PlanCounts | None = None,
) -> KpiTable:
    """Every target of a period containing the data month: target, actual, attainment, and met,
    missed or to date (a quarter or year still running).

    ``counts`` (:func:`~bankanalysis.report.disclosure_plan.protect_plan_counts`) withholds an
    outlet's count with its attainment and status (actual = attainment x the target shown)."""
    shown = scope.shown(att)
    rows = []
    for r in shown.itertuples(index=False):
        small = customers is not None and bool(
            is_small(customers.get((r.level, r.id), 0.0), scope.min_group_size)
        )
        withheld = small and r.kpi not in NOT_CUSTOMER
        st = _count_status(counts, r.level, r.id, r.kpi, r.period_label)
        met = attainment_met(r.kpi, r.actual, r.target)
        # actual and target at the decimals that tell them apart: never "30.0%" against
        # "30.0%" beside "missed"
        d = distinct_decimals(r.kpi, r.actual, r.target)
        status = (
            "withheld"
            if withheld or st
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
                "Target": format_value(r.kpi, r.target, scope.currency, decimals=d),
                "Actual": format_value(r.kpi, cell_value(np.nan, st, scope.min_group_size))
                if st
                else cell(
                    r.kpi,
                    figure(r.actual, "not computed for this level and period"),
                    scope.currency,
                    withheld,
                    scope.min_group_size,
                    decimals=d,
                ),
                kpi_label("target_attainment"): (
                    format_value("target_attainment", cell_value(np.nan, st, scope.min_group_size))
                    if st
                    else format_value("target_attainment", Suppressed(scope.min_group_size))
                    if withheld
                    else format_value(
                        "target_attainment",
                        figure(
                            r.attainment,
                            "no actual" if is_missing(r.actual) else "the target is not positive",
                        ),
                        unit=False,
                    )
                ),
                "Status": status,
            }
        )
    cols = ["Scope", "KPI", "Period", "Target", "Actual", kpi_label("target_attainment"), "Status"]
    note = (
        "Met or missed by the KPI's direction on the exact values; a quarter or year still "
        "running is shown to date. A figure whose group has 1 to k-1 customers is withheld."
    )
    return KpiTable(pd.DataFrame(rows, columns=cols), note=note)


def _ytd_table(
    ytd: pd.DataFrame, scope: PlanScope, path: str, counts: PlanCounts | None = None
) -> KpiTable:
    rows = []
    year = scope.month[:4]
    for r in scope.shown(ytd).itertuples(index=False):
        why = Absent(r.reason) if r.reason else None
        st = _count_status(counts, r.level, r.id, r.kpi, year)
        if st:  # the projection, the gap and the attainment give the year to date back
            why = cell_value(np.nan, st, scope.min_group_size)
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


def _ytd_metrics(
    ytd: pd.DataFrame, scope: PlanScope, counts: PlanCounts | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    year = scope.month[:4]
    for r in ytd.itertuples(index=False):
        reason = r.reason or "the annual target is not positive"
        st = _count_status(counts, r.level, r.id, r.kpi, year)
        for kpi, value, by in (
            (r.kpi, r.ytd_actual, {"period": "ytd"}),
            ("plan_ytd_attainment", r.ytd_vs_plan, {"kpi": r.kpi}),
            ("plan_projected_gap", r.gap_share, {"kpi": r.kpi}),
        ):
            key = scope.key(kpi, r.level, r.id, **by)
            if key is not None:
                out[key] = (
                    cell_value(value, st, scope.min_group_size)
                    if st
                    else figure(value, r.reason or reason)
                )
    return out


def plan_progress_section(
    monthly: pd.DataFrame,
    targets: pd.DataFrame | None,
    scope: PlanScope,
    *,
    path: str = "linear",
    weights: Sequence[float] | None = None,
    extra_actuals: pd.DataFrame | None = None,
    counts: PlanCounts | None = None,
) -> Section:
    """Year to date against the annual plan, and attainment of every target of the month's
    month, quarter and year and of the year's quarters already over.

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
    counts : PlanCounts, optional
        The outlets' counts withheld (:func:`~bankanalysis.report.disclosure_plan.protect_plan_counts`).
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
    year, m = parse_month(scope.month)
    earlier = [  # the year's quarters already over before the data month's quarter
        pl.attainment(actuals, targets, f"{year:04d}-{end:02d}").query("period == 'quarter'")
        for end in (3, 6, 9)
        if end < m - (m - 1) % 3
    ]
    att = pd.concat([*earlier, pl.attainment(actuals, targets, scope.month)], ignore_index=True)
    customers = customers_at(monthly, scope.month)
    if ytd.empty:
        sec.parts.append(f"No annual targets for {year} of the plan's cumulative KPIs in the data.")
    else:
        sec.parts += [_ytd_sentence(ytd, scope, counts), _ytd_table(ytd, scope, path, counts)]
        chart = ytd_path_data(monthly, ytd, scope, path, weights, counts)
        left_out = ytd_left_out_text(chart.attrs["withheld_why"], scope.min_group_size)
        if left_out:
            sec.parts.append(left_out)
        if len(chart):
            who = "The bank" if scope.region_id is None else scope.label("region", scope.region_id)
            sec.parts.append(plot_ytd_path(chart, f"{who}: year to date against the plan, {year}"))
        sec.metrics.update(_ytd_metrics(ytd, scope, counts))
    if att.empty:
        sec.parts.append(f"No targets for {scope.month}, its quarter or its year in the data.")
    else:
        sec.parts.append(attainment_view(att, scope, customers, counts))
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


def _ytd_sentence(ytd: pd.DataFrame, scope: PlanScope, counts: PlanCounts | None = None) -> str:
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
        elif _count_status(counts, r.level, r.id, r.kpi, scope.month[:4]):
            parts.append(f"{name}: withheld (a group of fewer than {scope.min_group_size})")
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


def ytd_path_data(
    monthly: pd.DataFrame,
    ytd: pd.DataFrame,
    scope: PlanScope,
    path: str = "linear",
    weights: Sequence[float] | None = None,
    counts: PlanCounts | None = None,
) -> pd.DataFrame:
    """The scope's cumulative actual and the plan path, as shares of the annual target.

    A cumulative line shows every month's value (its steps, times the target managers know),
    so a count of customers (:data:`~bankanalysis.report.disclosure.OUTLET_COUNTS`) whose
    month of the year is 1 to ``k - 1``, or which ``counts`` withholds for the scope in any
    period, is left out; ``attrs["withheld"]`` names the KPIs left out and
    ``attrs["withheld_why"]`` maps each to ``"small"`` (a month of 1 to ``k - 1``) or
    ``"run"`` (the run withholds a period of it, e.g. months printed nowhere that the other
    units' small counts must not come back from).

    Returns
    -------
    DataFrame
        ``month, kpi`` (display name), ``actual`` (cumulative actual / annual target, to the
        data month) and ``plan`` (the plan's share due by the month-end, all twelve months);
        empty when the scope has no annual target with a known year to date.
    """
    from bankanalysis.report.disclosure import OUTLET_COUNTS

    level = "bank" if scope.region_id is None else "region"
    gid = scope.region_id or BANK_ID
    me = ytd.loc[(ytd["level"] == level) & (ytd["id"] == gid) & (ytd["reason"] == "")]
    year = parse_month(scope.month)[0]
    months = [f"{year:04d}-{m:02d}" for m in range(1, 13)]
    shares = pl.plan_path(path, weights)
    rows = []
    own = monthly.loc[(monthly["level"] == level) & (monthly["id"] == gid)].set_index("month")
    why: dict[str, str] = {}
    for r in me.itertuples(index=False):
        so_far = own[r.kpi].reindex([m for m in months if m <= scope.month])
        name = kpi_dict.get(r.kpi).name
        if r.kpi in OUTLET_COUNTS:
            if bool(is_small(so_far.dropna(), scope.min_group_size).any()):
                why[name] = "small"
            elif counts is not None and _withholds(counts, level, gid, r.kpi):
                why[name] = "run"
        if name in why:
            continue
        done = so_far.cumsum()
        for i, m in enumerate(months):
            actual = float(done[m]) / r.annual_target if m in done.index else np.nan
            rows.append({"month": m, "kpi": name, "actual": actual, "plan": shares[i]})
    out = pd.DataFrame(rows, columns=["month", "kpi", "actual", "plan"])
    out.attrs["withheld"] = list(why)
    out.attrs["withheld_why"] = why
    return out


def ytd_left_out_text(why: Mapping[str, str], k: int) -> str:
    """The sentence under the year-to-date chart naming the counts it leaves out and why
    (:func:`ytd_path_data`'s ``attrs["withheld_why"]``; ``""`` when it leaves out none).

    Examples
    --------
    >>> ytd_left_out_text({"New customers": "small"}, 10)
    'The chart leaves out New customers: its monthly counts include groups of fewer than 10 customers, which a cumulative line would show.'
    >>> ytd_left_out_text({"New customers": "run"}, 10)[:73]
    'The chart leaves out New customers: the run withholds some of its monthly'
    """
    small = [name for name, w in why.items() if w == "small"]
    run = [name for name, w in why.items() if w != "small"]
    said = []
    if small:
        said.append(
            f"{', '.join(small)}: {'its' if len(small) == 1 else 'their'} monthly counts "
            f"include groups of fewer than {k} customers, which a cumulative line would show"
        )
    if run:
        said.append(
            f"{', '.join(run)}: the run withholds some of {'its' if len(run) == 1 else 'their'}"
            " monthly figures so that other units' small counts cannot be worked out from them,"
            " and a cumulative line would show every month"
        )
    return f"The chart leaves out {'; '.join(said)}." if said else ""


def _withholds(counts: PlanCounts, level: str, gid: str, kpi: str) -> bool:
    """Whether ``counts`` withholds any period of the scope's ``kpi``."""
    key = unit_key(level, gid)
    return any(u == key and c == kpi for (u, c, _) in counts.status)


def plot_ytd_path(data: pd.DataFrame, title: str) -> Any:
    """Cumulative actual (solid, one line per KPI) against the plan path (dashed), as shares of
    the annual target."""
    import matplotlib.pyplot as plt

    from bankanalysis.report.plots import percent_axis

    fig, ax = plt.subplots()
    plan = data.drop_duplicates("month")
    ax.plot(plan["month"], plan["plan"], ls="--", color="#555555", label="plan path")
    for kpi, grp in data.groupby("kpi", sort=True):
        ax.plot(grp["month"], grp["actual"], marker="o", label=str(kpi))
    ax.axhline(1.0, color="#d62728", lw=0.8)
    percent_axis(ax.yaxis)
    ax.set_ylabel("share of the annual target")
    ax.set_xlabel("")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


# --------------------------------------------------------------------------- quarters


#: Product families of the plan's first-quarter focus (funds, insurance, debit cards) shown for
#: the ``family_sales`` entry of ``quarter_kpis``.
FOCUS_FAMILIES: tuple[str, ...] = ("investment", "insurance", "card")


def _quarter_rows(
    kpi_ids: Sequence[str], columns: Any, currency: str
) -> list[tuple[str, str, str, dict[str, str]]]:
    """(KPI id, column, label, breakdown) of each quarter row; ``family_sales`` gives one row
    per focus family whose column the data have."""
    out = []
    for kpi in kpi_ids:
        if kpi == "family_sales":
            for fam in FOCUS_FAMILIES:
                if f"sales_{fam}" in columns:
                    label = f"{kpi_label(kpi, currency)}: {fam.replace('_', ' ')}"
                    out.append((kpi, f"sales_{fam}", label, {"family": fam}))
        elif kpi in columns:
            out.append((kpi, kpi, kpi_label(kpi, currency), {}))
    return out


def quarters_section(
    outlet_kpis: pd.DataFrame,
    scope: PlanScope,
    kpi_ids: Sequence[str],
    n_quarters: int = 5,
    customer_values: pd.DataFrame | None = None,
    counts: PlanCounts | None = None,
) -> Section:
    """The plan's focus KPIs by quarter for every level the report shows (last ``n_quarters``;
    a quarter still running is marked "to date").

    ``customer_values`` (:func:`bankanalysis.report.planning_scope.load_customer_quarters`, rows
    of :func:`bankanalysis.planning.customer_period_values`) adds the scorecard's customer KPIs
    (retention, coverage, card matching) at each quarter's last month; they replace the outlet
    rows' values of those KPIs and are shown after ``kpi_ids``. A figure whose group (the
    level's customers, or the KPI's own group: base-month or quality-and-above customers) has 1
    to k-1 customers is withheld, and an outlet's count ``counts``
    (:func:`~bankanalysis.report.disclosure_plan.protect_plan_counts`) withholds.
    """
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
    if customer_values is not None and len(customer_values):
        q, kpi_ids = _with_customer_values(q, customer_values, kpi_ids)
    ids = _quarter_rows(kpi_ids, q.columns, scope.currency)
    left_out = [c for c in kpi_ids if c != "family_sales" and c not in q.columns]
    complete = q.groupby("period_label")["complete"].all()
    heads = {p: p if complete[p] else f"{p} (to date)" for p in quarters}
    rows = []
    for (level, gid), grp in scope.shown(q).groupby(["level", "id"], sort=False):
        g = grp.set_index("period_label")
        # the level's group size per quarter, decided once (not once per KPI and quarter)
        small_at = small_rows(g, scope.min_group_size)
        small_at = small_at[~small_at.index.duplicated()]
        for kpi, col, label, by in ids:
            row = {"Scope": scope.label(level, gid), "KPI": label}
            for p in quarters:
                if p not in g.index:
                    row[heads[p]] = format_value(kpi, Absent("not in the data"), scope.currency)
                    continue
                small = bool(small_at[p])
                group = KPI_GROUP.get(kpi)
                if group in g.columns and kpi in pl.CUSTOMER_PERIOD_KPIS:
                    small = small or bool(is_small(float(g.at[p, group]), scope.min_group_size))
                value = figure(g.at[p, col], "not measured in the quarter")
                st = _count_status(counts, level, gid, kpi, p)
                if st:
                    value = cell_value(value, st, scope.min_group_size)
                row[heads[p]] = cell(kpi, value, scope.currency, small, scope.min_group_size)
                key = scope.key(kpi, level, gid, **by, quarter=p)
                if key is not None and complete[p]:
                    v = g.at[p, col]
                    sec.metrics[key] = (
                        Suppressed(scope.min_group_size)
                        if small and kpi not in NOT_CUSTOMER
                        else cell_value(v, st, scope.min_group_size)
                        if st
                        else figure(v, "not measured in the quarter")
                    )
            rows.append(row)
    note = (
        "Flows (deposits added, fee income, sales, new customers) are the quarter's sums; rates "
        "are recomputed from the quarter's summed hours and transactions; other KPIs are at the "
        "quarter's last month."
    )
    if not rows:
        missing = ", ".join(left_out) or "none chosen"
        sec.parts.append(f"None of the quarter KPIs is computed from this extract: {missing}.")
        return sec
    if left_out:
        note += " Not computed from this extract: " + ", ".join(left_out) + "."
    sec.parts.append(KpiTable(pd.DataFrame(rows), note=note))
    return sec


def _with_customer_values(
    q: pd.DataFrame, customer_values: pd.DataFrame, kpi_ids: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Quarter rows with the customer KPIs (and their groups) of ``customer_values``."""
    keys = ["period_label", "level", "id"]
    cols = [c for c in customer_values.columns if c in pl.CUSTOMER_PERIOD_KPIS]
    groups = [c for c in ("base_customers", "quality_plus_customers") if c in customer_values]
    cv = customer_values.drop_duplicates(keys, keep="last").set_index(keys)
    out = q.drop(columns=[c for c in (*cols, *groups) if c in q.columns]).join(
        cv[[*cols, *groups]], on=keys
    )
    return out, [*kpi_ids, *(c for c in cols if c not in kpi_ids)]


# --------------------------------------------------------------------------- changes


def changes_section(
    monthly: pd.DataFrame, scope: PlanScope, counts: PlanCounts | None = None
) -> Section:
    """Month-on-month and year-on-year changes of every plan KPI the data measure.

    ``counts`` (:func:`~bankanalysis.report.disclosure_plan.protect_plan_counts`) withholds an
    outlet's count and its changes (a change and the month give the month compared with)."""
    sec = Section("year-on-year")
    ids = [k.id for k in kpi_dict.plan_kpis() if k.id in monthly.columns]
    every = scope.shown(pl.changes(monthly, scope.month, ids))
    ch = every.loc[every["level"] != "region"] if scope.region_id is None else every
    customers = customers_at(monthly, scope.month)
    rows = []
    for r in ch.itertuples(index=False):
        small = bool(is_small(customers.get((r.level, r.id), 0.0), scope.min_group_size))
        hide = small and r.kpi not in NOT_CUSTOMER
        k = scope.min_group_size
        st = {p: _count_status(counts, r.level, r.id, r.kpi, p) for p in (scope.month, MOM, YOY)}
        value = cell_value(r.value, st[scope.month], k)
        mom, yoy = (
            cell_value(0.0, st[p], k) if st[p] and not why else None
            for p, why in ((MOM, r.mom_reason), (YOY, r.yoy_reason))
        )
        on_month = _change_pair(r.kpi, mom, r.mom_change, r.mom_pct, r.mom_reason, hide, k, scope)
        on_year = _change_pair(r.kpi, yoy, r.yoy_change, r.yoy_pct, r.yoy_reason, hide, k, scope)
        rows.append(
            {
                "Scope": scope.label(r.level, r.id),
                "KPI": kpi_label(r.kpi, scope.currency),
                scope.month: cell(r.kpi, value, scope.currency, hide, scope.min_group_size),
                "On the month": on_month[0],
                "On the month (%)": on_month[1],
                "On the year": on_year[0],
                "On the year (%)": on_year[1],
            }
        )
    sec.parts.append(change_sentences(ch, scope, counts))
    note = "Shares change in percentage points (pp); the % columns are relative changes of amounts and counts."
    sec.parts.append(KpiTable(pd.DataFrame(rows), note=note))
    if scope.region_id is None:
        sec.parts.append(
            _region_change_grid(every.loc[every["level"] == "region"], scope, customers, counts)
        )
    return sec


def _change_pair(
    kpi: str,
    withheld: Suppressed | None,
    change: float,
    pct: float,
    reason: str | None,
    hide: bool,
    k: int,
    scope: PlanScope,
) -> tuple[str, str]:
    """One change's two cells (the change and the change in %): both show the withheld marker
    ``withheld`` when the count's protection withholds them, else the formatted change."""
    if withheld is not None:
        return format_value(kpi, withheld), format_value("plan_projected_gap", withheld)
    return (
        _change(kpi, change, reason, hide, k, scope.currency),
        _pct(pct, reason, hide, k),
    )


def _region_change_grid(
    ch: pd.DataFrame,
    scope: PlanScope,
    customers: Mapping[tuple[str, str], float],
    counts: PlanCounts | None = None,
) -> KpiTable:
    """Regions x plan KPIs: the change on the year (absent with its reason without one); the
    headers say "on the year", so a withheld change reads as no region's figure itself."""
    rows = []
    for gid, grp in ch.groupby("id", sort=True):
        small = bool(is_small(customers.get(("region", gid), 0.0), scope.min_group_size))
        row = {"Region": scope.label("region", gid)}
        for r in grp.itertuples(index=False):
            hide = small and r.kpi not in NOT_CUSTOMER
            st = _count_status(counts, "region", gid, r.kpi, YOY)
            row[f"{kpi_label(r.kpi, scope.currency)} on the year"] = (
                format_value(r.kpi, cell_value(0.0, st, scope.min_group_size))
                if st and not r.yoy_reason
                else _change(
                    r.kpi, r.yoy_change, r.yoy_reason, hide, scope.min_group_size, scope.currency
                )
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


def change_sentences(ch: pd.DataFrame, scope: PlanScope, counts: PlanCounts | None = None) -> str:
    """The scope's plan KPIs' changes on the year (or on the month without a year) in words;
    a change ``counts`` withholds is not said."""
    level = "bank" if scope.region_id is None else "region"
    me = ch.loc[(ch["level"] == level) & (ch["id"] == (scope.region_id or BANK_ID))]
    who = "The bank" if scope.region_id is None else scope.label("region", scope.region_id)
    said = []
    for r in me.itertuples(index=False):
        name = kpi_dict.get(r.kpi).name.lower()
        if _count_status(counts, r.level, r.id, r.kpi, YOY) or _count_status(
            counts, r.level, r.id, r.kpi, MOM
        ):
            continue
        if not r.yoy_reason and not is_missing(r.yoy_change):
            said.append(f"{name} {format_change(r.kpi, r.yoy_change, scope.currency)} on the year")
        elif not r.mom_reason and not is_missing(r.mom_change):
            said.append(f"{name} {format_change(r.kpi, r.mom_change, scope.currency)} on the month")
    if not said:
        return f"{who}: the data hold no earlier month to compare {scope.month} with."
    return f"{who}, {scope.month}: " + "; ".join(said) + "."


# --------------------------------------------------------------------------- summary


#: The HTML id of the summary's plan paragraph.
PLAN_SUMMARY_ID = "summary-plan"


def plan_summary_sentences(
    monthly: pd.DataFrame,
    targets: pd.DataFrame | None,
    scope: PlanScope,
    *,
    path: str = "linear",
    weights: Sequence[float] | None = None,
    counts: PlanCounts | None = None,
) -> list[str]:
    """Plan progress in one or two sentences for a report's summary: the scope's year to date
    against the annual plan (when the data carry annual targets) and the changes of the plan's
    cumulative KPIs (:data:`bankanalysis.planning.PLAN_FLOW_KPIS`) on the year, or on the month
    without a year (:func:`change_sentences`).

    A scope whose customers are a small group (1 to k-1) gets no sentence about customer
    figures: nothing is said rather than a withheld figure; neither is a count ``counts``
    (:func:`~bankanalysis.report.disclosure_plan.protect_total_counts`) withholds.
    """
    level = "bank" if scope.region_id is None else "region"
    gid = scope.region_id or BANK_ID
    n = customers_at(monthly, scope.month).get((level, gid), 0.0)
    if bool(is_small(n, scope.min_group_size)):
        return []
    out = []
    ytd = pl.ytd_progress(monthly, targets, scope.month, path, weights)
    mine = ytd.loc[(ytd["level"] == level) & (ytd["id"] == gid)]
    if len(mine):
        out.append(_ytd_sentence(mine, scope, counts))
    ch = pl.changes(monthly, scope.month, [k for k in pl.PLAN_FLOW_KPIS if k in monthly.columns])
    out.append(change_sentences(ch, scope, counts))
    return out


def plan_summary_html(ctx: Any, params: Mapping[str, Any], counts: PlanCounts | None = None) -> str:
    """The summary's "Plan progress" paragraph of a report (:func:`plan_summary_sentences` on
    the report's context; ``plan_path`` and ``plan_season_weights`` from ``params``); empty
    when there is nothing to say. ``counts``: the run's
    :func:`~bankanalysis.report.disclosure_plan.protect_total_counts` (computed when not
    given)."""
    import html

    scope = scope_for(ctx)
    kpis = load_plan_kpis(ctx)
    monthly = plan_monthly(kpis, scope)
    said = plan_summary_sentences(
        monthly,
        ctx.bank.targets,
        scope,
        path=str(params.get("plan_path", "linear")),
        weights=params.get("plan_season_weights"),
        counts=counts if counts is not None else load_total_counts(ctx, params),
    )
    if not said:
        return ""
    text = " ".join(html.escape(s) for s in said)
    return f"<p id='{PLAN_SUMMARY_ID}'><strong>Plan progress.</strong> {text}</p>"


# --------------------------------------------------------------------------- overview actuals


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
