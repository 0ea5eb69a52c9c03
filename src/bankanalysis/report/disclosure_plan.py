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
:func:`~bankanalysis.rules.disclosure_secondary.protect` and its audit; where the search gives
up, :func:`~bankanalysis.rules.disclosure_secondary.fail_safe` withholds the cell's row and
column, then every outlet cell, under ``"withheld"`` (status ``"fail-safe"``). The policy is in
``docs/privacy.md`` ("Operational counts at outlet level").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bankanalysis.report.disclosure_grid import cell_value
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.disclosure_pieces import PieceIntervals
from bankanalysis.rules.disclosure_secondary import (
    FAILSAFE,
    PRIMARY,
    SECONDARY,
    LinearTable,
    Protection,
    fail_safe,
    failsafe_steps,
    protect,
    unsafe_note,
)
from bankanalysis.rules.months import quarter_of, shift_month

__all__ = [
    "JointStep",
    "MOM",
    "YOY",
    "PlanCounts",
    "month_end_status",
    "month_status",
    "plan_count_table",
    "protect_plan_counts",
    "protect_total_counts",
    "unit_key",
    "withhold_attainment",
    "withhold_figures",
    "year_counts",
]

logger = logging.getLogger(__name__)

#: Period keys of the change columns in :attr:`PlanCounts.status`.
MOM, YOY = "mom", "yoy"

#: A further step on one count's answer (:func:`protect_total_counts` ``joint``).
JointStep = Callable[
    [
        str,
        LinearTable,
        Protection,
        Mapping[str, list[tuple[str, str]]],
        Sequence[str],
        tuple[Callable[[str], Any], ...],
    ],
    Protection,
]


@dataclass(frozen=True)
class PlanCounts:
    """Which outlet counts the plan tables withhold.

    Attributes
    ----------
    status : mapping
        ``{(outlet id, kpi, period): "primary" | "secondary" | "fail-safe"}`` (as shown:
        ``"<k"``, ``"x"``, ``"withheld"``); ``period`` is a month
        (``"2026-10"``), a quarter (``"2026-Q4"``), a year (``"2026"``) or :data:`MOM` /
        :data:`YOY` (the changes); absent = shown.
    k : int
        ``min_group_size``.
    protection : tuple of Protection
        One per count, printed cells only (its audit covers the months printed nowhere too;
        its ``failsafe`` the printed cells shown as ``"withheld"``).
    """

    status: Mapping[tuple[str, str, str], str] = field(default_factory=dict)
    k: int = 10
    protection: tuple[Protection, ...] = ()

    def of(self, outlet_id: str, kpi: str, period: str) -> str:
        """``""`` (shown), ``"primary"``, ``"secondary"`` or ``"fail-safe"``."""
        return self.status.get((str(outlet_id), kpi, str(period)), "")

    def of_level(self, level: str, gid: str, kpi: str, period: str) -> str:
        """:meth:`of` for a row of any level: an outlet by its id, a region, an echelon or
        the bank by ``"<level>=<id>"`` (:func:`protect_total_counts`)."""
        key = str(gid) if level == "outlet" else unit_key(level, gid)
        return self.status.get((key, kpi, str(period)), "")

    def value(self, outlet_id: str, kpi: str, period: str, value: Any) -> Any:
        """``value``, or :class:`~bankanalysis.report.format.Suppressed` when withheld."""
        return cell_value(value, self.of(outlet_id, kpi, period), self.k)

    @property
    def safe(self) -> bool:
        """Whether every primary cell passed the audit."""
        return all(p.safe for p in self.protection)


def unit_key(level: str, gid: Any) -> str:
    """The key of a region, echelon or bank row in :attr:`PlanCounts.status`.

    Examples
    --------
    >>> unit_key("region", "R02"), unit_key("echelon", 2)
    ('region=R02', 'echelon=2')
    """
    return f"{level}={gid}"


