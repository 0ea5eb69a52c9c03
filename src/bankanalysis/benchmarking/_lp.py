"""HiGHS linear programs behind :mod:`bankanalysis.benchmarking.dea` (private).

One reusable envelopment model per (orientation, returns to scale), warm-started from unit to
unit, with column generation (:class:`PricedModel`) so the LP soon holds the frontier only; see
the module docstring of :mod:`bankanalysis.benchmarking.dea` for the models.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from bankanalysis.exceptions import DeaInputError
from bankanalysis.lp import highs_model

__all__ = ["PEER_TOL", "Model", "PricedModel", "initial_peers", "radial_scores", "scaled"]

logger = logging.getLogger(__name__)

Orientation = Literal["input", "output"]
Returns = Literal["crs", "vrs"]

#: lambda values above this (on mean-scaled data) make a unit a reference peer.
PEER_TOL = 1e-7


class Model:
    """One reusable HiGHS envelopment model for fixed data, orientation and returns to scale.

    Columns: ``0`` = radial variable (theta or phi), ``1..n`` = lambda. Rows: ``m`` input rows,
    ``s`` output rows and, for BCC, the convexity row.
    """

    def __init__(
        self, X: np.ndarray, Y: np.ndarray, orientation: Orientation, rts: Returns, stage: int = 1
    ):
        import highspy

        self.X, self.Y = X, Y
        self.orientation, self.rts = orientation, rts
        n, m = X.shape
        s = Y.shape[1]
        self.n, self.m, self.s = n, m, s
        inf = highspy.kHighsInf
        self.inf = inf
        sign = 1.0 if orientation == "input" else -1.0
        n_rows = m + s + (1 if rts == "vrs" else 0)
        # column 0 holds the evaluated unit's data, set in _set_unit (theta * x_o in the input
        # rows, -phi * y_o in the output rows): placeholders 1 / -1 here, nonzero so that they
        # are entries of the matrix for changeCoeff to change
        radial_rows = range(m) if orientation == "input" else range(m, m + s)
        entries = [(i, 0, sign) for i in radial_rows]
        conv = [m + s] if rts == "vrs" else []
        lambda_rows = [*range(m + s), *conv]
        for j in range(n):
            xs = -X[j] if orientation == "input" else X[j]
            values = [*xs, *Y[j], *[1.0] * len(conv)]
            entries += ((i, j + 1, v) for i, v in zip(lambda_rows, values, strict=True))
        if orientation == "input":
            row_lo = np.r_[np.zeros(m), np.zeros(s)]
            row_hi = np.r_[np.full(m, inf), np.full(s, inf)]
        else:
            row_lo = np.r_[np.full(m, -inf), np.zeros(s)]
            row_hi = np.r_[np.zeros(m), np.full(s, inf)]
        if rts == "vrs":
            row_lo, row_hi = np.r_[row_lo, 1.0], np.r_[row_hi, 1.0]
        if stage == 2:
            # maximise the slack sum = min sum_j lambda_j (sum_i x_ij - sum_r y_rj) (+ const)
            cost = np.r_[0.0, X.sum(axis=1) - Y.sum(axis=1)]
        else:
            cost = np.r_[sign, np.zeros(n)]
        self.h = highs_model(
            entries,
            (n_rows, n + 1),
            cost,
            (np.zeros(n + 1), np.full(n + 1, inf)),
            (row_lo, row_hi),
            # the data are already divided by their column means: HiGHS's own rescaling, redone
            # at every run after a coefficient change, only costs time
            options={"simplex_scale_strategy": 0},
        )
        self.in_rows = np.arange(m, dtype=np.int32)
        self.out_rows = np.arange(m, m + s, dtype=np.int32)

    def _set_unit(self, xo: np.ndarray, yo: np.ndarray) -> None:
        """Put the evaluated unit's inputs ``xo`` and outputs ``yo`` into the model."""
        h, m, s = self.h, self.m, self.s
        if self.orientation == "input":
            for i in range(m):
                h.changeCoeff(i, 0, float(xo[i]))
            h.changeRowsBounds(s, self.out_rows, yo, np.full(s, self.inf))
        else:
            for r in range(s):
                h.changeCoeff(m + r, 0, -float(yo[r]))
            h.changeRowsBounds(m, self.in_rows, np.full(m, -self.inf), xo)

    def _status(self) -> str:
        import highspy

        st = self.h.getModelStatus()
        if st == highspy.HighsModelStatus.kOptimal:
            return "optimal"
        if st in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return "unbounded"
        return self.h.modelStatusToString(st)

    def radial(self, o: int) -> tuple[float, np.ndarray | None]:
        """Solve stage 1 for unit ``o``; return (theta or phi, lambda)."""
        self._set_unit(self.X[o], self.Y[o])
        self.h.run()
        status = self._status()
        if status == "unbounded":  # output orientation with all outputs 0: phi = inf
            return np.inf, None
        if status != "optimal":
            self.h.clearSolver()
            self.h.run()
            status = self._status()
            if status != "optimal":
                raise DeaInputError(f"DEA linear program for unit {o} ended with status {status}")
        col = np.asarray(self.h.getSolution().col_value)
        return float(col[0]), col[1:]

    def fixed(self, xo: np.ndarray, yo: np.ndarray, rad: float) -> np.ndarray | None:
        """Stage 2 for a unit with data ``xo, yo``: radial value fixed, maximise the slack sum.

        Used on a model built with ``stage=2`` (its costs are the slack-sum costs) whose
        columns may be a subset of the units (the candidate peers).
        """
        h = self.h
        self._set_unit(xo, yo)
        h.changeColBounds(0, rad, rad)
        h.run()
        if self._status() != "optimal":  # the fixed value sat a hair outside tolerance
            eps = 1e-9 * max(1.0, abs(rad))
            h.changeColBounds(0, rad - eps, rad + eps)
            h.run()
        if self._status() != "optimal":
            h.clearSolver()
            h.run()
        if self._status() != "optimal":
            logger.warning("DEA slack stage failed; stage-1 weights kept")
            return None
        return np.asarray(h.getSolution().col_value)[1:]


