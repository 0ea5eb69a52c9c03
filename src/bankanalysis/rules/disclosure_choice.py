"""The published cells to withhold for one primary cell, from one linear programme
(:func:`programme_choice`): the secondary search of
:func:`~bankanalysis.rules.disclosure_secondary.protect` in a large component, and its answer
where no one cell nor pair protects a cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import linprog

from bankanalysis.rules.disclosure_table import (
    _TOL,
    PRIMARY,
    SECONDARY,
    LinearTable,
    _bounds,
    withholdable,
)

__all__ = ["goals", "programme_choice"]


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