def withhold_figures(
    values: Mapping[str, Any], status: Mapping[str, str], k: int | None
) -> dict[str, Any]:
    """A report's figures (``metrics.json`` keys or KPIs -> value) with every key ``status``
    withholds (a non-empty status) under its marker, the others as they are.

    Examples
    --------
    >>> out = withhold_figures({"a": 0.78, "b": 0.5, "c": 3}, {"a": "primary", "b": ""}, 10)
    >>> str(out["a"]), out["b"], out["c"]
    ('<10', 0.5, 3)
    """
    return {key: cell_value(value, status.get(key, ""), k) for key, value in values.items()}


def month_end_status(
    decided: Mapping[str, str], kpi: str, month: str, quarters: Mapping[str, str] | None = None
) -> dict[tuple[str, str, str], str]:
    """A month-end's decision (unit key -> status) as :attr:`PlanCounts.status` keys: each
    unit's status at ``month`` and, when the month-end stands for a quarter in the tables
    (``quarters``: month-end -> quarter label, ``""`` none), at that label too.

    Examples
    --------
    >>> month_end_status({"region=R1": "primary"}, "kpi", "2026-09", {"2026-09": "2026-Q3"})
    {('region=R1', 'kpi', '2026-09'): 'primary', ('region=R1', 'kpi', '2026-Q3'): 'primary'}
    """
    label = (quarters or {}).get(str(month), "")
    out: dict[tuple[str, str, str], str] = {}
    for unit, st in decided.items():
        out[(unit, str(kpi), str(month))] = st
        if label:
            out[(unit, str(kpi), label)] = st
    return out


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


def _unit_and_period(cell: str) -> set[tuple[str, str]]:
    """The row (unit) and the column (period) of a cell of :func:`plan_count_table` or
    :func:`total_count_table`: the fail-safe's first step withholds both.

    Examples
    --------
    >>> sorted(_unit_and_period("[outlet=O1,month=2026-10]"))
    [('period', 'month=2026-10'), ('unit', 'outlet=O1')]
    """
    who, _, period = cell.strip("[]").partition(",")
    return {("unit", who), ("period", period)}


def _echelon_of(echelon: Mapping[Any, Any]) -> Any:
    """The fail-safe's first grouping of :func:`total_count_table`: a cell's row (the unit's
    periods) and its echelon's cells of the same period (the echelon and its regions), before
    the whole period (:func:`_unit_and_period`).

    Examples
    --------
    >>> g = _echelon_of({"R1": 1, "R2": 2})
    >>> sorted(g("[region=R1,month=2025-03]"))
    [('echelon', '1', 'month=2025-03'), ('unit', 'region=R1')]
    >>> g("[echelon=1,month=2025-03]") & g("[region=R2,month=2025-03]")
    set()
    """
    of = {str(r): str(e) for r, e in echelon.items()}

    def groups(cell: str) -> set[tuple[str, ...]]:
        who, _, period = cell.strip("[]").partition(",")
        level, _, gid = who.partition("=")
        e = of.get(gid, "") if level == "region" else gid
        return {("unit", who), ("echelon", e, period)}

    return groups


def _period_cell(who: str, period: str, month: str, in_q: Mapping[str, list[str]]) -> str:
    """The cell of ``who``'s count of ``period`` (a month, a quarter or a year) in the tables
    of :func:`plan_count_table` and :func:`total_count_table`."""
    if len(period) == 4:
        return _name(who, "year", period)
    if "Q" in period:
        if in_q.get(period) == [month]:  # the quarter so far is the data month: one figure
            return _name(who, "month", month)
        return _name(who, "quarter", period)
    return _name(who, "month", period)


