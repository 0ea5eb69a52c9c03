"""One decision over the run's new-customer counts and its lost customers.

A unit's customers at a month-end are its customers of the base month (``lookback_months``
before) less those it lost plus the new customers of the window who are still there, so

    lost = base - end + new customers of the window - those of them who left again

and ``0 <= new customers who left again <= new customers of the window``: with the base and the
end customers, which the run publishes, and the window's new customers, which 00's and 03's
plan tables print month by month, quarter by quarter and for the year
(:func:`~bankanalysis.report.disclosure_plan.protect_total_counts`), a unit's lost customers
lie between ``base - end`` and ``base - end + new``. The stock-retention decision
(:func:`~bankanalysis.report.disclosure_retention.protect_retention`) withholds a region's lost
customers of 1 to ``k - 1``; whether that relation then pins them depends on which new-customer
counts of the window the other decision happens to withhold.

:func:`window_step` is the joint step of the new-customer decision
(``protect_total_counts(joint=...)``): one linear programme over the new-customer table (its
cells, relations, and the answer of its own search and fail-safe), the lost customers of every
region, echelon and the bank at each month-end a report prints a retention for (as the run
withholds them, regions adding up to their echelons and those to the bank), and per unit and
month-end the relation above (``lost - stay = base - end``, ``stay + left = the window's new
customers``, ``stay`` and ``left`` at least 0 and printed nowhere). Every primary cell of both
decisions is audited there. While one is narrower than its protection interval, the smallest
published new-customer count near the window (a count of the window, or one sharing a relation
with it) that makes it safe is withheld too (``x``), else the pair of smallest total, else
the shortest first part of the counts it may reach (:func:`_grow`), and where none is enough
the new-customer table's fail-safe steps (the window's rows and their
echelons' figures, then its rows and periods, then every region and echelon cell; shown
``withheld``) are taken for it; what even those leave narrower, the bank pins (its quarter
less its month a year before, printed through its change on the year, with its lost
customers), so last (:func:`_bank_changes`) the bank's counts printed only through a change
are withheld where that is enough, with the bank's change. Only new-customer counts are
added: the lost customers are
decided by the retention decision alone, which this step reads but never changes. The
programmes are :class:`~bankanalysis.rules.disclosure_pieces.PieceIntervals`' (exact, piece by
piece; at 120 regions the joint table is one piece of about 3,200 withheld cells).

A unit and month-end whose window is not printed in cells the attacker can add up (a month of
the window in no printed quarter and no modelled month), or whose counts break the relation
(a customer who came back after a gap, or moved between regions: ``stay`` or ``left`` below 0)
gives no relation: the attacker could not rely on it either. The policy is in
``docs/privacy.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

import pandas as pd

from bankanalysis.report.disclosure_plan import unit_key
from bankanalysis.report.disclosure_retention import KPI
from bankanalysis.rules.disclosure_pieces import PieceIntervals
from bankanalysis.rules.disclosure_secondary import (
    SECONDARY,
    LinearTable,
    Protection,
    fail_safe,
    failsafe_steps,
)
from bankanalysis.rules.months import quarter_of

__all__ = [
    "Window",
    "joint_table",
    "lost_cell",
    "window_cells",
    "window_step",
]

logger = logging.getLogger(__name__)

#: The new-customer count the relation reads.
NEW = "new_customers"
#: Candidates of smallest value tried in pairs and triples when no single count protects a
#: cell.
MAX_PAIR_CANDIDATES = 12


@dataclass(frozen=True)
class Window:
    """What the joint step needs of the stock-retention decision.

    Attributes
    ----------
    lost : DataFrame
        ``month, level, id, base, lost`` of every region, echelon and the bank at each
        month-end (:func:`~bankanalysis.report.disclosure_retention.lost_counts`; outlet rows
        are ignored).
    end : DataFrame
        ``month, level, id, customers``: the same units' customers at each month-end, as the
        run publishes them.
    bases : mapping
        Month-end -> its base month.
    months : sequence of str
        The data months (a quarter holds those of them it covers).
    retention : mapping
        The run's stock-retention status (:attr:`PlanCounts.status` of
        :func:`~bankanalysis.report.disclosure_retention.protect_retention`).
    """

    lost: pd.DataFrame
    end: pd.DataFrame
    bases: Mapping[str, str]
    months: Sequence[str]
    retention: Mapping[tuple[str, str, str], str]


def lost_cell(unit: str, month: str) -> str:
    """The joint table's cell of ``unit``'s lost customers at ``month``.

    Examples
    --------
    >>> lost_cell("region=R1", "2026-10")
    'lost[region=R1,2026-10]'
    """
    return f"lost[{unit},{month}]"


def window_cells(
    cells: Mapping[str, list[tuple[str, str]]],
    unit: str,
    base: str,
    end: str,
    months: Sequence[str],
) -> dict[str, float] | None:
    """The cells of the new-customer table, with their signs, whose sum is ``unit``'s new
    customers of the months after ``base`` up to ``end``: each printed quarter holding a month
    of the window, less its months outside the window (cells of the table), and the table's
    month cells for the rest; ``None`` when a month of the window is in neither.

    The same sum as the window's month cells (a quarter is the sum of its months in the
    table), but over printed figures: the relation then links no withheld month, which keeps
    the linear programmes of the audit small.

    Examples
    --------
    >>> cells = {"[region=R1,quarter=2025-Q4]": [("region=R1", "2025-Q4")],
    ...          "[region=R1,month=2025-10]": [("region=R1", "2025-10")],
    ...          "[region=R1,month=2025-11]": [("region=R1", "2025-11")],
    ...          "[region=R1,month=2025-12]": [("region=R1", "2025-12")],
    ...          "[region=R1,month=2026-01]": [("region=R1", "2026-01"), ("region=R1", "2026-Q1")]}
    >>> ms = ["2025-10", "2025-11", "2025-12", "2026-01"]
    >>> window_cells(cells, "region=R1", "2025-10", "2026-01", ms)
    {'[region=R1,quarter=2025-Q4]': 1.0, '[region=R1,month=2025-10]': -1.0, '[region=R1,month=2026-01]': 1.0}
    >>> window_cells(cells, "region=R1", "2025-09", "2026-01", ms)
    {'[region=R1,quarter=2025-Q4]': 1.0, '[region=R1,month=2026-01]': 1.0}
    >>> window_cells(cells, "region=R1", "2025-08", "2026-01", ["2025-09", *ms]) is None
    True
    """
    mine = {p: c for c, ws in cells.items() for w, p in ws if w == unit}
    inside = {m for m in months if base < m <= end}
    covered: set[str] = set()
    out: dict[str, float] = {}
    for p in sorted(p for p in mine if "Q" in p):
        qm = [m for m in months if quarter_of(m) == p]
        outside = [m for m in qm if m not in inside]
        if not set(qm) & inside or set(qm) & covered or any(m not in mine for m in outside):
            continue
        out[mine[p]] = out.get(mine[p], 0.0) + 1.0
        for m in outside:
            out[mine[m]] = out.get(mine[m], 0.0) - 1.0
        covered.update(set(qm) & inside)
    for m in sorted(inside - covered):
        if m not in mine:
            return None
        out[mine[m]] = out.get(mine[m], 0.0) + 1.0
    return {c: v for c, v in out.items() if v}


def _unit_rows(window: Window, echelon_of: Mapping[str, Any]) -> pd.DataFrame:
    """``month, unit, lost, change`` (``base - end``) of every region, echelon and the bank."""
    lost = window.lost.loc[window.lost["level"].isin(["region", "echelon", "bank"])]
    end = window.end.rename(columns={"customers": "end"})
    keys = ["month", "level", "id"]
    rows = lost.astype({"id": str}).merge(end.astype({"id": str}), on=keys, how="inner")
    rows = rows.assign(
        unit=[unit_key(lv, i) for lv, i in zip(rows["level"], rows["id"], strict=True)],
        change=rows["base"].astype("float64") - rows["end"].astype("float64"),
    )
    return rows[["month", "level", "id", "unit", "lost", "change"]]


def joint_table(
    table: LinearTable,
    prot: Protection,
    cells: Mapping[str, list[tuple[str, str]]],
    window: Window,
    echelon_of: Mapping[str, Any],
) -> tuple[LinearTable, dict[str, str], dict[str, list[str]]]:
    """The new-customer table and the lost customers as one table (module docstring).

    Returns
    -------
    tuple
        ``(table, status, terms)``: the status of every withheld cell (the new-customer
        answer, the run's lost customers, the relation's ``stay`` and ``left``), and for each
        lost-customer cell with a relation the new-customer cells of its window.
    """
    values = dict(table.values)
    relations = list(table.relations)
    fixed = set(table.fixed)
    unmarked = set(table.unmarked) | set(prot.failsafe)
    status = dict(prot.status)
    terms: dict[str, list[str]] = {}
    rows = _unit_rows(window, echelon_of)
    for month, part in rows.groupby("month", sort=True):
        month = str(month)
        by_echelon: dict[str, list[str]] = {}
        for r in part.itertuples(index=False):
            cell = lost_cell(r.unit, month)
            values[cell] = float(r.lost)
            fixed.add(cell)  # decided by the retention decision, never here
            st = window.retention.get((r.unit, KPI, month), "")
            if st:
                status[cell] = st
            if r.level == "region":
                by_echelon.setdefault(str(echelon_of[str(r.id)]), []).append(cell)
            got = window_cells(cells, r.unit, window.bases[month], month, window.months)
            if got is None:
                continue
            new = sum(coef * float(table.values[c]) for c, coef in got.items())
            stay = float(r.lost) - float(r.change)
            if stay < 0 or stay > new:
                continue  # a customer came back or moved: the relation does not hold
            s, left, ch = (f"{w}[{r.unit},{month}]" for w in ("stay", "left", "change"))
            values.update({s: stay, left: new - stay, ch: float(r.change)})
            fixed.add(ch)
            unmarked.update((s, left))
            status.update({s: SECONDARY, left: SECONDARY})
            relations.append({cell: 1.0, s: -1.0, ch: -1.0})
            rel = {s: 1.0, left: 1.0}
            for c, coef in got.items():
                rel[c] = rel.get(c, 0.0) - coef
            relations.append(rel)
            terms[cell] = list(got)
        bank = lost_cell(unit_key("bank", "bank"), month)
        bank_rel = {bank: -1.0} if bank in values else {}
        for e, regions in sorted(by_echelon.items()):
            ecell = lost_cell(unit_key("echelon", e), month)
            if ecell in values:
                relations.append({**dict.fromkeys(regions, 1.0), ecell: -1.0})
                if bank_rel:
                    bank_rel[ecell] = 1.0
        if len(bank_rel) > 1:
            relations.append(bank_rel)
    joint = LinearTable(
        values=values,
        relations=tuple(relations),
        fixed=frozenset(fixed),
        unmarked=frozenset(unmarked),
    )
    return joint, status, terms


def _unsafe(solver: PieceIntervals, status: Mapping[str, str]) -> list[str]:
    checked = solver.audit(status)
    return sorted(checked.loc[~checked["safe"], "cell"])


def _free(joint: LinearTable, cell: str, k: int) -> bool:
    """Whether the joint step may withhold ``cell``: a new-customer count of a region or an
    echelon (the bank's are printed throughout the run, even where the table does not fix
    them: the month before through its change) of at least ``k``, never a fixed one."""
    return (
        cell.startswith(("[region=", "[echelon="))
        and cell not in joint.fixed
        and float(joint.values[cell]) >= k
    )


def _pools(
    joint: LinearTable,
    status: Mapping[str, str],
    target: str,
    terms: Sequence[str],
    cells: Mapping[str, list[tuple[str, str]]],
    echelon_of: Mapping[str, Any],
    k: int,
) -> tuple[list[str], list[str]]:
    """The published new-customer counts that may protect ``target``: ``own`` its unit's
    counts of the window (``terms``), ``rest`` the counts of the same periods of the units
    whose relations bound it (the regions of its echelon, its echelon, every echelon) and the
    counts sharing a relation with a term, smallest first (then by name); never a fixed cell
    (:func:`_free`: never the bank's), never one below ``k`` (those are withheld already or
    zero)."""
    unit = target[len("lost[") :].rsplit(",", 1)[0] if target.startswith("lost[") else ""
    level, _, gid = unit.partition("=")
    echelons = sorted({str(e) for e in echelon_of.values()})
    mine = str(echelon_of.get(gid, "")) if level == "region" else gid
    units = {unit_key("echelon", e) for e in echelons}
    units |= {unit_key("region", r) for r, e in echelon_of.items() if str(e) == mine}
    periods = {p for t in terms for _, p in cells.get(t, [])}
    near = {c for c, ws in cells.items() if any(w in units and p in periods for w, p in ws)}
    for t in terms:
        near |= joint.neighbours(t)

    def ok(c: str) -> bool:
        v = float(joint.values[c])
        return _free(joint, c, k) and c in cells and c not in status and v >= k

    def order(cs: Iterable[str]) -> list[str]:
        return sorted((c for c in set(cs) if ok(c)), key=lambda c: (float(joint.values[c]), c))

    own = order(terms)
    return own, [c for c in order(near) if c not in own]


def _choose(
    solver: PieceIntervals,
    status: dict[str, str],
    target: str,
    own: list[str],
    rest: list[str],
    k: int,
) -> list[str]:
    """The counts to withhold so that ``target`` is safe, or none: the smallest one that is
    enough, else the pair of smallest total (of the :data:`MAX_PAIR_CANDIDATES` smallest),
    else (:func:`_grow`) the first part of the counts it may reach, then pruned."""
    joint = solver.table

    def value(cs: Sequence[str]) -> tuple[float, tuple[str, ...]]:
        return sum(float(joint.values[c]) for c in cs), tuple(sorted(cs))

    every = sorted(own + rest, key=lambda c: (float(joint.values[c]), c))
    # withholding a cell only widens intervals: when all of them together are not enough, no
    # single one or pair is (the same answer as trying each, without the programmes)
    if not solver.safe({**status, **dict.fromkeys(every, SECONDARY)}, target):
        return _grow(solver, status, target, every, k)
    tries: list[Sequence[str]] = [[c] for c in every]
    tries += sorted(combinations(every[:MAX_PAIR_CANDIDATES], 2), key=value)
    for cs in tries:
        if solver.safe({**status, **dict.fromkeys(cs, SECONDARY)}, target):
            return list(cs)
    return _grow(solver, status, target, every, k)


def _grow(
    solver: PieceIntervals, status: Mapping[str, str], target: str, pool: list[str], k: int
) -> list[str]:
    """Several relations pin ``target`` at once (its own window's counts, its echelon's, the
    echelon's regions'): the counts it may reach, nearest first (``pool``, then the
    published counts sharing a relation with one of those, and so on; smallest first within
    each ring). Withholding more only widens intervals, so safety grows with the first part
    of them withheld: bisection finds the shortest part that is enough, whose last count is
    then needed; kept, the search starts again over the counts before it, until the kept
    counts alone are enough. No kept count can be dropped (each was needed with the others
    and a part of what came before it), so none is withheld for nothing; a few programmes per
    kept count. None when all of them are not enough."""
    joint = solver.table

    def order(cs: Iterable[str]) -> list[str]:
        return sorted(cs, key=lambda c: (float(joint.values[c]), c))

    ring, reach = order(set(pool)), list(order(set(pool)))
    seen = set(reach)
    while ring:
        nxt = {
            c
            for r in ring
            for c in joint.neighbours(r)
            if c not in seen and c not in status and _free(joint, c, k)
        }
        ring = order(nxt)
        reach += ring
        seen |= nxt

    def enough(extra: list[str], n: int) -> bool:
        withheld = dict.fromkeys([*extra, *reach[:n]], SECONDARY)
        return solver.safe({**status, **withheld}, target)

    if not reach or not enough([], len(reach)):
        return []
    added: list[str] = []
    while not enough(added, 0):
        lo, hi = 0, len(reach)  # not enough with the first lo counts, enough with hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if enough(added, mid) else (mid, hi)
        added.append(reach[hi - 1])  # needed: without it the first hi - 1 are not enough
        reach = reach[: hi - 1]
    return added


def window_step(window: Window, echelon_of: Mapping[str, Any], k: int) -> Callable[..., Protection]:
    """The joint step for :func:`~bankanalysis.report.disclosure_plan.protect_total_counts`
    (``joint=``): for the new-customer count, the answer with the further counts the joint
    audit needs withheld (module docstring); other counts unchanged.

    Parameters
    ----------
    window : Window
        The lost customers, base and end customers and the run's retention status.
    echelon_of : mapping
        Region id -> echelon.
    k : int
        ``min_group_size``.
    """

    def step(
        col: str,
        table: LinearTable,
        prot: Protection,
        cells: Mapping[str, list[tuple[str, str]]],
        free: Sequence[str],
        groupings: tuple[Callable[[str], Any], ...],
    ) -> Protection:
        if col != NEW or window.lost.empty:
            return prot
        joint, status, terms = joint_table(table, prot, cells, window, echelon_of)
        own = set(table.values)
        solver = PieceIntervals(joint, k)
        before = _unsafe(solver, status)
        # withholding a cell only widens intervals, so one pass in name order is enough
        for target in before:
            if solver.safe(status, target):
                continue
            near = terms.get(target, [target] if target in own else [])
            mine, rest = _pools(joint, status, target, near, cells, echelon_of, k)
            status.update(dict.fromkeys(_choose(solver, status, target, mine, rest, k), SECONDARY))
        result = Protection(status=status, audit=solver.audit(status), failsafe=prot.failsafe)
        logger.info(
            "new and lost customers: joint audit and search solved %d programmes of the "
            "whole table",
            solver.solved,
        )
        if not result.safe:
            result = _fail_safe(joint, result, terms, free, groupings, k)
        if not result.safe:
            result = _bank_changes(joint, result, own, k)
        lost_left = int(
            (~result.audit["safe"] & result.audit["cell"].str.startswith("lost[")).sum()
        )
        added = sorted(c for c in result.status if c in own and c not in prot.status)
        logger.info(
            "new and lost customers: %d primary cells narrower than their protection interval "
            "under the joint relation before the joint step, %d new-customer counts withheld "
            "more, %d lost-customer counts left narrower",
            len(before),
            len(added),
            lost_left,
        )
        if lost_left:
            logger.warning(
                "new and lost customers: %d withheld lost-customer counts stay narrower than "
                "their protection interval (pinned by published base and end customers)",
                lost_left,
            )
        mine = result.audit["cell"].isin(own)
        return Protection(
            status={c: s for c, s in result.status.items() if c in own},
            audit=result.audit.loc[mine].reset_index(drop=True),
            failsafe=frozenset(c for c in result.failsafe if c in own),
        )

    return step


def _bank_changes(joint: LinearTable, prot: Protection, own: Iterable[str], k: int) -> Protection:
    """The last step, for the cells the fail-safe left narrower than their protection: the
    bank's counts of the months the run prints only through a change (the month before and a
    year before the data month: the table's bank cells not ``fixed``), so the bank's change
    on the month or on the year is withheld (``x``) where, and only where, it pins them.

    A region's count of a month printed nowhere can come back from the bank: the bank's
    quarter less its month a year before (printed through the change on the year) gives the
    bank's other months, and with every unit's base and end customers and lost customers
    (a retention of 100 % is not a small group) only the few customers who left again are
    left to spread over the regions. No region or echelon count widens that; the bank's
    count of that month does (with, where the echelons' published counts of the month would
    add up to it, one of theirs: :func:`_choose` reaches them through the bank's relations).
    The bank's counts themselves (data month, quarters, year) stay published. Counts are
    chosen as in the joint step, smallest first; the fail-safe's cells say only that they
    are at least 0 (``unmarked``), as in its audit. Policy: ``docs/privacy.md``, item 3.
    """
    joint = replace(joint, unmarked=joint.unmarked | prot.failsafe)
    solver = PieceIntervals(joint, k)
    pool = sorted(
        (
            c
            for c in own
            if c.startswith("[bank=") and c not in joint.fixed and c not in prot.status
        ),
        key=lambda c: (float(joint.values[c]), c),
    )
    status = dict(prot.status)
    for target in sorted(prot.audit.loc[~prot.audit["safe"], "cell"]):
        if solver.safe(status, target):
            continue
        rest = [c for c in pool if c not in status]
        status.update(dict.fromkeys(_choose(solver, status, target, [], rest, k), SECONDARY))
    added = sorted(c for c in status if c not in prot.status)
    if not added:
        return prot
    result = Protection(status=status, audit=solver.audit(status), failsafe=prot.failsafe)
    logger.info(
        "new and lost customers: %d cells the fail-safe left narrower than their protection "
        "interval, %d after withholding the bank's counts printed only through a change "
        "and the counts they need (%s)",
        int((~prot.audit["safe"]).sum()),
        int((~result.audit["safe"]).sum()),
        ", ".join(added),
    )
    return result


def _fail_safe(
    joint: LinearTable,
    prot: Protection,
    terms: Mapping[str, list[str]],
    free: Sequence[str],
    groupings: tuple[Callable[[str], Any], ...],
    k: int,
) -> Protection:
    """The new-customer table's fail-safe steps on the joint table, a lost-customer cell
    standing for the counts of its window (their groups)."""

    def lift(g: Callable[[str], Any]) -> Callable[[str], set]:
        def groups(cell: str) -> set:
            out: set = set()
            for t in terms.get(cell, [cell]):
                out.update(g(t))
            return out

        return groups

    steps = failsafe_steps(free, *(lift(g) for g in groupings))
    return fail_safe(
        joint, prot, steps, k, auditor=lambda table, status: PieceIntervals(table, k).audit(status)
    )


def end_customers(
    region_month: pd.DataFrame, ends: Iterable[str], echelon_of: Mapping[str, Any]
) -> pd.DataFrame:
    """``month, level, id, customers`` of every region, echelon and the bank at ``ends``,
    from ``region_month``'s customers (the figure the reports print).

    Examples
    --------
    >>> rm = pd.DataFrame({"month": "2025-03", "region_id": ["R1", "R2"], "customers": [5, 7]})
    >>> end_customers(rm, ["2025-03"], {"R1": 1, "R2": 1}).values.tolist()
    [['2025-03', 'region', 'R1', 5.0], ['2025-03', 'region', 'R2', 7.0], \
['2025-03', 'echelon', '1', 12.0], ['2025-03', 'bank', 'bank', 12.0]]
    """
    frames = []
    for end in ends:
        at = region_month.loc[region_month["month"] == end]
        g = at.groupby(at["region_id"].astype(str))["customers"].sum().astype("float64")
        g = g.reindex(sorted(str(r) for r in echelon_of), fill_value=0.0)
        ech = g.groupby(g.index.map(lambda r: str(echelon_of[r]))).sum()
        for level, part in (("region", g), ("echelon", ech)):
            frames.append(
                pd.DataFrame({"month": end, "level": level, "id": part.index, "customers": part})
            )
        frames.append(
            pd.DataFrame({"month": [end], "level": "bank", "id": "bank", "customers": g.sum()})
        )
    cols = ["month", "level", "id", "customers"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def load_window(ctx: Any, params: Mapping[str, Any] | None = None) -> Window:
    """The :class:`Window` of a report context: the run's lost customers
    (:func:`~bankanalysis.report.disclosure_retention.load_lost_counts`) and stock-retention
    answer (:func:`~bankanalysis.report.disclosure_retention.load_retention`), both cached
    once per run, and the customers of ``region_month`` at each month-end."""
    from bankanalysis.report.disclosure_retention import (
        load_lost_counts,
        load_retention,
        retention_setup,
    )
    from bankanalysis.rules.months import base_month

    lookback, months, ends, echelon_of = retention_setup(ctx, params)
    lost = load_lost_counts(ctx, params)
    return Window(
        lost=lost,
        end=end_customers(ctx.bank.region_month(), ends, echelon_of),
        bases={m: base_month(months, m, lookback) for m in ends},
        months=tuple(months),
        retention=dict(load_retention(ctx, params).status),
    )
