"""Feasible intervals of one table under many withholding patterns, piece by piece.

:func:`~bankanalysis.rules.disclosure_secondary.audit` solves each primary cell's interval as
the linear programme of its *piece*: the withheld cells linked to it through relations (a
connected component of the graph whose nodes are the withheld cells and whose edges are the
relations holding two of them). That split is exact. Write the attacker's programme over every
withheld cell as ``A x = b`` with bounds; a published cell is a constant, folded into ``b``.
Order the unknowns by piece: no relation holds unknowns of two pieces (else they would be
one), so ``A`` is block-diagonal and the bounds are per unknown, so the feasible set is the
Cartesian product of the pieces' feasible sets (the true values lie in each, so none is empty).
The projection of a product on one coordinate is the projection of its own factor: a cell's
interval over its piece's programme *equals* its interval over the whole table's.

A joint table whose cells are nearly all withheld (the new-customer counts of 120 regions of
about 200 customers, 1,306 of 1,488 withheld, with the lost customers and their relations) is
one piece, though: 3,183 unknowns, 1,680 primary cells, and a programme of about 0.1 s, twice
per cell, and again for every further cell a step tries. :class:`PieceIntervals` answers the
same questions with the same answers, faster:

- a piece of at most :data:`SMALL_PIECE` unknowns is solved as :func:`audit` solves it
  (``_Intervals``: the programme of the piece, memoised by the piece's statuses, and
  :func:`~bankanalysis.rules.disclosure_secondary.feasible_range`'s memo by its numbers for
  the process), so a piece a step did not change is never solved again;
- a larger piece is solved in one HiGHS model of the whole table kept between questions (every
  cell a column, a published one with both bounds at its value, a withheld one with the bounds
  its marker gives; the relations its rows): a new pattern changes only the bounds of the
  cells whose status changed and the cost of the cell asked about, and the dual simplex starts
  from the last basis. Over the whole table a cell's interval is its piece's (above);
- :meth:`PieceIntervals.audit` first asks the model for points that push many primary cells
  down and up at once (the sum of the cells not yet settled, minimised and maximised, then
  seeded signs): every point is feasible, so a cell's interval contains each value it takes in
  one, and a cell whose values over the points found already span its protection interval
  (counts rounded inwards: ``floor(max) - ceil(min)``) is safe. Only the cells left are solved
  one by one (minimum and maximum). The answer ``safe`` is exactly :func:`audit`'s; the bounds
  of a cell settled by points are those points' (its interval is at least that wide).

Deterministic: HiGHS with a fixed seed, cells and pieces in name order, the signs from a fixed
seed; counts are rounded inwards as :func:`feasible_range` rounds them, so the same data give
the same intervals and the same cells.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis.lp import highs_model
from bankanalysis.rules.disclosure_choice import WarmChoice
from bankanalysis.rules.disclosure_secondary import (
    DEFAULT_PROTECTION_LEVEL,
    PRIMARY,
    LinearTable,
    _bounds,
    _Intervals,
    _safe,
)
from bankanalysis.rules.disclosure_table import relation_entries

__all__ = ["SMALL_PIECE", "PieceIntervals"]

logger = logging.getLogger(__name__)

#: Pieces of at most this many withheld cells are solved by ``_Intervals`` (memoised
#: programmes); larger ones by the warm-started model of the whole table.
SMALL_PIECE = 60
#: Rounds of points :meth:`PieceIntervals.audit` asks for before solving the cells left one
#: by one, and the fewest cells a round must settle to be followed by another.
POINT_ROUNDS = 40
MIN_SETTLED = 1
_ROUND = 1e-6


class PieceIntervals:
    """Exact feasible intervals and audits of one :class:`LinearTable` for a sequence of
    statuses (module docstring).

    Parameters
    ----------
    table : LinearTable
        The cells and relations.
    k : int
        ``min_group_size`` (the ``"<k"`` marker's bounds).
    level : float
        Money cells' protection level.

    Examples
    --------
    Two independent pieces: a 4 hidden with 30 beside a published total of 84 (and the 50),
    and a 3 alone in its relation.

    >>> t = LinearTable({"a": 50, "b": 30, "c": 4, "n": 84, "d": 3, "m": 3},
    ...                 ({"a": 1, "b": 1, "c": 1, "n": -1}, {"d": 1, "m": -1}),
    ...                 fixed=frozenset({"n", "m"}))
    >>> p = PieceIntervals(t, 10)
    >>> p.interval({"c": "primary", "b": "secondary", "d": "primary"}, "c")
    (1.0, 9.0)
    >>> p.audit({"c": "primary", "b": "secondary", "d": "primary"})[["cell", "safe"]].values.tolist()
    [['c', True], ['d', False]]
    """

    def __init__(self, table: LinearTable, k: int, level: float = DEFAULT_PROTECTION_LEVEL):
        self.table, self.k, self.level = table, k, level
        self.small = _Intervals(table, k)
        self.names = sorted(table.values)
        self.pos = {c: i for i, c in enumerate(self.names)}
        self.values = np.array([float(table.values[c]) for c in self.names])
        self._model: Any = None
        self._status: dict[str, str] = {}
        self._cost: list[int] = []
        self._choice: WarmChoice | None = None
        self.solved = 0  # programmes of the model solved (for the log)

    # ----------------------------------------------------------------- the model
    def _build(self) -> Any:
        n, m = len(self.names), len(self.table.relations)
        zeros = np.zeros(m)
        return highs_model(
            relation_entries(self.table.relations, self.pos),
            (m, n),
            np.zeros(n),
            (self.values.copy(), self.values.copy()),
            (zeros, zeros.copy()),
        )

    def _apply(self, status: Mapping[str, str]) -> Any:
        """The model with ``status``'s bounds (only the cells whose bounds changed are set)."""
        import highspy

        if self._model is None:
            self._model = self._build()
        before = self._status
        changed = sorted(
            {c for c, st in status.items() if before.get(c) != st}
            | {c for c in before if c not in status}
        )
        if changed:
            inf = highspy.kHighsInf
            lo, hi = [], []
            for c in changed:
                if c in status:
                    a, b = _bounds(self.table, c, status[c], self.k)
                    lo.append(a)
                    hi.append(inf if b is None else b)
                else:  # published again: its value
                    lo.append(self.values[self.pos[c]])
                    hi.append(self.values[self.pos[c]])
            idx = np.array([self.pos[c] for c in changed], dtype=np.int32)
            self._model.changeColsBounds(len(idx), idx, np.array(lo), np.array(hi))
        self._status = dict(status)
        return self._model

    def _run(
        self, status: Mapping[str, str], cost: dict[int, float]
    ) -> tuple[str, np.ndarray | None, float]:
        """Minimise ``cost`` under ``status``: ``(outcome, point, objective)``."""
        import highspy

        h = self._apply(status)
        idx = sorted(set(self._cost) | set(cost))
        if idx:
            h.changeColsCost(
                len(idx), np.array(idx, dtype=np.int32), np.array([cost.get(i, 0.0) for i in idx])
            )
        self._cost = sorted(cost)
        h.run()
        self.solved += 1
        st = h.getModelStatus()
        if st == highspy.HighsModelStatus.kOptimal:
            return (
                "optimal",
                np.asarray(h.getSolution().col_value),
                float(h.getInfo().objective_function_value),
            )
        if st in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return "unbounded", None, 0.0
        h.clearSolver()  # a numerical trouble: the next question starts afresh
        return h.modelStatusToString(st), None, 0.0

    def _range(self, status: Mapping[str, str], cell: str) -> tuple[float, float]:
        """``cell``'s interval from the model, rounded as :func:`feasible_range` rounds."""
        j = self.pos[cell]
        integer = cell not in self.table.money
        out = []
        for sign in (1.0, -1.0):
            outcome, _, fun = self._run(status, {j: sign})
            if outcome == "unbounded":
                out.append(-np.inf if sign > 0 else np.inf)
            elif outcome != "optimal":
                logger.debug("disclosure pieces: solver status %s", outcome)
                out.append(float(self.values[j]))
            elif integer:
                out.append(
                    float(np.ceil(fun - _ROUND)) if sign > 0 else float(np.floor(-fun + _ROUND))
                )
            else:
                out.append(sign * fun)
        return out[0], out[1]

    # ----------------------------------------------------------------- questions
    def choice(self, status: Mapping[str, str], target: str) -> list[str] | None:
        """The cells to withhold for ``target`` in a large component
        (:class:`~bankanalysis.rules.disclosure_choice.WarmChoice`, made when first asked)."""
        if self._choice is None:
            self._choice = WarmChoice(self.table, self.k, self.level)
        return self._choice.choose(status, target)

    def interval(self, status: Mapping[str, str], cell: str) -> tuple[float, float]:
        """``cell``'s feasible interval under ``status`` (exactly :func:`cell_interval`'s)."""
        if self._small_piece(status, cell):
            return self.small.interval(status, cell)
        return self._range(status, cell)

    def _small_piece(self, status: Mapping[str, str], cell: str) -> bool:
        """Whether ``cell``'s piece has at most :data:`SMALL_PIECE` withheld cells (a search
        from it that stops as soon as it finds more)."""
        seen, stack, done = {cell}, [cell], set()
        relations, by_cell = self.table.relations, self.small.by_cell
        while stack:
            for r in by_cell.get(stack.pop(), ()):
                if r in done:
                    continue
                done.add(r)
                for d in relations[r]:
                    if d in status and d not in seen:
                        if len(seen) >= SMALL_PIECE:
                            return False
                        seen.add(d)
                        stack.append(d)
        return True

    def safe(self, status: Mapping[str, str], cell: str) -> bool:
        """Whether ``cell`` passes the audit under ``status`` (exactly :func:`cell_safe`)."""
        lo, hi = self.interval(status, cell)
        return _safe(self.table, cell, lo, hi, self.k, self.level)

    def audit(self, status: Mapping[str, str]) -> pd.DataFrame:
        """:func:`audit`'s frame for ``status`` (the same ``safe``; a cell settled by points
        has those points' bounds, its interval being at least that wide)."""
        comps = self.small.components(status)
        primary = sorted(c for c, s in status.items() if s == PRIMARY)
        found: dict[str, tuple[float, float]] = {}
        large = [c for c in primary if len(comps[c]) > SMALL_PIECE]
        for c in primary:
            if len(comps[c]) <= SMALL_PIECE:
                found[c] = self.small.interval(status, c, comps)
        found.update(self.settle(status, large))
        rows = []
        for c in primary:
            lo, hi = found[c]
            rows.append(
                (
                    c,
                    float(self.table.values[c]),
                    lo,
                    hi,
                    _safe(self.table, c, lo, hi, self.k, self.level),
                )
            )
        return pd.DataFrame(rows, columns=["cell", "value", "lower", "upper", "safe"])

    def _points(
        self, status: Mapping[str, str], cells: list[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rounds of points pushing the ``cells`` not yet settled down and up at once: the
        lowest and highest value each took, and whether that already spans its protection
        interval (module docstring)."""
        idx = np.array([self.pos[c] for c in cells])
        low, high = self.values[idx].copy(), self.values[idx].copy()
        integer = np.array([c not in self.table.money for c in cells])
        rng = np.random.default_rng(0)

        def settled() -> np.ndarray:
            lo = np.where(integer, np.ceil(low - _ROUND), low)
            hi = np.where(integer, np.floor(high + _ROUND), high)
            return np.array(
                [
                    _safe(self.table, c, a, b, self.k, self.level)
                    for c, a, b in zip(cells, lo, hi, strict=True)
                ]
            )

        done = settled()
        for _ in range(POINT_ROUNDS):
            left = idx[~done]
            if not len(left):
                break
            signs = rng.choice([-1.0, 1.0], size=len(left))
            for cost in (np.ones(len(left)), -np.ones(len(left)), signs, -signs):
                outcome, x, _ = self._run(
                    status, dict(zip(left.tolist(), cost.tolist(), strict=True))
                )
                if x is not None:
                    low, high = np.minimum(low, x[idx]), np.maximum(high, x[idx])
            now = settled()
            fresh = int((now & ~done).sum())
            done = now
            if fresh < MIN_SETTLED:
                break
        return low, high, done

    def proven(self, status: Mapping[str, str], cells: list[str]) -> set[str]:
        """The ``cells`` (in large pieces) that the points alone show safe under ``status``
        (the others may be safe too: ask :meth:`safe`)."""
        if not cells:
            return set()
        done = self._points(status, cells)[2]
        return {c for c, ok in zip(cells, done, strict=True) if ok}

    def settle(self, status: Mapping[str, str], cells: list[str]) -> dict[str, tuple[float, float]]:
        """Intervals of ``cells`` (in large pieces): points first, then one by one (a cell
        the points settle has those points' bounds, its interval being at least that wide)."""
        if not cells:
            return {}
        low, high, done = self._points(status, cells)
        out: dict[str, tuple[float, float]] = {}
        for i, c in enumerate(cells):
            if done[i]:
                a, b = float(low[i]), float(high[i])
                out[c] = (
                    (float(np.ceil(a - _ROUND)), float(np.floor(b + _ROUND)))
                    if c not in self.table.money
                    else (a, b)
                )
            else:
                out[c] = self._range(status, c)
        return out
