"""Column checks and product-column lookups shared by the segmentation modules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from bankanalysis.rules.tiers import require_columns  # re-exported: the one definition

__all__ = ["family_map", "group_keys", "hold_columns", "ratio", "require_columns"]


def family_map(products: pd.DataFrame | None, columns: Iterable[str]) -> dict[str, list[str]]:
    """``{family: [hold_<product> columns]}`` for the catalogue's products present in ``columns``.

    Examples
    --------
    >>> cat = pd.DataFrame({"product": ["a", "b", "c"], "family": ["x", "y", "x"]})
    >>> family_map(cat, ["hold_a", "hold_b", "hold_c"])
    {'x': ['hold_a', 'hold_c'], 'y': ['hold_b']}
    """
    cols = set(columns)
    fam: dict[str, list[str]] = {}
    if products is None:
        return fam
    for p, f in zip(products["product"].astype(str), products["family"].astype(str), strict=True):
        c = f"hold_{p}"
        if c in cols:
            fam.setdefault(f, []).append(c)
    return fam


def hold_columns(df: pd.DataFrame, products: Sequence[str] | None = None) -> list[str]:
    """The ``hold_<product>`` columns of ``df`` (of ``products`` when given, in that order)."""
    if products is None:
        return [c for c in df.columns if c.startswith("hold_")]
    return [f"hold_{p}" for p in products if f"hold_{p}" in df.columns]


def group_keys(df: pd.DataFrame, by: str | None) -> np.ndarray:
    """Group label of every row: the ``by`` column, or ``"all"`` for the whole frame."""
    if by is None:
        return np.full(len(df), "all", dtype=object)
    require_columns(df, (by,), f"grouping by {by!r}")
    return df[by].astype("object").to_numpy()


def ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """``num / den`` with NaN where the denominator is 0 or missing (never inf).

    Examples
    --------
    >>> ratio(pd.Series([1.0, 2.0, 3.0]), pd.Series([4.0, 0.0, float("nan")])).tolist()
    [0.25, nan, nan]
    """
    den = den.astype("float64")
    return num.astype("float64") / den.where(den > 0)
