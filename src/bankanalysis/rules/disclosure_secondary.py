"""Primary and secondary (complementary) cell suppression, audited by linear programming.

:mod:`bankanalysis.rules.disclosure` says which groups are too small to show (primary
protection). Hiding a cell is not enough when the table also publishes its total, shares or an
"X and above" sentence: the hidden cell comes back by subtraction. This module follows the
method of statistical offices (Hundepool et al., *Statistical Disclosure Control*, 2012,
ch. 4; the tau-ARGUS manual, "optimal"/"modular" secondary suppression; sdcTable):

1. **Primary cells**: counts of 1 to ``k - 1`` customers, money cells of such groups and money
   cells dominated by one or two customers (:func:`p_percent_sensitive`).
2. **Audit**: every published figure is a linear relation between cells (a total, a share
   times a published total, a sentence). An attacker knowing all published values and the
   marker's meaning (``"<k"``: 1 to ``k - 1`` customers) computes, by linear programming
   (HiGHS), the smallest and largest value each hidden cell can take: its *feasible interval*.
   A primary cell is safe when that interval is at least as wide as its *protection
   interval*: for a count of ``1 .. k - 1`` customers half the marker's range,
   ``(k - 1) / 2`` customers (for ``k = 10`` the attacker cannot say better than "between 2
   and 6"); for money it must reach ``value x (1 -/+ level)``.
3. **Secondary suppression**: while a primary cell is unsafe, hide one more published cell
   sharing a relation with it; among the candidates the one that makes the cell safe, then the
   smallest (least information lost), then by name -- so the same data give the same cells.
   When no candidate makes it safe, the pair of smallest total that does (among at most
   :data:`MAX_PAIR_CANDIDATES` candidates), else the one that widens its interval most (the
   smallest when none widens it alone). In a component of more than :data:`SEARCH_PIECE`
   withheld cells (a large region's manager scorecards) one linear programme names the cells
   instead, one programme rather than one per candidate
   (:func:`~bankanalysis.rules.disclosure_choice.programme_choice`: the attacker's programme
   with every candidate free at a cost, the cell held at each end of its protection interval;
   the cells its cheapest points move, pruned back where the cell stays safe without them),
   or gives up at once when that programme has no point (no withholding protects the cell:
   the fail-safe's case). Every step hides at least one more cell, so the search ends; a cell
   it cannot protect is reported (:attr:`Protection.safe`).

4. **Fail-safe** (:func:`fail_safe`): when the search gives up on a cell (the published
   totals pin it whatever else is hidden), a larger set of the table's cells is withheld under
   a marker that says nothing of their size (``"withheld"``, zeros included), step by step
   (e.g. the cell's row and column, then every cell of the table that is not published
   elsewhere), until the audit passes or nothing is left to withhold.

The audit is the proof: :func:`protect` returns only when every primary cell passes it (or
says which cells it could not protect). A cell's interval is the linear programme of its
component only (the hidden cells linked to it through relations), memoised until a status in
that component changes, so a table of thousands of units (a large region's manager
scorecards, one relation per column) is many small programmes of milliseconds each rather than
one over every hidden cell per primary cell. A programme is also memoised by its numbers for the
process (:func:`feasible_range`): tables that pose the same one (01's upgrade figures, protected
with the pipeline in three tables) solve it once. A component of more than
:data:`SEARCH_PIECE` withheld cells (a large region's manager scorecards with their row sums)
is asked of one warm-started model of the whole table instead when the caller passes one
(:func:`protect`'s ``large``: :class:`~bankanalysis.rules.disclosure_pieces.PieceIntervals`,
the same intervals, each question changing only the bounds of the cells whose status changed).
That solver also names the cells to withhold from a second warm-started model
(:class:`~bankanalysis.rules.disclosure_choice.WarmChoice`: the same programmes, bounds and
costs changed between questions, instead of one built per question), proves at once, with
points that push many cells at a time, the primary cells of large components already safe
before the search asks them one by one, and settles the audit's cells of large components the
same way (:meth:`~bankanalysis.rules.disclosure_pieces.PieceIntervals.settle`: the same
verdicts). The 3M bank's largest region's manager scorecards (606 cards) took 136 s with the
first model alone, 37 s with all three (the same cells).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Protocol

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from bankanalysis.rules.disclosure_choice import programme_choice
from bankanalysis.rules.disclosure_table import (
    _TOL,
    DEFAULT_DOMINANCE_P,
    DEFAULT_PROTECTION_LEVEL,
    FAILSAFE,
    PRIMARY,
    SECONDARY,
    LinearTable,
    _bounds,
    _safe,
    withholdable,
)

__all__ = [
    "DEFAULT_DOMINANCE_P",
    "DEFAULT_PROTECTION_LEVEL",
    "FAILSAFE",
    "PRIMARY",
    "SECONDARY",
    "LargeSolver",
    "LinearTable",
    "Protection",
    "audit",
    "fail_safe",
    "failsafe_steps",
    "p_percent_sensitive",
    "protect",
    "unsafe_cells",
    "unsafe_note",
]

logger = logging.getLogger(__name__)

#: Up to this many candidates, pairs are tried when no single cell protects a primary one.
MAX_PAIR_CANDIDATES = 8

#: A primary cell whose component holds more withheld cells than this gets its secondary cells
#: from :func:`~bankanalysis.rules.disclosure_choice.programme_choice` and its intervals from
#: the caller's warm-started model of the table (:func:`protect`'s ``large``): trying every candidate, each a
#: programme of the whole component, took a large region's manager scorecards (199 cards,
#: components of 235 cells and 150 candidates) past 110,000 programmes.
SEARCH_PIECE = 60


def p_percent_sensitive(
    values: pd.Series, groups: pd.Series, p: float = DEFAULT_DOMINANCE_P
) -> pd.Series:
    """The p% rule: a money total is sensitive when the customers other than its two largest
    hold less than ``p`` times the largest one (the second largest could then estimate the
    largest within ``p``).

    Parameters
    ----------
    values : Series
        One non-negative amount per customer.
    groups : Series
        The cell of each customer (same index).
    p : float
        The rule's ``p`` as a fraction.

    Returns
    -------
    Series of bool
        Indexed by group (sorted). A group with a zero total is not sensitive.

    Examples
    --------
    >>> v = pd.Series([100.0, 5.0, 3.0, 10.0, 10.0, 10.0])
    >>> g = pd.Series(["a", "a", "a", "b", "b", "b"])
    >>> p_percent_sensitive(v, g, 0.10).to_dict()
    {'a': True, 'b': False}
    """
    v = pd.Series(np.clip(np.asarray(values, dtype="float64"), 0, None), index=values.index)
    df = pd.DataFrame({"g": np.asarray(groups), "v": v.to_numpy()})
    df = df.sort_values(["g", "v"], ascending=[True, False], kind="stable")
    rank = df.groupby("g", sort=True).cumcount()
    total = df.groupby("g", sort=True)["v"].sum()
    x1 = df[rank == 0].set_index("g")["v"].reindex(total.index, fill_value=0.0)
    x2 = df[rank == 1].set_index("g")["v"].reindex(total.index, fill_value=0.0)
    rest = total - x1 - x2
    return ((rest < p * x1 - _TOL) & (total > 0)).rename("sensitive")


@dataclass(frozen=True, eq=False)  # compared by identity: it travels in DataFrame.attrs
class Protection:
    """The outcome of :func:`protect`.

    Attributes
    ----------
    status : dict
        ``{cell: "primary" | "secondary" | "fail-safe"}`` for every hidden cell.
    audit : DataFrame
        :func:`audit` of the final pattern (one row per primary cell).
    failsafe : frozenset
        Cells shown under the fail-safe marker, which says nothing of their size (every cell
        :func:`fail_safe` withholds, and the cells already withheld in its sets: a primary
        cell there no longer shows ``"<k"``); empty without a fail-safe.
    """

    status: Mapping[str, str]
    audit: pd.DataFrame
    failsafe: frozenset[str] = field(default_factory=frozenset)

    @property
    def hidden(self) -> set[str]:
        """Every hidden cell."""
        return set(self.status)

    def counts(self) -> dict[str, int]:
        """``{"primary": n, "secondary": m}``, and ``"fail-safe"`` when :func:`fail_safe`
        withheld cells."""
        out = {PRIMARY: 0, SECONDARY: 0}
        for s in self.status.values():
            out[s] = out.get(s, 0) + 1
        return out

    def shown_status(self, cell: str) -> str:
        """The status a table shows for ``cell``: ``"fail-safe"`` for every cell under the
        fail-safe marker (its own status otherwise, ``""`` when published)."""
        return FAILSAFE if cell in self.failsafe else self.status.get(cell, "")

    @property
    def safe(self) -> bool:
        """Whether every primary cell passed the audit."""
        return bool(self.audit["safe"].all()) if len(self.audit) else True


#: Coefficients (relations x unknowns of the dense programmes, plus one per unknown of each
#: key) that one table's solver keeps memoised, least recently used dropped first: 2**22, about
#: 32 MB of float64. A large region's manager scorecards, whose row sums link every column into
#: one component of thousands of hidden cells, pose a programme of tens of millions of
#: coefficients per candidate cell of every step; all of them kept took one kernel of the 10M
#: bank past 15 GB.
KEPT_COEFFICIENTS = 2**22


class LargeSolver(Protocol):
    """What :func:`protect` asks of the solver of large components
    (:class:`~bankanalysis.rules.disclosure_pieces.PieceIntervals` is the one it is given)."""

    def interval(self, status: Mapping[str, str], cell: str) -> tuple[float, float]:
        """Smallest and largest value of ``cell`` under ``status``."""

    def choice(self, status: Mapping[str, str], target: str) -> list[str] | None:
        """The cells to withhold so that ``target`` reaches its protection interval."""

    def settle(self, status: Mapping[str, str], cells: list[str]) -> dict[str, tuple[float, float]]:
        """The intervals of ``cells``, points first."""

    def proven(self, status: Mapping[str, str], cells: list[str]) -> set[str]:
        """The ``cells`` the points alone show safe."""


class _Intervals:
    """Feasible intervals of a table's hidden cells, each from the linear programme of its
    component only, memoised.

    The hidden cells linked to ``target`` through relations (its *component*) are the only
    unknowns its interval depends on: a relation without a cell of the component constrains
    other unknowns only, and the true values satisfy every relation, so dropping them leaves
    the optimum as it was. The programme of a component has the rows of the relations touching
    it, in the table's order, each right-hand side summed over the same published cells in the
    same order as over every hidden cell at once, so only its columns are fewer: a table of
    ``n`` units gives one small programme per column's component instead of one over every
    hidden cell of the table, and an interval is solved again only when its component or a
    status in it changed (:func:`protect` re-audits every primary cell after each step).
    The programmes and intervals kept are held to ``kept`` coefficients
    (:data:`KEPT_COEFFICIENTS`), least recently used dropped first (the most recent always
    kept): a dropped one is solved again, to the same interval, if it recurs.
    """

    def __init__(self, table: LinearTable, k: int, kept: int | None = None) -> None:
        self.table = table
        self.k = k
        self.by_cell: dict[str, list[int]] = {}
        for i, rel in enumerate(table.relations):
            for c in rel:
                self.by_cell.setdefault(c, []).append(i)
        #: (component's cells and statuses) -> [programme or None, {target: interval}, size]
        self._kept: OrderedDict[tuple, list] = OrderedDict()
        self._kept_size = 0
        self.kept = KEPT_COEFFICIENTS if kept is None else kept
        #: makes the solver of components of more than SEARCH_PIECE withheld cells
        #: (:meth:`interval`), once, when the first such component is asked about
        self.make_large: Callable[[], LargeSolver] | None = None
        self._large: LargeSolver | None = None

    def _entry(self, hidden: tuple[str, ...], status: Mapping[str, str]) -> list:
        """The memo of a component under its statuses (created empty, marked most recent)."""
        key = tuple((c, status[c]) for c in hidden)
        entry = self._kept.get(key)
        if entry is None:
            entry = self._kept[key] = [None, {}, len(hidden)]
            self._grow(len(hidden))
        else:
            self._kept.move_to_end(key)
        return entry

    def _grow(self, size: int) -> None:
        """Count ``size`` more coefficients kept; drop the least recently used beyond
        :attr:`kept` (never the most recent entry)."""
        self._kept_size += size
        while self._kept_size > self.kept and len(self._kept) > 1:
            _, old = self._kept.popitem(last=False)
            self._kept_size -= old[2]

    def components(self, status: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
        """Each hidden cell's component: the hidden cells linked to it, sorted."""
        parent = {c: c for c in status}

        def find(c: str) -> str:
            while parent[c] != c:
                parent[c] = parent[parent[c]]
                c = parent[c]
            return c

        first: dict[int, str] = {}
        for c in status:
            for r in self.by_cell.get(c, ()):
                if r in first:
                    a, b = find(c), find(first[r])
                    if a != b:
                        parent[a] = b
                else:
                    first[r] = c
        groups: dict[str, list[str]] = {}
        for c in sorted(status):
            groups.setdefault(find(c), []).append(c)
        out: dict[str, tuple[str, ...]] = {}
        for cells in groups.values():
            comp = tuple(cells)
            out.update(dict.fromkeys(comp, comp))
        return out

    def component(self, status: Mapping[str, str], target: str) -> tuple[str, ...]:
        """``target``'s component under ``status`` (one search from it)."""
        seen = {target}
        stack = [target]
        done: set[int] = set()
        while stack:
            c = stack.pop()
            for r in self.by_cell.get(c, ()):
                if r in done:
                    continue
                done.add(r)
                for d in self.table.relations[r]:
                    if d in status and d not in seen:
                        seen.add(d)
                        stack.append(d)
        return tuple(sorted(seen))

    def _programme(self, hidden: tuple[str, ...], status: Mapping[str, str]) -> tuple:
        entry = self._entry(hidden, status)
        if entry[0] is not None:
            return entry[0]
        pos = {c: i for i, c in enumerate(hidden)}
        rels = sorted({r for c in hidden for r in self.by_cell.get(c, ())})
        rows, rhs = [], []
        for r in rels:
            rel = self.table.relations[r]
            row = np.zeros(len(hidden))
            b = 0.0
            for c, coef in rel.items():
                if c in pos:
                    row[pos[c]] += coef
                else:
                    b -= coef * float(self.table.values[c])
            rows.append(row)
            rhs.append(b)
        bounds = [_bounds(self.table, c, status[c], self.k) for c in hidden]
        found = (pos, rows, rhs, bounds)
        entry[0] = found
        entry[2] += len(rows) * len(hidden)
        self._grow(len(rows) * len(hidden))
        return found

    def interval(
        self,
        status: Mapping[str, str],
        target: str,
        components: Mapping[str, tuple[str, ...]] | None = None,
    ) -> tuple[float, float]:
        """Smallest and largest value of ``target`` consistent with everything published
        (``components``: :meth:`components` of ``status`` when the caller has them)."""
        hidden = components[target] if components is not None else self.component(status, target)
        if len(hidden) > SEARCH_PIECE and (large := self.large()) is not None:
            return large.interval(status, target)
        intervals = self._entry(hidden, status)[1]
        found = intervals.get(target)
        if found is None:
            found = intervals[target] = self._solve(hidden, status, target)
        return found

    def choice(self, status: Mapping[str, str], target: str, level: float) -> list[str] | None:
        """:func:`~bankanalysis.rules.disclosure_choice.programme_choice`'s answer for a
        large component: from the large solver's warm model when there is one, else from a
        programme built for the question."""
        if (large := self.large()) is not None:
            return large.choice(status, target)
        return programme_choice(self.table, status, target, self.k, level, self.by_cell)

    def large(self) -> LargeSolver | None:
        """The solver of large components (:attr:`make_large`'s, made when first asked), or
        None without one."""
        if self._large is None and self.make_large is not None:
            self._large = self.make_large()
        return self._large

    def _big(
        self, cells: list[str], components: Mapping[str, tuple[str, ...]]
    ) -> tuple[LargeSolver | None, list[str]]:
        """The large solver and the ``cells`` of large components; ``(None, [])`` when there
        are none or no solver."""
        big = [c for c in cells if len(components[c]) > SEARCH_PIECE]
        large = self.large() if big else None
        return (large, big) if large is not None else (None, [])

    def settle_large(
        self,
        status: Mapping[str, str],
        cells: list[str],
        components: Mapping[str, tuple[str, ...]],
    ) -> dict[str, tuple[float, float]]:
        """The intervals of the ``cells`` of large components from the large solver, points
        first (its ``settle``); empty without one."""
        large, big = self._big(cells, components)
        return large.settle(status, big) if large is not None else {}

    def proven_large(
        self,
        status: Mapping[str, str],
        cells: list[str],
        components: Mapping[str, tuple[str, ...]],
    ) -> set[str]:
        """The ``cells`` of large components that the large solver's points alone show safe
        (its ``proven``); empty without one."""
        large, big = self._big(cells, components)
        return large.proven(status, big) if large is not None else set()

    def _solve(
        self, hidden: tuple[str, ...], status: Mapping[str, str], target: str
    ) -> tuple[float, float]:
        pos, rows, rhs, bounds = self._programme(hidden, status)
        matrix = np.array(rows, dtype="float64") if rows else np.zeros((0, len(hidden)))
        return feasible_range(
            pos[target],
            matrix.shape,
            matrix.tobytes(),
            tuple(float(b) for b in rhs),
            tuple(bounds),
            target not in self.table.money,
            float(self.table.values[target]),
        )


