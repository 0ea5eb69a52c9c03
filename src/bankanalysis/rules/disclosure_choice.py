"""The published cells to withhold for one primary cell, from one linear programme
(:func:`programme_choice`): the secondary search of
:func:`~bankanalysis.rules.disclosure_secondary.protect` in a large component, and its answer
where no one cell nor pair protects a cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linprog

from bankanalysis.lp import highs_model
from bankanalysis.rules.disclosure_table import (
    _TOL,
    PRIMARY,
    SECONDARY,
    LinearTable,
    _bounds,
    relation_entries,
    withholdable,
)

__all__ = ["WarmChoice", "goals", "programme_choice"]


def goals(table: LinearTable, cell: str, k: int, level: float) -> tuple[float, float]:
    """Two values of ``cell`` that span its protection interval, about its true value and
    inside what its marker says: the points :func:`programme_choice` asks for.

    >>> t = LinearTable({"a": 3, "b": 9, "m": 0.2}, (), money=frozenset({"m"}))
    >>> goals(t, "a", 10, 0.5), goals(t, "b", 10, 0.5), goals(t, "m", 10, 0.5)
    ((1.0, 6.0), (4.0, 9.0), (0.1, 0.30000000000000004))
    """
    value = float(table.values[cell])
    if cell in table.money:
        return value * (1 - level), value * (1 + level)
    width = math.ceil(min((k - 1) / 2, table.caps.get(cell, math.inf)) - _TOL)
    lo = max(1.0, value - math.ceil(width / 2))
    hi = min(float(k - 1), lo + width)
    return max(1.0, min(lo, hi - width)), hi


def programme_choice(
    table: LinearTable,
    status: Mapping[str, str],
    target: str,
    k: int,
    level: float,
    by_cell: Mapping[str, Sequence[int]] | None = None,
) -> list[str] | None:
    """The published cells to withhold so that ``target`` can take both of its
    :func:`goals`, from one linear programme per goal instead of one per candidate.

    The attacker's programme over the withheld cells and every published cell that may be
    withheld (not fixed, not zero, a count of at least ``k``: the rule of
    :func:`~bankanalysis.rules.disclosure_secondary.protect`'s candidates) linked to ``target``
    through relations, each of those with the bounds its ``"x"`` would give and a cost per unit
    it moves from its true value; ``target`` is held at the goal. A programme the solver does
    not solve is read as no point (the fail-safe then withholds more, never less). The published cells the cheapest point moves are withheld:
    that point then satisfies every relation and marker, so ``target``'s interval reaches the
    goal (the incremental attacker of Fischetti and Salazar, *Solving the cell suppression
    problem on tabular data with linear constraints*, Management Science 47(7), 2001, as a
    heuristic: its linear relaxation, both goals in turn). ``None`` when no withholding
    reaches a goal (the published totals pin the cell); empty when the withheld cells alone
    reach both (a rounding case: the caller's search decides). ``by_cell``: the relations
    of each cell (``{cell: [relation index]}``), when the caller has them.
    """
    import scipy.sparse as sp

    if by_cell is None:
        index: dict[str, list[int]] = {}
        for i, rel in enumerate(table.relations):
            for c in rel:
                index.setdefault(c, []).append(i)
        by_cell = index
    cells, rels, stack = {target}, set(), [target]
    while stack:  # the unknowns linked to the target through unknowns
        for r in by_cell.get(stack.pop(), ()):
            if r not in rels:
                rels.add(r)
                for d in table.relations[r]:
                    if d not in cells and (d in status or withholdable(table, d, k)):
                        cells.add(d)
                        stack.append(d)
    names = sorted(cells)
    pos = {c: i for i, c in enumerate(names)}
    pool = [c for c in names if c not in status and c != target]
    n, m = len(names), len(pool)
    rows, cols, coefs, rhs = [], [], [], []
    for row, r in enumerate(sorted(rels)):
        b = 0.0
        for c, coef in table.relations[r].items():
            if c in pos:
                rows.append(row)
                cols.append(pos[c])
                coefs.append(coef)
            else:
                b -= coef * float(table.values[c])
        rhs.append(b)
    for j, c in enumerate(pool):  # x - up + down = true value
        row = len(rhs)
        rows += [row, row, row]
        cols += [pos[c], n + j, n + m + j]
        coefs += [1.0, -1.0, 1.0]
        rhs.append(float(table.values[c]))
    a = sp.csr_matrix((coefs, (rows, cols)), shape=(len(rhs), n + 2 * m))
    cost = np.concatenate([np.zeros(n), np.ones(2 * m)])
    bounds = [
        _bounds(table, c, status.get(c, PRIMARY if c == target else SECONDARY), k) for c in names
    ] + [(0.0, None)] * (2 * m)
    moved: set[str] = set()
    for goal in goals(table, target, k, level):
        bounds[pos[target]] = (goal, goal)
        res = linprog(cost, A_eq=a, b_eq=np.array(rhs), bounds=bounds, method="highs")
        if res.status != 0:
            return None
        shift = res.x[n : n + m] + res.x[n + m :]
        moved.update(
            c for c, d in zip(pool, shift, strict=True) if d > _TOL * max(1.0, abs(table.values[c]))
        )
    return sorted(moved)


class WarmChoice:
    """:func:`programme_choice`'s answers from one HiGHS model of the whole table kept
    between questions, so a step changes bounds and costs instead of building a programme.

    Every cell is a column (a published cell that may not be withheld with both bounds at its
    value); every cell that may ever be withheld (:func:`withholdable`) has two more, the units
    it moves up and down from its true value, tied to it by a row (``x - up + down = value``).
    For a question the withheld cells take the bounds their markers give and move free, the
    published cells that may be withheld take a withheld cell's bounds and pay one per unit
    moved, ``target`` is held at each goal in turn; the dual simplex starts from the last
    basis. The programme of :func:`programme_choice` is this one restricted to the cells
    linked to ``target`` through unknowns; the rest is independent of it and costs nothing
    at the true values, so the cheapest points move the same total (the cells named may
    differ where the cheapest point is not unique: each choice reaches both goals).

    Examples
    --------
    >>> t = LinearTable({"a": 50, "b": 30, "c": 4, "n": 84},
    ...                 ({"a": 1, "b": 1, "c": 1, "n": -1},), fixed=frozenset({"n"}))
    >>> set(WarmChoice(t, 10, 0.5).choose({"c": PRIMARY}, "c")) <= {"a", "b"}
    True
    """

    def __init__(self, table: LinearTable, k: int, level: float):
        self.table, self.k, self.level = table, k, level
        self.names = sorted(table.values)
        self.pos = {c: i for i, c in enumerate(self.names)}
        self.free = [c for c in self.names if withholdable(table, c, k)]
        self.dev = {c: j for j, c in enumerate(self.free)}
        #: how far a cell must move to count as moved (relative to its value, at least _TOL)
        self._tol = np.array(
            [_TOL * max(1.0, abs(float(table.values[c]))) for c in self.free], dtype="float64"
        )
        self._model: Any = None
        self._status: dict[str, str] = {}
        self._target: str | None = None
        self.solved = 0  # programmes solved (for the log and the tests)

    def _build(self) -> Any:
        import highspy

        n, m = len(self.names), len(self.free)
        base = len(self.table.relations)
        entries = list(relation_entries(self.table.relations, self.pos))
        for j, c in enumerate(self.free):  # x - up + down = value
            entries += [(base + j, self.pos[c], 1.0), (base + j, n + j, -1.0)]
            entries.append((base + j, n + m + j, 1.0))
        values = np.array([float(self.table.values[c]) for c in self.names])
        lower, upper = values.copy(), values.copy()
        for c in self.free:  # published and withholdable: a withheld cell's bounds, at a cost
            lower[self.pos[c]], upper[self.pos[c]] = self._bounds(c, SECONDARY)
        rhs = np.concatenate([np.zeros(base), values[[self.pos[c] for c in self.free]]])
        return highs_model(
            entries,
            (base + m, n + 2 * m),
            np.concatenate([np.zeros(n), np.ones(2 * m)]),
            (
                np.concatenate([lower, np.zeros(2 * m)]),
                np.concatenate([upper, np.full(2 * m, highspy.kHighsInf)]),
            ),
            (rhs, rhs.copy()),
        )

    def _bounds(self, cell: str, status: str | None) -> tuple[float, float]:
        """The column bounds of ``cell``: its marker's when withheld (or withholdable), else
        its value."""
        import highspy

        if status is None and cell not in self.dev:
            v = float(self.table.values[cell])
            return v, v
        lo, hi = _bounds(self.table, cell, status or SECONDARY, self.k)
        return lo, highspy.kHighsInf if hi is None else hi

    def _apply(self, status: Mapping[str, str], target: str) -> Any:
        """The model with ``status``'s bounds and costs (only the changed cells are set)."""
        if self._model is None:
            self._model = self._build()
        before, n, m = self._status, len(self.names), len(self.free)
        changed = {c for c, st in status.items() if before.get(c) != st}
        changed |= {c for c in before if c not in status}
        changed |= {t for t in (self._target, target) if t is not None}
        if changed:
            cells = sorted(changed)
            lo, hi = zip(*(self._bounds(c, status.get(c)) for c in cells), strict=True)
            idx = np.array([self.pos[c] for c in cells], dtype=np.int32)
            self._model.changeColsBounds(len(idx), idx, np.array(lo), np.array(hi))
            devs = [c for c in cells if c in self.dev]
            if devs:  # withheld (or the target): moves free; published: one per unit
                cost = [0.0 if c in status or c == target else 1.0 for c in devs]
                j = np.array([self.dev[c] for c in devs], dtype=np.int32)
                both = np.concatenate([n + j, n + m + j]).astype(np.int32)
                self._model.changeColsCost(len(both), both, np.array(cost + cost))
        self._status, self._target = dict(status), target
        return self._model

    def choose(self, status: Mapping[str, str], target: str) -> list[str] | None:
        """The published cells to withhold so that ``target`` reaches both of its
        :func:`goals` (``None``: no withholding does), as :func:`programme_choice`."""
        import highspy

        h = self._apply(status, target)
        n, m, j = len(self.names), len(self.free), self.pos[target]
        moved: set[str] = set()
        for goal in goals(self.table, target, self.k, self.level):
            h.changeColsBounds(1, np.array([j], dtype=np.int32), np.array([goal]), np.array([goal]))
            h.run()
            self.solved += 1
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                h.clearSolver()  # the next question starts afresh
                return None
            x = np.asarray(h.getSolution().col_value)
            shift = x[n : n + m] + x[n + m :]
            # the cells that moved (few), then those of them that are published
            for i in np.flatnonzero(shift > self._tol):
                c = self.free[i]
                if c not in status and c != target:
                    moved.add(c)
        return sorted(moved)  # the target's bounds are a goal's: _apply sets them again
