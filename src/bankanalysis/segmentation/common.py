"""Column checks and product-column lookups shared by the segmentation modules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from bankanalysis.rules.tiers import require_columns  # re-exported: the one definition

__all__ = ["family_map", "group_keys", "group_sums", "hold_columns", "ratio", "require_columns"]


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


def group_sums(values: pd.DataFrame, df: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """Column sums of ``values`` per group of ``df[by]`` (rows aligned by position).

    The frame ``values.groupby(group_keys(df, by), sort=True).sum()`` gives (same groups in
    the same order, same index labels, same sums to the last bit: pandas adds each group's
    rows in row order either way), without turning millions of Arrow strings into Python
    objects: the rows are grouped by integer codes and only the few distinct labels are
    sorted as objects. Rows whose group is missing are left out; ``by`` ``None`` is one row
    ``"all"``.

    Examples
    --------
    >>> df = pd.DataFrame({"tier": pd.Categorical(["vip", "mass", "vip", None])})
    >>> group_sums(pd.DataFrame({"one": [1.0, 1.0, 1.0, 1.0]}), df, "tier")["one"].to_dict()
    {'mass': 1.0, 'vip': 2.0}
    """
    if by is None:
        codes = np.zeros(len(df), dtype=np.intp)
        labels = np.array(["all"], dtype=object)
    else:
        require_columns(df, (by,), f"grouping by {by!r}")
        codes, uniques = pd.factorize(df[by], sort=False)
        # the distinct labels as the objects group_keys gives, ranked as groupby sorts them
        rank, labels = pd.factorize(np.asarray(uniques, dtype=object), sort=True)
        codes = np.append(rank, -1)[codes]  # a missing group (-1) stays -1
    keep = codes >= 0
    if not keep.all():
        values, codes = values.loc[keep], codes[keep]
    g = values.groupby(codes, sort=True).sum()
    g.index = pd.Index(np.asarray(labels, dtype=object)[g.index.to_numpy()].tolist())
    return g


def ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """``num / den`` with NaN where the denominator is 0 or missing (never inf).

    Examples
    --------
    >>> ratio(pd.Series([1.0, 2.0, 3.0]), pd.Series([4.0, 0.0, float("nan")])).tolist()
    [0.25, nan, nan]
    """
    den = den.astype("float64")
    return num.astype("float64") / den.where(den > 0)
