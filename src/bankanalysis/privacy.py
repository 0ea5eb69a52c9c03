"""Privacy rules for what reports may show: aggregates only, small groups suppressed."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["suppress_small_groups", "SUPPRESSED"]

#: Marker shown in place of suppressed figures in report tables.
SUPPRESSED = "<n"


def suppress_small_groups(
    df: pd.DataFrame,
    count_col: str,
    min_size: int,
    value_cols: list[str] | None = None,
) -> pd.DataFrame:
    """Blank out every figure of a group with fewer than ``min_size`` members.

    Parameters
    ----------
    df : DataFrame
        One row per group.
    count_col : str
        Column holding the number of customers (or other individuals) in the group.
    min_size : int
        Smallest group that may be shown (the ``min_group_size`` parameter).
    value_cols : list of str, optional
        Columns to blank for small groups; default every numeric column, the count included.

    Returns
    -------
    DataFrame
        A copy in which suppressed cells are NaN (charts then leave them out) and a
        boolean column ``suppressed`` says which rows were affected.

    Examples
    --------
    >>> df = pd.DataFrame({"tier": ["mass", "vip"], "customers": [120, 4], "aum": [1e6, 3e6]})
    >>> suppress_small_groups(df, "customers", 10)["aum"].tolist()
    [1000000.0, nan]
    """
    if min_size < 1:
        raise ValueError("min_size must be at least 1")
    out = df.copy()
    small = out[count_col].fillna(0).to_numpy() < min_size
    cols = value_cols
    if cols is None:
        cols = [
            c for c in out.columns if pd.api.types.is_numeric_dtype(out[c]) and c != "suppressed"
        ]
    for c in cols:
        out[c] = out[c].astype("float64")
        out.loc[small, c] = np.nan
    out["suppressed"] = small
    return out