#: Programmes :func:`feasible_range` keeps solved, and the largest it keeps (unknowns times
#: relations): at most about 4,096 x 50 kB of keys; larger ones are rare and solved each time.
SOLVED_PROGRAMMES = 4_096
SOLVED_PROGRAMME_SIZE = 2_048


def feasible_range(
    at: int,
    shape: tuple[int, int],
    matrix: bytes,
    rhs: tuple[float, ...],
    bounds: tuple[tuple[float, float | None], ...],
    integer: bool,
    value: float,
) -> tuple[float, float]:
    """Smallest and largest value of unknown ``at`` subject to ``A x = rhs`` and ``bounds``.

    Two HiGHS programmes (minimise, maximise). A count (``integer``) is rounded inwards to
    whole numbers; an unbounded side is infinite; a solver failure gives ``value`` (the true
    value, always feasible: treated as disclosed). The arguments are plain bytes and tuples,
    so the answer is memoised for the process: HiGHS gives the same answer to the same
    programme, and the same programme recurs across a report's tables (01 protects the
    upgrade figures with the pipeline three times: the pipeline's last round, the region's
    totals and the outlet table), each of which otherwise solved it again.

    Parameters
    ----------
    at : int
        Position of the unknown whose range is sought.
    shape : (int, int)
        Rows (relations) and columns (unknowns) of ``A``.
    matrix : bytes
        ``A`` as ``float64`` bytes in C order (``ndarray.tobytes()``).
    rhs : tuple of float
        Right-hand side, one per relation.
    bounds : tuple of (float, float or None)
        Bounds of every unknown (``None``: no upper bound).
    integer : bool
        Whether the unknown is a count.
    value : float
        The unknown's true value.

    Examples
    --------
    >>> a = np.array([[1.0, 1.0]])  # x0 + x1 = 10, 1 <= x0 <= 9, 2 <= x1
    >>> feasible_range(0, a.shape, a.tobytes(), (10.0,), ((1.0, 9.0), (2.0, None)), True, 3.0)
    (1.0, 8.0)
    """
    args = (at, shape, matrix, rhs, bounds, integer, value)
    if shape[0] * shape[1] > SOLVED_PROGRAMME_SIZE:
        return _feasible_range(*args)
    return _feasible_range_kept(*args)


