"""Disclosure control of the migration heat map and the tier-flow table beneath it.

One system of relations over the transition matrix (:func:`migration_table`): the heat map,
the tier flows (customers at both month-ends, moves in and out by kind) and the cohort counts
behind the migration rates. :func:`protect_migration` hides the same cells in all of them, with
the fail-safe (:func:`~bankanalysis.rules.disclosure_secondary.fail_safe`,
:func:`migration_failsafe`) where the cohort totals other reports publish pin a small cell
whatever else the table withholds. Re-exported by :mod:`bankanalysis.report.disclosure`; the
policy is in ``docs/privacy.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis.report.disclosure_grid import cell_value
from bankanalysis.report.format import Suppressed
from bankanalysis.rules.disclosure import FAILSAFE_MARKER, SECONDARY_MARKER, is_small
from bankanalysis.rules.disclosure_secondary import (
    FAILSAFE,
    PRIMARY,
    SECONDARY,
    LinearTable,
    Protection,
    fail_safe,
    protect,
    unsafe_note,
)

__all__ = [
    "MigrationProtection",
    "migration_failsafe",
    "migration_table",
    "protect_migration",
    "protected_migration_metrics",
]

logger = logging.getLogger(__name__)


def _key(name: str, **by: str) -> str:
    inner = ",".join(f"{k}={v}" for k, v in by.items())
    return f"{name}[{inner}]" if inner else name


@dataclass(frozen=True)
class MigrationProtection:
    """:func:`protect_migration`'s answer.

    Attributes
    ----------
    matrix : DataFrame
        Transition counts with hidden cells NaN (what the heat map may draw).
    flows : DataFrame
        Tier flows with hidden cells as :class:`Suppressed` (object columns; the table shows
        ``"<k"``, ``"x"`` or ``"withheld"``), ``suppressed`` all False (the cells say it
        themselves).
    protection : Protection
    small_totals : frozenset
        Cohort totals of 1 to ``k - 1`` customers the audit takes as published (the overview
        prints them) but 01 still withholds, with their rates
        (:func:`protected_migration_metrics`).
    """

    matrix: pd.DataFrame
    flows: pd.DataFrame
    protection: Protection
    small_totals: frozenset[str] = frozenset()

    @property
    def matrix_status(self) -> pd.DataFrame:
        """``""``, ``"primary"`` or ``"secondary"`` per matrix cell (for chart labels)."""
        out = pd.DataFrame("", index=self.matrix.index, columns=self.matrix.columns)
        for i in out.index:
            for j in out.columns:
                out.at[i, j] = self.protection.shown_status(_mkey(i, j))
        return out


_FLOW_COUNTS = (
    "customers_from",
    "customers_to",
    "up_in",
    "down_in",
    "new_in",
    "up_out",
    "down_out",
    "closed_out",
)
_KPI_SUMS = {
    "base_customers": "customers_from",
    "upgraded_customers": "up_out",
    "downgraded_customers": "down_out",
    "lost_customers": "closed_out",
    "new_customers": "new_in",
}
#: Cohort counts another report of the run prints whatever their size: the overview's region
#: scorecard shows customer growth and stock retention (base = customers / (1 + growth),
#: lost = base x (1 - retention)), so they are known even when 01 withholds them -- except
#: the lost customers when the run withholds the region's retention (``lost_withheld``).
_PUBLISHED_ELSEWHERE = frozenset({"base_customers", "lost_customers"})


_CHART_MARKER = {SECONDARY: SECONDARY_MARKER, FAILSAFE: FAILSAFE_MARKER}


def _mkey(i: object, j: object) -> str:
    return _key("transitions", **{"from": str(i), "to": str(j)})


def migration_table(
    matrix: pd.DataFrame, k: int, lost_withheld: str = ""
) -> tuple[LinearTable, list[str], dict[str, str]]:
    """The migration matrix, the tier-flow table and the cohort totals as cells and relations.

    ``matrix`` is :func:`~bankanalysis.segmentation.migration.transition_matrix` (rows ``new``
    + tiers, columns tiers + ``closed``). Returns the table, its primary cells and the aliases
    (a flow equal to one matrix cell, e.g. ``closed_out[tier=vip]``, is that cell). Flow cells
    are ``<column>[tier=..]`` of
    :func:`~bankanalysis.segmentation.migration.tier_flows`; totals (the migration KPIs' counts:
    base, upgraded, downgraded, lost, new) are fixed, a small one primary instead -- except the
    base and the lost customers, which the overview's scorecard gives whatever their size
    (customer growth, stock retention): always fixed. Net change and retention are shown only
    where their inputs are, so they add no relation.

    ``lost_withheld``: how the run withholds the region's lost customers (its stock retention,
    :func:`~bankanalysis.report.disclosure_retention.protect_retention`; ``""`` published): a
    count of 1 to ``k - 1`` is primary here again (a larger one is withheld by
    :func:`protect_migration`, secondary), and the region's customers at the month-end
    (published everywhere: ``end_customers``, the sum of ``customers_to``) are fixed, so that
    base + new - end, with the base published, cannot give them back; the new customers (01's
    "gained") may then be withheld too.
    """
    rows = [str(r) for r in matrix.index]
    cols = [str(c) for c in matrix.columns]
    tiers = [t for t in rows if t in cols]
    rank = {t: i for i, t in enumerate(tiers)}
    values: dict[str, float] = {}
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            if r not in rank and c not in rank:  # (new, closed): always 0, known
                continue
            values[_mkey(r, c)] = float(matrix.iat[i, j])
    relations: list[dict[str, float]] = []
    aliases: dict[str, str] = {}

    def add(name: str, cells: list[str]) -> None:
        cells = [aliases.get(c, c) for c in cells if c in values or c in aliases]
        if len(cells) == 1:  # the same number shown twice (lost = the "closed" column): one cell
            aliases[name] = cells[0]
            return
        values[name] = sum(values[c] for c in cells)  # no part: 0, known
        if cells:
            rel = dict.fromkeys(cells, 1.0)
            rel[name] = -1.0
            relations.append(rel)

    for t in tiers:
        r = rank[t]
        add(_key("customers_from", tier=t), [_mkey(t, c) for c in cols])
        add(_key("customers_to", tier=t), [_mkey(s, t) for s in rows if _mkey(s, t) in values])
        add(_key("up_out", tier=t), [_mkey(t, c) for c in tiers if rank[c] > r])
        add(_key("down_out", tier=t), [_mkey(t, c) for c in tiers if rank[c] < r])
        add(_key("closed_out", tier=t), [_mkey(t, c) for c in cols if c not in rank])
        add(_key("up_in", tier=t), [_mkey(s, t) for s in tiers if rank[s] < r])
        add(_key("down_in", tier=t), [_mkey(s, t) for s in tiers if rank[s] > r])
        add(_key("new_in", tier=t), [_mkey(s, t) for s in rows if s not in rank])
    for total, part in _KPI_SUMS.items():
        add(total, [_key(part, tier=t) for t in tiers])
    published = _PUBLISHED_ELSEWHERE - {"lost_customers"} if lost_withheld else _PUBLISHED_ELSEWHERE
    primary = sorted(c for c, v in values.items() if is_small([v], k)[0] and c not in published)
    totals = [c for c in _KPI_SUMS if c in values and c not in primary]
    if lost_withheld:  # base - lost + new = end: the end is published, so lost and new go together
        add("end_customers", [_key("customers_to", tier=t) for t in tiers])
        totals = [c for c in totals if c in published] + [
            aliases.get("end_customers", "end_customers")
        ]
    fixed = frozenset(c for c in totals if c in values)
    table = LinearTable(values=values, relations=tuple(relations), fixed=fixed)
    return table, primary, aliases


def migration_failsafe(table: LinearTable) -> list[Any]:
    """The migration table's fail-safe steps (:func:`~bankanalysis.rules.disclosure_secondary.fail_safe`)
    for a cell the search cannot protect: first the rows and columns of the heat map through
    it (of each transition it is made of, for a flow), zeros included; then every cell of the
    heat map and the flow table. The cohort totals (base, upgraded, downgraded, lost, new
    customers) stay published: the overview prints stock retention and customer growth.

    Examples
    --------
    >>> m = pd.DataFrame([[5, 0, 0], [40, 3, 1], [2, 30, 0]], index=["new", "mass", "vip"],
    ...                  columns=["mass", "vip", "closed"])
    >>> row_col, everything = migration_failsafe(migration_table(m, 10)[0])
    >>> sorted(c.removeprefix("transitions") for c in row_col("transitions[from=mass,to=closed]"))
    ['[from=mass,to=closed]', '[from=mass,to=mass]', '[from=mass,to=vip]', '[from=vip,to=closed]']
    """
    cells = [c for c in table.values if c.startswith("transitions[")]

    def ends(cell: str) -> tuple[str, str]:
        inner = cell[len("transitions[") : -1].split(",")
        return inner[0].removeprefix("from="), inner[1].removeprefix("to=")

    def row_col(cell: str) -> list[str]:
        parts = [cell] if cell in cells else [c for c in table.neighbours(cell) if c in cells]
        parts = [c for c in parts if cell in cells or _part_of(table, c, cell)]
        keys = {ends(c) for c in parts}
        return [c for c in cells if any(ends(c)[0] == f or ends(c)[1] == t for f, t in keys)]

    def everything(cell: str) -> list[str]:
        return [c for c in table.values if c not in table.fixed]

    return [row_col, everything]


def _part_of(table: LinearTable, part: str, total: str) -> bool:
    """Whether ``part`` is a summand of ``total`` in one of the table's relations."""
    return any(rel.get(total) == -1.0 and rel.get(part) == 1.0 for rel in table.relations)


