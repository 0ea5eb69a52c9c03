"""Silent, deterministic HiGHS linear programmes (private helpers).

The one place a ``highspy.Highs`` instance is made: the disclosure rules
(:mod:`bankanalysis.rules.disclosure_choice`, :mod:`bankanalysis.rules.disclosure_pieces`) and
DEA (:mod:`bankanalysis.benchmarking._lp`) build their programmes with :func:`highs_model`, so
all of them print nothing and run the same way: no presolve, the simplex solver, a fixed seed.

``highspy`` and ``scipy`` are imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["highs_model", "silent_highs"]


def silent_highs() -> Any:
    """A ``highspy.Highs`` with no output, a fixed seed, no presolve and the simplex solver.

    HiGHS writes its banner to file descriptor 1 when the first instance is made, before any
    option can be set (in a notebook it would land in the report): the descriptor is pointed
    at the null device while the instance is constructed.

    Returns
    -------
    highspy.Highs
        An empty instance with ``output_flag`` off, ``random_seed`` 0, ``presolve`` off and
        ``solver`` ``"simplex"``.
    """
    import highspy

    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("presolve", "off")
    h.setOptionValue("solver", "simplex")
    return h


def highs_model(
    entries: Iterable[tuple[int, int, float]],
    shape: tuple[int, int],
    cost: np.ndarray,
    col_bounds: tuple[np.ndarray, np.ndarray],
    row_bounds: tuple[np.ndarray, np.ndarray],
    options: Mapping[str, object] | None = None,
) -> Any:
    """A silent HiGHS instance holding the linear programme min ``cost @ x`` subject to
    ``row_lower <= A x <= row_upper`` and ``col_lower <= x <= col_upper``.

    Parameters
    ----------
    entries
        The coefficients of ``A`` as ``(row, column, coefficient)``; repeated positions are
        summed. HiGHS drops zeros (and values below its ``small_matrix_value``) when the
        model is passed: a coefficient to be set later with ``changeCoeff`` needs a nonzero
        placeholder here to be an entry of the matrix from the start.
    shape
        ``(rows, columns)`` of ``A``.
    cost
        One cost per column.
    col_bounds, row_bounds
        ``(lower, upper)`` arrays; ``highspy.kHighsInf`` for no bound.
    options
        Further HiGHS options (``{"simplex_scale_strategy": 0}``), set after
        :func:`silent_highs`'s and before the model is passed.

    Returns
    -------
    highspy.Highs
        The model passed to a :func:`silent_highs` instance, ready to ``run()``.

    Raises
    ------
    ValueError
        An option HiGHS does not know or a value of the wrong type.
    """
    import highspy
    import scipy.sparse as sp

    triplets = list(entries)
    rows = [r for r, _, _ in triplets]
    cols = [c for _, c, _ in triplets]
    coefs = [float(v) for _, _, v in triplets]
    a = sp.csc_matrix((coefs, (rows, cols)), shape=shape)
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = shape
    lp.col_cost_ = np.asarray(cost, dtype="float64")
    lp.col_lower_, lp.col_upper_ = (np.asarray(b, dtype="float64") for b in col_bounds)
    lp.row_lower_, lp.row_upper_ = (np.asarray(b, dtype="float64") for b in row_bounds)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype("float64")
    h = silent_highs()
    for name, value in (options or {}).items():
        if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise ValueError(f"HiGHS refused option {name}={value!r}")
    h.passModel(lp)
    return h