class PricedModel(Model):
    """Column generation on top of :class:`Model` (stage 1 only).

    The LP holds the radial column, a *self* column (the evaluated unit's own data, so the
    restricted problem is always feasible) and a growing set of candidate peers. After each
    solve every unit outside the LP is priced with the row duals; units with a negative
    reduced cost enter and the LP is re-solved from the current basis. When none is left the
    restricted optimum is optimal for the full problem. The candidate set quickly becomes
    the frontier, so each LP has tens of columns instead of one per unit.
    """

    #: reduced cost below which a unit enters (data are mean-scaled)
    TOL = 1e-9
    #: units added per pricing round
    BATCH = 8

    def __init__(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        orientation: Orientation,
        rts: Returns,
        initial: np.ndarray,
    ):
        initial = np.asarray(initial, dtype=np.int64)
        super().__init__(
            np.vstack([X[:1], X[initial]]), np.vstack([Y[:1], Y[initial]]), orientation, rts
        )
        self.X, self.Y = X, Y  # full data for the evaluated units and for pricing
        self.n = X.shape[0]
        self.cols: list[int] = [-1, *initial.tolist()]  # LP column k+1 -> unit (-1 = self)
        self.in_lp = np.zeros(self.n, dtype=bool)
        self.in_lp[initial] = True
        sign_x = -1.0 if orientation == "input" else 1.0
        rows = [sign_x * X.T, Y.T] + ([np.ones((1, self.n))] if rts == "vrs" else [])
        self.A = np.vstack(rows)  # every unit's lambda column, for pricing
        self.sign_x = sign_x
        self.lam_rows = np.arange(self.A.shape[0], dtype=np.int32)

    def _set_self(self, xo: np.ndarray, yo: np.ndarray) -> None:
        h, m, s = self.h, self.m, self.s
        for i in range(m):
            h.changeCoeff(i, 1, self.sign_x * float(xo[i]))
        for r in range(s):
            h.changeCoeff(m + r, 1, float(yo[r]))

    def radial(self, o: int) -> tuple[float, np.ndarray | None]:
        """Solve stage 1 for unit ``o`` with pricing; return (theta or phi, lambda over all)."""
        h = self.h
        self._set_unit(self.X[o], self.Y[o])
        self._set_self(self.X[o], self.Y[o])
        for _ in range(self.n + 1):
            h.run()
            status = self._status()
            if status == "unbounded":
                return np.inf, None
            if status != "optimal":
                h.clearSolver()
                h.run()
                status = self._status()
                if status != "optimal":
                    raise DeaInputError(
                        f"DEA linear program for unit {o} ended with status {status}"
                    )
            pi = np.asarray(h.getSolution().row_dual)
            rc = -(pi @ self.A)  # lambda costs are 0: reduced cost = -a_j' pi
            rc[self.in_lp] = np.inf
            enter = np.flatnonzero(rc < -self.TOL)
            if enter.size == 0:
                break
            enter = enter[np.argsort(rc[enter], kind="stable")[: self.BATCH]]
            for j in enter:
                h.addCol(0.0, 0.0, self.inf, len(self.lam_rows), self.lam_rows, self.A[:, j])
                self.cols.append(int(j))
                self.in_lp[j] = True
        col = np.asarray(h.getSolution().col_value)
        lam = np.zeros(self.n)
        np.add.at(lam, np.asarray(self.cols[1:], dtype=np.int64), col[2:])
        lam[o] += col[1]
        return float(col[0]), lam


def initial_peers(X: np.ndarray, Y: np.ndarray, k: int) -> np.ndarray:
    """A few units likely on the frontier: best overall productivity and best per output."""
    prod = Y.sum(axis=1) / X.sum(axis=1)
    picks = list(np.argsort(-prod, kind="stable")[:k])
    for r in range(Y.shape[1]):
        picks.append(int(np.argmax(Y[:, r] / X.sum(axis=1))))
    return np.unique(np.asarray(picks, dtype=np.int64))


def scaled(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Divide every column by its mean (radial scores are unit-free; numerics improve)."""
    sx = X.mean(axis=0)
    sy = Y.mean(axis=0)
    sy = np.where(sy > 0, sy, 1.0)
    return X / sx, Y / sy, sx, sy


def radial_scores(
    X: np.ndarray,
    Y: np.ndarray,
    units: np.ndarray,
    orientation: Orientation,
    rts: Returns,
    skip_efficient: bool,
) -> np.ndarray:
    """Radial scores (theta or phi) of ``units``; X and Y already scaled."""
    model = PricedModel(X, Y, orientation, rts, initial_peers(X, Y, 2 * (X.shape[1] + Y.shape[1])))
    out = np.full(len(units), np.nan)
    known = np.zeros(X.shape[0], dtype=bool)
    for k, o in enumerate(units):
        if skip_efficient and known[o]:
            out[k] = 1.0
            continue
        rad, lam = model.radial(int(o))
        out[k] = rad
        if skip_efficient and lam is not None:
            # A unit with a positive weight in an optimal solution is itself radially
            # efficient (inputs strictly positive, input orientation): no need to solve it.
            known[lam > PEER_TOL] = True
    return out
