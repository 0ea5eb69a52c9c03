"""Disclosure control of the outlets', regions', echelons' and bank's shares of their customers.

Every report of a run prints, per region, echelon and the bank, the **wealth-card matching**
(quality-and-above customers holding the wealth card) and the **product coverage** (customers
holding at least ``coverage_products`` products) beside the count each is a share of (the
quality-and-above customers of 01's tier table, the customers of every scorecard): the
overview's scorecard, heat map, league ranks and quarter table, 03's quarter table, the
summaries' standing table (the data month, the month before and three months before), 01's
coverage sentence, ``metrics.json`` and the index. A share times its printed count gives the
holders back, and the count less them the others: a region of 27 quality-and-above customers
at 77.8 % has 21 holders and **6 without the card**, a small group (a holding of 1 to
``k - 1`` customers: always protected, ``docs/privacy.md``). On the 120-region bank about a
third of the region-quarters have such a side.

:func:`protect_level_shares` decides once per run, per share and month-end printed, which
units' share every report withholds:

- cells: each unit's two sides (holders and the others), whose sum is its count (published,
  ``fixed``; a count of 1 to ``k - 1`` is withheld by the small-group rule with its share,
  so that unit is left to that rule and its count read as ``"<k"``);
- relations: per side, the outlets add up to their region (03's quarter table prints its
  outlets' shares at the quarter ends: a withheld region must not come back as the sum of
  its published outlets), the regions to their echelon, the echelons to the bank;
- primary: a unit with a side of 1 to ``k - 1`` (shown ``"<k"``: the attacker reads that side
  as 1 to ``k - 1``, the other as at least ``k`` unless it is small too);
- a unit pinned by its own markers (:func:`pinned_by_markers`: 18 split 9 and 9) or by its
  family's (unsafe with every other unit withheld) is shown ``"withheld"`` (each side at
  least 0), and the search runs around it;
- secondary units, whole (their share withholds both sides, ``"x"``: each side at least
  ``k``): per parent with a single withheld child, its child of fewest customers in the
  count; then, while the audit finds a side narrower than its protection interval, the unit
  that makes every unsafe side safe (the smallest first, near the unsafe ones first), else
  the smallest near one (:func:`_search`);
- fail-safe: where even that is not enough, every unit of that month is withheld
  ``"withheld"``.

The audit is the linear programme of
:func:`~bankanalysis.rules.disclosure_secondary.audit` over both sides. The answer is a
:class:`~bankanalysis.report.disclosure_plan.PlanCounts` keyed
``(unit_key(level, id), kpi, period)`` (a month and, for a quarter end, its quarter label),
which :func:`~bankanalysis.report.disclosure_totals.load_total_figures` merges with the run's
other withheld totals: the plan tables read it as they read a withheld count, and
:func:`~bankanalysis.report.disclosure_retention.withhold_scorecard` withholds the scorecards'
figures (00's scorecard, the standing).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis.report.disclosure_plan import PlanCounts, month_end_status, unit_key
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.disclosure_secondary import (
    FAILSAFE,
    PRIMARY,
    SECONDARY,
    LinearTable,
    Protection,
    audit,
    unsafe_note,
)

__all__ = [
    "LEVEL_SHARES",
    "pinned_by_markers",
    "ShareTable",
    "load_level_shares",
    "level_share_counts",
    "protect_level_shares",
    "share_table",
]

logger = logging.getLogger(__name__)

#: The shares of a unit's customers printed per region, echelon and the bank, each with the
#: printed count it is a share of (the column of the quarter and scorecard frames).
LEVEL_SHARES: dict[str, str] = {
    "wealth_card_matching": "quality_plus_customers",
    "product_coverage": "customers",
}

#: Levels decided (an outlet's share is printed by its region's 03 at the quarter ends).
_LEVELS: tuple[str, ...] = ("outlet", "region", "echelon", "bank")


def level_share_counts(
    frames: Mapping[str, pd.DataFrame], shares: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The two sides of every share of :data:`LEVEL_SHARES` per month and unit.

    Parameters
    ----------
    frames : mapping
        Month -> rows of ``level, id`` (``region``, ``echelon``, ``bank``), each share and its
        count (the quarter table's rows of that month's quarter, or a scorecard's).
    shares : mapping, optional
        Share -> count column (default :data:`LEVEL_SHARES`); shares missing from a frame
        (a bank without a wealth card) are left out.

    Returns
    -------
    DataFrame
        ``month, kpi, level, id, size, part`` (``part`` = share x size, rounded to whole
        customers, as a reader gets it back; NaN where the share is unknown).

    Examples
    --------
    >>> f = pd.DataFrame({"level": ["region", "bank"], "id": ["R1", "bank"],
    ...                   "wealth_card_matching": [21 / 27, 0.5], "quality_plus_customers": [27, 40]})
    >>> level_share_counts({"2026-10": f}, {"wealth_card_matching": "quality_plus_customers"}
    ...                    )[["id", "size", "part"]].values.tolist()
    [['R1', 27.0, 21.0], ['bank', 40.0, 20.0]]
    """
    shares = dict(LEVEL_SHARES if shares is None else shares)
    rows = []
    for month, frame in sorted(frames.items()):
        f = frame.loc[frame["level"].isin(_LEVELS)]
        for kpi, count in shares.items():
            if kpi not in f.columns or count not in f.columns:
                continue
            size = f[count].astype("float64").to_numpy()
            part = np.rint(f[kpi].astype("float64").to_numpy() * size)
            rows.append(
                pd.DataFrame(
                    {
                        "month": str(month),
                        "kpi": kpi,
                        "level": f["level"].astype(str).to_numpy(),
                        "id": f["id"].astype(str).to_numpy(),
                        "size": size,
                        "part": part,
                    }
                )
            )
    cols = ["month", "kpi", "level", "id", "size", "part"]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.concat(rows, ignore_index=True)[cols]


