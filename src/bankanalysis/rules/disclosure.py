"""The one small-group rule: what a published figure may reveal about few customers.

A group of customers is *small* when it holds at least one and fewer than ``k`` customers
(``k`` is the ``min_group_size`` parameter). A group of zero reveals nobody and is shown as 0;
every figure of a small group (its count, money, shares, rates) is withheld. Every module that
publishes a number calls :func:`is_small` or :func:`suppress_small_groups`; none writes its own
comparison, so the rule cannot drift between reports.

Withheld cells are NaN in DataFrames (charts leave them out) and are shown as
:func:`suppressed_marker` (``"<10"`` for ``k = 10``) in tables, never as a blank that reads as 0.
Hiding small groups alone is not enough when totals, shares or sentences give them back by
subtraction: :mod:`bankanalysis.rules.disclosure_secondary` adds the dominance rule for money
and the secondary suppression, audited by linear programming (see ``docs/privacy.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "FAILSAFE_MARKER",
    "KPI_GROUP",
    "SECONDARY_MARKER",
    "SUPPRESSED",
    "is_small",
    "is_small_part",
    "suppress_small_groups",
    "suppress_small_cells",
    "suppressed_marker",
]

#: The customers each rate is about, by the name of the column counting them: a KPI's figure is
#: withheld when that group is small, in every report alike. KPIs not listed are about all the
#: unit's active customers (``customers``).
KPI_GROUP: dict[str, str] = {
    "customer_growth": "base_customers",
    "stock_retention": "base_customers",
    "upward_migration_rate": "base_customers",
    "downward_migration_rate": "base_customers",
    "attrition_rate": "base_customers",
    "wealth_card_matching": "quality_plus_customers",
    "contact_plan_coverage": "quality_plus_customers",
    "manager_coverage": "quality_plus_customers",
    "manager_adequacy": "quality_plus_customers",
    "vip_service_duration_ratio": "vip_plus_customers",
    "vip_contact_rate": "vip_plus_customers",
    "vip_service_minutes": "vip_plus_customers",
}

#: Marker shown in place of a withheld figure when ``k`` is not known to the caller.
SUPPRESSED = "<k"

#: Marker of a figure withheld although its group is not small: money dominated by one or two
#: customers, or a figure hidden so that a withheld one cannot be worked out from it
#: (secondary suppression, :mod:`bankanalysis.rules.disclosure_secondary`).
SECONDARY_MARKER = "x"

#: Marker of a figure withheld by the fail-safe of the secondary suppression (a whole row or
#: column of a table whose small group the published totals would otherwise pin): it says
#: nothing of the figure's size, which may be 0, small or large.
FAILSAFE_MARKER = "withheld"


def suppressed_marker(k: int | None) -> str:
    """The text shown in place of a withheld figure: ``"<10"`` for ``k = 10``.

    Examples
    --------
    >>> suppressed_marker(10)
    '<10'
    >>> suppressed_marker(None)
    '<k'
    """
    return SUPPRESSED if k is None else f"<{int(k)}"


def _check_k(k: int) -> int:
    if int(k) < 1:
        raise ValueError(f"min_group_size must be at least 1, got {k}")
    return int(k)


def is_small(counts: pd.Series | np.ndarray | Sequence[float] | float, k: int) -> np.ndarray:
    """True where a group holds 1 to ``k - 1`` customers (zero is not small: it reveals nobody).

    Unknown counts (NaN) are treated as small: a figure whose group size is unknown is withheld.

    Examples
    --------
    >>> is_small([0, 1, 9, 10, float("nan")], 10).tolist()
    [False, True, True, False, True]
    """
    k = _check_k(k)
    c = np.asarray(counts, dtype="float64")
    return np.isnan(c) | ((c > 0) & (c < k))


def is_small_part(
    share: pd.Series | np.ndarray | Sequence[float] | float,
    base: pd.Series | np.ndarray | Sequence[float] | float,
    k: int,
) -> np.ndarray:
    """True where a share of a published count is itself a group of 1 to ``k - 1`` customers.

    A rate printed beside its denominator gives its numerator back (13.3 % of 30 leads is 4
    leads converted), so a rate whose numerator is a small group of customers (the leads who
    bought, the buyers among the best-scored tenth) is withheld like the group's count. A
    missing share or base is not small here: nothing is printed (the base's own rule applies).

    Examples
    --------
    >>> is_small_part([4 / 30, 0.0, 0.5, float("nan"), 14 / 15], [30, 15, 20, 30, 15], 10).tolist()
    [True, False, False, False, False]
    """
    k = _check_k(k)
    part = np.rint(np.asarray(share, dtype="float64") * np.asarray(base, dtype="float64"))
    with np.errstate(invalid="ignore"):
        return ~np.isnan(part) & (part > 0) & (part < k)


def suppress_small_groups(
    df: pd.DataFrame,
    count_col: str,
    min_size: int,
    value_cols: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Withhold every figure of a row whose group is small (see :func:`is_small`).

    Parameters
    ----------
    df : DataFrame
        One row per group.
    count_col : str
        Column holding the number of customers in the group.
    min_size : int
        Smallest group that may be shown (the ``min_group_size`` parameter).
    value_cols : sequence of str, optional
        Columns to withhold for small groups; default every numeric column, the count included.

    Returns
    -------
    DataFrame
        A copy in which withheld cells are NaN and a boolean column ``suppressed`` says which
        rows were affected.

    Examples
    --------
    >>> df = pd.DataFrame({"tier": ["mass", "vip", "pb"], "customers": [120, 4, 0],
    ...                    "aum": [1e6, 3e6, 0.0]})
    >>> suppress_small_groups(df, "customers", 10)["aum"].tolist()
    [1000000.0, nan, 0.0]
    """
    out = df.copy()
    small = is_small(out[count_col], min_size)
    cols = list(value_cols) if value_cols is not None else None
    if cols is None:
        cols = [
            c for c in out.columns if pd.api.types.is_numeric_dtype(out[c]) and c != "suppressed"
        ]
    for c in cols:
        out[c] = out[c].astype("float64")
        out.loc[small, c] = np.nan
    out["suppressed"] = small
    return out


def suppress_small_cells(counts: pd.DataFrame, k: int) -> pd.DataFrame:
    """Withhold (NaN) the cells of a count matrix that hold 1 to ``k - 1`` customers.

    Examples
    --------
    >>> suppress_small_cells(pd.DataFrame({"a": [0, 3, 12]}), 10)["a"].tolist()
    [0.0, nan, 12.0]
    """
    values = counts.astype("float64")
    mask = is_small(values.to_numpy(), k) & ~np.isnan(values.to_numpy())
    return values.mask(mask)