def _feasible_range(
    at: int,
    shape: tuple[int, int],
    matrix: bytes,
    rhs: tuple[float, ...],
    bounds: tuple[tuple[float, float | None], ...],
    integer: bool,
    value: float,
) -> tuple[float, float]:
    """:func:`feasible_range`, solved."""
    n_rows, n = shape
    a = np.frombuffer(matrix, dtype="float64").reshape(n_rows, n) if n_rows else None
    out = []
    for sign in (1.0, -1.0):
        cost = np.zeros(n)
        cost[at] = sign
        res = linprog(
            cost,
            A_eq=a,
            b_eq=np.array(rhs) if n_rows else None,
            bounds=list(bounds),
            method="highs",
        )
        if res.status == 3:  # unbounded
            out.append(-np.inf if sign > 0 else np.inf)
        elif res.status == 0 and integer:  # counts are integers
            out.append(
                float(np.ceil(res.fun - 1e-6)) if sign > 0 else float(np.floor(-res.fun + 1e-6))
            )
        elif res.status != 0:
            # the true values are feasible; a failure means tolerances: treat as disclosed
            logger.debug("disclosure audit: solver status %s", res.status)
            out.append(value)
        else:
            out.append(sign * float(res.fun))
    return out[0], out[1]


_feasible_range_kept = lru_cache(maxsize=SOLVED_PROGRAMMES)(_feasible_range)


