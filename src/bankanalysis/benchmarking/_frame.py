"""Column checks and safe division shared by the benchmarking modules (private)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bankanalysis.exceptions import BenchmarkingError

__all__ = ["require_columns", "safe_div"]


def require_columns(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    """Raise :class:`BenchmarkingError` naming the columns of ``cols`` missing from ``df``."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise BenchmarkingError(
            f"{what} lacks column(s) {missing}; available: {sorted(df.columns)[:30]}. "
            "Re-run `bankanalysis data prepare` or choose existing columns in the parameters."
        )


def safe_div(a: pd.Series | np.ndarray, b: pd.Series | np.ndarray) -> np.ndarray:
    """``a / b`` where ``b > 0``, NaN (unknown) elsewhere: a rate without a base is not 0.

    Examples
    --------
    >>> safe_div(np.array([1.0, 1.0, 0.0]), np.array([4.0, 0.0, np.nan])).tolist()
    [0.25, nan, nan]
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / b, np.nan)
