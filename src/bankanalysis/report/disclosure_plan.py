"""Disclosure control of the outlets' customer counts in the plan tables of 03.

The outlet table, the peer ranks and 02's scorecards withhold an outlet's new customers of
the data month (:func:`~bankanalysis.report.disclosure.protect_outlet_counts`). The plan
tables (:mod:`bankanalysis.report.planning`: progress against the plan, quarters, changes)
print the same count for every period: the data month, each quarter, the year to date, the
change on the month and on the year. Those figures are tied to each other and to the
region's row, so each is a cell of one :class:`LinearTable` per count:

- the outlets of a period add up to the region's figure (published; never withheld);
- a quarter is the sum of its months, the year to date the sum of its quarters;
- a change shown says the month compared with: month - change = the previous month (or the
  same month a year before). Those months are printed nowhere (``unmarked``): a change is
  shown only when its month is, and withholding the change withholds the month compared with.

Primary cells: every printed count of 1 to ``k - 1`` and every month a change or a quarter
stands on of 1 to ``k - 1``; the data month keeps the status the outlet table gives it (the
same cells withheld everywhere) and is never withheld in addition. Secondary cells come from
:func:`~bankanalysis.rules.disclosure_secondary.protect` and its audit. The policy is in
``docs/privacy.md`` ("Operational counts at outlet level").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bankanalysis.report.disclosure_grid import cell_value
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.disclosure_secondary import (
    PRIMARY,
    SECONDARY,
    LinearTable,
    Protection,
    protect,
)
from bankanalysis.rules.months import quarter_of, shift_month

__all__ = [
    "MOM",
    "YOY",
    "PlanCounts",
    "month_status",
    "plan_count_table",
    "protect_plan_counts",
    "year_counts",
]

logger = logging.getLogger(__name__)

#: Period keys of the change columns in :attr:`PlanCounts.status`.
MOM, YOY = "mom", "yoy"


@dataclass(frozen=True)
class PlanCounts:
    """Which outlet counts the plan tables withhold.

    Attributes
    ----------
    status : mapping
        ``{(outlet id, kpi, period): "primary" | "secondary"}``; ``period`` is a month
        (``"2026-10"``), a quarter (``"2026-Q4"``), a year (``"2026"``) or :data:`MOM` /
        :data:`YOY` (the changes); absent = shown.
    k : int
        ``min_group_size``.
    protection : tuple of Protection
        One per count, printed cells only (its audit covers the months printed nowhere too).
    """

    status: Mapping[tuple[str, str, str], str] = field(default_factory=dict)
    k: int = 10
    protection: tuple[Protection, ...] = ()

    def of(self, outlet_id: str, kpi: str, period: str) -> str:
        """``""`` (shown), ``"primary"`` or ``"secondary"``."""
        return self.status.get((str(outlet_id), kpi, str(period)), "")

    def value(self, outlet_id: str, kpi: str, period: str, value: Any) -> Any:
        """``value``, or :class:`~bankanalysis.report.format.Suppressed` when withheld."""
        return cell_value(value, self.of(outlet_id, kpi, period), self.k)

    @property
    def safe(self) -> bool:
        """Whether every primary cell passed the audit."""
        return all(p.safe for p in self.protection)


def month_status(mine: pd.DataFrame, hidden: pd.DataFrame | None) -> dict[tuple[str, str], str]:
    """``{(outlet id, kpi): status}`` of the data month from
    :func:`~bankanalysis.report.disclosure.protect_outlet_counts` (``hidden``, indexed like
    ``mine``, which has ``outlet_id``); only withheld cells.

    Examples
    --------
    >>> mine = pd.DataFrame({"outlet_id": ["O1", "O2"]})
    >>> month_status(mine, pd.DataFrame({"new_customers": ["primary", ""]}))
    {('O1', 'new_customers'): 'primary'}
    """
    if hidden is None:
        return {}
    return {
        (str(oid), str(col)): str(hidden.at[i, col])
        for i, oid in mine["outlet_id"].items()
        for col in hidden.columns
        if i in hidden.index and hidden.at[i, col]
    }


def year_counts(
    targets: pd.DataFrame | None, month: str, columns: Sequence[str] = ("new_customers",)
) -> tuple[str, ...]:
    """The counts whose year to date the plan tables print per outlet: those with an annual
    target at outlet level (a target of the year, or twelve month targets;
    :func:`~bankanalysis.planning.progress.annual_targets`).

    Examples
    --------
    >>> t = pd.DataFrame({"month": ["2025-12"], "level": ["outlet"], "id": ["O1"],
    ...                   "kpi": ["new_customers"], "target": [40.0], "period": ["year"]})
    >>> year_counts(t, "2025-03"), year_counts(None, "2025-03")
    (('new_customers',), ())
    """
    from bankanalysis.planning.progress import annual_targets

    ann = annual_targets(targets, int(month[:4]))
    mine = ann.loc[ann["level"] == "outlet", "kpi"]
    return tuple(c for c in columns if (mine == c).any())


def _name(who: str, what: str, label: str) -> str:
    return f"[{who},{what}={label}]"


def plan_count_table(
    outlets: pd.DataFrame,
    region: pd.Series,
    month: str,
    k: int,
    given: Mapping[str, str] | None,
    *,
    quarters: Sequence[str],
    year: bool = False,
) -> tuple[LinearTable, list[str], dict[str, str], dict[str, list[tuple[str, str]]]]:
    """One count of the plan tables as cells and relations.

    Parameters
    ----------
    outlets : DataFrame
        One row per outlet (index: outlet id), one column per month (``"YYYY-MM"``, up to
        ``month``): the count of the month (NaN: not in the data).
    region : Series
        The region's count per month (the sum of its outlets; published).
    month : str
        Data month.
    k : int
        ``min_group_size``.
    given : mapping or None
        ``{outlet id: status}`` of the data month (the outlet table's answer); an outlet not
        in it is shown there and stays shown. ``None``: the data month is decided here too.
    quarters : sequence of str
        Quarters the quarter table prints.
    year : bool
        Whether the year to date of the outlets is printed (they have targets of the year).

    Returns
    -------
    tuple
        ``(table, primary, hidden, printed)``: ``hidden`` the cells withheld before the search
        (the data month's status, the months of a withheld month's changes, the months printed
        nowhere), ``printed`` ``{cell: [(outlet id, period), ...]}`` of every cell the tables
        print (the quarter so far is the data month's cell when it holds only that month).
    """
    months = sorted(m for m in outlets.columns if m <= month)
    have = set(months)
    prev, ago = shift_month(month, -1), shift_month(month, -12)
    in_q = {q: [m for m in months if quarter_of(m) == q] for q in quarters}
    modelled = {m for q in quarters for m in in_q[q] if {month, prev, ago} & set(in_q[q])}
    modelled |= {m for m in (month, prev, ago) if m in have}
    values: dict[str, float] = {}
    relations: list[dict[str, float]] = []
    fixed: set[str] = set()
    unmarked: set[str] = set()
    hidden: dict[str, str] = {}
    primary: list[str] = []
    printed: dict[str, list[tuple[str, str]]] = {}
    units = [("region", region)] + [(f"outlet={o}", outlets.loc[o]) for o in outlets.index]

    def month_cell(who: str, m: str) -> str:
        return _name(who, "month", m)

    def quarter_cell(who: str, q: str) -> str:
        only_month = in_q[q] == [month]  # the quarter so far is the data month: one figure
        return month_cell(who, month) if only_month else _name(who, "quarter", q)

    for who, series in units:
        oid = who.removeprefix("outlet=")
        v = series.reindex(months).astype("float64").fillna(0.0)
        for m in sorted(modelled):
            values[month_cell(who, m)] = float(v[m])
        for q in quarters:
            values[quarter_cell(who, q)] = float(v[in_q[q]].sum())
        if year:
            values[_name(who, "year", month[:4])] = float(
                v[[m for m in months if m[:4] == month[:4]]].sum()
            )
        if who == "region":
            fixed.update(c for c in values if c.startswith("[region,"))
            continue
        # the outlet's cells: which are printed, and how they stand at the start
        now = month_cell(who, month)
        status = given.get(oid, "") if given is not None else ""
        printed.setdefault(now, []).append((oid, month))
        if status:
            hidden[now] = status
        elif given is not None:
            fixed.add(now)  # shown by the outlet table: shown here too
        for m in sorted(modelled - {month}):
            c = month_cell(who, m)
            unmarked.add(c)
            small = bool(is_small([values[c]], k)[0])
            if m in (prev, ago) and not status and not small:
                continue  # shown through its change (month - change); may be withheld
            hidden[c] = PRIMARY if small else SECONDARY
        for q in quarters:
            printed.setdefault(quarter_cell(who, q), []).append((oid, q))
        if year:
            printed.setdefault(_name(who, "year", month[:4]), []).append((oid, month[:4]))
    for c in printed:
        if c not in hidden and bool(is_small([values[c]], k)[0]):
            primary.append(c)
    # relations: every period's outlets add up to the region, quarters to their months, the
    # year to its quarters
    columns = [("month", m) for m in sorted(modelled)] + [("quarter", q) for q in quarters]
    if year:
        columns.append(("year", month[:4]))
    for what, label in columns:
        cell = {"month": month_cell, "quarter": quarter_cell}.get(what)
        names = [cell(w, label) if cell else _name(w, what, label) for w, _ in units]
        if what == "quarter" and names[0] == month_cell("region", month):
            continue  # the same figure as the data month
        rel = dict.fromkeys(names[1:], 1.0)
        rel[names[0]] = -1.0
        relations.append(rel)
    for who, _ in units[1:]:
        for q in quarters:
            c = quarter_cell(who, q)
            if c == month_cell(who, month) or not set(in_q[q]) <= modelled:
                continue
            rel = {month_cell(who, m): 1.0 for m in in_q[q]}
            rel[c] = -1.0
            relations.append(rel)
        if year:
            mine = [q for q in quarters if q[:4] == month[:4]]
            if {m for m in months if m[:4] == month[:4]} == {m for q in mine for m in in_q[q]}:
                rel = dict.fromkeys((quarter_cell(who, q) for q in mine), 1.0)
                rel[_name(who, "year", month[:4])] = -1.0
                relations.append(rel)
    table = LinearTable(
        values=values,
        relations=tuple(relations),
        fixed=frozenset(fixed),
        unmarked=frozenset(unmarked),
    )
    return table, sorted(primary), hidden, printed


def protect_plan_counts(
    monthly: pd.DataFrame,
    month: str,
    k: int,
    given: Mapping[tuple[str, str], str] | None = None,
    *,
    columns: Sequence[str] = ("new_customers",),
    n_quarters: int = 5,
    years: Sequence[str] = (),
    protect_counts: bool = True,
) -> PlanCounts:
    """Which outlet counts the plan tables withhold: one answer for the progress, quarter and
    change tables of a region report.

    Parameters
    ----------
    monthly : DataFrame
        :func:`~bankanalysis.report.planning_scope.plan_monthly` of a region report
        (``month, level, id`` and KPI columns; ``outlet`` and ``region`` rows).
    month : str
        Data month.
    k : int
        ``min_group_size``.
    given : mapping, optional
        ``{(outlet id, kpi): status}`` of the data month (:func:`month_status` of the outlet
        table's :func:`~bankanalysis.report.disclosure.protect_outlet_counts`): the same cells
        are withheld everywhere, and no further data-month cell is.
    columns : sequence of str
        The counts protected (those the data lack are skipped).
    n_quarters : int
        Quarters the quarter table shows (the last ones up to ``month``).
    years : sequence of str
        The counts whose year to date is printed per outlet (outlet targets of the year).
    protect_counts : bool
        The policy parameter ``protect_outlet_counts``: ``False`` withholds nothing.

    Returns
    -------
    PlanCounts
    """
    outlets = monthly.loc[monthly["level"] == "outlet"]
    regions = monthly.loc[monthly["level"] == "region"]
    if not protect_counts or outlets.empty or regions["id"].nunique() != 1:
        return PlanCounts(k=int(k))
    labels = sorted({quarter_of(m) for m in monthly["month"] if m <= month})[-n_quarters:]
    status: dict[tuple[str, str, str], str] = {}
    prots: list[Protection] = []
    prev, ago = shift_month(month, -1), shift_month(month, -12)
    for col in columns:
        if col not in monthly.columns:
            continue
        wide = outlets.pivot_table(index="id", columns="month", values=col, aggfunc="sum")
        wide = wide.reindex(columns=sorted(monthly["month"].unique()))
        region = regions.set_index("month")[col].reindex(wide.columns)
        mine = None if given is None else {o: s for (o, c), s in given.items() if c == col}
        table, primary, hidden, printed = plan_count_table(
            wide, region, month, k, mine, quarters=labels, year=col in years
        )
        prot = protect(table, primary, k, hidden=hidden)
        if not prot.safe:
            logger.warning(
                "plan tables: %d withheld %s cells stay recoverable",
                (~prot.audit["safe"]).sum(),
                col,
            )
        shown = {c: s for c, s in prot.status.items() if c in printed}
        prots.append(Protection(status=shown, audit=prot.audit))
        for c, st in shown.items():
            for oid, period in printed[c]:
                status[(oid, col, period)] = st
        for oid in wide.index:
            for key, m in ((MOM, prev), (YOY, ago)):
                cell = _name(f"outlet={oid}", "month", m)
                if (oid, col, month) in status or cell in prot.status:
                    status[(str(oid), col, key)] = SECONDARY
    return PlanCounts(status=status, k=int(k), protection=tuple(prots))