def audit(
    table: LinearTable,
    status: Mapping[str, str],
    k: int,
    level: float = DEFAULT_PROTECTION_LEVEL,
    cells: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Feasible interval of every primary cell against its protection interval.

    Counts are bounded by the linear relaxation rounded inwards to integers. ``cells``
    audits only those primary cells (a search asking whether the cells it found unsafe are
    safe now: hiding more never narrows an interval, so the others stay safe).

    Returns
    -------
    DataFrame
        ``cell, value, lower, upper, safe`` (one row per primary cell, sorted by cell).
    """
    return _audit(_Intervals(table, k), status, level, cells)


def _audit(
    solver: _Intervals,
    status: Mapping[str, str],
    level: float,
    cells: Iterable[str] | None = None,
) -> pd.DataFrame:
    table, k = solver.table, solver.k
    comps = solver.components(status)
    primary = sorted(c for c, s in status.items() if s == PRIMARY)
    if cells is not None:
        primary = sorted(set(primary) & set(cells))
    found = solver.settle_large(status, primary, comps)  # large components: points first
    rows = []
    for cell in primary:
        lo, hi = found[cell] if cell in found else solver.interval(status, cell, comps)
        safe = _safe(table, cell, lo, hi, k, level)
        rows.append((cell, float(table.values[cell]), lo, hi, safe))
    return pd.DataFrame(rows, columns=["cell", "value", "lower", "upper", "safe"])


def _cell_safe(
    solver: _Intervals,
    status: Mapping[str, str],
    cell: str,
    level: float,
    components: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[bool, float]:
    lo, hi = solver.interval(status, cell, components)
    return _safe(solver.table, cell, lo, hi, solver.k, level), hi - lo


def protect(
    table: LinearTable,
    primary: Iterable[str],
    k: int,
    level: float = DEFAULT_PROTECTION_LEVEL,
    hidden: Mapping[str, str] | None = None,
    large: Callable[[LinearTable, int, float], LargeSolver] | None = None,
) -> Protection:
    """Hide ``primary`` and as few further cells as needed for every primary cell to pass
    :func:`audit` (greedy, deterministic; see the module docstring).

    ``hidden`` (``{cell: status}``) are cells another table already withholds (a joint
    problem: that table's cells in relations with this one's); their ``"primary"`` ones are
    audited like ``primary``, the others count as withheld. ``large`` makes, from the table,
    ``k`` and ``level``, a solver whose ``interval(status, cell)`` answers for components of
    more than :data:`SEARCH_PIECE` withheld cells with the same intervals
    (:class:`~bankanalysis.rules.disclosure_pieces.PieceIntervals`, one warm-started model of
    the table, which the callers with large tables pass); made when first needed.

    Examples
    --------
    Three tiers and their total: hiding the small one alone gives it back by subtraction.

    >>> t = LinearTable({"a": 50, "b": 30, "c": 4, "n": 84}, ({"a": 1, "b": 1, "c": 1, "n": -1},),
    ...                 fixed=frozenset({"n"}))
    >>> protect(t, ["c"], 10).status
    {'c': 'primary', 'b': 'secondary'}
    """
    status: dict[str, str] = dict(sorted((hidden or {}).items()))
    status.update({c: PRIMARY for c in sorted(set(primary))})
    given_up: set[str] = set()
    # every step only hides more cells, which widens every interval (a hidden cell's true value
    # stays feasible): a cell found safe stays safe and is not solved again before the audit
    proven: set[str] = set()
    solver = _Intervals(table, k)
    if large is not None:
        solver.make_large = lambda: large(table, k, level)
        # the cells of large components that points show safe at once are not asked one by one
        first = sorted(c for c, s in status.items() if s == PRIMARY)
        proven.update(solver.proven_large(status, first, solver.components(status)))
    while True:
        target, width = None, 0.0
        comps = solver.components(status)
        for c in sorted(status):
            if status[c] == PRIMARY and c not in given_up and c not in proven:
                ok, width = _cell_safe(solver, status, c, level, comps)
                if not ok:
                    target = c
                    break
                proven.add(c)
        if target is None:
            break
        candidates = _candidates(table, status, target, k)
        chosen: list[str] | None = []
        if candidates and len(comps[target]) > SEARCH_PIECE:
            # a large component: one programme names the cells (or says none protect the
            # cell), not a programme per candidate
            chosen = solver.choice(status, target, level)
        if chosen is None or not candidates:
            # debug only: a cell's name may hold a unit id (the caller reports the count)
            logger.debug("disclosure: no further cell can protect %s", target)
            given_up.add(target)
            continue
        if chosen:
            # the point may move more cells than needed: largest first, one goes back to
            # published when the target stays safe without it
            trial = {**status, **dict.fromkeys(chosen, SECONDARY)}
            for c in sorted(chosen, key=lambda c: (-abs(float(table.values[c])), c)):
                rest = {d: s for d, s in trial.items() if d != c}
                if len(trial) > len(status) + 1 and _cell_safe(solver, rest, target, level)[0]:
                    trial = rest
            status = trial
            continue
        picked, widest = _single_or_pair(solver, status, target, candidates, level, width)
        # when no single cell widens the interval (several relations pin it), the smallest
        # neighbour is hidden and the search goes on: every step hides one more cell, so it ends
        status.update(dict.fromkeys(picked or (widest,), SECONDARY))
    return Protection(status=status, audit=_audit(solver, status, level))


def _single_or_pair(
    solver: _Intervals,
    status: Mapping[str, str],
    target: str,
    candidates: list[str],
    level: float,
    width: float,
) -> tuple[tuple[str, ...], str]:
    """The smallest candidate that makes ``target`` safe (tried smallest first, then by name:
    the first safe one is the choice), else the pair of smallest total that does (up to
    :data:`MAX_PAIR_CANDIDATES` candidates), else nothing; with the candidate that widens its
    interval most (the smallest among equals)."""
    table = solver.table
    scored = []
    for c in sorted(candidates, key=lambda c: (abs(float(table.values[c])), c)):
        ok, w = _cell_safe(solver, {**status, c: SECONDARY}, target, level)
        if ok:
            return (c,), c
        scored.append((-(w - width), abs(float(table.values[c])), c))
    widest = min(scored)[2]
    if len(candidates) <= MAX_PAIR_CANDIDATES:
        pair = _safe_pair(solver, status, target, candidates, level)
        if pair is not None:
            return pair, widest
    return (), widest


def _safe_pair(
    solver: _Intervals,
    status: Mapping[str, str],
    target: str,
    candidates: list[str],
    level: float,
) -> tuple[str, str] | None:
    """The two candidates of smallest total value that together make ``target`` safe."""
    table = solver.table
    pairs = sorted(
        (abs(float(table.values[a])) + abs(float(table.values[b])), a, b)
        for i, a in enumerate(candidates)
        for b in candidates[i + 1 :]
    )
    for _, a, b in pairs:
        if _cell_safe(solver, {**status, a: SECONDARY, b: SECONDARY}, target, level)[0]:
            return a, b
    return None


def _candidates(table: LinearTable, status: Mapping[str, str], target: str, k: int) -> list[str]:
    """Published cells that may be hidden to protect ``target``: in a relation with it (or,
    when none is left, with any hidden cell but the rests), never fixed, never zero."""

    def ok(c: str) -> bool:
        return c not in status and withholdable(table, c, k)

    near = sorted(c for c in table.neighbours(target) if ok(c))
    if near:
        return near
    wider: set[str] = set()
    for h in status:
        if h not in table.rests:
            wider.update(table.neighbours(h))
    return sorted(c for c in wider if ok(c))


def fail_safe(
    table: LinearTable,
    prot: Protection,
    steps: Sequence[Callable[[str], Iterable[str]]],
    k: int,
    level: float = DEFAULT_PROTECTION_LEVEL,
    auditor: Callable[[LinearTable, Mapping[str, str]], pd.DataFrame] | None = None,
) -> Protection:
    """Withhold larger sets of cells where :func:`protect` gave up, under a marker that says
    nothing of their size.

    A cell the greedy search cannot protect is pinned by figures the table cannot hide (a
    total published elsewhere: ``fixed``) together with what its markers say (``"<k"``:
    1 to ``k - 1``; ``"x"``: at least ``k``; a shown 0). For each such cell, step by step,
    every cell of ``steps[i](cell)`` that is not ``fixed`` is withheld -- zeros and cells
    already withheld included -- and shown under the fail-safe marker, so the reader learns
    only that it is at least 0 (:attr:`LinearTable.unmarked` in the audit). The steps are
    cumulative and taken in order until the audit passes or the steps run out; each step
    withholds at least as much as before, so an interval only widens. Deterministic: the
    cells are taken in name order.

    Parameters
    ----------
    table : LinearTable
        The table :func:`protect` ran on.
    prot : Protection
        Its answer.
    steps : sequence of callables
        ``cell -> cells`` to withhold for an unprotected primary cell (e.g. its row and
        column, then the whole table).
    k, level : int, float
        As :func:`protect`.
    auditor : callable, optional
        ``(table, status) -> audit frame`` with :func:`audit`'s answer (default :func:`audit`;
        :meth:`~bankanalysis.rules.disclosure_pieces.PieceIntervals.audit` for a large joint
        table).

    Returns
    -------
    Protection
        ``prot`` unchanged when it is safe or no step helps; otherwise the new cells with
        status ``"fail-safe"``, :attr:`Protection.failsafe` the cells under the marker, and
        the audit of the final pattern (still unsafe when no step protects a cell: say so).

    Examples
    --------
    A lost customer pinned by the published total of lost customers: 13 ("x": at least 10)
    and the 1 make 14, so the 1 is at most 4 whatever else is withheld.

    >>> t = LinearTable({"a": 13, "b": 1, "c": 0, "lost": 14},
    ...                 ({"a": 1, "b": 1, "c": 1, "lost": -1},), fixed=frozenset({"lost"}))
    >>> p = protect(t, ["b"], 10)
    >>> p.safe, dict(p.status)
    (False, {'b': 'primary', 'a': 'secondary'})
    >>> f = fail_safe(t, p, [lambda cell: ["a", "b", "c"]], 10)
    >>> f.safe, dict(f.status), sorted(f.failsafe)
    (True, {'b': 'primary', 'a': 'secondary', 'c': 'fail-safe'}, ['a', 'b', 'c'])
    """
    if prot.safe:
        return prot
    check = auditor or (lambda t, s: audit(t, s, k, level))
    result = prot
    for step in steps:
        unsafe = sorted(result.audit.loc[~result.audit["safe"], "cell"])
        if not unsafe:
            break
        status, shown = dict(result.status), set(result.failsafe)
        for cell in unsafe:
            for c in sorted(set(step(cell))):
                if c in table.values and c not in table.fixed:
                    status.setdefault(c, FAILSAFE)
                    shown.add(c)
        marked = replace(table, unmarked=table.unmarked | frozenset(shown))
        trial = Protection(status=status, audit=check(marked, status), failsafe=frozenset(shown))
        # a step that protects no further cell withholds figures for nothing: skipped
        if int((~trial.audit["safe"]).sum()) < len(unsafe):
            result = trial
    return result


def failsafe_steps(
    cells: Iterable[str], *groupings: Callable[[str], Iterable[Hashable]]
) -> list[Callable[[str], list[str]]]:
    """The fail-safe steps of a table (:func:`fail_safe`): for each grouping in turn, the
    cells sharing a group with the unprotected cell (its row, its column: ``grouping(cell)``),
    then every cell.

    Parameters
    ----------
    cells : iterable of str
        The cells the fail-safe may withhold (the table's own, not those another table or the
        run decides; ``fixed`` cells are left out by :func:`fail_safe` anyway).
    *groupings : callable
        ``cell -> groups`` it belongs to (e.g. ``{("row", unit), ("column", period)}``), from
        the narrowest to the widest.

    Examples
    --------
    >>> steps = failsafe_steps(["a[1]", "a[2]", "b[1]"], lambda c: {c[0]})
    >>> [sorted(step("a[1]")) for step in steps]
    [['a[1]', 'a[2]'], ['a[1]', 'a[2]', 'b[1]']]
    """
    pool = sorted(set(cells))

    def near(grouping: Callable[[str], Iterable[Hashable]]) -> Callable[[str], list[str]]:
        member = {c: set(grouping(c)) for c in pool}

        def step(cell: str) -> list[str]:
            mine = set(grouping(cell))
            return [c for c in pool if member[c] & mine]

        return step

    def everything(cell: str) -> list[str]:
        return list(pool)

    return [*(near(g) for g in groupings), everything]


def unsafe_cells(*protections: Protection) -> int:
    """How many primary cells the audits of ``protections`` leave narrower than their
    protection interval (after the fail-safe): what a report's appendix says it could not
    protect.

    Examples
    --------
    >>> t = LinearTable({"pb": 4, "n": 4}, ({"pb": 1, "n": -1},), fixed=frozenset({"n"}))
    >>> unsafe_cells(protect(t, ["pb"], 10))
    1
    """
    return sum(int((~p.audit["safe"]).sum()) for p in protections if len(p.audit))


def unsafe_note(table: str, prot: Protection) -> str:
    """The log line for a protection whose audit leaves primary cells recoverable: how many,
    never which or their values (a report's log can reach its page, and the audit holds the
    withheld values and their bounds).

    Examples
    --------
    >>> t = LinearTable({"pb": 4, "n": 4}, ({"pb": 1, "n": -1},), fixed=frozenset({"n"}))
    >>> unsafe_note("tier table", protect(t, ["pb"], 10))
    'tier table: 1 withheld cell stays narrower than its protection interval (pinned by published totals)'
    """
    n = int((~prot.audit["safe"]).sum()) if len(prot.audit) else 0
    cells = "cell stays" if n == 1 else "cells stay"
    its = "its" if n == 1 else "their"
    return (
        f"{table}: {n} withheld {cells} narrower than {its} protection interval "
        "(pinned by published totals)"
    )