def _period_relations(
    who: str,
    month: str,
    months: Sequence[str],
    quarters: Sequence[str],
    in_q: Mapping[str, list[str]],
    modelled: set[str],
    year: bool,
) -> list[dict[str, float]]:
    """One unit's relations between periods in the tables of :func:`plan_count_table` and
    :func:`total_count_table`: each quarter is the sum of its months (when they are all
    modelled; a quarter holding only the data month is that month's cell), the year (``year``)
    the sum of its quarters when they cover its months."""
    out = []
    for q in quarters:
        if in_q[q] == [month] or not set(in_q[q]) <= modelled:
            continue
        rel = {_period_cell(who, m, month, in_q): 1.0 for m in in_q[q]}
        rel[_period_cell(who, q, month, in_q)] = -1.0
        out.append(rel)
    if year:
        mine = [q for q in quarters if q[:4] == month[:4]]
        if {m for m in months if m[:4] == month[:4]} == {m for q in mine for m in in_q[q]}:
            rel = {_period_cell(who, q, month, in_q): 1.0 for q in mine}
            rel[_period_cell(who, month[:4], month, in_q)] = -1.0
            out.append(rel)
    return out


def plan_count_table(
    outlets: pd.DataFrame,
    region: pd.Series,
    month: str,
    k: int,
    given: Mapping[str, str] | None,
    *,
    quarters: Sequence[str],
    year: bool = False,
    region_hidden: Mapping[str, str] | None = None,
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
    region_hidden : mapping, optional
        ``{period: status}`` of the region's own cells the run withholds
        (:func:`protect_total_counts`; periods as in :attr:`PlanCounts.status`, the months
        printed nowhere included): those cells are withheld here too, secondary (their own
        audit is the run's), so they no longer pin the outlets.

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
            gone = {
                _period_cell(who, p, month, in_q): st for p, st in (region_hidden or {}).items()
            }
            fixed.update(c for c in values if c.startswith("[region,") and c not in gone)
            hidden.update({c: SECONDARY for c in gone if c in values})
            # "withheld" by the run's fail-safe: at least 0, whatever its size
            unmarked.update(c for c, st in gone.items() if st == FAILSAFE and c in values)
            continue
        # the outlet's cells: which are printed, and how they stand at the start
        now = month_cell(who, month)
        status = given.get(oid, "") if given is not None else ""
        printed.setdefault(now, []).append((oid, month))
        if status == FAILSAFE:
            # "withheld" by the outlet table's fail-safe: at least 0 whatever its size, and
            # audited here too (a quarter or a change must not give it back)
            hidden[now] = PRIMARY
            unmarked.add(now)
        elif status:
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
    for who, _ in units:  # the region too: its withheld cells are tied to its others
        relations += _period_relations(who, month, months, quarters, in_q, modelled, year)
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
    totals: PlanCounts | None = None,
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
    totals : PlanCounts, optional
        The run's :func:`protect_total_counts`: the region's cells it withholds are withheld
        here too (no longer fixed: a region's count of 3 over two outlets would pin each), and
        its region, echelon and bank cells are part of the answer.

    Returns
    -------
    PlanCounts
    """
    outlets = monthly.loc[monthly["level"] == "outlet"]
    regions = monthly.loc[monthly["level"] == "region"]
    if not protect_counts or outlets.empty or regions["id"].nunique() != 1:
        return PlanCounts(status=dict(totals.status) if totals is not None else {}, k=int(k))
    labels = sorted({quarter_of(m) for m in monthly["month"] if m <= month})[-n_quarters:]
    status: dict[tuple[str, str, str], str] = dict(totals.status) if totals is not None else {}
    prots: list[Protection] = []
    prev, ago = shift_month(month, -1), shift_month(month, -12)
    me = unit_key("region", regions["id"].iloc[0])
    for col in columns:
        if col not in monthly.columns:
            continue
        gone = {
            period: st
            for (who, c, period), st in status.items()
            if who == me and c == col and period not in (MOM, YOY)
        }
        wide = outlets.pivot_table(index="id", columns="month", values=col, aggfunc="sum")
        wide = wide.reindex(columns=sorted(monthly["month"].unique()))
        region = regions.set_index("month")[col].reindex(wide.columns)
        mine = None if given is None else {o: s for (o, c), s in given.items() if c == col}
        table, primary, hidden, printed = plan_count_table(
            wide, region, month, k, mine, quarters=labels, year=col in years, region_hidden=gone
        )
        prot = protect(table, primary, k, hidden=hidden, large=PieceIntervals)
        # the data month of an outlet is the outlet table's (never withheld in addition, nor
        # relabelled: its "<k" stays printed there)
        given_now = {_name(f"outlet={o}", "month", month): s for o, s in (mine or {}).items()}
        free = [c for c in table.values if c.startswith("[outlet=") and c not in given_now]
        prot = fail_safe(table, prot, failsafe_steps(free, _unit_and_period), k)
        if not prot.safe:
            logger.warning(unsafe_note(f"plan tables ({col})", prot))
        marked = prot.failsafe | {c for c, s in given_now.items() if s == FAILSAFE}
        shown = {c: s for c, s in prot.status.items() if c in printed}
        prots.append(Protection(status=shown, audit=prot.audit, failsafe=marked & set(printed)))
        for c in shown:
            for oid, period in printed[c]:
                status[(oid, col, period)] = FAILSAFE if c in marked else prot.status[c]
        for oid in wide.index:
            for key, m in ((MOM, prev), (YOY, ago)):
                cell = _name(f"outlet={oid}", "month", m)
                if (oid, col, month) in status or cell in prot.status:
                    status[(str(oid), col, key)] = SECONDARY
    return PlanCounts(status=status, k=int(k), protection=tuple(prots))


def total_count_table(
    regions: pd.DataFrame,
    echelon: Mapping[str, Any],
    month: str,
    k: int,
    *,
    quarters: Sequence[str],
    year: bool = False,
) -> tuple[LinearTable, list[str], dict[str, str], dict[str, list[tuple[str, str]]]]:
    """One count of the regions, echelons and the bank as cells and relations.

    Parameters
    ----------
    regions : DataFrame
        One row per region (index: region id), one column per month (``"YYYY-MM"``).
    echelon : mapping
        Region id -> echelon.
    month, k, quarters, year
        As :func:`plan_count_table`.

    Returns
    -------
    tuple
        ``(table, primary, hidden, cells)``: every period's regions add up to their echelon,
        the echelons to the bank (published, ``fixed``); each unit's quarters to their months,
        its year to its quarters. Printed: the data month, the quarters, the year; the months
        a change or a quarter stands on are printed nowhere (``unmarked``; withheld when small
        or when the unit's data month is). ``cells`` maps each cell to its
        ``[(unit key, period), ...]`` (a quarter holding only the data month is its cell).
    """
    months = sorted(m for m in regions.columns if m <= month)
    have = set(months)
    prev, ago = shift_month(month, -1), shift_month(month, -12)
    in_q = {q: [m for m in months if quarter_of(m) == q] for q in quarters}
    modelled = {m for q in quarters for m in in_q[q] if {month, prev, ago} & set(in_q[q])}
    modelled |= {m for m in (month, prev, ago) if m in have}
    wide = regions.reindex(columns=months).astype("float64").fillna(0.0)
    ech = pd.Series({str(r): str(echelon[r]) for r in wide.index}).sort_index()
    units: list[tuple[str, pd.Series]] = [(unit_key("bank", "bank"), wide.sum())]
    units += [(unit_key("echelon", e), wide.loc[rs.index].sum()) for e, rs in ech.groupby(ech)]
    units += [(unit_key("region", r), wide.loc[r]) for r in ech.index]
    periods = sorted(modelled) + list(quarters) + ([month[:4]] if year else [])
    values: dict[str, float] = {}
    cells: dict[str, list[tuple[str, str]]] = {}
    fixed: set[str] = set()
    unmarked: set[str] = set()
    hidden: dict[str, str] = {}
    primary: list[str] = []
    for who, v in units:
        for p in periods:
            c = _period_cell(who, p, month, in_q)
            if len(p) == 4:
                values[c] = float(v[[m for m in months if m[:4] == p]].sum())
            elif "Q" in p:
                values[c] = float(v[in_q[p]].sum())
            else:
                values[c] = float(v[p])
            if (who, p) not in cells.setdefault(c, []):
                cells[c].append((who, p))
        small_now = bool(is_small([values[_period_cell(who, month, month, in_q)]], k)[0])
        for p in periods:
            c = _period_cell(who, p, month, in_q)
            small = bool(is_small([values[c]], k)[0])
            if p in modelled and p != month:
                unmarked.add(c)
                if small or small_now or p not in (prev, ago):
                    hidden[c] = PRIMARY if small else SECONDARY
            elif small and c not in primary:
                primary.append(c)
            elif who.startswith("bank=") and not small:
                fixed.add(c)  # the bank's figures are printed throughout the run
    relations: list[dict[str, float]] = []
    for p in sorted(set(periods)):
        if "Q" in p and in_q[p] == [month]:
            continue  # the same cells as the data month
        bank = {_period_cell(units[0][0], p, month, in_q): -1.0}
        for e, rs in ech.groupby(ech):
            e_cell = _period_cell(unit_key("echelon", e), p, month, in_q)
            bank[e_cell] = 1.0
            rel = {_period_cell(unit_key("region", r), p, month, in_q): 1.0 for r in rs.index}
            rel[e_cell] = -1.0
            relations.append(rel)
        relations.append(bank)
    for who, _ in units:
        relations += _period_relations(who, month, months, quarters, in_q, modelled, year)
    table = LinearTable(
        values=values,
        relations=tuple(relations),
        fixed=frozenset(fixed),
        unmarked=frozenset(unmarked),
    )
    return table, sorted(primary), hidden, cells


def protect_total_counts(
    outlet_kpis: pd.DataFrame,
    month: str,
    k: int,
    *,
    columns: Sequence[str] = ("new_customers",),
    n_quarters: int = 5,
    years: Sequence[str] = ("new_customers",),
    protect_counts: bool = True,
    joint: JointStep | None = None,
) -> PlanCounts:
    """Which counts of the regions, the echelons and the bank a run withholds: one answer
    for every report (00's plan sections print every region's, 03's its own region's).

    A region's new customers of a period of 1 to ``k - 1`` is a group smaller than ``k``
    (primary); it would come back from its echelon minus the other regions (an echelon of one
    region is its figure), from the year to date minus the quarters, or from the month and its
    change, so secondary cells come from
    :func:`~bankanalysis.rules.disclosure_secondary.protect` and its audit; the bank's figures
    stay published. A region's withheld count no longer pins its outlets in 03
    (:func:`protect_plan_counts` ``totals``).

    Parameters
    ----------
    outlet_kpis : DataFrame
        ``month, region_id, echelon`` and the count columns, one row per outlet and month
        (the whole bank).
    month, k, columns, n_quarters, protect_counts
        As :func:`protect_plan_counts`.
    years : sequence of str
        The counts whose year to date the run prints per region.
    joint : callable, optional
        A further step on each count's answer, given ``(kpi, table, protection, cells, free,
        groupings)`` (the table of :func:`total_count_table`, the answer after the fail-safe,
        the cells' ``[(unit key, period), ...]``, the cells the fail-safe may withhold and its
        groupings) and returning the answer to publish: the joint decision with the lost
        customers (:func:`~bankanalysis.report.disclosure_window.window_step`).

    Returns
    -------
    PlanCounts
        Keys ``(unit_key(level, id), kpi, period)``: the data month, the quarters, the year,
        the months printed nowhere that are withheld, and :data:`MOM` / :data:`YOY`.

    Examples
    --------
    R1's 3 would come back as its echelon's 43 minus R2's 40: R2's count is withheld too.

    >>> ok = pd.DataFrame({"month": "2025-03", "region_id": ["R1", "R2", "R3"],
    ...                    "echelon": [1, 1, 2], "new_customers": [3.0, 40.0, 50.0]})
    >>> st = protect_total_counts(ok, "2025-03", 10, years=()).status
    >>> {u: s for (u, _, p), s in st.items() if p == "2025-03"}
    {'region=R1': 'primary', 'region=R2': 'secondary'}
    """
    if not protect_counts or outlet_kpis.empty or not {"region_id", "echelon"} <= set(outlet_kpis):
        return PlanCounts(k=int(k))
    k_ = outlet_kpis.loc[outlet_kpis["month"] <= month]
    labels = sorted({quarter_of(m) for m in k_["month"]})[-n_quarters:]
    echelon = k_.groupby("region_id", sort=True)["echelon"].first().to_dict()
    prev, ago = shift_month(month, -1), shift_month(month, -12)
    status: dict[tuple[str, str, str], str] = {}
    prots: list[Protection] = []
    for col in columns:
        if col not in k_.columns:
            continue
        wide = k_.pivot_table(index="region_id", columns="month", values=col, aggfunc="sum")
        wide.index = wide.index.astype(str)
        table, primary, hidden, cells = total_count_table(
            wide,
            {str(r): e for r, e in echelon.items()},
            month,
            k,
            quarters=labels,
            year=col in years,
        )
        prot = protect(table, primary, k, hidden=hidden, large=PieceIntervals)
        free = [c for c in table.values if not c.startswith("[bank=")]
        groupings = (_echelon_of(echelon), _unit_and_period)
        prot = fail_safe(table, prot, failsafe_steps(free, *groupings), k)
        if joint is not None:
            prot = joint(col, table, prot, cells, free, groupings)
        if not prot.safe:
            logger.warning(unsafe_note(f"region totals ({col})", prot))
        prots.append(prot)
        for c in prot.status:
            for who, period in cells[c]:
                status[(who, col, period)] = prot.shown_status(c)
        for who in sorted({w for ws in cells.values() for w, _ in ws}):
            for key, m in ((MOM, prev), (YOY, ago)):
                if (who, col, month) in status or (who, col, m) in status:
                    status[(who, col, key)] = SECONDARY
    return PlanCounts(status=status, k=int(k), protection=tuple(prots))


def withhold_attainment(
    attain: pd.DataFrame, counts: PlanCounts | None, month: str
) -> pd.DataFrame:
    """Rows of :func:`bankanalysis.overview.target_attainment` (``region_id, kpi, actual,
    attainment, met``) with the actual, the attainment and met set to missing where
    :func:`protect_total_counts` withholds the region's count of ``month`` (actual =
    attainment x a published target; met says on which side of the target it lies), and a
    ``withheld`` column with the status (``""`` shown).

    Examples
    --------
    >>> att = pd.DataFrame({"region_id": ["R1", "R2"], "kpi": "new_customers",
    ...                     "target": 4.0, "actual": [3.0, 40.0], "attainment": [0.75, 10.0],
    ...                     "met": [False, True]})
    >>> pc = PlanCounts({("region=R1", "new_customers", "2025-03"): "primary"})
    >>> withhold_attainment(att, pc, "2025-03")[["actual", "met", "withheld"]].values.tolist()
    [[nan, None, 'primary'], [40.0, True, '']]
    """
    why = [
        counts.of_level("region", str(r), str(kpi), month) if counts is not None else ""
        for r, kpi in zip(attain["region_id"], attain["kpi"], strict=True)
    ]
    # a boolean Series, also when the extract has no targets (an empty list is float to numpy)
    drop = pd.Series([bool(w) for w in why], index=attain.index, dtype=bool)
    out = attain.assign(withheld=why)
    for c in ("actual", "attainment"):
        if c in out.columns:
            out[c] = out[c].astype("float64").mask(drop)
    if "met" in out.columns:
        out["met"] = out["met"].astype(object).mask(drop, None)
    return out