def protect_migration(
    matrix: pd.DataFrame, flows: pd.DataFrame, k: int, lost_withheld: str = ""
) -> MigrationProtection:
    """Hide the same cells in the migration heat map and the tier-flow table beneath it.

    Parameters
    ----------
    matrix : DataFrame
        :func:`~bankanalysis.segmentation.migration.transition_matrix` (counts, unsuppressed).
    flows : DataFrame
        :func:`~bankanalysis.segmentation.migration.tier_flows` of the same transitions
        (unsuppressed).
    k : int
        ``min_group_size``.
    lost_withheld : str
        How the run withholds the region's lost customers (``""`` published, ``"primary"``,
        ``"secondary"``; :func:`migration_table`).
    """
    table, primary, aliases = migration_table(matrix, k, lost_withheld)
    hidden = {}
    if lost_withheld and "lost_customers" in table.values and "lost_customers" not in primary:
        hidden["lost_customers"] = SECONDARY  # the run withholds it: 01 too
    first = protect(table, primary, k, hidden=hidden)
    prot = fail_safe(table, first, migration_failsafe(table), k)
    if not prot.safe:
        logger.warning(unsafe_note("migration", prot))
    shown = matrix.astype("float64").copy()
    for i in shown.index:
        for j in shown.columns:
            if _mkey(i, j) in prot.status or _mkey(i, j) in prot.failsafe:
                shown.at[i, j] = np.nan
    # the chart names each withheld cell by the table's marker: "<k" a small group, "x" a
    # secondary cell (it used to read "<k" too, though it holds k or more), "withheld" the
    # fail-safe (its size unsaid)
    shown.attrs["markers"] = [
        [_CHART_MARKER.get(prot.shown_status(_mkey(i, j)), "") for j in shown.columns]
        for i in shown.index
    ]
    out = flows.copy().astype(
        {c: "object" for c in (*_FLOW_COUNTS, "net_growth", "retention_rate")}
    )
    for idx, row in flows.iterrows():
        t = str(row["tier"])
        st = {}
        for c in _FLOW_COUNTS:
            key = _key(c, tier=t)
            st[c] = prot.shown_status(aliases.get(key, key))
        for c in _FLOW_COUNTS:
            out.at[idx, c] = cell_value(row[c], st[c], k)
        if st["customers_from"] or st["customers_to"]:
            why = PRIMARY if PRIMARY in (st["customers_from"], st["customers_to"]) else SECONDARY
            out.at[idx, "net_growth"] = cell_value(row["net_growth"], why, k)
        if st["customers_from"] or st["closed_out"]:
            why = PRIMARY if PRIMARY in (st["customers_from"], st["closed_out"]) else SECONDARY
            out.at[idx, "retention_rate"] = cell_value(row["retention_rate"], why, k)
    out["suppressed"] = False
    small = frozenset(
        c
        for c in _PUBLISHED_ELSEWHERE
        if c in table.values and is_small([table.values[c]], k)[0] and c not in prot.status
    )
    return MigrationProtection(matrix=shown, flows=out, protection=prot, small_totals=small)