@dataclass(frozen=True)
class ShareTable:
    """One share's units of one month as an audited table.

    ``cells`` maps a unit (:func:`unit_key`) to its two sides' cells (the share's holders and
    the others); ``primary`` are the units with a side of 1 to ``k - 1``; ``left`` the units
    whose share is not printed (a count of 1 to ``k - 1``, which the small-group rule
    withholds with its share and shows ``"<k"``, or an unknown share): their sides are
    unknowns at least 0.
    """

    table: LinearTable
    cells: dict[str, tuple[str, str]]
    size: dict[str, float]
    primary: tuple[str, ...]
    left: frozenset[str]
    parent: dict[str, str]

    def status(self, units: Iterable[str], k: int) -> dict[str, str]:
        """The cells' statuses with ``units`` withheld: a small side of a primary unit
        ``"primary"`` (shown ``"<k"``), every other side ``"secondary"``; the left units'
        sides and counts as the small-group rule shows them."""
        out: dict[str, str] = {}
        for u in sorted(self.left):
            if f"n[{u}]" not in self.table.fixed:
                out[f"n[{u}]"] = PRIMARY
            out.update(dict.fromkeys(self.cells[u], SECONDARY))
        primary = set(self.primary)
        for u in sorted(set(units) - self.left):
            for c in self.cells[u]:
                small = u in primary and bool(is_small([self.table.values[c]], k)[0])
                out[c] = PRIMARY if small else SECONDARY
        return out

    def audited(
        self, units: Iterable[str], k: int, cells: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """:func:`audit` of the primary units' sides (or of ``cells``) with ``units``
        withheld."""
        mine = {c for u in self.primary for c in self.cells[u]}
        return audit(self.table, self.status(units, k), k, cells=mine if cells is None else cells)

    def unmarked(self, units: Iterable[str]) -> ShareTable:
        """This table with ``units`` shown ``"withheld"`` (their sides at least 0, no
        marker)."""
        cells = frozenset(c for u in units for c in self.cells[u])
        return replace(self, table=replace(self.table, unmarked=self.table.unmarked | cells))


def share_table(
    part: pd.DataFrame,
    echelon_of: Mapping[str, Any],
    k: int,
    outlet_region: Mapping[str, str] | None = None,
) -> ShareTable:
    """One share's units of one month (rows ``level, id, size, part`` of
    :func:`level_share_counts`) as a :class:`ShareTable`; ``outlet`` rows (keyed by the
    outlet id) add up to their region (``outlet_region``).

    Examples
    --------
    >>> f = pd.DataFrame({"level": ["region", "region", "echelon", "bank"],
    ...                   "id": ["R1", "R2", "1", "bank"], "size": [27.0, 80, 107, 107],
    ...                   "part": [21.0, 50, 71, 71]})
    >>> t = share_table(f, {"R1": 1, "R2": 1}, 10)
    >>> t.primary, t.cells["region=R1"]
    (('region=R1',), ('part[region=R1]', 'rest[region=R1]'))
    """
    values: dict[str, float] = {}
    cells: dict[str, tuple[str, str]] = {}
    size: dict[str, float] = {}
    relations: list[dict[str, float]] = []
    primary, left = [], set()
    small_n = set()
    up_of: dict[str, str] = {}
    for r in part.itertuples(index=False):
        u = str(r.id) if r.level == "outlet" else unit_key(r.level, r.id)
        up_of[u] = (
            unit_key("region", (outlet_region or {}).get(str(r.id), ""))
            if r.level == "outlet"
            else unit_key("echelon", echelon_of.get(str(r.id), ""))
            if r.level == "region"
            else unit_key("bank", "bank")
            if r.level == "echelon"
            else ""
        )
        n = 0.0 if np.isnan(float(r.size)) else float(r.size)
        p = float(r.part)
        if np.isnan(p):  # not printed (a count of 1 to k - 1, or unknown): sides unknown
            left.add(u)
            p = 0.0
        cells[u] = (f"part[{u}]", f"rest[{u}]")
        values[cells[u][0]], values[cells[u][1]], values[f"n[{u}]"] = p, n - p, n
        size[u] = n
        relations.append({cells[u][0]: 1.0, cells[u][1]: 1.0, f"n[{u}]": -1.0})
        if bool(is_small([n], k)[0]):
            left.add(u)
            small_n.add(u)
        elif u not in left and bool(is_small([p, n - p], k).any()):
            primary.append(u)
    parent = {u: up for u, up in up_of.items() if up in cells}
    for up in sorted(set(parent.values())):
        children = [u for u, p in parent.items() if p == up]
        for side in (0, 1):
            relations.append(
                {**{cells[c][side]: 1.0 for c in children}, cells[up][side]: -1.0},
            )
    fixed = frozenset(f"n[{u}]" for u in cells if u not in small_n)
    table = LinearTable(values=values, relations=tuple(relations), fixed=fixed)
    return ShareTable(table, cells, size, tuple(sorted(primary)), frozenset(left), parent)


def _unit(cell: str) -> str:
    """The unit of a side's cell: ``"region=R1"`` of ``"rest[region=R1]"``."""
    return cell.partition("[")[2][:-1]


def _search(t: ShareTable, k: int) -> tuple[set[str], list[str]]:
    """The units withheld so that every primary unit's sides pass the audit (see the module
    docstring), and the sides still unsafe: none, or those that no withholding protects
    (unsafe with every other unit withheld: pinned by the markers and counts of their family,
    a region of 5 others whose two outlets have 1 to 9 others each).

    Hiding more never narrows an interval: a side found safe stays safe, so each step asks
    the audit about the sides still unsafe only."""
    chosen = set(t.primary)
    # a parent with a single withheld child: the parent less the others gives it back
    for up in sorted(set(t.parent.values())):
        children = [u for u, p in t.parent.items() if p == up and u not in t.left]
        if sum(u in chosen for u in children) == 1 and up not in chosen:
            others = sorted((u for u in children if u not in chosen), key=lambda u: (t.size[u], u))
            chosen.update(others[:1])
    result = t.audited(chosen, k)
    unsafe = list(result.loc[~result["safe"], "cell"])
    order = sorted(
        (u for u in t.cells if u not in chosen and u not in t.left),
        key=lambda u: (t.size[u], u),
    )
    if not unsafe:
        return chosen, []
    every = t.audited(chosen | set(order), k, unsafe)
    if not every["safe"].all():  # no withholding is enough for these
        return chosen, list(every.loc[~every["safe"], "cell"])
    while unsafe and order:
        units = {_unit(c) for c in unsafe}
        family = {t.parent.get(u) for u in units} | units
        near = [u for u in order if t.parent.get(u) in family or u in family] or order
        pick = next((u for u in near if t.audited(chosen | {u}, k, unsafe)["safe"].all()), near[0])
        chosen.add(pick)
        order.remove(pick)
        again = t.audited(chosen, k, unsafe)
        unsafe = list(again.loc[~again["safe"], "cell"])
    return chosen, unsafe


def pinned_by_markers(part: float, size: float, k: int) -> bool:
    """Whether a unit's small side is pinned by its own markers whatever else is withheld:
    with the count published, the small side (``"<k"``: 1 to ``k - 1``) is the count less
    the other side, itself 1 to ``k - 1`` when small or at least ``k`` (``"x"``), and the
    interval left is narrower than ``(k - 1) / 2``.

    Examples
    --------
    >>> pinned_by_markers(9, 18, 10), pinned_by_markers(11, 15, 10), pinned_by_markers(5, 12, 10)
    (True, True, False)
    """
    for small, other in ((part, size - part), (size - part, part)):
        if not 0 < small < k:
            continue
        lo_other, hi_other = (1.0, k - 1.0) if 0 < other < k else (float(k), float("inf"))
        lo, hi = max(1.0, size - hi_other), min(k - 1.0, size - lo_other)
        if hi - lo < (k - 1) / 2:
            return True
    return False


def _protect_month(t: ShareTable, k: int) -> tuple[dict[str, str], Protection]:
    """``{unit: status}`` of one share's month and its :class:`Protection`.

    A unit pinned by its own markers (:func:`pinned_by_markers`: 18 split 9 and 9, each
    ``"<k"``, so each exactly 9; 15 split 11 and 4, where ``"x"`` leaves the 4 at 1 to 5) is
    shown ``"withheld"`` (its sides at least 0) and the search runs around it."""
    if not t.primary:
        return {}, Protection(status={}, audit=t.audited((), k))
    alone = {u for u in t.primary if pinned_by_markers(t.table.values[t.cells[u][0]], t.size[u], k)}
    marked = t.unmarked(alone)
    chosen, unsafe = _search(marked, k)
    while unsafe and not {_unit(c) for c in unsafe} <= alone:
        # pinned by their family's markers whatever else is withheld: shown "withheld" too
        alone |= {_unit(c) for c in unsafe}
        marked = t.unmarked(alone)
        chosen, unsafe = _search(marked, k)
    status = {
        u: FAILSAFE if u in alone else PRIMARY if u in t.primary else SECONDARY
        for u in sorted(chosen)
    }
    failsafe = frozenset(c for u in alone for c in t.cells[u])
    if unsafe:
        # the totals and the markers pin a side whatever is withheld as "x": every unit's
        # share under "withheld", which says nothing of either side's size
        every = [u for u in t.cells if u not in t.left]
        marked = t.unmarked(every)
        chosen, status = set(every), dict.fromkeys(sorted(every), FAILSAFE)
        failsafe = frozenset(c for u in every for c in t.cells[u])
    cell_status = {t.cells[u][0]: st for u, st in status.items()}
    return status, Protection(
        status=cell_status, audit=marked.audited(chosen, k), failsafe=failsafe
    )


def protect_level_shares(
    counts: pd.DataFrame,
    echelon_of: Mapping[str, Any],
    k: int,
    quarters: Mapping[str, str] | None = None,
    outlet_region: Mapping[str, str] | None = None,
) -> PlanCounts:
    """Which units' shares of :data:`LEVEL_SHARES` a run withholds, per month-end printed.

    Parameters
    ----------
    counts : DataFrame
        :func:`level_share_counts` (``month, kpi, level, id, size, part``).
    echelon_of : mapping
        Region id -> echelon.
    k : int
        ``min_group_size``.
    quarters : mapping, optional
        Month-end -> the quarter label it stands for (``""`` none), as
        :func:`~bankanalysis.report.disclosure_retention.retention_months`.
    outlet_region : mapping, optional
        Outlet id -> region id, for the ``outlet`` rows (03 prints its outlets' shares at the
        quarter ends: they add up to the region's).

    Returns
    -------
    PlanCounts
        ``status[(unit_key(level, id), kpi, period)]`` (an outlet by its id, as
        :meth:`PlanCounts.of_level` reads it); one :class:`Protection` per share and month
        with a primary unit.

    Examples
    --------
    R1's 6 quality-and-above customers without the card would come back as its echelon's 36
    less R2's 30: R2 is withheld too (``x``), the smaller of the echelon's other regions.

    >>> f = pd.DataFrame({"month": "2026-09", "kpi": "wealth_card_matching",
    ...                   "level": ["region"] * 3 + ["echelon", "bank"],
    ...                   "id": ["R1", "R2", "R3", "1", "bank"],
    ...                   "size": [27.0, 80, 120, 227, 227], "part": [21.0, 50, 70, 141, 141]})
    >>> pc = protect_level_shares(f, {"R1": 1, "R2": 1, "R3": 1}, 10, {"2026-09": "2026-Q3"})
    >>> {u: s for (u, _, p), s in pc.status.items() if p == "2026-Q3"}
    {'region=R1': 'primary', 'region=R2': 'secondary'}
    """
    status: dict[tuple[str, str, str], str] = {}
    prots: list[Protection] = []
    for (month, kpi), part in counts.groupby(["month", "kpi"], sort=True):
        t = share_table(part, echelon_of, k, outlet_region)
        decided, prot = _protect_month(t, k)
        if not decided:
            continue
        if not prot.safe:
            logger.warning(unsafe_note(f"{kpi} of the regions {month}", prot))
        prots.append(prot)
        status.update(month_end_status(decided, str(kpi), str(month), quarters))
    return PlanCounts(status=status, k=int(k), protection=tuple(prots))


def _frames_of(
    quarters: pd.DataFrame, ends: Mapping[str, str], standing: Any
) -> dict[str, pd.DataFrame]:
    """Month -> the units' rows (``level, id`` and the shares with their counts): the quarter
    table's at its quarter ends, the standing's scorecards at its months (the same
    definitions; a month in both is read from the quarter table)."""
    frames: dict[str, pd.DataFrame] = {}
    by_label = {label: m for m, label in ends.items() if label}
    if len(quarters):
        for label, g in quarters.groupby("period_label", sort=True):
            if str(label) in by_label:
                frames[by_label[str(label)]] = g
    if standing is not None:
        for month in [standing.month, *standing.since.values()]:
            if month in frames:
                continue
            parts = []
            for level, scs in (
                ("region", standing.regions),
                ("echelon", standing.echelons),
                ("bank", standing.bank),
            ):
                sc = scs.get(month)
                if sc is None:
                    continue
                rows = sc.regions if level != "bank" else sc.bank if len(sc.bank) else sc.regions
                ids = "bank" if level == "bank" else rows["region_id"].astype(str)
                parts.append(rows.assign(level=level, id=ids))
            if parts:
                frames[month] = pd.concat(parts, ignore_index=True)
    return frames


def load_level_shares(
    ctx: Any, params: Mapping[str, Any] | None = None, n_quarters: int = 5
) -> PlanCounts:
    """The run's :func:`protect_level_shares`, computed once per data, month, parameters and
    package source (stored under ``<processed>/_models/level_shares``), from the quarter
    table's figures of every level
    (:func:`~bankanalysis.report.planning_scope.load_all_customer_quarters`) and the
    standing's scorecards (:func:`~bankanalysis.report.standing.cached_standing`): every report
    reads the same answer, so none prints a share another withholds.
    """
    from bankanalysis.propensity.cache import cached_for_data
    from bankanalysis.report.disclosure_retention import retention_setup
    from bankanalysis.report.planning_scope import load_all_customer_quarters
    from bankanalysis.report.standing import cached_standing, scorecard_params

    given = dict(params or {})
    _, _, ends, echelon_of = retention_setup(ctx, given, n_quarters)

    def build() -> PlanCounts:
        quarters = load_all_customer_quarters(ctx, ctx.month, given, n_quarters)
        standing = cached_standing(ctx, **scorecard_params(given))[0]
        frames = _frames_of(quarters, ends, standing)
        counts = level_share_counts(frames)
        outlets = ctx.bank.outlets
        outlet_region = dict(
            zip(outlets["outlet_id"].astype(str), outlets["region_id"].astype(str), strict=True)
        )
        return protect_level_shares(counts, echelon_of, ctx.min_group_size, ends, outlet_region)

    key = {
        "what": "shares of the regions, echelons and bank",
        "month": ctx.month,
        "k": int(ctx.min_group_size),
        "n_quarters": int(n_quarters),
        "params": scorecard_params(given),
    }
    return cached_for_data(ctx.bank, "level_shares", key, build)[0]
