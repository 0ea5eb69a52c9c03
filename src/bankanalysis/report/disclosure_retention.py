"""Disclosure control of the regions' and echelons' stock retention (their lost customers).

Stock retention is the share of a unit's customers of the base month (``lookback_months``
earlier) still active at the month-end; with the base customers, which the run publishes
(customer growth times the customers, the change on the year), it gives the unit's **lost
customers** exactly: ``lost = base x (1 - retention)``. A region whose lost customers of a
period are 1 to ``k - 1`` is a small group, and every report of a run prints its retention:
the overview's scorecard, heat map, league ranks and quarter table, 03's quarter table, the
summaries' standing table, 01's migration figures. :func:`protect_retention` decides once per
run which of those figures are withheld:

- cells: the lost customers of every region, echelon and the bank at every month-end a report
  prints a retention for (the quarter ends of the quarter tables, the data month, the month
  before and three months before of the standing table);
- relations: per month-end, the regions add up to their echelon, the echelons to the bank
  (lost customers are counted in the unit of the base month, so they add up exactly);
- primary: a region's or an echelon's lost customers of 1 to ``k - 1``, and every unit whose
  base customers are 1 to ``k - 1`` (the small-group rule withholds its retention already);
- published (``fixed``): the bank's figures and, first, every region's lost customers that
  are not primary (01 prints them with its migration figures), so that secondary cells are
  echelons, whose figures no 01 prints; only when that leaves a primary cell recoverable (a
  region alone small in the bank: the bank minus every other region gives it) are other
  regions' figures candidates too, and 01 then withholds such a region's lost customers as
  ``x`` (secondary).

03's quarter table also prints the region's outlets' retention, whose lost customers add up
to the region's: an outlet's of 1 to ``k - 1`` is withheld too, with another outlet where the
region's figure would give it back, and a region the run withholds is not given back by its
outlets (:func:`_outlet_status`).

The answer is a :class:`~bankanalysis.report.disclosure_plan.PlanCounts` keyed
``(unit_key(level, id), "stock_retention", period)`` (an outlet by its id; a month, and the
quarter label of a quarter end), so the plan sections read it like the run's new-customer counts
(:func:`~bankanalysis.report.disclosure_totals.load_total_figures` merges them with the AUM
totals). The policy is in ``docs/privacy.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis.report.disclosure_plan import (
    PlanCounts,
    month_end_status,
    unit_key,
    withhold_figures,
)
from bankanalysis.report.retention_counts import end_rows
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.disclosure_secondary import (
    PRIMARY,
    SECONDARY,
    LinearTable,
    Protection,
    fail_safe,
    failsafe_steps,
    protect,
)
from bankanalysis.rules.months import base_month, quarter_of, shift_month

__all__ = [
    "KPI",
    "RUN_DECIDED",
    "WITHHELD_WITH",
    "load_lost_counts",
    "load_retention",
    "lost_withheld",
    "lost_counts",
    "protect_retention",
    "region_status",
    "retention_months",
    "retention_setup",
    "retention_table",
    "withhold_metrics",
    "withhold_scorecard",
    "withhold_standing",
]

logger = logging.getLogger(__name__)

#: The KPI under which :func:`protect_retention` keys its answer.
KPI = "stock_retention"
#: Figures that give the lost customers back with the published base: withheld with them.
WITHHELD_WITH: tuple[str, ...] = ("stock_retention", "attrition_rate", "lost_customers")


def retention_months(
    months: Sequence[str], month: str, n_quarters: int = 5, back: Sequence[int] = (1, 3)
) -> dict[str, str]:
    """The month-ends a run prints a retention for, each with its quarter label when it is the
    last month of its quarter in the data (``""`` otherwise).

    The quarter tables show the last ``n_quarters`` quarters at their last month in the data
    (the quarter so far at the data month); the summaries' standing table the data month and
    ``back`` months before it.

    Examples
    --------
    >>> ms = [f"2025-{m:02d}" for m in range(1, 11)]
    >>> retention_months(ms, "2025-10", n_quarters=2)
    {'2025-07': '', '2025-09': '2025-Q3', '2025-10': '2025-Q4'}
    """
    have = sorted(m for m in months if m <= month)
    last: dict[str, str] = {}
    for m in have:
        last[quarter_of(m)] = m
    ends = {last[q]: q for q in sorted(last)[-n_quarters:]}
    out = {m: ends.get(m, "") for m in ends}
    for b in back:
        m = shift_month(month, -int(b))
        if m in set(have):
            out.setdefault(m, ends.get(m, ""))
    return dict(sorted(out.items()))


def lost_counts(
    cm: pd.DataFrame,
    ends: Iterable[str],
    months: Sequence[str],
    lookback: int,
    echelon_of: Mapping[str, Any],
) -> pd.DataFrame:
    """Base and lost customers of every region, echelon and the bank at each month-end.

    ``cm`` holds ``month, customer_id, region_id`` (and ``outlet_id``: outlets too) rows of the
    month-ends and their base months (:func:`~bankanalysis.rules.months.base_month` of
    ``months`` and ``lookback``); a base customer is lost when not active anywhere at the
    month-end (as :func:`~bankanalysis.segmentation.coverage.customer_kpis` counts stock
    retention), in the unit of the base month.

    Returns
    -------
    DataFrame
        ``month, level, id, base, lost`` (counts as float; ids as text, the bank ``"bank"``).

    Examples
    --------
    >>> cm = pd.DataFrame({"month": ["2025-01"] * 3 + ["2025-02"] * 2,
    ...                    "customer_id": ["a", "b", "c", "a", "d"],
    ...                    "region_id": ["R1", "R1", "R2", "R1", "R2"]})
    >>> lost_counts(cm, ["2025-02"], ["2025-01", "2025-02"], 12, {"R1": 1, "R2": 1}
    ...             )[["level", "id", "base", "lost"]].values.tolist()
    [['region', 'R1', 2.0, 1.0], ['region', 'R2', 1.0, 1.0], ['echelon', '1', 3.0, 2.0], ['bank', 'bank', 3.0, 2.0]]
    """
    frames = []
    regions = sorted(str(r) for r in echelon_of)
    for end in ends:
        base = base_month(months, end, lookback)
        now = set(cm.loc[cm["month"] == end, "customer_id"])
        cols = ["customer_id", "region_id"] + (["outlet_id"] if "outlet_id" in cm.columns else [])
        b = cm.loc[cm["month"] == base, cols]
        rows = b.drop(columns="customer_id").astype(str)
        rows["base"], rows["lost"] = 1.0, (~b["customer_id"].isin(now)).astype("float64")
        # 03's quarter table prints its outlets' retention: outlets when the data hold them
        frames += end_rows(end, rows, regions, echelon_of)
    cols = ["month", "level", "id", "base", "lost"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols].reset_index(drop=True)


def retention_table(
    lost: pd.DataFrame, echelon_of: Mapping[str, Any], k: int, regions_fixed: bool = True
) -> tuple[LinearTable, list[str], dict[str, str]]:
    """The lost customers of one month-end as cells and relations.

    ``lost`` has ``level, id, base, lost`` (:func:`lost_counts` of one month). Cells are
    :func:`~bankanalysis.report.disclosure_plan.unit_key`; the regions add up to their
    echelon, the echelons to the bank. Returns ``(table, primary, hidden)``: primary the
    regions' and echelons' lost customers of 1 to ``k - 1``, hidden (``"primary"``) those of a
    unit whose base is 1 to ``k - 1`` (withheld by the small-group rule, audited like primary
    when they are 1 to ``k - 1`` themselves). Fixed: the bank and, with ``regions_fixed``,
    every region not withheld (so that secondary cells are echelons).

    Examples
    --------
    >>> f = pd.DataFrame({"level": ["region", "region", "echelon", "bank"],
    ...                   "id": ["R1", "R2", "1", "bank"], "base": [70.0, 190, 260, 260],
    ...                   "lost": [4.0, 14, 18, 18]})
    >>> t, primary, hidden = retention_table(f, {"R1": 1, "R2": 1}, 10)
    >>> primary, sorted(t.fixed)
    (['region=R1'], ['bank=bank', 'region=R2'])
    """
    values: dict[str, float] = {}
    primary: list[str] = []
    hidden: dict[str, str] = {}
    fixed: set[str] = set()
    for r in lost.itertuples(index=False):
        cell = unit_key(r.level, r.id)
        values[cell] = float(r.lost)
        if r.level == "bank":
            fixed.add(cell)
            continue
        if bool(is_small([r.base], k)[0]):
            hidden[cell] = PRIMARY
        elif bool(is_small([r.lost], k)[0]):
            primary.append(cell)
        elif r.level == "region" and regions_fixed:
            fixed.add(cell)
    relations: list[dict[str, float]] = []
    regions = lost.loc[lost["level"] == "region", "id"].astype(str)
    by_echelon: dict[str, list[str]] = {}
    for rid in regions:
        by_echelon.setdefault(str(echelon_of[rid]), []).append(rid)
    bank = {unit_key("bank", "bank"): -1.0}
    for e, rids in sorted(by_echelon.items()):
        ecell = unit_key("echelon", e)
        if ecell not in values:
            continue
        rel = {unit_key("region", r): 1.0 for r in rids}
        rel[ecell] = -1.0
        relations.append(rel)
        bank[ecell] = 1.0
    if unit_key("bank", "bank") in values and len(bank) > 1:
        relations.append(bank)
    table = LinearTable(values=values, relations=tuple(relations), fixed=frozenset(fixed))
    return table, sorted(primary), hidden


def protect_retention(
    lost: pd.DataFrame,
    echelon_of: Mapping[str, Any],
    k: int,
    quarters: Mapping[str, str] | None = None,
    outlet_region: Mapping[str, str] | None = None,
) -> PlanCounts:
    """Which units' stock retention (and lost customers, attrition) a run withholds.

    Parameters
    ----------
    lost : DataFrame
        :func:`lost_counts` (``month, level, id, base, lost``), every month-end printed.
    echelon_of : mapping
        Region id -> echelon.
    k : int
        ``min_group_size``.
    quarters : mapping, optional
        Month-end -> the quarter label it stands for (:func:`retention_months`; ``""`` none).
    outlet_region : mapping, optional
        Outlet id -> region id, for the ``outlet`` rows of ``lost`` (03's quarter table prints
        each outlet's retention: :func:`_outlet_status`; keyed by the outlet id).

    Returns
    -------
    PlanCounts
        ``status[(unit_key(level, id), "stock_retention", period)]``, ``period`` a month and,
        for a quarter end, its quarter label; one :class:`Protection` per month-end.

    Examples
    --------
    R1's 4 and R3's 6 lost customers would come back as their echelons' 18 and 26 minus the
    other regions' 14 and 20: both echelons are withheld (``x``), and the bank's 44 minus the
    published 14 and 20 leaves R1 + R3 = 10, each anywhere from 1 to 9.

    >>> f = pd.DataFrame({"month": "2025-03",
    ...                   "level": ["region"] * 4 + ["echelon"] * 2 + ["bank"],
    ...                   "id": ["R1", "R2", "R3", "R4", "1", "2", "bank"],
    ...                   "base": [70.0, 190, 80, 300, 260, 380, 640],
    ...                   "lost": [4.0, 14, 6, 20, 18, 26, 44]})
    >>> eo = {"R1": 1, "R2": 1, "R3": 2, "R4": 2}
    >>> {u: s for (u, _, _), s in protect_retention(f, eo, 10).status.items()}
    {'region=R1': 'primary', 'region=R3': 'primary', 'echelon=1': 'secondary', 'echelon=2': 'secondary'}

    With R3's 16 (not small) R1 alone is small, and the bank minus every other region gives it
    back whatever the echelons show: another region is withheld (``x``) instead.

    >>> f.loc[f["id"].isin(["R3"]), "lost"] += 10
    >>> f.loc[f["id"].isin(["2", "bank"]), "lost"] += 10
    >>> {u: s for (u, _, _), s in protect_retention(f, eo, 10).status.items()}
    {'region=R1': 'primary', 'region=R2': 'secondary'}
    """
    status: dict[tuple[str, str, str], str] = {}
    prots: list[Protection] = []
    outlets = lost.loc[lost["level"] == "outlet"]
    lost = lost.loc[lost["level"] != "outlet"]
    for month, part in lost.groupby("month", sort=True):
        table, primary, hidden = retention_table(part, echelon_of, k)
        prot = protect(table, primary, k, hidden=hidden)
        if not prot.safe:  # echelons alone are not enough: other regions' figures too
            table, primary, hidden = retention_table(part, echelon_of, k, regions_fixed=False)
            prot = protect(table, primary, k, hidden=hidden)
        if not prot.safe:
            logger.warning(
                "stock retention %s: %d withheld figures stay recoverable",
                month,
                int((~prot.audit["safe"]).sum()),
            )
        prots.append(prot)
        status.update(month_end_status(prot.status, KPI, str(month), quarters))
    for month, part in outlets.groupby("month", sort=True):
        mine = _outlet_status(part, outlet_region or {}, status, str(month), k)
        status.update(month_end_status(mine, KPI, str(month), quarters))
    return PlanCounts(status=status, k=int(k), protection=tuple(prots))


def _outlet_status(
    outlets: pd.DataFrame,
    outlet_region: Mapping[str, str],
    run: Mapping[tuple[str, str, str], str],
    month: str,
    k: int,
) -> dict[str, str]:
    """The outlets' retention of one month-end 03's quarter table withholds: per region, its
    outlets add up to it (lost customers by the base month's outlet). An outlet's lost
    customers of 1 to ``k - 1`` are primary; the region's cell is published (fixed), or
    withheld as the run withholds it: primary (audited here too, so that its outlets cannot
    give it back), or secondary (every outlet withheld with it: a secondary cell must not come
    back either). Where the greedy search gives up, the fail-safe withholds every outlet of the
    region (status ``"fail-safe"``, shown ``withheld``)."""
    out: dict[str, str] = {}
    frame = outlets.assign(region=outlets["id"].astype(str).map(outlet_region))
    for rid, part in frame.dropna(subset=["region"]).groupby("region", sort=True):
        run_st = run.get((unit_key("region", rid), KPI, month), "")
        cells = {str(o): float(v) for o, v in zip(part["id"], part["lost"], strict=True)}
        hidden = {
            str(o): PRIMARY
            for o, b in zip(part["id"], part["base"], strict=True)
            if bool(is_small([b], k)[0])
        }
        primary = [o for o, v in cells.items() if o not in hidden and bool(is_small([v], k)[0])]
        if run_st == SECONDARY:  # "<k" where small, "x" for the others
            out.update({o: PRIMARY if o in hidden or o in primary else SECONDARY for o in cells})
            continue
        if run_st:
            hidden["region"] = PRIMARY
        if not primary and not hidden:
            continue
        table = LinearTable(
            values={**cells, "region": sum(cells.values())},
            relations=({**dict.fromkeys(cells, 1.0), "region": -1.0},),
            fixed=frozenset() if run_st else frozenset({"region"}),
        )
        prot = protect(table, primary, k, hidden=hidden)
        # where no choice of outlets protects a cell (the region's published retention less
        # the others pins it), every outlet of the region is withheld under "withheld"
        prot = fail_safe(table, prot, failsafe_steps(cells), k)
        if not prot.safe:
            logger.warning(
                "stock retention %s: %d withheld outlet figures stay recoverable",
                month,
                int((~prot.audit["safe"]).sum()),
            )
        shown = {c: prot.shown_status(c) for c in (*prot.status, *prot.failsafe)}
        out.update({c: st for c, st in shown.items() if c != "region" and st})
    return out


def region_status(retention: PlanCounts | None, region_id: str, month: str) -> str:
    """``""``, ``"primary"`` or ``"secondary"``: how the run stands region ``region_id``'s
    stock retention of ``month``."""
    if retention is None:
        return ""
    return retention.of_level("region", str(region_id), KPI, month)


def lost_withheld(
    retention: PlanCounts | None,
    region_id: str,
    month: str,
    since: str,
    months: Sequence[str],
    lookback: int,
) -> str:
    """How 01's migration table must withhold the region's lost customers since ``since``
    (its base month, ``migration_months`` before): the run's status of the region's stock
    retention of ``month`` when its base month (``lookback`` months before) is ``since`` (the
    same figure, which the run then publishes nowhere), else ``""`` (published).

    Examples
    --------
    >>> pc = PlanCounts({("region=R1", KPI, "2025-12"): "primary"})
    >>> ms = [f"2025-{m:02d}" for m in range(1, 13)]
    >>> lost_withheld(pc, "R1", "2025-12", "2025-01", ms, 12), lost_withheld(pc, "R1", "2025-12", "2025-06", ms, 12)
    ('primary', '')
    """
    st = region_status(retention, region_id, month)
    if not st or base_month([m for m in months if m <= month], month, int(lookback)) != since:
        return ""
    return st


#: The scorecard KPIs the run decides for every report alike: the stock retention (lost
#: customers, here) and the shares with a small side (:mod:`~bankanalysis.report.
#: disclosure_shares`), keyed in the run's :class:`PlanCounts` by KPI.
RUN_DECIDED: tuple[str, ...] = (KPI, "wealth_card_matching", "product_coverage")


def withhold_scorecard(
    sc: Any,
    run: PlanCounts | None,
    month: str,
    level: str = "region",
    kpis: Sequence[str] = RUN_DECIDED,
) -> Any:
    """A :class:`~bankanalysis.report.overview.Scorecard` (rows of ``level``: regions,
    echelons keyed by their number as text, or the bank's one row ``"all"``) with every figure
    of ``kpis`` at ``month`` the run withholds (``run``: :func:`load_retention`, or every
    decision at once, :func:`~bankanalysis.report.disclosure_totals.load_total_figures`) set
    to NaN (the heat map and the league table leave it out) and its status in
    ``sc.run_withheld`` (the tables, sentences and ``metrics.json`` show ``<k``, ``x`` or
    ``withheld``).

    Examples
    --------
    >>> from bankanalysis.report.overview import Scorecard
    >>> regions = pd.DataFrame({"region_id": ["R1", "R2"], "wealth_card_matching": [0.78, 0.6]})
    >>> sc = Scorecard(regions, regions[[]].assign(wealth_card_matching=False), regions[:0], "2025-10")
    >>> run = PlanCounts({("region=R1", "wealth_card_matching", "2026-10"): "primary"})
    >>> out = withhold_scorecard(sc, run, "2026-10")
    >>> out.regions["wealth_card_matching"].tolist(), out.run_withheld
    ([nan, 0.6], {('R1', 'wealth_card_matching'): 'primary'})
    """
    if run is None:
        return sc
    from bankanalysis.report.overview import BANK_KEY

    regions, bank = sc.regions.copy(), sc.bank.copy()
    marks: dict[tuple[str, str], str] = dict(sc.run_withheld)
    for i, rid in regions["region_id"].items():
        unit = "bank" if level == "bank" else str(rid)
        for kpi in (k for k in kpis if k in regions.columns):
            st = run.of_level(level, unit, kpi, month)
            if st:
                regions.at[i, kpi] = np.nan
                if not bool(sc.withheld.at[i, kpi]):
                    marks[(str(rid), kpi)] = st
    for kpi in (k for k in kpis if k in bank.columns and len(bank)):  # the bank's own row
        st = run.of_level("bank", "bank", kpi, month)
        if st:
            bank.loc[bank.index[0], kpi] = np.nan
            marks[(BANK_KEY, kpi)] = st
    return replace(sc, regions=regions, bank=bank, run_withheld=marks)


def withhold_standing(standing: Any, run: PlanCounts | None) -> Any:
    """The summaries' :class:`~bankanalysis.report.standing.Standing` (every region, echelon
    and the bank at the data month, the month before and three months before) with the
    figures the run withholds withheld (:func:`withhold_scorecard`)."""
    if run is None:
        return standing
    return replace(
        standing,
        regions={m: withhold_scorecard(sc, run, m) for m, sc in standing.regions.items()},
        echelons={
            m: withhold_scorecard(sc, run, m, "echelon") for m, sc in standing.echelons.items()
        },
        bank={m: withhold_scorecard(sc, run, m, "bank") for m, sc in standing.bank.items()},
    )


def withhold_metrics(
    metrics: Mapping[str, Any],
    run: PlanCounts | None,
    level: str,
    gid: str,
    month: str,
    kpis: Sequence[str] = RUN_DECIDED,
) -> dict[str, Any]:
    """A report's figures of one unit (``metrics``, KPI -> value) with those of ``kpis`` the
    run withholds at ``month`` (:func:`withhold_scorecard`'s answer) under their marker: 01's
    region coverage figures and sentence print what the scorecards print.

    Examples
    --------
    >>> run = PlanCounts({("region=R1", "wealth_card_matching", "2026-10"): "primary"}, k=10)
    >>> out = withhold_metrics({"wealth_card_matching": 0.78, "e_banking_penetration": 0.5},
    ...                        run, "region", "R1", "2026-10")
    >>> str(out["wealth_card_matching"]), out["e_banking_penetration"]
    ('<10', 0.5)
    """
    if run is None:
        return dict(metrics)
    status = {kpi: run.of_level(level, str(gid), kpi, month) for kpi in kpis if kpi in metrics}
    return withhold_figures(metrics, status, run.k)


def retention_setup(
    ctx: Any, params: Mapping[str, Any] | None = None, n_quarters: int = 5
) -> tuple[int, list[str], dict[str, str], dict[str, int]]:
    """``(lookback, months, ends, echelon_of)`` of a report context: the run's
    ``lookback_months`` (``params``, the report's ``globals()``, or the overview's default),
    the data months up to the report's month, the month-ends printed
    (:func:`retention_months`) and region id -> echelon."""
    from bankanalysis.report.standing import scorecard_params

    lookback = int(scorecard_params(params or {})["lookback_months"])
    months = [m for m in ctx.bank.months if m <= ctx.month]
    ends = retention_months(months, ctx.month, n_quarters)
    regions = ctx.bank.regions
    if "region_id" in regions.columns:
        regions = regions.set_index("region_id")
    echelon_of = {str(r): int(e) for r, e in regions["echelon"].items()}
    return lookback, months, ends, echelon_of


def load_lost_counts(
    ctx: Any, params: Mapping[str, Any] | None = None, n_quarters: int = 5
) -> pd.DataFrame:
    """:func:`lost_counts` of every customer at the month-ends a run prints a retention for
    (:func:`retention_setup`), counted in DuckDB
    (:func:`~bankanalysis.report.retention_counts.bank_lost_counts`) once per data, month,
    ``lookback_months`` and package source (stored under ``<processed>/_models/lost_counts``):
    the stock-retention decision and the joint decision with the new customers
    (:func:`~bankanalysis.report.disclosure_window.load_window`) read the same frame."""
    from bankanalysis.propensity.cache import cached_for_data
    from bankanalysis.report.retention_counts import bank_lost_counts

    lookback, months, ends, echelon_of = retention_setup(ctx, params, n_quarters)

    def build() -> pd.DataFrame:
        return (
            bank_lost_counts(ctx.bank, ends, months, lookback, echelon_of)
            .groupby(["month", "level", "id"], sort=False)[["base", "lost"]]
            .sum()
            .reset_index()
        )

    key = {
        "what": "lost customers of regions, echelons and outlets",
        "month": ctx.month,
        "lookback": lookback,
        "n_quarters": int(n_quarters),
    }
    return cached_for_data(ctx.bank, "lost_counts", key, build)[0]


def load_retention(
    ctx: Any, params: Mapping[str, Any] | None = None, n_quarters: int = 5
) -> PlanCounts:
    """The run's :func:`protect_retention`, computed once per data, month, ``min_group_size``,
    ``lookback_months`` and package source (stored under ``<processed>/_models/retention``
    like :func:`~bankanalysis.report.planning_scope.load_total_counts`): every report of the
    run reads the same answer, so none prints a retention another withholds.

    ``params`` is the report's ``globals()`` (``lookback_months``, the overview's default
    when the report has none, as :func:`~bankanalysis.report.standing.scorecard_params`). The
    lost customers are :func:`load_lost_counts`' (DuckDB's counts of ``month, customer_id,
    region_id, outlet_id`` of the month-ends and their base months).
    """
    from bankanalysis.propensity.cache import cached_for_data

    lookback, _, ends, echelon_of = retention_setup(ctx, params, n_quarters)

    def build() -> PlanCounts:
        lost = load_lost_counts(ctx, params, n_quarters)
        outlets = ctx.bank.outlets
        outlet_region = {
            str(o): str(r) for o, r in zip(outlets["outlet_id"], outlets["region_id"], strict=True)
        }
        return protect_retention(lost, echelon_of, ctx.min_group_size, ends, outlet_region)

    params_key = {
        "what": "retention of regions, echelons and outlets",
        "month": ctx.month,
        "k": int(ctx.min_group_size),
        "lookback": lookback,
        "n_quarters": int(n_quarters),
    }
    return cached_for_data(ctx.bank, "retention", params_key, build)[0]
