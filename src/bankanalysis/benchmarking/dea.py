"""Data envelopment analysis (DEA): CCR and BCC models, input or output oriented.

The envelopment form is solved with HiGHS through :mod:`highspy`. One linear program is built
per model (orientation x returns to scale) and reused for every evaluated unit: only the
evaluated unit's coefficients change (the column of the radial variable, a "self" column
holding the unit's own data, and the row bounds), and HiGHS starts from the previous optimal
basis (warm start). The LP does not hold every unit as a column: it starts with a few likely
frontier units, and after each solve the row duals price all the others; units with a negative
reduced cost enter (column generation), so the LP soon holds the frontier only. Input-oriented
scores skip units already proven efficient (a unit with a positive weight in an optimal
solution is efficient). Together this solves CCR and BCC for 2,000 units in about a second of
CPU instead of the ~8 ms per unit of a fresh ``scipy.optimize.linprog`` call.

Models (unit ``o``, inputs ``X`` (m x n), outputs ``Y`` (s x n), weights ``lambda``)::

    input  oriented: min theta  s.t.  X lambda <= theta x_o,  Y lambda >= y_o,      lambda >= 0
    output oriented: max phi    s.t.  X lambda <= x_o,        Y lambda >= phi y_o,  lambda >= 0

CCR = constant returns to scale; BCC (variable returns) adds ``sum(lambda) = 1``. The
efficiency reported is ``theta`` (input) or ``1 / phi`` (output), both in (0, 1]; scale
efficiency is CCR / BCC. Slacks come from a second stage with the radial score fixed that
maximises the sum of slacks (no epsilon: the two-phase method of Cooper, Seiford and Tone).
The slack sum is taken on data divided by each column's mean so that no variable dominates
through its unit. Targets (the projection on the frontier) are::

    input  oriented: x_hat = theta x_o - s_minus,  y_hat = y_o + s_plus
    output oriented: x_hat = x_o - s_minus,        y_hat = phi y_o + s_plus

What DEA cannot tell: it has no noise term (a lucky month looks like efficiency), one outlier
can move the whole frontier, and the scores depend on which inputs and outputs are chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bankanalysis.benchmarking._lp import (
    PEER_TOL,
    Model,
    Orientation,
    PricedModel,
    Returns,
    initial_peers,
    radial_scores,
    scaled,
)
from bankanalysis.exceptions import DeaInputError

__all__ = [
    "PEER_TOL",
    "DeaInputError",
    "DeaResult",
    "dea",
    "dea_scores",
    "dea_summary",
    "scale_efficiency",
]

logger = logging.getLogger(__name__)

#: efficiencies within this distance of 1 are exactly 1 (solver tolerance)
SNAP_TOL = 1e-9


@dataclass
class DeaResult:
    """Result of :func:`dea` for every evaluated unit.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per unit (index = unit id): ``efficiency`` in (0, 1], ``radial`` (theta or phi),
        ``slack_<var>`` and ``target_<var>`` for every input and output, ``n_peers`` and
        ``peers`` (comma-separated ids of the reference units, largest weight first) and
        ``group`` when frontiers were built per group.
    lambdas : pandas.DataFrame
        Long table ``unit, peer, weight``: the reference units and their weights.
    orientation : str
        ``"input"`` or ``"output"``.
    rts : str
        ``"crs"`` (CCR) or ``"vrs"`` (BCC).
    """

    scores: pd.DataFrame
    lambdas: pd.DataFrame
    orientation: str
    rts: str


def _check(X: np.ndarray, Y: np.ndarray, ids: Sequence[object] | None = None) -> None:
    """Raise :class:`DeaInputError` when the data cannot enter a DEA model."""
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise DeaInputError(
            f"DEA needs inputs and outputs with one row per unit; got {X.shape} and {Y.shape}"
        )
    if X.shape[0] == 0:
        raise DeaInputError("DEA needs at least one unit; the selection is empty")
    ids = list(range(X.shape[0])) if ids is None else list(ids)
    problems = []
    bad = ~np.isfinite(X).all(axis=1) | ~np.isfinite(Y).all(axis=1)
    if bad.any():
        ex = [ids[i] for i in np.flatnonzero(bad)[:5]]
        problems.append(f"{int(bad.sum())} unit(s) with missing values, e.g. {ex}")
    badx = (X <= 0).any(axis=1) & ~bad
    if badx.any():
        ex = [ids[i] for i in np.flatnonzero(badx)[:5]]
        problems.append(
            f"{int(badx.sum())} unit(s) with an input <= 0, e.g. {ex}: DEA needs strictly "
            "positive inputs (add an offset, e.g. count the outlet itself as one site)"
        )
    bady = (Y < 0).any(axis=1) & ~bad
    if bady.any():
        ex = [ids[i] for i in np.flatnonzero(bady)[:5]]
        problems.append(
            f"{int(bady.sum())} unit(s) with a negative output, e.g. {ex}: use a stock or clip "
            "flows at 0"
        )
    if problems:
        raise DeaInputError("DEA data problems: " + "; ".join(problems))


def _snap(eff: np.ndarray) -> np.ndarray:
    """Efficiency in [0, 1] with solver noise around 1 removed (1 - 1e-9 .. 1 + x -> 1).

    Without it, efficient units would be ranked among themselves by rounding noise.
    """
    eff = np.asarray(eff, dtype=float)
    return np.where(eff >= 1.0 - SNAP_TOL, 1.0, eff)


def _scores_chunk(args: tuple) -> np.ndarray:
    return radial_scores(*args)


def dea_scores(
    inputs: np.ndarray,
    outputs: np.ndarray,
    orientation: Orientation = "input",
    rts: Returns = "crs",
    skip_efficient: bool = True,
    n_jobs: int = 1,
) -> np.ndarray:
    """Efficiency scores only (fast path: one warm-started HiGHS model).

    Parameters
    ----------
    inputs : ndarray of shape (n_units, n_inputs)
        Strictly positive inputs.
    outputs : ndarray of shape (n_units, n_outputs)
        Non-negative outputs.
    orientation : {"input", "output"}
        Radial contraction of inputs or expansion of outputs.
    rts : {"crs", "vrs"}
        Constant (CCR) or variable (BCC) returns to scale.
    skip_efficient : bool
        Input orientation only: units that appear with a positive weight in another unit's
        optimal solution are efficient and not solved again.
    n_jobs : int
        Split the units into this many process chunks (each builds its own model).

    Returns
    -------
    ndarray of shape (n_units,)
        Efficiency in (0, 1]: theta (input) or 1 / phi (output); 0 for a unit without output
        in the output orientation.

    Examples
    --------
    >>> X = np.array([[2.0], [4.0]]); Y = np.array([[2.0], [2.0]])
    >>> dea_scores(X, Y).round(3).tolist()
    [1.0, 0.5]
    """
    X = np.asarray(inputs, dtype=float)
    Y = np.asarray(outputs, dtype=float)
    _check(X, Y)
    Xs, Ys, _, _ = scaled(X, Y)
    skip = skip_efficient and orientation == "input"
    n = X.shape[0]
    if n_jobs <= 1 or n < 200:
        rad = radial_scores(Xs, Ys, np.arange(n), orientation, rts, skip)
    else:
        chunks = np.array_split(np.arange(n), n_jobs)
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            parts = list(
                pool.map(_scores_chunk, [(Xs, Ys, c, orientation, rts, skip) for c in chunks])
            )
        rad = np.concatenate(parts)
    if orientation == "input":
        return _snap(rad)
    with np.errstate(divide="ignore"):
        return _snap(np.where(np.isinf(rad), 0.0, 1.0 / rad))


def _frame(data: pd.DataFrame | np.ndarray, prefix: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    arr = np.asarray(data, dtype=float)
    return pd.DataFrame(arr, columns=[f"{prefix}{i}" for i in range(arr.shape[1])])


def _dea_one(
    xin: pd.DataFrame, yout: pd.DataFrame, orientation: Orientation, rts: Returns
) -> tuple[pd.DataFrame, pd.DataFrame]:
    X = xin.to_numpy(dtype=float)
    Y = yout.to_numpy(dtype=float)
    ids = list(xin.index)
    _check(X, Y, ids)
    Xs, Ys, _, _ = scaled(X, Y)
    model = PricedModel(
        Xs, Ys, orientation, rts, initial_peers(Xs, Ys, 2 * (Xs.shape[1] + Ys.shape[1]))
    )
    n = X.shape[0]
    rad = np.empty(n)
    lam = np.zeros((n, n))
    for o in range(n):
        r, lo = model.radial(o)
        rad[o] = r
        if lo is not None:
            lam[o] = np.where(lo > PEER_TOL, lo, 0.0)
    # Stage 2 only needs the candidate peers as columns: a unit with a positive weight in an
    # optimal solution is radially efficient, and every stage-2 solution is stage-1 optimal.
    # The stage-1 supports are added so that each unit's stage-1 solution stays feasible.
    radial_eff = np.isclose(rad, 1.0, rtol=0, atol=1e-9)
    cand = np.flatnonzero(radial_eff | (lam > 0).any(axis=0))
    slack_model = Model(Xs[cand], Ys[cand], orientation, rts, stage=2)
    for o in np.flatnonzero(np.isfinite(rad)):
        lo = slack_model.fixed(Xs[o], Ys[o], rad[o])
        if lo is not None:
            lam[o] = 0.0
            lam[o, cand] = np.where(lo > PEER_TOL, lo, 0.0)
    finite = np.isfinite(rad)
    proj_x = lam @ X
    proj_y = lam @ Y
    if orientation == "input":
        eff = _snap(rad)
        s_minus = np.clip(rad[:, None] * X - proj_x, 0.0, None)
        s_plus = np.clip(proj_y - Y, 0.0, None)
        tx = rad[:, None] * X - s_minus
        ty = Y + s_plus
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            eff = _snap(np.where(finite, 1.0 / rad, 0.0))
        s_minus = np.clip(X - proj_x, 0.0, None)
        s_plus = np.where(finite[:, None], np.clip(proj_y - rad[:, None] * Y, 0.0, None), np.nan)
        tx = X - s_minus
        ty = np.where(finite[:, None], rad[:, None] * Y + s_plus, np.nan)
    # tiny numerical slacks are noise
    s_minus = np.where(s_minus < 1e-9 * np.maximum(X, 1.0), 0.0, s_minus)
    s_plus = np.where(s_plus < 1e-9 * np.maximum(Y, 1.0), 0.0, s_plus)
    scores = pd.DataFrame({"efficiency": eff, "radial": rad}, index=xin.index)
    for k, c in enumerate(xin.columns):
        scores[f"slack_{c}"] = s_minus[:, k]
        scores[f"target_{c}"] = tx[:, k]
    for k, c in enumerate(yout.columns):
        scores[f"slack_{c}"] = s_plus[:, k]
        scores[f"target_{c}"] = ty[:, k]
    rows, cols = np.nonzero(lam)
    lambdas = pd.DataFrame(
        {
            "unit": [ids[i] for i in rows],
            "peer": [ids[j] for j in cols],
            "weight": lam[rows, cols],
        }
    )
    lambdas = lambdas.sort_values(["unit", "weight"], ascending=[True, False], kind="stable")
    peers = lambdas.groupby("unit", sort=False)["peer"].agg(lambda s: ", ".join(map(str, s)))
    scores["n_peers"] = (lam > 0).sum(axis=1)
    scores["peers"] = peers.reindex(xin.index).fillna("").astype(str).to_numpy()
    return scores, lambdas.reset_index(drop=True)


def dea(
    inputs: pd.DataFrame | np.ndarray,
    outputs: pd.DataFrame | np.ndarray,
    orientation: Orientation = "input",
    rts: Returns = "crs",
    groups: pd.Series | np.ndarray | None = None,
) -> DeaResult:
    """Full DEA: efficiency, slacks, targets and reference peers for every unit.

    Parameters
    ----------
    inputs : DataFrame or ndarray of shape (n_units, n_inputs)
        Strictly positive inputs, one row per unit (the index gives the unit ids).
    outputs : DataFrame or ndarray of shape (n_units, n_outputs)
        Non-negative outputs, same rows as ``inputs``.
    orientation : {"input", "output"}
        ``"input"``: how far inputs could shrink; ``"output"``: how far outputs could grow.
    rts : {"crs", "vrs"}
        ``"crs"`` = CCR (constant returns), ``"vrs"`` = BCC (variable returns).
    groups : Series or ndarray, optional
        One frontier per group (e.g. the echelon); units are compared with their group only.

    Returns
    -------
    DeaResult
        Scores, slacks, targets and peers (see :class:`DeaResult`).

    Raises
    ------
    DeaInputError
        Missing values, inputs <= 0 or negative outputs (all listed at once).

    Examples
    --------
    >>> X = pd.DataFrame({"staff": [2.0, 4.0, 4.0]}, index=["a", "b", "c"])
    >>> Y = pd.DataFrame({"sales": [2.0, 2.0, 4.0]}, index=["a", "b", "c"])
    >>> dea(X, Y).scores["efficiency"].round(3).tolist()
    [1.0, 0.5, 1.0]
    """
    if orientation not in ("input", "output"):
        raise DeaInputError(f"orientation must be 'input' or 'output', got {orientation!r}")
    if rts not in ("crs", "vrs"):
        raise DeaInputError(f"rts must be 'crs' (CCR) or 'vrs' (BCC), got {rts!r}")
    xin = _frame(inputs, "x")
    yout = _frame(outputs, "y")
    if not isinstance(outputs, pd.DataFrame):
        yout.index = xin.index
    if not xin.index.equals(yout.index):
        raise DeaInputError("inputs and outputs must have the same rows (index) in the same order")
    if not xin.index.is_unique:
        dup = xin.index[xin.index.duplicated()].tolist()[:5]
        raise DeaInputError(f"unit ids must be unique; duplicated: {dup}")
    if groups is None:
        scores, lambdas = _dea_one(xin, yout, orientation, rts)
    else:
        g = pd.Series(np.asarray(groups), index=xin.index, name="group")
        parts_s, parts_l = [], []
        for key, idx in g.groupby(g, sort=True, observed=True).groups.items():
            s, lam = _dea_one(xin.loc[idx], yout.loc[idx], orientation, rts)
            s["group"] = key
            parts_s.append(s)
            parts_l.append(lam)
        scores = pd.concat(parts_s).reindex(xin.index)
        lambdas = pd.concat(parts_l, ignore_index=True)
    return DeaResult(scores=scores, lambdas=lambdas, orientation=orientation, rts=rts)


def dea_summary(
    inputs: pd.DataFrame,
    outputs: pd.DataFrame,
    orientation: Orientation = "input",
    groups: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """CCR, BCC and scale efficiency side by side.

    Parameters
    ----------
    inputs, outputs : DataFrame
        As for :func:`dea`.
    orientation : {"input", "output"}
        Orientation of both models.
    groups : Series or ndarray, optional
        One frontier per group.

    Returns
    -------
    DataFrame
        Index = unit; ``ccr``, ``bcc``, ``scale_efficiency`` (= ccr / bcc) and
        ``returns_to_scale``: ``"constant"`` when scale efficiency is 1 (within 1e-6),
        otherwise ``"non-constant"`` (the unit is too small or too large for its frontier).
    """
    ccr = dea(inputs, outputs, orientation, "crs", groups).scores["efficiency"]
    bcc = dea(inputs, outputs, orientation, "vrs", groups).scores["efficiency"]
    return scale_efficiency(ccr, bcc)


def scale_efficiency(ccr: pd.Series, bcc: pd.Series) -> pd.DataFrame:
    """Combine CCR and BCC efficiencies (same units, same orientation) into one table.

    Parameters
    ----------
    ccr, bcc : Series
        Efficiency in (0, 1] per unit from the CCR and the BCC model.

    Returns
    -------
    DataFrame
        ``ccr``, ``bcc``, ``scale_efficiency`` (= ccr / bcc) and ``returns_to_scale``
        (``"constant"`` when scale efficiency is 1 within 1e-6, else ``"non-constant"``).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(bcc > 0, ccr / bcc, np.nan)
    out = pd.DataFrame({"ccr": ccr, "bcc": bcc, "scale_efficiency": se}, index=ccr.index)
    out["returns_to_scale"] = np.where(
        np.abs(out["scale_efficiency"] - 1.0) <= 1e-6, "constant", "non-constant"
    )
    return out