#: Migration KPIs and the count each one reveals with the (published) cohort size.
_RATE_COUNTS = {
    "upward_migration_rate": "upgraded_customers",
    "downward_migration_rate": "downgraded_customers",
    "attrition_rate": "lost_customers",
    "stock_retention": "lost_customers",
    "lost_customers": "lost_customers",
    "gained_customers": "new_customers",
}


def protected_migration_metrics(
    metrics: Mapping[str, Any], mig: MigrationProtection, k: int
) -> dict[str, Any]:
    """:func:`~bankanalysis.report.segmentation.migration_metrics` with every rate withheld
    whose count (rate x cohort) :func:`protect_migration` hid: an upward migration rate of
    0.2 % of 1,500 customers says "3 upgraded" as plainly as the count. Where the run
    publishes the lost customers (the overview's stock retention), they are audited as
    published, yet 01 withholds a count of 1 to ``k - 1`` of them and its rates
    (:attr:`MigrationProtection.small_totals`); where the run withholds them
    (``protect_migration(..., lost_withheld=...)``) they are a cell of the protection like
    the others, and the gained customers follow the cohort's new customers."""
    out = dict(metrics)
    for kpi, count in _RATE_COUNTS.items():
        status = mig.protection.shown_status(count)
        if not status and count in mig.small_totals:
            status = PRIMARY
        if kpi in out and status and not isinstance(out[kpi], Suppressed):
            out[kpi] = cell_value(out[kpi], status, k)
    return out
